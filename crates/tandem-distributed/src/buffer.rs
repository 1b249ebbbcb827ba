//! Flat typed buffers: what travels between ranks.

use crate::error::DistError;
use tandem_core::{DType, Tensor};

/// The elements of a tensor (or of several, end to end) in one of the dtypes collectives
/// carry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Buf {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    I32(Vec<i32>),
}

/// Runs `$body` with `$v` bound to the buffer's `Vec<T>`, whatever `T` is.
macro_rules! with_buf {
    ($buf:expr, $v:ident => $body:expr) => {
        match $buf {
            $crate::buffer::Buf::F32($v) => $body,
            $crate::buffer::Buf::F64($v) => $body,
            $crate::buffer::Buf::I64($v) => $body,
            $crate::buffer::Buf::I32($v) => $body,
        }
    };
}
#[cfg(feature = "mpi")]
pub(crate) use with_buf;

impl Buf {
    /// A zeroed buffer of `len` elements of `dtype`.
    pub(crate) fn zeros(dtype: DType, len: usize) -> Option<Buf> {
        Some(match dtype {
            DType::Float32 => Buf::F32(vec![0.0; len]),
            DType::Float64 => Buf::F64(vec![0.0; len]),
            DType::Int64 => Buf::I64(vec![0; len]),
            DType::Int32 => Buf::I32(vec![0; len]),
            _ => return None,
        })
    }

    /// A zeroed buffer of this one's dtype and length.
    pub(crate) fn zeroed(&self) -> Buf {
        match self {
            Buf::F32(v) => Buf::F32(vec![0.0; v.len()]),
            Buf::F64(v) => Buf::F64(vec![0.0; v.len()]),
            Buf::I64(v) => Buf::I64(vec![0; v.len()]),
            Buf::I32(v) => Buf::I32(vec![0; v.len()]),
        }
    }

    /// Sets `self[start..start + len]` to zero.
    pub(crate) fn zero_range(&mut self, start: usize, len: usize) {
        with_buf!(self, v => v[start..start + len].fill(Default::default()))
    }

    /// A copy of `t`'s elements; an error for dtypes MPI is not given here.
    pub(crate) fn from_tensor(t: &Tensor, rank: usize, op: &'static str) -> Result<Buf, DistError> {
        Ok(match t.dtype() {
            DType::Float32 => Buf::F32(t.to_vec()),
            DType::Float64 => Buf::F64(t.to_vec()),
            DType::Int64 => Buf::I64(t.to_vec()),
            DType::Int32 => Buf::I32(t.to_vec()),
            other => {
                return Err(DistError::Invalid {
                    rank,
                    op,
                    reason: format!(
                        "dtype {other} is not supported (float32, float64, int64, int32 are)"
                    ),
                })
            }
        })
    }

    #[cfg(feature = "mpi")]
    pub(crate) fn len(&self) -> usize {
        with_buf!(self, v => v.len())
    }

    /// Writes the buffer into `t` in place (same dtype, contiguous, same number of elements).
    pub(crate) fn write_into(&self, t: &Tensor) {
        with_buf!(self, v => write_slice(t, v))
    }

    /// Copies `t`'s elements, multiplied by `scale`, into `self[start..]` (floats; integers
    /// are copied as they are).
    pub(crate) fn read_range_from(&mut self, start: usize, t: &Tensor, scale: f64) {
        let len = t.numel();
        let t = t.contiguous();
        match self {
            Buf::F32(v) if scale != 1.0 => t.with_slice(|s: &[f32]| {
                for (d, x) in v[start..start + len].iter_mut().zip(s) {
                    *d = x * scale as f32;
                }
            }),
            Buf::F64(v) if scale != 1.0 => t.with_slice(|s: &[f64]| {
                for (d, x) in v[start..start + len].iter_mut().zip(s) {
                    *d = x * scale;
                }
            }),
            _ => with_buf!(self, v => t.with_slice(|s| v[start..start + len].copy_from_slice(s))),
        }
    }

    /// The buffer as a 1-D tensor, without copying.
    pub(crate) fn into_tensor(self) -> Tensor {
        with_buf!(self, v => {
            let n = v.len();
            Tensor::from_vec(v, &[n])
        })
    }

    /// A tensor of `shape` holding `self[start..start + numel]`.
    pub(crate) fn tensor_from_range(&self, start: usize, shape: &[usize]) -> Tensor {
        let len: usize = shape.iter().product();
        with_buf!(self, v => Tensor::from_vec(v[start..start + len].to_vec(), shape))
    }

    /// Divides every element by `n` (floats only; integers are left alone).
    pub(crate) fn divide(&mut self, n: f64) {
        match self {
            Buf::F32(v) => v.iter_mut().for_each(|x| *x /= n as f32),
            Buf::F64(v) => v.iter_mut().for_each(|x| *x /= n),
            Buf::I64(_) | Buf::I32(_) => {}
        }
    }
}

fn write_slice<T: tandem_core::Element>(t: &Tensor, src: &[T]) {
    if t.is_contiguous() {
        t.update_slice::<T, _>(|dst| dst.copy_from_slice(src));
    } else {
        t.copy_(&Tensor::from_vec(src.to_vec(), t.shape()));
    }
}
