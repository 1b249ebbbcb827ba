//! The PyTorch examples repository's `mnist/main.py`, line for line: two 3x3 convolutions,
//! max pooling, dropout, two linear layers and `log_softmax`, trained with `nll_loss`,
//! `Adadelta(lr=1.0)` and `StepLR(step_size=1, gamma=0.7)` stepped once per epoch; batches of
//! 64, test batches of 1000, pixels normalized with mean 0.1307 and std 0.3081. On the MNIST
//! sample (8,000 training digits) for 2 epochs by default; the original trains 14 epochs on
//! 60,000. `tools/lessons/torch_16_adadelta_mnist.py` is the PyTorch program.
//!
//! Run: `cargo run --release --example torch_16_adadelta_mnist -- [epochs]` (default 2).

use std::sync::Arc;
use tandem::torch::nn::{functional as F, Conv2d, Dropout, Linear, Module};
use tandem::torch::optim::lr_scheduler::{LrScheduler, StepLR};
use tandem::torch::optim::{Adadelta, Optimizer};
use tandem::torch::utils::data::{DataLoader, TensorDataset};
use tandem::{torch, Tensor};

#[derive(tandem::nn::Module)]
struct Net {
    conv1: Conv2d,
    conv2: Conv2d,
    dropout1: Dropout,
    dropout2: Dropout,
    fc1: Linear,
    fc2: Linear,
}

impl Net {
    fn new() -> Net {
        Net {
            conv1: Conv2d::new(1, 32, 3).stride(1),
            conv2: Conv2d::new(32, 64, 3).stride(1),
            dropout1: Dropout::new(0.25),
            dropout2: Dropout::new(0.5),
            fc1: Linear::new(9216, 128),
            fc2: Linear::new(128, 10),
        }
    }
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = self.conv1.forward(x);
        let x = F::relu(&x);
        let x = self.conv2.forward(&x);
        let x = F::relu(&x);
        let x = F::max_pool2d(&x, 2);
        let x = self.dropout1.forward(&x);
        let x = torch::flatten(&x, 1, -1);
        let x = self.fc1.forward(&x);
        let x = F::relu(&x);
        let x = self.dropout2.forward(&x);
        let x = self.fc2.forward(&x);
        F::log_softmax(&x, 1)
    }
}

fn train(model: &mut Net, loader: &DataLoader, optimizer: &mut Adadelta, epoch: usize) {
    model.train();
    for (batch_idx, (data, target)) in loader.iter().enumerate() {
        optimizer.zero_grad();
        let output = model.forward(&data);
        let loss = F::nll_loss(&output, &target, &Default::default());
        loss.backward();
        optimizer.step();
        if batch_idx % 10 == 0 {
            println!(
                "Train Epoch: {epoch} [{}/{} ({:.0}%)]\tLoss: {:.6}",
                batch_idx * data.size()[0],
                loader.dataset().len(),
                100.0 * batch_idx as f64 / loader.len() as f64,
                loss.item::<f32>()
            );
        }
    }
}

fn test(model: &mut Net, loader: &DataLoader) -> f64 {
    model.eval();
    let (mut test_loss, mut correct) = (0.0, 0i64);
    torch::no_grad(|| {
        for (data, target) in loader.iter() {
            let output = model.forward(&data);
            let sum = F::CrossEntropyOptions {
                reduction: F::Reduction::Sum,
                ..Default::default()
            };
            test_loss += F::nll_loss(&output, &target, &sum).item::<f32>() as f64;
            let pred = output.argmax(Some(1), true);
            correct += pred.eq(target.view_as(&pred)).sum().item::<i64>();
        }
    });
    let n = loader.dataset().len();
    test_loss /= n as f64;
    println!(
        "\nTest set: Average loss: {test_loss:.4}, Accuracy: {correct}/{n} ({:.0}%)\n",
        100.0 * correct as f64 / n as f64
    );
    correct as f64 / n as f64
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(2);
    torch::manual_seed(1);
    let ((x_train, y_train), (x_test, y_test)) = tandem::data::mnist::load_sample();
    // ToTensor() then Normalize((0.1307,), (0.3081,)).
    let transform = |x: &Tensor| ((x.float() / 255.0 - 0.1307) / 0.3081).reshape(&[-1, 1, 28, 28]);
    let train_set = Arc::new(TensorDataset::new(transform(&x_train), y_train)?);
    let test_set = Arc::new(TensorDataset::new(transform(&x_test), y_test)?);
    let train_loader = DataLoader::new(train_set, 64).shuffle(true).seed(1);
    let test_loader = DataLoader::new(test_set, 1000);

    let mut model = Net::new();
    let mut optimizer = Adadelta::new(model.parameters(), 1.0);
    let mut scheduler = StepLR::new(&optimizer, 1, 0.7);
    let mut accuracy = 0.0;
    for epoch in 1..=epochs {
        train(&mut model, &train_loader, &mut optimizer, epoch);
        accuracy = test(&mut model, &test_loader);
        scheduler.step(&mut optimizer);
    }
    println!("final test accuracy: {accuracy:.4}");
    Ok(())
}
