//! `logsumexp`, `softmax` and `log_softmax` along a dimension, with their gradients.

use super::{keep_shape, move_last_back, norm_dims, reduced_last};
use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::kernels::softmax::softmax_row;
use crate::ops::dispatch::dispatch_float;
use crate::shape::wrap_dim;
use crate::tensor::Tensor;

impl Tensor {
    /// `log(sum(exp(x)))` over `dims`, computed stably (`torch.logsumexp`).
    pub fn logsumexp(&self, dims: &[isize], keepdim: bool) -> Tensor {
        let m = self.detach().amax_dims(dims);
        let m = m.masked_fill(&m.isfinite().logical_not(), 0.0);
        let s = (self - &m).exp().sum_dims(dims, true).log() + &m;
        if keepdim {
            s
        } else {
            let d = norm_dims(self, dims, "logsumexp");
            let shape: Vec<isize> = keep_shape(self, &d, false)
                .iter()
                .map(|&v| v as isize)
                .collect();
            s.reshape(&shape)
        }
    }

    fn amax_dims(&self, dims: &[isize]) -> Tensor {
        let d = norm_dims(self, dims, "amax");
        let mut m = self.clone();
        for &i in &d {
            m = m.max_dim(i as isize, true).0;
        }
        m
    }

    /// Softmax along `dim`, stable for large inputs (`torch.softmax`, `tf.nn.softmax`).
    pub fn softmax(&self, dim: isize) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "softmax");
        let out = softmax_kernel(self, d, false);
        if !should_record(&[self]) {
            return out;
        }
        let (sx, sy) = (Saved::new(self), Saved::output(&out));
        let traced = attach(out, "SoftmaxBackward0", &[self], move |g, _| {
            let y = if is_grad_enabled() {
                sx.get().softmax(d as isize)
            } else {
                sy.get().clone()
            };
            let gy = g * &y;
            vec![Some(&gy - &(&y * &gy.sum_dims(&[d as isize], true)))]
        });
        crate::autograd::trace::set_attrs(&traced, || {
            vec![("dim", crate::autograd::trace::Attr::Int(d as i64))]
        });
        traced
    }

    /// Log of the softmax along `dim`, computed stably (`torch.log_softmax`).
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "log_softmax");
        let out = softmax_kernel(self, d, true);
        if !should_record(&[self]) {
            return out;
        }
        let (sx, sy) = (Saved::new(self), Saved::output(&out));
        let traced = attach(out, "LogSoftmaxBackward0", &[self], move |g, _| {
            let y = if is_grad_enabled() {
                sx.get().log_softmax(d as isize)
            } else {
                sy.get().clone()
            };
            vec![Some(g - &(&y.exp() * &g.sum_dims(&[d as isize], true)))]
        });
        crate::autograd::trace::set_attrs(&traced, || {
            vec![("dim", crate::autograd::trace::Attr::Int(d as i64))]
        });
        traced
    }
}

fn softmax_kernel(x: &Tensor, d: usize, log: bool) -> Tensor {
    let (src, _, r) = reduced_last(x, &[d]);
    let outer = src.numel() / r.max(1);
    let out = dispatch_float!(x.dtype(), "softmax", T => src.with_slice::<T, _>(|s| {
        let mut out: Vec<T> = vec![T::default(); s.len()];
        let mut scratch: Vec<T> = vec![T::default(); r];
        for o in 0..outer {
            let row = &s[o * r..(o + 1) * r];
            let dst = &mut out[o * r..(o + 1) * r];
            softmax_row(row, dst, &mut scratch, log);
        }
        Tensor::from_vec(out, src.shape())
    }));
    move_last_back(out, d, x.ndim())
}

impl Tensor {
    /// The `k` largest (or, with `largest = false`, smallest) elements along `dim`, in order,
    /// and their int64 indices (`torch.topk`, `tf.math.top_k`). NaN counts as larger than any
    /// number, as in PyTorch; ties keep the lower index first. The values carry the gradient
    /// (to the positions they came from).
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let (v, i) = Tensor::from_vec(vec![1.0f32, 5.0, 3.0, 4.0], &[4]).topk(2, -1, true);
    /// assert_eq!(v.to_vec::<f32>(), [5.0, 4.0]);
    /// assert_eq!(i.to_vec::<i64>(), [1, 3]);
    /// ```
    pub fn topk(&self, k: usize, dim: isize, largest: bool) -> (Tensor, Tensor) {
        let d = if self.ndim() == 0 {
            0
        } else {
            wrap_dim(dim, self.ndim(), "topk")
        };
        let x = if self.ndim() == 0 {
            self.reshape(&[1])
        } else {
            self.clone()
        };
        let n = x.shape()[d];
        assert!(
            k <= n,
            "topk: selected index k ({k}) out of range for a dimension of size {n}"
        );
        let (src, kept, r) = reduced_last(&x, &[d]);
        let vals = src.to_vec::<f64>();
        let mut idx: Vec<i64> = Vec::with_capacity(kept.iter().product::<usize>() * k);
        let mut order: Vec<usize> = (0..r).collect();
        for row in vals.chunks(r.max(1)).take(src.numel() / r.max(1)) {
            order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
            let key = |i: usize| {
                let v = row[i];
                if v.is_nan() {
                    f64::INFINITY
                } else if largest {
                    v
                } else {
                    -v
                }
            };
            order.sort_by(|&a, &b| {
                let nan = |i: usize| row[i].is_nan();
                (nan(b), key(b))
                    .partial_cmp(&(nan(a), key(a)))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.cmp(&b))
            });
            idx.extend(order[..k].iter().map(|&i| i as i64));
        }
        let mut shape = kept.clone();
        shape.push(k);
        let indices = move_last_back(Tensor::from_vec(idx, &shape), d, x.ndim());
        let values = x.gather(d as isize, &indices);
        if self.ndim() == 0 {
            (values.reshape(&[]), indices.reshape(&[]))
        } else {
            (values, indices)
        }
    }
}
