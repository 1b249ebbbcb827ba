//! Sums, means, variances, standard deviations and products, with their gradients.

use super::{expand_back, keep_shape, norm_dims, reduced_last};
use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::{DType, Element};
use crate::kernels::reduce::{sum_cols_f32, sum_slice};
use crate::ops::dispatch::dispatch_all;
use crate::shape::{numel, Dims};
use crate::tensor::Tensor;

/// Row sums of a contiguous `[outer, r]` layout, in the accumulation type of `T`.
fn sum_rows<T: Element>(x: &Tensor, outer: usize, r: usize) -> Vec<f64> {
    x.with_slice::<T, _>(|s| {
        (0..outer)
            .map(|o| sum_slice(&s[o * r..(o + 1) * r]))
            .collect()
    })
}

impl Tensor {
    /// Sum of all elements (`torch.sum`, `tf.reduce_sum`); integers and bools sum to int64.
    pub fn sum(&self) -> Tensor {
        self.sum_dims(&[], false)
    }

    /// Sum over `dims` (all when empty), keeping them as size 1 when `keepdim`.
    pub fn sum_dims(&self, dims: &[isize], keepdim: bool) -> Tensor {
        let d = norm_dims(self, dims, "sum");
        let out = self.sum_kernel(&d, keepdim, 1.0);
        if !should_record(&[self]) {
            return out;
        }
        let in_shape: Dims = self.0.shape.clone();
        let name = if dims.is_empty() && !keepdim {
            "SumBackward0"
        } else {
            "SumBackward1"
        };
        attach(out, name, &[self], move |g, _| {
            smallvec::smallvec![Some(expand_back(g, &in_shape, &d, keepdim))]
        })
    }

    /// Sums over the normalized `dims`, divided by `divisor` (1 for a sum, the count for a
    /// mean); records nothing.
    fn sum_kernel(&self, d: &[usize], keepdim: bool, divisor: f64) -> Tensor {
        let out_shape = keep_shape(self, d, keepdim);
        let out_dtype = if self.dtype().is_float() {
            self.dtype()
        } else {
            DType::Int64
        };
        if d.len() == self.ndim() && self.is_contiguous() {
            let total = dispatch_all!(self.dtype(), T => self.with_slice::<T, _>(sum_slice));
            let v = std::iter::once(total / divisor);
            return Tensor::from_buffer(crate::tensor::buffer_from_f64(v, out_dtype), &out_shape);
        }
        let prefix = d.iter().enumerate().all(|(i, &v)| i == v);
        if self.dtype() == DType::Float32
            && prefix
            && self.is_contiguous()
            && !d.is_empty()
            && d.len() < self.ndim()
        {
            let r: usize = d.iter().map(|&i| self.shape()[i]).product();
            let inner: usize = self.shape()[d.len()..].iter().product();
            let mut sums = self.with_slice::<f32, _>(|s| sum_cols_f32(s, r, inner));
            if divisor != 1.0 {
                sums.iter_mut()
                    .for_each(|v| *v = (*v as f64 / divisor) as f32);
            }
            return Tensor::from_vec(sums, &out_shape);
        }
        let (x, kept, r) = reduced_last(self, d);
        let outer = numel(&kept);
        let sums = dispatch_all!(self.dtype(), T => sum_rows::<T>(&x, outer, r));
        let v = sums.into_iter().map(|v| v / divisor);
        Tensor::from_buffer(crate::tensor::buffer_from_f64(v, out_dtype), &out_shape)
    }

    /// Mean of all elements (`torch.mean`, `tf.reduce_mean`).
    pub fn mean(&self) -> Tensor {
        self.mean_dims(&[], false)
    }

    /// Mean over `dims` (all when empty).
    pub fn mean_dims(&self, dims: &[isize], keepdim: bool) -> Tensor {
        assert!(
            self.dtype().is_float(),
            "mean(): could not infer output dtype. Input dtype must be floating point, got {}",
            self.dtype()
        );
        let d = norm_dims(self, dims, "mean");
        let count: usize = d.iter().map(|&i| self.shape()[i]).product();
        let out = self.sum_kernel(&d, keepdim, count as f64);
        if !should_record(&[self]) {
            return out;
        }
        let in_shape: Dims = self.0.shape.clone();
        let name = if dims.is_empty() && !keepdim {
            "MeanBackward0"
        } else {
            "MeanBackward1"
        };
        attach(out, name, &[self], move |g, _| {
            let full = d.len() == in_shape.len();
            if full && !is_grad_enabled() && numel(&in_shape) <= 1 << 16 {
                // A small full reduction: a contiguous gradient is cheaper downstream than a
                // stride-0 view.
                let v = g.item::<f64>() / count as f64;
                return smallvec::smallvec![Some(crate::ops::create::full(
                    &in_shape,
                    v,
                    g.dtype()
                ))];
            }
            smallvec::smallvec![Some(expand_back(
                &(g / count as f64),
                &in_shape,
                &d,
                keepdim,
            ))]
        })
    }

    /// Variance over `dims` with `correction` (1: unbiased, PyTorch's default; 0: TensorFlow's
    /// `reduce_variance`).
    pub fn var_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Tensor {
        let d = norm_dims(self, dims, "var");
        let count: usize = d.iter().map(|&i| self.shape()[i]).product();
        let centered = self - &self.mean_dims(dims, true);
        centered.square().sum_dims(dims, keepdim) / (count as f64 - correction as f64).max(0.0)
    }

    /// Unbiased variance of all elements (`torch.var`).
    pub fn var(&self) -> Tensor {
        self.var_dims(&[], 1, false)
    }

    /// Standard deviation over `dims` with `correction`.
    pub fn std_dims(&self, dims: &[isize], correction: usize, keepdim: bool) -> Tensor {
        self.var_dims(dims, correction, keepdim).sqrt()
    }

    /// Unbiased standard deviation of all elements (`torch.std`).
    pub fn std(&self) -> Tensor {
        self.std_dims(&[], 1, false)
    }

    /// Product of all elements (`torch.prod`).
    pub fn prod(&self) -> Tensor {
        self.prod_dims(&[], false)
    }

    /// Product over `dims`.
    pub fn prod_dims(&self, dims: &[isize], keepdim: bool) -> Tensor {
        let d = norm_dims(self, dims, "prod");
        let out_shape = keep_shape(self, &d, keepdim);
        let (x, kept, r) = reduced_last(self, &d);
        let outer = numel(&kept);
        let out_dtype = if self.dtype().is_float() {
            self.dtype()
        } else {
            DType::Int64
        };
        let vals: Vec<f64> = dispatch_all!(self.dtype(), T => x.with_slice::<T, _>(|s| {
            (0..outer).map(|o| s[o * r..(o + 1) * r].iter().map(|v| v.to_f64()).product()).collect()
        }));
        let out = Tensor::from_buffer(
            crate::tensor::buffer_from_f64(vals.into_iter(), out_dtype),
            &out_shape,
        );
        if !should_record(&[self]) {
            return out;
        }
        let (sx, in_shape) = (Saved::new(self), self.shape().to_vec());
        let sy = Saved::output(&out);
        attach(out, "ProdBackward1", &[self], move |g, _| {
            // d(prod)/dx_i = prod / x_i (inputs without zeros).
            let x = sx.get();
            let y = if is_grad_enabled() {
                x.prod_dims(&d.iter().map(|&v| v as isize).collect::<Vec<_>>(), keepdim)
            } else {
                sy.get().clone()
            };
            let gy = expand_back(&(g * &y), &in_shape, &d, keepdim);
            smallvec::smallvec![Some(&gy / x)]
        })
    }
}
