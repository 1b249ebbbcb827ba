//! PyTorchZeroToAll lesson 13-1: which country does a surname come from? Names become ASCII
//! codes, an `Embedding` feeds a 2-layer bidirectional `GRU` over the *packed* batch (every
//! name keeps its own length), and a `Linear` layer reads the last layer's final hidden
//! state. `CrossEntropyLoss`, Adam(1e-3), batches of 256, on the course's 13,374 training and
//! 6,700 test names (18 countries).
//!
//! Run: `cargo run --release --example torch_13_1_rnn_classification -- [epochs]` (default 2).

use std::sync::Arc;
use tandem::data::csv::read_rows;
use tandem::torch::nn::utils::rnn::pack_padded_sequence;
use tandem::torch::nn::{CrossEntropyLoss, Embedding, Linear, Module, GRU};
use tandem::torch::optim::{Adam, Optimizer};
use tandem::torch::utils::data::{DataLoader, Dataset};
use tandem::{torch, Tensor};

const HIDDEN_SIZE: usize = 100;
const N_LAYERS: usize = 2;
const BATCH_SIZE: usize = 256;
const N_CHARS: usize = 128; // ASCII

/// The names of one split as padded ASCII codes (0 = padding) and their country indices.
struct NameDataset {
    names: Vec<String>,
    countries: Vec<String>,
    country_list: Vec<String>,
    max_len: usize,
}

impl NameDataset {
    fn new(is_train_set: bool) -> Result<NameDataset, tandem::data::DataError> {
        let read = |f: &str| read_rows(tandem::data::course::file(f)?);
        let file = if is_train_set {
            "names_train.csv.gz"
        } else {
            "names_test.csv.gz"
        };
        let rows = read(file)?;
        // The country list comes from the training set, so both splits number them alike.
        let mut country_list: Vec<String> = read("names_train.csv.gz")?
            .into_iter()
            .map(|r| r[1].clone())
            .collect();
        country_list.sort();
        country_list.dedup();
        let (names, countries): (Vec<String>, Vec<String>) = rows
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .unzip();
        let max_len = names.iter().map(|n| n.len()).max().unwrap_or(1);
        Ok(NameDataset {
            names,
            countries,
            country_list,
            max_len,
        })
    }

    fn get_countries(&self) -> &[String] {
        &self.country_list
    }
}

impl Dataset for NameDataset {
    fn len(&self) -> usize {
        self.names.len()
    }

    fn get(&self, index: usize) -> (Tensor, Tensor) {
        let mut codes = vec![0i64; self.max_len];
        for (c, b) in codes.iter_mut().zip(self.names[index].bytes()) {
            *c = (b as usize % N_CHARS) as i64;
        }
        let country = self
            .country_list
            .iter()
            .position(|c| *c == self.countries[index])
            .expect("a known country") as i64;
        (
            Tensor::from_vec(codes, &[self.max_len]),
            torch::tensor(country),
        )
    }
}

struct RNNClassifier {
    embedding: Embedding,
    gru: GRU,
    fc: Linear,
    n_layers: usize,
    n_directions: usize,
    hidden_size: usize,
}

impl RNNClassifier {
    fn new(input_size: usize, hidden_size: usize, output_size: usize, n_layers: usize) -> Self {
        let bidirectional = true;
        RNNClassifier {
            embedding: Embedding::new(input_size, hidden_size),
            gru: GRU::new(hidden_size, hidden_size)
                .num_layers(n_layers)
                .bidirectional(bidirectional),
            fc: Linear::new(hidden_size, output_size),
            n_layers,
            n_directions: bidirectional as usize + 1,
            hidden_size,
        }
    }

    fn parameters(&self) -> Vec<Tensor> {
        let mut p = self.embedding.parameters();
        p.extend(self.gru.parameters());
        p.extend(self.fc.parameters());
        p
    }

    /// `input`: `[B, S]` padded codes; `seq_lengths`: each name's length.
    fn forward(&self, input: &Tensor, seq_lengths: &[usize]) -> Tensor {
        let input = input.t(); // B x S -> S x B
        let batch_size = input.size()[1];
        let hidden = self.init_hidden(batch_size);
        let embedded = self.embedding.forward(&input); // S x B x I
        let gru_input = pack_padded_sequence(&embedded, seq_lengths, false, false);
        let (_output, hidden) = self.gru.forward_packed(&gru_input, Some(&hidden));
        // The last layer's backward direction is hidden[-1], as in the lesson.
        self.fc.forward(&hidden.select(0, -1))
    }

    fn init_hidden(&self, batch_size: usize) -> Tensor {
        torch::zeros(&[
            self.n_layers * self.n_directions,
            batch_size,
            self.hidden_size,
        ])
    }
}

/// Each row's length (codes before the padding) and the batch cut to its longest name.
fn trim(names: &Tensor) -> (Tensor, Vec<usize>) {
    let lengths: Vec<usize> = names
        .ne(0)
        .sum_dims(&[1], false)
        .to_vec::<i64>()
        .into_iter()
        .map(|n| n as usize)
        .collect();
    let longest = lengths.iter().copied().max().unwrap_or(1);
    (names.narrow(1, 0, longest), lengths)
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n_epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(2);
    torch::manual_seed(0);
    let train_dataset = Arc::new(NameDataset::new(true)?);
    let test_dataset = Arc::new(NameDataset::new(false)?);
    let n_countries = train_dataset.get_countries().len();
    println!(
        "{} training names, {} test names, {n_countries} countries",
        train_dataset.len(),
        test_dataset.len()
    );
    let train_loader = DataLoader::new(train_dataset.clone(), BATCH_SIZE)
        .shuffle(true)
        .seed(0);
    let test_loader = DataLoader::new(test_dataset.clone(), BATCH_SIZE);

    let classifier = RNNClassifier::new(N_CHARS, HIDDEN_SIZE, n_countries, N_LAYERS);
    let mut optimizer = Adam::new(classifier.parameters(), 0.001);
    let criterion = CrossEntropyLoss::new();

    for epoch in 1..=n_epochs {
        let start = std::time::Instant::now();
        let mut total_loss = 0.0;
        for (i, (names, countries)) in train_loader.iter().enumerate() {
            let (input, seq_lengths) = trim(&names);
            let output = classifier.forward(&input, &seq_lengths);
            let loss = criterion.forward(&output, &countries);
            total_loss += loss.item::<f32>();
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            if (i + 1) % 10 == 0 {
                println!(
                    "[{:.1}s] Train Epoch: {epoch} [{}/{}]\tLoss: {:.2}",
                    start.elapsed().as_secs_f64(),
                    ((i + 1) * BATCH_SIZE).min(train_dataset.len()),
                    train_dataset.len(),
                    total_loss / (i + 1) as f32
                );
            }
        }
        let mut correct = 0;
        torch::no_grad(|| {
            for (names, countries) in test_loader.iter() {
                let (input, seq_lengths) = trim(&names);
                let pred = classifier
                    .forward(&input, &seq_lengths)
                    .argmax(Some(1), false);
                correct += pred.eq(&countries).sum().item::<i64>();
            }
        });
        println!(
            "Test set: Accuracy {correct}/{} ({:.2}%)",
            test_dataset.len(),
            100.0 * correct as f64 / test_dataset.len() as f64
        );
    }
    Ok(())
}
