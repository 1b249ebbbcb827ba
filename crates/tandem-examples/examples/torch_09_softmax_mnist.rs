//! PyTorchZeroToAll lesson 09: softmax and cross-entropy. First the loss by hand (one-hot
//! `Y` against two predictions) and `nn.CrossEntropyLoss` on raw scores, then the
//! 784-520-320-240-120-10 ReLU network on MNIST digits with `log_softmax` and `nll_loss`,
//! SGD(lr=0.01, momentum=0.5), batches of 64, evaluated on the test digits after each epoch.
//!
//! Run: `cargo run --release --example torch_09_softmax_mnist -- [epochs]` (default 9, as the
//! lesson's `range(1, 10)`).

use std::sync::Arc;
use tandem::torch::nn::{functional as F, CrossEntropyLoss, Linear, Module};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::torch::utils::data::{DataLoader, Dataset, TensorDataset};
use tandem::{torch, Tensor};

#[derive(tandem::nn::Module)]
struct Net {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    l4: Linear,
    l5: Linear,
}

impl Net {
    fn new() -> Net {
        Net {
            l1: Linear::new(784, 520),
            l2: Linear::new(520, 320),
            l3: Linear::new(320, 240),
            l4: Linear::new(240, 120),
            l5: Linear::new(120, 10),
        }
    }
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.view(&[-1, 784]); // Flatten the data (n, 1, 28, 28) -> (n, 784)
        let x = F::relu(&self.l1.forward(&x));
        let x = F::relu(&self.l2.forward(&x));
        let x = F::relu(&self.l3.forward(&x));
        let x = F::relu(&self.l4.forward(&x));
        F::log_softmax(&self.l5.forward(&x), 1)
    }
}

/// Part 1 (09_01): cross-entropy by hand, then `CrossEntropyLoss` (log-softmax + NLL).
fn softmax_loss() {
    // Cross entropy example: Y is one-hot, the predictions are probabilities.
    let y = torch::tensor([0.0, 1.0, 0.0]);
    let y_pred1 = torch::tensor([0.1, 0.8, 0.1]);
    let y_pred2 = torch::tensor([0.8, 0.1, 0.1]);
    let loss1 = (-&y * y_pred1.log()).sum().item::<f32>();
    let loss2 = (-&y * y_pred2.log()).sum().item::<f32>();
    println!("loss1 =  {loss1:.4}");
    println!("loss2 =  {loss2:.4}");

    // Softmax + CrossEntropy (logSoftmax + NLLLoss): the input is raw scores, the target
    // class indices.
    let loss = CrossEntropyLoss::new();
    let y = torch::tensor([2i64, 0, 1]);
    let y_pred1 = torch::tensor([[0.1, 0.2, 0.9], [1.1, 0.1, 0.2], [0.2, 2.1, 0.1]]);
    let y_pred2 = torch::tensor([[0.8, 0.2, 0.3], [0.2, 0.3, 0.5], [0.2, 0.2, 0.5]]);
    let l1 = loss.forward(&y_pred1, &y).item::<f32>();
    let l2 = loss.forward(&y_pred2, &y).item::<f32>();
    println!("Batch Loss1 =  {l1:.4}");
    println!("Batch Loss2 =  {l2:.4}");

    // input is of size nBatch x nClasses = 3 x 5; the gradient reaches it
    let output = torch::randn(&[3, 5]).requires_grad_(true);
    let target = torch::tensor([1i64, 0, 4]);
    let l = loss.forward(&output, &target);
    l.backward();
    println!(
        "{:?} {:?} {:?} grad {:?}",
        output.size(),
        target.size(),
        l.size(),
        output.grad().map(|g| g.size().to_vec())
    );
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(9);
    torch::manual_seed(1);
    softmax_loss();

    // MNIST Dataset and Data Loader (Input Pipeline)
    let ((x_train, y_train), (x_test, y_test)) = tandem::data::mnist::load_sample();
    let to_input = |x: &Tensor| (x.float() / 255.0).reshape(&[-1, 1, 28, 28]);
    let train = Arc::new(TensorDataset::new(to_input(&x_train), y_train)?);
    let n_train = train.len();
    let train_loader = DataLoader::new(train, 64).shuffle(true).seed(1);
    let (x_test, n_test) = (to_input(&x_test), y_test.size()[0]);

    let mut model = Net::new();
    let mut optimizer = SGD::new(model.parameters(), 0.01, 0.5);

    for epoch in 1..=epochs {
        model.train();
        for (batch_idx, (data, target)) in train_loader.iter().enumerate() {
            optimizer.zero_grad();
            let output = model.forward(&data);
            let loss = F::nll_loss(&output, &target, &Default::default());
            loss.backward();
            optimizer.step();
            if batch_idx % 40 == 0 {
                println!(
                    "Train Epoch: {epoch} [{}/{n_train}]\tLoss: {:.6}",
                    batch_idx * 64,
                    loss.item::<f32>()
                );
            }
        }

        model.eval();
        let (test_loss, correct) = torch::no_grad(|| {
            let output = model.forward(&x_test);
            // sum up batch loss
            let sum = F::CrossEntropyOptions {
                reduction: F::Reduction::Sum,
                ..Default::default()
            };
            let test_loss = F::nll_loss(&output, &y_test, &sum).item::<f32>() / n_test as f32;
            // get the index of the max log-probability
            let pred = output.argmax(Some(1), false);
            (test_loss, pred.eq(&y_test).sum().item::<i64>())
        });
        println!(
            "\nTest set: Average loss: {test_loss:.4}, Accuracy: {correct}/{n_test} ({:.0}%)\n",
            100.0 * correct as f64 / n_test as f64
        );
        if epoch == epochs {
            println!("final test accuracy: {:.4}", correct as f64 / n_test as f64);
        }
    }
    Ok(())
}
