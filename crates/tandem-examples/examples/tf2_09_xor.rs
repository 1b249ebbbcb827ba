//! Lesson tf2 09-2: XOR needs a hidden layer. One `Dense(1, sigmoid)` cannot separate it; with
//! `Dense(10, sigmoid)` before it, SGD(0.1) learns it.
//!
//! Run: `cargo run --release --example tf2_09_xor`

use tandem::tf::keras::{self, layers::Dense, FitArgs, Sequential};
use tandem::{tf, Tensor};

fn train(mut model: Sequential, x: &Tensor, y: &Tensor) -> Result<f64, keras::KerasError> {
    model.compile(
        keras::optimizers::SGD(0.1, 0.0),
        "binary_crossentropy",
        &["accuracy"],
    )?;
    model.fit(
        x,
        y,
        FitArgs {
            epochs: 5000,
            batch_size: 4,
            verbose: 0,
            shuffle: false,
            ..Default::default()
        },
    )?;
    let p = model.predict(x);
    println!("predictions: {}", p.reshape(&[-1]));
    let logs = model.evaluate(x, y, 4)?;
    Ok(logs
        .iter()
        .find(|(k, _)| k == "accuracy")
        .map(|(_, v)| *v)
        .unwrap_or(0.0))
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    tf::random::set_seed(0);
    let x = tf::constant([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let y = tf::constant([[0.0], [1.0], [1.0], [0.0]]);
    let one_layer = Sequential::new(vec![Box::new(
        Dense::new(1).input_dim(2).activation("sigmoid"),
    )]);
    println!("one layer accuracy: {:.2}", train(one_layer, &x, &y)?);
    let two_layers = Sequential::new(vec![
        Box::new(Dense::new(10).input_dim(2).activation("sigmoid")),
        Box::new(Dense::new(1).activation("sigmoid")),
    ]);
    println!("two layers accuracy: {:.2}", train(two_layers, &x, &y)?);
    Ok(())
}
