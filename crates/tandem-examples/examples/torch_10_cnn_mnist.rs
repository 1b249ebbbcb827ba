//! PyTorchZeroToAll lesson 10: a small CNN on MNIST digits — two 5x5 convolutions with max
//! pooling and ReLU, a linear layer, `log_softmax` and `nll_loss`, trained with
//! SGD(lr=0.01, momentum=0.5) in batches of 64.
//!
//! Run: `cargo run --release --example torch_10_cnn_mnist -- [epochs]` (default 4).

use std::sync::Arc;
use tandem::torch::nn::{functional as F, Conv2d, Linear, MaxPool2d, Module};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::torch::utils::data::{DataLoader, TensorDataset};
use tandem::{torch, Tensor};

#[derive(tandem::nn::Module)]
struct Net {
    conv1: Conv2d,
    conv2: Conv2d,
    #[module(skip)]
    mp: MaxPool2d,
    fc: Linear,
}

impl Net {
    fn new() -> Net {
        Net {
            conv1: Conv2d::new(1, 10, 5),
            conv2: Conv2d::new(10, 20, 5),
            mp: MaxPool2d::new(2),
            fc: Linear::new(320, 10),
        }
    }
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        let in_size = x.size()[0] as isize;
        let x = F::relu(&self.mp.forward(&self.conv1.forward(x)));
        let x = F::relu(&self.mp.forward(&self.conv2.forward(&x)));
        let x = x.view(&[in_size, -1]); // flatten the tensor
        let x = self.fc.forward(&x);
        F::log_softmax(&x, 1)
    }
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(4);
    torch::manual_seed(1);
    let ((x_train, y_train), (x_test, y_test)) = tandem::data::mnist::load_sample();
    let to_input = |x: &Tensor| (x.float() / 255.0).reshape(&[-1, 1, 28, 28]);
    let train = Arc::new(TensorDataset::new(to_input(&x_train), y_train)?);
    let train_loader = DataLoader::new(train, 64).shuffle(true).seed(1);

    let mut model = Net::new();
    let mut optimizer = SGD::new(model.parameters(), 0.01, 0.5);
    for epoch in 1..=epochs {
        model.train();
        let mut last = 0.0;
        for (data, target) in train_loader.iter() {
            optimizer.zero_grad();
            let output = model.forward(&data);
            let loss = F::nll_loss(&output, &target, &Default::default());
            loss.backward();
            optimizer.step();
            last = loss.item::<f32>();
        }
        model.eval();
        let acc = torch::no_grad(|| accuracy(&model, &to_input(&x_test), &y_test));
        println!(
            "epoch {epoch}  loss {last:.4}  test accuracy {:.2}%",
            acc * 100.0
        );
    }
    let acc = torch::no_grad(|| accuracy(&model, &to_input(&x_test), &y_test));
    println!("final test accuracy: {acc:.4}");
    Ok(())
}

fn accuracy(model: &Net, x: &Tensor, y: &Tensor) -> f64 {
    let pred = model.forward(x).argmax(Some(1), false);
    pred.eq(y).to_dtype(torch::float32).mean().item::<f32>() as f64
}
