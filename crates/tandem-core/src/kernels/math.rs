//! Vectorizable float32 transcendentals (Cephes-style polynomials, about 1 ulp), run through
//! the runtime-selected AVX-512 / AVX2+FMA loops of [`super::elementwise`]; AVX-512 builds of
//! `exp` and `ln` by intrinsics. Scalar libm calls are about 3x slower.

// The polynomial coefficients are Cephes's, written as published.
#![allow(clippy::excessive_precision)]

use super::cpu::{has_avx2, has_avx512};
use super::elementwise::{alloc_fill, map_into};
use std::mem::MaybeUninit;

/// The float32 functions with a vectorized slice kernel here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transcendental {
    /// `e^x`.
    Exp,
    /// The natural logarithm.
    Ln,
    /// The hyperbolic tangent.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// The error function.
    Erf,
    /// `x * Phi(x)`, Phi the standard normal CDF (the exact GELU).
    Gelu,
}

impl Transcendental {
    /// `dst[i] = f(src[i])` for every `i < min(src.len(), dst.len())`.
    pub(crate) fn apply(self, src: &[f32], dst: &mut [MaybeUninit<f32>]) {
        match self {
            Transcendental::Exp => exp_f32(src, dst),
            Transcendental::Ln => ln_f32(src, dst),
            Transcendental::Tanh => tanh_f32(src, dst),
            Transcendental::Sigmoid => sigmoid_f32(src, dst),
            Transcendental::Erf => erf_f32(src, dst),
            Transcendental::Gelu => gelu_f32(src, dst),
        }
    }

    /// The function of every element of `src`, in a new vector (long slices split over the
    /// pool).
    pub(crate) fn map(self, src: &[f32]) -> Vec<f32> {
        // SAFETY: `apply` writes every element of `dst` (its source is as long).
        unsafe {
            alloc_fill(src.len(), |start, dst| {
                self.apply(&src[start..start + dst.len()], dst)
            })
        }
    }

    /// The function of every element of `src`, written over `dst` (same length).
    pub(crate) fn map_to(self, src: &[f32], dst: &mut [f32]) {
        assert_eq!(src.len(), dst.len(), "{self:?}: slices of unequal length");
        // SAFETY: `apply` stores only computed (initialized) values.
        self.apply(src, unsafe { super::elementwise::as_uninit(dst) });
    }
}

#[inline(always)]
fn exp1(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // max/min (not clamp) so that NaN maps to a finite value here; it is restored below.
    #[allow(clippy::manual_clamp)]
    let xc = x.max(-103.97).min(88.722_83);
    let fx = (xc * LOG2E + 0.5).floor();
    let r = fx.mul_add(2.121_944_4e-4, fx.mul_add(-0.693_359_4, xc));
    let r2 = r * r;
    let mut p = 1.987_569_1e-4f32.mul_add(r, 1.398_199_9e-3);
    p = p.mul_add(r, 8.333_452e-3);
    p = p.mul_add(r, 4.166_579_6e-2);
    p = p.mul_add(r, 1.666_666_5e-1);
    p = p.mul_add(r, 5.000_000_1e-1);
    let p = p.mul_add(r2, r) + 1.0;
    // SAFETY: fx is a finite whole number in [-150, 128] (xc is clamped and finite).
    let n: i32 = unsafe { fx.to_int_unchecked() };
    // 2^n in two halves, each a normal float, so that results near overflow stay finite and
    // results below the normal range become subnormals.
    let (n1, n2) = (n >> 1, n - (n >> 1));
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    let y = p * pow2(n1) * pow2(n2);
    let y = if x > 88.722_83 { f32::INFINITY } else { y };
    let y = if x < -103.97 { 0.0 } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

#[inline(always)]
fn ln1(x: f32) -> f32 {
    // Subnormals are scaled by 2^23 first so that their exponent field is meaningful.
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 8_388_608.0 } else { x };
    let bits = xs.max(f32::MIN_POSITIVE).to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126 - if sub { 23 } else { 0 };
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000); // in [0.5, 1)
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= small as i32;
    m = if small { m + m - 1.0 } else { m - 1.0 };
    let ef = e as f32;
    let z = m * m;
    let mut p = 7.037_683_6e-2f32.mul_add(m, -1.151_461_e-1);
    p = p.mul_add(m, 1.167_699_9e-1);
    p = p.mul_add(m, -1.242_014_1e-1);
    p = p.mul_add(m, 1.424_932_3e-1);
    p = p.mul_add(m, -1.666_805_8e-1);
    p = p.mul_add(m, 2.000_071_4e-1);
    p = p.mul_add(m, -2.499_999_4e-1);
    p = p.mul_add(m, 3.333_333_1e-1);
    let y = (p * m).mul_add(z, ef.mul_add(-2.121_944_4e-4, -0.5 * z));
    let r = ef.mul_add(0.693_359_4, m + y);
    // One rarely taken branch for the special inputs keeps the vector loop short.
    // NaN, zero, negatives and +inf: `!(x > 0)` is deliberate, it is true for NaN.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    let special = !(x > 0.0) || x == f32::INFINITY;
    if special {
        if x == 0.0 {
            f32::NEG_INFINITY
        } else if x == f32::INFINITY {
            x
        } else {
            f32::NAN
        }
    } else {
        r
    }
}

#[inline(always)]
fn tanh1(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_908_9e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328_2e-1)
            * z
            * x
            + x;
    let e = exp1(2.0 * a);
    let big = 1.0 - 2.0 / (e + 1.0);
    let big = if x < 0.0 { -big } else { big };
    if a < 0.625 {
        small
    } else {
        big
    }
}

#[inline(always)]
fn sigmoid1(x: f32) -> f32 {
    1.0 / (1.0 + exp1(-x))
}

/// `erf(x)` from two branch-free pieces, so the loop vectorizes: the Maclaurin series to
/// x^23 below |x| = 1 (truncation error under 1e-10 there), and above it `1 - e^{-x^2} R(|x|)`
/// with `R(a) = erfc(a) e^{a^2}` a polynomial (absolute error of `erf` under 2e-7, and no
/// division, which would cost more than the rest of the function together).
#[inline(always)]
fn erf1(x: f32) -> f32 {
    erf_with_exp(x, exp1(-x * x))
}

/// `erf(x)` given `e = exp(-x^2)`.
#[inline(always)]
fn erf_with_exp(x: f32, e: f32) -> f32 {
    const TWO_OVER_SQRT_PI: f32 = std::f32::consts::FRAC_2_SQRT_PI;
    let z = x * x;
    // sum_n (-1)^n z^n / (n! (2n + 1)), n = 0..=11, in Horner form.
    const C: [f32; 12] = [
        1.0,
        -0.333_333_34,
        0.1,
        -0.023_809_524,
        0.004_629_63,
        -7.575_758e-4,
        1.068_376e-4,
        -1.322_751_3e-5,
        1.458_917e-6,
        -1.450_385_2e-7,
        1.312_253_3e-8,
        -1.089_222_1e-9,
    ];
    let mut s = C[11];
    for &c in C[..11].iter().rev() {
        s = s.mul_add(z, c);
    }
    let series = TWO_OVER_SQRT_PI * x * s;
    // R(a) on [1, 4] in powers of a - 2.5: a least-squares fit in the Chebyshev basis
    // (degree 11, 30,001 points, NumPy's `chebfit`), converted to powers. Past 4, `erfc` is
    // below 1.6e-8 and R is taken at 4.
    const R: [f32; 12] = [
        0.210_806_35,
        -0.074_347_34,
        0.024_938_151,
        -0.008_001_667,
        0.002_466_194,
        -7.332_284_6e-4,
        2.126_793_1e-4,
        -5.943_841_5e-5,
        1.451_679_5e-5,
        -3.788_407_4e-6,
        1.640_323_3e-6,
        -4.192_817e-7,
    ];
    let a = x.abs();
    let d = a.min(4.0) - 2.5;
    let mut r = R[11];
    for &c in R[..11].iter().rev() {
        r = r.mul_add(d, c);
    }
    let tail = (1.0 - r * e).copysign(x);
    if a < 1.0 {
        series
    } else {
        tail
    }
}

/// The exact GELU, `x * (1 + erf(x / sqrt 2)) / 2`.
#[inline(always)]
pub(crate) fn gelu1(x: f32) -> f32 {
    let u = x * std::f32::consts::FRAC_1_SQRT_2;
    0.5 * x * (1.0 + erf_with_exp(u, exp1(-u * u)))
}

/// `g * d/dx gelu(x) = g * (Phi(x) + x * phi(x))`, phi the standard normal density; one `exp`
/// serves both the CDF and the density.
#[inline(always)]
pub(crate) fn gelu_grad1(x: f32, g: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let u = x * std::f32::consts::FRAC_1_SQRT_2;
    let e = exp1(-u * u);
    let cdf = 0.5 * (1.0 + erf_with_exp(u, e));
    g * (x * e).mul_add(INV_SQRT_2PI, cdf)
}

/// `(gelu(x), gelu'(x))` from one `exp`.
#[inline(always)]
fn gelu_and_slope1(x: f32) -> (f32, f32) {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let u = x * std::f32::consts::FRAC_1_SQRT_2;
    let e = exp1(-u * u);
    let cdf = 0.5 * (1.0 + erf_with_exp(u, e));
    (x * cdf, (x * e).mul_add(INV_SQRT_2PI, cdf))
}

/// Slice kernels that call a scalar function directly inside loops compiled for AVX-512 and
/// for AVX2 + FMA, so the function (always inlined) vectorizes and its `mul_add`s are FMA
/// instructions in every build profile (passed through a generic map, the function may stay a
/// separate call where the optimizer inlines less, and `mul_add` then calls the software
/// `fmaf`).
macro_rules! vector_kernel {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr) => {
        $(#[$doc])*
        fn $name(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
            #[inline(always)]
            fn body(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
                for (d, &$x) in dst.iter_mut().zip(src) {
                    d.write($body);
                }
            }
            #[cfg(target_arch = "x86_64")]
            {
                /// # Safety
                /// The CPU must have AVX-512 F, BW, VL and DQ, AVX2 and FMA.
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
                unsafe fn wide(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
                    body(src, dst)
                }
                /// # Safety
                /// The CPU must have AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn narrow(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
                    body(src, dst)
                }
                if has_avx512() {
                    // SAFETY: the CPU supports the AVX-512 subsets `wide` is built for.
                    return unsafe { wide(src, dst) };
                }
                if has_avx2() {
                    // SAFETY: the CPU supports AVX2 and FMA.
                    return unsafe { narrow(src, dst) };
                }
            }
            body(src, dst)
        }
    };
}

vector_kernel!(
    /// `tanh` over a slice.
    tanh_f32, |x| tanh1(x)
);
vector_kernel!(
    /// The logistic sigmoid over a slice.
    sigmoid_f32, |x| sigmoid1(x)
);
vector_kernel!(
    /// `erf` over a slice.
    erf_f32, |x| erf1(x)
);
vector_kernel!(
    /// The exact GELU over a slice.
    gelu_f32, |x| gelu1(x)
);

/// The exact GELU of every element of `x` and its derivative there, in one pass over the pool
/// (one `exp` serves both), for a forward pass whose backward then only multiplies.
pub(crate) fn gelu_with_derivative_f32(x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    // SAFETY: the kernel writes every element of both chunks (as long as its slice of `x`).
    unsafe {
        super::elementwise::alloc_fill_pair(x.len(), |start, y, d| {
            gelu_with_derivative_rows(&x[start..start + y.len()], y, d)
        })
    }
}

super::cpu::multiversion! {
    /// `y[i] = gelu(x[i])` and `d[i] = gelu'(x[i])` (the slices alike long).
    fn gelu_with_derivative_rows(x: &[f32], y: &mut [MaybeUninit<f32>], d: &mut [MaybeUninit<f32>]) => gelu_with_derivative_body
}

#[inline(always)]
fn gelu_with_derivative_body(x: &[f32], y: &mut [MaybeUninit<f32>], d: &mut [MaybeUninit<f32>]) {
    for ((y, d), &x) in y.iter_mut().zip(d.iter_mut()).zip(x) {
        let (v, slope) = gelu_and_slope1(x);
        y.write(v);
        d.write(slope);
    }
}

/// `dst[i] = g[i] * gelu'(x[i])` (the GELU's backward), vectorized as the kernels above.
pub(crate) fn gelu_backward_f32(x: &[f32], g: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), g.len(), "gelu backward: slices of unequal length");
    // SAFETY: the kernel writes every element of the chunk (as long as its slices of `x`, `g`).
    unsafe {
        alloc_fill(x.len(), |start, dst| {
            let n = dst.len();
            gelu_backward_rows(&x[start..start + n], &g[start..start + n], dst)
        })
    }
}

super::cpu::multiversion! {
    /// `dst[i] = g[i] * gelu'(x[i])` (the slices alike long).
    fn gelu_backward_rows(x: &[f32], g: &[f32], dst: &mut [MaybeUninit<f32>]) => gelu_backward_body
}

#[inline(always)]
fn gelu_backward_body(x: &[f32], g: &[f32], dst: &mut [MaybeUninit<f32>]) {
    for ((d, &x), &g) in dst.iter_mut().zip(x).zip(g) {
        d.write(gelu_grad1(x, g));
    }
}

/// `exp` over a slice: sixteen lanes at a time with AVX-512 (`vscalefps` applies the power of
/// two and handles overflow, underflow and NaN), else the portable loop.
fn exp_f32(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { avx512::exp(src, dst) };
    }
    map_into(src, dst, &exp1)
}

/// `ln` over a slice: sixteen lanes at a time with AVX-512 (`vgetmantps` / `vgetexpps` split
/// the argument, a 16-entry table in registers and a short series, `vfixupimmps` for zero,
/// negative, infinite and NaN inputs; within 1.5 ulp), else the portable loop.
fn ln_f32(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { avx512::ln(src, dst) };
    }
    map_into(src, dst, &ln1)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    /// `e^r` for the reduced argument (|r| <= ln2/2): a degree-6 polynomial fitted for least
    /// maximum relative error (1.9e-9 in exact arithmetic; six fused multiply-adds, two fewer
    /// than Cephes's degree-7 form).
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[inline(always)]
    unsafe fn exp_poly(r: __m512) -> __m512 {
        // SAFETY: register-only arithmetic; the caller guarantees AVX-512F.
        unsafe {
            let c = |v: f32| _mm512_set1_ps(v);
            let mut p = _mm512_fmadd_ps(c(1.383_684_6e-3), r, c(8.374_816e-3));
            p = _mm512_fmadd_ps(p, r, c(4.166_822_5e-2));
            p = _mm512_fmadd_ps(p, r, c(1.666_642e-1));
            p = _mm512_fmadd_ps(p, r, c(4.999_999_1e-1));
            p = _mm512_fmadd_ps(p, r, c(1.0));
            _mm512_fmadd_ps(p, r, c(1.0))
        }
    }

    /// `e^x` for sixteen lanes: `x = k ln 2 + r` (Cody and Waite's two-part ln 2), `e^r` by
    /// the polynomial, `2^k` applied by `vscalefps`, which also handles overflow, underflow and
    /// NaN. The input is clamped so that `k` stays finite; max/min return their second operand
    /// for NaN, so NaN passes through.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[inline(always)]
    unsafe fn exp16(x: __m512) -> __m512 {
        // SAFETY: register-only arithmetic; the caller guarantees AVX-512F.
        unsafe {
            let c = |v: f32| _mm512_set1_ps(v);
            let xc = _mm512_min_ps(c(89.0), _mm512_max_ps(c(-104.0), x));
            // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer (|x log2 e| < 2^22).
            let magic = c(12_582_912.0);
            let k = _mm512_sub_ps(
                _mm512_fmadd_ps(xc, c(std::f32::consts::LOG2_E), magic),
                magic,
            );
            let r = _mm512_fnmadd_ps(k, c(0.693_359_4), xc);
            let r = _mm512_fnmadd_ps(k, c(-2.121_944_4e-4), r);
            _mm512_scalef_ps(exp_poly(r), k)
        }
    }

    /// `exp` of every element of `src` into `dst`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn exp(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
        // SAFETY: AVX-512F is enabled here, as `exp16` needs.
        unsafe { map16(src, dst, |x| exp16(x), super::exp1) }
    }

    /// Runs `f` over `src` sixteen lanes at a time (four vectors per round, independent chains
    /// for the out-of-order core to overlap) and `tail` over the last few elements.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[inline(always)]
    unsafe fn map16(
        src: &[f32],
        dst: &mut [MaybeUninit<f32>],
        f: impl Fn(__m512) -> __m512,
        tail: fn(f32) -> f32,
    ) {
        let n = src.len().min(dst.len());
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr() as *mut f32);
        let mut i = 0;
        while i + 64 <= n {
            // SAFETY: elements `i..i + 64` are below `n`, inside both slices;
            // MaybeUninit<f32> has f32's layout; the caller guarantees AVX-512F.
            unsafe {
                let y0 = f(_mm512_loadu_ps(s.add(i)));
                let y1 = f(_mm512_loadu_ps(s.add(i + 16)));
                let y2 = f(_mm512_loadu_ps(s.add(i + 32)));
                let y3 = f(_mm512_loadu_ps(s.add(i + 48)));
                _mm512_storeu_ps(d.add(i), y0);
                _mm512_storeu_ps(d.add(i + 16), y1);
                _mm512_storeu_ps(d.add(i + 32), y2);
                _mm512_storeu_ps(d.add(i + 48), y3);
            }
            i += 64;
        }
        while i + 16 <= n {
            // SAFETY: as above, for elements `i..i + 16`.
            unsafe { _mm512_storeu_ps(d.add(i), f(_mm512_loadu_ps(s.add(i)))) };
            i += 16;
        }
        for j in i..n {
            dst[j].write(tail(src[j]));
        }
    }

    /// ln 2 split so that `e * LN2_HI` is exact for every exponent `e` of a float.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;

    /// The table of the method below, one row each for `1/c`, `ln c` (rounded) and what the
    /// rounding of `ln c` dropped, over sixteen centres `c` indexed by the top four fraction
    /// bits of `m` in [0.75, 1.5): indices 0..8 cover [1, 1.5) in steps of 1/16, 8..16 cover
    /// [0.75, 1) in steps of 1/32. The two pieces next to 1 use `c = 1`, so that `ln x` near
    /// 1 is `ln(1 + r)` with `r = x - 1` exactly, without cancelling against a table term.
    fn ln_table() -> &'static [[f32; 16]; 3] {
        static TABLE: std::sync::OnceLock<[[f32; 16]; 3]> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| {
            let entry = |k: usize| {
                let c = match k {
                    0 | 15 => 1.0,
                    1..=7 => 1.0 + (k as f64 + 0.5) / 16.0,
                    _ => (16.0 + k as f64 + 0.5) / 32.0,
                };
                // ln c of the rounded reciprocal actually used, so that the two agree.
                let inv = (1.0 / c) as f32;
                let ln_c = -(inv as f64).ln();
                [inv, ln_c as f32, (ln_c - (ln_c as f32) as f64) as f32]
            };
            let entries: [[f32; 3]; 16] = std::array::from_fn(entry);
            std::array::from_fn(|row| std::array::from_fn(|k| entries[k][row]))
        })
    }

    /// `ln(x)` for sixteen lanes, without a division: `x = m 2^e` with `m` in [0.75, 1.5)
    /// (the exponent is taken from `x` and `m` separately, so the two always agree, subnormals
    /// included), then `ln m = ln c + ln(1 + r)` with `c` from the table (in-register
    /// lookups) and `r = m/c - 1` (one rounding, by a fused multiply-add) below 1/16 in size,
    /// where the series of `ln(1 + r)` to `r^6` is within 1e-8 relative.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[inline(always)]
    unsafe fn ln16(x: __m512, table: &[__m512; 3]) -> __m512 {
        // SAFETY: register-only arithmetic; the caller guarantees AVX-512F.
        unsafe {
            let c = |v: f32| _mm512_set1_ps(v);
            let m = _mm512_getmant_ps::<_MM_MANT_NORM_P75_1P5, _MM_MANT_SIGN_ZERO>(x);
            let e = _mm512_sub_ps(_mm512_getexp_ps(x), _mm512_getexp_ps(m));
            // vpermps reads the low four bits of each index: the top fraction bits of `m`.
            let k = _mm512_srli_epi32::<19>(_mm512_castps_si512(m));
            let r = _mm512_fmsub_ps(m, _mm512_permutexvar_ps(k, table[0]), c(1.0));
            let mut p = _mm512_fmadd_ps(c(-1.0 / 6.0), r, c(1.0 / 5.0));
            p = _mm512_fmadd_ps(p, r, c(-0.25));
            p = _mm512_fmadd_ps(p, r, c(1.0 / 3.0));
            p = _mm512_fmadd_ps(p, r, c(-0.5));
            // The table's and ln 2's low parts join the small terms before the final sum.
            let lo = _mm512_fmadd_ps(e, c(LN2_LO), _mm512_permutexvar_ps(k, table[2]));
            let small = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(r, r), p, r), lo);
            let big = _mm512_fmadd_ps(e, c(LN2_HI), _mm512_permutexvar_ps(k, table[1]));
            let y = _mm512_add_ps(big, small);
            // Per input class (nibble j: QNaN, SNaN, ±0, +1, -inf, +inf, negative, positive):
            // quiet NaN, -inf for zeros, +0 for one, NaN for -inf and negatives, +inf, else `y`.
            _mm512_fixupimm_ps::<0>(y, x, _mm512_set1_epi32(0x0353_8422))
        }
    }

    /// `ln` of every element of `src` into `dst`.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn ln(src: &[f32], dst: &mut [MaybeUninit<f32>]) {
        // SAFETY: each table row has sixteen floats; AVX-512F is enabled here.
        let table = ln_table().map(|row| unsafe { _mm512_loadu_ps(row.as_ptr()) });
        // SAFETY: AVX-512F is enabled here, as `ln16` needs.
        unsafe { map16(src, dst, |x| ln16(x, &table), super::ln1) }
    }
}

/// Sum of a float32 slice: 64 lanes per block, blocks accumulated in f64 (accurate to about
/// 1e-7 relative for a million elements, and vectorized).
pub(crate) fn sum_f32(s: &[f32]) -> f64 {
    let threads = super::split_count();
    if s.len() >= super::PAR_MIN * 4 && threads > 1 {
        let chunk = s.len().div_ceil(threads);
        let mut sums = vec![0.0f64; threads];
        super::parallel::for_each_chunk_mut(&mut sums, 1, |i, out| {
            let part = &s[(i * chunk).min(s.len())..((i + 1) * chunk).min(s.len())];
            out[0] = sum_f32_serial(part);
        });
        return sums.iter().sum();
    }
    sum_f32_serial(s)
}

fn sum_f32_serial(s: &[f32]) -> f64 {
    super::cpu::vectorized(
        #[inline(always)]
        || sum_f32_body(s),
    )
}

/// Lanes summed side by side: four 512-bit (or eight 256-bit) accumulators, so that the adds
/// of consecutive vectors do not wait on each other's latency.
const SUM_LANES: usize = 64;

#[inline(always)]
fn sum_f32_body(s: &[f32]) -> f64 {
    let mut total = 0.0f64;
    for block in s.chunks(4096) {
        let mut acc = [0.0f32; SUM_LANES];
        let mut it = block.chunks_exact(SUM_LANES);
        for c in &mut it {
            for i in 0..SUM_LANES {
                acc[i] += c[i];
            }
        }
        // Fold the accumulators into one vector's worth of lanes before leaving float32.
        let mut lanes = [0.0f32; 16];
        for chunk in acc.chunks_exact(16) {
            for (l, &a) in lanes.iter_mut().zip(chunk) {
                *l += a;
            }
        }
        let mut t: f64 = it.remainder().iter().map(|&v| v as f64).sum();
        for l in lanes {
            t += l as f64;
        }
        total += t;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&[f32], &mut [MaybeUninit<f32>]), xs: &[f32]) -> Vec<f32> {
        let mut out = vec![MaybeUninit::uninit(); xs.len()];
        f(xs, &mut out);
        // SAFETY: the kernels under test write every element.
        out.into_iter()
            .map(|v| unsafe { v.assume_init() })
            .collect()
    }

    #[test]
    fn the_fused_gelu_pass_gives_the_separate_kernels_values() {
        // Long enough to be split over the pool, with NaN and both infinities in it.
        let mut xs: Vec<f32> = (0..70_001)
            .map(|i| (i as f32 - 35_000.0) * 3.1e-4)
            .collect();
        xs[7] = f32::NAN;
        xs[8] = f32::INFINITY;
        xs[9] = f32::NEG_INFINITY;
        let (y, d) = gelu_with_derivative_f32(&xs);
        let want_y = Transcendental::Gelu.map(&xs);
        let want_d = gelu_backward_f32(&xs, &vec![1.0; xs.len()]);
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        for i in 0..xs.len() {
            assert!(
                same(y[i], want_y[i]),
                "gelu({}) = {} vs {}",
                xs[i],
                y[i],
                want_y[i]
            );
            assert!(
                same(d[i], want_d[i]),
                "gelu'({}) = {} vs {}",
                xs[i],
                d[i],
                want_d[i]
            );
        }
        assert!(y[7].is_nan() && d[7].is_nan());
        // PyTorch's backward is `cdf + x * pdf` too, so infinity times a zero density is NaN.
        assert!(y[8] == f32::INFINITY && d[8].is_nan());
    }

    #[test]
    fn erf_and_gelu_match_libm_in_double_precision() {
        let xs: Vec<f32> = (-6000..6000).map(|i| i as f32 * 1.37e-3).collect();
        let (mut worst_rel, mut worst_abs) = (0.0f64, 0.0f64);
        for (&x, y) in xs
            .iter()
            .zip(run(|s, d| Transcendental::Erf.apply(s, d), &xs))
        {
            let r = libm::erf(x as f64);
            let e = (y as f64 - r).abs();
            worst_abs = worst_abs.max(e);
            if x.abs() < 1.0 {
                worst_rel = worst_rel.max(e / r.abs().max(1e-30));
            }
        }
        assert!(worst_abs < 2e-7, "erf: absolute error {worst_abs}");
        assert!(worst_rel < 3e-7, "erf below 1: relative error {worst_rel}");
        assert_eq!(erf1(0.0), 0.0);
        assert_eq!(erf1(f32::INFINITY), 1.0);
        assert_eq!(erf1(-20.0), -1.0);
        for &x in &xs {
            let xd = x as f64;
            let cdf = 0.5 * (1.0 + libm::erf(xd / std::f64::consts::SQRT_2));
            let want = xd * cdf;
            assert!(
                (gelu1(x) as f64 - want).abs() < 4e-7 * (1.0 + want.abs()),
                "gelu({x})"
            );
            let pdf = (-0.5 * xd * xd).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let dwant = 0.75 * (cdf + xd * pdf);
            let got = gelu_grad1(x, 0.75) as f64;
            assert!((got - dwant).abs() < 4e-7, "gelu'({x}): {got} vs {dwant}");
        }
    }

    #[test]
    fn exp_and_ln_match_libm_to_two_ulp() {
        let xs: Vec<f32> = (-8000..8000).map(|i| i as f32 * 0.0109).collect();
        for (x, y) in xs.iter().zip(run(exp_f32, &xs)) {
            let r = (x.exp() as f64 - y as f64).abs() / (x.exp() as f64);
            assert!(r < 2.5e-7, "exp({x}) = {y}, libm {}", x.exp());
        }
        let pos: Vec<f32> = (1..20000).map(|i| i as f32 * 0.0137).collect();
        for (x, y) in pos.iter().zip(run(ln_f32, &pos)) {
            let e = (x.ln() as f64 - y as f64).abs();
            assert!(
                e <= 2.5e-7 * (x.ln().abs() as f64).max(1.0),
                "ln({x}) = {y}"
            );
        }
    }

    /// Distance in units in the last place between `y` and the float64 reference `r`.
    fn ulps(y: f32, r: f64) -> f64 {
        let rf = r as f32;
        let ulp = (f32::from_bits(rf.abs().to_bits() + 1) - rf.abs()) as f64;
        (y as f64 - r).abs() / ulp
    }

    /// The largest error of `kernel` over `xs` against the float64 `reference`, and where.
    fn worst_ulps(
        kernel: fn(&[f32], &mut [MaybeUninit<f32>]),
        xs: &[f32],
        reference: fn(f64) -> f64,
    ) -> (f64, f32) {
        let ys = run(kernel, xs);
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| (ulps(y, reference(x as f64)), x))
            .fold((0.0, 0.0), |w, c| if c.0 > w.0 { c } else { w })
    }

    #[test]
    fn ln_over_a_sweep_of_every_binade_is_within_one_and_a_half_ulp() {
        // Every 61st positive finite float, subnormals included, in vector-sized runs.
        let xs: Vec<f32> = (1..0x7f80_0000u32)
            .step_by(61)
            .map(f32::from_bits)
            .collect();
        let (u, x) = worst_ulps(ln_f32, &xs, f64::ln);
        assert!(u < 1.5, "ln is {u} ulp off at {x:e}");
    }

    #[test]
    fn exp_over_its_whole_finite_range_is_within_one_and_a_half_ulp() {
        // Every 97th float from -87.3 (normal results) to 88.7, in vector-sized runs.
        let (lo, hi) = ((-87.3f32).to_bits(), 88.7f32.to_bits());
        let neg = (0x8000_0001u32..=lo).step_by(97).map(f32::from_bits);
        let xs: Vec<f32> = neg
            .chain((0..=hi).step_by(97).map(f32::from_bits))
            .collect();
        let (u, x) = worst_ulps(exp_f32, &xs, f64::exp);
        assert!(u < 1.5, "exp is {u} ulp off at {x:e}");
    }

    #[test]
    fn ln_lanes_handle_special_inputs() {
        // Sixteen lanes, so that the vector path (not the scalar tail) sees them.
        let mut xs = vec![
            0.0,
            -0.0,
            -1.0,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NAN,
            1.0,
            f32::MAX,
            f32::MIN_POSITIVE,
            1e-45,
            0.75,
            1.5,
            1.499_999_9,
            0.749_999_94,
            2.0,
            -1e-40,
        ];
        xs.extend_from_slice(&xs.clone());
        let l = run(ln_f32, &xs);
        assert_eq!(l[0], f32::NEG_INFINITY);
        assert_eq!(l[1], f32::NEG_INFINITY);
        assert!(l[2].is_nan() && l[3].is_nan() && l[5].is_nan() && l[15].is_nan());
        assert_eq!(l[4], f32::INFINITY);
        assert_eq!(l[6], 0.0);
        for i in 7..15 {
            let r = (xs[i] as f64).ln();
            assert!(ulps(l[i], r) < 1.5, "ln({:e}) = {}, want {r}", xs[i], l[i]);
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&l[..16]), bits(&l[16..]));
    }

    #[test]
    fn special_values() {
        let xs = [0.0, -1.0, f32::INFINITY, f32::NAN, 100.0, -200.0];
        let e = run(exp_f32, &xs);
        assert_eq!(e[0], 1.0);
        assert_eq!(e[2], f32::INFINITY);
        assert!(e[3].is_nan());
        assert_eq!(e[4], f32::INFINITY);
        assert_eq!(e[5], 0.0);
        let l = run(ln_f32, &xs);
        assert_eq!(l[0], f32::NEG_INFINITY);
        assert!(l[1].is_nan());
        assert_eq!(l[2], f32::INFINITY);
        assert!(l[3].is_nan());
        // Edges: exp near overflow stays finite, below the normal range it is subnormal,
        // exp(-inf) is 0; ln of subnormals is exact.
        let e = run(exp_f32, &[88.5, f32::NEG_INFINITY, 88.75, -95.0]);
        assert!(
            ((e[0] as f64) / 88.5f64.exp() - 1.0).abs() < 1e-6,
            "{}",
            e[0]
        );
        assert_eq!(e[1..3], [0.0, f32::INFINITY]);
        assert!(
            ((e[3] as f64) / (-95f64).exp() - 1.0).abs() < 1e-3,
            "{}",
            e[3]
        );
        let tiny = [1e-40f32, f32::MIN_POSITIVE, -0.0];
        let l = run(ln_f32, &tiny);
        assert!(
            ((l[0] as f64) / (1e-40f32 as f64).ln() - 1.0).abs() < 1e-6,
            "{}",
            l[0]
        );
        assert!(((l[1] as f64) / (f32::MIN_POSITIVE as f64).ln() - 1.0).abs() < 1e-6);
        assert_eq!(l[2], f32::NEG_INFINITY);
    }

    #[test]
    fn tanh_and_sigmoid_are_accurate() {
        let xs: Vec<f32> = (-2000..2000).map(|i| i as f32 * 0.005).collect();
        for (x, y) in xs
            .iter()
            .zip(run(|s, d| Transcendental::Tanh.apply(s, d), &xs))
        {
            let t = (*x as f64).tanh();
            assert!(
                (t - y as f64).abs() <= 3e-7 * t.abs().max(1e-30) + 1e-12,
                "tanh({x})"
            );
        }
        for (x, y) in xs
            .iter()
            .zip(run(|s, d| Transcendental::Sigmoid.apply(s, d), &xs))
        {
            let t = 1.0 / (1.0 + (-*x as f64).exp());
            assert!((t - y as f64).abs() <= 3e-7 * t, "sigmoid({x})");
        }
    }
}
