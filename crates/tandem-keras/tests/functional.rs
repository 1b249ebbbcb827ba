//! The functional API against Keras 3: the summary of a two-input, two-output model (with its
//! "Connected to" column), the merge layers' outputs and gradients, and the errors Keras gives
//! for a disconnected graph and for compile arguments naming no output.

use serde_json::Value;
use tandem_core::testing::{assert_close_json, load_json, tensor_f64};
use tandem_core::{autograd, Tensor};
use tandem_keras::layers::{
    Add, Average, Concatenate, Dense, Flatten, LayerCall, Merge, MergeCall, Multiply,
};
use tandem_keras::{Input, Model};

fn fixture() -> Value {
    load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_api_goldens.json"
    ))
}

/// The model of `functional_summary`, built as the fixture's script builds it.
fn two_halves() -> Model<tandem_keras::Graph> {
    let left = Input(&[28, 14]).named("left");
    let right = Input(&[28, 14]).named("right");
    let a = Dense::new(64)
        .activation("relu")
        .named("left_dense")
        .on(&Flatten::new().named("left_flat").on(&left));
    let b = Dense::new(64)
        .activation("relu")
        .named("right_dense")
        .on(&Flatten::new().named("right_flat").on(&right));
    let h = Concatenate::new().on_all_named(&[&a, &b], Some("merge"));
    let h = Dense::new(64).activation("relu").named("shared").on(&h);
    let digit = Dense::new(10).activation("softmax").named("digit").on(&h);
    let large = Dense::new(1).activation("sigmoid").named("large").on(&h);
    Model::new(&[&left, &right], &[&digit, &large])
        .unwrap()
        .with_name("two_halves")
}

#[test]
fn the_summary_of_a_two_input_two_output_model_is_kerass() {
    let fx = fixture();
    let want = fx["functional_summary"]["summary"].as_str().unwrap();
    let got = two_halves().summary();
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "line {}", i + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count(), "{got}");
}

#[test]
fn merge_layers_match_keras_values_and_gradients() {
    let fx = fixture();
    for case in fx["layers"].as_array().unwrap() {
        let layer: Box<dyn Merge> = match case["layer"].as_str().unwrap() {
            "Concatenate" => Box::new(Concatenate::new()),
            "Add" => Box::new(Add::new()),
            "Multiply" => Box::new(Multiply::new()),
            "Average" => Box::new(Average::new()),
            _ => continue,
        };
        let name = case["name"].as_str().unwrap();
        let xs: Vec<Tensor> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| tensor_f64(t).requires_grad_(true))
            .collect();
        let out = layer.call(&xs);
        assert_close_json(&format!("{name} out"), &out, &case["out"], 1e-12);
        let r = tensor_f64(&case["r"]);
        let refs: Vec<&Tensor> = xs.iter().collect();
        let grads = autograd::grad(&(&out * &r).sum(), &refs);
        for (i, (g, want)) in grads
            .iter()
            .zip(case["grad_inputs"].as_array().unwrap())
            .enumerate()
        {
            assert_close_json(&format!("{name} grad {i}"), g, want, 1e-12);
        }
    }
}

#[test]
fn a_graph_that_needs_an_input_not_given_is_an_error() {
    let a = Input(&[3]).named("a");
    let b = Input(&[3]).named("b");
    let out = Add::new().on_all(&[&a, &b]);
    let err = Model::new(&[&a], &[&out])
        .err()
        .expect("disconnected")
        .to_string();
    assert!(
        err.contains("graph disconnected") && err.contains("'b'"),
        "{err}"
    );
}

#[test]
fn compile_outputs_names_must_be_outputs_and_fit_needs_an_array_per_input() {
    let mut m = two_halves();
    let err = m
        .compile_outputs("adam", &[("digits", "mse")], &[], &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'digits' is not an output") && err.contains("digit, large"),
        "{err}"
    );
    m.compile_outputs(
        "adam",
        &[
            ("digit", "sparse_categorical_crossentropy"),
            ("large", "binary_crossentropy"),
        ],
        &[("large", 0.5)],
        &[("digit", &["accuracy"])],
    )
    .unwrap();
    let x = tandem_core::zeros(&[4, 28, 14], tandem_core::DType::Float32);
    let y = tandem_core::zeros(&[4], tandem_core::DType::Int64);
    let err = m
        .fit(&x, [&y, &y], Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("one array per model input") && err.contains("has 2"),
        "{err}"
    );
}

#[test]
fn weighted_losses_add_up_to_the_reported_loss() {
    let mut m = two_halves();
    m.compile_outputs(
        "sgd",
        &[
            ("digit", "sparse_categorical_crossentropy"),
            ("large", "binary_crossentropy"),
        ],
        &[("digit", 1.0), ("large", 0.5)],
        &[],
    )
    .unwrap();
    let x = tandem_core::rand(&[16, 28, 14]);
    let digits = Tensor::from_vec((0..16).map(|i| i % 10).collect::<Vec<i64>>(), &[16]);
    let large = digits.ge(5).float().reshape(&[-1, 1]);
    let logs = m.evaluate([&x, &x], [&digits, &large], 8).unwrap();
    let get = |k: &str| logs.iter().find(|(n, _)| n == k).unwrap().1;
    assert!(
        (get("loss") - (get("digit_loss") + 0.5 * get("large_loss"))).abs() < 1e-5,
        "{logs:?}"
    );
    let names: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["loss", "digit_loss", "large_loss"]);
}
