//! B5, the character-level GPT: the model and recipe of the `torch_gpt_shakespeare` lesson
//! (nanoGPT's `shakespeare_char` on a CPU) with the protocol of `bench_b5_gpt_torch.py`: the
//! median time of a training iteration (forward, backward, clipping, AdamW) after 10 warm-up
//! iterations, the mean loss of 20 validation batches after the last one, and the peak
//! resident memory of the process.
//!
//! Run: `cargo run --release --example bench_gpt -- [--text PATH] [--iters N]` (2,000 by
//! default; 200 are enough for the time, the loss comparison needs all 2,000).

#[path = "torch_gpt_shakespeare.rs"]
#[allow(dead_code)]
mod lesson;

use lesson::{arg, lr_at, mean_loss, train_step, CharData, Gpt, GptConfig};
use std::time::Instant;
use tandem::torch;
use tandem::torch::nn::Module;

/// Peak resident set size of this process in MiB (`VmHWM`, Linux), if known.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let iters: usize = arg(&args, "--iters").unwrap_or(2000);
    let text: Option<String> = arg(&args, "--text");
    torch::manual_seed(arg(&args, "--seed").unwrap_or(0));
    let data = CharData::load(text.as_deref())?;
    let config = GptConfig {
        block_size: 64,
        vocab_size: data.chars.len(),
        n_layer: 4,
        n_head: 4,
        n_embd: 128,
    };
    let batch = 12;
    let mut model = Gpt::new(config);
    eprintln!("parameters: {}", model.num_parameters());
    let params = model.parameters();
    let mut opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99));
    let mut times = Vec::with_capacity(iters);
    for it in 0..iters {
        let (x, y) = data.batch(false, batch, config.block_size);
        let t0 = Instant::now();
        let loss = train_step(
            &model,
            &mut opt,
            &params,
            &x,
            &y,
            lr_at(it, 100, iters, 1e-3, 1e-4),
        );
        times.push(t0.elapsed().as_secs_f64());
        if it % 200 == 0 {
            eprintln!("iter {it} loss {loss:.4}");
        }
    }
    model.eval();
    let val = mean_loss(&model, &data, true, 20, batch);
    let mut timed = times[10.min(times.len())..].to_vec();
    timed.sort_by(f64::total_cmp);
    let median = timed.get(timed.len() / 2).copied().unwrap_or(f64::NAN);
    println!(
        "RESULT bench=b5_gpt_iter_time framework=tandem value={:.3} unit=ms",
        median * 1e3
    );
    println!("RESULT bench=b5_gpt_val_loss framework=tandem value={val:.4} unit=nats");
    if let Some(rss) = peak_rss_mib() {
        println!("RESULT bench=b5_gpt_peak_rss framework=tandem value={rss:.1} unit=MiB");
    }
    Ok(())
}
