//! Copying ops: concatenation, splitting, gathering and scattering by index, masks.

use super::dispatch::{dispatch_all, dispatch_float};
use crate::autograd::{attach, should_record, Saved};
use crate::dtype::{DType, Element};
use crate::kernels::elementwise;
use crate::shape::wrap_dim;
use crate::tensor::Tensor;

/// Writes `src` (broadcast to `dst`'s shape) into the elements of the view `dst`, in place.
pub(crate) fn copy_into(dst: &Tensor, src: &Tensor) {
    let direct = src.dtype() == dst.dtype()
        && src.shape() == dst.shape()
        && src.is_contiguous()
        && !crate::storage::Shared::ptr_eq(&src.0.storage, &dst.0.storage);
    let src = if direct {
        src.clone()
    } else {
        src.to_dtype(dst.dtype())
            .broadcast_to(dst.shape())
            .detach()
            .contiguous_copy()
    };
    dispatch_all!(dst.dtype(), T => src.with_slice::<T, _>(|vals| update_view(dst, vals, |o, v| *o = v)));
}

/// Adds `src` (same shape and float dtype) into the elements of the view `dst`, in place: the
/// engine's accumulation of one gradient into another that nothing else holds.
pub(crate) fn add_into(dst: &Tensor, src: &Tensor) {
    assert!(
        src.dtype() == dst.dtype()
            && src.shape() == dst.shape()
            && !crate::storage::Shared::ptr_eq(&src.0.storage, &dst.0.storage),
        "add_into: {} {:?} into {} {:?}",
        src.dtype(),
        src.shape(),
        dst.dtype(),
        dst.shape()
    );
    dispatch_float!(dst.dtype(), "add_into", T => src.with_slice::<T, _>(|vals| update_view(dst, vals, |o, v| *o += v)));
}

/// `f(element, value)` over the elements of the view `dst` (row-major) and `vals`, one each,
/// under `dst`'s write lock; `vals` must hold no part of `dst`'s buffer. A view whose rows are
/// contiguous (all of it, or a slice of the last dimension such as the gradient of
/// `qkv.split(c, 2)`) is updated row by row, over the pool when long.
fn update_view<T: Element>(dst: &Tensor, vals: &[T], f: impl Fn(&mut T, T) + Sync) {
    {
        let mut guard = dst.0.storage.data.write();
        let out = T::slice_mut(&mut guard).expect("dtype");
        let (shape, strides, offset) = (dst.shape(), dst.strides(), dst.storage_offset());
        if dst.is_contiguous() {
            let out = &mut out[offset..offset + dst.numel()];
            let len = out.len();
            elementwise::update_rows(out, vals, (&[0], len), &f);
        } else if shape.last().is_some_and(|&n| n > 1) && strides[shape.len() - 1] == 1 {
            let row = shape[shape.len() - 1];
            let mut starts = Vec::with_capacity(dst.numel() / row);
            crate::shape::walk_rows(shape, strides, offset, |p, _, _| starts.push(p));
            elementwise::update_rows(out, vals, (&starts, row), &f);
        } else {
            let mut i = 0;
            crate::shape::walk_rows(shape, strides, offset, |p, n, s| {
                for j in 0..n {
                    f(&mut out[p + j * s], vals[i + j]);
                }
                i += n;
            });
        }
    }
    dst.0.storage.bump_version();
}

/// Gradient of a slice: `g` placed at `start..` by `step` along `dim` in zeros of `shape`.
pub(crate) fn slice_backward(
    g: &Tensor,
    shape: &[usize],
    dim: usize,
    start: usize,
    step: usize,
) -> Tensor {
    let out = super::create::zeros(shape, g.dtype());
    let len = g.shape()[dim];
    let end = (start + (len.max(1) - 1) * step + 1) as isize;
    copy_into(
        &out.detach().slice(dim as isize, start as isize, end, step),
        &g.detach(),
    );
    if !should_record(&[g]) {
        return out;
    }
    attach(out, "SliceBackwardBackward0", &[g], move |gg, _| {
        smallvec::smallvec![Some(gg.slice(dim as isize, start as isize, end, step))]
    })
}

impl Tensor {
    /// Joins tensors along an existing dimension (`torch.cat`, `tf.concat`).
    pub fn cat(tensors: &[&Tensor], dim: isize) -> Tensor {
        assert!(
            !tensors.is_empty(),
            "cat: expected a non-empty list of Tensors"
        );
        let first = tensors[0];
        let d = wrap_dim(dim, first.ndim(), "cat");
        let dtype = tensors
            .iter()
            .map(|t| t.dtype())
            .reduce(DType::promote)
            .expect("non-empty");
        let mut shape = first.shape().to_vec();
        shape[d] = 0;
        for (i, t) in tensors.iter().enumerate() {
            assert_eq!(
                t.ndim(),
                first.ndim(),
                "cat: tensors must have the same number of dimensions: got {} and {} (tensor {i})",
                first.ndim(),
                t.ndim()
            );
            for j in 0..t.ndim() {
                assert!(j == d || t.shape()[j] == first.shape()[j], "cat: sizes of tensors must match except in dimension {d}. Expected size {} but got size {} for tensor number {i} in the list", first.shape()[j], t.shape()[j]);
            }
            shape[d] += t.shape()[d];
        }
        let out = super::create::zeros(&shape, dtype);
        let mut at = 0;
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[d]).collect();
        for t in tensors {
            let n = t.shape()[d];
            copy_into(&out.narrow(d as isize, at, n), t);
            at += n;
        }
        let inputs: Vec<&Tensor> = tensors.to_vec();
        if !should_record(&inputs) {
            return out;
        }
        let dtypes: Vec<DType> = tensors.iter().map(|t| t.dtype()).collect();
        let traced = attach(out, "CatBackward0", &inputs, move |g, need| {
            let mut at = 0;
            sizes
                .iter()
                .zip(need)
                .zip(&dtypes)
                .map(|((&n, &nd), &dt)| {
                    let part = nd.then(|| g.narrow(d as isize, at, n).to_dtype(dt));
                    at += n;
                    part
                })
                .collect::<Vec<_>>()
        });
        crate::autograd::trace::set_attrs(&traced, || {
            vec![("dim", crate::autograd::trace::Attr::Int(d as i64))]
        });
        traced
    }

    /// Joins tensors along a new dimension (`torch.stack`, `tf.stack`).
    pub fn stack(tensors: &[&Tensor], dim: isize) -> Tensor {
        assert!(
            !tensors.is_empty(),
            "stack: expected a non-empty list of Tensors"
        );
        let d = wrap_dim(dim, tensors[0].ndim() + 1, "stack");
        for t in tensors {
            assert_eq!(
                t.shape(),
                tensors[0].shape(),
                "stack: expects each tensor to be equal size, but got {:?} and {:?}",
                tensors[0].shape(),
                t.shape()
            );
        }
        let parts: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(d as isize)).collect();
        let refs: Vec<&Tensor> = parts.iter().collect();
        Tensor::cat(&refs, d as isize)
    }

    /// Splits into pieces of `size` along `dim` (the last may be smaller) (`torch.split`).
    pub fn split(&self, size: usize, dim: isize) -> Vec<Tensor> {
        assert!(size > 0, "split: size must be positive");
        let d = wrap_dim(dim, self.ndim(), "split");
        let total = self.shape()[d];
        (0..total)
            .step_by(size)
            .map(|s| self.narrow(d as isize, s, size.min(total - s)))
            .collect()
    }

    /// Splits into pieces of the given sizes along `dim` (`torch.split` with a list, `tf.split`).
    pub fn split_sizes(&self, sizes: &[usize], dim: isize) -> Vec<Tensor> {
        let d = wrap_dim(dim, self.ndim(), "split");
        assert_eq!(sizes.iter().sum::<usize>(), self.shape()[d], "split_with_sizes expects split_sizes to sum exactly to {} (input tensor's size at dimension {d}), but got split_sizes={sizes:?}", self.shape()[d]);
        let mut at = 0;
        sizes
            .iter()
            .map(|&n| {
                let t = self.narrow(d as isize, at, n);
                at += n;
                t
            })
            .collect()
    }

    /// Splits into `chunks` nearly equal pieces along `dim` (`torch.chunk`).
    pub fn chunk(&self, chunks: usize, dim: isize) -> Vec<Tensor> {
        let d = wrap_dim(dim, self.ndim(), "chunk");
        let size = self.shape()[d].div_ceil(chunks.max(1)).max(1);
        self.split(size, d as isize)
    }

    /// Reverses the order of elements along each of `dims` (`torch.flip`, `tf.reverse`); a
    /// copy, differentiable.
    ///
    /// ```
    /// let t = tandem_core::Tensor::from_vec(vec![1f32, 2., 3., 4.], &[2, 2]);
    /// assert_eq!(t.flip(&[0]).to_vec::<f32>(), [3., 4., 1., 2.]);
    /// assert_eq!(t.flip(&[0, 1]).to_vec::<f32>(), [4., 3., 2., 1.]);
    /// ```
    pub fn flip(&self, dims: &[isize]) -> Tensor {
        let mut out = self.clone();
        for &dim in dims {
            let d = wrap_dim(dim, self.ndim(), "flip");
            let n = self.shape()[d];
            let rev: Vec<i64> = (0..n as i64).rev().collect();
            out = out.index_select(d as isize, &Tensor::from_vec(rev, &[n]));
        }
        out
    }

    /// Picks values along `dim` at `index` (int64, same rank) (`torch.gather`).
    pub fn gather(&self, dim: isize, index: &Tensor) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "gather");
        assert_eq!(
            index.ndim(),
            self.ndim(),
            "gather: index tensor must have the same number of dimensions as input tensor"
        );
        let idx = index.to_vec::<i64>();
        let ishape = index.shape().to_vec();
        let src = self.detach().contiguous();
        let sstr = src.strides().to_vec();
        let size = self.shape()[d] as i64;
        let out = dispatch_all!(self.dtype(), T => src.with_slice::<T, _>(|s| {
            let mut out = Vec::with_capacity(idx.len());
            for_each_index(&ishape, |flat, pos| {
                let i = idx[flat];
                assert!((0..size).contains(&i), "gather: index {i} is out of bounds for dimension {d} with size {size}");
                let mut off = 0;
                for (k, &p) in pos.iter().enumerate() {
                    off += if k == d { i as usize } else { p } * sstr[k];
                }
                out.push(s[off]);
            });
            Tensor::from_vec(out, &ishape)
        }));
        if !should_record(&[self]) {
            return out;
        }
        let (shape, index) = (self.shape().to_vec(), index.clone());
        attach(out, "GatherBackward0", &[self], move |g, _| {
            vec![Some(
                super::create::zeros(&shape, g.dtype()).scatter_add(d as isize, &index, g),
            )]
        })
    }

    /// Adds `src` into a copy of `self` at `index` along `dim` (`torch.scatter_add`).
    pub fn scatter_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "scatter_add");
        let idx = index.to_vec::<i64>();
        let ishape = index.shape().to_vec();
        let sv = src.detach().to_dtype(self.dtype()).contiguous();
        let out = self.detach().contiguous_copy();
        let ostr = out.strides().to_vec();
        let size = self.shape()[d] as i64;
        let sstr = sv.strides().to_vec();
        dispatch_all!(self.dtype(), T => {
            let vals = sv.to_vec::<T>();
            let mut guard = out.0.storage.data.write();
            let o = T::slice_mut(&mut guard).expect("dtype");
            for_each_index(&ishape, |flat, pos| {
                let i = idx[flat];
                assert!((0..size).contains(&i), "scatter_add: index {i} is out of bounds for dimension {d} with size {size}");
                let (mut off, mut soff) = (0, 0);
                for (k, &p) in pos.iter().enumerate() {
                    off += if k == d { i as usize } else { p } * ostr[k];
                    soff += p * sstr[k];
                }
                o[off] = T::from_f64(o[off].to_f64() + vals[soff].to_f64());
            });
        });
        if !should_record(&[self, src]) {
            return out;
        }
        let index = index.clone();
        attach(out, "ScatterAddBackward0", &[self, src], move |g, need| {
            vec![
                need[0].then(|| g.clone()),
                need[1].then(|| g.gather(d as isize, &index)),
            ]
        })
    }

    /// Rows (or slices along `dim`) at the positions in the 1-D `index` (`torch.index_select`,
    /// `tf.gather`).
    pub fn index_select(&self, dim: isize, index: &Tensor) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "index_select");
        assert!(index.ndim() <= 1, "index_select: index must be 0- or 1-D");
        let idx = index.to_vec::<i64>();
        let size = self.shape()[d] as i64;
        if d == 0 && self.ndim() > 0 {
            let out = select_rows(self, &idx);
            if !should_record(&[self, index]) {
                return out;
            }
            let (shape, index) = (self.shape().to_vec(), index.clone());
            let traced_index = index.clone();
            let out = attach(out, "IndexSelectBackward0", &[self], move |g, _| {
                if g.dtype().is_float() && !should_record(&[g]) {
                    return vec![Some(add_rows(&shape, &index.to_vec::<i64>(), g))];
                }
                vec![Some(
                    super::create::zeros(&shape, g.dtype()).index_add(0, &index, g),
                )]
            });
            crate::autograd::trace::set_attrs(&out, || {
                vec![
                    ("dim", crate::autograd::trace::Attr::Int(0)),
                    ("index", crate::autograd::trace::Attr::Tensor(traced_index)),
                ]
            });
            return out;
        }
        let parts: Vec<Tensor> = idx
            .iter()
            .map(|&i| self.detach().narrow(d as isize, selected(i, d, size), 1))
            .collect();
        let out = if parts.is_empty() {
            let mut s = self.shape().to_vec();
            s[d] = 0;
            super::create::zeros(&s, self.dtype())
        } else {
            let refs: Vec<&Tensor> = parts.iter().collect();
            Tensor::cat(&refs, d as isize)
        };
        if !should_record(&[self, index]) {
            return out;
        }
        let (shape, index) = (self.shape().to_vec(), index.clone());
        let traced_index = index.clone();
        let out = attach(out, "IndexSelectBackward0", &[self], move |g, _| {
            vec![Some(
                super::create::zeros(&shape, g.dtype()).index_add(d as isize, &index, g),
            )]
        });
        crate::autograd::trace::set_attrs(&out, || {
            vec![
                ("dim", crate::autograd::trace::Attr::Int(d as i64)),
                ("index", crate::autograd::trace::Attr::Tensor(traced_index)),
            ]
        });
        out
    }

    /// Adds slices of `src` into a copy of `self` at the 1-D `index` along `dim` (`index_add`).
    pub fn index_add(&self, dim: isize, index: &Tensor, src: &Tensor) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "index_add");
        let mut ishape = vec![1usize; self.ndim()];
        ishape[d] = index.numel();
        let mut expand: Vec<usize> = src.shape().to_vec();
        expand[d] = index.numel();
        let full_index = index
            .to_dtype(DType::Int64)
            .reshape(&ishape.iter().map(|&v| v as isize).collect::<Vec<_>>())
            .broadcast_to(&expand)
            .contiguous();
        self.scatter_add(d as isize, &full_index, src)
    }

    /// `F.pad(x, pads, value=...)` in constant mode: `pads` lists `(before, after)` amounts
    /// from the last axis backwards, as PyTorch takes them (`(left, right, top, bottom)` for
    /// the last two axes).
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let x = Tensor::new([[1.0, 2.0]]);
    /// assert_eq!(x.pad(&[1, 0, 0, 1], 0.0).to_vec::<f32>(), vec![0.0, 1.0, 2.0, 0.0, 0.0, 0.0]);
    /// ```
    pub fn pad(&self, pads: &[usize], value: f64) -> Tensor {
        assert!(
            pads.len().is_multiple_of(2) && pads.len() / 2 <= self.ndim(),
            "pad: expected (before, after) pairs for at most {} axes, got {} values",
            self.ndim(),
            pads.len()
        );
        let mut out = self.clone();
        for (k, pair) in pads.chunks(2).enumerate() {
            let d = self.ndim() - 1 - k;
            let mut parts: Vec<Tensor> = Vec::with_capacity(3);
            for (amount, at_end) in [(pair[0], false), (pair[1], true)] {
                if amount == 0 {
                    continue;
                }
                let mut shape = out.shape().to_vec();
                shape[d] = amount;
                let fill = super::create::full(&shape, value, out.dtype());
                if at_end {
                    parts.push(fill);
                } else {
                    parts.insert(0, fill);
                }
            }
            if parts.is_empty() {
                continue;
            }
            let at = if pair[0] > 0 { 1 } else { 0 };
            parts.insert(at, out.clone());
            let refs: Vec<&Tensor> = parts.iter().collect();
            out = Tensor::cat(&refs, d as isize);
        }
        out
    }

    /// A copy of `self` with the slices at the 1-D `index` along `dim` set to `value`
    /// (`index_fill`).
    pub fn index_fill(&self, dim: isize, index: &Tensor, value: f64) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "index_fill");
        let n = self.shape()[d];
        let mut hit = vec![false; n];
        for i in index.to_dtype(DType::Int64).to_vec::<i64>() {
            let j = if i < 0 { i + n as i64 } else { i };
            assert!(
                (0..n as i64).contains(&j),
                "index_fill: index {i} is out of bounds for dimension {d} with size {n}"
            );
            hit[j as usize] = true;
        }
        let mut mshape = vec![1isize; self.ndim()];
        mshape[d] = n as isize;
        let mask = Tensor::from_vec(hit, &[n]).reshape(&mshape);
        self.masked_fill(&mask, value)
    }

    /// A copy of `self` with the slices at the 1-D `index` along `dim` replaced by the slices
    /// of `src` (`index_copy`; `y[idx] = src` is `index_copy(0, idx, src)`).
    pub fn index_copy(&self, dim: isize, index: &Tensor, src: &Tensor) -> Tensor {
        self.index_fill(dim, index, 0.0).index_add(dim, index, src)
    }

    /// `value` where `mask` is true, else `self` (`masked_fill`); the mask broadcasts.
    pub fn masked_fill(&self, mask: &Tensor, value: f64) -> Tensor {
        let fill = super::create::full(&[], value, self.dtype());
        Tensor::where_(mask, &fill, self)
    }

    /// Elementwise choice: `a` where `cond` is true, else `b`, with broadcasting
    /// (`torch.where`, `tf.where`).
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
        let c = if cond.dtype() == DType::Bool {
            cond.clone()
        } else {
            cond.ne(0)
        };
        let dt = super::binary::result_dtype(a, b);
        let shape = crate::shape::broadcast_shapes(c.shape(), a.shape())
            .and_then(|s| crate::shape::broadcast_shapes(&s, b.shape()))
            .unwrap_or_else(|| {
                panic!(
                    "where: shapes {:?}, {:?} and {:?} do not broadcast",
                    c.shape(),
                    a.shape(),
                    b.shape()
                )
            });
        let (ce, ae, be) = (
            c.broadcast_to(&shape).detach(),
            a.to_dtype(dt).broadcast_to(&shape).detach(),
            b.to_dtype(dt).broadcast_to(&shape).detach(),
        );
        let cv = ce.to_vec::<bool>();
        let out = dispatch_all!(dt, T => {
            let (av, bv) = (ae.to_vec::<T>(), be.to_vec::<T>());
            let v: Vec<T> = cv.iter().zip(av.iter().zip(&bv)).map(|(&c, (&x, &y))| if c { x } else { y }).collect();
            Tensor::from_vec(v, &shape)
        });
        if !should_record(&[a, b]) {
            return out;
        }
        let (sa, sb, cond2) = (Saved::new(a), Saved::new(b), c.clone());
        attach(out, "WhereBackward0", &[a, b], move |g, need| {
            let z = super::create::zeros(&[], g.dtype());
            vec![
                need[0].then(|| {
                    Tensor::where_(&cond2, g, &z)
                        .sum_to_shape(sa.get().shape())
                        .to_dtype(sa.get().dtype())
                }),
                need[1].then(|| {
                    Tensor::where_(&cond2, &z, g)
                        .sum_to_shape(sb.get().shape())
                        .to_dtype(sb.get().dtype())
                }),
            ]
        })
    }

    /// One-hot encoding of integer class labels into `num_classes` columns, as int64
    /// (`F.one_hot`; `tf.one_hot` and `to_categorical` give float32 via `.float()`).
    pub fn one_hot(&self, num_classes: usize) -> Tensor {
        let labels = self.to_vec::<i64>();
        let mut out = vec![0i64; labels.len() * num_classes];
        for (i, &l) in labels.iter().enumerate() {
            assert!(
                (0..num_classes as i64).contains(&l),
                "one_hot: class values must be in [0, {num_classes}), got {l}"
            );
            out[i * num_classes + l as usize] = 1;
        }
        let mut shape = self.shape().to_vec();
        shape.push(num_classes);
        Tensor::from_vec(out, &shape)
    }
}

/// `index_select`'s index `i` along dimension `d` of length `size`, negative ones counting
/// from the end.
fn selected(i: i64, d: usize, size: i64) -> usize {
    assert!(
        (-size..size).contains(&i),
        "index_select: index {i} is out of bounds for dimension {d} with size {size}"
    );
    i.rem_euclid(size) as usize
}

/// Rows of `x` (along dim 0) at `idx`, copied row by row from a contiguous source.
fn select_rows(x: &Tensor, idx: &[i64]) -> Tensor {
    let src = x.detach().contiguous();
    let size = x.shape()[0] as i64;
    let row: usize = x.shape()[1..].iter().product();
    let mut shape = x.shape().to_vec();
    shape[0] = idx.len();
    let starts: Vec<usize> = idx.iter().map(|&i| selected(i, 0, size) * row).collect();
    dispatch_all!(x.dtype(), T => src.with_slice::<T, _>(|s| {
        Tensor::from_vec(elementwise::gather_rows(s, &starts, row), &shape)
    }))
}

/// Zeros of `shape` with row `i` of `g` added to row `idx[i]` (negative indices counting from
/// the end), for every `i`: the gradient of selecting rows, an embedding's backward.
fn add_rows(shape: &[usize], idx: &[i64], g: &Tensor) -> Tensor {
    let size = shape[0] as i64;
    let row: usize = shape[1..].iter().product();
    let g = g.contiguous();
    dispatch_float!(g.dtype(), "index_select backward", T => g.with_slice::<T, _>(|gs| {
        let mut out = vec![T::default(); shape.iter().product()];
        crate::kernels::cpu::vectorized(#[inline(always)] || {
            for (&i, src) in idx.iter().zip(gs.chunks_exact(row.max(1))) {
                let r = i.rem_euclid(size) as usize;
                for (o, &v) in out[r * row..(r + 1) * row].iter_mut().zip(src) {
                    *o += v;
                }
            }
        });
        Tensor::from_vec(out, shape)
    }))
}

/// Calls `f(flat, position)` for each position of `shape` in row-major order.
fn for_each_index(shape: &[usize], mut f: impl FnMut(usize, &[usize])) {
    let n: usize = shape.iter().product();
    let mut pos = vec![0usize; shape.len()];
    for flat in 0..n {
        f(flat, &pos);
        for d in (0..shape.len()).rev() {
            pos[d] += 1;
            if pos[d] < shape[d] {
                break;
            }
            pos[d] = 0;
        }
    }
}
