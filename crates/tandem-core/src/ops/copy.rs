//! Materializing strided views and converting dtypes.

use super::dispatch::dispatch_all;
use crate::autograd::attach;
use crate::dtype::{Buffer, DType, Element};
use crate::shape::walk_rows;
use crate::tensor::Tensor;

/// Copies the elements of `t` (any layout) into a new contiguous vector of its own type; long
/// copies of contiguous rows (heads moved back beside each other, say) run over the pool.
pub(crate) fn gather_strided<T: Element>(t: &Tensor) -> Vec<T> {
    let guard = t.0.storage.data.read_recursive();
    let src = T::slice(&guard).expect("dtype matches storage");
    let (n, nd) = (t.numel(), t.ndim());
    let threads = crate::kernels::parallel::num_threads();
    if nd > 0 && t.strides()[nd - 1] == 1 && n >= crate::kernels::PAR_MIN && threads > 1 {
        return gather_rows(t, src);
    }
    let mut out: Vec<T> = crate::storage::result_vec(n);
    walk_rows(t.shape(), t.strides(), t.storage_offset(), |p, n, s| {
        if s == 1 {
            out.extend_from_slice(&src[p..p + n]);
        } else {
            out.extend((0..n).map(|i| src[p + i * s]));
        }
    });
    out
}

/// [`gather_strided`] for a long `t` whose rows (last dimension) are contiguous.
fn gather_rows<T: Element>(t: &Tensor, src: &[T]) -> Vec<T> {
    let row = t.shape()[t.ndim() - 1];
    let mut starts = Vec::with_capacity(t.numel() / row);
    walk_rows(t.shape(), t.strides(), t.storage_offset(), |p, _, _| {
        starts.push(p)
    });
    crate::kernels::elementwise::gather_rows(src, &starts, row)
}

fn cast_vec<T: Element, U: Element>(src: &[T]) -> Vec<U> {
    crate::kernels::elementwise::map_slice(src, |x| U::from_f64(x.to_f64()))
}

impl Tensor {
    /// A new contiguous tensor with the same values (PyTorch's `clone()`; differentiable).
    pub fn contiguous_copy(&self) -> Tensor {
        let out = dispatch_all!(self.dtype(), T => Tensor::from_vec(gather_strided::<T>(self), self.shape()));
        if crate::autograd::should_record(&[self]) {
            attach(out, "CloneBackward0", &[self], |g, _| vec![Some(g.clone())])
        } else {
            out
        }
    }

    /// Converts the elements to `dtype` (`tensor.to(dtype)`, `tf.cast`). Float-to-int truncates
    /// toward zero, as PyTorch does. Returns `self` when the dtype already matches.
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        if self.dtype() == dtype {
            return self.clone();
        }
        let src = self.contiguous();
        let buf: Buffer = dispatch_all!(self.dtype(), T => {
            src.with_slice::<T, _>(|s| match dtype {
                DType::Float32 => Buffer::F32(cast_vec(s)),
                DType::Float64 => Buffer::F64(cast_vec(s)),
                DType::Int64 => Buffer::I64(cast_vec(s)),
                DType::Int32 => Buffer::I32(cast_vec(s)),
                DType::UInt8 => Buffer::U8(cast_vec(s)),
                DType::Bool => Buffer::Bool(cast_vec(s)),
            })
        });
        let out = Tensor::from_buffer(buf, self.shape());
        if dtype.is_float() && self.dtype().is_float() && crate::autograd::should_record(&[self]) {
            let from = self.dtype();
            attach(out, "ToCopyBackward0", &[self], move |g, _| {
                vec![Some(g.to_dtype(from))]
            })
        } else {
            out
        }
    }

    /// Shorthand for `to_dtype(Float32)` (`tensor.float()`).
    pub fn float(&self) -> Tensor {
        self.to_dtype(DType::Float32)
    }

    /// Shorthand for `to_dtype(Float64)` (`tensor.double()`).
    pub fn double(&self) -> Tensor {
        self.to_dtype(DType::Float64)
    }

    /// Shorthand for `to_dtype(Int64)` (`tensor.long()`).
    pub fn long(&self) -> Tensor {
        self.to_dtype(DType::Int64)
    }
}
