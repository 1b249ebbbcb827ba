//! Every differentiable op's backward against central differences in float64
//! (`torch.autograd.gradcheck`), and second derivatives for the smooth ones.

// The tables read better as `&[x.clone()]` than as `std::slice::from_ref(&x)`.
#![allow(clippy::cloned_ref_to_slice_refs)]

use tandem_core::{autograd, Tensor};

/// Deterministic float64 values in [lo, hi), away from integers and from each other.
fn vals(shape: &[usize], lo: f64, hi: f64, salt: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| {
            let u = ((i as u64 * 7919 + salt * 104729) % 1000) as f64 / 1000.0;
            lo + (hi - lo) * (0.0173 + 0.97 * u)
        })
        .collect();
    Tensor::from_vec(v, shape)
}

fn check(name: &str, f: &dyn Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) {
    if let Err(e) = autograd::gradcheck(f, inputs, 1e-6, 1e-6, 1e-4) {
        panic!("{name}: {e}");
    }
}

fn check2(name: &str, f: &dyn Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) {
    check(name, f, inputs);
    if let Err(e) = autograd::gradgradcheck(f, inputs, 1e-5, 1e-5, 1e-3) {
        panic!("{name} (second order): {e}");
    }
}

#[test]
fn unary_ops() {
    let x = vals(&[3, 4], -2.0, 2.0, 1);
    let pos = vals(&[3, 4], 0.3, 3.0, 2);
    check2("neg", &|t| t[0].neg(), &[x.clone()]);
    check("abs", &|t| t[0].abs(), &[x.clone()]);
    check("sign", &|t| t[0].sign(), &[x.clone()]);
    check("round", &|t| t[0].round(), &[x.clone()]);
    check("floor", &|t| t[0].floor(), &[x.clone()]);
    check("ceil", &|t| t[0].ceil(), &[x.clone()]);
    check2("square", &|t| t[0].square(), &[x.clone()]);
    check2("sqrt", &|t| t[0].sqrt(), &[pos.clone()]);
    check2("rsqrt", &|t| t[0].rsqrt(), &[pos.clone()]);
    check2("reciprocal", &|t| t[0].reciprocal(), &[pos.clone()]);
    check2("exp", &|t| t[0].exp(), &[x.clone()]);
    check2("log", &|t| t[0].log(), &[pos.clone()]);
    check2("log1p", &|t| t[0].log1p(), &[pos.clone()]);
    check2("expm1", &|t| t[0].expm1(), &[x.clone()]);
    check2("sin", &|t| t[0].sin(), &[x.clone()]);
    check2("cos", &|t| t[0].cos(), &[x.clone()]);
    check2("tanh", &|t| t[0].tanh(), &[x.clone()]);
    check2("sigmoid", &|t| t[0].sigmoid(), &[x.clone()]);
    check("relu", &|t| t[0].relu(), &[x.clone()]);
    check(
        "clamp",
        &|t| t[0].clamp(Some(-1.0), Some(1.0)),
        &[x.clone()],
    );
    check2("pow_scalar", &|t| t[0].pow(2.5), &[pos.clone()]);
    check2("pow_scalar_int", &|t| t[0].pow(3), &[x.clone()]);
    check2(
        "to_dtype",
        &|t| t[0].to_dtype(tandem_core::DType::Float64),
        &[x],
    );
}

#[test]
fn binary_ops_with_broadcasting() {
    let a = vals(&[2, 3, 4], -2.0, 2.0, 3);
    let b = vals(&[3, 1], 0.5, 2.0, 4);
    let c = vals(&[4], -1.5, 1.5, 5);
    check2("add", &|t| &t[0] + &t[1], &[a.clone(), b.clone()]);
    check2("sub", &|t| &t[0] - &t[1], &[a.clone(), c.clone()]);
    check2("mul", &|t| &t[0] * &t[1], &[a.clone(), b.clone()]);
    check2("div", &|t| &t[0] / &t[1], &[a.clone(), b.clone()]);
    check2("pow", &|t| t[0].pow(&t[1]), &[b.clone(), c.clone()]);
    check("maximum", &|t| t[0].maximum(&t[1]), &[a.clone(), c.clone()]);
    check("minimum", &|t| t[0].minimum(&t[1]), &[a.clone(), b.clone()]);
    check2("scalar_rsub", &|t| 2.0 - &t[0], &[a.clone()]);
    check2("scalar_rdiv", &|t| 2.0 / &t[0], &[b]);
    check2(
        "zero_dim",
        &|t| &t[0] * &t[1],
        &[a, Tensor::from_vec(vec![1.7f64], &[])],
    );
}

#[test]
fn reductions_and_scans() {
    let x = vals(&[3, 4, 2], -2.0, 2.0, 6);
    let pos = vals(&[3, 4], 0.5, 1.5, 7);
    check2("sum", &|t| t[0].sum(), &[x.clone()]);
    check2("sum_dims", &|t| t[0].sum_dims(&[0, 2], false), &[x.clone()]);
    check2("sum_keepdim", &|t| t[0].sum_dims(&[-1], true), &[x.clone()]);
    check2("mean_dims", &|t| t[0].mean_dims(&[1], false), &[x.clone()]);
    check2("var", &|t| t[0].var_dims(&[1], 1, false), &[x.clone()]);
    check2("std", &|t| t[0].std_dims(&[0], 0, true), &[x.clone()]);
    check2("prod", &|t| t[0].prod_dims(&[1], false), &[pos.clone()]);
    check2("logsumexp", &|t| t[0].logsumexp(&[1], false), &[x.clone()]);
    check2("softmax", &|t| t[0].softmax(1), &[x.clone()]);
    check2("softmax_dim0", &|t| t[0].softmax(0), &[x.clone()]);
    check2("log_softmax", &|t| t[0].log_softmax(-1), &[x.clone()]);
    check("max", &|t| t[0].max(), &[x.clone()]);
    check("min", &|t| t[0].min(), &[x.clone()]);
    check("max_dim", &|t| t[0].max_dim(1, false).0, &[x.clone()]);
    check("min_dim", &|t| t[0].min_dim(0, true).0, &[x.clone()]);
    check2("cumsum", &|t| t[0].cumsum(1), &[x.clone()]);
    check2("cumprod", &|t| t[0].cumprod(1), &[pos]);
}

#[test]
fn views() {
    let x = vals(&[2, 3, 4], -2.0, 2.0, 8);
    check2("reshape", &|t| t[0].reshape(&[4, -1]), &[x.clone()]);
    check2(
        "permute",
        &|t| t[0].permute(&[2, 0, 1]).square(),
        &[x.clone()],
    );
    check2(
        "transpose_reshape",
        &|t| t[0].transpose(0, 2).reshape(&[-1]),
        &[x.clone()],
    );
    check2(
        "expand",
        &|t| t[0].narrow(0, 0, 1).expand(&[3, -1, -1]),
        &[x.clone()],
    );
    check2("narrow", &|t| t[0].narrow(2, 1, 2), &[x.clone()]);
    check2("select", &|t| t[0].select(1, -1), &[x.clone()]);
    check2("slice_step", &|t| t[0].slice(2, 0, 4, 2), &[x.clone()]);
    check2(
        "squeeze_unsqueeze",
        &|t| t[0].unsqueeze(1).squeeze(Some(1)).flatten(0, 1),
        &[x.clone()],
    );
    check2("index", &|t| t[0].i((.., 1..3, 2)), &[x]);
}

#[test]
fn copies_and_indexing() {
    let a = vals(&[3, 4], -2.0, 2.0, 9);
    let b = vals(&[2, 4], -2.0, 2.0, 10);
    let idx = Tensor::from_vec(vec![2i64, 0, 1, 0, 1, 2, 2, 0], &[2, 4]);
    let rows = Tensor::from_vec(vec![2i64, 0, 2], &[3]);
    let mask = Tensor::from_vec(vec![true, false, false, true], &[4]);
    check2(
        "cat",
        &|t| Tensor::cat(&[&t[0], &t[1]], 0),
        &[a.clone(), b.clone()],
    );
    check2(
        "stack",
        &|t| Tensor::stack(&[&t[0].narrow(0, 0, 2), &t[1]], 1),
        &[a.clone(), b.clone()],
    );
    check2("gather", &|t| t[0].gather(0, &idx), &[a.clone()]);
    check2(
        "scatter_add",
        &|t| t[0].scatter_add(0, &idx, &t[1]),
        &[a.clone(), b.clone()],
    );
    check2(
        "index_select",
        &|t| t[0].index_select(0, &rows),
        &[a.clone()],
    );
    check2(
        "index_add",
        &|t| t[0].index_add(0, &rows.narrow(0, 0, 2), &t[1]),
        &[a.clone(), b.clone()],
    );
    check2(
        "masked_fill",
        &|t| t[0].masked_fill(&mask, 0.5),
        &[a.clone()],
    );
    let cond = a.gt(0.0);
    check2(
        "where",
        &|t| Tensor::where_(&cond, &t[0], &t[1].narrow(0, 0, 1)),
        &[a.clone(), b.clone()],
    );
    check2("split", &|t| &t[0].split(3, 1)[1] * 2.0, &[a.clone()]);
    check2("contiguous_copy", &|t| t[0].t().contiguous_copy(), &[a]);
}

#[test]
fn matrix_products() {
    let a = vals(&[3, 4], -1.0, 1.0, 11);
    let b = vals(&[4, 5], -1.0, 1.0, 12);
    let ba = vals(&[2, 3, 4], -1.0, 1.0, 13);
    let bb = vals(&[2, 1, 4, 2], -1.0, 1.0, 14);
    let v = vals(&[4], -1.0, 1.0, 15);
    check2("matmul", &|t| t[0].matmul(&t[1]), &[a.clone(), b.clone()]);
    check2(
        "matmul_transposed",
        &|t| t[0].t().matmul(&t[1].t()),
        &[b.clone(), a.clone()],
    );
    check2(
        "matmul_broadcast_batch",
        &|t| t[0].matmul(&t[1]),
        &[ba.clone(), bb],
    );
    check2(
        "bmm",
        &|t| t[0].bmm(&t[1]),
        &[ba.clone(), vals(&[2, 4, 3], -1.0, 1.0, 16)],
    );
    check2("matvec", &|t| t[0].matmul(&t[1]), &[a, v.clone()]);
    check2("dot", &|t| t[0].dot(&t[1]), &[v.clone(), v.clone()]);
    check2(
        "outer",
        &|t| t[0].outer(&t[1]),
        &[v, vals(&[3], -1.0, 1.0, 17)],
    );
}

#[test]
fn addmm_with_every_input_shape() {
    // 9 rows against a shared dimension of 12 through a transposed weight: the product is
    // computed column-major and transposed onto the bias.
    let x = vals(&[9, 12], -1.0, 1.0, 18);
    let w = vals(&[5, 12], -1.0, 1.0, 19);
    let a = vals(&[3, 4], -1.0, 1.0, 20);
    let b = vals(&[4, 5], -1.0, 1.0, 21);
    check2(
        "addmm_linear",
        &|t| t[0].addmm(&t[1], &t[2].t(), 1.0, 1.0),
        &[vals(&[5], -1.0, 1.0, 22), x, w],
    );
    check2(
        "addmm_column_input_beta",
        &|t| t[0].addmm(&t[1], &t[2], 0.5, 1.0),
        &[vals(&[3, 1], -1.0, 1.0, 23), a.clone(), b.clone()],
    );
    check2(
        "addmm_full_input_alpha",
        &|t| t[0].addmm(&t[1], &t[2], 1.0, 2.0),
        &[vals(&[3, 5], -1.0, 1.0, 24), a, b],
    );
}

#[test]
fn addmm_relu_is_the_relu_of_addmm_and_differentiates_through_the_mask() {
    // A bias and a transposed weight, as nn.Sequential's Linear + ReLU runs it.
    let inputs = [
        vals(&[5], -1.0, 1.0, 25),
        vals(&[9, 12], -1.0, 1.0, 26),
        vals(&[5, 12], -1.0, 1.0, 27),
    ];
    let fused = inputs[0].addmm_relu(&inputs[1], &inputs[2].t());
    let plain = inputs[0].addmm(&inputs[1], &inputs[2].t(), 1.0, 1.0).relu();
    assert_eq!(fused.to_vec::<f64>(), plain.to_vec::<f64>());
    let y = fused.to_vec::<f64>();
    assert!(
        y.contains(&0.0) && y.iter().any(|v| *v > 0.0),
        "the ReLU both zeroes and passes values here"
    );
    check2(
        "addmm_relu",
        &|t| t[0].addmm_relu(&t[1], &t[2].t()),
        &inputs,
    );
}

#[test]
fn addmm_is_its_definition_and_beta_zero_ignores_the_input() {
    let (m, k, n) = (10, 16, 7);
    let x: Vec<f32> = (0..m * k).map(|i| (i % 9) as f32 - 4.0).collect();
    let w: Vec<f32> = (0..n * k).map(|i| (i % 5) as f32 * 0.5).collect();
    let bias: Vec<f32> = (0..n).map(|j| j as f32 * 10.0).collect();
    let (xt, wt) = (
        Tensor::from_vec(x.clone(), &[m, k]),
        Tensor::from_vec(w.clone(), &[n, k]),
    );
    for (beta, alpha) in [(1.0, 1.0), (0.5, 1.0), (1.0, -2.0)] {
        let got = Tensor::from_vec(bias.clone(), &[n]).addmm(&xt, &wt.t(), beta, alpha);
        assert_eq!(got.shape(), &[m, n]);
        let got = got.to_vec::<f32>();
        for i in 0..m {
            for j in 0..n {
                let dot: f32 = (0..k).map(|p| x[i * k + p] * w[j * k + p]).sum();
                let want = beta as f32 * bias[j] + alpha as f32 * dot;
                assert_eq!(
                    got[i * n + j],
                    want,
                    "({i}, {j}) with beta {beta}, alpha {alpha}"
                );
            }
        }
    }
    let nan = Tensor::from_vec(vec![f32::NAN; n], &[n]);
    assert!(nan
        .addmm(&xt, &wt.t(), 0.0, 1.0)
        .to_vec::<f32>()
        .iter()
        .all(|v| v.is_finite()));
}
