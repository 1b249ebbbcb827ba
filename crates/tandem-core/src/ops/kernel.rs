//! Shared machinery of the CPU kernels: output allocation, parallel splitting, dtype dispatch.

use crate::dtype::{DType, Element};
use std::mem::MaybeUninit;

/// Below this many elements a kernel runs on the calling thread; above it the pool splits it.
pub(crate) const PAR_MIN: usize = 1 << 15;

/// Allocates `n` elements and lets `fill(start, chunk)` write every one of them, in parallel
/// chunks for large `n`. `fill` must write each element of `chunk`.
pub(crate) fn alloc_fill<U: Element>(
    n: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync,
) -> Vec<U> {
    let mut out: Vec<U> = crate::storage::result_vec(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    let threads = crate::parallel::num_threads();
    if n >= PAR_MIN && threads > 1 {
        // Four parts per thread, in whole cache lines: a helper that starts late takes fewer.
        let chunk = n.div_ceil(threads * 4).next_multiple_of(64);
        crate::parallel::for_each_chunk_mut(spare, chunk, |i, c| fill(i * chunk, c));
    } else {
        fill(0, spare);
    }
    // SAFETY: `fill` wrote all `n` elements (every chunk is fully written by contract).
    unsafe { out.set_len(n) };
    out
}

#[inline(always)]
fn map_body<T: Copy, U, F: Fn(T) -> U>(src: &[T], dst: &mut [MaybeUninit<U>], f: &F) {
    for (d, &x) in dst.iter_mut().zip(src) {
        d.write(f(x));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn map_avx2<T: Copy, U, F: Fn(T) -> U>(src: &[T], dst: &mut [MaybeUninit<U>], f: &F) {
    map_body(src, dst, f)
}

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

/// Whether the AVX-512 builds of the loops can run here (checked once, then cached).
#[inline]
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the AVX2+FMA builds of the loops can run here (checked once, then cached).
#[inline]
pub(crate) fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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
    alloc_fill(src.len(), |start, dst| {
        map_into(&src[start..start + dst.len()], dst, &f)
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
    })
}

/// Runs `$body` with `$T` bound to the Rust type of `$dt` (all dtypes).
macro_rules! dispatch_all {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                type $T = f64;
                $body
            }
            $crate::DType::Int64 => {
                type $T = i64;
                $body
            }
            $crate::DType::Int32 => {
                type $T = i32;
                $body
            }
            $crate::DType::UInt8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}
/// Runs `$body` with `$T` bound to the Rust type of `$dt` (numeric dtypes; panics on bool).
macro_rules! dispatch_num {
    ($dt:expr, $op:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                type $T = f64;
                $body
            }
            $crate::DType::Int64 => {
                type $T = i64;
                $body
            }
            $crate::DType::Int32 => {
                type $T = i32;
                $body
            }
            $crate::DType::UInt8 => {
                type $T = u8;
                $body
            }
            $crate::DType::Bool => panic!("{}: not implemented for 'Bool' tensors", $op),
        }
    };
}
/// Runs `$body` with `$T` bound to the Rust type of `$dt` (float dtypes; panics otherwise).
macro_rules! dispatch_float {
    ($dt:expr, $op:expr, $T:ident => $body:expr) => {
        match $dt {
            $crate::DType::Float32 => {
                type $T = f32;
                $body
            }
            $crate::DType::Float64 => {
                type $T = f64;
                $body
            }
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
