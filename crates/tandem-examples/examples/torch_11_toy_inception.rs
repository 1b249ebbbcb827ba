//! PyTorchZeroToAll lesson 11: a toy Inception network on MNIST digits. Each `InceptionA`
//! module runs four branches side by side (1x1; 1x1 then 5x5; 1x1 then two 3x3; 3x3 average
//! pooling then 1x1), padded to keep the image size, and concatenates their 16 + 24 + 24 + 24
//! = 88 channels with `torch::cat`. Conv 5x5 -> pool -> Inception -> conv 5x5 -> pool ->
//! Inception -> Linear(1408, 10), `log_softmax` + `nll_loss`, SGD(lr=0.01, momentum=0.5).
//!
//! Run: `cargo run --release --example torch_11_toy_inception -- [epochs] [batches]`
//! (default 9 epochs, as the lesson; `batches` cuts each epoch short).

use std::sync::Arc;
use tandem::torch::nn::functional::{self as F, Pool2dArgs};
use tandem::torch::nn::{Conv2d, Linear, MaxPool2d, Module};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::torch::utils::data::{DataLoader, Dataset, TensorDataset};
use tandem::{torch, Tensor};

#[derive(tandem::nn::Module)]
struct InceptionA {
    branch1x1: Conv2d,
    branch5x5_1: Conv2d,
    branch5x5_2: Conv2d,
    branch3x3dbl_1: Conv2d,
    branch3x3dbl_2: Conv2d,
    branch3x3dbl_3: Conv2d,
    branch_pool: Conv2d,
}

impl InceptionA {
    fn new(in_channels: usize) -> InceptionA {
        InceptionA {
            branch1x1: Conv2d::new(in_channels, 16, 1),
            branch5x5_1: Conv2d::new(in_channels, 16, 1),
            branch5x5_2: Conv2d::new(16, 24, 5).padding(2),
            branch3x3dbl_1: Conv2d::new(in_channels, 16, 1),
            branch3x3dbl_2: Conv2d::new(16, 24, 3).padding(1),
            branch3x3dbl_3: Conv2d::new(24, 24, 3).padding(1),
            branch_pool: Conv2d::new(in_channels, 24, 1),
        }
    }
}

impl Module for InceptionA {
    fn forward(&self, x: &Tensor) -> Tensor {
        let branch1x1 = self.branch1x1.forward(x);

        let branch5x5 = self.branch5x5_1.forward(x);
        let branch5x5 = self.branch5x5_2.forward(&branch5x5);

        let branch3x3dbl = self.branch3x3dbl_1.forward(x);
        let branch3x3dbl = self.branch3x3dbl_2.forward(&branch3x3dbl);
        let branch3x3dbl = self.branch3x3dbl_3.forward(&branch3x3dbl);

        // F.avg_pool2d(x, kernel_size=3, stride=1, padding=1)
        let pool = Pool2dArgs {
            kernel: (3, 3),
            stride: (1, 1),
            padding: (1, 1),
            ceil_mode: false,
        };
        let branch_pool = F::avg_pool2d(x, pool, true);
        let branch_pool = self.branch_pool.forward(&branch_pool);

        let outputs = [&branch1x1, &branch5x5, &branch3x3dbl, &branch_pool];
        torch::cat(&outputs, 1)
    }
}

#[derive(tandem::nn::Module)]
struct Net {
    conv1: Conv2d,
    conv2: Conv2d,
    incept1: InceptionA,
    incept2: InceptionA,
    #[module(skip)]
    mp: MaxPool2d,
    fc: Linear,
}

impl Net {
    fn new() -> Net {
        Net {
            conv1: Conv2d::new(1, 10, 5),
            conv2: Conv2d::new(88, 20, 5),
            incept1: InceptionA::new(10),
            incept2: InceptionA::new(20),
            mp: MaxPool2d::new(2),
            fc: Linear::new(1408, 10),
        }
    }
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        let in_size = x.size()[0] as isize;
        let x = F::relu(&self.mp.forward(&self.conv1.forward(x)));
        let x = self.incept1.forward(&x);
        let x = F::relu(&self.mp.forward(&self.conv2.forward(&x)));
        let x = self.incept2.forward(&x);
        let x = x.view(&[in_size, -1]); // flatten the tensor
        F::log_softmax(&self.fc.forward(&x), 1)
    }
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let epochs: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(9);
    let batches: usize = args
        .next()
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(usize::MAX);
    torch::manual_seed(1);
    let ((x_train, y_train), (x_test, y_test)) = tandem::data::mnist::load_sample();
    let to_input = |x: &Tensor| (x.float() / 255.0).reshape(&[-1, 1, 28, 28]);
    let train = Arc::new(TensorDataset::new(to_input(&x_train), y_train)?);
    let n_train = train.len();
    let train_loader = DataLoader::new(train, 64).shuffle(true).seed(1);
    let x_test = to_input(&x_test);

    let mut model = Net::new();
    let mut optimizer = SGD::new(model.parameters(), 0.01, 0.5);
    for epoch in 1..=epochs {
        model.train();
        for (batch_idx, (data, target)) in train_loader.iter().take(batches).enumerate() {
            optimizer.zero_grad();
            let output = model.forward(&data);
            let loss = F::nll_loss(&output, &target, &Default::default());
            loss.backward();
            optimizer.step();
            if batch_idx % 10 == 0 {
                println!(
                    "Train Epoch: {epoch} [{}/{n_train}]\tLoss: {:.6}",
                    batch_idx * 64,
                    loss.item::<f32>()
                );
            }
        }
        model.eval();
        let correct = torch::no_grad(|| {
            let mut correct = 0;
            for (data, target) in x_test.split(500, 0).iter().zip(y_test.split(500, 0)) {
                let pred = model.forward(data).argmax(Some(1), false);
                correct += pred.eq(&target).sum().item::<i64>();
            }
            correct
        });
        let n_test = y_test.size()[0];
        println!(
            "\nTest set: Accuracy: {correct}/{n_test} ({:.0}%)\n",
            100.0 * correct as f64 / n_test as f64
        );
        if epoch == epochs {
            println!("final test accuracy: {:.4}", correct as f64 / n_test as f64);
        }
    }
    Ok(())
}
