//! tf2 lesson 12-2: learn the character sequence " if you want you". Each character predicts
//! the next: one-hot inputs, `LSTM(return_sequences=True)` and a `TimeDistributed(Dense)`
//! softmax over the characters, categorical cross-entropy, Adam(0.1).
//!
//! Run: `cargo run --release --example tf2_12_2_char_seq_rnn`

use tandem::tf::keras::{
    self,
    layers::{Dense, TimeDistributed, LSTM},
    FitArgs, Sequential,
};
use tandem::{tf, Tensor};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    tf::random::set_seed(777);
    let sample = " if you want you";
    let mut idx2char: Vec<char> = sample.chars().collect(); // index -> char
    idx2char.sort_unstable();
    idx2char.dedup();
    let char2idx = |c: char| idx2char.iter().position(|&d| d == c).unwrap() as i64;

    // hyper parameters
    let dic_size = idx2char.len(); // RNN input size (one hot size)
    let num_classes = idx2char.len(); // final output size (RNN or softmax, etc.)
    let sequence_length = sample.len() - 1; // number of lstm rollings (unit #)
    let learning_rate = 0.1;

    let sample_idx: Vec<i64> = sample.chars().map(char2idx).collect();
    let x_data = Tensor::from_vec(
        sample_idx[..sample_idx.len() - 1].to_vec(),
        &[1, sequence_length],
    );
    let y_data = Tensor::from_vec(sample_idx[1..].to_vec(), &[1, sequence_length]);
    let x_one_hot = keras::utils::to_categorical(&x_data, num_classes)?;
    let y_one_hot = keras::utils::to_categorical(&y_data, num_classes)?;

    let mut model = Sequential::new(vec![
        Box::new(
            LSTM::new(num_classes)
                .input_shape(&[sequence_length, dic_size])
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
    for prediction in 0..predictions.shape()[0] {
        // print char using argmax, dict
        let ids = predictions
            .select(0, prediction as isize)
            .argmax(Some(1), false);
        let result: String = ids
            .to_vec::<i64>()
            .iter()
            .map(|&i| idx2char[i as usize])
            .collect();
        println!("Prediction str: {result}");
    }
    Ok(())
}
