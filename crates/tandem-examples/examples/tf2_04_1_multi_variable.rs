//! Lesson tf2 04-1 / 04-3: multi-variable linear regression. Three quiz scores predict the
//! final exam score (`data-01-test-score.csv`, read with `loadtxt`): one
//! `Dense(units=1, input_dim=3, activation='linear')`, SGD(lr=1e-5) on mean squared error for
//! 2000 epochs; then "your score" for [100, 70, 101] and two other students.
//!
//! Run: `cargo run --release --example tf2_04_1_multi_variable -- [epochs]` (default 2000).

use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::tf;
use tandem::tf::keras::{self, layers::Dense, FitArgs, Sequential};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(2000);
    tf::random::set_seed(0);
    let path = tandem::data::course::file("data-01-test-score.csv")?;
    let xy = loadtxt(path, LoadTxt::default())?;
    let x_data = xy.narrow(1, 0, 3).contiguous();
    let y_data = xy.narrow(1, 3, 1).contiguous();

    // Make sure the shape and data are OK
    println!("x_data shape: {:?}", x_data.shape());
    println!("y_data shape: {:?}", y_data.shape());

    let mut model = Sequential::new(vec![]);
    // activation function doesn't have to be added as a separate layer. Add it as an argument
    // of Dense() layer
    model.add(Dense::new(1).input_dim(3).activation("linear"));
    print!("{}", model.summary());

    model.compile(keras::optimizers::SGD(1e-5, 0.0), "mse", &[])?;
    let history = model.fit(
        &x_data,
        &y_data,
        FitArgs {
            epochs,
            verbose: 0,
            ..Default::default()
        },
    )?;
    let loss = history.loss();
    println!(
        "loss: first epoch {:.2}, last epoch {:.4}",
        loss[0],
        loss[loss.len() - 1]
    );

    // Ask my score
    let mine = model.predict(&tf::constant([[100.0, 70.0, 101.0]]));
    println!("Your score will be  {:.2}", mine.item::<f32>());
    let others = model.predict(&tf::constant([[60.0, 70.0, 110.0], [90.0, 100.0, 80.0]]));
    let o = others.to_vec::<f32>();
    println!("Other scores will be  {:.2} {:.2}", o[0], o[1]);
    Ok(())
}
