//! Cumulative sums and products of float32 rows, accumulated in float64 (as PyTorch does on the
//! CPU), eight elements per step with AVX-512.
//!
//! Each step widens eight values to f64, forms their running sums (or products) inside the
//! register in three shift-and-combine rounds, then adds the carry of everything before. The
//! carry itself only takes one addition per step (the step's own total is broadcast off the
//! critical path), so a row streams at about half a cycle per element; long rows are split
//! across threads after a first pass that totals each part.

use super::cpu::has_avx512;
use super::PAR_MIN;
use crate::dtype::Element;
use std::mem::MaybeUninit;

/// Scans the rows (each `row_len` long) of a contiguous float32 buffer into a new vector, with
/// AVX-512; `None` when the CPU lacks it.
pub(crate) fn scan_rows_f32(src: &[f32], row_len: usize, product: bool) -> Option<Vec<f32>> {
    if !has_avx512() {
        return None;
    }
    let mut out: Vec<f32> = crate::storage::result_vec(src.len());
    let spare = &mut out.spare_capacity_mut()[..src.len()];
    for (s, d) in src
        .chunks(row_len.max(1))
        .zip(spare.chunks_mut(row_len.max(1)))
    {
        let done = scan_row(s, d, product);
        assert!(done, "AVX-512 was checked");
    }
    // SAFETY: `scan_row` wrote every element of every row.
    unsafe { out.set_len(src.len()) };
    Some(out)
}

/// Scans one contiguous row into `dst` (every element written). Returns false, writing
/// nothing, when the CPU lacks AVX-512.
fn scan_row(src: &[f32], dst: &mut [MaybeUninit<f32>], product: bool) -> bool {
    if !has_avx512() {
        return false;
    }
    let n = src.len();
    let threads = super::split_count();
    let init = if product { 1.0 } else { 0.0 };
    if n < PAR_MIN * 2 || threads < 2 {
        // SAFETY: AVX-512 is present.
        unsafe { scan_avx512(src, dst, init, product) };
        return true;
    }
    let block = n.div_ceil(threads).next_multiple_of(64);
    let parts = n.div_ceil(block);
    let mut totals = vec![init; parts];
    super::parallel::for_each_chunk_mut(&mut totals, 1, |i, t| {
        let part = &src[i * block..((i + 1) * block).min(n)];
        t[0] = if product {
            // Eight independent chains, so the multiplications overlap.
            let mut acc = [1.0f64; 8];
            let mut it = part.chunks_exact(8);
            for c in &mut it {
                for k in 0..8 {
                    acc[k] *= c[k] as f64;
                }
            }
            let rest: f64 = it.remainder().iter().map(|&v| v as f64).product();
            acc.iter().product::<f64>() * rest
        } else {
            super::math::sum_f32(part)
        };
    });
    let mut carries = Vec::with_capacity(parts);
    let mut c = init;
    for t in &totals {
        carries.push(c);
        c = if product { c * t } else { c + t };
    }
    super::parallel::for_each_chunk_mut(dst, block, |i, d| {
        let s = &src[i * block..i * block + d.len()];
        // SAFETY: AVX-512 is present.
        unsafe { scan_avx512(s, d, carries[i], product) };
    });
    true
}

/// Scans `src` into `dst` starting from `carry`.
///
/// # Safety
/// The CPU must have AVX-512 F, VL and DQ, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
unsafe fn scan_avx512(src: &[f32], dst: &mut [MaybeUninit<f32>], carry: f64, product: bool) {
    use std::arch::x86_64::*;
    let n = src.len().min(dst.len());
    let fill = _mm512_set1_pd(if product { 1.0 } else { 0.0 });
    let last = _mm512_set1_epi64(7);
    let mut carry_v = _mm512_set1_pd(carry);
    let combine = |a: __m512d, b: __m512d| {
        if product {
            _mm512_mul_pd(a, b)
        } else {
            _mm512_add_pd(a, b)
        }
    };
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within both slices.
        let v = _mm512_cvtps_pd(unsafe { _mm256_loadu_ps(src.as_ptr().add(i)) });
        // Running combination inside the register: shift in the identity by 1, 2, 4 lanes.
        let v = combine(
            v,
            _mm512_castsi512_pd(_mm512_alignr_epi64::<7>(
                _mm512_castpd_si512(v),
                _mm512_castpd_si512(fill),
            )),
        );
        let v = combine(
            v,
            _mm512_castsi512_pd(_mm512_alignr_epi64::<6>(
                _mm512_castpd_si512(v),
                _mm512_castpd_si512(fill),
            )),
        );
        let v = combine(
            v,
            _mm512_castsi512_pd(_mm512_alignr_epi64::<4>(
                _mm512_castpd_si512(v),
                _mm512_castpd_si512(fill),
            )),
        );
        let out = combine(v, carry_v);
        // SAFETY: as above; MaybeUninit<f32> has f32's layout.
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr().add(i) as *mut f32, _mm512_cvtpd_ps(out)) };
        carry_v = combine(carry_v, _mm512_permutexvar_pd(last, v));
        i += 8;
    }
    let mut acc = _mm512_cvtsd_f64(carry_v);
    while i < n {
        acc = if product {
            acc * src[i] as f64
        } else {
            acc + src[i] as f64
        };
        dst[i].write(acc as f32);
        i += 1;
    }
}

/// # Safety
/// Never callable: `scan_row` checks for AVX-512 first.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn scan_avx512(_: &[f32], _: &mut [MaybeUninit<f32>], _: f64, _: bool) {
    unreachable!("scan_row checks for AVX-512 first")
}

// The portable scans, for every dtype and for CPUs without AVX-512.

#[inline(always)]
fn combine<const PROD: bool>(a: f64, b: f64) -> f64 {
    if PROD {
        a * b
    } else {
        a + b
    }
}

/// Scans `CHAINS` equal blocks of `src` side by side (independent dependency chains), each
/// starting from its carry.
fn scan_group<T: Element, const PROD: bool>(
    src: &[T],
    dst: &mut [T],
    block: usize,
    carries: &[f64],
) {
    const CHAINS: usize = 4;
    let n = src.len();
    let full = n / block;
    let mut acc = [0.0f64; CHAINS];
    acc[..carries.len().min(CHAINS)].copy_from_slice(&carries[..carries.len().min(CHAINS)]);
    if full == CHAINS {
        let (s0, rest) = src.split_at(block);
        let (s1, rest) = rest.split_at(block);
        let (s2, s3) = rest.split_at(block);
        let (d0, rest) = dst.split_at_mut(block);
        let (d1, rest) = rest.split_at_mut(block);
        let (d2, d3) = rest.split_at_mut(block);
        let [mut a0, mut a1, mut a2, mut a3] = acc;
        for i in 0..block {
            a0 = combine::<PROD>(a0, s0[i].to_f64());
            a1 = combine::<PROD>(a1, s1[i].to_f64());
            a2 = combine::<PROD>(a2, s2[i].to_f64());
            a3 = combine::<PROD>(a3, s3[i].to_f64());
            d0[i] = T::from_f64(a0);
            d1[i] = T::from_f64(a1);
            d2[i] = T::from_f64(a2);
            d3[i] = T::from_f64(a3);
        }
    } else {
        for (c, a) in acc.iter_mut().enumerate() {
            let (lo, hi) = ((c * block).min(n), ((c + 1) * block).min(n));
            for j in lo..hi {
                *a = combine::<PROD>(*a, src[j].to_f64());
                dst[j] = T::from_f64(*a);
            }
        }
    }
}

/// Inclusive scan of one row in f64 precision. The row is cut into blocks: their totals come
/// first (a vectorizable pass), then each block is scanned from its carry, four blocks at a
/// time per thread so that the additions do not wait on each other.
pub(crate) fn scan_row_generic<T: Element, const PROD: bool>(src: &[T], dst: &mut [T]) {
    const CHAINS: usize = 4;
    let n = src.len();
    let init = if PROD { 1.0 } else { 0.0 };
    if n < 64 {
        let mut acc = init;
        for (d, &v) in dst.iter_mut().zip(src) {
            acc = combine::<PROD>(acc, v.to_f64());
            *d = T::from_f64(acc);
        }
        return;
    }
    let threads = super::split_count();
    let parallel = n >= PAR_MIN * 2 && threads > 1;
    let groups = if parallel { threads } else { 1 };
    let block = n.div_ceil(CHAINS * groups);
    let total = |c: &[T]| -> f64 {
        let mut a = [init; 8];
        let mut it = c.chunks_exact(8);
        for ch in &mut it {
            for k in 0..8 {
                a[k] = combine::<PROD>(a[k], ch[k].to_f64());
            }
        }
        let mut t = it
            .remainder()
            .iter()
            .fold(init, |x, &v| combine::<PROD>(x, v.to_f64()));
        for v in a {
            t = combine::<PROD>(t, v);
        }
        t
    };
    let totals: Vec<f64> = if parallel {
        let mut totals = vec![init; n.div_ceil(block)];
        super::parallel::for_each_chunk_mut(&mut totals, 1, |i, t| {
            t[0] = total(&src[i * block..((i + 1) * block).min(n)]);
        });
        totals
    } else {
        src.chunks(block).map(total).collect()
    };
    let mut carries = Vec::with_capacity(totals.len());
    let mut c = init;
    for t in &totals {
        carries.push(c);
        c = combine::<PROD>(c, *t);
    }
    let span = block * CHAINS;
    if parallel {
        super::parallel::for_each_chunk_mut(dst, span, |g, d| {
            let s = &src[g * span..g * span + d.len()];
            scan_group::<T, PROD>(s, d, block, &carries[g * CHAINS..]);
        });
    } else {
        for (g, (d, s)) in dst.chunks_mut(span).zip(src.chunks(span)).enumerate() {
            scan_group::<T, PROD>(s, d, block, &carries[g * CHAINS..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(src: &[f32], product: bool) -> Vec<f32> {
        let mut acc = if product { 1.0f64 } else { 0.0 };
        src.iter()
            .map(|&v| {
                acc = if product {
                    acc * v as f64
                } else {
                    acc + v as f64
                };
                acc as f32
            })
            .collect()
    }

    #[test]
    fn matches_a_sequential_f64_scan_at_every_length() {
        if !has_avx512() {
            return;
        }
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 70_001, 300_000] {
            let src: Vec<f32> = (0..n)
                .map(|i| 1.0 + ((i * 7919) % 97) as f32 * 1e-5)
                .collect();
            for product in [false, true] {
                let mut dst = vec![MaybeUninit::<f32>::uninit(); n];
                assert!(scan_row(&src, &mut dst, product));
                // SAFETY: `scan_row` wrote every element (it returned true).
                let got: Vec<f32> = dst.iter().map(|v| unsafe { v.assume_init() }).collect();
                let want = reference(&src, product);
                for (j, (g, w)) in got.iter().zip(&want).enumerate() {
                    let tol = 1e-6 * w.abs().max(1.0);
                    assert!(
                        g == w || (g - w).abs() <= tol,
                        "n={n} product={product} at {j}: {g} vs {w}"
                    );
                }
            }
        }
    }
}
