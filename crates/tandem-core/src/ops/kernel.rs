//! Shared machinery of the CPU kernels: output allocation, parallel splitting, dtype dispatch.

use crate::dtype::{DType, Element};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Below this many elements a kernel runs on the calling thread; above it rayon splits it.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// Allocates `n` elements and lets `fill(start, chunk)` write every one of them, in parallel
/// chunks for large `n`. `fill` must write each element of `chunk`.
pub(crate) fn alloc_fill<U: Element>(
    n: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync,
) -> Vec<U> {
    let mut out: Vec<U> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PAR_MIN && rayon::current_num_threads() > 1 {
        let chunk = n.div_ceil(rayon::current_num_threads() * 4).max(PAR_MIN / 4);
        spare
            .par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| fill(i * chunk, c));
    } else {
        fill(0, spare);
    }
    // SAFETY: `fill` wrote all `n` elements (every chunk is fully written by contract).
    unsafe { out.set_len(n) };
    out
}

/// Elementwise map of a contiguous slice into a new vector.
#[inline]
pub(crate) fn map_slice<T: Element, U: Element>(src: &[T], f: impl Fn(T) -> U + Sync) -> Vec<U> {
    alloc_fill(src.len(), |start, dst| {
        let s = &src[start..start + dst.len()];
        for (d, &x) in dst.iter_mut().zip(s) {
            d.write(f(x));
        }
    })
}

/// Elementwise map of two equally long contiguous slices.
#[inline]
pub(crate) fn zip_slices<T: Element, U: Element>(
    a: &[T],
    b: &[T],
    f: impl Fn(T, T) -> U + Sync,
) -> Vec<U> {
    alloc_fill(a.len(), |start, dst| {
        let n = dst.len();
        let (a, b) = (&a[start..start + n], &b[start..start + n]);
        for i in 0..n {
            dst[i].write(f(a[i], b[i]));
        }
    })
}

/// Runs `$body` with `$T` bound to the Rust type of `$dt` (all dtypes).
macro_rules! dispatch_all {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => { type $T = f32; $body }
            $crate::DType::Float64 => { type $T = f64; $body }
            $crate::DType::Int64 => { type $T = i64; $body }
            $crate::DType::Int32 => { type $T = i32; $body }
            $crate::DType::UInt8 => { type $T = u8; $body }
            $crate::DType::Bool => { type $T = bool; $body }
        }
    };
}
/// Runs `$body` with `$T` bound to the Rust type of `$dt` (numeric dtypes; panics on bool).
macro_rules! dispatch_num {
    ($dt:expr, $op:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => { type $T = f32; $body }
            $crate::DType::Float64 => { type $T = f64; $body }
            $crate::DType::Int64 => { type $T = i64; $body }
            $crate::DType::Int32 => { type $T = i32; $body }
            $crate::DType::UInt8 => { type $T = u8; $body }
            $crate::DType::Bool => panic!("{}: not implemented for 'Bool' tensors", $op),
        }
    };
}
/// Runs `$body` with `$T` bound to the Rust type of `$dt` (float dtypes; panics otherwise).
macro_rules! dispatch_float {
    ($dt:expr, $op:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => { type $T = f32; $body }
            $crate::DType::Float64 => { type $T = f64; $body }
            other => panic!("{}: expected a floating point tensor, got {}", $op, other),
        }
    };
}
pub(crate) use {dispatch_all, dispatch_float, dispatch_num};

/// The float type an integer operand of a float-only op is promoted to.
pub(crate) fn float_of(dt: DType) -> DType {
    if dt.is_float() {
        dt
    } else {
        DType::Float32
    }
}

/// The slice as `&[f32]` when `T` is `f32`.
#[inline]
pub(crate) fn as_f32<T: Element>(s: &[T]) -> Option<&[f32]> {
    (T::DTYPE == DType::Float32).then(|| {
        // SAFETY: T is f32 (the dtype tag is unique per type), so the layouts are identical.
        unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) }
    })
}

/// The slice as `&mut [f32]` when `T` is `f32`.
#[inline]
pub(crate) fn as_f32_mut<T: Element>(s: &mut [T]) -> Option<&mut [f32]> {
    (T::DTYPE == DType::Float32).then(|| {
        // SAFETY: as in `as_f32`.
        unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f32, s.len()) }
    })
}
