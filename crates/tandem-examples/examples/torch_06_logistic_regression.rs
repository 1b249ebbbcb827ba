//! PyTorchZeroToAll lesson 06: logistic regression on the course's four points (hours studied
//! -> pass/fail): `nn.Linear(1, 1)` and a sigmoid, `BCELoss`, SGD(lr=0.01) for 1000 epochs.
//! Afterwards one hour of study predicts a fail (below 0.5) and seven hours a pass.
//!
//! Run: `cargo run --release --example torch_06_logistic_regression`

use tandem::torch::nn::{functional as F, BCELoss, Linear, Module};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::{torch, Tensor};

#[derive(tandem::nn::Module)]
struct Model {
    linear: Linear, // One in and one out
}

impl Model {
    fn new() -> Model {
        Model {
            linear: Linear::new(1, 1),
        }
    }
}

impl Module for Model {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::sigmoid(&self.linear.forward(x))
    }
}

pub fn main() {
    torch::manual_seed(0);
    let x_data = torch::tensor([[1.0], [2.0], [3.0], [4.0]]);
    let y_data = torch::tensor([[0.0], [0.0], [1.0], [1.0]]);

    // our model
    let model = Model::new();

    // Construct our loss function and an Optimizer.
    let criterion = BCELoss::new();
    let mut optimizer = SGD::new(model.parameters(), 0.01, 0.0);

    // Training loop
    for epoch in 0..1000 {
        // Forward pass: Compute predicted y by passing x to the model
        let y_pred = model.forward(&x_data);

        // Compute and print loss
        let loss = criterion.forward(&y_pred, &y_data);
        if epoch % 100 == 0 || epoch == 999 {
            println!("{epoch} {}", loss.item::<f32>());
        }

        // Zero gradients, perform a backward pass, and update the weights.
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    // After training
    for (label, hours) in [("1 hour ", 1.0), ("7 hours", 7.0)] {
        let p = torch::no_grad(|| model.forward(&torch::tensor([[hours]]))).item::<f32>();
        println!("predict {label} {hours:.1} {} (p = {p:.3})", p > 0.5);
    }
}
