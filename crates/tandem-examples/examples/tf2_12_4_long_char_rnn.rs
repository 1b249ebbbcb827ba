//! tf2 lesson 12-4: a stacked RNN over a long sentence. Every window of 10 characters predicts
//! the same window shifted by one: one-hot inputs, two `LSTM(return_sequences=True)` layers
//! and a `TimeDistributed(Dense(softmax))` over the 25 characters, categorical cross-entropy,
//! Adam(0.1), 100 epochs. The predictions, stitched together (all of the first window, then
//! the last character of each following one), spell the sentence from its second character.
//!
//! Run: `cargo run --release --example tf2_12_4_long_char_rnn -- [epochs]` (default 100).

use tandem::tf::keras::{
    self,
    layers::{Dense, TimeDistributed, LSTM},
    FitArgs, Sequential,
};
use tandem::{tf, Tensor};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(100);
    tf::random::set_seed(777);
    let sentence = "if you want to build a ship, don't drum up people together to \
                    collect wood and don't assign them tasks and work, but rather \
                    teach them to long for the endless immensity of the sea.";

    let mut char_set: Vec<char> = sentence.chars().collect();
    char_set.sort_unstable();
    char_set.dedup();
    let char_dic = |c: char| char_set.iter().position(|&d| d == c).unwrap() as i64;

    let data_dim = char_set.len();
    let num_classes = char_set.len();
    let sequence_length = 10; // Any arbitrary number
    let learning_rate = 0.1;

    let chars: Vec<char> = sentence.chars().collect();
    let mut data_x = Vec::new();
    let mut data_y = Vec::new();
    for i in 0..chars.len() - sequence_length {
        let x_str = &chars[i..i + sequence_length];
        let y_str = &chars[i + 1..i + sequence_length + 1];
        if i < 3 {
            let s = |c: &[char]| c.iter().collect::<String>();
            println!("{i} {} -> {}", s(x_str), s(y_str));
        }
        data_x.extend(x_str.iter().map(|&c| char_dic(c))); // x str to index
        data_y.extend(y_str.iter().map(|&c| char_dic(c))); // y str to index
    }
    let batch_size = data_x.len() / sequence_length;
    let data_x = Tensor::from_vec(data_x, &[batch_size, sequence_length]);
    let data_y = Tensor::from_vec(data_y, &[batch_size, sequence_length]);

    // One-hot encoding
    let x_one_hot = tf::one_hot(&data_x, num_classes);
    let y_one_hot = tf::one_hot(&data_y, num_classes);
    println!("{:?}", x_one_hot.shape()); // check out the shape (170, 10, 25)
    println!("{:?}", y_one_hot.shape()); // check out the shape

    let mut model = Sequential::new(vec![]);
    model.add(
        LSTM::new(num_classes)
            .input_shape(&[sequence_length, data_dim])
            .return_sequences(true),
    );
    model.add(LSTM::new(num_classes).return_sequences(true));
    model.add(TimeDistributed::new(
        Dense::new(num_classes).activation("softmax"),
    ));
    print!("{}", model.summary());
    model.compile(
        keras::optimizers::Adam(learning_rate),
        "categorical_crossentropy",
        &["accuracy"],
    )?;
    let history = model.fit(
        &x_one_hot,
        &y_one_hot,
        FitArgs {
            epochs,
            verbose: 0,
            ..Default::default()
        },
    )?;
    let loss = history.loss();
    println!(
        "loss: first epoch {:.4}, last epoch {:.4}",
        loss[0],
        loss[loss.len() - 1]
    );

    let results = model.predict(&x_one_hot);
    let index = tf::argmax(&results, 2).to_vec::<i64>();
    let mut stitched = String::new();
    for (j, result) in index.chunks(sequence_length).enumerate() {
        if j == 0 {
            // print all for the first result to make a sentence
            stitched.extend(result.iter().map(|&t| char_set[t as usize]));
        } else {
            stitched.push(char_set[result[sequence_length - 1] as usize]);
        }
    }
    println!("{stitched}");
    let target: String = chars[1..].iter().collect();
    let right = stitched.chars().zip(target.chars()).filter(|(a, b)| a == b);
    println!(
        "character accuracy: {:.4}",
        right.count() as f64 / target.chars().count() as f64
    );
    Ok(())
}
