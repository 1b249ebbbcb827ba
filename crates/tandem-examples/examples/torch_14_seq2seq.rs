//! PyTorchZeroToAll lesson 14-1: a toy character-level translation with an encoder and a
//! decoder GRU (sequence to sequence). The "source language" is a line of Shakespeare in lower
//! case with its spaces removed; the "target language" is the line as written. The encoder
//! (`Embedding` + `GRU` over ASCII codes) reads the source at once; its final hidden state
//! starts the decoder, which is fed one character at a time (SOS first, then the previous
//! target character: teacher forcing) and scores the next one with a `Linear` layer;
//! `CrossEntropyLoss` summed over the target, Adam(lr=0.001).
//!
//! The toy data set is the first four lines of the course's `shakespeare.txt.gz`, trained
//! until greedy decoding (the most likely character at each step, where the lesson samples
//! with `torch.multinomial`) reproduces every target.
//!
//! Run: `cargo run --release --example torch_14_seq2seq -- [max_epochs]` (default 100, as the
//! lesson's `N_EPOCH`).

use std::sync::Arc;
use tandem::torch::nn::{CrossEntropyLoss, Embedding, Linear, Module, GRU};
use tandem::torch::optim::{Adam, Optimizer};
use tandem::torch::utils::data::{DataLoader, Dataset};
use tandem::{torch, Tensor};

const HIDDEN_SIZE: usize = 100;
const N_LAYERS: usize = 1;
const N_CHARS: usize = 128; // ASCII
const N_LINES: usize = 4; // the toy data set: the first lines of the text
const SOS_TOKEN: char = '\0';
const EOS_TOKEN: i64 = 1;

/// String to char tensor (ASCII codes), with the EOS token at the end if `eos`.
fn str2tensor(msg: &str, eos: bool) -> Tensor {
    let mut tensor: Vec<i64> = msg.chars().map(|c| c as i64).collect();
    if eos {
        tensor.push(EOS_TOKEN);
    }
    let n = tensor.len();
    Tensor::from_vec(tensor, &[n])
}

/// Char tensor back to a string.
fn tensor2str(t: &Tensor) -> String {
    t.to_vec::<i64>().iter().map(|&c| c as u8 as char).collect()
}

/// Lines of `shakespeare.txt.gz`: the source is the line lower-cased without spaces, the
/// target the line itself.
struct TextDataset {
    src_lines: Vec<String>,
    target_lines: Vec<String>,
}

impl TextDataset {
    fn new(n_lines: usize) -> Result<TextDataset, Box<dyn std::error::Error>> {
        let path = tandem::data::course::file("shakespeare.txt.gz")?;
        let text = tandem::data::read_text(path)?;
        let target_lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(n_lines)
            .map(String::from)
            .collect();
        let src_lines = target_lines
            .iter()
            .map(|x| x.to_lowercase().replace(' ', ""))
            .collect();
        Ok(TextDataset {
            src_lines,
            target_lines,
        })
    }
}

impl Dataset for TextDataset {
    fn len(&self) -> usize {
        self.src_lines.len()
    }

    fn get(&self, index: usize) -> (Tensor, Tensor) {
        (
            str2tensor(&self.src_lines[index], false),
            str2tensor(&self.target_lines[index], false),
        )
    }
}

struct EncoderRNN {
    embedding: Embedding,
    gru: GRU,
    hidden_size: usize,
    n_layers: usize,
}

impl EncoderRNN {
    fn new(input_size: usize, hidden_size: usize, n_layers: usize) -> EncoderRNN {
        EncoderRNN {
            embedding: Embedding::new(input_size, hidden_size),
            gru: GRU::new(hidden_size, hidden_size).num_layers(n_layers),
            hidden_size,
            n_layers,
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        let mut p = self.embedding.parameters();
        p.extend(self.gru.parameters());
        p
    }

    fn forward(&self, word_inputs: &Tensor, hidden: &Tensor) -> (Tensor, Tensor) {
        // Note: we run this all at once (over the whole input sequence)
        let seq_len = word_inputs.size()[0] as isize;
        // input shape: S x B (=1) x I (input size)
        let embedded = self.embedding.forward(word_inputs).view(&[seq_len, 1, -1]);
        self.gru.forward_with(&embedded, Some(hidden))
    }

    fn init_hidden(&self) -> Tensor {
        // (num_layers * num_directions, batch, hidden_size)
        torch::zeros(&[self.n_layers, 1, self.hidden_size])
    }
}

struct DecoderRNN {
    embedding: Embedding,
    gru: GRU,
    out: Linear,
}

impl DecoderRNN {
    fn new(hidden_size: usize, output_size: usize, n_layers: usize) -> DecoderRNN {
        DecoderRNN {
            embedding: Embedding::new(output_size, hidden_size),
            gru: GRU::new(hidden_size, hidden_size).num_layers(n_layers),
            out: Linear::new(hidden_size, output_size),
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        let mut p = self.embedding.parameters();
        p.extend(self.gru.parameters());
        p.extend(self.out.parameters());
        p
    }

    fn forward(&self, input: &Tensor, hidden: &Tensor) -> (Tensor, Tensor) {
        // input shape: S(=1) x B (=1) x I (input size)
        // Note: we run this one step at a time. (Sequence size = 1)
        let output = self.embedding.forward(input).view(&[1, 1, -1]);
        let (output, hidden) = self.gru.forward_with(&output, Some(hidden));
        // No need softmax, since we are using CrossEntropyLoss
        (self.out.forward(&output.select(0, 0)), hidden)
    }
}

struct Seq2Seq {
    encoder: EncoderRNN,
    decoder: DecoderRNN,
    optimizer: Adam,
    criterion: CrossEntropyLoss,
}

impl Seq2Seq {
    /// One step of Adam on one pair; returns the loss per target character.
    fn train(&mut self, src: &Tensor, target: &Tensor) -> f32 {
        let src_var = src;
        let target_var = torch::cat(&[target, &torch::tensor([EOS_TOKEN])], 0); // Add the EOS token

        let encoder_hidden = self.encoder.init_hidden();
        let (_encoder_outputs, encoder_hidden) = self.encoder.forward(src_var, &encoder_hidden);

        let mut hidden = encoder_hidden;
        let mut loss = torch::tensor(0.0f32);

        let n = target_var.size()[0];
        for c in 0..n {
            // First, we feed SOS. Others, we use teacher forcing.
            let token = if c > 0 {
                target_var.narrow(0, c - 1, 1)
            } else {
                str2tensor(&SOS_TOKEN.to_string(), false)
            };
            let (output, h) = self.decoder.forward(&token, &hidden);
            hidden = h;
            loss += self.criterion.forward(&output, &target_var.narrow(0, c, 1));
        }

        self.optimizer.zero_grad();
        loss.backward();
        self.optimizer.step();

        loss.item::<f32>() / n as f32
    }

    /// Translates `enc_input`, taking the most likely character at each step.
    fn translate(&self, enc_input: &str, predict_len: usize) -> String {
        torch::no_grad(|| {
            let input_var = str2tensor(enc_input, false);
            let encoder_hidden = self.encoder.init_hidden();
            let (_encoder_outputs, encoder_hidden) =
                self.encoder.forward(&input_var, &encoder_hidden);

            let mut hidden = encoder_hidden;
            let mut predicted = String::new();
            let mut dec_input = str2tensor(&SOS_TOKEN.to_string(), false);
            for _ in 0..predict_len {
                let (output, h) = self.decoder.forward(&dec_input, &hidden);
                hidden = h;
                let top_i = output.view(&[-1]).argmax(Some(0), false).item::<i64>();

                // Stop at the EOS
                if top_i == EOS_TOKEN {
                    break;
                }
                let predicted_char = top_i as u8 as char;
                predicted.push(predicted_char);
                dec_input = str2tensor(&predicted_char.to_string(), false);
            }
            predicted
        })
    }
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n_epoch: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(100);
    torch::manual_seed(0);
    let dataset = Arc::new(TextDataset::new(N_LINES)?);
    let train_loader = DataLoader::new(dataset.clone(), 1).shuffle(true).seed(0);

    let encoder = EncoderRNN::new(N_CHARS, HIDDEN_SIZE, N_LAYERS);
    let decoder = DecoderRNN::new(HIDDEN_SIZE, N_CHARS, N_LAYERS);
    let mut params = encoder.parameters();
    params.extend(decoder.parameters());
    let mut s2s = Seq2Seq {
        encoder,
        decoder,
        optimizer: Adam::new(params, 0.001),
        criterion: CrossEntropyLoss::new(),
    };

    println!("Training for {n_epoch} epochs...");
    for epoch in 1..=n_epoch {
        // Get srcs and targets from data loader
        let mut train_loss = 0.0;
        for (srcs, targets) in train_loader.iter() {
            train_loss = s2s.train(&srcs.select(0, 0), &targets.select(0, 0)); // Batch is 1
        }
        let all_right = dataset
            .src_lines
            .iter()
            .zip(&dataset.target_lines)
            .all(|(src, target)| s2s.translate(src, 100) == *target);
        if epoch % 10 == 0 || all_right {
            println!(
                "[({epoch} {:.0}%) {train_loss:.4}]",
                epoch as f64 / n_epoch as f64 * 100.0
            );
            let (src, _) = dataset.get(0);
            let src = tensor2str(&src);
            println!("{src} -> {}\n", s2s.translate(&src, 100));
        }
        if all_right {
            println!("every target reproduced after {epoch} epochs");
            break;
        }
    }
    for src in &dataset.src_lines {
        println!("translate: {src} -> {}", s2s.translate(src, 100));
    }
    Ok(())
}
