//! Lesson tf2 06-2: softmax classification of the zoo data (16 features, 7 classes) with
//! `to_categorical`, `Dense(7, activation='softmax')` and `categorical_crossentropy`.
//!
//! Run: `cargo run --release --example tf2_06_softmax_zoo`

use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::tf::keras::{self, layers::Dense, utils::to_categorical, FitArgs, Sequential};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    tandem::tf::random::set_seed(0);
    let path = tandem::data::course::file("data-04-zoo.csv")?;
    let xy = loadtxt(path, LoadTxt::default())?;
    let x_data = xy.narrow(1, 0, 16).contiguous();
    let y_data = to_categorical(&xy.narrow(1, 16, 1).reshape(&[-1]).long(), 7)?;

    let mut model = Sequential::new(vec![Box::new(
        Dense::new(7).input_dim(16).activation("softmax"),
    )]);
    model.compile(
        keras::optimizers::SGD(0.1, 0.0),
        "categorical_crossentropy",
        &["accuracy"],
    )?;
    model.fit(
        &x_data,
        &y_data,
        FitArgs {
            epochs: 1000,
            batch_size: 101,
            verbose: 0,
            ..Default::default()
        },
    )?;
    let pred = model.predict(&x_data).argmax(Some(1), false);
    let truth = y_data.argmax(Some(1), false);
    println!(
        "accuracy: {:.4}",
        pred.eq(&truth).float().mean().item::<f32>()
    );
    Ok(())
}
