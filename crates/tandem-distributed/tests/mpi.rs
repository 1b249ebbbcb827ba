//! Collectives, `DistributedDataParallel`, `DistributedSampler` and the Keras strategy across
//! real MPI processes.
//!
//! Run by `cargo test` (with the `mpi` feature), this program starts itself under
//! `mpirun --oversubscribe -np N` for every scenario and N in {2, 4}, and checks that each job
//! succeeds; under the launcher it runs the scenario named by its first argument, where every
//! check that fails panics, which makes the job exit non-zero. The failure scenarios (a rank
//! killed mid-epoch, a rank that panics) check that the job ends, non-zero, within 60 seconds,
//! with a message naming the rank.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tandem_core::{manual_seed, DType, Tensor};
use tandem_distributed::{self as dist, DdpOptions, DistributedDataParallel, ReduceOp};
use tandem_keras::layers::{Dense, Flatten};
use tandem_keras::{losses, optimizers, FitArgs, Layer, Sequential};
use tandem_nn::optim::{Optimizer, SGD};
use tandem_nn::{CrossEntropyLoss, Linear, Module};

// ---------------------------------------------------------------------------------------
// The launcher side.

/// Scenarios that must succeed on every rank count.
const SCENARIOS: &[&str] = &[
    "collectives",
    "ddp_matches_one_process",
    "ddp_overlaps_backward",
    "ddp_no_sync",
    "ddp_rejects_different_models",
    "sampler_shards",
    "keras_strategy_matches_one_process",
];

fn mpirun(ranks: usize, args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--oversubscribe",
        "--bind-to",
        "none",
        "-np",
        &ranks.to_string(),
    ])
    .args(["-x", "RAYON_NUM_THREADS=1"])
    .arg(std::env::current_exe().expect("own path"))
    .args(args)
    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    .stdin(Stdio::null());
    cmd
}

/// Runs `cmd`, killing it after `limit`; returns (exit status, elapsed, stdout + stderr).
fn run_with_limit(mut cmd: Command, limit: Duration) -> (Option<i32>, Duration, String) {
    let dir = std::env::temp_dir().join(format!("tandem-mpi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let log = dir.join("out.txt");
    let file = std::fs::File::create(&log).expect("log file");
    cmd.stdout(file.try_clone().expect("dup")).stderr(file);
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .expect("mpirun starts (is openmpi-bin installed?)");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&log).unwrap_or_default();
    (status, t0.elapsed(), out)
}

fn main() {
    let mut args = std::env::args().skip(1);
    if dist::launcher_env().is_some() {
        let scenario = args.next().expect("a scenario name");
        let arg = args.next();
        run_scenario(&scenario, arg.as_deref());
        return;
    }
    // Under `cargo test -- FILTER`, only the matching scenarios run.
    let filter: Vec<String> = args.filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let known = SCENARIOS
        .iter()
        .chain(&["dies_mid_epoch", "panics_mid_epoch"]);
    if !known.clone().any(|s| wanted(s)) {
        eprintln!(
            "no scenario matches {filter:?}; scenarios: {:?}",
            known.collect::<Vec<_>>()
        );
        std::process::exit(1);
    }
    let mut failed = Vec::new();
    for &scenario in SCENARIOS.iter().filter(|s| wanted(s)) {
        for ranks in [2, 4] {
            let (status, took, out) =
                run_with_limit(mpirun(ranks, &[scenario]), Duration::from_secs(300));
            let ok = status == Some(0);
            println!(
                "test {scenario} on {ranks} ranks ... {} ({:.1}s)",
                if ok { "ok" } else { "FAILED" },
                took.as_secs_f64()
            );
            if !ok {
                println!("{out}");
                failed.push(format!("{scenario}/{ranks}"));
            }
        }
    }
    for (scenario, rank) in [("dies_mid_epoch", 1), ("panics_mid_epoch", 1)] {
        if !wanted(scenario) {
            continue;
        }
        let (status, took, out) = run_with_limit(
            mpirun(2, &[scenario, &rank.to_string()]),
            Duration::from_secs(90),
        );
        let ended = status.is_some() && took < Duration::from_secs(60);
        let named = out.contains(&format!("rank {rank}"));
        let ok = ended && status != Some(0) && named;
        println!(
            "test {scenario} (rank {rank}) ends the job ... {} (status {status:?} after {:.1}s)",
            if ok { "ok" } else { "FAILED" },
            took.as_secs_f64()
        );
        if !ok {
            println!("{out}");
            failed.push(scenario.to_string());
        }
    }
    if !failed.is_empty() {
        eprintln!("failed: {}", failed.join(", "));
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------
// The rank side.

fn run_scenario(name: &str, arg: Option<&str>) {
    dist::init_process_group("mpi").expect("init");
    match name {
        "collectives" => collectives(),
        "ddp_matches_one_process" => ddp_matches_one_process(),
        "ddp_overlaps_backward" => ddp_overlaps_backward(),
        "ddp_no_sync" => ddp_no_sync(),
        "ddp_rejects_different_models" => ddp_rejects_different_models(),
        "sampler_shards" => sampler_shards(),
        "keras_strategy_matches_one_process" => keras_strategy_matches_one_process(),
        "dies_mid_epoch" | "panics_mid_epoch" => {
            fails_mid_epoch(name, arg.expect("rank").parse().expect("rank"))
        }
        other => panic!("unknown scenario {other}"),
    }
    dist::destroy_process_group().expect("finalize");
}

fn rank_world() -> (usize, usize) {
    (dist::get_rank().unwrap(), dist::get_world_size().unwrap())
}

fn collectives() {
    let (rank, n) = rank_world();
    let r = rank as f64;
    // Sums, means, extremes of 1..=n (and of -(1..=n)): known in closed form.
    let sum = (n * (n + 1) / 2) as f64;
    for dtype in [DType::Float32, DType::Float64, DType::Int64] {
        let make = |v: Vec<f64>| Tensor::new(v).to_dtype(dtype);
        let read = |t: &Tensor| t.to_dtype(DType::Float64).to_vec::<f64>();
        let t = make(vec![r + 1.0, -(r + 1.0), 2.0]);
        dist::all_reduce(&t, ReduceOp::Sum).unwrap();
        assert_eq!(read(&t), vec![sum, -sum, 2.0 * n as f64], "{dtype} sum");
        let t = make(vec![r + 1.0, -(r + 1.0)]);
        dist::all_reduce(&t, ReduceOp::Max).unwrap();
        assert_eq!(read(&t), vec![n as f64, -1.0], "{dtype} max");
        let t = make(vec![r + 1.0, -(r + 1.0)]);
        dist::all_reduce(&t, ReduceOp::Min).unwrap();
        assert_eq!(read(&t), vec![1.0, -(n as f64)], "{dtype} min");
        let t = make(vec![r + 1.0, 3.0]);
        dist::all_reduce(&t, ReduceOp::Product).unwrap();
        let fact: f64 = (1..=n).map(|v| v as f64).product();
        assert_eq!(read(&t), vec![fact, 3f64.powi(n as i32)], "{dtype} product");
        let t = make(vec![r + 1.0, 4.0]);
        let avg = dist::all_reduce(&t, ReduceOp::Avg);
        if dtype.is_float() {
            avg.unwrap();
            assert_eq!(read(&t), vec![sum / n as f64, 4.0], "{dtype} avg");
        } else {
            let err = avg.unwrap_err().to_string();
            assert!(err.contains("floating-point"), "{err}");
        }
        // Broadcast from the last rank, in place, 2-D.
        let t = make(vec![r, 10.0 * r, 100.0 * r, -r]).reshape(&[2, 2]);
        dist::broadcast(&t, n - 1).unwrap();
        let last = (n - 1) as f64;
        assert_eq!(read(&t), vec![last, 10.0 * last, 100.0 * last, -last]);
        assert_eq!(t.shape(), &[2, 2]);
        // Every rank's tensor, in rank order.
        let parts = dist::all_gather(&make(vec![r, r * r])).unwrap();
        assert_eq!(parts.len(), n);
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.dtype(), dtype);
            assert_eq!(read(p), vec![i as f64, (i * i) as f64]);
        }
    }
    let err = dist::broadcast(&Tensor::new([1.0f32]), n)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("rank {rank}")), "{err}");
    // A barrier holds every rank until the last arrives: rank 0 comes 300 ms late (the
    // all_gather above has just lined the ranks up), and the others wait for it.
    if rank == 0 {
        std::thread::sleep(Duration::from_millis(300));
    }
    let t0 = Instant::now();
    dist::barrier().unwrap();
    if rank != 0 {
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(150),
            "left the barrier after {waited:?}"
        );
    }
}

/// The seed MLP, 784-520-320-240-120-10 (682,090 parameters).
#[derive(tandem_nn::Module)]
struct SeedMlp {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    l4: Linear,
    l5: Linear,
}

impl SeedMlp {
    fn new() -> SeedMlp {
        SeedMlp {
            l1: Linear::new(784, 520),
            l2: Linear::new(520, 320),
            l3: Linear::new(320, 240),
            l4: Linear::new(240, 120),
            l5: Linear::new(120, 10),
        }
    }
}

impl Module for SeedMlp {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.view(&[-1, 784]);
        let x = self.l1.forward(&x).relu();
        let x = self.l2.forward(&x).relu();
        let x = self.l3.forward(&x).relu();
        let x = self.l4.forward(&x).relu();
        self.l5.forward(&x)
    }
}

/// The first `n` MNIST training digits as floats `[n, 784]` in [0, 1], and their labels.
fn mnist(n: usize) -> (Tensor, Tensor) {
    let data = tandem_data::mnist::sample();
    let x = (data.x_train.narrow(0, 0, n).float() / 255.0).reshape(&[-1, 784]);
    (x, data.y_train.narrow(0, 0, n))
}

/// A hash of the exact bits of `tensors`, gathered from every rank; panics unless all agree.
fn assert_same_bits_everywhere(tensors: &[Tensor], what: &str) {
    let all = bits_everywhere(tensors);
    assert!(
        all.iter().all(|&v| v == all[0]),
        "{what}: ranks hold different bits: {all:?}"
    );
}

/// A hash of the exact bits of `tensors` on each rank, in rank order.
fn bits_everywhere(tensors: &[Tensor]) -> Vec<i64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in tensors {
        for v in t.to_dtype(DType::Float32).to_vec::<f32>() {
            h ^= v.to_bits() as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let all = dist::all_gather(&Tensor::from_vec(vec![h as i64], &[1])).unwrap();
    all.iter().map(|t| t.item::<i64>()).collect()
}

fn max_abs_diff(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs().max().to_dtype(DType::Float64).item::<f64>())
        .fold(0.0, f64::max)
}

/// 50 steps of SGD on 64-sample global batches: DDP over the ranks (64 / N samples each)
/// against one process taking the whole batch.
fn ddp_matches_one_process() {
    let (rank, n) = rank_world();
    let (x, y) = mnist(64 * 50);
    manual_seed(0);
    let reference = SeedMlp::new();
    // Every rank starts from a different model: DDP must make them all rank 0's (seed 0).
    manual_seed(rank as u64);
    let model = DistributedDataParallel::new(SeedMlp::new()).unwrap();
    assert_eq!(model.num_parameters(), 682_090);
    assert_same_bits_everywhere(&model.parameters(), "after construction");
    assert_eq!(
        max_abs_diff(&model.parameters(), &reference.parameters()),
        0.0
    );
    let mut opt = SGD::new(model.parameters(), 0.01, 0.5);
    let mut ref_opt = SGD::new(reference.parameters(), 0.01, 0.5);
    let criterion = CrossEntropyLoss::new();
    let local = 64 / n;
    for step in 0..50 {
        let (xb, yb) = (x.narrow(0, step * 64, 64), y.narrow(0, step * 64, 64));
        opt.zero_grad();
        let out = model.forward(&xb.narrow(0, rank * local, local));
        criterion
            .forward(&out, &yb.narrow(0, rank * local, local))
            .backward();
        opt.step();
        assert_same_bits_everywhere(&model.parameters(), &format!("after step {step}"));
        ref_opt.zero_grad();
        criterion.forward(&reference.forward(&xb), &yb).backward();
        ref_opt.step();
    }
    let diff = max_abs_diff(&model.parameters(), &reference.parameters());
    assert!(diff <= 1e-5, "DDP and one process differ by {diff}");
    if rank == 0 {
        println!("ddp vs one process after 50 steps on {n} ranks: max |diff| = {diff:.2e}");
    }
}

/// With several buckets, the first bucket's allreduce starts before backward has produced
/// the last gradient.
fn ddp_overlaps_backward() {
    use dist::CommEventKind::*;
    let (rank, _) = rank_world();
    let (x, y) = mnist(64);
    manual_seed(0);
    let options = DdpOptions {
        bucket_cap_mb: 0.25,
        first_bucket_mb: 0.25,
        ..Default::default()
    };
    let model = DistributedDataParallel::with_options(SeedMlp::new(), options).unwrap();
    assert!(model.num_buckets() >= 3, "{} buckets", model.num_buckets());
    // Buckets hold parameters in reverse order: the output layer's come first.
    assert_eq!(model.bucket_parameters()[0][0], 9);
    let criterion = CrossEntropyLoss::new();
    let mut overlapped = 0;
    for _ in 0..10 {
        model.zero_grad();
        criterion.forward(&model.forward(&x), &y).backward();
        let events = model.last_backward_events();
        let pos = |k| events.iter().position(|e| e.kind == k);
        let first_start = pos(AllReduceStarted(0)).expect("bucket 0 reduced");
        let last_grad = events
            .iter()
            .rposition(|e| matches!(e.kind, GradReady(_)))
            .expect("gradients");
        let written = pos(GradientsWritten).expect("written back");
        assert!(
            written > last_grad,
            "gradients written before the last one was ready"
        );
        for b in 0..model.num_buckets() {
            let (launch, start, end) = (
                pos(BucketLaunched(b)).unwrap(),
                pos(AllReduceStarted(b)).unwrap(),
                pos(AllReduceFinished(b)).unwrap(),
            );
            assert!(
                launch < start && start < end && end < written,
                "bucket {b}: {events:?}"
            );
        }
        // Handing bucket 0 over happens inside backward, always; its allreduce starting
        // before backward ends depends on the scheduler giving the communication thread a
        // core, which 4 ranks on 2 cores may not get, so that part is required of 2 ranks.
        let handed_over = pos(BucketLaunched(0)).unwrap();
        assert!(
            handed_over < last_grad,
            "bucket 0 handed over after backward: {events:?}"
        );
        if first_start < last_grad {
            overlapped += 1;
        }
    }
    let (_, world) = rank_world();
    assert!(
        overlapped > 0 || world > 2,
        "no bucket's allreduce started before backward ended"
    );
    if rank == 0 {
        println!("allreduce started during backward in {overlapped} of 10 steps");
    }
}

/// Under `no_sync` gradients stay local; the next synchronized backward averages everything
/// accumulated.
fn ddp_no_sync() {
    let (rank, n) = rank_world();
    let (x, y) = mnist(48 * n);
    manual_seed(0);
    let model = DistributedDataParallel::new(SeedMlp::new()).unwrap();
    manual_seed(0);
    let local = SeedMlp::new();
    let criterion = CrossEntropyLoss::new();
    let part = |i: usize| {
        let start = (rank * 3 + i) * 16;
        (x.narrow(0, start, 16), y.narrow(0, start, 16))
    };
    model.zero_grad();
    {
        let _no_sync = model.no_sync();
        for i in 0..2 {
            let (xb, yb) = part(i);
            criterion.forward(&model.forward(&xb), &yb).backward();
        }
        // Each rank's gradients are its own micro-batches' alone.
        let local: Vec<Tensor> = model
            .parameters()
            .iter()
            .map(|p| p.grad().unwrap())
            .collect();
        let all = bits_everywhere(&local);
        assert!(
            all[1..].iter().all(|&v| v != all[0]),
            "gradients were reduced: {all:?}"
        );
    }
    let (xb, yb) = part(2);
    criterion.forward(&model.forward(&xb), &yb).backward();
    // The same three micro-batches in a plain model, averaged by hand over the ranks.
    for i in 0..3 {
        let (xb, yb) = part(i);
        criterion.forward(&local.forward(&xb), &yb).backward();
    }
    let expected: Vec<Tensor> = local
        .parameters()
        .iter()
        .map(|p| p.grad().unwrap())
        .collect();
    for g in &expected {
        dist::all_reduce(g, ReduceOp::Avg).unwrap();
    }
    let got: Vec<Tensor> = model
        .parameters()
        .iter()
        .map(|p| p.grad().unwrap())
        .collect();
    assert_same_bits_everywhere(&got, "gradients after no_sync");
    let diff = max_abs_diff(&got, &expected);
    assert!(diff < 1e-6, "accumulated gradients differ by {diff}");
}

/// A rank whose model has other shapes is an error on every rank, naming the rank.
fn ddp_rejects_different_models() {
    let (rank, _) = rank_world();
    let width = if rank == 1 { 64 } else { 32 };
    let err = DistributedDataParallel::new(Linear::new(8, width))
        .err()
        .expect("different models are refused");
    let msg = err.to_string();
    assert!(
        msg.contains("rank 1's model differs from rank 0's"),
        "{msg}"
    );
    assert!(msg.contains("elements"), "{msg}");
}

/// Every index of the dataset lands on exactly one rank (or, for the padding, on two), with
/// equal shares, and `set_epoch` reshuffles the same way everywhere.
fn sampler_shards() {
    use std::sync::Arc;
    use tandem_data::{DataLoader, Sampler, TensorDataset};
    let (_, n) = rank_world();
    let len = 103;
    let ids = Tensor::from_vec((0..len as i64).collect::<Vec<_>>(), &[len]);
    let sampler = Arc::new(dist::DistributedSampler::new(len).unwrap().seed(7));
    let loader = DataLoader::new(Arc::new(TensorDataset::new(ids.clone(), ids).unwrap()), 8)
        .sampler(sampler.clone());
    let mut orders = Vec::new();
    for epoch in 0..2 {
        sampler.set_epoch(epoch);
        let mine: Vec<i64> = loader
            .iter()
            .flat_map(|(xb, _)| xb.to_vec::<i64>())
            .collect();
        assert_eq!(mine.len(), len.div_ceil(n));
        let all = dist::all_gather(&Tensor::from_vec(mine.clone(), &[mine.len()])).unwrap();
        let mut seen = vec![0usize; len];
        for part in &all {
            for i in part.to_vec::<i64>() {
                seen[i as usize] += 1;
            }
        }
        let padding = len.div_ceil(n) * n - len;
        assert!(seen.iter().all(|&c| c >= 1), "an index no rank saw");
        assert_eq!(seen.iter().sum::<usize>(), len + padding);
        orders.push(mine);
    }
    assert_ne!(orders[0], orders[1], "set_epoch did not reshuffle");
    assert_eq!(sampler.len(), len.div_ceil(n));
}

fn seed_keras_model() -> Sequential {
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Flatten::new().input_shape(&[784])),
        Box::new(Dense::new(520).activation("relu")),
        Box::new(Dense::new(320).activation("relu")),
        Box::new(Dense::new(240).activation("relu")),
        Box::new(Dense::new(120).activation("relu")),
        Box::new(Dense::new(10)),
    ];
    Sequential::new(layers)
}

/// `fit` under the strategy, 64-sample global batches split across the ranks, against `fit`
/// in one process, for 50 steps.
fn keras_strategy_matches_one_process() {
    let (rank, n) = rank_world();
    let (x, y) = mnist(2560 + 586);
    let strategy = dist::MultiWorkerMirroredStrategy::new().unwrap();
    assert_eq!(strategy.num_replicas_in_sync(), n);
    let compile = |m: &mut Sequential| {
        m.compile(
            optimizers::SGD(0.01, 0.5),
            losses::SparseCategoricalCrossentropy(true),
            &["accuracy"],
        )
        .unwrap()
    };
    // The same initial weights (the model is built from its input shape, from the same
    // seed); rank > 0 starts elsewhere and is made rank 0's by `fit`.
    manual_seed(0);
    let mut reference = seed_keras_model();
    compile(&mut reference);
    manual_seed(if rank == 0 { 0 } else { 99 });
    let mut model = {
        let _scope = strategy.scope();
        let mut m = seed_keras_model();
        compile(&mut m);
        m
    };
    if rank == 0 {
        assert_eq!(max_abs_diff(&model.weights(), &reference.weights()), 0.0);
    }
    // 40 one-step fits, each checked, then one fit of 10 steps whose last global batch of 10
    // rows splits unevenly (4 ranks: 2, 3, 2, 3 rows), so shards are weighted by their size.
    let args = || FitArgs {
        epochs: 1,
        batch_size: 64,
        verbose: 0,
        shuffle: false,
        ..Default::default()
    };
    let chunks: Vec<(usize, usize)> = (0..40).map(|s| (s * 64, 64)).chain([(2560, 586)]).collect();
    for (i, &(start, rows)) in chunks.iter().enumerate() {
        let (xc, yc) = (x.narrow(0, start, rows), y.narrow(0, start, rows));
        let h = model.fit(&xc, &yc, args()).unwrap();
        let h_ref = reference.fit(&xc, &yc, args()).unwrap();
        assert_same_bits_everywhere(&model.weights(), &format!("after fit {i}"));
        // Losses and metrics are over the whole global batch, as one process sees them.
        let (loss, loss_ref) = (h.loss()[0], h_ref.loss()[0]);
        assert!((loss - loss_ref).abs() < 1e-4, "loss {loss} vs {loss_ref}");
        let (acc, acc_ref) = (
            h.get("accuracy").unwrap()[0],
            h_ref.get("accuracy").unwrap()[0],
        );
        assert!((acc - acc_ref).abs() < 1e-9, "accuracy {acc} vs {acc_ref}");
    }
    let diff = max_abs_diff(&model.weights(), &reference.weights());
    assert!(diff <= 1e-5, "strategy and one process differ by {diff}");
    if rank == 0 {
        println!(
            "keras strategy vs one process after 50 steps on {n} ranks: max |diff| = {diff:.2e}"
        );
    }
}

/// Trains; after a few steps rank `who` is killed (SIGKILL) or panics, while the others wait
/// in an allreduce.
fn fails_mid_epoch(how: &str, who: usize) {
    let (rank, _) = rank_world();
    let (x, y) = mnist(64 * 20);
    let model = DistributedDataParallel::new(SeedMlp::new()).unwrap();
    let mut opt = SGD::new(model.parameters(), 0.01, 0.0);
    let criterion = CrossEntropyLoss::new();
    for step in 0..1000 {
        if step == 5 && rank == who {
            if how == "dies_mid_epoch" {
                // The shell's own `kill`: no procps needed.
                let kill = format!("kill -9 {}", std::process::id());
                let _ = Command::new("sh").args(["-c", &kill]).status();
                std::thread::sleep(Duration::from_secs(5));
            }
            panic!("failing on purpose at step {step}");
        }
        let i = step % 20;
        opt.zero_grad();
        let out = model.forward(&x.narrow(0, i * 64, 32));
        criterion.forward(&out, &y.narrow(0, i * 64, 32)).backward();
        opt.step();
    }
    unreachable!("rank {who} stops the job before this");
}
