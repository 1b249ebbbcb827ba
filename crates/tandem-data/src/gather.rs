//! Copying rows of a tensor by index: the one-pass collate behind the DataLoader's fast path.

use tandem_core::{DType, Element, Tensor};

/// The rows of `t` (slices along dim 0) at `indices`, as a new contiguous tensor of shape
/// `[indices.len(), t.shape()[1..]...]`. One copy per row, straight from the storage.
///
/// Panics when an index is out of range (callers validate indices first).
pub(crate) fn gather_rows(t: &Tensor, indices: &[usize]) -> Tensor {
    assert!(
        t.ndim() >= 1,
        "gather_rows: a 0-dimensional tensor has no rows"
    );
    let mut shape = t.shape().to_vec();
    let rows = shape[0];
    let row_len = shape[1..].iter().product::<usize>();
    shape[0] = indices.len();
    if let Some(&bad) = indices.iter().find(|&&i| i >= rows) {
        panic!("gather_rows: index {bad} is out of bounds for {rows} rows");
    }
    match t.dtype() {
        DType::Float32 => typed::<f32>(t, indices, row_len, &shape),
        DType::Float64 => typed::<f64>(t, indices, row_len, &shape),
        DType::Int64 => typed::<i64>(t, indices, row_len, &shape),
        DType::Int32 => typed::<i32>(t, indices, row_len, &shape),
        DType::UInt8 => typed::<u8>(t, indices, row_len, &shape),
        DType::Bool => typed::<bool>(t, indices, row_len, &shape),
    }
}

fn typed<T: Element>(t: &Tensor, indices: &[usize], row_len: usize, shape: &[usize]) -> Tensor {
    t.with_slice::<T, _>(|s| {
        let mut out = Vec::with_capacity(indices.len() * row_len);
        for &i in indices {
            out.extend_from_slice(&s[i * row_len..(i + 1) * row_len]);
        }
        Tensor::from_vec(out, shape)
    })
}
