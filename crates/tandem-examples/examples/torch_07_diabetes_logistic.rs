//! PyTorchZeroToAll lesson 07: a wide and deep logistic model of the diabetes data
//! (`data-03-diabetes.csv`, 759 patients, 8 features): Linear 8->6->4->1 with sigmoids between,
//! `BCELoss`, full-batch SGD(lr=0.1). The lesson trains 100 epochs, which leaves the network on
//! the plateau of always answering "diabetic" (65.35% of the rows); with a few thousand epochs
//! it leaves the plateau and reaches about 77%.
//!
//! Run: `cargo run --release --example torch_07_diabetes_logistic -- [epochs]` (default 100).

use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::torch::nn::{BCELoss, Linear, Module, Sigmoid};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::{torch, Tensor};

#[derive(tandem::nn::Module)]
struct Model {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    #[module(skip)]
    sigmoid: Sigmoid,
}

impl Model {
    fn new() -> Model {
        Model {
            l1: Linear::new(8, 6),
            l2: Linear::new(6, 4),
            l3: Linear::new(4, 1),
            sigmoid: Sigmoid,
        }
    }
}

impl Module for Model {
    fn forward(&self, x: &Tensor) -> Tensor {
        let out1 = self.sigmoid.forward(&self.l1.forward(x));
        let out2 = self.sigmoid.forward(&self.l2.forward(&out1));
        self.sigmoid.forward(&self.l3.forward(&out2))
    }
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|e| e.parse())
        .transpose()?
        .unwrap_or(100);
    torch::manual_seed(0);
    let xy = loadtxt(
        tandem::data::course::file("data-03-diabetes.csv")?,
        LoadTxt::default(),
    )?;
    let x_data = xy.narrow(1, 0, 8).contiguous();
    let y_data = xy.narrow(1, 8, 1).contiguous();
    println!("{:?}", x_data.shape());
    println!("{:?}", y_data.shape());

    // our model
    let model = Model::new();

    // Construct our loss function and an Optimizer.
    let criterion = BCELoss::new();
    let mut optimizer = SGD::new(model.parameters(), 0.1, 0.0);

    // Training loop
    let mut first = None;
    for epoch in 0..epochs {
        // Forward pass: Compute predicted y by passing x to the model
        let y_pred = model.forward(&x_data);

        // Compute and print loss
        let loss = criterion.forward(&y_pred, &y_data);
        let l = loss.item::<f32>();
        first.get_or_insert(l);
        if epoch < 10 || (epoch + 1) % (epochs / 10).max(1) == 0 {
            println!("{epoch} {l}");
        }

        // Zero gradients, perform a backward pass, and update the weights.
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    let y_pred = torch::no_grad(|| model.forward(&x_data));
    let loss = BCELoss::new().forward(&y_pred, &y_data).item::<f32>();
    let accuracy = y_pred
        .gt(0.5)
        .to_dtype(torch::float32)
        .eq(&y_data)
        .to_dtype(torch::float32)
        .mean()
        .item::<f32>();
    println!(
        "loss: first epoch {:.4}, after training {loss:.4}",
        first.unwrap_or(f32::NAN)
    );
    println!("accuracy: {accuracy:.4}");
    Ok(())
}
