//! PyTorch lesson 05: `nn.Linear(1, 1)` fitted to y = 2x with `MSELoss` and `SGD(lr=0.01)`;
//! after 500 epochs the prediction for 4.0 is close to 8 (about 7.8, as in the lesson).
//!
//! Run: `cargo run --release --example torch_05_linear_regression`

use tandem::torch;
use tandem::torch::nn::{Linear, MSELoss, Module};
use tandem::torch::optim::{Optimizer, SGD};

pub fn main() {
    torch::manual_seed(0);
    let x_data = torch::tensor([[1.0], [2.0], [3.0]]);
    let y_data = torch::tensor([[2.0], [4.0], [6.0]]);
    let model = Linear::new(1, 1);
    let criterion = MSELoss::new();
    let mut optimizer = SGD::new(model.parameters(), 0.01, 0.0);
    for epoch in 0..500 {
        let y_pred = model.forward(&x_data);
        let loss = criterion.forward(&y_pred, &y_data);
        if epoch % 100 == 0 {
            println!("epoch {epoch:3} loss {:.6}", loss.item::<f32>());
        }
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }
    let hour_var = torch::tensor([[4.0]]);
    let y_pred = torch::no_grad(|| model.forward(&hour_var));
    println!("predict (after training): 4 -> {:.4}", y_pred.item::<f32>());
}
