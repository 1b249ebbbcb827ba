//! Section 2A of the seed: simple linear regression updated by hand, in both idioms.
//!
//! Run: `cargo run --release --example seed_linear_regression`

use tandem::{tf, torch};

/// PyTorch: `requires_grad`, `torch.autograd.grad`, and in-place updates under `no_grad`.
fn pytorch_idiom() -> (f32, f32, f32) {
    let x_train = torch::tensor([1.0, 2.0, 3.0, 4.0, 5.0]);
    let y_train = torch::tensor([1.0, 2.0, 3.0, 4.0, 5.0]);
    let mut w = torch::tensor(2.9).requires_grad_(true);
    let mut b = torch::tensor(0.5).requires_grad_(true);
    let lr = 0.01;
    let mut cost = torch::tensor(0.0);
    for ii in 0..100 {
        let hyp = &w * &x_train + &b;
        cost = torch::mean(&(&hyp - &y_train).pow(2));
        let grads = torch::autograd::grad(&cost, &[&w, &b]);
        let (w_grad, b_grad) = (&grads[0], &grads[1]);
        torch::no_grad(|| {
            w -= lr * w_grad;
            b -= lr * b_grad;
        });
        if ii % 10 == 0 {
            println!(
                "{ii:5}|{:10.4}|{:10.4}|{:10.6}",
                w.item::<f32>(),
                b.item::<f32>(),
                cost.item::<f32>()
            );
        }
    }
    (w.item(), b.item(), cost.item())
}

/// TensorFlow: `tf.Variable`, `tf.GradientTape`, `assign_sub`.
fn tensorflow_idiom() -> (f32, f32, f32) {
    let x_train = tf::constant([1.0, 2.0, 3.0, 4.0, 5.0]);
    let y_train = tf::constant([1.0, 2.0, 3.0, 4.0, 5.0]);
    let w = tf::Variable::new(2.9);
    let b = tf::Variable::new(0.5);
    let lr = 0.01;
    let mut cost = tf::constant(0.0);
    for ii in 0..100 {
        let tape = tf::GradientTape::new();
        let hyp = &w * &x_train + &b;
        cost = tf::reduce_mean(&tf::square(&(&hyp - &y_train)));
        let grads = tape.gradient(&cost, &[&w, &b]);
        let (w_grad, b_grad) = (grads[0].as_ref().unwrap(), grads[1].as_ref().unwrap());
        w.assign_sub(&(lr * w_grad));
        b.assign_sub(&(lr * b_grad));
        if ii % 10 == 0 {
            println!(
                "{ii:5}|{:10.4}|{:10.4}|{:10.6}",
                w.item::<f32>(),
                b.item::<f32>(),
                cost.item::<f32>()
            );
        }
    }
    (w.item(), b.item(), cost.item())
}

pub fn main() {
    println!("# PyTorch idiom\n    i|         W|         b|      cost");
    let (w, b, cost) = pytorch_idiom();
    println!("final W = {w:.7}, b = {b:.7}, cost = {cost:.7}");
    println!("# TensorFlow idiom\n    i|         W|         b|      cost");
    let (w2, b2, cost2) = tensorflow_idiom();
    println!("final W = {w2:.7}, b = {b2:.7}, cost = {cost2:.7}");
}
