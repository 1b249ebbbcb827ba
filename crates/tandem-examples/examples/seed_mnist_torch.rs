//! Section 2B of the seed, PyTorch side: the 784-520-320-240-120-10 network trained on real
//! MNIST digits with the seed's loop (`zero_grad`, `forward`, `criterion`, `backward`, `step`).
//!
//! Run: `cargo run --release --example seed_mnist_torch -- [sgd|adam] [epochs]`
//! (default: SGD(lr=0.01, momentum=0.5) for 10 epochs on the embedded 8,000/2,000 sample).

use std::sync::Arc;
use tandem::torch::nn::{functional as F, Linear, Module};
use tandem::torch::optim::{Adam, Optimizer, SGD};
use tandem::torch::utils::data::{DataLoader, TensorDataset};
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
        self.l5.forward(&x)
    }
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "sgd".into());
    let epochs: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(10);
    torch::manual_seed(1);

    let ((x_train, y_train), (x_test, y_test)) = tandem::data::mnist::load_sample();
    let to_input = |x: &Tensor| (x.float() / 255.0).reshape(&[-1, 1, 28, 28]);
    let train = Arc::new(TensorDataset::new(to_input(&x_train), y_train)?);
    let train_loader = DataLoader::new(train, 64).shuffle(true).seed(1);

    let device = torch::device("cuda");
    let mut model = Net::new();
    model.to(device);
    let criterion = torch::nn::CrossEntropyLoss::new(); // LogSoftmax + NLLLoss
    let mut optimizer: Box<dyn Optimizer> = match which.as_str() {
        "adam" => Box::new(Adam::new(model.parameters(), 1e-3)),
        _ => Box::new(SGD::new(model.parameters(), 0.01, 0.5)),
    };

    for epoch in 1..=epochs {
        model.train();
        let mut last = 0.0;
        for (data, target) in train_loader.iter() {
            optimizer.zero_grad();
            let output = model.forward(&data);
            let loss = criterion.forward(&output, &target);
            loss.backward();
            optimizer.step();
            last = loss.item::<f32>();
        }
        model.eval();
        let acc = torch::no_grad(|| accuracy(&model, &to_input(&x_test), &y_test));
        println!(
            "epoch {epoch:2}  loss {last:.4}  test accuracy {:.2}%",
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
