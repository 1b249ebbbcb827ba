//! tf2 lesson 13: a learning-rate schedule object. keras.io's "Simple MNIST convnet" —
//! Conv2D(32, (3, 3)) + ReLU, MaxPooling2D((2, 2)), Conv2D(64, (3, 3)) + ReLU,
//! MaxPooling2D((2, 2)), Flatten, Dropout(0.5), Dense(10, softmax) — trained with Adam whose
//! `learning_rate` is `ExponentialDecay(1e-3, decay_steps=63, decay_rate=0.7)`: 63 batches of
//! 128 make one epoch of the 8,000-digit MNIST sample, so the rate falls by 0.7 per epoch.
//! `tools/lessons/tf2_13_lr_schedule.py` is the Keras program.
//!
//! Run: `cargo run --release --example tf2_13_lr_schedule -- [epochs]` (default 3).

use tandem::tf::keras::{
    self,
    layers::{Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D},
    optimizers::schedules::ExponentialDecay,
};
use tandem::{tf, Tensor};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(3);
    tf::random::set_seed(0);
    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_sample();
    // Scale images to the [0, 1] range and make sure they have shape (28, 28, 1).
    let prep = |x: &Tensor| (x.float() / 255.0).reshape(&[-1, 28, 28, 1]);
    let (x_train, x_test) = (prep(&x_train), prep(&x_test));

    let mut model = keras::sequential![
        Input::new(&[28, 28, 1]),
        Conv2D::new(32, (3, 3)).activation("relu"),
        MaxPooling2D::new((2, 2)),
        Conv2D::new(64, (3, 3)).activation("relu"),
        MaxPooling2D::new((2, 2)),
        Flatten::new(),
        Dropout::new(0.5),
        Dense::new(10).activation("softmax"),
    ];
    print!("{}", model.summary());
    let lr_schedule = ExponentialDecay::new(1e-3, 63, 0.7);
    model.compile(
        keras::optimizers::Adam(lr_schedule),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )?;
    model.fit(
        &x_train,
        &y_train,
        keras::FitArgs {
            epochs,
            batch_size: 128,
            verbose: 2,
            ..Default::default()
        },
    )?;
    let logs = model.evaluate(&x_test, &y_test, 32)?;
    let acc = logs
        .iter()
        .find(|(k, _)| k == "accuracy")
        .map_or(0.0, |l| l.1);
    println!("final test accuracy: {acc:.4}");
    Ok(())
}
