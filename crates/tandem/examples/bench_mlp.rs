//! B1, the seed MLP: one epoch over the 60,000 Fashion-MNIST training images, batch 64,
//! SGD(lr=0.01, momentum=0.5), PyTorch's default init, with the protocol of
//! `bench_b1_mlp_torch.py`: per repetition a fresh seeded model, ~20 warm-up steps, weights
//! and optimizer reset, one timed epoch (shuffle included), then test accuracy (not timed);
//! the median of 3 repetitions.
//!
//! Run: `cargo run --release --example bench_mlp -- [--data-dir DIR]`

use std::time::Instant;
use tandem::torch::nn::{CrossEntropyLoss, Linear, Module, ReLU, Sequential};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::{torch, Tensor};

fn make_model() -> Sequential {
    Sequential::new()
        .add(Linear::new(784, 520))
        .add(ReLU)
        .add(Linear::new(520, 320))
        .add(ReLU)
        .add(Linear::new(320, 240))
        .add(ReLU)
        .add(Linear::new(240, 120))
        .add(ReLU)
        .add(Linear::new(120, 10))
}

fn train_steps(
    model: &Sequential,
    opt: &mut SGD,
    x: &Tensor,
    y: &Tensor,
    batches: &[Tensor],
) -> f32 {
    let loss_fn = CrossEntropyLoss::new();
    let mut last = 0.0;
    for idx in batches {
        let (xb, yb) = (x.index_select(0, idx), y.index_select(0, idx));
        opt.zero_grad();
        let loss = loss_fn.forward(&model.forward(&xb), &yb);
        loss.backward();
        opt.step();
        last = loss.item::<f32>();
    }
    last
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--data-dir")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let ((xtr, ytr), (xte, yte)) = match dir {
        Some(d) => tandem::data::fashion_mnist::load_data_from(&d)?,
        None => tandem::data::fashion_mnist::load_data()?,
    };
    let xtr = (xtr.float() / 255.0).reshape(&[-1, 784]);
    let xte = (xte.float() / 255.0).reshape(&[-1, 784]);
    let n = xtr.shape()[0];
    let b = 64;
    let (mut times, mut accs) = (Vec::new(), Vec::new());
    for rep in 0..3 {
        torch::manual_seed(0);
        let model = make_model();
        let init: Vec<Tensor> = model
            .parameters()
            .iter()
            .map(|p| p.detach().contiguous_copy())
            .collect();
        let mut opt = SGD::new(model.parameters(), 0.01, 0.5);
        let mut warm: Vec<Tensor> = (0..20)
            .map(|i| torch::arange((i * b) as f64, ((i + 1) * b) as f64, 1.0))
            .collect();
        warm.push(torch::arange((20 * b) as f64, (20 * b + 32) as f64, 1.0));
        train_steps(&model, &mut opt, &xtr, &ytr, &warm);

        let t0 = Instant::now();
        torch::no_grad(|| {
            for (p, v) in model.parameters().iter().zip(&init) {
                p.copy_(v);
            }
        });
        let mut opt = SGD::new(model.parameters(), 0.01, 0.5);
        torch::manual_seed(1);
        let perm = torch::randperm(n);
        let batches = perm.split(b, 0);
        let last = train_steps(&model, &mut opt, &xtr, &ytr, &batches);
        let t = t0.elapsed().as_secs_f64();
        let acc = torch::no_grad(|| {
            model
                .forward(&xte)
                .argmax(Some(1), false)
                .eq(&yte)
                .float()
                .mean()
                .item::<f32>()
        });
        eprintln!("# rep {rep}: epoch {t:.3}s last_loss={last:.4} test_acc={acc:.4}");
        times.push(t);
        accs.push(acc);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "RESULT bench=b1_mlp_epoch_time framework=tandem value={:.4} unit=s",
        times[1]
    );
    println!(
        "RESULT bench=b1_mlp_samples_per_s framework=tandem value={:.1} unit=samples/s",
        n as f64 / times[1]
    );
    println!(
        "RESULT bench=b1_mlp_test_acc framework=tandem value={:.4} unit=fraction",
        accs[2]
    );
    Ok(())
}
