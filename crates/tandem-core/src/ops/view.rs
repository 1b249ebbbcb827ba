//! Views: new shapes and strides over the same storage, never copying (except `reshape` of a
//! non-contiguous tensor, which copies as PyTorch's does).

use crate::autograd::{attach, should_record};
use crate::shape::{contiguous_strides, numel, wrap_dim, Dims};
use crate::tensor::Tensor;

impl Tensor {
    fn view_of(&self, shape: Dims, strides: Dims, offset: usize) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), shape, strides, offset, self.dtype())
    }

    fn resolve_shape(&self, shape: &[isize], op: &str) -> Dims {
        let n = self.numel();
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let infer = shape.iter().filter(|&&d| d == -1).count();
        assert!(infer <= 1, "{op}: only one dimension can be inferred");
        let out: Dims = shape
            .iter()
            .map(|&d| {
                if d == -1 {
                    assert!(
                        known > 0 && n.is_multiple_of(known),
                        "{op}: shape '{shape:?}' is invalid for input of size {n}"
                    );
                    n / known
                } else {
                    assert!(d >= 0, "{op}: invalid shape dimension {d}");
                    d as usize
                }
            })
            .collect();
        assert_eq!(
            numel(&out),
            n,
            "{op}: shape '{shape:?}' is invalid for input of size {n}"
        );
        out
    }

    /// A tensor with the same elements in a new shape; one dimension may be `-1`
    /// (`reshape`, `tf.reshape`). A view whenever the strides allow one (PyTorch's rule: every
    /// run of merged or split dimensions must be contiguous within itself), otherwise a copy.
    pub fn reshape(&self, shape: &[isize]) -> Tensor {
        let target = self.resolve_shape(shape, "reshape");
        if target.as_slice() == self.shape() {
            return self.clone();
        }
        match view_strides(self.shape(), self.strides(), &target) {
            Some(st) => self.view_with(target, st),
            None => {
                let strides = contiguous_strides(&target).to_vec();
                self.contiguous().view_with(target, strides)
            }
        }
    }

    /// This tensor's storage seen as `target` with `strides` (checked by the caller), recorded
    /// for autograd.
    fn view_with(&self, target: Dims, strides: Vec<usize>) -> Tensor {
        let out = self.view_of(target, Dims::from_slice(&strides), self.storage_offset());
        if !should_record(&[self]) {
            return out;
        }
        let orig: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        attach(out, "ViewBackward0", &[self], move |g, _| {
            smallvec::smallvec![Some(g.reshape(&orig))]
        })
    }

    /// `view_as(other)`: a view with `other`'s shape.
    pub fn view_as(&self, other: &Tensor) -> Tensor {
        let shape: Vec<isize> = other.shape().iter().map(|&d| d as isize).collect();
        self.view(&shape)
    }

    /// `view(-1, 784)`: like `reshape`, but panics instead of copying when the strides allow
    /// no view.
    pub fn view(&self, shape: &[isize]) -> Tensor {
        let target = self.resolve_shape(shape, "view");
        if target.as_slice() == self.shape() {
            return self.clone();
        }
        let strides = view_strides(self.shape(), self.strides(), &target).unwrap_or_else(|| {
            panic!(
                "view size is not compatible with input tensor's size and stride (at least one \
                 dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            )
        });
        self.view_with(target, strides)
    }

    /// Flattens dimensions `start..=end` into one (`torch.flatten`).
    pub fn flatten(&self, start: isize, end: isize) -> Tensor {
        if self.ndim() == 0 {
            return self.reshape(&[1]);
        }
        let s = wrap_dim(start, self.ndim(), "flatten");
        let e = wrap_dim(end, self.ndim(), "flatten");
        let mut shape: Vec<isize> = self.shape()[..s].iter().map(|&d| d as isize).collect();
        shape.push(self.shape()[s..=e].iter().product::<usize>() as isize);
        shape.extend(self.shape()[e + 1..].iter().map(|&d| d as isize));
        self.reshape(&shape)
    }

    /// Removes size-1 dimensions: all of them, or only `dim` (`squeeze`).
    pub fn squeeze(&self, dim: Option<isize>) -> Tensor {
        let shape: Vec<isize> = match dim {
            None => self
                .shape()
                .iter()
                .filter(|&&d| d != 1)
                .map(|&d| d as isize)
                .collect(),
            Some(d) => {
                let d = wrap_dim(d, self.ndim(), "squeeze");
                self.shape()
                    .iter()
                    .enumerate()
                    .filter(|&(i, &s)| !(i == d && s == 1))
                    .map(|(_, &s)| s as isize)
                    .collect()
            }
        };
        self.strided_reshape(&shape)
    }

    /// Inserts a size-1 dimension at `dim` (`unsqueeze`, `tf.expand_dims`).
    pub fn unsqueeze(&self, dim: isize) -> Tensor {
        let d = wrap_dim(dim, self.ndim() + 1, "unsqueeze");
        let mut shape: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        shape.insert(d, 1);
        self.strided_reshape(&shape)
    }

    /// Adds or removes size-1 dims as a view even for strided tensors.
    fn strided_reshape(&self, shape: &[isize]) -> Tensor {
        let target: Dims = shape.iter().map(|&d| d as usize).collect();
        // keep the strides of the non-unit dims in order
        let mut src = self
            .shape()
            .iter()
            .zip(self.strides())
            .filter(|(&s, _)| s != 1)
            .map(|(_, &st)| st);
        let strides: Dims = target
            .iter()
            .map(|&s| {
                if s == 1 {
                    1
                } else {
                    src.next().expect("same non-unit dims")
                }
            })
            .collect();
        let out = self.view_of(target, strides, self.storage_offset());
        if !should_record(&[self]) {
            return out;
        }
        let orig: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        attach(out, "SqueezeBackward0", &[self], move |g, _| {
            vec![Some(g.strided_reshape(&orig))]
        })
    }

    /// Reorders the dimensions (`permute`, `tf.transpose(x, perm)`); a view.
    pub fn permute(&self, dims: &[isize]) -> Tensor {
        assert_eq!(
            dims.len(),
            self.ndim(),
            "permute: number of dims don't match ({} vs {})",
            dims.len(),
            self.ndim()
        );
        let p: Vec<usize> = dims
            .iter()
            .map(|&d| wrap_dim(d, self.ndim(), "permute"))
            .collect();
        let mut seen = vec![false; p.len()];
        for &d in &p {
            assert!(!seen[d], "permute: repeated dim {d}");
            seen[d] = true;
        }
        let shape: Dims = p.iter().map(|&d| self.shape()[d]).collect();
        let strides: Dims = p.iter().map(|&d| self.strides()[d]).collect();
        let out = self.view_of(shape, strides, self.storage_offset());
        if !should_record(&[self]) {
            return out;
        }
        let mut inv = vec![0isize; p.len()];
        for (i, &d) in p.iter().enumerate() {
            inv[d] = i as isize;
        }
        let traced = attach(out, "PermuteBackward0", &[self], move |g, _| {
            vec![Some(g.permute(&inv))]
        });
        crate::autograd::trace::set_attrs(&traced, || {
            vec![(
                "perm",
                crate::autograd::trace::Attr::Ints(p.iter().map(|&d| d as i64).collect()),
            )]
        });
        traced
    }

    /// Swaps two dimensions (`transpose`); a view.
    pub fn transpose(&self, d0: isize, d1: isize) -> Tensor {
        let n = self.ndim();
        if n < 2 {
            return self.clone();
        }
        let (a, b) = (wrap_dim(d0, n, "transpose"), wrap_dim(d1, n, "transpose"));
        let mut p: Vec<isize> = (0..n as isize).collect();
        p.swap(a, b);
        self.permute(&p)
    }

    /// Transpose of a matrix (`t()`, `tf.transpose`); 0-d and 1-d tensors are returned as is.
    pub fn t(&self) -> Tensor {
        assert!(
            self.ndim() <= 2,
            "t() expects a tensor with <= 2 dimensions, but self is {}D",
            self.ndim()
        );
        self.transpose(0, 1)
    }

    /// Broadcasts to a larger shape without copying (`expand`); `-1` keeps a size.
    pub fn expand(&self, shape: &[isize]) -> Tensor {
        let n = shape.len();
        assert!(n >= self.ndim(), "expand: the number of sizes provided ({n}) must be greater or equal to the number of dimensions in the tensor ({})", self.ndim());
        let off = n - self.ndim();
        let target: Dims = shape
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                if s == -1 {
                    self.shape()[i - off]
                } else {
                    s as usize
                }
            })
            .collect();
        for i in 0..self.ndim() {
            let (have, want) = (self.shape()[i], target[i + off]);
            assert!(
                have == want || have == 1,
                "expand: the expanded size of the tensor ({want}) must match the existing size \
                 ({have}) at non-singleton dimension {}. Target sizes: {shape:?}. Tensor sizes: {:?}",
                i + off,
                self.shape()
            );
        }
        if target.as_slice() == self.shape() {
            return self.clone();
        }
        let strides = crate::shape::broadcast_strides(self.shape(), self.strides(), &target);
        let out = self.view_of(target, strides, self.storage_offset());
        if !should_record(&[self]) {
            return out;
        }
        let orig = self.shape().to_vec();
        attach(out, "ExpandBackward0", &[self], move |g, _| {
            vec![Some(g.sum_to_shape(&orig))]
        })
    }

    /// Broadcasts to `shape` (`torch.broadcast_to`, `tf.broadcast_to`).
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        self.expand(&s)
    }

    /// Elements `start..start+len` along `dim` (`narrow`); a view.
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Tensor {
        self.slice(dim, start as isize, (start + len) as isize, 1)
    }

    /// Elements `start..end` by `step` along `dim` (`x[:, 1:5:2]`); negative bounds count from
    /// the end and are clamped as in Python. A view.
    pub fn slice(&self, dim: isize, start: isize, end: isize, step: usize) -> Tensor {
        assert!(step > 0, "slice: step must be positive");
        let d = wrap_dim(dim, self.ndim(), "slice");
        let size = self.shape()[d] as isize;
        let norm = |v: isize| (if v < 0 { v + size } else { v }).clamp(0, size) as usize;
        let (s, e) = (norm(start), norm(end).max(norm(start)));
        let len = (e - s).div_ceil(step);
        let mut shape: Dims = Dims::from_slice(self.shape());
        let mut strides: Dims = Dims::from_slice(self.strides());
        shape[d] = len;
        let offset = self.storage_offset() + s * strides[d];
        strides[d] *= step;
        let out = self.view_of(shape, strides, offset);
        if !should_record(&[self]) {
            return out;
        }
        let orig = self.shape().to_vec();
        let region = crate::autograd::SliceRegion {
            dim: d,
            start: s,
            end: e,
            step,
        };
        let traced = crate::autograd::attach_slice(out, self, region, move |g, _| {
            smallvec::smallvec![Some(super::index::slice_backward(g, &orig, d, s, step))]
        });
        crate::autograd::trace::set_attrs(&traced, || {
            vec![
                ("dim", crate::autograd::trace::Attr::Int(d as i64)),
                ("start", crate::autograd::trace::Attr::Int(s as i64)),
                ("end", crate::autograd::trace::Attr::Int(e as i64)),
                ("step", crate::autograd::trace::Attr::Int(step as i64)),
            ]
        });
        traced
    }

    /// The sub-tensor at `index` along `dim`, removing that dimension (`select`, `x[i]`).
    pub fn select(&self, dim: isize, index: isize) -> Tensor {
        let d = wrap_dim(dim, self.ndim(), "select");
        let size = self.shape()[d] as isize;
        let i = if index < 0 { index + size } else { index };
        assert!(
            (0..size).contains(&i),
            "select: index {index} is out of bounds for dimension {d} with size {size}"
        );
        self.slice(d as isize, i, i + 1, 1)
            .squeeze(Some(d as isize))
    }

    /// Indexes with ranges, integers and `..` per dimension: `x.i((.., 1..3))`, `x.i(0)`.
    pub fn i(&self, index: impl IntoIndex) -> Tensor {
        let mut out = self.clone();
        let mut dim = 0isize;
        for ix in index.into_index() {
            match ix {
                TensorIndex::Select(i) => out = out.select(dim, i),
                TensorIndex::Range(s, e, step) => {
                    out = out.slice(dim, s, e.unwrap_or(isize::MAX), step);
                    dim += 1;
                }
                TensorIndex::NewAxis => {
                    out = out.unsqueeze(dim);
                    dim += 1;
                }
            }
        }
        out
    }
}

/// One entry of an index expression for [`Tensor::i`].
#[derive(Clone, Copy, Debug)]
pub enum TensorIndex {
    /// A single position (removes the dimension).
    Select(isize),
    /// `start..end` by step; `None` end means to the end.
    Range(isize, Option<isize>, usize),
    /// A new size-1 dimension (`None` / `np.newaxis` in Python).
    NewAxis,
}

macro_rules! index_from {
    ($($t:ty),*) => {$(
        impl From<$t> for TensorIndex {
            fn from(i: $t) -> Self { TensorIndex::Select(i as isize) }
        }
        impl From<std::ops::Range<$t>> for TensorIndex {
            fn from(r: std::ops::Range<$t>) -> Self { TensorIndex::Range(r.start as isize, Some(r.end as isize), 1) }
        }
        impl From<std::ops::RangeFrom<$t>> for TensorIndex {
            fn from(r: std::ops::RangeFrom<$t>) -> Self { TensorIndex::Range(r.start as isize, None, 1) }
        }
        impl From<std::ops::RangeTo<$t>> for TensorIndex {
            fn from(r: std::ops::RangeTo<$t>) -> Self { TensorIndex::Range(0, Some(r.end as isize), 1) }
        }
        impl From<std::ops::RangeInclusive<$t>> for TensorIndex {
            fn from(r: std::ops::RangeInclusive<$t>) -> Self { TensorIndex::Range(*r.start() as isize, Some(*r.end() as isize + 1), 1) }
        }
    )*};
}
index_from!(i32, i64, isize, usize);
impl From<std::ops::RangeFull> for TensorIndex {
    fn from(_: std::ops::RangeFull) -> Self {
        TensorIndex::Range(0, None, 1)
    }
}

/// Index expressions: one entry or a tuple of up to four.
pub trait IntoIndex {
    /// The entries, first dimension first.
    fn into_index(self) -> Vec<TensorIndex>;
}
impl<A: Into<TensorIndex>> IntoIndex for A {
    fn into_index(self) -> Vec<TensorIndex> {
        vec![self.into()]
    }
}
impl<A: Into<TensorIndex>, B: Into<TensorIndex>> IntoIndex for (A, B) {
    fn into_index(self) -> Vec<TensorIndex> {
        vec![self.0.into(), self.1.into()]
    }
}
impl<A: Into<TensorIndex>, B: Into<TensorIndex>, C: Into<TensorIndex>> IntoIndex for (A, B, C) {
    fn into_index(self) -> Vec<TensorIndex> {
        vec![self.0.into(), self.1.into(), self.2.into()]
    }
}
impl<A: Into<TensorIndex>, B: Into<TensorIndex>, C: Into<TensorIndex>, D: Into<TensorIndex>>
    IntoIndex for (A, B, C, D)
{
    fn into_index(self) -> Vec<TensorIndex> {
        vec![self.0.into(), self.1.into(), self.2.into(), self.3.into()]
    }
}

/// The strides under which `shape`/`strides` can be seen as `target` without copying, if any
/// (PyTorch's `computeStride`): walking back from the last dimension, each maximal run of
/// old dimensions that are contiguous with one another must be covered by whole new
/// dimensions.
fn view_strides(shape: &[usize], strides: &[usize], target: &[usize]) -> Option<Vec<usize>> {
    let numel: usize = shape.iter().product();
    if shape.is_empty() || numel == 0 {
        return Some(contiguous_strides(target).to_vec());
    }
    let mut out = vec![0usize; target.len()];
    let mut view_d = target.len() as isize - 1;
    let mut chunk_base = strides[shape.len() - 1];
    let (mut tensor_numel, mut view_numel) = (1usize, 1usize);
    for d in (0..shape.len()).rev() {
        tensor_numel *= shape[d];
        let run_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base);
        if run_ends {
            while view_d >= 0 && (view_numel < tensor_numel || target[view_d as usize] == 1) {
                out[view_d as usize] = view_numel * chunk_base;
                view_numel *= target[view_d as usize];
                view_d -= 1;
            }
            if view_numel != tensor_numel {
                return None;
            }
            if d > 0 {
                chunk_base = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    (view_d == -1).then_some(out)
}
