//! Reductions, one file per family: sums, means, variances and products ([`sum`]), extremes
//! and their indices ([`extreme`]), the softmax family ([`softmax`]) and running sums and
//! products ([`scan`]). The loops over elements are in `crate::kernels`.

mod extreme;
mod scan;
mod softmax;
mod sum;

use crate::shape::{wrap_dim, Dims};
use crate::tensor::Tensor;

/// `x` with the `dims` moved last and made contiguous; returns it with the kept shape and the
/// number of reduced elements per output element.
pub(super) fn reduced_last(x: &Tensor, dims: &[usize]) -> (Tensor, Vec<usize>, usize) {
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

pub(super) fn norm_dims(x: &Tensor, dims: &[isize], op: &str) -> Dims {
    let mut d: Dims = if dims.is_empty() {
        (0..x.ndim()).collect()
    } else {
        dims.iter().map(|&d| wrap_dim(d, x.ndim(), op)).collect()
    };
    d.sort_unstable();
    d.dedup();
    d
}

pub(super) fn keep_shape(x: &Tensor, dims: &[usize], keepdim: bool) -> Dims {
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

/// Gradient of a reduction over `dims`, broadcast back to the input shape.
pub(super) fn expand_back(g: &Tensor, in_shape: &[usize], dims: &[usize], keepdim: bool) -> Tensor {
    let mut g = g.clone();
    if !keepdim {
        for &d in dims {
            g = g.unsqueeze(d as isize);
        }
    }
    g.broadcast_to(in_shape)
}

/// Undoes the move of dimension `d` to the end that [`reduced_last`] made.
pub(super) fn move_last_back(y: Tensor, d: usize, ndim: usize) -> Tensor {
    if d + 1 == ndim {
        return y;
    }
    let nd = ndim as isize;
    let mut perm: Vec<isize> = (0..nd - 1).collect();
    perm.insert(d, nd - 1);
    y.permute(&perm).contiguous()
}
