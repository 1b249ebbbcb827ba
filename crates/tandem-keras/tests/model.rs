//! Keras model behaviour: summary, argument errors, history, callbacks, weights.

use tandem_core::Tensor;
use tandem_keras::layers::{Dense, Flatten};
use tandem_keras::{EarlyStopping, FitArgs, KerasError, Sequential};

fn seed_model() -> Sequential {
    Sequential::new(vec![
        Box::new(Flatten::new().input_shape(&[28, 28])),
        Box::new(Dense::new(520).activation("relu")),
        Box::new(Dense::new(320).activation("relu")),
        Box::new(Dense::new(240).activation("relu")),
        Box::new(Dense::new(120).activation("relu")),
        Box::new(Dense::new(10)),
    ])
}

#[test]
fn summary_reports_keras_shapes_and_parameter_counts() {
    let s = seed_model().summary();
    // 784*520+520 = 408,200; 520*320+320 = 166,720; 320*240+240 = 77,040;
    // 240*120+120 = 28,920; 120*10+10 = 1,210; total 682,090 (x 4 bytes = 2.60 MiB)
    for (layer, shape, params) in [
        ("flatten (Flatten)", "(None, 784)", "0"),
        ("dense (Dense)", "(None, 520)", "408,200"),
        ("dense_1 (Dense)", "(None, 320)", "166,720"),
        ("dense_2 (Dense)", "(None, 240)", "77,040"),
        ("dense_3 (Dense)", "(None, 120)", "28,920"),
        ("dense_4 (Dense)", "(None, 10)", "1,210"),
    ] {
        let row = s
            .lines()
            .find(|l| l.contains(layer))
            .unwrap_or_else(|| panic!("no row for {layer} in\n{s}"));
        let cells: Vec<&str> = row.split('│').map(str::trim).collect();
        assert_eq!(cells[1..4], [layer, shape, params], "{row}");
    }
    assert!(s.contains(" Total params: 682,090 (2.60 MB)"), "{s}");
    assert!(s.contains(" Non-trainable params: 0 (0.00 B)"), "{s}");
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let mut m = seed_model();
    let e = m.compile("adamx", "mse", &[]).unwrap_err().to_string();
    assert!(
        e.contains("unknown optimizer 'adamx'")
            && e.contains(
                "sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam, lion, ftrl"
            ),
        "{e}"
    );
    let e = m.compile("sgd", "hinge", &[]).unwrap_err().to_string();
    assert!(
        e.contains("unknown loss 'hinge'") && e.contains("sparse_categorical_crossentropy"),
        "{e}"
    );
    let e = m.compile("sgd", "mse", &["f1"]).unwrap_err().to_string();
    assert!(e.contains("unknown metric 'f1'"), "{e}");
}

#[test]
fn bad_fit_arguments_fail_before_training() {
    let mut m = Sequential::new(vec![Box::new(Dense::new(1).input_dim(2))]);
    let x = Tensor::new([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    let y = Tensor::new([[1.0], [2.0]]);
    assert!(matches!(
        m.fit(&x, &y, FitArgs::default()),
        Err(KerasError::NotCompiled("fit"))
    ));
    m.compile("sgd", "mse", &[]).unwrap();
    let before = m.trainable_variables()[0].to_vec::<f32>();
    let e = m
        .fit(
            &x,
            &y,
            FitArgs {
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(e, KerasError::Cardinality { x: 3, y: 2 }), "{e}");
    let y3 = Tensor::new([[1.0], [2.0], [3.0]]);
    let e = m
        .fit(
            &x,
            &y3,
            FitArgs {
                batch_size: 0,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("batch_size"), "{e}");
    let e = m
        .fit(
            &x,
            &y3,
            FitArgs {
                validation_split: 1.5,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(e.to_string().contains("validation_split"), "{e}");
    assert_eq!(
        m.trainable_variables()[0].to_vec::<f32>(),
        before,
        "no training happened"
    );
}

#[test]
fn lesson_02_linear_regression_fits_and_predicts() {
    // x = [1, 2, 3, 4] -> y = [0, -1, -2, -3]: y = 1 - x
    tandem_core::manual_seed(0);
    let mut m = Sequential::new(vec![Box::new(Dense::new(1).input_dim(1))]);
    // as the lesson: SGD(lr=0.1), 200 epochs
    m.compile(tandem_keras::optimizers::SGD(0.1, 0.0), "mse", &["mae"])
        .unwrap();
    let x = Tensor::new([[1.0], [2.0], [3.0], [4.0]]);
    let y = Tensor::new([[0.0], [-1.0], [-2.0], [-3.0]]);
    let h = m
        .fit(
            &x,
            &y,
            FitArgs {
                epochs: 200,
                batch_size: 4,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(h.loss().len(), 200);
    assert!(h.loss()[199] < 1e-3 * h.loss()[0]);
    assert!(h.get("mae").is_some());
    let p = m.predict(&Tensor::new([[5.0], [4.0]])).to_vec::<f32>();
    assert!(
        (p[0] + 4.0).abs() < 0.2 && (p[1] + 3.0).abs() < 0.2,
        "{p:?}"
    );
}

#[test]
fn validation_split_and_early_stopping() {
    tandem_core::manual_seed(0);
    let mut m = Sequential::new(vec![Box::new(Dense::new(1).input_dim(1))]);
    m.compile("sgd", "mse", &[]).unwrap();
    let x = Tensor::from_vec((0..40).map(|i| i as f32 / 40.0).collect(), &[40, 1]);
    let y = &(&x * 2.0) + 1.0;
    let mut stop = EarlyStopping::new("val_loss", 2);
    stop.min_delta = 1e9; // nothing counts as an improvement after the first epoch
    let h = m
        .fit(
            &x,
            &y,
            FitArgs {
                epochs: 50,
                verbose: 0,
                validation_split: 0.25,
                callbacks: vec![&mut stop],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        h.get("val_loss").unwrap().len(),
        3,
        "stopped after patience 2"
    );
    assert_eq!(stop.stopped_epoch, Some(2));
}

#[test]
fn weights_round_trip() {
    let m = seed_model();
    let path =
        std::env::temp_dir().join(format!("keras-weights-{}.safetensors", std::process::id()));
    m.save_weights(&path).unwrap();
    let other = seed_model();
    other.load_weights(&path).unwrap();
    assert_eq!(
        m.trainable_variables()[0].to_vec::<f32>(),
        other.trainable_variables()[0].to_vec::<f32>()
    );
    std::fs::remove_file(&path).unwrap();
}

/// A one-layer softmax model whose logits for the single sample are [0, 50]: the softmax is
/// [2e-22, 1] in float32, and the true class is 0.
fn saturated(activation: &str, units: usize) -> Sequential {
    let m = Sequential::new(vec![Box::new(
        Dense::new(units).activation(activation).input_dim(1),
    )]);
    let w = m.weights();
    tandem_core::autograd::no_grad(|| {
        let kernel: Vec<f32> = if units == 2 {
            vec![0.0, 50.0]
        } else {
            vec![-50.0]
        };
        w[0].copy_(&Tensor::from_vec(kernel, &[units, 1]));
        w[1].copy_(&tandem_core::zeros(&[units], tandem_core::DType::Float32));
    });
    m
}

#[test]
fn cross_entropy_after_softmax_or_sigmoid_uses_the_logits_as_keras_does() {
    let x = Tensor::from_vec(vec![1.0f32], &[1, 1]);
    // Categorical: -log softmax([0, 50])[0] = 50 + log(1 + e^-50) = 50 (clipping the
    // probability at 1e-7 would give 16.118 and no gradient).
    let mut m = saturated("softmax", 2);
    m.compile("sgd", "categorical_crossentropy", &[]).unwrap();
    let y = Tensor::from_vec(vec![1.0f32, 0.0], &[1, 2]);
    let loss = m.evaluate(&x, &y, 1).unwrap()[0].1;
    assert!((loss - 50.0).abs() < 1e-3, "{loss}");
    let mut m = saturated("softmax", 2);
    m.compile("sgd", "sparse_categorical_crossentropy", &[])
        .unwrap();
    let loss = m
        .evaluate(&x, &Tensor::from_vec(vec![0i64], &[1]), 1)
        .unwrap()[0]
        .1;
    assert!((loss - 50.0).abs() < 1e-3, "{loss}");
    // Binary: sigmoid(-50) for a positive label: -log sigmoid(-50) = 50.
    let mut m = saturated("sigmoid", 1);
    m.compile("sgd", "binary_crossentropy", &[]).unwrap();
    let y = Tensor::from_vec(vec![1.0f32], &[1, 1]);
    let loss = m.evaluate(&x, &y, 1).unwrap()[0].1;
    assert!((loss - 50.0).abs() < 1e-3, "{loss}");
    // And training moves the saturated weights: the gradient of the logit loss is ~1 per
    // logit, so one SGD(0.01) step changes the kernel by about 0.01.
    let before = m.weights()[0].to_vec::<f32>()[0];
    m.fit(
        &x,
        &y,
        FitArgs {
            epochs: 1,
            batch_size: 1,
            verbose: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let after = m.weights()[0].to_vec::<f32>()[0];
    assert!((after - before - 0.01).abs() < 1e-4, "{before} -> {after}");
}
