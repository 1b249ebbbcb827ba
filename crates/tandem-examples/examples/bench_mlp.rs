//! B1, the seed MLP: one epoch over the 60,000 Fashion-MNIST training images, batch 64,
//! SGD(lr=0.01, momentum=0.5), PyTorch's default init, with the protocol of
//! `bench_b1_mlp_torch.py`: per repetition a fresh seeded model, ~20 warm-up steps, weights
//! and optimizer reset, one timed epoch (shuffle included), then test accuracy (not timed);
//! the median of 3 repetitions.
//!
//! Run: `cargo run --release --example bench_mlp -- [--data-dir DIR] [--idiom keras]
//! [--deterministic]` (the Keras idiom runs the same epoch through `compile` / `fit` and prints
//! `b1_mlp_keras_fit_epoch_time`; `--deterministic` turns on `use_deterministic_algorithms`).

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

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    if args.iter().any(|a| a == "--deterministic") {
        tandem::torch::use_deterministic_algorithms(true);
    }
    let keras_idiom = args
        .iter()
        .position(|a| a == "--idiom")
        .and_then(|i| args.get(i + 1))
        .is_some_and(|v| v == "keras");
    if keras_idiom {
        return keras_fit_epochs(&xtr, &ytr, &xte, &yte);
    }
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

/// The same epoch through `compile` / `fit` (Keras's glorot init), with the protocol of
/// `bench_b1_mlp_keras.py --variant fit`: a warm-up `fit` on 20 batches and a partial one, the
/// initial weights and a fresh optimizer restored, then one timed shuffled epoch.
fn keras_fit_epochs(
    xtr: &Tensor,
    ytr: &Tensor,
    xte: &Tensor,
    yte: &Tensor,
) -> Result<(), Box<dyn std::error::Error>> {
    use tandem::tf::keras::{self, layers::Dense};
    let b = 64;
    let nwarm = 20 * b + 32;
    let compile = |m: &mut keras::Sequential| {
        m.compile(
            keras::optimizers::SGD(0.01, 0.5),
            keras::losses::SparseCategoricalCrossentropy(true),
            &["accuracy"],
        )
    };
    let (mut times, mut accs) = (Vec::new(), Vec::new());
    for rep in 0..3 {
        tandem::tf::random::set_seed(0);
        let mut model = keras::Sequential::new(vec![
            Box::new(Dense::new(520).activation("relu").input_dim(784)),
            Box::new(Dense::new(320).activation("relu")),
            Box::new(Dense::new(240).activation("relu")),
            Box::new(Dense::new(120).activation("relu")),
            Box::new(Dense::new(10)),
        ]);
        let init: Vec<Tensor> = model
            .trainable_variables()
            .iter()
            .map(|p| p.detach().contiguous_copy())
            .collect();
        compile(&mut model)?;
        let quiet = |shuffle| keras::FitArgs {
            epochs: 1,
            batch_size: b,
            verbose: 0,
            shuffle,
            seed: rep,
            ..Default::default()
        };
        model.fit(
            &xtr.narrow(0, 0, nwarm),
            &ytr.narrow(0, 0, nwarm),
            quiet(false),
        )?;
        let t0 = Instant::now();
        torch::no_grad(|| {
            for (p, v) in model.trainable_variables().iter().zip(&init) {
                p.copy_(v);
            }
        });
        compile(&mut model)?;
        let h = model.fit(xtr, ytr, quiet(true))?;
        let t = t0.elapsed().as_secs_f64();
        let acc = torch::no_grad(|| {
            model
                .predict(xte)
                .argmax(Some(1), false)
                .eq(yte)
                .float()
                .mean()
                .item::<f32>()
        });
        eprintln!(
            "# rep {rep}: fit epoch {t:.3}s train_acc={:.4} test_acc={acc:.4}",
            h.get("accuracy").map_or(f64::NAN, |a| a[0])
        );
        times.push(t);
        accs.push(acc);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "RESULT bench=b1_mlp_keras_fit_epoch_time framework=tandem value={:.4} unit=s",
        times[1]
    );
    println!(
        "RESULT bench=b1_mlp_keras_fit_test_acc framework=tandem value={:.4} unit=fraction",
        accs[2]
    );
    Ok(())
}
