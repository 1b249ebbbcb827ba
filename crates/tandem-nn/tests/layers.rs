//! Layers and schedulers checked against their definitions.

use tandem_core::{DType, Tensor};
use tandem_nn::optim::{
    CosineAnnealingLR, ExponentialLR, LrScheduler, MultiStepLR, Optimizer, ReduceLROnPlateau,
    StepLR, SGD,
};
use tandem_nn::{BatchNorm1d, Dropout, Embedding, LayerNorm, Module, Params};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * (1.0 + b.abs())
}

#[test]
fn schedulers_follow_their_formulas() {
    let p = Tensor::new([1.0]).requires_grad_(true);
    let mut opt = SGD::new(vec![p.clone()], 0.1, 0.0);
    let mut s = StepLR::new(&opt, 2, 0.5);
    let lrs: Vec<f64> = (0..5)
        .map(|_| {
            s.step(&mut opt);
            opt.lr()
        })
        .collect();
    for (got, want) in lrs.iter().zip([0.1, 0.05, 0.05, 0.025, 0.025]) {
        assert!(close(*got, want), "{lrs:?}");
    }
    let mut opt = SGD::new(vec![p.clone()], 1.0, 0.0);
    let mut s = MultiStepLR::new(&opt, vec![1, 3], 0.1);
    let lrs: Vec<f64> = (0..4)
        .map(|_| {
            s.step(&mut opt);
            opt.lr()
        })
        .collect();
    for (got, want) in lrs.iter().zip([0.1, 0.1, 0.01, 0.01]) {
        assert!(close(*got, want), "{lrs:?}");
    }
    let mut opt = SGD::new(vec![p.clone()], 1.0, 0.0);
    let mut s = ExponentialLR::new(&opt, 0.9);
    s.step(&mut opt);
    s.step(&mut opt);
    assert!(close(opt.lr(), 0.81));
    let mut opt = SGD::new(vec![p.clone()], 1.0, 0.0);
    let mut s = CosineAnnealingLR::new(&opt, 4, 0.0);
    s.step(&mut opt);
    s.step(&mut opt);
    assert!(
        close(opt.lr(), 0.5),
        "half way down the cosine: {}",
        opt.lr()
    );
    let mut opt = SGD::new(vec![p], 1.0, 0.0);
    let mut s = ReduceLROnPlateau::new(&opt, 0.5, 1);
    for m in [1.0, 0.5, 0.5, 0.5] {
        s.step_with(m, &mut opt);
    }
    assert!(
        close(opt.lr(), 0.5),
        "one reduction after two flat epochs: {}",
        opt.lr()
    );
}

#[test]
fn layer_norm_normalizes_the_last_axis() {
    let ln = LayerNorm::new(4);
    let x = Tensor::new([[1.0, 2.0, 3.0, 4.0], [10.0, 10.0, 20.0, 20.0]]);
    let y = ln.forward(&x).to_vec::<f64>();
    // row 0: mean 2.5, biased var 1.25
    let s = (1.25f64 + 1e-5).sqrt();
    for (g, w) in y[..4].iter().zip([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) {
        assert!((g - w).abs() < 1e-5, "{y:?}");
    }
    for row in y.chunks(4) {
        assert!(row.iter().sum::<f64>().abs() < 1e-5);
    }
}

#[test]
fn batch_norm_uses_batch_statistics_in_training_and_running_ones_in_eval() {
    let mut bn = BatchNorm1d::new(2);
    let x = Tensor::new([[1.0, 10.0], [3.0, 30.0]]);
    let y = bn.forward(&x).to_vec::<f64>();
    // per column: mean (2, 20), biased var (1, 100): outputs are -1 and +1 (up to eps)
    for (g, w) in y.iter().zip([-1.0, -1.0, 1.0, 1.0]) {
        assert!((g - w).abs() < 1e-4, "{y:?}");
    }
    // running stats: 0.9 * init + 0.1 * batch (unbiased variance: 2 and 200)
    let rm = bn.running_mean.to_vec::<f64>();
    let rv = bn.running_var.to_vec::<f64>();
    assert!(
        (rm[0] - 0.2).abs() < 1e-6 && (rm[1] - 2.0).abs() < 1e-5,
        "{rm:?}"
    );
    assert!(
        (rv[0] - 1.1).abs() < 1e-6 && (rv[1] - 20.9).abs() < 1e-4,
        "{rv:?}"
    );
    bn.eval();
    let z = bn.forward(&Tensor::new([[0.2, 2.0]])).to_vec::<f64>();
    assert!(
        z[0].abs() < 1e-6 && z[1].abs() < 1e-6,
        "the running mean maps to zero: {z:?}"
    );
    let names: Vec<String> = bn.state_dict().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias", "running_mean", "running_var"]);
    assert_eq!(
        bn.parameters().len(),
        2,
        "running statistics are buffers, not parameters"
    );
}

#[test]
fn embedding_looks_up_rows_and_dropout_obeys_the_mode() {
    let e = Embedding::new(5, 3);
    let idx = Tensor::from_vec(vec![4i64, 0, 4], &[3]);
    let out = e.forward(&idx);
    assert_eq!(out.shape(), &[3, 3]);
    let w = e.weight.to_vec::<f32>();
    assert_eq!(&out.to_vec::<f32>()[..3], &w[12..15]);
    out.sum().backward();
    let g = e.weight.grad().unwrap().to_vec::<f32>();
    assert_eq!(&g[12..15], &[2.0, 2.0, 2.0], "row 4 was used twice");
    assert_eq!(&g[3..6], &[0.0, 0.0, 0.0]);

    let mut d = Dropout::new(0.5);
    let x = tandem_core::ones(&[10_000], DType::Float32);
    let y = d.forward(&x).to_vec::<f32>();
    let kept = y.iter().filter(|v| **v != 0.0).count();
    assert!((4500..5500).contains(&kept), "about half kept: {kept}");
    assert!(
        y.iter().all(|v| *v == 0.0 || *v == 2.0),
        "kept values scaled by 1/(1-p)"
    );
    d.set_training(false);
    assert_eq!(d.forward(&x).to_vec::<f32>(), x.to_vec::<f32>());
}

/// `nn.Sequential(nn.Linear(...), nn.ReLU())` runs the pair as one op, with the values and
/// gradients (input, weight, bias) of the two applied in turn.
#[test]
fn sequential_fuses_a_linear_layer_with_its_relu() {
    tandem_core::manual_seed(9);
    let model = tandem_nn::Sequential::new()
        .add(tandem_nn::Linear::new(7, 5))
        .add(tandem_nn::ReLU);
    let x = tandem_core::randn(&[6, 7]).requires_grad_(true);
    let r = tandem_core::randn(&[6, 5]);
    let (w, b) = (model.parameters()[0].clone(), model.parameters()[1].clone());
    let run = |y: Tensor| {
        model.zero_grad();
        x.set_grad(None);
        (&y * &r).sum().backward();
        [
            y.detach(),
            x.grad().unwrap(),
            w.grad().unwrap(),
            b.grad().unwrap(),
        ]
    };
    let fused = model.forward(&x);
    assert_eq!(fused.grad_fn_name(), Some("AddmmReluBackward"));
    let got = run(fused);
    let want = run(tandem_nn::functional::linear(&x, &w, Some(&b)).relu());
    let y = got[0].to_vec::<f32>();
    assert!(y.contains(&0.0) && y.iter().any(|v| *v > 0.0));
    for (g, w) in got.iter().zip(&want) {
        for (a, b) in g.to_vec::<f32>().iter().zip(w.to_vec::<f32>()) {
            assert!(close(*a as f64, b as f64), "{a} vs {b}");
        }
    }
}

/// `nn.Sequential(nn.Conv2d(...), nn.ReLU())` runs the pair as one op, with the values and
/// gradients of the two applied in turn.
#[test]
fn sequential_fuses_a_convolution_with_its_relu() {
    use tandem_core::ops::conv::{conv2d, Conv2dArgs};
    tandem_core::manual_seed(8);
    let model = tandem_nn::Sequential::new()
        .add(tandem_nn::Conv2d::new(2, 3, 3))
        .add(tandem_nn::ReLU);
    let x = tandem_core::randn(&[4, 2, 7, 6]);
    let r = tandem_core::randn(&[4, 3, 5, 4]);
    let (w, b) = (model.parameters()[0].clone(), model.parameters()[1].clone());
    let run = |y: Tensor| {
        model.zero_grad();
        (&y * &r).sum().backward();
        [y.detach(), w.grad().unwrap(), b.grad().unwrap()]
    };
    let fused = model.forward(&x);
    assert_eq!(fused.grad_fn_name(), Some("ConvolutionReluBackward"));
    let got = run(fused);
    let want = run(conv2d(&x, &w, Some(&b), Conv2dArgs::default()).relu());
    for (g, w) in got.iter().zip(&want) {
        for (a, b) in g.to_vec::<f32>().iter().zip(w.to_vec::<f32>()) {
            assert!(close(*a as f64, b as f64), "{a} vs {b}");
        }
    }
}
