//! PyTorchZeroToAll lesson 13-4: a character-level language model on Shakespeare. Each line of
//! the plays is fed one ASCII code at a time through an `Embedding`, a 3-layer `GRU` and a
//! `Linear` layer predicting the next character (teacher forcing, `CrossEntropyLoss`,
//! Adam(1e-3)); every few hundred lines it writes a sample, drawing each next character with
//! `torch.multinomial` from the temperature-scaled output.
//!
//! Run: `cargo run --release --example torch_13_4_char_rnn -- [lines]` (default 600 lines).

use tandem::torch::nn::{CrossEntropyLoss, Embedding, Linear, Module, GRU};
use tandem::torch::optim::{Adam, Optimizer};
use tandem::{torch, Tensor};

const HIDDEN_SIZE: usize = 100;
const N_LAYERS: usize = 3;
const N_CHARACTERS: usize = 128; // ASCII

struct CharRnn {
    embedding: Embedding,
    gru: GRU,
    linear: Linear,
}

impl CharRnn {
    fn new(input_size: usize, hidden_size: usize, output_size: usize, n_layers: usize) -> CharRnn {
        CharRnn {
            embedding: Embedding::new(input_size, hidden_size),
            gru: GRU::new(hidden_size, hidden_size).num_layers(n_layers),
            linear: Linear::new(hidden_size, output_size),
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        let mut p = self.embedding.parameters();
        p.extend(self.gru.parameters());
        p.extend(self.linear.parameters());
        p
    }

    /// One character in (`[1]` int64), scores for the next one out.
    fn forward(&self, input: &Tensor, hidden: &Tensor) -> (Tensor, Tensor) {
        let embed = self.embedding.forward(&input.view(&[1, -1])); // S(=1) x I
        let embed = embed.view(&[1, 1, -1]); // S(=1) x B(=1) x I
        let (output, hidden) = self.gru.forward_with(&embed, Some(hidden));
        (self.linear.forward(&output.view(&[1, -1])), hidden)
    }

    fn init_hidden(&self) -> Tensor {
        torch::zeros(&[N_LAYERS, 1, HIDDEN_SIZE])
    }
}

fn str2tensor(string: &str) -> Tensor {
    let codes: Vec<i64> = string
        .bytes()
        .map(|b| (b as usize % N_CHARACTERS) as i64)
        .collect();
    let n = codes.len();
    Tensor::from_vec(codes, &[n])
}

fn generate(decoder: &CharRnn, prime_str: &str, predict_len: usize, temperature: f64) -> String {
    torch::no_grad(|| {
        let mut hidden = decoder.init_hidden();
        let prime_input = str2tensor(prime_str);
        let mut predicted = prime_str.to_string();
        // Use the priming string to "build up" the hidden state
        for p in 0..prime_str.len() - 1 {
            hidden = decoder.forward(&prime_input.narrow(0, p, 1), &hidden).1;
        }
        let mut inp = prime_input.narrow(0, prime_str.len() - 1, 1);
        for _ in 0..predict_len {
            let (output, h) = decoder.forward(&inp, &hidden);
            hidden = h;
            // Sample from the network as a multinomial distribution
            let output_dist = (output.view(&[-1]) / temperature).exp();
            let top_i = torch::multinomial(&output_dist, 1, true).item::<i64>();
            let predicted_char = top_i as u8 as char;
            predicted.push(predicted_char);
            inp = str2tensor(&predicted_char.to_string());
        }
        predicted
    })
}

/// Teacher forcing: every character of the line predicts the next one.
fn train_teacher_forcing(
    decoder: &CharRnn,
    optimizer: &mut Adam,
    criterion: &CrossEntropyLoss,
    line: &str,
) -> f32 {
    let input = str2tensor(&line[..line.len() - 1]);
    let target = str2tensor(&line[1..]);
    let mut hidden = decoder.init_hidden();
    let mut loss = torch::tensor(0.0f32);
    for c in 0..input.size()[0] {
        let (output, h) = decoder.forward(&input.narrow(0, c, 1), &hidden);
        hidden = h;
        loss += criterion.forward(&output, &target.narrow(0, c, 1));
    }
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss.item::<f32>() / input.size()[0] as f32
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n_lines: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(600);
    torch::manual_seed(0);
    let path = tandem::data::course::file("shakespeare.txt.gz")?;
    let text = tandem::data::read_text(&path)?;
    // The dataset: the non-empty lines of at least two characters, in a shuffled order.
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 2 && l.is_ascii())
        .collect();
    let order = torch::randperm(lines.len()).to_vec::<i64>();
    println!("{} lines of Shakespeare", lines.len());

    let decoder = CharRnn::new(N_CHARACTERS, HIDDEN_SIZE, N_CHARACTERS, N_LAYERS);
    let mut optimizer = Adam::new(decoder.parameters(), 0.001);
    let criterion = CrossEntropyLoss::new();
    let (mut window, mut first_window) = (Vec::new(), None);
    for (i, &k) in order.iter().take(n_lines).enumerate() {
        let loss = train_teacher_forcing(&decoder, &mut optimizer, &criterion, lines[k as usize]);
        window.push(loss);
        if (i + 1) % 100 == 0 {
            let mean = window.iter().sum::<f32>() / window.len() as f32;
            first_window.get_or_insert(mean);
            println!("[{} lines] mean loss over the last 100: {mean:.3}", i + 1);
            println!("{}\n", generate(&decoder, "Wh", 100, 0.8));
            window.clear();
        }
    }
    Ok(())
}
