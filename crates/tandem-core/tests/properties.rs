//! Property tests for broadcasting, views and shape algebra.

use proptest::prelude::*;
use tandem_core::{broadcast_shapes, Tensor};

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..5, 0..4)
}

fn tensor_of(shape: &[usize], salt: usize) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        (0..n)
            .map(|i| ((i * 31 + salt * 7) % 17) as f64 - 8.0)
            .collect(),
        shape,
    )
}

/// Row-major multi-index of flat position `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

/// The element of `t` (given by its values and shape) read at a broadcast index.
fn at_broadcast(vals: &[f64], shape: &[usize], idx: &[usize]) -> f64 {
    let off = idx.len() - shape.len();
    let mut flat = 0;
    for (d, &s) in shape.iter().enumerate() {
        let i = if s == 1 { 0 } else { idx[d + off] };
        flat = flat * s + i;
    }
    vals[flat]
}

/// Makes `b` broadcast-compatible with `a` by setting some dims to 1 and dropping leading ones.
fn compatible(a: &[usize], ones: &[bool], drop: usize) -> Vec<usize> {
    let b: Vec<usize> = a
        .iter()
        .zip(ones.iter().cycle())
        .map(|(&d, &o)| if o { 1 } else { d })
        .collect();
    b[drop.min(b.len())..].to_vec()
}

proptest! {
    #[test]
    fn broadcasting_is_symmetric_and_matches_indexing(a in shape(), ones in prop::collection::vec(any::<bool>(), 1..4), drop in 0usize..3) {
        let b = compatible(&a, &ones, drop);
        let s1 = broadcast_shapes(&a, &b).unwrap();
        let s2 = broadcast_shapes(&b, &a).unwrap();
        prop_assert_eq!(&s1, &s2);
        let (ta, tb) = (tensor_of(&a, 1), tensor_of(&b, 2));
        let sum = &ta + &tb;
        prop_assert_eq!(sum.shape(), s1.as_slice());
        let (va, vb, vs) = (ta.to_vec::<f64>(), tb.to_vec::<f64>(), sum.to_vec::<f64>());
        for (i, v) in vs.iter().enumerate() {
            let idx = unravel(i, &s1);
            prop_assert_eq!(*v, at_broadcast(&va, &a, &idx) + at_broadcast(&vb, &b, &idx));
        }
        // the gradient of a broadcast operand sums back to its own shape
        let back = sum.sum_to_shape(&b);
        prop_assert_eq!(back.shape(), b.as_slice());
    }

    #[test]
    fn permute_and_its_inverse_round_trip(a in prop::collection::vec(1usize..5, 1..5), seed in any::<u64>()) {
        let t = tensor_of(&a, 3);
        let mut perm: Vec<isize> = (0..a.len() as isize).collect();
        let n = perm.len();
        for i in (1..n).rev() {
            perm.swap(i, (seed as usize).wrapping_mul(i + 7) % (i + 1));
        }
        let p = t.permute(&perm);
        for (i, &d) in perm.iter().enumerate() {
            prop_assert_eq!(p.shape()[i], a[d as usize]);
        }
        let mut inv = vec![0isize; n];
        for (i, &d) in perm.iter().enumerate() {
            inv[d as usize] = i as isize;
        }
        prop_assert_eq!(p.permute(&inv).to_vec::<f64>(), t.to_vec::<f64>());
        // a contiguous copy of the view reads the same elements as the view
        prop_assert_eq!(p.contiguous().to_vec::<f64>(), p.to_vec::<f64>());
    }

    #[test]
    fn reshape_keeps_row_major_order(a in prop::collection::vec(1usize..5, 1..4)) {
        let t = tensor_of(&a, 4).t_all();
        let flat = t.reshape(&[-1]);
        prop_assert_eq!(flat.to_vec::<f64>(), t.to_vec::<f64>());
        let back = flat.reshape(&t.shape().iter().map(|&d| d as isize).collect::<Vec<_>>());
        prop_assert_eq!(back.to_vec::<f64>(), t.to_vec::<f64>());
    }

    #[test]
    fn slices_read_the_indexed_elements(rows in 1usize..7, cols in 1usize..7, start in 0usize..6, step in 1usize..3) {
        let t = tensor_of(&[rows, cols], 5);
        let v = t.to_vec::<f64>();
        let s = t.slice(1, start as isize, cols as isize, step);
        let got = s.to_vec::<f64>();
        let mut want = vec![];
        for r in 0..rows {
            for c in (start.min(cols)..cols).step_by(step) {
                want.push(v[r * cols + c]);
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn expand_then_sum_to_shape_multiplies_by_the_broadcast_factor(a in prop::collection::vec(1usize..4, 1..3), k in 1usize..4) {
        let t = tensor_of(&a, 6);
        let mut target: Vec<isize> = vec![k as isize];
        target.extend(a.iter().map(|&d| d as isize));
        let e = t.expand(&target);
        let back = e.sum_to_shape(&a);
        let want: Vec<f64> = t.to_vec::<f64>().iter().map(|v| v * k as f64).collect();
        prop_assert_eq!(back.to_vec::<f64>(), want);
    }
}

trait TransposeAll {
    fn t_all(&self) -> Tensor;
}
impl TransposeAll for Tensor {
    /// Reverses the dimensions: a non-contiguous view whenever two or more dims exceed 1.
    fn t_all(&self) -> Tensor {
        let p: Vec<isize> = (0..self.ndim() as isize).rev().collect();
        self.permute(&p)
    }
}

#[test]
fn a_long_permuted_copy_puts_every_element_where_the_index_says() {
    // [b, h, t, d] -> [b, t, h, d], as attention heads are joined again: rows of d stay
    // contiguous, and 8 * 4 * 96 * 32 elements are enough to copy over the pool.
    let (b, h, t, d) = (8, 4, 96, 32);
    let x = Tensor::from_vec(
        (0..b * h * t * d).map(|i| i as f32).collect(),
        &[b, h, t, d],
    );
    let y = x.transpose(1, 2).contiguous();
    assert_eq!(y.shape(), &[b, t, h, d]);
    let got = y.to_vec::<f32>();
    for (i, &v) in got.iter().enumerate() {
        let idx = unravel(i, &[b, t, h, d]);
        let want = (((idx[0] * h + idx[2]) * t + idx[1]) * d + idx[3]) as f32;
        assert_eq!(v, want, "element {i} at {idx:?}");
    }
    // A slice of the last dimension (rows 16 long, 32 apart) is gathered the same way.
    let z = x.narrow(3, 5, 16).contiguous().to_vec::<f32>();
    for (i, &v) in z.iter().enumerate() {
        let (r, c) = (i / 16, i % 16);
        assert_eq!(v, (r * d + 5 + c) as f32, "narrowed element {i}");
    }
}

#[test]
fn a_long_row_gather_and_a_long_biased_product_match_their_definitions() {
    // 100 rows of 784 (a batch of MNIST images) picked by index, negative ones from the end:
    // long enough to be gathered over the pool.
    let (rows, width) = (300, 784);
    let x = Tensor::from_vec(
        (0..rows * width).map(|i| i as f32).collect(),
        &[rows, width],
    );
    let picks: Vec<i64> = (0..100).map(|i| (i * 37 % 600) as i64 - 300).collect();
    let got = x
        .index_select(0, &Tensor::from_vec(picks.clone(), &[100]))
        .to_vec::<f32>();
    for (k, &p) in picks.iter().enumerate() {
        let r = p.rem_euclid(rows as i64) as usize;
        for c in 0..width {
            assert_eq!(
                got[k * width + c],
                (r * width + c) as f32,
                "row {k}, column {c}"
            );
        }
    }
    // bias + a @ b with a 64 x 520 result: the bias rows are laid down over the pool first.
    let (m, k, n) = (64, 3, 520);
    let a = Tensor::from_vec((0..m * k).map(|i| (i % 5) as f32).collect(), &[m, k]);
    let b = Tensor::from_vec((0..k * n).map(|i| (i % 7) as f32).collect(), &[k, n]);
    let bias = Tensor::from_vec((0..n).map(|j| j as f32 * 0.5).collect(), &[n]);
    let y = bias.addmm(&a, &b, 1.0, 1.0).to_vec::<f32>();
    for i in 0..m {
        for j in 0..n {
            let dot: f32 = (0..k)
                .map(|p| ((i * k + p) % 5) as f32 * ((p * n + j) % 7) as f32)
                .sum();
            assert_eq!(y[i * n + j], j as f32 * 0.5 + dot, "element ({i}, {j})");
        }
    }
}
