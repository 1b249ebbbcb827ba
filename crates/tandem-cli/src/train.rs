//! `tandem train` and `tandem eval`: the seed's MNIST network (or the lesson CNN) trained in
//! either idiom, validated each epoch, with a resumable checkpoint directory holding the
//! weights, the optimizer state, `metrics.json` and `training.png`.

pub(crate) use crate::error::{io_error, CliError};
use crate::models::{self, ModelKind, RunInfo};
use crate::{plot, Dataset, Idiom};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tandem::tf::keras::{self, callbacks::BackupAndRestore, FitArgs};
use tandem::torch::nn::Module;
use tandem::torch::optim::{Adam, Optimizer};
use tandem::torch::utils::data::{DataLoader, TensorDataset};
use tandem::{torch, Tensor};

/// Everything `tandem train` needs.
pub struct TrainConfig {
    pub idiom: Idiom,
    pub model: ModelKind,
    pub dataset: Dataset,
    pub data: Option<PathBuf>,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub out: PathBuf,
    pub seed: u64,
}

type Split = ((Tensor, Tensor), (Tensor, Tensor));

pub(crate) fn load(dataset: Dataset, dir: Option<&Path>) -> Result<(Split, String), CliError> {
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

/// Writes `value` as pretty JSON to `path` atomically (temporary file, then rename).
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), CliError> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(value).expect("json"))
        .map_err(io_error(path))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

/// The run's record: what was trained, on what, and one entry per finished epoch.
struct Metrics {
    info: RunInfo,
    dataset: String,
    epochs: Vec<serde_json::Value>,
}

impl Metrics {
    fn path(out: &Path) -> PathBuf {
        out.join("metrics.json")
    }

    /// The epochs already recorded in `out` (for resuming), checked against this run.
    fn resume(out: &Path, info: RunInfo, dataset: &str) -> Result<Metrics, CliError> {
        let path = Metrics::path(out);
        let mut m = Metrics {
            info,
            dataset: dataset.to_string(),
            epochs: Vec::new(),
        };
        if !path.exists() {
            return Ok(m);
        }
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        let saved: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
        let saved_info: RunInfo = serde_json::from_value(saved["run"].clone()).map_err(|e| {
            CliError::Other(format!(
                "{}: not a run of this tandem train ({e}); use another --out",
                path.display()
            ))
        })?;
        if (saved_info.idiom, saved_info.model) != (info.idiom, info.model) {
            return Err(CliError::Other(format!(
                "{} holds a {:?} {:?} run; this is {:?} {:?} (use another --out)",
                out.display(),
                saved_info.idiom,
                saved_info.model,
                info.idiom,
                info.model
            )));
        }
        m.epochs = saved["epochs"].as_array().cloned().unwrap_or_default();
        Ok(m)
    }

    fn push(&mut self, epoch: usize, loss: f64, accuracy: f64, test_loss: f64, test_acc: f64) {
        self.epochs.push(serde_json::json!({
            "epoch": epoch, "loss": loss, "accuracy": accuracy,
            "test_loss": test_loss, "test_accuracy": test_acc,
        }));
    }

    fn column(&self, key: &str) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|e| e[key].as_f64().unwrap_or(f64::NAN))
            .collect()
    }

    /// Writes `metrics.json` and redraws `training.png`.
    fn save(&self, out: &Path) -> Result<(), CliError> {
        let json =
            serde_json::json!({"run": self.info, "dataset": self.dataset, "epochs": self.epochs});
        write_json(&Metrics::path(out), &json)?;
        let (loss, test_loss) = (self.column("loss"), self.column("test_loss"));
        let (acc, test_acc) = (self.column("accuracy"), self.column("test_accuracy"));
        let title = format!("{:?} {:?}", self.info.idiom, self.info.model).to_lowercase();
        plot::training_curves(
            &out.join("training.png"),
            &title,
            &[
                plot::Series {
                    name: "train loss",
                    values: &loss,
                },
                plot::Series {
                    name: "test loss",
                    values: &test_loss,
                },
            ],
            &[
                plot::Series {
                    name: "train accuracy",
                    values: &acc,
                },
                plot::Series {
                    name: "test accuracy",
                    values: &test_acc,
                },
            ],
        )
        .map_err(|e| CliError::Other(format!("writing the plot: {e}")))
    }
}

/// Test loss and accuracy of a torch model, and its predictions.
fn evaluate_torch(model: &dyn Module, x: &Tensor, y: &Tensor) -> (f64, f64, Tensor) {
    torch::no_grad(|| {
        let logits = model.forward(x);
        let loss = torch::nn::CrossEntropyLoss::new().forward(&logits, y);
        let pred = logits.argmax(Some(1), false);
        let acc = pred.eq(y).float().mean().item::<f32>() as f64;
        (loss.item::<f32>() as f64, acc, pred)
    })
}

/// `tandem train`: trains, validating each epoch, and rewrites the checkpoint, `metrics.json`
/// and `training.png` in `out` after every epoch; rerun with the same `out` to continue from
/// the last finished epoch.
pub fn train(cfg: &TrainConfig) -> Result<(), CliError> {
    let (split, source) = load(cfg.dataset, cfg.data.as_deref())?;
    println!("data: {source}");
    std::fs::create_dir_all(&cfg.out).map_err(io_error(&cfg.out))?;
    let info = RunInfo {
        idiom: cfg.idiom,
        model: cfg.model,
    };
    let metrics = Metrics::resume(&cfg.out, info, &source)?;
    let t0 = Instant::now();
    let (start, acc) = match cfg.idiom {
        Idiom::Torch => train_torch(cfg, split, metrics)?,
        Idiom::Keras => train_keras(cfg, split, metrics)?,
    };
    println!(
        "trained {} epochs in {:.1}s; test accuracy {acc:.4}",
        cfg.epochs.saturating_sub(start),
        t0.elapsed().as_secs_f64(),
    );
    println!(
        "wrote {} (checkpoint, metrics.json, training.png)",
        cfg.out.display()
    );
    Ok(())
}

/// The torch idiom: `nn.Sequential`, `CrossEntropyLoss`, `optim.Adam`, a shuffled `DataLoader`.
fn train_torch(
    cfg: &TrainConfig,
    split: Split,
    mut metrics: Metrics,
) -> Result<(usize, f64), CliError> {
    torch::manual_seed(cfg.seed);
    let ((x_train, y_train), (x_test, y_test)) = split;
    let (x_train, x_test) = (models::torch_input(&x_train), models::torch_input(&x_test));
    let model = models::torch_model(cfg.model);
    let mut opt = Adam::new(model.parameters(), cfg.lr);
    let (model_path, opt_path) = (
        cfg.out.join("model.safetensors"),
        cfg.out.join("optimizer.safetensors"),
    );
    let start = metrics.epochs.len();
    if start > 0 {
        model.load(&model_path, true)?;
        let state: Vec<(String, Tensor)> = tandem::nn::load_safetensors(&opt_path)?
            .into_iter()
            .collect();
        opt.load_state_dict(&state).map_err(CliError::Other)?;
        println!("resuming after epoch {start} from {}", cfg.out.display());
    }
    let loader = DataLoader::new(
        Arc::new(TensorDataset::new(x_train, y_train)?),
        cfg.batch_size,
    )
    .shuffle(true)
    .seed(cfg.seed);
    let criterion = torch::nn::CrossEntropyLoss::new();
    for epoch in start..cfg.epochs {
        let bar = progress_bar(loader.len() as u64, epoch, cfg.epochs);
        let (mut loss_sum, mut correct, mut seen, mut n) = (0.0, 0i64, 0usize, 0);
        for (data, target) in loader.iter_epoch(epoch as u64) {
            opt.zero_grad();
            let output = model.forward(&data);
            let loss = criterion.forward(&output, &target);
            loss.backward();
            opt.step();
            loss_sum += loss.item::<f32>() as f64;
            correct += output
                .argmax(Some(1), false)
                .eq(&target)
                .sum()
                .item::<i64>();
            seen += target.numel();
            n += 1;
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", loss_sum / n as f64));
        }
        let (test_loss, test_acc, _) = evaluate_torch(&model, &x_test, &y_test);
        let (loss, acc) = (
            loss_sum / n.max(1) as f64,
            correct as f64 / seen.max(1) as f64,
        );
        bar.finish_with_message(format!(
            "loss {loss:.4}  test loss {test_loss:.4}  test accuracy {:.2}%",
            test_acc * 100.0
        ));
        // Weights and optimizer first, the record of the epoch last: a crash in between
        // repeats the epoch on resume rather than skipping it.
        model.save(&model_path)?;
        tandem::nn::save_safetensors(&opt.state_dict(), &opt_path)?;
        metrics.push(epoch + 1, loss, acc, test_loss, test_acc);
        metrics.save(&cfg.out)?;
    }
    let (_, acc, _) = evaluate_torch(&model, &x_test, &y_test);
    Ok((start, acc))
}

fn progress_bar(steps: u64, epoch: usize, epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} {elapsed_precise} {msg}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{}/{}", epoch + 1, epochs));
    bar
}

/// Records each finished epoch of `fit` in `metrics.json` and `training.png`.
struct RecordEpochs<'a> {
    metrics: &'a mut Metrics,
    out: &'a Path,
}

impl keras::callbacks::Callback for RecordEpochs<'_> {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &[(String, f64)],
        state: &mut keras::callbacks::TrainingState<'_>,
    ) -> Result<bool, keras::KerasError> {
        let get = |k: &str| {
            logs.iter()
                .find(|(n, _)| n == k)
                .map_or(f64::NAN, |(_, v)| *v)
        };
        state.save_weights(&self.out.join("model.weights.safetensors"))?;
        self.metrics.epochs.truncate(epoch);
        self.metrics.push(
            epoch + 1,
            get("loss"),
            get("accuracy"),
            get("val_loss"),
            get("val_accuracy"),
        );
        self.metrics
            .save(self.out)
            .map_err(|e| keras::KerasError::CallbackIo {
                callback: "tandem train",
                path: Metrics::path(self.out),
                source: std::io::Error::other(e.to_string()),
            })?;
        Ok(false)
    }
}

/// The Keras idiom: `Sequential`, `compile`, `fit` with validation data; `BackupAndRestore`
/// makes an interrupted run resumable.
fn train_keras(
    cfg: &TrainConfig,
    split: Split,
    mut metrics: Metrics,
) -> Result<(usize, f64), CliError> {
    tandem::tf::random::set_seed(cfg.seed);
    let ((x_train, y_train), (x_test, y_test)) = split;
    let (x_train, x_test) = (models::keras_input(&x_train), models::keras_input(&x_test));
    let mut model = models::keras_model(cfg.model);
    model.compile(
        keras::optimizers::Adam(cfg.lr),
        keras::losses::SparseCategoricalCrossentropy(true),
        &["accuracy"],
    )?;
    let start = metrics.epochs.len();
    let weights = cfg.out.join("model.weights.safetensors");
    let mut backup = BackupAndRestore::new(cfg.out.join("backup")).delete_checkpoint(false);
    let mut record = RecordEpochs {
        metrics: &mut metrics,
        out: &cfg.out,
    };
    model.fit(
        &x_train,
        &y_train,
        FitArgs {
            epochs: cfg.epochs,
            batch_size: cfg.batch_size,
            verbose: 1,
            validation_data: Some((&x_test, &y_test)),
            callbacks: vec![&mut backup, &mut record],
            seed: cfg.seed,
            ..Default::default()
        },
    )?;
    if !weights.exists() {
        model.save_weights(&weights)?;
    }
    let logs = model.evaluate(&x_test, &y_test, 256)?;
    let acc = logs
        .iter()
        .find(|(k, _)| k == "accuracy")
        .map_or(0.0, |(_, v)| *v);
    Ok((start, acc))
}

/// A trained network as a function from uint8 images `[N, 28, 28]` to logits `[N, 10]`.
pub(crate) type Classifier = Box<dyn Fn(&Tensor) -> Tensor>;

/// Loads the network saved in `dir` by `tandem train`, as a torch module (a Keras run's
/// weights are mapped onto the same layers).
pub(crate) fn load_trained(dir: &Path) -> Result<(RunInfo, Classifier), CliError> {
    let path = Metrics::path(dir);
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let saved: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
    let info: RunInfo = serde_json::from_value(saved["run"].clone())
        .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
    Ok(match info.idiom {
        Idiom::Torch => {
            let model = models::torch_model(info.model);
            model.load(dir.join("model.safetensors"), true)?;
            (
                info,
                Box::new(move |x: &Tensor| {
                    torch::no_grad(|| model.forward(&models::torch_input(x)))
                }),
            )
        }
        Idiom::Keras => {
            let mut model = models::keras_model(info.model);
            // Builds the layers (their shapes follow from the input) before loading.
            model.predict(&tandem::tf::zeros(&[1, 28, 28]));
            model.load_weights(dir.join("model.weights.safetensors"))?;
            let model = std::sync::Mutex::new(model);
            (
                info,
                Box::new(move |x: &Tensor| {
                    model
                        .lock()
                        .expect("model")
                        .predict(&models::keras_input(x))
                }),
            )
        }
    })
}

/// `tandem eval`: test accuracy and confusion matrix of a checkpoint.
pub fn eval(dir: &Path, dataset: Dataset, data: Option<&Path>) -> Result<(), CliError> {
    let (((_, _), (x_test, y_test)), source) = load(dataset, data)?;
    let (info, predict) = load_trained(dir)?;
    let pred = predict(&x_test).argmax(Some(1), false);
    let acc = pred.eq(&y_test).float().mean().item::<f32>();
    println!(
        "model: {:?} {:?}\ndata: {source}\ntest accuracy: {acc:.4}",
        info.idiom, info.model
    );
    println!("confusion matrix (rows: true class, columns: predicted):");
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
