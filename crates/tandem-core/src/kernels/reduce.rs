//! Sums over rows and columns of contiguous slices.

use super::elementwise::as_f32;
use super::math::sum_f32;
use crate::dtype::Element;

/// The sum of a slice in float64: float32 through the vectorized, pool-split sum; other
/// dtypes element by element.
pub(crate) fn sum_slice<T: Element>(s: &[T]) -> f64 {
    match as_f32(s) {
        Some(f) => sum_f32(f),
        None => s.iter().map(|v| v.to_f64()).sum(),
    }
}

/// Column sums of a contiguous `[r, inner]` float32 layout (a reduction over leading dims).
pub(crate) fn sum_cols_f32(s: &[f32], r: usize, inner: usize) -> Vec<f32> {
    let mut acc = vec![0.0f32; inner];
    for row in s.chunks_exact(inner.max(1)).take(r) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += v;
        }
    }
    acc
}
