//! A character-level GPT on Shakespeare, nanoGPT's model and its `shakespeare_char` CPU recipe
//! written as in PyTorch. The model: token and position embeddings, pre-norm blocks of causal
//! self-attention (`F::scaled_dot_product_attention`, `is_causal`) and a GELU MLP, LayerNorms
//! and Linears without bias, the output layer tied to the token embedding, N(0, 0.02) init
//! with the residual projections scaled by 1/sqrt(2 n_layer). The recipe: n_layer 4, n_head 4,
//! n_embd 128, block_size 64, batch 12, dropout 0, AdamW(lr 1e-3, betas (0.9, 0.99), weight
//! decay 0.1 on matrices and embeddings only), gradient clipping at 1.0, 100 warm-up
//! iterations then cosine decay to 1e-4 at max_iters, on a 90/10 split of the 1,115,394
//! characters (65 distinct). It reports the train and validation losses (20 batches each)
//! every 250 iterations and ends with 500 sampled characters (temperature 0.8, top-k 200).
//!
//! The parameter names are nanoGPT's (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`,
//! ..., `lm_head.weight`), so a state dict trained by nanoGPT loads with `load_state_dict`.
//!
//! Run: `cargo run --release --example torch_gpt_shakespeare -- [--iters N] [--text PATH]
//! [--seed S]` (2,000 iterations by default).

use std::time::Instant;
use tandem::torch::nn::functional as F;
use tandem::torch::nn::{Embedding, LayerNorm, Linear, Module};
use tandem::torch::optim::{clip_grad_norm_, AdamConfig, AdamW, Optimizer};
use tandem::{torch, Tensor};

/// nanoGPT's `GPTConfig` for `shakespeare_char` on a CPU.
#[derive(Clone, Copy, Debug)]
pub struct GptConfig {
    pub block_size: usize,
    pub vocab_size: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_embd: usize,
}

#[derive(tandem::torch::nn::Module, Debug, Clone)]
pub struct CausalSelfAttention {
    pub c_attn: Linear,
    pub c_proj: Linear,
    #[module(skip)]
    n_head: usize,
}

impl CausalSelfAttention {
    fn new(cfg: &GptConfig) -> Self {
        CausalSelfAttention {
            c_attn: Linear::with_bias(cfg.n_embd, 3 * cfg.n_embd, false),
            c_proj: Linear::with_bias(cfg.n_embd, cfg.n_embd, false),
            n_head: cfg.n_head,
        }
    }
}

impl Module for CausalSelfAttention {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (b, t, c) = (x.size()[0] as isize, x.size()[1] as isize, x.size()[2]);
        let qkv = self.c_attn.forward(x);
        let split = qkv.split(c, 2);
        let hs = (c / self.n_head) as isize;
        let heads = |z: &Tensor| z.view(&[b, t, self.n_head as isize, hs]).transpose(1, 2);
        let (q, k, v) = (heads(&split[0]), heads(&split[1]), heads(&split[2]));
        let y = F::scaled_dot_product_attention(&q, &k, &v, None, 0.0, true, None);
        let y = y.transpose(1, 2).contiguous().view(&[b, t, c as isize]);
        self.c_proj.forward(&y)
    }
}

#[derive(tandem::torch::nn::Module, Debug, Clone)]
pub struct Mlp {
    pub c_fc: Linear,
    pub c_proj: Linear,
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.c_proj.forward(&F::gelu(&self.c_fc.forward(x), false))
    }
}

#[derive(tandem::torch::nn::Module, Debug, Clone)]
pub struct Block {
    pub ln_1: LayerNorm,
    pub attn: CausalSelfAttention,
    pub ln_2: LayerNorm,
    pub mlp: Mlp,
}

impl Module for Block {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x + &self.attn.forward(&self.ln_1.forward(x));
        &x + &self.mlp.forward(&self.ln_2.forward(&x))
    }
}

#[derive(tandem::torch::nn::Module, Debug, Clone)]
pub struct Transformer {
    pub wte: Embedding,
    pub wpe: Embedding,
    pub h: Vec<Block>,
    pub ln_f: LayerNorm,
}

#[derive(tandem::torch::nn::Module, Debug, Clone)]
pub struct Gpt {
    pub transformer: Transformer,
    pub lm_head: Linear,
    #[module(skip)]
    pub config: GptConfig,
}

impl Gpt {
    pub fn new(config: GptConfig) -> Gpt {
        let c = config.n_embd;
        let transformer = Transformer {
            wte: Embedding::new(config.vocab_size, c),
            wpe: Embedding::new(config.block_size, c),
            h: (0..config.n_layer)
                .map(|_| Block {
                    ln_1: LayerNorm::new(c).bias(false),
                    attn: CausalSelfAttention::new(&config),
                    ln_2: LayerNorm::new(c).bias(false),
                    mlp: Mlp {
                        c_fc: Linear::with_bias(c, 4 * c, false),
                        c_proj: Linear::with_bias(4 * c, c, false),
                    },
                })
                .collect(),
            ln_f: LayerNorm::new(c).bias(false),
        };
        // Weight tying: the output layer uses the token embedding's tensor.
        let lm_head = Linear {
            weight: transformer.wte.weight.clone(),
            bias: None,
        };
        let gpt = Gpt {
            transformer,
            lm_head,
            config,
        };
        for (name, p) in gpt.named_parameters() {
            if p.dim() == 2 {
                let std = if name.ends_with("c_proj.weight") {
                    0.02 / ((2 * config.n_layer) as f64).sqrt()
                } else {
                    0.02
                };
                torch::nn::init::normal_(&p, 0.0, std);
            }
        }
        gpt
    }

    /// Logits `[B, T, vocab]` for token indices `[B, T]`.
    pub fn logits(&self, idx: &Tensor) -> Tensor {
        let t = idx.size()[1];
        assert!(
            t <= self.config.block_size,
            "Cannot forward sequence of length {t}, block size is only {}",
            self.config.block_size
        );
        let tr = &self.transformer;
        let pos = torch::arange(0.0, t as f64, 1.0);
        let mut x = &tr.wte.forward(idx) + &tr.wpe.forward(&pos);
        for block in &tr.h {
            x = block.forward(&x);
        }
        self.lm_head.forward(&tr.ln_f.forward(&x))
    }

    /// The mean cross-entropy of predicting `targets` from `idx`.
    pub fn loss(&self, idx: &Tensor, targets: &Tensor) -> Tensor {
        let logits = self.logits(idx);
        let v = self.config.vocab_size as isize;
        F::cross_entropy(
            &logits.view(&[-1, v]),
            &targets.view(&[-1]),
            &Default::default(),
        )
    }

    /// nanoGPT's `configure_optimizers`: weight decay for every 2-D tensor, none for the rest.
    pub fn configure_optimizers(
        &self,
        weight_decay: f64,
        lr: f64,
        betas: (f64, f64),
    ) -> impl Optimizer {
        let (decay, no_decay): (Vec<Tensor>, Vec<Tensor>) =
            self.parameters().into_iter().partition(|p| p.dim() >= 2);
        let config = AdamConfig {
            lr,
            betas,
            eps: 1e-8,
            weight_decay,
        };
        let mut opt = AdamW::with_config(decay, config);
        opt.add_param_group(
            no_decay,
            AdamConfig {
                weight_decay: 0.0,
                ..config
            },
        );
        opt
    }

    /// `max_new_tokens` characters drawn one at a time after `idx` (`[1, T]`).
    pub fn generate(
        &self,
        idx: &Tensor,
        max_new_tokens: usize,
        temperature: f64,
        top_k: usize,
    ) -> Tensor {
        torch::no_grad(|| {
            let mut idx = idx.clone();
            for _ in 0..max_new_tokens {
                let t = idx.size()[1];
                let start = t.saturating_sub(self.config.block_size);
                let cond = idx.narrow(1, start, t - start);
                let logits = self.logits(&cond);
                let last = logits.select(1, -1) / temperature;
                let k = top_k.min(self.config.vocab_size);
                let (v, _) = last.topk(k, -1, true);
                let kth = v.narrow(1, k - 1, 1);
                let last = last.masked_fill(&last.lt(&kth), f64::NEG_INFINITY);
                let probs = F::softmax(&last, -1);
                let next = torch::multinomial(&probs, 1, true);
                idx = torch::cat(&[&idx, &next], 1);
            }
            idx
        })
    }
}

impl Module for Gpt {
    fn forward(&self, idx: &Tensor) -> Tensor {
        self.logits(idx)
    }
}

/// The text as character indices, with the sorted vocabulary.
pub struct CharData {
    pub chars: Vec<char>,
    pub train: Vec<i64>,
    pub val: Vec<i64>,
}

impl CharData {
    /// Reads `path` (or the bundled Shakespeare text) and splits it 90/10.
    pub fn load(path: Option<&str>) -> Result<CharData, Box<dyn std::error::Error>> {
        let path = match path {
            Some(p) => p.into(),
            None => tandem::data::course::file("shakespeare.txt.gz")?,
        };
        let text = tandem::data::read_text(&path)?;
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let code = |c: char| chars.binary_search(&c).expect("in the vocabulary") as i64;
        let data: Vec<i64> = text.chars().map(code).collect();
        let n = (0.9 * data.len() as f64) as usize;
        Ok(CharData {
            val: data[n..].to_vec(),
            train: data[..n].to_vec(),
            chars,
        })
    }

    /// `batch` random windows of `block` characters and the same windows shifted by one.
    pub fn batch(&self, val: bool, batch: usize, block: usize) -> (Tensor, Tensor) {
        let d = if val { &self.val } else { &self.train };
        let ix = torch::randint(0, (d.len() - block) as i64, &[batch]).to_vec::<i64>();
        let (mut x, mut y) = (
            Vec::with_capacity(batch * block),
            Vec::with_capacity(batch * block),
        );
        for &i in &ix {
            let i = i as usize;
            x.extend_from_slice(&d[i..i + block]);
            y.extend_from_slice(&d[i + 1..i + 1 + block]);
        }
        (
            Tensor::from_vec(x, &[batch, block]),
            Tensor::from_vec(y, &[batch, block]),
        )
    }

    pub fn decode(&self, idx: &[i64]) -> String {
        idx.iter().map(|&i| self.chars[i as usize]).collect()
    }
}

/// nanoGPT's `get_lr`: linear warm-up, then cosine decay to `min_lr` at `decay_iters`.
pub fn lr_at(it: usize, warmup: usize, decay_iters: usize, lr: f64, min_lr: f64) -> f64 {
    if it < warmup {
        return lr * (it + 1) as f64 / (warmup + 1) as f64;
    }
    if it > decay_iters {
        return min_lr;
    }
    let ratio = (it - warmup) as f64 / (decay_iters - warmup).max(1) as f64;
    min_lr + 0.5 * (1.0 + (std::f64::consts::PI * ratio).cos()) * (lr - min_lr)
}

/// One optimization step: forward, backward, clipping at 1.0, AdamW at `lr`.
pub fn train_step(
    model: &Gpt,
    opt: &mut impl Optimizer,
    params: &[Tensor],
    x: &Tensor,
    y: &Tensor,
    lr: f64,
) -> f32 {
    opt.set_lr(lr);
    let loss = model.loss(x, y);
    opt.zero_grad();
    loss.backward();
    clip_grad_norm_(params, 1.0);
    opt.step();
    loss.item::<f32>()
}

/// The mean loss of `iters` batches of each split, without gradients.
pub fn estimate_loss(model: &mut Gpt, data: &CharData, iters: usize, batch: usize) -> (f64, f64) {
    model.eval();
    let out = (
        mean_loss(model, data, false, iters, batch),
        mean_loss(model, data, true, iters, batch),
    );
    model.train();
    out
}

/// The mean loss of `iters` random batches of one split (`val`), without gradients.
pub fn mean_loss(model: &Gpt, data: &CharData, val: bool, iters: usize, batch: usize) -> f64 {
    torch::no_grad(|| {
        (0..iters)
            .map(|_| {
                let (x, y) = data.batch(val, batch, model.config.block_size);
                model.loss(&x, &y).item::<f64>()
            })
            .sum::<f64>()
            / iters as f64
    })
}

/// The value after `name` on the command line, parsed.
pub fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1)?.parse().ok()
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let max_iters: usize = arg(&args, "--iters").unwrap_or(2000);
    let text: Option<String> = arg(&args, "--text");
    torch::manual_seed(arg(&args, "--seed").unwrap_or(1337));
    let (batch, eval_interval, eval_iters) = (12, 250, 20);

    let data = CharData::load(text.as_deref())?;
    println!(
        "{} characters, vocabulary of {}",
        data.train.len() + data.val.len(),
        data.chars.len()
    );
    let config = GptConfig {
        block_size: 64,
        vocab_size: data.chars.len(),
        n_layer: 4,
        n_head: 4,
        n_embd: 128,
    };
    let mut model = Gpt::new(config);
    println!(
        "number of parameters: {:.2}M",
        model.num_parameters() as f64 / 1e6
    );
    let params = model.parameters();
    let mut opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99));
    let mut times = Vec::with_capacity(max_iters);
    for it in 0..=max_iters {
        if it % eval_interval == 0 || it == max_iters {
            let (tr, va) = estimate_loss(&mut model, &data, eval_iters, batch);
            println!("step {it}: train loss {tr:.4}, val loss {va:.4}");
            if it == max_iters {
                println!("final val loss: {va:.4}");
                break;
            }
        }
        let (x, y) = data.batch(false, batch, config.block_size);
        let t0 = Instant::now();
        let lr = lr_at(it, 100, max_iters, 1e-3, 1e-4);
        train_step(&model, &mut opt, &params, &x, &y, lr);
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    if let Some(mid) = times.get(times.len() / 2) {
        println!("median time per iteration: {:.1} ms", mid * 1e3);
    }
    model.eval();
    let start = Tensor::from_vec(
        vec![data.chars.binary_search(&'\n').unwrap_or(0) as i64],
        &[1, 1],
    );
    let out = model.generate(&start, 500, 0.8, 200);
    println!("sample:\n{}", data.decode(&out.to_vec::<i64>()));
    Ok(())
}
