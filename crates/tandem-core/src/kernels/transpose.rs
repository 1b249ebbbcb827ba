//! Out-of-place matrix transposition in 8x8 tiles, with vector shuffles on AVX2. The products
//! `x · Wᵀ` of a small batch with an `[out, in]` weight (as `nn.Linear` stores it) are computed
//! column-major and transposed here, rather than letting the `gemm` crate gather the whole
//! weight element by element while packing it.

use super::parallel::{self, SendPtr};
use crate::dtype::Float;
use std::any::TypeId;
use std::mem::MaybeUninit;

/// Matrices with fewer elements than this are transposed on the calling thread.
const PAR_ELEMENTS: usize = 1 << 16;

/// `dst[c * rows + r] = src[r * src_rs + c]`: the `rows x cols` matrix in `src` (row stride
/// `src_rs`, unit column stride) written transposed and row-major, `cols x rows`, into `dst`,
/// every element initialized; the output rows are split over the pool when `parallel` and the
/// matrix is large. Panics unless `src` holds every element the strides reach and `dst` holds
/// `rows * cols`.
pub(crate) fn transpose_into<T: Copy + Send + Sync + 'static>(
    src: &[T],
    shape: (usize, usize),
    src_rs: usize,
    dst: &mut [MaybeUninit<T>],
    parallel: bool,
) {
    transpose_with::<T, _, false>(src, shape, src_rs, dst, parallel, |o, v| {
        *o = MaybeUninit::new(v)
    });
}

/// `dst[c * rows + r] += src[r * src_rs + c]`: as [`transpose_into`], adding the transpose to
/// the row-major `cols x rows` matrix in `dst`.
pub(crate) fn transpose_add<T: Float>(
    src: &[T],
    shape: (usize, usize),
    src_rs: usize,
    dst: &mut [T],
    parallel: bool,
) {
    transpose_with::<T, _, true>(src, shape, src_rs, dst, parallel, |o, v| *o = *o + v);
}

/// The body of both: `put(dst element, src element)` for every element, or the AVX2 tiles
/// (storing, or adding when `ADD`) when `T` is `f32`. `D` is `T` or `MaybeUninit<T>`.
fn transpose_with<T: Copy + Send + Sync + 'static, D: Send, const ADD: bool>(
    src: &[T],
    (rows, cols): (usize, usize),
    src_rs: usize,
    dst: &mut [D],
    parallel: bool,
    put: impl Fn(&mut D, T) + Sync,
) {
    check(src, (rows, cols), src_rs, dst.len());
    let out = SendPtr(dst.as_mut_ptr());
    split(rows, cols, parallel, |c0, c1| {
        // SAFETY: this part alone touches output rows `c0..c1`, inside `dst`.
        let out = unsafe { out.range(c0 * rows, (c1 - c0) * rows) };
        #[cfg(target_arch = "x86_64")]
        if let Some(src) = as_f32(src) {
            // SAFETY: AVX2 is present and `T` is `f32` (checked by `as_f32`), so `D` has the
            // layout of `f32` (and is initialized when adding, as `transpose_add` requires);
            // the extents were checked.
            unsafe {
                avx2::rows32::<ADD>(src, rows, src_rs, (c0, c1), out.as_mut_ptr() as *mut f32)
            };
            return;
        }
        for c in c0..c1 {
            for (r, o) in out[(c - c0) * rows..][..rows].iter_mut().enumerate() {
                put(o, src[r * src_rs + c]);
            }
        }
    });
}

/// Panics unless `src` holds every element of a `rows x cols` matrix with row stride `src_rs`
/// and the destination holds `rows * cols` elements.
fn check<T>(src: &[T], (rows, cols): (usize, usize), src_rs: usize, dst_len: usize) {
    assert_eq!(dst_len, rows * cols, "transpose: destination length");
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(
        cols <= src_rs || rows == 1,
        "transpose: rows of {cols} overlap (row stride {src_rs})"
    );
    let end = (rows - 1)
        .checked_mul(src_rs)
        .and_then(|v| v.checked_add(cols));
    assert!(
        end.is_some_and(|end| end <= src.len()),
        "transpose: a {rows}x{cols} matrix with row stride {src_rs} does not fit {} elements",
        src.len()
    );
}

/// Runs `part(c0, c1)` over ranges of output rows (whole tiles of 8), on the pool when
/// `parallel` and the matrix is large.
fn split(rows: usize, cols: usize, parallel: bool, part: impl Fn(usize, usize) + Sync) {
    if rows == 0 || cols == 0 {
        return;
    }
    let parts = if parallel && rows * cols >= PAR_ELEMENTS {
        super::split_count().min(cols / 8).max(1)
    } else {
        1
    };
    let per_part = cols.div_ceil(parts).div_ceil(8) * 8;
    parallel::run(cols.div_ceil(per_part), |p| {
        let start = p * per_part;
        part(start, (start + per_part).min(cols));
    });
}

/// `src` as `f32` elements when `T` is `f32` and the AVX2 tiles can run here.
#[cfg(target_arch = "x86_64")]
fn as_f32<T: 'static>(src: &[T]) -> Option<&[f32]> {
    if TypeId::of::<T>() != TypeId::of::<f32>() || !super::cpu::has_avx2() {
        return None;
    }
    // SAFETY: `T` is `f32`.
    Some(unsafe { std::slice::from_raw_parts(src.as_ptr() as *const f32, src.len()) })
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Transposes the 8x8 tile at `src` (row stride `src_rs`) into `dst` (row stride
    /// `dst_rs`), or adds it there when `ADD`.
    ///
    /// # Safety
    /// AVX2 must be present; 8 rows of 8 elements must be readable at `src` and writable at
    /// `dst` (and initialized when `ADD`) with those strides.
    #[inline(always)]
    unsafe fn tile<const ADD: bool>(src: *const f32, src_rs: usize, dst: *mut f32, dst_rs: usize) {
        // SAFETY: as the caller guarantees.
        unsafe {
            let r = |i: usize| _mm256_loadu_ps(src.add(i * src_rs));
            let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
            let (r4, r5, r6, r7) = (r(4), r(5), r(6), r(7));
            let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
            let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
            let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let w = |i: usize, v: __m256| {
                let d = dst.add(i * dst_rs);
                let v = if ADD {
                    _mm256_add_ps(_mm256_loadu_ps(d), v)
                } else {
                    v
                };
                _mm256_storeu_ps(d, v)
            };
            w(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
            w(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
            w(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
            w(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
            w(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
            w(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
            w(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
            w(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
        }
    }

    /// Output rows `c0..c1` of the transpose of the `rows`-row matrix at `src` into `out`, or
    /// added to `out` when `ADD`.
    ///
    /// # Safety
    /// AVX2 must be present; `src` must hold `rows` rows of stride `src_rs` reaching column
    /// `c1 - 1`, and `out` must hold `(c1 - c0) * rows` writable elements (initialized when
    /// `ADD`).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn rows32<const ADD: bool>(
        src: &[f32],
        rows: usize,
        src_rs: usize,
        (c0, c1): (usize, usize),
        out: *mut f32,
    ) {
        let src = src.as_ptr();
        // SAFETY: every tile and element below lies inside the extents the caller vouches for.
        unsafe {
            let put = |d: *mut f32, v: f32| *d = if ADD { *d + v } else { v };
            let at = |r: usize, c: usize| *src.add(r * src_rs + c);
            let mut c = c0;
            while c + 8 <= c1 {
                let dst = out.add((c - c0) * rows);
                let mut r = 0;
                while r + 8 <= rows {
                    tile::<ADD>(src.add(r * src_rs + c), src_rs, dst.add(r), rows);
                    r += 8;
                }
                for r in r..rows {
                    for j in 0..8 {
                        put(dst.add(j * rows + r), at(r, c + j));
                    }
                }
                c += 8;
            }
            for c in c..c1 {
                let dst = out.add((c - c0) * rows);
                for r in 0..rows {
                    put(dst.add(r), at(r, c));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transposed<T: Copy + Send + Sync + 'static>(
        src: &[T],
        (rows, cols): (usize, usize),
        src_rs: usize,
        parallel: bool,
    ) -> Vec<T> {
        let mut out = vec![MaybeUninit::uninit(); rows * cols];
        transpose_into(src, (rows, cols), src_rs, &mut out, parallel);
        // SAFETY: `transpose_into` initialized every element.
        out.into_iter()
            .map(|v| unsafe { v.assume_init() })
            .collect()
    }

    fn check_all<T: Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static>(
        src: &[T],
        (rows, cols): (usize, usize),
        src_rs: usize,
        parallel: bool,
    ) {
        let dst = transposed(src, (rows, cols), src_rs, parallel);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(
                    dst[c * rows + r],
                    src[r * src_rs + c],
                    "({r}, {c}) of {rows}x{cols}"
                );
            }
        }
    }

    #[test]
    fn ragged_and_strided_matrices_transpose_element_for_element() {
        for &(rows, cols, pad) in &[
            (1, 1, 0),
            (8, 8, 0),
            (13, 21, 3),
            (520, 784, 0),
            (97, 300, 5),
        ] {
            let rs = cols + pad;
            let f: Vec<f32> = (0..rows * rs).map(|i| i as f32 * 0.5 - 7.0).collect();
            check_all(&f, (rows, cols), rs, true);
            check_all(&f, (rows, cols), rs, false);
            let d: Vec<f64> = (0..rows * rs).map(|i| i as f64 * 0.25).collect();
            check_all(&d, (rows, cols), rs, true);
        }
        // Bits move unchanged, NaN payloads included.
        let bits = [f32::from_bits(0x7fc0_1234), -0.0, f32::INFINITY, 1.0];
        let src: Vec<f32> = (0..64).map(|i| bits[i % 4]).collect();
        let dst = transposed(&src, (8, 8), 8, false);
        for r in 0..8 {
            for c in 0..8 {
                assert_eq!(dst[c * 8 + r].to_bits(), src[r * 8 + c].to_bits());
            }
        }
    }

    #[test]
    fn adding_a_transpose_adds_element_for_element() {
        for &(rows, cols) in &[(13usize, 21usize), (64, 300)] {
            let src: Vec<f32> = (0..rows * cols).map(|i| (i % 29) as f32 - 9.0).collect();
            let base: Vec<f32> = (0..rows * cols).map(|i| (i % 5) as f32 * 0.25).collect();
            let mut dst = base.clone();
            transpose_add(&src, (rows, cols), cols, &mut dst, true);
            let src64: Vec<f64> = src.iter().map(|&v| v as f64).collect();
            let mut dst64: Vec<f64> = base.iter().map(|&v| v as f64).collect();
            transpose_add(&src64, (rows, cols), cols, &mut dst64, false);
            for r in 0..rows {
                for c in 0..cols {
                    let want = base[c * rows + r] + src[r * cols + c];
                    assert_eq!(dst[c * rows + r], want);
                    assert_eq!(dst64[c * rows + r], want as f64);
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn a_source_shorter_than_its_extent_is_refused() {
        let src = vec![0.0f32; 15];
        transposed(&src, (4, 4), 4, false);
    }
}
