//! Shape arithmetic: strides, broadcasting, dimension wrapping, strided walks.

use smallvec::SmallVec;

/// Sizes or strides of a tensor; inline for up to 6 dimensions.
pub type Dims = SmallVec<[usize; 6]>;

/// Row-major (C-order) strides for a shape.
#[inline]
pub fn contiguous_strides(shape: &[usize]) -> Dims {
    let n = shape.len();
    // Scalars, vectors and matrices, the shapes of most small ops, without the general loop.
    match n {
        0 => return Dims::new(),
        1 => return Dims::from_buf_and_len([1, 0, 0, 0, 0, 0], 1),
        2 => return Dims::from_buf_and_len([shape[1].max(1), 1, 0, 0, 0, 0], 2),
        _ => {}
    }
    if n <= 6 {
        // A fully unrolled loop over a plain array keeps the strides in registers; writing
        // them one by one into memory and reading the array back whole stalls store
        // forwarding, which cost more than the rest of a small op's bookkeeping.
        let mut buf = [0usize; 6];
        let mut acc = 1;
        for i in (0..6).rev() {
            if i < n {
                buf[i] = acc;
                acc *= shape[i].max(1);
            }
        }
        return Dims::from_buf_and_len(buf, n);
    }
    let mut strides: Dims = SmallVec::from_elem(0, n);
    let mut acc = 1;
    for i in (0..n).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1);
    }
    strides
}

/// Number of elements of a shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Wraps a possibly negative dimension index, panicking with PyTorch's message when out of range.
pub fn wrap_dim(dim: isize, ndim: usize, op: &str) -> usize {
    let n = ndim.max(1) as isize;
    let d = if dim < 0 { dim + n } else { dim };
    if d < 0 || d >= n {
        panic!(
            "{op}: dimension out of range (expected to be in range of [{}, {}], but got {dim})",
            -n,
            n - 1
        );
    }
    d as usize
}

/// NumPy broadcasting of two shapes; `None` when they are incompatible.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Dims> {
    let n = a.len().max(b.len());
    let mut out: Dims = SmallVec::from_elem(0, n);
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db {
            da
        } else if da == 1 {
            db
        } else if db == 1 {
            da
        } else {
            return None;
        };
    }
    Some(out)
}

/// Strides that read a tensor of `shape`/`strides` as if broadcast to `target` (0 on broadcast dims).
pub fn broadcast_strides(shape: &[usize], strides: &[usize], target: &[usize]) -> Dims {
    let n = target.len();
    let mut out: Dims = SmallVec::from_elem(0, n);
    let off = n - shape.len();
    for i in 0..shape.len() {
        out[i + off] = if shape[i] == 1 && target[i + off] != 1 {
            0
        } else {
            strides[i]
        };
    }
    out
}

/// Calls `f(base_a, base_b, inner_len, inner_stride_a, inner_stride_b)` for every run along the
/// last dimension of `shape`, walking row-major. Offsets are element offsets into each storage.
pub fn walk_rows2(
    shape: &[usize],
    sa: &[usize],
    oa: usize,
    sb: &[usize],
    ob: usize,
    mut f: impl FnMut(usize, usize, usize, usize, usize),
) {
    let nd = shape.len();
    if nd == 0 {
        f(oa, ob, 1, 0, 0);
        return;
    }
    if shape.contains(&0) {
        return;
    }
    let inner = shape[nd - 1];
    let (ia, ib) = (sa[nd - 1], sb[nd - 1]);
    let outer: usize = shape[..nd - 1].iter().product();
    let mut idx: Dims = SmallVec::from_elem(0, nd - 1);
    let (mut pa, mut pb) = (oa, ob);
    for _ in 0..outer {
        f(pa, pb, inner, ia, ib);
        // increment the multi-index over the outer dims
        let mut d = nd - 1;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            pa += sa[d];
            pb += sb[d];
            if idx[d] < shape[d] {
                break;
            }
            pa -= sa[d] * shape[d];
            pb -= sb[d] * shape[d];
            idx[d] = 0;
        }
    }
}

/// Single-operand version of [`walk_rows2`].
pub fn walk_rows(
    shape: &[usize],
    strides: &[usize],
    offset: usize,
    mut f: impl FnMut(usize, usize, usize),
) {
    walk_rows2(shape, strides, offset, strides, 0, |pa, _, n, ia, _| {
        f(pa, n, ia)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_strides_of_every_rank() {
        let cases: [(&[usize], &[usize]); 8] = [
            (&[], &[]),
            (&[5], &[1]),
            (&[3, 4], &[4, 1]),
            (&[3, 0], &[1, 1]),
            (&[2, 3, 4], &[12, 4, 1]),
            (&[2, 0, 4], &[4, 4, 1]),
            (&[2, 1, 3, 1, 2, 2], &[12, 12, 4, 4, 2, 1]),
            (&[2, 2, 2, 2, 2, 2, 3], &[96, 48, 24, 12, 6, 3, 1]),
        ];
        for (shape, strides) in cases {
            assert_eq!(
                contiguous_strides(shape).as_slice(),
                strides,
                "shape {shape:?}"
            );
        }
    }

    #[test]
    fn broadcasting_rules() {
        assert_eq!(broadcast_shapes(&[3, 1], &[4]).unwrap().as_slice(), &[3, 4]);
        assert_eq!(broadcast_shapes(&[], &[2, 2]).unwrap().as_slice(), &[2, 2]);
        assert!(broadcast_shapes(&[3], &[4]).is_none());
    }

    #[test]
    fn walk_visits_transposed_order() {
        // a 2x3 tensor stored column-major (strides [1, 2])
        let mut seen = vec![];
        walk_rows(&[2, 3], &[1, 2], 0, |p, n, s| {
            for i in 0..n {
                seen.push(p + i * s)
            }
        });
        assert_eq!(seen, vec![0, 2, 4, 1, 3, 5]);
    }
}
