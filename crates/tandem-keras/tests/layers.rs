//! Input, Reshape, Embedding, BatchNormalization, kernel regularizers, precision and recall.

use tandem_core::{autograd, Tensor};
use tandem_keras::layers::{
    BatchNormalization, Dense, Embedding, Flatten, Input, Layer, Regularizer, Reshape,
};
use tandem_keras::{optimizers, FitArgs, Sequential};

fn quiet(epochs: usize, batch_size: usize) -> FitArgs<'static> {
    FitArgs {
        epochs,
        batch_size,
        verbose: 0,
        shuffle: false,
        ..Default::default()
    }
}

#[test]
fn input_declares_the_shape_and_stays_out_of_the_summary() {
    let m = Sequential::new(vec![
        Box::new(Input::new(&[12])),
        Box::new(Reshape::new(&[3, -1])),
        Box::new(Flatten::new()),
        Box::new(Dense::new(2)),
    ]);
    let s = m.summary();
    assert!(!s.contains("input"), "{s}");
    let row = |name: &str| s.lines().find(|l| l.contains(name)).unwrap().to_string();
    assert!(row("reshape (Reshape)").contains("(None, 3, 4)"), "{s}");
    assert!(row("flatten (Flatten)").contains("(None, 12)"), "{s}");
    assert!(
        row("dense (Dense)").contains("26"),
        "12*2+2 parameters: {s}"
    );
}

#[test]
fn reshape_keeps_the_batch_axis_and_the_order_of_elements() {
    let r = Reshape::new(&[2, -1]);
    let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[2, 6]);
    let y = r.call(&x, false);
    assert_eq!(y.shape(), &[2, 2, 3]);
    assert_eq!(y.to_vec::<f32>(), x.to_vec::<f32>());
    assert_eq!(r.output_shape(&[6]), vec![2, 3]);
}

#[test]
fn embedding_looks_up_rows_and_learns_them() {
    tandem_core::manual_seed(0);
    let e = Embedding::new(5, 3);
    let table = e.embeddings().to_vec::<f32>();
    assert!(
        table.iter().all(|v| v.abs() <= 0.05),
        "uniform(-0.05, 0.05)"
    );
    let ids = Tensor::from_vec(vec![4i64, 0, 4, 2], &[2, 2]);
    let out = e.call(&ids, false);
    assert_eq!(out.shape(), &[2, 2, 3]);
    let v = out.to_vec::<f32>();
    assert_eq!(v[0..3], table[12..15]);
    assert_eq!(v[3..6], table[0..3]);
    // Gradient: each row receives the sum over its occurrences.
    out.sum().backward();
    let g = e.embeddings().grad().unwrap().to_vec::<f32>();
    assert_eq!(
        g,
        vec![1., 1., 1., 0., 0., 0., 1., 1., 1., 0., 0., 0., 2., 2., 2.]
    );
}

#[test]
#[should_panic(expected = "Embedding: id 7 is outside [0, 5)")]
fn embedding_rejects_out_of_range_ids() {
    Embedding::new(5, 3).call(&Tensor::from_vec(vec![1i64, 7], &[2]), false);
}

#[test]
fn batch_normalization_uses_batch_statistics_in_training_and_moving_ones_after() {
    let mut bn = BatchNormalization::new();
    let x = Tensor::from_vec(vec![1.0f32, 10.0, 3.0, 20.0, 5.0, 60.0], &[3, 2]);
    let y = bn.apply(&x, true).to_vec::<f32>();
    // Channel 0: mean 3, biased variance 8/3; channel 1: mean 30, variance 1400/3.
    let (m0, v0, m1, v1): (f64, f64, f64, f64) = (3.0, 8.0 / 3.0, 30.0, 1400.0 / 3.0);
    let want = [
        (1.0 - m0) / (v0 + 1e-3).sqrt(),
        (10.0 - m1) / (v1 + 1e-3).sqrt(),
        (3.0 - m0) / (v0 + 1e-3).sqrt(),
        (20.0 - m1) / (v1 + 1e-3).sqrt(),
        (5.0 - m0) / (v0 + 1e-3).sqrt(),
        (60.0 - m1) / (v1 + 1e-3).sqrt(),
    ];
    for (a, b) in y.iter().zip(want) {
        assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
    }
    // Moving averages after one step: 0.99 * init + 0.01 * batch.
    let stats = bn.non_trainable_weights();
    let mean = stats[0].to_vec::<f32>();
    let var = stats[1].to_vec::<f32>();
    assert!((mean[0] as f64 - 0.01 * m0).abs() < 1e-6 && (mean[1] as f64 - 0.01 * m1).abs() < 1e-5);
    assert!((var[0] as f64 - (0.99 + 0.01 * v0)).abs() < 1e-5);
    // Inference normalizes with the moving statistics.
    let inf = bn.call(&x, false).to_vec::<f32>();
    let want0 = (1.0 - mean[0] as f64) / (var[0] as f64 + 1e-3).sqrt();
    assert!((inf[0] as f64 - want0).abs() < 1e-5);
}

#[test]
fn batch_normalization_counts_its_moving_statistics_as_non_trainable() {
    let m = Sequential::new(vec![
        Box::new(Dense::new(4).input_dim(3)),
        Box::new(BatchNormalization::new()),
        Box::new(Dense::new(1)),
    ]);
    let s = m.summary();
    let bn = s
        .lines()
        .find(|l| l.contains("batch_normalization"))
        .unwrap();
    assert!(
        bn.contains("│              16 │"),
        "gamma, beta, mean, variance: {bn}"
    );
    assert!(s.contains(" Total params: 37 (148.00 B)"), "{s}");
    assert!(s.contains(" Trainable params: 29 (116.00 B)"), "{s}");
    assert!(s.contains(" Non-trainable params: 8 (32.00 B)"), "{s}");
    assert_eq!(m.weights().len(), 8);
}

#[test]
fn kernel_regularizer_penalty_is_part_of_the_reported_loss() {
    tandem_core::manual_seed(3);
    let mut m = Sequential::new(vec![Box::new(
        Dense::new(2)
            .input_dim(3)
            .kernel_regularizer(Regularizer::L2(0.01)),
    )]);
    // A zero learning rate leaves the weights as they are, so the loss can be recomputed.
    m.compile(optimizers::SGD(0.0, 0.0), "mse", &[]).unwrap();
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, -1.0, 0.5, 2.0], &[2, 3]);
    let y = Tensor::from_vec(vec![0.5f32, -0.5, 1.0, 0.0], &[2, 2]);
    let h = m.fit(&x, &y, quiet(1, 2)).unwrap();
    let w = m.trainable_variables();
    let pred = autograd::no_grad(|| &x.matmul(&w[0].t()) + &w[1]);
    let mse = (&pred - &y).square().mean().item::<f32>() as f64;
    let l2 = 0.01 * w[0].square().sum().item::<f32>() as f64;
    assert!(
        (h.loss()[0] - (mse + l2)).abs() < 1e-6,
        "{} vs {}",
        h.loss()[0],
        mse + l2
    );
    assert_eq!(
        Regularizer::L1(0.5)
            .penalty(&Tensor::new([-2.0, 1.0]))
            .item::<f32>(),
        1.5
    );
}

#[test]
fn precision_and_recall_count_thresholded_decisions() {
    tandem_core::manual_seed(0);
    // One weightless layer pair: a Dense with zero learning rate whose outputs we control.
    let mut m = Sequential::new(vec![Box::new(Dense::new(1).input_dim(1).use_bias(false))]);
    m.compile(
        optimizers::SGD(0.0, 0.0),
        "binary_crossentropy",
        &["precision", "recall"],
    )
    .unwrap();
    autograd::no_grad(|| {
        m.trainable_variables()[0].copy_(&Tensor::new([[1.0]]));
    });
    // Predictions equal the inputs: 0.9 0.8 0.7 0.2 0.1 vs labels 1 0 1 1 0 -> TP 2, FP 1, FN 1.
    let x = Tensor::new([[0.9], [0.8], [0.7], [0.2], [0.1]]);
    let y = Tensor::new([[1.0], [0.0], [1.0], [1.0], [0.0]]);
    let logs = m.evaluate(&x, &y, 5).unwrap();
    let get = |k: &str| logs.iter().find(|(n, _)| n == k).unwrap().1;
    assert!((get("precision") - 2.0 / 3.0).abs() < 1e-12);
    assert!((get("recall") - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn every_keras_activation_name_computes_its_formula() {
    use tandem_keras::layers::Activation;
    let x = tandem_core::Tensor::new([-4.0f64, -1.0, 0.0, 1.0, 7.0]).double();
    let xs = [-4.0f64, -1.0, 0.0, 1.0, 7.0];
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let softplus = |v: f64| (1.0 + v.exp()).ln();
    let hard_sigmoid = |v: f64| ((v + 3.0) / 6.0).clamp(0.0, 1.0);
    let cases: [(&str, &dyn Fn(f64) -> f64); 12] = [
        ("softplus", &softplus),
        ("softsign", &|v| v / (v.abs() + 1.0)),
        ("silu", &|v| v * sig(v)),
        ("swish", &|v| v * sig(v)),
        ("mish", &|v| v * softplus(v).tanh()),
        ("hard_sigmoid", &hard_sigmoid),
        ("hard_silu", &|v| v * hard_sigmoid(v)),
        ("hard_swish", &|v| v * hard_sigmoid(v)),
        ("relu6", &|v| v.clamp(0.0, 6.0)),
        ("leaky_relu", &|v| if v < 0.0 { 0.2 * v } else { v }),
        ("exponential", &|v| v.exp()),
        ("linear", &|v| v),
    ];
    for (name, f) in cases {
        let got = Activation::from_name(name)
            .unwrap()
            .apply(&x)
            .to_vec::<f64>();
        for (g, v) in got.iter().zip(xs) {
            assert!((g - f(v)).abs() < 1e-12, "{name}({v}) = {g}, want {}", f(v));
        }
    }
    let ls = Activation::from_name("log_softmax")
        .unwrap()
        .apply(&x)
        .to_vec::<f64>();
    let lse = xs.iter().map(|v| v.exp()).sum::<f64>().ln();
    for (g, v) in ls.iter().zip(xs) {
        assert!((g - (v - lse)).abs() < 1e-12);
    }
}
