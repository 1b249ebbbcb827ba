//! B3, eager scalar overhead: the seed's linear-regression step (forward, gradient, update),
//! with the protocol of `bench_b3_scalar_torch.py`: 50 warm-up steps, then 3 repetitions of
//! 2,000 steps; prints the median microseconds per step for each idiom.
//!
//! Run: `cargo run --release --example bench_autograd`

use std::time::Instant;
use tandem::{tf, torch, Tensor};

fn torch_steps(steps: usize, x: &Tensor, y: &Tensor) -> (Tensor, Tensor, Tensor) {
    let mut w = torch::tensor(2.9).requires_grad_(true);
    let mut b = torch::tensor(0.5).requires_grad_(true);
    let lr = 0.01;
    let mut cost = torch::tensor(0.0);
    for _ in 0..steps {
        let hyp = &w * x + &b;
        cost = torch::mean(&(&hyp - y).pow(2));
        let g = torch::autograd::grad(&cost, &[&w, &b]);
        torch::no_grad(|| {
            w -= lr * &g[0];
            b -= lr * &g[1];
        });
    }
    (w, b, cost)
}

fn tf_steps(steps: usize, x: &Tensor, y: &Tensor) -> (Tensor, Tensor, Tensor) {
    let w = tf::Variable::new(2.9);
    let b = tf::Variable::new(0.5);
    let lr = 0.01;
    let mut cost = tf::constant(0.0);
    for _ in 0..steps {
        let tape = tf::GradientTape::new();
        let hyp = &w * x + &b;
        cost = tf::reduce_mean(&tf::square(&(&hyp - y)));
        let g = tape.gradient(&cost, &[&w, &b]);
        w.assign_sub(&(lr * g[0].as_ref().unwrap()));
        b.assign_sub(&(lr * g[1].as_ref().unwrap()));
    }
    (w, b, cost)
}

type Steps = fn(usize, &Tensor, &Tensor) -> (Tensor, Tensor, Tensor);

fn measure(run: Steps, x: &Tensor, y: &Tensor) -> (f64, (Tensor, Tensor, Tensor)) {
    let steps = 2000;
    run(50, x, y);
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let t0 = Instant::now();
        let r = run(steps, x, y);
        times.push(t0.elapsed().as_secs_f64() / steps as f64 * 1e6);
        last = Some(r);
    }
    times.sort_by(f64::total_cmp);
    (times[1], last.expect("ran"))
}

pub fn main() {
    let x = torch::tensor([1.0, 2.0, 3.0, 4.0, 5.0]);
    let y = torch::tensor([1.0, 2.0, 3.0, 4.0, 5.0]);
    let (us, (w, b, cost)) = measure(torch_steps, &x, &y);
    println!("RESULT bench=b3_scalar_step_time framework=tandem value={us:.4} unit=us/step");
    println!(
        "RESULT bench=b3_scalar_final_W framework=tandem value={:.9} unit=1",
        w.item::<f32>()
    );
    println!(
        "RESULT bench=b3_scalar_final_b framework=tandem value={:.9} unit=1",
        b.item::<f32>()
    );
    println!(
        "RESULT bench=b3_scalar_final_cost framework=tandem value={:.9} unit=1",
        cost.item::<f32>()
    );
    let (us, _) = measure(tf_steps, &x, &y);
    println!("RESULT bench=b3_scalar_tape_step_time framework=tandem value={us:.4} unit=us/step");
}
