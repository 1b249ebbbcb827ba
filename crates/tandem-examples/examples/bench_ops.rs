//! B4, per-op cost: the seed's operations on float32 tensors of 10^6 and 10^3 elements (a new
//! output each call) and matmul 1024^3, with the protocol of `bench_b4_ops_torch.py`: per-call
//! time is the median over 7 repeats of the mean over enough calls to take ~50 ms, and each
//! measurement waits for an idle machine first and is retried (up to three times) when other
//! processes used more than a quarter of a core meanwhile, as the anchor's `clean_run` does.
//! `ANCHORS_NO_WAIT=1` skips the waiting, as it does for the anchors.
//!
//! Run: `cargo run --release --example bench_ops`

use std::hint::black_box;
use std::time::Instant;
use tandem::{torch, Tensor};

const OPS: [&str; 21] = [
    "add", "sub", "mul", "div", "pow3", "neg", "abs", "sign", "round", "ceil", "floor", "square",
    "sqrt", "maximum", "minimum", "cumsum", "cumprod", "log", "exp", "sum", "mean",
];

/// Busy and total jiffies of the whole machine (all cores), from `/proc/stat`.
fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = fields.iter().sum();
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// CPU jiffies this process has used (all threads), from `/proc/self/stat`.
fn own_jiffies() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Busy cores over a region, from two `/proc/stat` readings.
fn cores(a: (u64, u64), b: (u64, u64), own: u64) -> f64 {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let total = (b.1 - a.1).max(1) as f64;
    (b.0 - a.0).saturating_sub(own) as f64 / total * cpus
}

/// Waits (at most 300 s) until the machine is nearly idle: fewer than 0.15 busy cores over a
/// `window`, as the anchor's `wait_idle`.
fn wait_idle(window: std::time::Duration) {
    let start = Instant::now();
    loop {
        let Some(a) = machine_jiffies() else { return };
        std::thread::sleep(window);
        let Some(b) = machine_jiffies() else { return };
        if cores(a, b, 0) < 0.15 || start.elapsed().as_secs() > 300 {
            return;
        }
    }
}

/// Runs `measure` after waiting for an idle machine, again (up to three times in all) when
/// other processes used more than 0.25 cores while it ran.
fn clean_run(measure: impl Fn() -> f64) -> f64 {
    let no_wait = std::env::var_os("ANCHORS_NO_WAIT").is_some();
    let mut result = 0.0;
    for _ in 0..3 {
        if !no_wait {
            wait_idle(std::time::Duration::from_millis(500));
        }
        let (m0, o0) = (machine_jiffies(), own_jiffies());
        result = measure();
        let foreign = match (m0, machine_jiffies(), o0, own_jiffies()) {
            (Some(a), Some(b), Some(o0), Some(o1)) => cores(a, b, o1 - o0),
            _ => 0.0,
        };
        if no_wait || foreign <= 0.25 {
            break;
        }
        println!("# other processes used {foreign:.2} cores during the timed region; retrying");
    }
    result
}

/// Median over `repeat` of the mean seconds per call, each repeat lasting about `target_s`.
fn time_call(f: &dyn Fn() -> Tensor, repeat: usize, target_s: f64) -> f64 {
    black_box(f());
    black_box(f());
    let mut n = 1usize;
    loop {
        let t0 = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        let one = t0.elapsed().as_secs_f64();
        if one >= 0.005 || n >= 1 << 20 {
            let number = ((n as f64 * target_s / one.max(1e-9)) as usize).max(1);
            let mut per_call: Vec<f64> = (0..repeat)
                .map(|_| {
                    let t0 = Instant::now();
                    for _ in 0..number {
                        black_box(f());
                    }
                    t0.elapsed().as_secs_f64() / number as f64
                })
                .collect();
            per_call.sort_by(f64::total_cmp);
            return per_call[repeat / 2];
        }
        n *= 4;
    }
}

fn op(name: &str, a: &Tensor, b: &Tensor, c: &Tensor) -> Tensor {
    match name {
        "add" => torch::add(a, b),
        "sub" => torch::sub(a, b),
        "mul" => torch::mul(a, b),
        "div" => torch::div(a, b),
        "pow3" => torch::pow(a, 3),
        "neg" => torch::neg(a),
        "abs" => torch::abs(a),
        "sign" => torch::sign(a),
        "round" => torch::round(a),
        "ceil" => torch::ceil(a),
        "floor" => torch::floor(a),
        "square" => torch::square(a),
        "sqrt" => torch::sqrt(a),
        "maximum" => torch::maximum(a, b),
        "minimum" => torch::minimum(a, b),
        "cumsum" => torch::cumsum(a, 0),
        "cumprod" => torch::cumprod(c, 0),
        "log" => torch::log(a),
        "exp" => torch::exp(a),
        "sum" => torch::sum(a),
        "mean" => torch::mean(a),
        other => unreachable!("unknown op {other}"),
    }
}

pub fn main() {
    let only: Option<String> = std::env::args().nth(1);
    torch::manual_seed(0);
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .map(|v| v.split(',').map(|x| x.parse().expect("size")).collect())
        .unwrap_or_else(|_| vec![1_000_000, 1000]);
    for size in sizes {
        let a = torch::rand(&[size]) + 0.5;
        let b = torch::rand(&[size]) + 0.5;
        let c = 1.0 + (torch::rand(&[size]) - 0.5) * 2e-4;
        for name in OPS {
            if only.as_deref().is_some_and(|o| o != name) {
                continue;
            }
            let t = clean_run(|| time_call(&|| op(name, &a, &b, &c), 7, 0.05));
            println!(
                "RESULT bench=b4_{name}_n{size} framework=tandem value={:.4} unit=us/call",
                t * 1e6
            );
        }
    }
    if only.as_deref().is_some_and(|o| o != "matmul") {
        return;
    }
    let n = 1024;
    let a = torch::rand(&[n, n]);
    let b = torch::rand(&[n, n]);
    let t = clean_run(|| time_call(&|| torch::matmul(&a, &b), 7, 0.5));
    println!(
        "RESULT bench=b4_matmul_1024_time framework=tandem value={:.2} unit=us/call",
        t * 1e6
    );
    println!(
        "RESULT bench=b4_matmul_1024 framework=tandem value={:.2} unit=GFLOP/s",
        2.0 * (n as f64).powi(3) / t / 1e9
    );
}
