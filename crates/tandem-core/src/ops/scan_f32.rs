//! Cumulative sums and products of float32 rows, accumulated in float64 (as PyTorch does on the
//! CPU), eight elements per step with AVX-512.
//!
//! Each step widens eight values to f64, forms their running sums (or products) inside the
//! register in three shift-and-combine rounds, then adds the carry of everything before. The
//! carry itself only takes one addition per step (the step's own total is broadcast off the
//! critical path), so a row streams at about half a cycle per element; long rows are split
//! across threads after a first pass that totals each part.

use std::mem::MaybeUninit;

/// Scans one contiguous row into `dst` (every element written). Returns false, writing
/// nothing, when the CPU lacks AVX-512.
pub(crate) fn scan_row(src: &[f32], dst: &mut [MaybeUninit<f32>], product: bool) -> bool {
    if !super::kernel::has_avx512() {
        return false;
    }
    let n = src.len();
    let threads = crate::parallel::num_threads();
    let init = if product { 1.0 } else { 0.0 };
    if n < super::kernel::PAR_MIN * 2 || threads < 2 {
        // SAFETY: AVX-512 is present.
        unsafe { scan_avx512(src, dst, init, product) };
        return true;
    }
    let block = n.div_ceil(threads).next_multiple_of(64);
    let parts = n.div_ceil(block);
    let mut totals = vec![init; parts];
    crate::parallel::for_each_chunk_mut(&mut totals, 1, |i, t| {
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
            crate::simd::sum_f32(part)
        };
    });
    let mut carries = Vec::with_capacity(parts);
    let mut c = init;
    for t in &totals {
        carries.push(c);
        c = if product { c * t } else { c + t };
    }
    crate::parallel::for_each_chunk_mut(dst, block, |i, d| {
        let s = &src[i * block..i * block + d.len()];
        // SAFETY: AVX-512 is present.
        unsafe { scan_avx512(s, d, carries[i], product) };
    });
    true
}

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

#[cfg(not(target_arch = "x86_64"))]
unsafe fn scan_avx512(_: &[f32], _: &mut [MaybeUninit<f32>], _: f64, _: bool) {
    unreachable!("scan_row checks for AVX-512 first")
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
        if !crate::ops::kernel::has_avx512() {
            return;
        }
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 70_001, 300_000] {
            let src: Vec<f32> = (0..n)
                .map(|i| 1.0 + ((i * 7919) % 97) as f32 * 1e-5)
                .collect();
            for product in [false, true] {
                let mut dst = vec![MaybeUninit::<f32>::uninit(); n];
                assert!(scan_row(&src, &mut dst, product));
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
