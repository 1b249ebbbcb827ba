//! PyTorchZeroToAll lesson 01: the linear model `y = x * w` on three points of y = 2x, and its
//! mean squared error over a grid of weights from 0.0 to 4.0 in steps of 0.1 (the lesson's
//! `np.arange(0.0, 4.1, 0.1)`). The loss curve bottoms out at w = 2.0, where the MSE is 0.
//!
//! Run: `cargo run --release --example torch_01_linear_model`

pub fn main() {
    let x_data = [1.0, 2.0, 3.0];
    let y_data = [2.0, 4.0, 6.0];

    // our model for the forward pass
    let forward = |x: f64, w: f64| x * w;

    // Loss function
    let loss = |x: f64, y: f64, w: f64| {
        let y_pred = forward(x, w);
        (y_pred - y) * (y_pred - y)
    };

    let mut w_list = Vec::new();
    let mut mse_list = Vec::new();

    for w in (0..41).map(|i| i as f64 * 0.1) {
        println!("w= {w:.1}");
        let mut l_sum = 0.0;
        for (&x_val, &y_val) in x_data.iter().zip(&y_data) {
            let y_pred_val = forward(x_val, w);
            let l = loss(x_val, y_val, w);
            l_sum += l;
            println!("\t {x_val:.1} {y_val:.1} {y_pred_val:.2} {l:.4}");
        }
        println!("MSE= {}", l_sum / 3.0);
        w_list.push(w);
        mse_list.push(l_sum / 3.0);
    }

    // The lesson plots mse_list against w_list; print where the curve is lowest.
    let best = (0..mse_list.len())
        .min_by(|&a, &b| mse_list[a].total_cmp(&mse_list[b]))
        .expect("a non-empty grid");
    println!("lowest MSE {} at w= {:.1}", mse_list[best], w_list[best]);
}
