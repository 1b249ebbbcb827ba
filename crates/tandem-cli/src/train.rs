//! Training and evaluation of the seed network, with a resumable checkpoint directory.

use crate::{Dataset, Idiom};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tandem::torch::nn::{functional as F, Linear, Module};
use tandem::torch::optim::{Adam, Optimizer};
use tandem::torch::utils::data::{DataLoader, TensorDataset};
use tandem::{torch, Tensor};

/// Everything `tandem train` needs.
pub struct TrainConfig {
    pub idiom: Idiom,
    pub dataset: Dataset,
    pub data: Option<PathBuf>,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub out: PathBuf,
    pub seed: u64,
}

/// Errors the command reports (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Data(#[from] tandem::data::DataError),
    #[error(transparent)]
    Checkpoint(#[from] tandem::nn::CheckpointError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// The seed's network.
#[derive(tandem::nn::Module)]
pub struct Net {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    l4: Linear,
    l5: Linear,
}

impl Net {
    fn new(idiom: Idiom) -> Net {
        let net = Net {
            l1: Linear::new(784, 520),
            l2: Linear::new(520, 320),
            l3: Linear::new(320, 240),
            l4: Linear::new(240, 120),
            l5: Linear::new(120, 10),
        };
        if idiom == Idiom::Keras {
            // Keras's Dense: glorot-uniform kernels, zero biases
            for l in [&net.l1, &net.l2, &net.l3, &net.l4, &net.l5] {
                tandem::nn::init::xavier_uniform_(&l.weight, 1.0);
                tandem::nn::init::zeros_(l.bias.as_ref().expect("bias"));
            }
        }
        net
    }
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.view(&[-1, 784]);
        let x = F::relu(&self.l1.forward(&x));
        let x = F::relu(&self.l2.forward(&x));
        let x = F::relu(&self.l3.forward(&x));
        let x = F::relu(&self.l4.forward(&x));
        self.l5.forward(&x)
    }
}

type Split = ((Tensor, Tensor), (Tensor, Tensor));

fn load(dataset: Dataset, dir: Option<&Path>) -> Result<(Split, String), CliError> {
    use tandem::data::{fashion_mnist, mnist, Source};
    let loaded = match (dataset, dir) {
        (Dataset::Mnist, Some(d)) => mnist::load_from(d)?,
        (Dataset::Mnist, None) => mnist::load()?,
        (Dataset::FashionMnist, Some(d)) => fashion_mnist::load_from(d)?,
        (Dataset::FashionMnist, None) => fashion_mnist::load()?,
    };
    let what = match &loaded.source {
        Source::Sample => "the embedded MNIST sample (8,000 train / 2,000 test)".to_string(),
        other => format!("{other:?}"),
    };
    Ok((loaded.into_keras(), what))
}

fn images(x: &Tensor) -> Tensor {
    (x.float() / 255.0).reshape(&[-1, 784])
}

fn accuracy(model: &Net, x: &Tensor, y: &Tensor) -> (f64, Tensor) {
    let pred = torch::no_grad(|| model.forward(x).argmax(Some(1), false));
    (pred.eq(y).float().mean().item::<f32>() as f64, pred)
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), CliError> {
    let tmp = path.with_extension("json.tmp");
    let io = |source| CliError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, serde_json::to_string_pretty(value).expect("json")).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// `tandem train`: trains, validating each epoch, and writes `model.safetensors`,
/// `optimizer.safetensors` and `metrics.json` into `out` after every epoch; rerun with the
/// same `out` to continue from the last completed epoch.
pub fn train(cfg: &TrainConfig) -> Result<(), CliError> {
    torch::manual_seed(cfg.seed);
    let (((x_train, y_train), (x_test, y_test)), source) = load(cfg.dataset, cfg.data.as_deref())?;
    println!("data: {source}");
    let (x_train, x_test) = (images(&x_train), images(&x_test));
    let model = Net::new(cfg.idiom);
    let mut opt = Adam::new(model.parameters(), cfg.lr);
    std::fs::create_dir_all(&cfg.out).map_err(|source| CliError::Io {
        path: cfg.out.clone(),
        source,
    })?;
    let metrics_path = cfg.out.join("metrics.json");
    let mut history: Vec<serde_json::Value> = Vec::new();
    let mut start = 0;
    if metrics_path.exists() && cfg.out.join("model.safetensors").exists() {
        let text = std::fs::read_to_string(&metrics_path).map_err(|source| CliError::Io {
            path: metrics_path.clone(),
            source,
        })?;
        let saved: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| CliError::Other(format!("{}: {e}", metrics_path.display())))?;
        history = saved["epochs"].as_array().cloned().unwrap_or_default();
        start = history.len();
        model.load(cfg.out.join("model.safetensors"), true)?;
        let state: Vec<(String, Tensor)> =
            tandem::nn::load_safetensors(&cfg.out.join("optimizer.safetensors"))?
                .into_iter()
                .collect();
        opt.load_state_dict(&state).map_err(CliError::Other)?;
        println!("resuming from epoch {start} in {}", cfg.out.display());
    }
    let loader = DataLoader::new(
        Arc::new(TensorDataset::new(x_train, y_train)?),
        cfg.batch_size,
    )
    .shuffle(true)
    .seed(cfg.seed);
    let steps = loader.len() as u64;
    let t0 = Instant::now();
    for epoch in start..cfg.epochs {
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", epoch + 1, cfg.epochs));
        let criterion = torch::nn::CrossEntropyLoss::new();
        let (mut loss_sum, mut n) = (0.0, 0);
        for (data, target) in loader.iter_epoch(epoch as u64) {
            opt.zero_grad();
            let loss = criterion.forward(&model.forward(&data), &target);
            loss.backward();
            opt.step();
            loss_sum += loss.item::<f32>() as f64;
            n += 1;
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", loss_sum / n as f64));
        }
        let (acc, _) = accuracy(&model, &x_test, &y_test);
        bar.finish_with_message(format!(
            "loss {:.4}  test accuracy {:.2}%",
            loss_sum / n as f64,
            acc * 100.0
        ));
        history.push(serde_json::json!({"epoch": epoch + 1, "loss": loss_sum / n as f64, "test_accuracy": acc}));
        model.save(cfg.out.join("model.safetensors"))?;
        tandem::nn::save_safetensors(&opt.state_dict(), &cfg.out.join("optimizer.safetensors"))?;
        write_json(
            &metrics_path,
            &serde_json::json!({"idiom": format!("{:?}", cfg.idiom), "dataset": source, "epochs": history}),
        )?;
    }
    let (acc, _) = accuracy(&model, &x_test, &y_test);
    println!(
        "trained {} epochs in {:.1}s; test accuracy {:.4}",
        cfg.epochs - start,
        t0.elapsed().as_secs_f64(),
        acc
    );
    println!("wrote {}", cfg.out.display());
    Ok(())
}

/// `tandem eval`: test accuracy and confusion matrix of a checkpoint.
pub fn eval(dir: &Path, dataset: Dataset, data: Option<&Path>) -> Result<(), CliError> {
    let (((_, _), (x_test, y_test)), source) = load(dataset, data)?;
    let model = Net::new(Idiom::Torch);
    model.load(dir.join("model.safetensors"), true)?;
    let (acc, pred) = accuracy(&model, &images(&x_test), &y_test);
    println!("data: {source}\ntest accuracy: {acc:.4}\nconfusion matrix (rows: true class, columns: predicted):");
    let mut m = [[0usize; 10]; 10];
    for (t, p) in y_test.to_vec::<i64>().iter().zip(pred.to_vec::<i64>()) {
        m[*t as usize][p as usize] += 1;
    }
    for (i, row) in m.iter().enumerate() {
        println!(
            "{i}: {}",
            row.iter().map(|v| format!("{v:5}")).collect::<String>()
        );
    }
    Ok(())
}
