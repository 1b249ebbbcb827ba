//! keras.io's "Text generation with a miniature GPT", on the Shakespeare text by character:
//! `TokenAndPositionEmbedding`, one `TransformerBlock` whose attention is causal
//! (`use_causal_mask`), and a `Dense` layer giving the next character's logits at every
//! position, trained with `fit` (Adam, `SparseCategoricalCrossentropy(from_logits=True)`) on
//! 64-character windows of the first 90% of the text, validated on windows of the rest; then
//! 300 characters are generated after "ROMEO:" by top-k sampling (k = 10), as keras.io's
//! `TextGenerator` callback does. The two subclassed layers are the ones of
//! `tf2_transformer_text_classification`.
//!
//! Run: `cargo run --release --example tf2_miniature_gpt -- [epochs] [windows]` (3 epochs over
//! all 15,685 training windows by default; `windows` trains on the first that many only).

#[path = "tf2_transformer_text_classification.rs"]
#[allow(dead_code)]
mod classification;

use classification::{TokenAndPositionEmbedding, TransformerBlock};
use tandem::tf::keras::layers::Dense;
use tandem::tf::keras::losses::SparseCategoricalCrossentropy;
use tandem::tf::keras::optimizers::Adam;
use tandem::tf::keras::{FitArgs, Sequential};
use tandem::{tf, Tensor};

const MAXLEN: usize = 64; // Max sequence size
const EMBED_DIM: usize = 128; // Embedding size for each token
const NUM_HEADS: usize = 2; // Number of attention heads
const FEED_FORWARD_DIM: usize = 128; // Hidden layer size in feed forward network

/// Non-overlapping windows of `MAXLEN + 1` characters: inputs and the inputs shifted by one.
fn windows(ids: &[i64]) -> (Tensor, Tensor) {
    let n = (ids.len() - 1) / MAXLEN;
    let (mut x, mut y) = (
        Vec::with_capacity(n * MAXLEN),
        Vec::with_capacity(n * MAXLEN),
    );
    for w in 0..n {
        x.extend_from_slice(&ids[w * MAXLEN..(w + 1) * MAXLEN]);
        y.extend_from_slice(&ids[w * MAXLEN + 1..(w + 1) * MAXLEN + 1]);
    }
    (
        Tensor::from_vec(x, &[n, MAXLEN]),
        Tensor::from_vec(y, &[n, MAXLEN]),
    )
}

/// Draws one of the `k` likeliest tokens from `logits`, in proportion to their probability.
fn sample_from(logits: &Tensor, k: usize) -> i64 {
    let (values, indices) = logits.topk(k, -1, true);
    let preds = values.softmax(-1);
    let pick = preds.multinomial(1, true).item::<i64>();
    indices.to_vec::<i64>()[pick as usize]
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(3);
    let max_windows: Option<usize> = std::env::args().nth(2).map(|w| w.parse()).transpose()?;
    tf::random::set_seed(1337);
    let text = tandem::data::read_text(tandem::data::course::file("shakespeare.txt.gz")?)?;
    let mut vocab: Vec<char> = text.chars().collect();
    vocab.sort_unstable();
    vocab.dedup();
    let ids: Vec<i64> = text
        .chars()
        .map(|c| vocab.binary_search(&c).unwrap() as i64)
        .collect();
    let split = ids.len() * 9 / 10;
    let (x_train, y_train) = windows(&ids[..split]);
    let (x_train, y_train) = match max_windows {
        Some(n) if n < x_train.shape()[0] => (x_train.narrow(0, 0, n), y_train.narrow(0, 0, n)),
        _ => (x_train, y_train),
    };
    let (x_val, y_val) = windows(&ids[split..]);
    println!(
        "{} training and {} validation windows, vocabulary of {}",
        x_train.shape()[0],
        x_val.shape()[0],
        vocab.len()
    );

    let mut model = Sequential::new(vec![
        Box::new(TokenAndPositionEmbedding::new(
            MAXLEN,
            vocab.len(),
            EMBED_DIM,
        )),
        Box::new(TransformerBlock::new(EMBED_DIM, NUM_HEADS, FEED_FORWARD_DIM, 0.1).causal()),
        Box::new(Dense::new(vocab.len())),
    ]);
    model.compile(Adam(1e-3), SparseCategoricalCrossentropy(true), &[])?;
    let history = model.fit(
        &x_train,
        &y_train,
        FitArgs {
            batch_size: 64,
            epochs,
            validation_data: Some((&x_val, &y_val)),
            verbose: 2,
            ..Default::default()
        },
    )?;
    if let Some(v) = history.history.get("val_loss").and_then(|v| v.last()) {
        println!("final val loss: {v:.4}");
    }

    // Generation: the prompt's last MAXLEN characters in, the next one drawn from the top 10.
    let mut tokens: Vec<i64> = "ROMEO:"
        .chars()
        .map(|c| vocab.binary_search(&c).unwrap() as i64)
        .collect();
    for _ in 0..300 {
        let start = tokens.len().saturating_sub(MAXLEN);
        let context = &tokens[start..];
        let x = Tensor::from_vec(context.to_vec(), &[1, context.len()]);
        let logits = model.predict(&x);
        let last = logits.select(1, -1).squeeze(Some(0));
        tokens.push(sample_from(&last, 10));
    }
    let generated: String = tokens.iter().map(|&i| vocab[i as usize]).collect();
    println!("generated text:\n{generated}");
    Ok(())
}
