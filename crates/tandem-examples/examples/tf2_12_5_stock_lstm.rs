//! tf2 lesson 12-5: predict tomorrow's closing price of a stock from the last 7 days
//! (`data-02-stock_daily.csv`: open, high, low, volume, close). The series is put in time
//! order and min-max scaled; windows of 7 days feed `LSTM(1)` and `Dense(1, tanh)`, trained
//! with Adam(0.01) on mean squared error; the last 30% of days are the test set.
//!
//! Run: `cargo run --release --example tf2_12_5_stock_lstm -- [epochs] [plot.png]`
//! (default 500 epochs, as the lesson).

use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::data::preprocessing::sliding_windows;
use tandem::tf::keras::{
    self,
    layers::{Dense, LSTM},
    FitArgs, Sequential,
};
use tandem::{tf, Tensor};

/// The lesson's own scaler: each column to [0, 1] with its min and max.
fn min_max_scaler(data: &Tensor) -> Tensor {
    let min = data.amin(0, false);
    let numerator = data - &min;
    let denominator = data.amax(0, false) - &min;
    numerator / (denominator + 1e-7)
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iterations: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(500);
    tf::random::set_seed(777);
    let (seq_length, data_dim, output_dim, learning_rate) = (7, 5, 1, 0.01);

    let xy = loadtxt(
        tandem::data::course::file("data-02-stock_daily.csv")?,
        LoadTxt::default(),
    )?;
    let xy = tf::reverse(&xy, &[0]); // chronological order
    let n = xy.shape()[0];
    let train_size = (n as f64 * 0.7) as usize;
    let train_set = xy.narrow(0, 0, train_size);
    let test_set = xy.narrow(0, train_size - seq_length, n - train_size + seq_length);
    let (train_set, test_set) = (min_max_scaler(&train_set), min_max_scaler(&test_set));

    // x: 7 days of all columns; y: the next day's close (the last column)
    let windows = |set: &Tensor| -> Result<(Tensor, Tensor), tandem::data::DataError> {
        let (x, y) = sliding_windows(set, seq_length, 1)?;
        Ok((x, y.narrow(1, data_dim - 1, 1).contiguous()))
    };
    let (train_x, train_y) = windows(&train_set)?;
    let (test_x, test_y) = windows(&test_set)?;

    let mut model = Sequential::new(vec![
        Box::new(LSTM::new(1).input_shape(&[seq_length, data_dim])),
        Box::new(Dense::new(output_dim).activation("tanh")),
    ]);
    print!("{}", model.summary());
    model.compile(
        keras::optimizers::Adam(learning_rate),
        "mean_squared_error",
        &[],
    )?;
    let history = model.fit(
        &train_x,
        &train_y,
        FitArgs {
            epochs: iterations,
            verbose: 0,
            ..Default::default()
        },
    )?;
    let losses = &history.history["loss"];
    println!(
        "train mse: first epoch {:.5}, last epoch {:.5}",
        losses[0],
        losses[losses.len() - 1]
    );

    let test_predict = model.predict(&test_x);
    let rmse = (&test_predict - &test_y)
        .square()
        .mean()
        .sqrt()
        .item::<f32>();
    println!("test windows: {}", test_x.shape()[0]);
    println!("RMSE: {rmse:.5}");
    if let Some(path) = args.next() {
        plot(
            &path,
            &test_y.to_vec::<f32>(),
            &test_predict.to_vec::<f32>(),
        )?;
        println!("wrote {path}: truth (blue) and prediction (red)");
    }
    Ok(())
}

/// `plt.plot(testY); plt.plot(test_predict)` as a PNG.
fn plot(path: &str, truth: &[f32], predicted: &[f32]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = BitMapBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0..truth.len(), -0.1f32..1.1f32)?;
    chart.configure_mesh().disable_mesh().draw()?;
    chart.draw_series(LineSeries::new(
        truth.iter().copied().enumerate(),
        BLUE.stroke_width(2),
    ))?;
    chart.draw_series(LineSeries::new(
        predicted.iter().copied().enumerate(),
        RED.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}
