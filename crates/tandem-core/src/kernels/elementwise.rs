//! Elementwise kernels: output allocation with parallel filling, and maps and zips over
//! slices compiled three times (AVX-512, AVX2 + FMA, portable) and chosen at run time.

use super::cpu::{has_avx2, has_avx512};
use super::PAR_MIN;
use crate::dtype::{Element, Float};
use std::any::TypeId;
use std::mem::MaybeUninit;

/// The chunk length for filling `n` elements over the pool, or `None` when they are too few
/// to share: four parts per thread, in whole cache lines, so that a helper that starts late
/// takes fewer.
fn pool_chunk(n: usize) -> Option<usize> {
    let threads = super::parallel::num_threads();
    (n >= PAR_MIN && threads > 1).then(|| {
        n.div_ceil(threads * super::PARTS_PER_THREAD)
            .next_multiple_of(64)
    })
}

/// Allocates `n` elements and lets `fill(start, chunk)` write every one of them, in parallel
/// chunks for large `n`.
///
/// # Safety
/// `fill` must write every element of each `chunk` it is given.
pub(crate) unsafe fn alloc_fill<U: Element>(
    n: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync,
) -> Vec<U> {
    let mut out: Vec<U> = crate::storage::result_vec(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    match pool_chunk(n) {
        Some(chunk) => super::parallel::for_each_chunk_mut(spare, chunk, |i, c| fill(i * chunk, c)),
        None => fill(0, spare),
    }
    // SAFETY: `fill` wrote all `n` elements (every chunk is fully written, as the caller
    // guarantees).
    unsafe { out.set_len(n) };
    out
}

/// `n` copies of `v`, written over the pool when long (a gradient's zeros, say).
pub(crate) fn filled<T: Element>(n: usize, v: T) -> Vec<T> {
    // SAFETY: every chunk handed to the closure is filled whole.
    unsafe { alloc_fill(n, |_, dst| dst.fill(MaybeUninit::new(v))) }
}

/// `f(out[starts[r] + j], vals[r * len + j])` for every row `r` and `j < len`, row after row:
/// the update of a view made of contiguous rows. Long updates of rows that do not overlap are
/// split over the pool, whole rows to a part (or pieces of one long row).
pub(crate) fn update_rows<T: Element>(
    out: &mut [T],
    vals: &[T],
    (starts, len): (&[usize], usize),
    f: &(impl Fn(&mut T, T) + Sync),
) {
    let run = |dst: &mut [T], src: &[T]| {
        super::cpu::vectorized(
            #[inline(always)]
            || dst.iter_mut().zip(src).for_each(|(o, &v)| f(o, v)),
        )
    };
    for &p in starts {
        assert!(p + len <= out.len(), "update_rows: row out of bounds");
    }
    assert_eq!(vals.len(), starts.len() * len, "update_rows: values");
    // Pieces of about a pool chunk: whole rows, or slices of one long row.
    let piece = match pool_chunk(vals.len()) {
        Some(piece) if len > 0 && disjoint(starts, len) => piece,
        _ => {
            for (&p, src) in starts.iter().zip(vals.chunks_exact(len.max(1))) {
                run(&mut out[p..p + len], src);
            }
            return;
        }
    };
    let (per_row, rows_per_part) = if len >= piece {
        (len.div_ceil(piece), 1)
    } else {
        (1, (piece / len).max(1))
    };
    let step = len.div_ceil(per_row);
    let parts = starts.len().div_ceil(rows_per_part) * per_row;
    let base = super::parallel::SendPtr(out.as_mut_ptr());
    super::parallel::run(parts, |part| {
        let (group, piece) = (part / per_row, part % per_row);
        let (lo, hi) = (piece * step, ((piece + 1) * step).min(len));
        let first = group * rows_per_part;
        for r in first..(first + rows_per_part).min(starts.len()) {
            // SAFETY: the rows are in bounds and disjoint (both checked above), and each part
            // owns columns lo..hi of its rows.
            let dst = unsafe { base.range(starts[r] + lo, hi - lo) };
            run(dst, &vals[r * len + lo..r * len + hi]);
        }
    });
}

/// Whether the ranges `start..start + len` share no element.
fn disjoint(starts: &[usize], len: usize) -> bool {
    let mut sorted = starts.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).all(|w| w[1] - w[0] >= len)
}

/// The rows of `len` elements of `src` that begin at each of `starts`, one after another in a
/// new vector: a strided view made contiguous, a batch of examples picked by index, a bias
/// repeated down a matrix. Long gathers run over the pool, whole rows to a part.
pub(crate) fn gather_rows<T: Element>(src: &[T], starts: &[usize], len: usize) -> Vec<T> {
    for &p in starts {
        assert!(p + len <= src.len(), "gather_rows: row out of bounds");
    }
    let n = starts.len() * len;
    let per_part = match pool_chunk(n) {
        Some(chunk) if len > 0 => (chunk / len).max(1),
        _ => starts.len().max(1),
    };
    let mut out: Vec<T> = crate::storage::result_vec(n);
    super::parallel::for_each_chunk_mut(
        &mut out.spare_capacity_mut()[..n],
        per_part * len.max(1),
        |part, chunk| {
            for (dst, &p) in chunk.chunks_mut(len.max(1)).zip(&starts[part * per_part..]) {
                for (d, &v) in dst.iter_mut().zip(&src[p..p + len]) {
                    d.write(v);
                }
            }
        },
    );
    // SAFETY: the chunks cover all `n` elements, each a whole number of rows, each written.
    unsafe { out.set_len(n) };
    out
}

/// Like [`alloc_fill`] for two vectors of `n` elements, chunked alike: `fill(start, a, b)`
/// writes the chunks of both that begin at `start`.
///
/// # Safety
/// `fill` must write every element of both chunks it is given.
pub(crate) unsafe fn alloc_fill_pair<U: Element>(
    n: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<U>], &mut [MaybeUninit<U>]) + Sync,
) -> (Vec<U>, Vec<U>) {
    let (mut a, mut b): (Vec<U>, Vec<U>) =
        (crate::storage::result_vec(n), crate::storage::result_vec(n));
    let (sa, sb) = (
        &mut a.spare_capacity_mut()[..n],
        &mut b.spare_capacity_mut()[..n],
    );
    match pool_chunk(n) {
        Some(chunk) => {
            super::parallel::for_each_chunk_mut2(sa, sb, chunk, |i, ca, cb| fill(i * chunk, ca, cb))
        }
        None => fill(0, sa, sb),
    }
    // SAFETY: `fill` wrote all `n` elements of both (as the caller guarantees).
    unsafe {
        a.set_len(n);
        b.set_len(n);
    }
    (a, b)
}

/// Two vectors of `n` elements each, made on the pool: every chunk of `chunk` elements is
/// zeroed and then handed to `f(part, a, b)`, so the zeros are written in parallel and are
/// still in cache when `f` overwrites them (rather than zeroed whole, up front, on one thread).
pub(crate) fn zeroed_pair<T: Element, U: Copy + Default + Send>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize, &mut [T], &mut [U]) + Sync,
) -> (Vec<T>, Vec<U>) {
    let mut a: Vec<T> = crate::storage::result_vec(n);
    let mut b: Vec<U> = Vec::with_capacity(n);
    let (sa, sb) = (
        &mut a.spare_capacity_mut()[..n],
        &mut b.spare_capacity_mut()[..n],
    );
    super::parallel::for_each_chunk_mut2(sa, sb, chunk, |part, ca, cb| {
        ca.fill(MaybeUninit::new(T::default()));
        cb.fill(MaybeUninit::new(U::default()));
        // SAFETY: every element of both chunks was written just above.
        let (ca, cb) = unsafe {
            (
                &mut *(ca as *mut [MaybeUninit<T>] as *mut [T]),
                &mut *(cb as *mut [MaybeUninit<U>] as *mut [U]),
            )
        };
        f(part, ca, cb)
    });
    // SAFETY: the chunks cover all `n` elements of both vectors, and each was zeroed.
    unsafe {
        a.set_len(n);
        b.set_len(n);
    }
    (a, b)
}

#[inline(always)]
fn map_body<T: Copy, U, F: Fn(T) -> U>(src: &[T], dst: &mut [MaybeUninit<U>], f: &F) {
    for (d, &x) in dst.iter_mut().zip(src) {
        d.write(f(x));
    }
}

/// The portable loop compiled with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn map_avx2<T: Copy, U, F: Fn(T) -> U>(src: &[T], dst: &mut [MaybeUninit<U>], f: &F) {
    map_body(src, dst, f)
}

/// The portable loop compiled with AVX-512 F, BW, VL and DQ, AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must have AVX-512 F, BW, VL and DQ, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn map_avx512<T: Copy, U, F: Fn(T) -> U>(src: &[T], dst: &mut [MaybeUninit<U>], f: &F) {
    map_body(src, dst, f)
}

#[inline(always)]
fn zip_body<T: Copy, U, F: Fn(T, T) -> U>(a: &[T], b: &[T], dst: &mut [MaybeUninit<U>], f: &F) {
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        d.write(f(x, y));
    }
}

/// The portable loop compiled with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must have AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn zip_avx2<T: Copy, U, F: Fn(T, T) -> U>(
    a: &[T],
    b: &[T],
    dst: &mut [MaybeUninit<U>],
    f: &F,
) {
    zip_body(a, b, dst, f)
}

/// The portable loop compiled with AVX-512 F, BW, VL and DQ, AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must have AVX-512 F, BW, VL and DQ, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
unsafe fn zip_avx512<T: Copy, U, F: Fn(T, T) -> U>(
    a: &[T],
    b: &[T],
    dst: &mut [MaybeUninit<U>],
    f: &F,
) {
    zip_body(a, b, dst, f)
}

/// `dst[i] = f(src[i])`, compiled for AVX2 when the CPU has it.
#[inline]
pub(crate) fn map_into<T: Copy, U, F: Fn(T) -> U>(src: &[T], dst: &mut [MaybeUninit<U>], f: &F) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU supports the AVX-512 subsets the function is built for.
            return unsafe { map_avx512(src, dst, f) };
        }
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { map_avx2(src, dst, f) };
        }
    }
    map_body(src, dst, f)
}

/// Elementwise map of a contiguous slice into a new vector.
#[inline]
pub(crate) fn map_slice<T: Element, U: Element>(src: &[T], f: impl Fn(T) -> U + Sync) -> Vec<U> {
    // SAFETY: `map_into` writes every element of `dst` (its source is as long).
    unsafe {
        alloc_fill(src.len(), |start, dst| {
            map_into(&src[start..start + dst.len()], dst, &f)
        })
    }
}

/// Elementwise map of two equally long contiguous slices.
#[inline]
pub(crate) fn zip_slices<T: Element, U: Element>(
    a: &[T],
    b: &[T],
    f: impl Fn(T, T) -> U + Sync,
) -> Vec<U> {
    let fill = |start: usize, dst: &mut [MaybeUninit<U>]| {
        let n = dst.len();
        let (a, b) = (&a[start..start + n], &b[start..start + n]);
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx512() {
                // SAFETY: the CPU supports the AVX-512 subsets the function is built for.
                return unsafe { zip_avx512(a, b, dst, &f) };
            }
            if has_avx2() {
                // SAFETY: the CPU supports AVX2 and FMA.
                return unsafe { zip_avx2(a, b, dst, &f) };
            }
        }
        zip_body(a, b, dst, &f)
    };
    // SAFETY: each branch of `fill` writes every element of `dst` (both sources are as long).
    unsafe { alloc_fill(a.len(), fill) }
}

/// `max(v, 0)` with NaN kept, as `torch.relu`: the one ReLU rule of the tensor op, the fused
/// convolution and product epilogues and [`relu_in_place`].
#[inline(always)]
pub(crate) fn relu1<T: Float>(v: T) -> T {
    if v < T::ZERO {
        T::ZERO
    } else {
        v
    }
}

/// [`relu1`] over a slice in place, in the vector build.
pub(crate) fn relu_in_place<T: Float>(v: &mut [T]) {
    super::cpu::vectorized(
        #[inline(always)]
        || v.iter_mut().for_each(|x| *x = relu1(*x)),
    );
}

/// The slice as `&[f32]` when `T` is `f32`.
#[inline]
pub(crate) fn as_f32<T: Element>(s: &[T]) -> Option<&[f32]> {
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: `T` is `f32` (the type ids are equal), so this is the identity conversion.
        unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) }
    })
}

/// The slice as `&mut [f32]` when `T` is `f32`.
#[inline]
pub(crate) fn as_f32_mut<T: Element>(s: &mut [T]) -> Option<&mut [f32]> {
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| {
        // SAFETY: as in `as_f32`.
        unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f32, s.len()) }
    })
}

/// `dst` viewed as uninitialized storage, for kernels that only write to it.
///
/// # Safety
/// Only initialized values may be written through the view (writing `MaybeUninit::uninit()`
/// would leave `dst` holding uninitialized elements).
#[inline]
pub(crate) unsafe fn as_uninit<T>(dst: &mut [T]) -> &mut [MaybeUninit<T>] {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout and every `T` is a valid `MaybeUninit<T>`;
    // the caller writes only initialized values.
    unsafe { &mut *(dst as *mut [T] as *mut [MaybeUninit<T>]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_rows_are_updated_in_order_and_disjoint_ones_over_the_pool() {
        // 40,000 rows of 3 starting 2 apart overlap by one element: too long for one thread,
        // but they must be added one after another, so each shared element gets both rows.
        let (rows, len) = (40_000, 3);
        let starts: Vec<usize> = (0..rows).map(|r| 2 * r).collect();
        assert!(!disjoint(&starts, len));
        let mut out = vec![0.0f32; 2 * rows + 1];
        let vals = vec![1.0f32; rows * len];
        update_rows(&mut out, &vals, (&starts, len), &|o, v| *o += v);
        assert_eq!(out[0], 1.0);
        assert!(out[1..2 * rows - 1].chunks(2).all(|c| c == [1.0, 2.0]));
        assert_eq!(out[2 * rows], 1.0);
        // Rows 5 apart with 4 elements each leave gaps and are split over the pool.
        let (rows, len) = (20_000, 4);
        let starts: Vec<usize> = (0..rows).rev().map(|r| 5 * r).collect();
        assert!(disjoint(&starts, len));
        let mut out = vec![-1.0f32; 5 * rows];
        let vals: Vec<f32> = (0..rows * len).map(|i| i as f32).collect();
        update_rows(&mut out, &vals, (&starts, len), &|o, v| *o = v);
        for (r, &p) in starts.iter().enumerate() {
            assert_eq!(out[p..p + len], vals[r * len..(r + 1) * len], "row {r}");
            assert_eq!(out[p + len], -1.0, "gap after row {r}");
        }
    }
}
