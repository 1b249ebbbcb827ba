//! Lesson tf2 05-2: logistic classification of the diabetes data (`data-03-diabetes.csv`) with
//! a Keras `Dense(1, activation='sigmoid')`, `binary_crossentropy` and `accuracy`.
//!
//! Run from the workspace: `cargo run --release --example tf2_05_logistic_diabetes`

use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::tf::keras::{self, layers::Dense, FitArgs, Sequential};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    tandem::tf::random::set_seed(0);
    let xy = loadtxt(
        tandem::data::course::file("data-03-diabetes.csv")?,
        LoadTxt::default(),
    )?;
    let x_data = xy.narrow(1, 0, 8).contiguous();
    let y_data = xy.narrow(1, 8, 1).contiguous();

    let mut model = Sequential::new(vec![Box::new(
        Dense::new(1).input_dim(8).activation("sigmoid"),
    )]);
    model.compile(
        keras::optimizers::SGD(0.01, 0.0),
        "binary_crossentropy",
        &["accuracy"],
    )?;
    print!("{}", model.summary());
    let history = model.fit(
        &x_data,
        &y_data,
        FitArgs {
            epochs: 500,
            batch_size: 32,
            verbose: 0,
            ..Default::default()
        },
    )?;
    println!(
        "loss after 500 epochs: {:.4}",
        history.loss().last().copied().unwrap_or(f64::NAN)
    );
    let logs = model.evaluate(&x_data, &y_data, 32)?;
    let accuracy = logs
        .iter()
        .find(|(k, _)| k == "accuracy")
        .map(|(_, v)| *v)
        .unwrap_or(0.0);
    println!("accuracy: {accuracy:.4}");
    Ok(())
}
