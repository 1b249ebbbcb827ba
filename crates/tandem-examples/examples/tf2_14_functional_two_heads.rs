//! tf2 lesson 14: the functional API with two inputs and two outputs, in the shape of
//! keras.io's multi-input, multi-output example. Each MNIST digit is cut into its left and
//! right halves, which enter as two inputs; each goes through Flatten + Dense(64), the codes
//! are concatenated and pass a shared Dense(64), and two heads read it: `digit` (softmax over
//! the 10 classes) and `large` (sigmoid: is the digit 5 or more?). Losses, loss weights and
//! metrics are given per output; the trained weights are saved, loaded into a fresh copy of the
//! model and give the same predictions. `tools/lessons/tf2_14_functional_two_heads.py` is the
//! Keras program.
//!
//! Run: `cargo run --release --example tf2_14_functional_two_heads -- [epochs]` (default 3).

use tandem::tf::keras::{
    self,
    layers::{Concatenate, Dense, Flatten, LayerCall, MergeCall},
    Graph, Model,
};
use tandem::{tf, Tensor};

fn build_model() -> Result<Model<Graph>, keras::KerasError> {
    let left = keras::Input(&[28, 14]).named("left");
    let right = keras::Input(&[28, 14]).named("right");
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
    let model = Model::new(&[&left, &right], &[&digit, &large])?.with_name("two_halves");
    Ok(model)
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(3);
    tf::random::set_seed(0);
    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_sample();
    let halves = |x: &Tensor| {
        let x = x.float() / 255.0;
        (
            x.narrow(2, 0, 14).contiguous(),
            x.narrow(2, 14, 14).contiguous(),
        )
    };
    let large = |y: &Tensor| y.ge(5).float().reshape(&[-1, 1]);
    let (left_train, right_train) = halves(&x_train);
    let (left_test, right_test) = halves(&x_test);

    let mut model = build_model()?;
    print!("{}", model.summary());
    model.compile_outputs(
        "adam",
        &[
            ("digit", "sparse_categorical_crossentropy"),
            ("large", "binary_crossentropy"),
        ],
        &[("digit", 1.0), ("large", 0.5)],
        &[("digit", &["accuracy"]), ("large", &["accuracy"])],
    )?;
    let history = model.fit(
        [&left_train, &right_train],
        [&y_train, &large(&y_train)],
        keras::FitArgs {
            epochs,
            batch_size: 64,
            verbose: 2,
            ..Default::default()
        },
    )?;
    println!(
        "history keys: {:?}",
        history.history.keys().collect::<Vec<_>>()
    );
    let logs = model.evaluate([&left_test, &right_test], [&y_test, &large(&y_test)], 32)?;
    println!("evaluate: {logs:?}");
    let get = |k: &str| logs.iter().find(|(n, _)| n == k).map_or(0.0, |l| l.1);
    println!("digit accuracy: {:.4}", get("digit_accuracy"));
    println!("large accuracy: {:.4}", get("large_accuracy"));

    // Save the weights, rebuild the same architecture, load them back and compare predictions.
    let dir = std::env::temp_dir().join(format!("tandem-two-halves-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("two_halves.weights.safetensors");
    model.save_weights(&path)?;
    let mut restored = build_model()?;
    restored.load_weights(&path)?;
    let before = model.predict_all([&left_test, &right_test]);
    let after = restored.predict_all([&left_test, &right_test]);
    let same = before
        .iter()
        .zip(&after)
        .all(|(a, b)| a.to_vec::<f32>() == b.to_vec::<f32>());
    println!("reloaded predictions identical: {same}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
