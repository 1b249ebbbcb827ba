//! The fused attention op: its gradients against central differences (first and second
//! order), and its tiled forward and backward against the plain composition of ops on shapes
//! that span several tiles, with every kind of mask. PyTorch's own values are checked in
//! tandem-nn's `attention_goldens` test.

#![allow(clippy::cloned_ref_to_slice_refs)]

use tandem_core::ops::attention::{attention_probs, scaled_dot_product_attention as sdpa};
use tandem_core::{autograd, manual_seed, randn, DType, Tensor};

fn rand64(shape: &[usize]) -> Tensor {
    randn(shape).to_dtype(DType::Float64)
}

fn composite(q: &Tensor, k: &Tensor, v: &Tensor, m: Option<&Tensor>, causal: bool) -> Tensor {
    let scale = 1.0 / (q.shape()[q.ndim() - 1] as f64).sqrt();
    attention_probs(q, k, m, causal, scale).matmul(v)
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec::<f64>()
        .iter()
        .zip(b.to_vec::<f64>())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Output and the gradients of `(out * r).sum()` of both implementations agree.
fn agree(q: &Tensor, k: &Tensor, v: &Tensor, m: Option<&Tensor>, causal: bool, tol: f64) {
    let leaves: Vec<Tensor> = [q, k, v]
        .iter()
        .map(|t| t.detach().requires_grad_(true))
        .collect();
    let fused = sdpa(&leaves[0], &leaves[1], &leaves[2], m, causal, None);
    let plain = composite(&leaves[0], &leaves[1], &leaves[2], m, causal);
    assert!(
        max_diff(&fused, &plain) < tol,
        "forward differs by {}",
        max_diff(&fused, &plain)
    );
    let r = randn(fused.shape()).to_dtype(fused.dtype());
    let refs: Vec<&Tensor> = leaves.iter().collect();
    let gf = autograd::grad(&(&fused * &r).sum(), &refs);
    let gp = autograd::grad(&(&plain * &r).sum(), &refs);
    for (name, (a, b)) in ["q", "k", "v"].iter().zip(gf.iter().zip(&gp)) {
        assert!(
            max_diff(a, b) < tol,
            "d{name} differs by {}",
            max_diff(a, b)
        );
    }
}

#[test]
fn tiled_attention_matches_the_composition_across_several_tiles() {
    manual_seed(0);
    // 150 queries and 130 keys: three tiles of rows, three of columns, ragged last ones.
    let (q, k, v) = (
        rand64(&[2, 3, 150, 8]),
        rand64(&[2, 3, 130, 8]),
        rand64(&[2, 3, 130, 5]),
    );
    agree(&q, &k, &v, None, false, 1e-12);
    agree(&q, &k, &v, None, true, 1e-12);
    let bool_mask = randn(&[150, 130]).gt(-1.0);
    agree(&q, &k, &v, Some(&bool_mask), false, 1e-12);
    let add_mask = rand64(&[2, 1, 150, 130]);
    agree(&q, &k, &v, Some(&add_mask), false, 1e-12);
    // float32 through the vectorized exp
    let f = |t: &Tensor| t.to_dtype(DType::Float32);
    agree(&f(&q), &f(&k), &f(&v), None, true, 1e-5);
}

#[test]
fn strided_views_are_read_in_place_and_give_the_same_values() {
    manual_seed(1);
    // q, k, v as PyTorch's GPT makes them: one projection split and viewed as [B, H, T, D].
    let qkv = rand64(&[2, 70, 3 * 16]);
    let heads = |i: usize| {
        qkv.narrow(2, i * 16, 16)
            .reshape(&[2, 70, 4, 4])
            .transpose(1, 2)
    };
    let (q, k, v) = (heads(0), heads(1), heads(2));
    assert!(!q.is_contiguous());
    agree(&q, &k, &v, None, true, 1e-12);
    let dense = |t: &Tensor| t.contiguous();
    let a = sdpa(&q, &k, &v, None, true, None);
    let b = sdpa(&dense(&q), &dense(&k), &dense(&v), None, true, None);
    assert_eq!(a.to_vec::<f64>(), b.to_vec::<f64>());
}

#[test]
fn a_query_that_sees_no_key_gives_zeros() {
    let q = rand64(&[1, 3, 4]);
    let k = rand64(&[1, 2, 4]);
    let v = rand64(&[1, 2, 2]);
    let mask = Tensor::from_vec(vec![true, true, false, false, true, false], &[3, 2]);
    let y = sdpa(&q, &k, &v, Some(&mask), false, None);
    assert_eq!(y.to_vec::<f64>()[2..4], [0.0, 0.0]);
    assert!(y.to_vec::<f64>().iter().all(|x| x.is_finite()));
}

#[test]
fn gradients_match_central_differences() {
    manual_seed(2);
    let (q, k, v) = (rand64(&[2, 4, 3]), rand64(&[2, 5, 3]), rand64(&[2, 5, 2]));
    let mask = rand64(&[4, 5]);
    let f = |xs: &[Tensor]| sdpa(&xs[0], &xs[1], &xs[2], Some(&mask), false, Some(0.7));
    autograd::gradcheck(&f, &[q.clone(), k.clone(), v.clone()], 1e-6, 1e-7, 1e-5).unwrap();
    autograd::gradgradcheck(&f, &[q.clone(), k.clone(), v.clone()], 1e-5, 1e-5, 1e-3).unwrap();
    let causal = |xs: &[Tensor]| sdpa(&xs[0], &xs[1], &xs[2], None, true, None);
    autograd::gradcheck(&causal, &[q, k, v], 1e-6, 1e-7, 1e-5).unwrap();
}

#[test]
#[should_panic(expected = "Explicit attn_mask should not be set when is_causal=True")]
fn a_mask_and_causal_together_are_refused() {
    let q = rand64(&[1, 2, 2]);
    let m = Tensor::from_vec(vec![true; 4], &[2, 2]);
    sdpa(&q, &q, &q, Some(&m), true, None);
}

#[test]
fn erf_gelu_and_triangles_have_their_gradients() {
    let x = rand64(&[3, 4]);
    autograd::gradcheck(&|xs| xs[0].erf(), &[x.clone()], 1e-6, 1e-7, 1e-5).unwrap();
    autograd::gradgradcheck(&|xs| xs[0].gelu(), &[x.clone()], 1e-5, 1e-5, 1e-3).unwrap();
    autograd::gradcheck(&|xs| xs[0].gelu(), &[x.clone()], 1e-6, 1e-7, 1e-5).unwrap();
    autograd::gradcheck(&|xs| xs[0].triu(1), &[x.clone()], 1e-6, 1e-7, 1e-5).unwrap();
    autograd::gradcheck(&|xs| xs[0].tril(-1), &[x.clone()], 1e-6, 1e-7, 1e-5).unwrap();
    let (a, b) = (rand64(&[2, 3, 4]), rand64(&[2, 4, 2]));
    let c = rand64(&[2]);
    autograd::gradcheck(
        &|xs| xs[0].baddbmm(&xs[1], &xs[2], 0.5, 2.0),
        &[c, a, b],
        1e-6,
        1e-7,
        1e-5,
    )
    .unwrap();
}

#[test]
fn fused_layer_norm_matches_its_composition_and_central_differences() {
    manual_seed(3);
    let x = rand64(&[5, 3, 8]);
    let (w, b) = (rand64(&[3, 8]), rand64(&[3, 8]));
    let f = |xs: &[Tensor]| xs[0].layer_norm(&[3, 8], Some(&xs[1]), Some(&xs[2]), 1e-5);
    autograd::gradcheck(&f, &[x.clone(), w.clone(), b.clone()], 1e-6, 1e-7, 1e-5).unwrap();
    autograd::gradgradcheck(&f, &[x.clone(), w.clone(), b.clone()], 1e-5, 1e-5, 1e-3).unwrap();
    let plain = {
        let mean = x.mean_dims(&[-1, -2], true);
        let var = (&x - &mean).square().mean_dims(&[-1, -2], true);
        &(&(&(&x - &mean) / &(&var + 1e-5).sqrt()) * &w) + &b
    };
    assert!(max_diff(&f(&[x.clone(), w.clone(), b.clone()]), &plain) < 1e-12);
    let bare = |xs: &[Tensor]| xs[0].layer_norm(&[8], None, None, 1e-3);
    autograd::gradcheck(&bare, &[x], 1e-6, 1e-7, 1e-5).unwrap();
}

#[test]
fn topk_orders_values_and_routes_gradients_back() {
    let x = Tensor::from_vec(vec![3.0f64, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0], &[2, 4])
        .requires_grad_(true);
    let (v, i) = x.topk(2, 1, true);
    assert_eq!(v.to_vec::<f64>(), [4.0, 3.0, 9.0, 6.0]);
    assert_eq!(i.to_vec::<i64>(), [2, 0, 1, 3]);
    let (v0, i0) = x.topk(1, 0, false);
    assert_eq!(v0.to_vec::<f64>(), [3.0, 1.0, 2.0, 1.0]);
    assert_eq!(i0.to_vec::<i64>(), [0, 0, 1, 0]);
    v.sum().backward();
    assert_eq!(
        x.grad().unwrap().to_vec::<f64>(),
        [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]
    );
}

#[test]
fn views_split_the_contiguous_last_dimension_of_a_narrowed_tensor() {
    let x = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 12]);
    let part = x.narrow(1, 4, 4); // rows of 4 inside rows of 12
    let v = part.view(&[2, 2, 2]);
    assert!(!v.is_contiguous(), "a view, not a copy");
    assert_eq!(v.to_vec::<f64>(), [4., 5., 6., 7., 16., 17., 18., 19.]);
    // merging the two rows cannot be a view; reshape copies, view refuses
    assert_eq!(part.reshape(&[8]).to_vec::<f64>(), v.to_vec::<f64>());
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| part.view(&[8])));
    assert!(refused.is_err());
}
