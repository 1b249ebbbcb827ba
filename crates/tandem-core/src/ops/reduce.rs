//! Reductions (sum, mean, max, prod, var, logsumexp, all/any), scans (cumsum, cumprod) and the
//! numerically stable softmax family.

use super::kernel::{dispatch_all, dispatch_float};
use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::{DType, Element};
use crate::shape::{numel, wrap_dim, Dims};
use crate::simd;
use crate::tensor::Tensor;

/// `x` with the `dims` moved last and made contiguous; returns it with the kept shape and the
/// number of reduced elements per output element.
fn reduced_last(x: &Tensor, dims: &[usize]) -> (Tensor, Vec<usize>, usize) {
    let nd = x.ndim();
    let kept: Vec<usize> = (0..nd).filter(|d| !dims.contains(d)).collect();
    let mut perm: Vec<isize> = kept.iter().map(|&d| d as isize).collect();
    perm.extend(dims.iter().map(|&d| d as isize));
    let p = if perm.iter().enumerate().all(|(i, &d)| i as isize == d) {
        x.detach()
    } else {
        x.detach().permute(&perm)
    };
    let kept_shape: Vec<usize> = kept.iter().map(|&d| x.shape()[d]).collect();
    let r: usize = dims.iter().map(|&d| x.shape()[d]).product();
    (p.contiguous(), kept_shape, r)
}

fn norm_dims(x: &Tensor, dims: &[isize], op: &str) -> Dims {
    let mut d: Dims = if dims.is_empty() {
        (0..x.ndim()).collect()
    } else {
        dims.iter().map(|&d| wrap_dim(d, x.ndim(), op)).collect()
    };
    d.sort_unstable();
    d.dedup();
    d
}

fn keep_shape(x: &Tensor, dims: &[usize], keepdim: bool) -> Dims {
    (0..x.ndim())
        .filter_map(|i| {
            if dims.contains(&i) {
                keepdim.then_some(1)
            } else {
                Some(x.shape()[i])
            }
        })
        .collect()
}

/// Row sums of a contiguous `[outer, r]` layout, in the accumulation type of `T`.
fn sum_rows<T: Element>(x: &Tensor, outer: usize, r: usize) -> Vec<f64> {
    x.with_slice::<T, _>(|s| {
        (0..outer)
            .map(|o| {
                let row = &s[o * r..(o + 1) * r];
                if let Some(f) = super::kernel::as_f32(row) {
                    simd::sum_f32(f)
                } else {
                    row.iter().map(|v| v.to_f64()).sum()
                }
            })
            .collect()
    })
}

/// Column sums of a contiguous `[r, inner]` layout (a reduction over leading dims).
fn sum_cols_f32(x: &Tensor, r: usize, inner: usize) -> Vec<f32> {
    x.with_slice::<f32, _>(|s| {
        let mut acc = vec![0.0f32; inner];
        for row in s.chunks_exact(inner).take(r) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v;
            }
        }
        acc
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
            vec![Some(expand_back(g, &in_shape, &d, keepdim))]
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
            let total = dispatch_all!(self.dtype(), T => self.with_slice::<T, _>(|s| {
                match super::kernel::as_f32(s) {
                    Some(f) => simd::sum_f32(f),
                    None => s.iter().map(|v| v.to_f64()).sum(),
                }
            }));
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
            let mut sums = sum_cols_f32(self, r, self.numel() / r.max(1));
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
                let v = g.to_vec::<f64>()[0] / count as f64;
                return vec![Some(crate::ops::create::full(&in_shape, v, g.dtype()))];
            }
            vec![Some(expand_back(
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
            vec![Some(&gy / x)]
        })
    }

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
        attach(out, "SoftmaxBackward0", &[self], move |g, _| {
            let y = if is_grad_enabled() {
                sx.get().softmax(d as isize)
            } else {
                sy.get().clone()
            };
            let gy = g * &y;
            vec![Some(&gy - &(&y * &gy.sum_dims(&[d as isize], true)))]
        })
    }

    /// Log of the softmax along `dim`, computed stably (`torch.log_softmax`).
    pub fn log_softmax(&self, dim: isize) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "log_softmax");
        let out = softmax_kernel(self, d, true);
        if !should_record(&[self]) {
            return out;
        }
        let (sx, sy) = (Saved::new(self), Saved::output(&out));
        attach(out, "LogSoftmaxBackward0", &[self], move |g, _| {
            let y = if is_grad_enabled() {
                sx.get().log_softmax(d as isize)
            } else {
                sy.get().clone()
            };
            vec![Some(g - &(&y.exp() * &g.sum_dims(&[d as isize], true)))]
        })
    }

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

/// Gradient of a reduction over `dims`, broadcast back to the input shape.
fn expand_back(g: &Tensor, in_shape: &[usize], dims: &[usize], keepdim: bool) -> Tensor {
    let mut g = g.clone();
    if !keepdim {
        for &d in dims {
            g = g.unsqueeze(d as isize);
        }
    }
    g.broadcast_to(in_shape)
}

fn softmax_kernel(x: &Tensor, d: usize, log: bool) -> Tensor {
    let last = d + 1 == x.ndim();
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
    if last {
        out
    } else {
        // undo the move of `d` to the end
        let nd = x.ndim() as isize;
        let mut perm: Vec<isize> = (0..nd - 1).collect();
        perm.insert(d, nd - 1);
        out.permute(&perm).contiguous()
    }
}

fn softmax_row<T: Element>(row: &[T], dst: &mut [T], scratch: &mut [T], log: bool) {
    if let (Some(dst), Some(row)) = (super::kernel::as_f32_mut(dst), super::kernel::as_f32(row)) {
        let m = row.iter().fold(
            f32::NEG_INFINITY,
            |a, &b| if b > a || b != b { b } else { a },
        );
        let m = if m.is_finite() { m } else { 0.0 };
        for (s, &v) in scratch_f32(scratch).iter_mut().zip(row) {
            *s = v - m;
        }
        let shifted = scratch_f32(scratch);
        // SAFETY: MaybeUninit<f32> has the layout of f32, and every element is written.
        let dst_u = unsafe { &mut *(dst as *mut [f32] as *mut [std::mem::MaybeUninit<f32>]) };
        simd::exp_f32(shifted, dst_u);
        let sum = simd::sum_f32(dst) as f32;
        if log {
            let ls = sum.ln();
            for (o, &v) in dst.iter_mut().zip(shifted.iter()) {
                *o = v - ls;
            }
        } else {
            let inv = 1.0 / sum;
            for o in dst.iter_mut() {
                *o *= inv;
            }
        }
        return;
    }
    let m = row
        .iter()
        .map(|v| v.to_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    let m = if m.is_finite() { m } else { 0.0 };
    let sum: f64 = row.iter().map(|v| (v.to_f64() - m).exp()).sum();
    for (o, &v) in dst.iter_mut().zip(row) {
        let z = v.to_f64() - m;
        *o = T::from_f64(if log { z - sum.ln() } else { z.exp() / sum });
    }
}

fn scratch_f32<T: Element>(s: &mut [T]) -> &mut [f32] {
    super::kernel::as_f32_mut(s).expect("f32 scratch")
}

#[inline(always)]
fn combine<const PROD: bool>(a: f64, b: f64) -> f64 {
    if PROD {
        a * b
    } else {
        a + b
    }
}

/// Scans `CHAINS` equal blocks of `src` side by side (independent dependency chains), each
/// starting from its carry.
fn scan_group<T: Element, const PROD: bool>(
    src: &[T],
    dst: &mut [T],
    block: usize,
    carries: &[f64],
) {
    const CHAINS: usize = 4;
    let n = src.len();
    let full = n / block;
    let mut acc = [0.0f64; CHAINS];
    acc[..carries.len().min(CHAINS)].copy_from_slice(&carries[..carries.len().min(CHAINS)]);
    if full == CHAINS {
        let (s0, rest) = src.split_at(block);
        let (s1, rest) = rest.split_at(block);
        let (s2, s3) = rest.split_at(block);
        let (d0, rest) = dst.split_at_mut(block);
        let (d1, rest) = rest.split_at_mut(block);
        let (d2, d3) = rest.split_at_mut(block);
        let [mut a0, mut a1, mut a2, mut a3] = acc;
        for i in 0..block {
            a0 = combine::<PROD>(a0, s0[i].to_f64());
            a1 = combine::<PROD>(a1, s1[i].to_f64());
            a2 = combine::<PROD>(a2, s2[i].to_f64());
            a3 = combine::<PROD>(a3, s3[i].to_f64());
            d0[i] = T::from_f64(a0);
            d1[i] = T::from_f64(a1);
            d2[i] = T::from_f64(a2);
            d3[i] = T::from_f64(a3);
        }
    } else {
        for (c, a) in acc.iter_mut().enumerate() {
            let (lo, hi) = ((c * block).min(n), ((c + 1) * block).min(n));
            for j in lo..hi {
                *a = combine::<PROD>(*a, src[j].to_f64());
                dst[j] = T::from_f64(*a);
            }
        }
    }
}

/// Inclusive scan of one row in f64 precision. The row is cut into blocks: their totals come
/// first (a vectorizable pass), then each block is scanned from its carry, four blocks at a
/// time per thread so that the additions do not wait on each other.
fn scan_row<T: Element, const PROD: bool>(src: &[T], dst: &mut [T]) {
    const CHAINS: usize = 4;
    let n = src.len();
    let init = if PROD { 1.0 } else { 0.0 };
    if n < 64 {
        let mut acc = init;
        for (d, &v) in dst.iter_mut().zip(src) {
            acc = combine::<PROD>(acc, v.to_f64());
            *d = T::from_f64(acc);
        }
        return;
    }
    let threads = crate::parallel::num_threads();
    let parallel = n >= super::kernel::PAR_MIN * 2 && threads > 1;
    let groups = if parallel { threads } else { 1 };
    let block = n.div_ceil(CHAINS * groups);
    let total = |c: &[T]| -> f64 {
        let mut a = [init; 8];
        let mut it = c.chunks_exact(8);
        for ch in &mut it {
            for k in 0..8 {
                a[k] = combine::<PROD>(a[k], ch[k].to_f64());
            }
        }
        let mut t = it
            .remainder()
            .iter()
            .fold(init, |x, &v| combine::<PROD>(x, v.to_f64()));
        for v in a {
            t = combine::<PROD>(t, v);
        }
        t
    };
    let totals: Vec<f64> = if parallel {
        let mut totals = vec![init; n.div_ceil(block)];
        crate::parallel::for_each_chunk_mut(&mut totals, 1, |i, t| {
            t[0] = total(&src[i * block..((i + 1) * block).min(n)]);
        });
        totals
    } else {
        src.chunks(block).map(total).collect()
    };
    let mut carries = Vec::with_capacity(totals.len());
    let mut c = init;
    for t in &totals {
        carries.push(c);
        c = combine::<PROD>(c, *t);
    }
    let span = block * CHAINS;
    if parallel {
        crate::parallel::for_each_chunk_mut(dst, span, |g, d| {
            let s = &src[g * span..g * span + d.len()];
            scan_group::<T, PROD>(s, d, block, &carries[g * CHAINS..]);
        });
    } else {
        for (g, (d, s)) in dst.chunks_mut(span).zip(src.chunks(span)).enumerate() {
            scan_group::<T, PROD>(s, d, block, &carries[g * CHAINS..]);
        }
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
    let fast = (x.dtype() == DType::Float32 && super::kernel::has_avx512()).then(|| {
        src.with_slice::<f32, _>(|s| {
            let mut out: Vec<f32> = crate::storage::result_vec(s.len());
            let spare = &mut out.spare_capacity_mut()[..s.len()];
            for o in 0..outer {
                let rows = o * r..(o + 1) * r;
                let done = super::scan_f32::scan_row(&s[rows.clone()], &mut spare[rows], product);
                debug_assert!(done, "AVX-512 was checked");
            }
            // SAFETY: every row was written in full.
            unsafe { out.set_len(s.len()) };
            Tensor::from_vec(out, src.shape())
        })
    });
    let y = if let Some(y) = fast {
        y
    } else if x.dtype().is_float() {
        dispatch_float!(x.dtype(), "scan", T => src.with_slice::<T, _>(|s| {
            let mut out = vec![T::default(); s.len()];
            for o in 0..outer {
                let (src, dst) = (&s[o * r..(o + 1) * r], &mut out[o * r..(o + 1) * r]);
                if product {
                    scan_row::<T, true>(src, dst)
                } else {
                    scan_row::<T, false>(src, dst)
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
    if d + 1 == x.ndim() {
        y
    } else {
        let nd = x.ndim() as isize;
        let mut perm: Vec<isize> = (0..nd - 1).collect();
        perm.insert(d, nd - 1);
        y.permute(&perm).contiguous()
    }
}
