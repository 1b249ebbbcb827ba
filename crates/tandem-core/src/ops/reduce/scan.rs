//! Running sums and products (`cumsum`, `cumprod`), with their gradients.

use super::{move_last_back, reduced_last};
use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::DType;
use crate::kernels::scan::{scan_row_generic, scan_rows_f32};
use crate::ops::dispatch::dispatch_float;
use crate::shape::wrap_dim;
use crate::tensor::Tensor;

impl Tensor {
    /// Running sum along `dim` (`torch.cumsum`, `tf.math.cumsum`).
    pub fn cumsum(&self, dim: isize) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "cumsum");
        let out = scan(self, d, false);
        if !should_record(&[self]) {
            return out;
        }
        attach(out, "CumsumBackward0", &[self], move |g, _| {
            // reversed cumulative sum: total - cumsum(g) + g
            let di = d as isize;
            vec![Some(&(&g.sum_dims(&[di], true) - &g.cumsum(di)) + g)]
        })
    }

    /// Running product along `dim` (`torch.cumprod`, `tf.math.cumprod`).
    pub fn cumprod(&self, dim: isize) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "cumprod");
        let out = scan(self, d, true);
        if !should_record(&[self]) {
            return out;
        }
        let (sx, sy) = (Saved::new(self), Saved::output(&out));
        attach(out, "CumprodBackward0", &[self], move |g, _| {
            // d/dx_i sum_j g_j y_j = (sum_{j>=i} g_j y_j) / x_i  (inputs without zeros)
            let di = d as isize;
            let x = sx.get();
            let y = if is_grad_enabled() {
                x.cumprod(di)
            } else {
                sy.get().clone()
            };
            let gy = g * &y;
            let rev = &(&gy.sum_dims(&[di], true) - &gy.cumsum(di)) + &gy;
            vec![Some(&rev / x)]
        })
    }
}

fn scan(x: &Tensor, d: usize, product: bool) -> Tensor {
    let (src, r) = if d + 1 == x.ndim() && x.is_contiguous() {
        (x.clone(), x.shape()[d])
    } else {
        let (src, _, r) = reduced_last(x, &[d]);
        (src, r)
    };
    let outer = src.numel() / r.max(1);
    let fast = if x.dtype() == DType::Float32 {
        src.with_slice::<f32, _>(|s| scan_rows_f32(s, r, product))
            .map(|out| Tensor::from_vec(out, src.shape()))
    } else {
        None
    };
    let y = if let Some(y) = fast {
        y
    } else if x.dtype().is_float() {
        dispatch_float!(x.dtype(), "scan", T => src.with_slice::<T, _>(|s| {
            let mut out = vec![T::default(); s.len()];
            for o in 0..outer {
                let (src, dst) = (&s[o * r..(o + 1) * r], &mut out[o * r..(o + 1) * r]);
                if product {
                    scan_row_generic::<T, true>(src, dst)
                } else {
                    scan_row_generic::<T, false>(src, dst)
                }
            }
            Tensor::from_vec(out, src.shape())
        }))
    } else {
        let v = src.to_vec::<i64>();
        let mut out = vec![0i64; v.len()];
        for o in 0..outer {
            let mut acc = if product { 1i64 } else { 0 };
            for j in o * r..(o + 1) * r {
                acc = if product {
                    acc.wrapping_mul(v[j])
                } else {
                    acc.wrapping_add(v[j])
                };
                out[j] = acc;
            }
        }
        Tensor::from_vec(out, src.shape())
    };
    move_last_back(y, d, x.ndim())
}
