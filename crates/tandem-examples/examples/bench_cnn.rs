//! B2, a small CNN: Conv2d(1,16,3)+ReLU, MaxPool2d(2), Conv2d(16,32,3)+ReLU, MaxPool2d(2),
//! Flatten, Linear(800,10) (the tf2 11-1 network, NCHW), CrossEntropyLoss, Adam(1e-3), batch
//! 128, one shuffled epoch over the 60,000 Fashion-MNIST training images, with the protocol of
//! `bench_b2_cnn_torch.py`: per repetition a fresh seeded model, ~20 warm-up steps, weights and
//! optimizer reset, one timed epoch, then test accuracy (not timed); the median of 3.
//!
//! `--idiom keras` runs the same network through `compile` / `fit` in Keras's channels-last
//! layout, with the protocol of `bench_b2_cnn_keras.py`: a warm-up `fit` on 20 batches and a
//! partial one, the initial weights and a fresh optimizer restored, one timed shuffled epoch.
//!
//! `--model wide` runs the 32/64-filter network a new user writes first instead: Conv 32@3x3 +
//! ReLU, Conv 64@3x3 + ReLU, MaxPool 2, Flatten, Dense 10 (Adam(1e-3), batch 128), paired with
//! `tools/bench/bench_cnn_wide_torch.py` and, through `fit` with `validation_split=0.1`,
//! `tools/bench/bench_cnn_wide_keras.py`. `--reps N` sets the repetitions (default 3).
//!
//! Run: `cargo run --release --example bench_cnn -- [--data-dir DIR] [--idiom keras]
//! [--model wide] [--reps N]`

use std::time::Instant;
use tandem::torch::nn::{
    Conv2d, CrossEntropyLoss, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential,
};
use tandem::torch::optim::{Adam, Optimizer};
use tandem::{torch, Tensor};

fn make_model(wide: bool) -> Sequential {
    if wide {
        return Sequential::new()
            .add(Conv2d::new(1, 32, 3))
            .add(ReLU)
            .add(Conv2d::new(32, 64, 3))
            .add(ReLU)
            .add(MaxPool2d::new(2))
            .add(Flatten)
            .add(Linear::new(64 * 12 * 12, 10));
    }
    Sequential::new()
        .add(Conv2d::new(1, 16, 3))
        .add(ReLU)
        .add(MaxPool2d::new(2))
        .add(Conv2d::new(16, 32, 3))
        .add(ReLU)
        .add(MaxPool2d::new(2))
        .add(Flatten)
        .add(Linear::new(32 * 5 * 5, 10))
}

fn train_steps(
    model: &Sequential,
    opt: &mut Adam,
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
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = flag("--data-dir");
    let wide = flag("--model").as_deref() == Some("wide");
    let reps: usize = flag("--reps").map_or(Ok(3), |r| r.parse())?;
    let ((xtr, ytr), (xte, yte)) = match dir {
        Some(d) => tandem::data::fashion_mnist::load_data_from(&d)?,
        None => tandem::data::fashion_mnist::load_data()?,
    };
    if args
        .windows(2)
        .any(|w| w[0] == "--idiom" && w[1] == "keras")
    {
        let xtr = (xtr.float() / 255.0).reshape(&[-1, 28, 28, 1]);
        let xte = (xte.float() / 255.0).reshape(&[-1, 28, 28, 1]);
        return keras_fit_epochs(&xtr, &ytr, &xte, &yte, wide, reps);
    }
    let xtr = (xtr.float() / 255.0).reshape(&[-1, 1, 28, 28]);
    let xte = (xte.float() / 255.0).reshape(&[-1, 1, 28, 28]);
    let n = xtr.shape()[0];
    let b = 128;
    let (mut times, mut accs) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        torch::manual_seed(0);
        let model = make_model(wide);
        let init: Vec<Tensor> = model
            .parameters()
            .iter()
            .map(|p| p.detach().contiguous_copy())
            .collect();
        let mut opt = Adam::new(model.parameters(), 1e-3);
        let tail = (n % b) as f64;
        let mut warm: Vec<Tensor> = (0..20)
            .map(|i| torch::arange((i * b) as f64, ((i + 1) * b) as f64, 1.0))
            .collect();
        warm.push(torch::arange((20 * b) as f64, (20 * b) as f64 + tail, 1.0));
        train_steps(&model, &mut opt, &xtr, &ytr, &warm);

        let t0 = Instant::now();
        torch::no_grad(|| {
            for (p, v) in model.parameters().iter().zip(&init) {
                p.copy_(v);
            }
        });
        let mut opt = Adam::new(model.parameters(), 1e-3);
        torch::manual_seed(1);
        let perm = torch::randperm(n);
        let last = train_steps(&model, &mut opt, &xtr, &ytr, &perm.split(b, 0));
        let t = t0.elapsed().as_secs_f64();
        let acc = torch::no_grad(|| {
            let parts: Vec<Tensor> = (0..xte.shape()[0])
                .step_by(1000)
                .map(|s| {
                    model
                        .forward(&xte.narrow(0, s, 1000))
                        .argmax(Some(1), false)
                })
                .collect();
            let pred = Tensor::cat(&parts.iter().collect::<Vec<_>>(), 0);
            pred.eq(&yte).float().mean().item::<f32>()
        });
        eprintln!("# rep {rep}: epoch {t:.3}s last_loss={last:.4} test_acc={acc:.4}");
        times.push(t);
        accs.push(acc);
    }
    report(if wide { "cnn_wide" } else { "b2_cnn" }, times, &accs);
    Ok(())
}

/// The tf2 11-1 network through `compile` / `fit` on `[N, 28, 28, 1]` images.
fn keras_fit_epochs(
    xtr: &Tensor,
    ytr: &Tensor,
    xte: &Tensor,
    yte: &Tensor,
    wide: bool,
    reps: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    use tandem::tf::keras::{
        self,
        layers::{Conv2D, Dense, Flatten, Input, MaxPooling2D},
    };
    let b = 128;
    let n = xtr.shape()[0];
    let nwarm = 20 * b + n % b;
    let compile = |m: &mut keras::Sequential| {
        m.compile(
            keras::optimizers::Adam(1e-3),
            keras::losses::SparseCategoricalCrossentropy(true),
            &["accuracy"],
        )
    };
    let (mut times, mut accs) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        tandem::tf::random::set_seed(0);
        let mut model = if wide {
            keras::sequential![
                Input::new(&[28, 28, 1]),
                Conv2D::new(32, 3).activation("relu"),
                Conv2D::new(64, 3).activation("relu"),
                MaxPooling2D::new(2),
                Flatten::new(),
                Dense::new(10),
            ]
        } else {
            keras::sequential![
                Input::new(&[28, 28, 1]),
                Conv2D::new(16, 3).activation("relu"),
                MaxPooling2D::new(2),
                Conv2D::new(32, 3).activation("relu"),
                MaxPooling2D::new(2),
                Flatten::new(),
                Dense::new(10),
            ]
        };
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
            seed: rep as u64,
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
        let args = keras::FitArgs {
            validation_split: if wide { 0.1 } else { 0.0 },
            ..quiet(true)
        };
        let h = model.fit(xtr, ytr, args)?;
        let t = t0.elapsed().as_secs_f64();
        let logits = model.predict(xte);
        let acc = logits
            .argmax(Some(1), false)
            .eq(yte)
            .float()
            .mean()
            .item::<f32>();
        eprintln!(
            "# rep {rep}: fit epoch {t:.3}s train_acc={:.4} test_acc={acc:.4}",
            h.get("accuracy").map_or(f64::NAN, |a| a[0])
        );
        times.push(t);
        accs.push(acc);
    }
    report(
        if wide {
            "cnn_wide_keras_fit"
        } else {
            "b2_cnn_keras_fit"
        },
        times,
        &accs,
    );
    Ok(())
}

/// The median epoch time and the last repetition's test accuracy, as `RESULT` lines.
fn report(bench: &str, mut times: Vec<f64>, accs: &[f32]) {
    times.sort_by(f64::total_cmp);
    println!(
        "RESULT bench={bench}_epoch_time framework=tandem value={:.4} unit=s",
        times[times.len() / 2]
    );
    println!(
        "RESULT bench={bench}_test_acc framework=tandem value={:.4} unit=fraction",
        accs[accs.len() - 1]
    );
}
