use std::time::Instant;
use tandem::torch::nn::functional as F;
use tandem::{torch, Tensor};
fn time(name: &str, f: impl Fn()) {
    for _ in 0..3 {
        f();
    }
    let n = 30;
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name}: {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}
fn main() {
    torch::manual_seed(0);
    for (c, o, hw, needx) in [
        (1usize, 16usize, 28usize, false),
        (16, 32, 13, false),
        (16, 32, 13, true),
    ] {
        let x = torch::randn(&[128, c, hw, hw]).requires_grad_(needx);
        let w = torch::randn(&[o, c, 3, 3]).requires_grad_(true);
        let b = torch::randn(&[o]).requires_grad_(true);
        let args = F::Conv2dArgs::default();
        time(&format!("conv c{c} fwd"), || {
            let _ = torch::no_grad(|| F::conv2d(&x, &w, Some(&b), args));
        });
        let y = F::conv2d(&x, &w, Some(&b), args);
        let g = Tensor::ones_like(&y);
        time(&format!("conv c{c} fwd+bwd"), || {
            let y = F::conv2d(&x, &w, Some(&b), args);
            y.backward_with(Some(&g), true, false);
        });
        let r = F::conv2d(&x, &w, Some(&b), args).relu();
        let pa = F::Pool2dArgs::new(2);
        time(&format!("pool after c{c} fwd"), || {
            let _ = torch::no_grad(|| F::max_pool2d(&r, pa));
        });
    }
}
