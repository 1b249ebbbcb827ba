//! How fast the machine itself is right now, with no tandem code involved: three fixed loops
//! whose work never changes, so any change in their times is the machine's, not the program's.
//!
//! - `chain`: a dependent chain of integer adds, one per cycle on an idle core, so its rate
//!   follows the clock.
//! - `flops`: sixteen independent multiply-add chains in `f64`, bound by the core's
//!   floating-point units; it slows when another thread shares the physical core.
//! - `chase`: a random pointer chase through 16 MiB, one cache miss at a time, so its time is
//!   the latency of the last-level cache and memory, which other tenants' traffic raises.
//!
//! Run it before and after each run of a benchmark (`tools/bench/steadiness.sh` does) to tell
//! a slow run of the program from a slow minute of the machine.
//!
//! Run: `cargo run --release --example machine_probe`

use std::hint::black_box;
use std::time::Instant;

/// Giga-iterations per second of a dependent add chain.
fn chain() -> f64 {
    let n: u64 = 300_000_000;
    let t0 = Instant::now();
    let mut x: u64 = black_box(1);
    for _ in 0..n {
        // One add whose result the next iteration needs; `black_box` keeps the compiler from
        // folding the loop into a multiplication.
        x = black_box(x.wrapping_add(3));
    }
    black_box(x);
    n as f64 / t0.elapsed().as_secs_f64() / 1e9
}

/// Nanoseconds per round of sixteen independent multiply-adds.
fn flops() -> f64 {
    let rounds = 40_000_000;
    let mut acc = [1.0f64; 16];
    let (m, c) = (black_box(1.000_000_1), black_box(1e-9));
    let t0 = Instant::now();
    for _ in 0..rounds {
        for a in acc.iter_mut() {
            *a = *a * m + c;
        }
        black_box(&mut acc);
    }
    let ns = t0.elapsed().as_secs_f64() / rounds as f64 * 1e9;
    black_box(acc);
    ns
}

/// Nanoseconds per step of a pointer chase over a random cycle through 16 MiB.
fn chase() -> f64 {
    let n = 1 << 21;
    // A single random cycle (Sattolo's shuffle) from a fixed-seed xorshift, so every run walks
    // the same path.
    let mut next: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = (state % i as u64) as usize;
        next.swap(i, j);
    }
    let steps = 20_000_000;
    let mut k = 0;
    let t0 = Instant::now();
    for _ in 0..steps {
        k = next[k];
    }
    black_box(k);
    t0.elapsed().as_secs_f64() / steps as f64 * 1e9
}

pub fn main() {
    let (c, f, p) = (chain(), flops(), chase());
    println!("RESULT bench=probe_chain framework=machine value={c:.3} unit=Gadd/s");
    println!("RESULT bench=probe_flops framework=machine value={f:.3} unit=ns/round");
    println!("RESULT bench=probe_chase framework=machine value={p:.2} unit=ns/step");
}
