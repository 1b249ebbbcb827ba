//! PyTorchZeroToAll lesson 03: the same gradient descent as lesson 02, with the gradient from
//! autograd: `w` requires grad, `l.backward()` fills `w.grad`, the update runs outside the
//! graph and the gradient is zeroed by hand after each step. The prediction for x = 4 ends at
//! about 7.80, as in lesson 02.
//!
//! Run: `cargo run --release --example torch_03_auto_gradient`

use tandem::{torch, Tensor};

pub fn main() {
    let x_data = [1.0, 2.0, 3.0];
    let y_data = [2.0, 4.0, 6.0];
    let w = torch::tensor([1.0]).requires_grad_(true);

    // our model forward pass
    let forward = |x: f64| x * &w;

    // Loss function
    let loss = |y_pred: &Tensor, y_val: f64| (y_pred - y_val).pow(2.0);

    // Before training
    println!(
        "Prediction (before training) 4 {}",
        forward(4.0).item::<f32>()
    );

    // Training loop
    for epoch in 0..10 {
        let mut l = torch::tensor(0.0);
        for (&x_val, &y_val) in x_data.iter().zip(&y_data) {
            let y_pred = forward(x_val); // 1) Forward pass
            l = loss(&y_pred, y_val); // 2) Compute loss
            l.backward(); // 3) Back propagation to update weights
            let grad = w.grad().expect("backward fills w.grad");
            println!("\tgrad:  {x_val:?} {y_val:?} {}", grad.item::<f32>());
            torch::no_grad(|| w.sub_(0.01 * grad.item::<f32>() as f64));

            // Manually zero the gradients after updating weights
            grad.zero_();
        }
        println!("Epoch: {epoch} | Loss: {}", l.item::<f32>());
    }

    // After training
    println!(
        "Prediction (after training) 4 {}",
        forward(4.0).item::<f32>()
    );
}
