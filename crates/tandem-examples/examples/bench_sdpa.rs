//! B5's attention kernel alone: causal `scaled_dot_product_attention` forward and backward on
//! float32 `[4, 4, T, 32]` queries, keys and values (nanoGPT's head width), the median of 20
//! timed calls after 5 warm-up ones, and the memory the calls add to the process: the peak
//! resident size during them over the resident size before (Linux's `VmHWM`, reset through
//! `/proc/self/clear_refs`). `tools/bench/bench_sdpa_torch.py` measures PyTorch the same way.
//!
//! Run: `cargo run --release --example bench_sdpa -- [--t T]` (T = 256 by default).

use std::time::Instant;
use tandem::torch;
use tandem::torch::nn::functional as F;

fn status_kib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let t: usize = args
        .iter()
        .position(|a| a == "--t")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(256);
    torch::manual_seed(0);
    let shape = [4, 4, t, 32];
    let leaf = || torch::randn(&shape).requires_grad_(true);
    let (q, k, v) = (leaf(), leaf(), leaf());
    let grad_out = torch::randn(&shape);
    let step = || {
        let y = F::scaled_dot_product_attention(&q, &k, &v, None, 0.0, true, None);
        y.backward_with(Some(&grad_out), false, false);
        for p in [&q, &k, &v] {
            p.set_grad(None);
        }
    };
    for _ in 0..5 {
        step();
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    let mut times = Vec::with_capacity(20);
    for _ in 0..20 {
        let t0 = Instant::now();
        step();
        times.push(t0.elapsed().as_secs_f64());
    }
    let peak = status_kib("VmHWM:");
    times.sort_by(f64::total_cmp);
    println!(
        "RESULT bench=b5_sdpa_fwd_bwd_t{t} framework=tandem value={:.3} unit=ms",
        times[times.len() / 2] * 1e3
    );
    if let (Some(b), Some(p)) = (before, peak) {
        println!(
            "RESULT bench=b5_sdpa_extra_memory_t{t} framework=tandem value={:.1} unit=MiB",
            (p - b).max(0.0) / 1024.0
        );
    }
    Ok(())
}
