//! Lesson tf2 02-1: linear regression with Keras. x = [1, 2, 3, 4] -> y = [0, -1, -2, -3] (that
//! is, y = 1 - x), one `Dense(units=1, input_dim=1)`, SGD(learning_rate=0.1) on mean squared
//! error for 200 epochs; `predict([5, 4])` then gives about [-4, -3].
//!
//! Run: `cargo run --release --example tf2_02_1_linear_regression`

use tandem::tf;
use tandem::tf::keras::{self, layers::Dense, FitArgs, Sequential};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    tf::random::set_seed(0);
    let x_train = tf::constant([[1.0], [2.0], [3.0], [4.0]]);
    let y_train = tf::constant([[0.0], [-1.0], [-2.0], [-3.0]]);

    let mut model = Sequential::new(vec![]);
    // units == output shape, input_dim == input shape
    model.add(Dense::new(1).input_dim(1));

    let sgd = keras::optimizers::SGD(0.1, 0.0); // SGD == standard gradient descent, lr == learning rate
    model.compile(sgd, "mse", &[])?; // mse == mean_squared_error, 1/m * sig (y'-y)^2

    // prints summary of the model to the terminal
    print!("{}", model.summary());

    // fit() executes training
    let history = model.fit(
        &x_train,
        &y_train,
        FitArgs {
            epochs: 200,
            verbose: 0,
            ..Default::default()
        },
    )?;
    println!("loss after 200 epochs: {:.6}", history.loss()[199]);

    // predict() returns predicted value
    let y_predict = model.predict(&tf::constant([[5.0], [4.0]]));
    println!("{y_predict}");
    let p = y_predict.to_vec::<f32>();
    println!("predict [5, 4]: {:.4} {:.4}", p[0], p[1]);
    Ok(())
}
