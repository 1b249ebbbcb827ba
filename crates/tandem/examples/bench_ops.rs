//! B4, per-op cost: the seed's operations on float32 tensors of 10^6 and 10^3 elements (a new
//! output each call) and matmul 1024^3, with the protocol of `bench_b4_ops_torch.py`: per-call
//! time is the median over 7 repeats of the mean over enough calls to take ~50 ms.
//!
//! Run: `cargo run --release --example bench_ops`

use std::hint::black_box;
use std::time::Instant;
use tandem::{torch, Tensor};

const OPS: [&str; 21] = [
    "add", "sub", "mul", "div", "pow3", "neg", "abs", "sign", "round", "ceil", "floor", "square",
    "sqrt", "maximum", "minimum", "cumsum", "cumprod", "log", "exp", "sum", "mean",
];

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
            let t = time_call(&|| op(name, &a, &b, &c), 7, 0.05);
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
    let t = time_call(&|| torch::matmul(&a, &b), 7, 0.5);
    println!(
        "RESULT bench=b4_matmul_1024_time framework=tandem value={:.2} unit=us/call",
        t * 1e6
    );
    println!(
        "RESULT bench=b4_matmul_1024 framework=tandem value={:.2} unit=GFLOP/s",
        2.0 * (n as f64).powi(3) / t / 1e9
    );
}
