//! tf2 lesson 11-1: a CNN on MNIST digits in Keras's channels-last layout —
//! Conv2D(16, 3x3) + ReLU, MaxPooling2D, Conv2D(32, 3x3) + ReLU, MaxPooling2D, Flatten,
//! Dense(10) — compiled with Adam(1e-3) and trained with `fit` in batches of 128.
//!
//! Run: `cargo run --release --example tf2_11_1_cnn_mnist -- [epochs]` (default 4).

use tandem::tf::keras::{
    self,
    layers::{Conv2D, Dense, Flatten, MaxPooling2D},
};
use tandem::{tf, Tensor};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(4);
    tf::random::set_seed(1);
    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_sample();
    // (N, 28, 28) uint8 -> (N, 28, 28, 1) float in [0, 1]
    let prep = |x: &Tensor| (x.float() / 255.0).reshape(&[-1, 28, 28, 1]);
    let (x_train, x_test) = (prep(&x_train), prep(&x_test));

    let mut model = keras::Sequential::new(vec![
        Box::new(
            Conv2D::new(16, 3)
                .activation("relu")
                .input_shape(&[28, 28, 1]),
        ),
        Box::new(MaxPooling2D::new(2)),
        Box::new(Conv2D::new(32, 3).activation("relu")),
        Box::new(MaxPooling2D::new(2)),
        Box::new(Flatten::new()),
        Box::new(Dense::new(10)),
    ]);
    print!("{}", model.summary());
    model.compile(
        keras::optimizers::Adam(1e-3),
        keras::losses::SparseCategoricalCrossentropy(true),
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
    let logs = model.evaluate(&x_test, &y_test, 128)?;
    let acc = logs
        .iter()
        .find(|(k, _)| k == "accuracy")
        .map_or(0.0, |l| l.1);
    println!("final test accuracy: {acc:.4}");
    Ok(())
}
