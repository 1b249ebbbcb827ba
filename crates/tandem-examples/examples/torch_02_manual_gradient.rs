//! PyTorchZeroToAll lesson 02: gradient descent with the gradient worked out by hand. For the
//! loss `(x * w - y)^2` the gradient is `2x(xw - y)`; starting from w = 1.0 with a learning
//! rate of 0.01, ten passes over the three points of y = 2x bring the prediction for x = 4 to
//! about 7.80 (the lesson's figure).
//!
//! Run: `cargo run --release --example torch_02_manual_gradient`

pub fn main() {
    let x_data = [1.0, 2.0, 3.0];
    let y_data = [2.0, 4.0, 6.0];

    let mut w = 1.0; // a random guess of initial weight
    let lr = 0.01; // learning rate
    let num_epoches = 10;

    // our model forward pass
    let forward = |x: f64, w: f64| x * w;

    // Loss function
    let loss = |x: f64, y: f64, w: f64| (forward(x, w) - y).powi(2);

    // compute gradient
    // d_loss/d_w
    // loss = (wx-y)^2
    let gradient = |x: f64, y: f64, w: f64| 2.0 * x * (x * w - y);

    // Before training
    println!("predict (before training) 4 {}", forward(4.0, w));

    // Training loop
    for epoch in 0..num_epoches {
        let mut los_val = 0.0;
        for (&x_val, &y_val) in x_data.iter().zip(&y_data) {
            let grad = gradient(x_val, y_val, w);
            w -= lr * grad;
            println!("\tgrad:  {x_val:?} {y_val:?} {grad:.2}");
            los_val = loss(x_val, y_val, w);
        }
        println!("progress: {epoch} w= {w:.2} loss= {los_val:.2}");
    }

    // After training
    println!("predict (after training) 4 hours {}", forward(4.0, w));
}
