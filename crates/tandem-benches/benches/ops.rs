//! Kernel benchmarks: every operation of the seed on float32 tensors of 10^3 and 10^6 elements
//! (a new output each call, as `bench_b4_ops_torch.py` measures PyTorch) and a 1024^3 matmul.
//!
//! Run: `cargo bench -p tandem-benches --bench ops` (add a filter such as `cumsum` to pick ops).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tandem_core::{manual_seed, rand, Tensor};

type Op = fn(&Tensor, &Tensor, &Tensor) -> Tensor;

const OPS: [(&str, Op); 21] = [
    ("add", |a, b, _| a.add(b)),
    ("sub", |a, b, _| a.sub(b)),
    ("mul", |a, b, _| a.mul(b)),
    ("div", |a, b, _| a.div(b)),
    ("pow3", |a, _, _| a.pow(3)),
    ("neg", |a, _, _| a.neg()),
    ("abs", |a, _, _| a.abs()),
    ("sign", |a, _, _| a.sign()),
    ("round", |a, _, _| a.round()),
    ("ceil", |a, _, _| a.ceil()),
    ("floor", |a, _, _| a.floor()),
    ("square", |a, _, _| a.square()),
    ("sqrt", |a, _, _| a.sqrt()),
    ("maximum", |a, b, _| a.maximum(b)),
    ("minimum", |a, b, _| a.minimum(b)),
    ("cumsum", |a, _, _| a.cumsum(0)),
    ("cumprod", |_, _, c| c.cumprod(0)),
    ("log", |a, _, _| a.log()),
    ("exp", |a, _, _| a.exp()),
    ("sum", |a, _, _| a.sum()),
    ("mean", |a, _, _| a.mean()),
];

fn seed_ops(c: &mut Criterion) {
    manual_seed(0);
    for n in [1_000usize, 1_000_000] {
        let a = rand(&[n]) + 0.5;
        let b = rand(&[n]) + 0.5;
        let c3 = 1.0 + (rand(&[n]) - 0.5) * 2e-4;
        let mut group = c.benchmark_group(format!("ops_n{n}"));
        group.throughput(Throughput::Elements(n as u64));
        group.warm_up_time(Duration::from_millis(300));
        group.measurement_time(Duration::from_secs(1));
        for (name, op) in OPS {
            group.bench_function(BenchmarkId::from_parameter(name), |bench| {
                bench.iter(|| black_box(op(&a, &b, &c3)))
            });
        }
        group.finish();
    }
}

fn matmul_1024(c: &mut Criterion) {
    manual_seed(0);
    let n = 1024;
    let a = rand(&[n, n]);
    let b = rand(&[n, n]);
    let mut group = c.benchmark_group("matmul");
    group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    group.sample_size(20);
    group.bench_function("1024x1024x1024", |bench| {
        bench.iter(|| black_box(a.matmul(&b)))
    });
    group.finish();
}

criterion_group!(benches, seed_ops, matmul_1024);
criterion_main!(benches);
