//! Data-parallel B1: the seed MLP's Fashion-MNIST epoch (batch 64, SGD(0.01, momentum 0.5),
//! PyTorch's init) trained with `DistributedDataParallel` over the ranks `mpirun` starts, each
//! rank taking its contiguous share of every global batch of 64 from the same shuffled order,
//! with B1's protocol (warm-up, weights reset, one timed epoch, test accuracy, median of 3).
//! Also times an allreduce of the model's 682,090 gradients, and how much of the epoch
//! communication takes (the allreduces themselves, on the communication thread, and the part
//! backward waits for after its last gradient) and how much the optimizer's update takes.
//!
//! Run (the 1-process baseline is `bench_mlp`; built without the feature, or started
//! without a launcher, this is a world of one):
//! `cargo build --release -p tandem-examples --example bench_ddp --features distributed`, then
//! `mpirun -np 2 -x RAYON_NUM_THREADS=1 target/release/examples/bench_ddp [--data-dir DIR]
//! [--first-bucket-mb MB] [--bucket-cap-mb MB]`.

use std::time::{Duration, Instant};
use tandem::distributed::{CommEventKind, DdpOptions, DistributedDataParallel};
use tandem::torch::distributed as dist;
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

/// Time spent in allreduces, time backward waited after its last gradient, and time in the
/// optimizer's update, summed over steps.
#[derive(Default)]
struct Comm {
    busy: Duration,
    exposed: Duration,
    update: Duration,
}

fn train_steps(
    model: &DistributedDataParallel<Sequential>,
    opt: &mut SGD,
    (x, y): (&Tensor, &Tensor),
    batches: &[Tensor],
    (rank, world): (usize, usize),
    comm: &mut Comm,
) {
    let loss_fn = CrossEntropyLoss::new();
    for idx in batches {
        let b = idx.shape()[0];
        let mine = idx.narrow(
            0,
            rank * b / world,
            (rank + 1) * b / world - rank * b / world,
        );
        let (xb, yb) = (x.index_select(0, &mine), y.index_select(0, &mine));
        opt.zero_grad();
        loss_fn.forward(&model.forward(&xb), &yb).backward();
        let t_update = Instant::now();
        opt.step();
        comm.update += t_update.elapsed();
        let events = model.last_backward_events();
        let at = |pred: &dyn Fn(CommEventKind) -> bool| {
            events
                .iter()
                .filter(|e| pred(e.kind))
                .map(|e| e.at)
                .collect::<Vec<Instant>>()
        };
        let starts = at(&|k| matches!(k, CommEventKind::AllReduceStarted(_)));
        let ends = at(&|k| matches!(k, CommEventKind::AllReduceFinished(_)));
        comm.busy += starts
            .iter()
            .zip(&ends)
            .map(|(s, e)| *e - *s)
            .sum::<Duration>();
        let last_grad = at(&|k| matches!(k, CommEventKind::GradReady(_)));
        let written = at(&|k| k == CommEventKind::GradientsWritten);
        if let (Some(g), Some(w)) = (last_grad.last(), written.last()) {
            comm.exposed += w.saturating_duration_since(*g);
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    dist::init_process_group("mpi")?;
    let (rank, world) = (dist::get_rank()?, dist::get_world_size()?);
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
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse::<f64>())
            .transpose()
    };
    let mut options = DdpOptions::default();
    if let Some(mb) = flag("--first-bucket-mb")? {
        options.first_bucket_mb = mb;
    }
    if let Some(mb) = flag("--bucket-cap-mb")? {
        options.bucket_cap_mb = mb;
    }

    // The allreduce of the seed MLP's gradients, alone.
    let grads = torch::rand(&[682_090]);
    let mut reduce_ms = Vec::new();
    for i in 0..60 {
        dist::barrier()?;
        let t0 = Instant::now();
        dist::all_reduce(&grads, dist::ReduceOp::Sum)?;
        if i >= 10 {
            reduce_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }

    let (mut times, mut accs) = (vec![], vec![]);
    let (mut busy, mut exposed, mut update) = (vec![], vec![], vec![]);
    for rep in 0..3 {
        torch::manual_seed(0);
        let model = DistributedDataParallel::with_options(make_model(), options)?;
        let init: Vec<Tensor> = model
            .parameters()
            .iter()
            .map(|p| p.detach().contiguous_copy())
            .collect();
        let mut opt = SGD::new(model.parameters(), 0.01, 0.5);
        let warm: Vec<Tensor> = (0..20)
            .map(|i| torch::arange((i * b) as f64, ((i + 1) * b) as f64, 1.0))
            .collect();
        let mut comm = Comm::default();
        train_steps(
            &model,
            &mut opt,
            (&xtr, &ytr),
            &warm,
            (rank, world),
            &mut comm,
        );

        dist::barrier()?;
        let t0 = Instant::now();
        torch::no_grad(|| {
            for (p, v) in model.parameters().iter().zip(&init) {
                p.copy_(v);
            }
        });
        let mut opt = SGD::new(model.parameters(), 0.01, 0.5);
        torch::manual_seed(1);
        let batches = torch::randperm(n).split(b, 0);
        let mut comm = Comm::default();
        train_steps(
            &model,
            &mut opt,
            (&xtr, &ytr),
            &batches,
            (rank, world),
            &mut comm,
        );
        dist::barrier()?;
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
        if rank == 0 {
            eprintln!(
                "# rep {rep}: {world} ranks, epoch {t:.3}s, allreduce {:.3}s, backward waited {:.3}s, test_acc={acc:.4}",
                comm.busy.as_secs_f64(),
                comm.exposed.as_secs_f64()
            );
        }
        times.push(t);
        accs.push(acc as f64);
        busy.push(comm.busy.as_secs_f64() / t);
        exposed.push(comm.exposed.as_secs_f64() / t);
        update.push(comm.update.as_secs_f64() / t);
    }
    if rank == 0 {
        let result = |name: &str, value: f64, unit: &str| {
            println!(
                "RESULT bench={name} framework=tandem value={value:.4} unit={unit} ranks={world}"
            )
        };
        result("b1_ddp_allreduce_682090_time", median(reduce_ms), "ms");
        result("b1_ddp_epoch_time", median(times.clone()), "s");
        result("b1_ddp_test_acc", accs[2], "fraction");
        result("b1_ddp_allreduce_share", median(busy), "fraction");
        result("b1_ddp_exposed_comm_share", median(exposed), "fraction");
        result("b1_ddp_update_share", median(update), "fraction");
    }
    dist::destroy_process_group()?;
    Ok(())
}
