//! tf2 lesson 12-1: teach an LSTM "hihell" -> "ihello". One-hot characters, an LSTM with
//! `return_sequences=True` and a `TimeDistributed(Dense(softmax))`, categorical cross-entropy,
//! Adam(0.1), 50 epochs.
//!
//! Run: `cargo run --release --example tf2_12_1_hello_rnn`

use tandem::tf::keras::{
    self,
    layers::{Dense, TimeDistributed, LSTM},
    FitArgs, Sequential,
};
use tandem::{tf, Tensor};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    tf::random::set_seed(777);
    let idx2char = ['h', 'i', 'e', 'l', 'o'];
    let x_data = Tensor::from_vec(vec![0i64, 1, 0, 2, 3, 3], &[1, 6]); // hihell
    let y_data = Tensor::from_vec(vec![1i64, 0, 2, 3, 3, 4], &[1, 6]); // ihello
    let (num_classes, input_dim, sequence_length, learning_rate) = (5, 5, 6, 0.1);
    let x_one_hot = keras::utils::to_categorical(&x_data, num_classes)?;
    let y_one_hot = keras::utils::to_categorical(&y_data, num_classes)?;

    let mut model = Sequential::new(vec![
        Box::new(
            LSTM::new(num_classes)
                .input_shape(&[sequence_length, input_dim])
                .return_sequences(true),
        ),
        Box::new(TimeDistributed::new(
            Dense::new(num_classes).activation("softmax"),
        )),
    ]);
    print!("{}", model.summary());
    model.compile(
        keras::optimizers::Adam(learning_rate),
        "categorical_crossentropy",
        &["accuracy"],
    )?;
    model.fit(
        &x_one_hot,
        &y_one_hot,
        FitArgs {
            epochs: 50,
            verbose: 0,
            ..Default::default()
        },
    )?;
    let predictions = model.predict(&x_one_hot);
    for i in 0..predictions.shape()[0] {
        let ids = predictions.select(0, i as isize).argmax(Some(1), false);
        let result: String = ids
            .to_vec::<i64>()
            .iter()
            .map(|&k| idx2char[k as usize])
            .collect();
        println!("Prediction str: {result}");
    }
    Ok(())
}
