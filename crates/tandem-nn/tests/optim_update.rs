//! AdamW's update spread over the pool in parts, checked against its formula (PyTorch's
//! `torch.optim.AdamW`, decoupled decay) evaluated in f64.

use tandem_core::Tensor;
use tandem_nn::optim::{AdamConfig, AdamW, Optimizer};

const CONFIG: AdamConfig = AdamConfig {
    lr: 1e-2,
    betas: (0.9, 0.999),
    eps: 1e-8,
    weight_decay: 0.1,
};

/// PyTorch's AdamW for one parameter with a constant gradient over `steps` steps.
fn reference(p: &[f32], g: &[f32], steps: i32) -> Vec<f64> {
    let (b1, b2) = CONFIG.betas;
    let mut out = Vec::with_capacity(p.len());
    for (&p, &g) in p.iter().zip(g) {
        let (mut p, g, mut m, mut v) = (p as f64, g as f64, 0.0, 0.0);
        for t in 1..=steps {
            p *= 1.0 - CONFIG.lr * CONFIG.weight_decay;
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            let denom = (v.sqrt() / (1.0 - b2.powi(t)).sqrt()) + CONFIG.eps;
            p -= CONFIG.lr / (1.0 - b1.powi(t)) * m / denom;
        }
        out.push(p);
    }
    out
}

fn param(n: usize, f: impl Fn(usize) -> f32) -> Tensor {
    Tensor::from_vec((0..n).map(f).collect::<Vec<f32>>(), &[n]).requires_grad_(true)
}

fn assert_close(got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= 1e-6 * (1.0 + w.abs()),
            "element {i}: {g} vs {w}"
        );
    }
}

#[test]
fn adamw_over_many_parts_follows_its_formula() {
    // 40,007 elements: several parts of the pool's update, the last one short.
    let (big, small) = (param(40_007, |i| (i as f32).sin()), param(3, |i| i as f32));
    let gb: Vec<f32> = (0..40_007).map(|i| 0.1 * (i as f32 * 0.7).cos()).collect();
    let gs = vec![0.5f32, -0.25, 0.0];
    let (pb0, ps0) = (big.to_vec::<f32>(), small.to_vec::<f32>());
    let mut opt = AdamW::with_config(vec![big.clone(), small.clone()], CONFIG);
    for _ in 0..3 {
        big.set_grad(Some(Tensor::from_vec(gb.clone(), &[40_007])));
        small.set_grad(Some(Tensor::from_vec(gs.clone(), &[3])));
        opt.step();
    }
    assert_close(&big.to_vec::<f32>(), &reference(&pb0, &gb, 3));
    assert_close(&small.to_vec::<f32>(), &reference(&ps0, &gs, 3));
}

#[test]
fn a_parameter_listed_twice_is_updated_once_per_listing() {
    let p = param(20_000, |i| (i as f32 * 0.01).cos());
    let g: Vec<f32> = (0..20_000).map(|i| 0.05 * (i as f32).sin()).collect();
    let p0 = p.to_vec::<f32>();
    let mut opt = AdamW::with_config(vec![p.clone(), p.clone()], CONFIG);
    p.set_grad(Some(Tensor::from_vec(g.clone(), &[20_000])));
    opt.step();
    // Each listing keeps its own state, so both apply a first step.
    let once: Vec<f32> = reference(&p0, &g, 1).iter().map(|&v| v as f32).collect();
    assert_close(&p.to_vec::<f32>(), &reference(&once, &g, 1));
}
