//! Lesson tf2 09-4: XOR with two layers (`Dense(2)` + sigmoid, `Dense(1)` + sigmoid, SGD(0.1),
//! binary cross-entropy) trained with the `TensorBoard` callback: every epoch's loss, accuracy
//! and learning rate go to TensorFlow event files under `LOG_DIR/train`, which
//! `tensorboard --logdir LOG_DIR` shows as curves.
//!
//! Run: `cargo run --release --example tf2_09_4_xor_tensorboard -- [LOG_DIR] [epochs]`
//! (default `logs/fit/<unix time>`, 10000 epochs as the lesson).

use std::path::PathBuf;
use tandem::tf;
use tandem::tf::keras::{
    self,
    callbacks::TensorBoard,
    layers::{ActivationLayer, Dense},
    FitArgs, Sequential,
};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let log_dir = match args.next() {
        Some(dir) => PathBuf::from(dir),
        None => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            PathBuf::from(".")
                .join("logs")
                .join("fit")
                .join(now.as_secs().to_string())
        }
    };
    let epochs: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(10000);
    tf::random::set_seed(0);

    let x_data = tf::constant([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let y_data = tf::constant([[0.0], [1.0], [1.0], [0.0]]);

    let mut model = Sequential::new(vec![]);
    model.add(Dense::new(2).input_dim(2));
    model.add(ActivationLayer::new("sigmoid"));
    model.add(Dense::new(1).input_dim(2));
    model.add(ActivationLayer::new("sigmoid"));
    model.compile(
        keras::optimizers::SGD(0.1, 0.0),
        "binary_crossentropy",
        &["accuracy"],
    )?;
    print!("{}", model.summary());

    // prepare callback
    let mut tensorboard_callback = TensorBoard::new(&log_dir);

    // add callback param to fit()
    let history = model.fit(
        &x_data,
        &y_data,
        FitArgs {
            epochs,
            verbose: 0,
            callbacks: vec![&mut tensorboard_callback],
            ..Default::default()
        },
    )?;
    println!(
        "loss after {epochs} epochs: {:.4}",
        history.loss()[epochs - 1]
    );

    let predictions = model.predict(&x_data);
    println!("Prediction: \n{predictions}");

    let score = model.evaluate(&x_data, &y_data, 32)?;
    let accuracy = score
        .iter()
        .find(|(k, _)| k == "accuracy")
        .map_or(0.0, |(_, v)| *v);
    println!("Accuracy:  {accuracy}");

    for file in tensorboard_callback.files() {
        println!("event file: {}", file.display());
    }
    println!(
        "at the end of the run: tensorboard --logdir {}",
        log_dir.display()
    );
    Ok(())
}
