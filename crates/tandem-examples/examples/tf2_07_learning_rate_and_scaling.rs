//! Lessons tf2 07-1 to 07-3: the learning rate, evaluation on data held out from training, and
//! min-max scaling.
//!
//! - 07-1: a softmax classifier (`Dense(3, softmax)`, SGD) learns 8 training rows and is
//!   evaluated on 3 test rows it never saw; try other learning rates (a tiny one never gets
//!   there).
//! - 07-2: the stock prices of `data-02-stock_daily.csv` (open, high, low, volume -> close) fed
//!   as they are to `Dense(1)` + `Activation('linear')` with SGD(1e-5): the volume column is
//!   in the millions and the loss blows up to infinity / NaN.
//! - 07-3: the same after `MinMaxScaler` puts every column in [0, 1] (fitted on the first 70%
//!   of the days, which are the training set; the last 30% are the test set): the loss
//!   decreases.
//!
//! Run: `cargo run --release --example tf2_07_learning_rate_and_scaling -- [learning_rate] [epochs]`
//! (default 0.1 for 07-1, and 100 epochs for 07-2 and 07-3).

use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::data::preprocessing::MinMaxScaler;
use tandem::tf::keras::{
    self,
    layers::{ActivationLayer, Dense},
    FitArgs, Sequential,
};
use tandem::{tf, Tensor};

/// 07-1: learning rate and evaluation on a test set.
fn learning_rate_and_evaluation(learning_rate: f64) -> Result<(), Box<dyn std::error::Error>> {
    let x_data = tf::constant([
        [1.0, 2.0, 1.0],
        [1.0, 3.0, 2.0],
        [1.0, 3.0, 4.0],
        [1.0, 5.0, 5.0],
        [1.0, 7.0, 5.0],
        [1.0, 2.0, 5.0],
        [1.0, 6.0, 6.0],
        [1.0, 7.0, 7.0],
    ]);
    let y_data = tf::constant([
        [0.0, 0.0, 1.0],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
    ]);

    // Evaluation our model using this test dataset
    let x_test = tf::constant([[2.0, 1.0, 1.0], [3.0, 1.0, 2.0], [3.0, 3.0, 4.0]]);
    let y_test = tf::constant([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]);

    let mut model = Sequential::new(vec![]);
    model.add(Dense::new(3).input_dim(3).activation("softmax"));
    model.compile(
        keras::optimizers::SGD(learning_rate, 0.0),
        "categorical_crossentropy",
        &["accuracy"],
    )?;
    let history = model.fit(
        &x_data,
        &y_data,
        FitArgs {
            epochs: 1000,
            verbose: 0,
            ..Default::default()
        },
    )?;
    println!(
        "07-1 learning rate {learning_rate}: loss after 1000 epochs {:.4}",
        history.loss()[999]
    );

    // predict (Keras's old predict_classes: the argmax of the predicted probabilities)
    let prediction = tf::argmax(&model.predict(&x_test), 1);
    println!("Prediction:  {:?}", prediction.to_vec::<i64>());

    // Calculate the accuracy
    let evaluation = model.evaluate(&x_test, &y_test, 32)?;
    println!("Accuracy:  {}", evaluation[1].1);
    Ok(())
}

/// 07-2 and 07-3: one linear unit trained on the stock data as given; returns the model and
/// the training losses.
fn linear_regression(
    x_data: &Tensor,
    y_data: &Tensor,
    epochs: usize,
) -> Result<(Sequential, Vec<f64>), keras::KerasError> {
    let mut model = Sequential::new(vec![]);
    model.add(Dense::new(1).input_dim(4));
    model.add(ActivationLayer::new("linear"));
    model.compile(keras::optimizers::SGD(1e-5, 0.0), "mse", &[])?;
    let history = model.fit(
        x_data,
        y_data,
        FitArgs {
            epochs,
            verbose: 0,
            ..Default::default()
        },
    )?;
    Ok((model, history.loss().to_vec()))
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let learning_rate: f64 = args.next().map(|e| e.parse()).transpose()?.unwrap_or(0.1);
    let epochs: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(100);
    tf::random::set_seed(0);
    learning_rate_and_evaluation(learning_rate)?;

    let path = tandem::data::course::file("data-02-stock_daily.csv")?;
    let xy = loadtxt(path, LoadTxt::default())?;

    // 07-2: without min-max scaling
    let (x_data, y_data) = (
        xy.narrow(1, 0, 4).contiguous(),
        xy.narrow(1, 4, 1).contiguous(),
    );
    let (_, losses) = linear_regression(&x_data, &y_data, epochs)?;
    println!(
        "07-2 without scaling: loss first epoch {}, last epoch {}",
        losses[0],
        losses[losses.len() - 1]
    );

    // 07-3: very important. It does not work without it.
    let n = xy.shape()[0];
    let train_size = (n as f64 * 0.7) as usize;
    let mut scaler = MinMaxScaler::new();
    let train = scaler.fit_transform(&xy.narrow(0, 0, train_size))?;
    let test = scaler.transform(&xy.narrow(0, train_size, n - train_size))?;
    println!(
        "07-3 scaled training data: min {}, max {}",
        train.min().item::<f32>(),
        train.max().item::<f32>()
    );
    let (x_train, y_train) = (
        train.narrow(1, 0, 4).contiguous(),
        train.narrow(1, 4, 1).contiguous(),
    );
    let (mut model, losses) = linear_regression(&x_train, &y_train, epochs)?;
    println!(
        "07-3 with scaling: loss first epoch {:.6}, last epoch {:.6}",
        losses[0],
        losses[losses.len() - 1]
    );
    let (x_test, y_test) = (
        test.narrow(1, 0, 4).contiguous(),
        test.narrow(1, 4, 1).contiguous(),
    );
    let score = model.evaluate(&x_test, &y_test, 32)?;
    println!("07-3 test loss: {:.6}", score[0].1);
    Ok(())
}
