//! The graph is freed after every step: memory stays flat over 100,000 seed steps. Its own test
//! binary, so that no other test allocates in the process while resident memory is measured.

use tandem_core::autograd::{self, GradientTape};
use tandem_core::Tensor;

fn seed_torch(steps: usize) -> Vec<(f32, f32, f32)> {
    let x = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let y = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let mut w = Tensor::new(2.9).requires_grad_(true);
    let mut b = Tensor::new(0.5).requires_grad_(true);
    let mut out = Vec::new();
    for _ in 0..steps {
        let hyp = &w * &x + &b;
        let cost = (&hyp - &y).pow(2).mean();
        let g = autograd::grad(&cost, &[&w, &b]);
        autograd::no_grad(|| {
            w -= 0.01 * &g[0];
            b -= 0.01 * &g[1];
        });
        out.push((cost.item(), w.item(), b.item()));
    }
    out
}

fn seed_tf(steps: usize) -> Vec<(f32, f32, f32)> {
    let x = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let y = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let w = Tensor::variable(2.9);
    let b = Tensor::variable(0.5);
    let mut out = Vec::new();
    for _ in 0..steps {
        let tape = GradientTape::new();
        let hyp = &w * &x + &b;
        let cost = (&hyp - &y).square().mean();
        let g = tape.gradient(&cost, &[&w, &b]);
        w.assign_sub(&(0.01 * g[0].as_ref().unwrap()));
        b.assign_sub(&(0.01 * g[1].as_ref().unwrap()));
        out.push((cost.item(), w.item(), b.item()));
    }
    out
}

fn resident_kib() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

#[test]
fn graph_is_freed_each_step_memory_stays_flat() {
    seed_torch(10_000);
    seed_tf(10_000);
    let before = resident_kib();
    seed_torch(100_000);
    seed_tf(100_000);
    let after = resident_kib();
    // Leaking even one 5-element tensor per step would add tens of megabytes here.
    assert!(
        after <= before + 2048,
        "resident memory grew from {before} KiB to {after} KiB"
    );
}
