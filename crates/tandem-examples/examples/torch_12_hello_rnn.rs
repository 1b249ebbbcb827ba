//! PyTorchZeroToAll lesson 12: teach an RNN "hihell" -> "ihello". One character at a time, the
//! hidden state carried from step to step, `nn.RNN(input_size=5, hidden_size=5,
//! batch_first=True)`, `CrossEntropyLoss` on the hidden state, Adam(lr=0.1), 100 epochs.
//!
//! Run: `cargo run --release --example torch_12_hello_rnn`

use tandem::torch::nn::{CrossEntropyLoss, Module, RNN};
use tandem::torch::optim::{Adam, Optimizer};
use tandem::{torch, Tensor};

const IDX2CHAR: [char; 5] = ['h', 'i', 'e', 'l', 'o'];
const NUM_CLASSES: usize = 5;
const INPUT_SIZE: usize = 5; // one-hot size
const HIDDEN_SIZE: usize = 5; // output from the RNN: 5 to directly predict the one-hot
const BATCH_SIZE: usize = 1; // one sentence
const SEQUENCE_LENGTH: usize = 1; // one character at a time
const NUM_LAYERS: usize = 1; // one-layer rnn

struct Model {
    rnn: RNN,
}

impl Model {
    fn new() -> Model {
        Model {
            rnn: RNN::new(INPUT_SIZE, HIDDEN_SIZE).batch_first(true),
        }
    }

    /// One character in, the next hidden state and its class scores out.
    fn forward(&self, hidden: &Tensor, x: &Tensor) -> (Tensor, Tensor) {
        // Reshape input to (batch_size, sequence_length, input_size)
        let x = x.view(&[
            BATCH_SIZE as isize,
            SEQUENCE_LENGTH as isize,
            INPUT_SIZE as isize,
        ]);
        let (out, hidden) = self.rnn.forward_with(&x, Some(hidden));
        (hidden, out.view(&[-1, NUM_CLASSES as isize]))
    }

    fn init_hidden(&self) -> Tensor {
        // (num_layers * num_directions, batch, hidden_size)
        torch::zeros(&[NUM_LAYERS, BATCH_SIZE, HIDDEN_SIZE])
    }
}

pub fn main() {
    torch::manual_seed(777);
    let x_data = [0i64, 1, 0, 2, 3, 3]; // hihell
    let y_data = [1i64, 0, 2, 3, 3, 4]; // ihello
    let inputs = torch::nn::functional::one_hot(&torch::tensor(x_data), NUM_CLASSES)
        .to_dtype(torch::float32);
    let labels = torch::tensor(y_data);

    let model = Model::new();
    let criterion = CrossEntropyLoss::new();
    let mut optimizer = Adam::new(model.rnn.parameters(), 0.1);

    let mut predicted = String::new();
    for epoch in 0..100 {
        optimizer.zero_grad();
        let mut loss = torch::tensor(0.0f32);
        let mut hidden = model.init_hidden();
        predicted.clear();
        for i in 0..y_data.len() {
            let (h, output) = model.forward(&hidden, &inputs.select(0, i as isize));
            hidden = h;
            let idx = output.argmax(Some(1), false).item::<i64>();
            predicted.push(IDX2CHAR[idx as usize]);
            loss += criterion.forward(&output, &labels.narrow(0, i, 1));
        }
        if epoch % 10 == 9 || epoch == 0 {
            println!(
                "epoch: {}, loss: {:.3}, predicted string: {predicted}",
                epoch + 1,
                loss.item::<f32>()
            );
        }
        loss.backward();
        optimizer.step();
    }
    println!("Learning finished! predicted string: {predicted}");
}
