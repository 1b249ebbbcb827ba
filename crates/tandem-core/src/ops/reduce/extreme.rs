//! Largest and smallest elements, their indices, and `all` / `any`.

use super::{keep_shape, reduced_last};
use crate::autograd::{attach, should_record, Saved};
use crate::ops::dispatch::dispatch_all;
use crate::shape::{numel, wrap_dim};
use crate::tensor::Tensor;

impl Tensor {
    fn extreme_all(&self, is_max: bool) -> Tensor {
        assert!(
            self.numel() > 0,
            "max(): Expected reduction dim to be specified for input.numel() == 0"
        );
        let out = dispatch_all!(self.dtype(), T => {
            let v = self.with_slice::<T, _>(|s| {
                let mut best = s[0];
                for &x in s {
                    if x != x { best = x; break; }
                    if (is_max && x > best) || (!is_max && x < best) { best = x; }
                }
                best
            });
            Tensor::scalar(v)
        });
        if !should_record(&[self]) {
            return out;
        }
        let (sx, sy) = (Saved::new(self), Saved::output(&out));
        attach(
            out,
            if is_max {
                "MaxBackward1"
            } else {
                "MinBackward1"
            },
            &[self],
            move |g, _| {
                // Evenly distributed among ties, as PyTorch does.
                let mask = sx.get().detach().eq(sy.get()).to_dtype(g.dtype());
                let count = mask.sum();
                vec![Some(&(g * &mask) / &count)]
            },
        )
    }

    /// Largest element (`torch.max(x)`, `tf.reduce_max`).
    pub fn max(&self) -> Tensor {
        self.extreme_all(true)
    }

    /// Smallest element (`torch.min(x)`, `tf.reduce_min`).
    pub fn min(&self) -> Tensor {
        self.extreme_all(false)
    }

    fn extreme_dim(&self, dim: isize, keepdim: bool, is_max: bool) -> (Tensor, Tensor) {
        let d = wrap_dim(dim, self.ndim(), "max");
        let (x, kept, r) = reduced_last(self, &[d]);
        let outer = numel(&kept);
        let out_shape = keep_shape(self, &[d], keepdim);
        let (values, indices) = dispatch_all!(self.dtype(), T => x.with_slice::<T, _>(|s| {
            let mut vals: Vec<T> = Vec::with_capacity(outer);
            let mut idx: Vec<i64> = Vec::with_capacity(outer);
            for o in 0..outer {
                let row = &s[o * r..(o + 1) * r];
                let (mut bi, mut bv) = (0usize, row[0]);
                for (i, &v) in row.iter().enumerate() {
                    if bv != bv { break; }
                    if v != v || (is_max && v > bv) || (!is_max && v < bv) { bi = i; bv = v; }
                }
                vals.push(bv);
                idx.push(bi as i64);
            }
            (Tensor::from_vec(vals, &out_shape), Tensor::from_vec(idx, &out_shape))
        }));
        if !should_record(&[self]) {
            return (values, indices);
        }
        let in_shape = self.shape().to_vec();
        let idx = indices.clone();
        let values = attach(
            values,
            if is_max {
                "MaxBackward0"
            } else {
                "MinBackward0"
            },
            &[self],
            move |g, _| {
                let (g, i) = if keepdim {
                    (g.clone(), idx.clone())
                } else {
                    (g.unsqueeze(d as isize), idx.unsqueeze(d as isize))
                };
                let z = crate::ops::create::zeros(&in_shape, g.dtype());
                vec![Some(z.scatter_add(d as isize, &i, &g))]
            },
        );
        (values, indices)
    }

    /// Largest values along `dim` and their indices (`torch.max(x, dim)`); the first index wins
    /// ties.
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        self.extreme_dim(dim, keepdim, true)
    }

    /// Smallest values along `dim` and their indices (`torch.min(x, dim)`).
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> (Tensor, Tensor) {
        self.extreme_dim(dim, keepdim, false)
    }

    /// Largest values along `dim` (`torch.amax`, `tf.reduce_max(x, axis)`).
    pub fn amax(&self, dim: isize, keepdim: bool) -> Tensor {
        self.max_dim(dim, keepdim).0
    }

    /// Smallest values along `dim` (`torch.amin`, `tf.reduce_min(x, axis)`).
    pub fn amin(&self, dim: isize, keepdim: bool) -> Tensor {
        self.min_dim(dim, keepdim).0
    }

    /// Index of the largest element along `dim`, or of the flattened tensor (`argmax`).
    pub fn argmax(&self, dim: Option<isize>, keepdim: bool) -> Tensor {
        match dim {
            Some(d) => self.detach().max_dim(d, keepdim).1,
            None => {
                let i = self.detach().reshape(&[-1]).max_dim(0, false).1;
                if keepdim {
                    i.reshape(&vec![1; self.ndim()])
                } else {
                    i
                }
            }
        }
    }

    /// Index of the smallest element along `dim`, or of the flattened tensor (`argmin`).
    pub fn argmin(&self, dim: Option<isize>, keepdim: bool) -> Tensor {
        match dim {
            Some(d) => self.detach().min_dim(d, keepdim).1,
            None => {
                let i = self.detach().reshape(&[-1]).min_dim(0, false).1;
                if keepdim {
                    i.reshape(&vec![1; self.ndim()])
                } else {
                    i
                }
            }
        }
    }

    /// Whether every element is non-zero (`torch.all`, `tf.reduce_all`).
    pub fn all(&self) -> bool {
        self.ne(0).to_vec::<bool>().iter().all(|&b| b)
    }

    /// Whether any element is non-zero (`torch.any`, `tf.reduce_any`).
    pub fn any(&self) -> bool {
        self.ne(0).to_vec::<bool>().iter().any(|&b| b)
    }
}
