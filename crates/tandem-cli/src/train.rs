//! `tandem train` and `tandem eval`: the seed's MNIST network (or the lesson CNN) trained in
//! either idiom on the training split less a held-out validation part, with a resumable
//! checkpoint directory holding the best epoch's weights (by validation accuracy), the last
//! epoch's weights and optimizer state, `metrics.json` and `training.png`. The test split is
//! only used to report the best model's accuracy at the end.

pub(crate) use crate::error::{io_error, CliError};
use crate::job::{Job, Replicated};
use crate::models::{self, ModelKind, RunInfo};
use crate::{plot, Dataset, Idiom};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tandem::tf::keras::optimizers::schedules::ExponentialDecay;
use tandem::tf::keras::{self, callbacks::BackupAndRestore, FitArgs};
use tandem::torch::nn::Module;
use tandem::torch::optim::lr_scheduler::{ExponentialLR, LrScheduler};
use tandem::torch::optim::{Adam, Optimizer};
use tandem::torch::utils::data::{DataLoader, DistributedSampler, TensorDataset};
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
    /// The rate is multiplied by this after every epoch.
    pub lr_decay: f64,
    /// Fraction of the training split, taken from its end, held out for validation.
    pub validation_split: f64,
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

    fn push(
        &mut self,
        epoch: usize,
        loss: f64,
        accuracy: f64,
        val_loss: f64,
        val_acc: f64,
        lr: f64,
    ) {
        self.epochs.push(serde_json::json!({
            "epoch": epoch, "loss": loss, "accuracy": accuracy,
            "val_loss": val_loss, "val_accuracy": val_acc, "learning_rate": lr,
        }));
    }

    /// The best validation accuracy recorded so far and its epoch (1-based).
    fn best(&self) -> Option<(usize, f64)> {
        let acc = self.column("val_accuracy");
        let mut best: Option<(usize, f64)> = None;
        for (i, a) in acc.into_iter().enumerate() {
            if best.is_none_or(|(_, b)| a > b) {
                best = Some((i + 1, a));
            }
        }
        best
    }

    /// Whether the epoch just pushed is the best so far (a strictly higher validation accuracy).
    fn last_is_best(&self) -> bool {
        self.best().is_some_and(|(e, _)| e == self.epochs.len())
    }

    fn column(&self, key: &str) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|e| e[key].as_f64().unwrap_or(f64::NAN))
            .collect()
    }

    /// Writes `metrics.json` and redraws `training.png`.
    fn save(&self, out: &Path) -> Result<(), CliError> {
        let best = self
            .best()
            .map(|(epoch, acc)| serde_json::json!({"epoch": epoch, "val_accuracy": acc}));
        let json = serde_json::json!({
            "run": self.info, "dataset": self.dataset, "epochs": self.epochs, "best": best,
        });
        write_json(&Metrics::path(out), &json)?;
        let (loss, val_loss) = (self.column("loss"), self.column("val_loss"));
        let (acc, val_acc) = (self.column("accuracy"), self.column("val_accuracy"));
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
                    name: "validation loss",
                    values: &val_loss,
                },
            ],
            &[
                plot::Series {
                    name: "train accuracy",
                    values: &acc,
                },
                plot::Series {
                    name: "validation accuracy",
                    values: &val_acc,
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

/// How many of `n` training samples the last `fraction` holds out for validation (as Keras's
/// `validation_split` counts them); an error unless both parts are non-empty.
fn validation_count(n: usize, fraction: f64) -> Result<usize, CliError> {
    let n_val = (n as f64 * fraction) as usize;
    if !(0.0..1.0).contains(&fraction) || n_val == 0 || n_val == n {
        return Err(CliError::Other(format!(
            "--validation-split {fraction} must leave both parts of the {n} training samples non-empty"
        )));
    }
    Ok(n_val)
}

/// Splits off the last `fraction` of the training data for validation (before any shuffling).
fn hold_out(x: &Tensor, y: &Tensor, fraction: f64) -> Result<Split, CliError> {
    let n = x.shape()[0];
    let n_train = n - validation_count(n, fraction)?;
    Ok((
        (x.narrow(0, 0, n_train), y.narrow(0, 0, n_train)),
        (
            x.narrow(0, n_train, n - n_train),
            y.narrow(0, n_train, n - n_train),
        ),
    ))
}

/// `tandem train`: trains, validating each epoch on the held-out part, and rewrites the
/// checkpoint, `metrics.json` and `training.png` in `out` after every epoch; the best epoch's
/// weights are kept and scored on the test split at the end. Rerun with the same `out` to
/// continue from the last finished epoch.
///
/// Under `mpirun -np N` the ranks train data-parallel: each global batch of `batch_size` is
/// split across them, and only rank 0 prints and writes the run directory.
pub fn train(cfg: &TrainConfig) -> Result<(), CliError> {
    if let Some((_, ranks)) = tandem::distributed::launcher_env() {
        if !cfg.batch_size.is_multiple_of(ranks) {
            return Err(CliError::Usage(format!(
                "--batch-size {} must split evenly over {ranks} ranks",
                cfg.batch_size
            )));
        }
    }
    let job = Job::start()?;
    let (split, source) = load(cfg.dataset, cfg.data.as_deref())?;
    if job.is_chief() {
        println!("data: {source}");
        println!("kernels: {}", tandem::kernel_path());
        if job.size > 1 {
            println!(
                "ranks: {} (each global batch of {} split across them; rank 0 writes {})",
                job.size,
                cfg.batch_size,
                cfg.out.display()
            );
        }
    }
    std::fs::create_dir_all(&cfg.out).map_err(io_error(&cfg.out))?;
    let info = RunInfo {
        idiom: cfg.idiom,
        model: cfg.model,
    };
    let metrics = Metrics::resume(&cfg.out, info, &source)?;
    // Every rank resumes from the same epoch, or the ranks would take different steps.
    job.check_same("finished epochs in the run directory", metrics.epochs.len())?;
    let t0 = Instant::now();
    let (start, metrics) = match cfg.idiom {
        Idiom::Torch => train_torch(cfg, &split.0, metrics, &job)?,
        Idiom::Keras => train_keras(cfg, &split.0, metrics, &job)?,
    };
    if !job.is_chief() {
        return job.finish();
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let (best_epoch, val_acc) = metrics
        .best()
        .ok_or_else(|| CliError::Other("no epoch was trained".into()))?;
    // The test split is used once, here, on the weights the validation data chose.
    let (_, predict) = load_trained(&cfg.out)?;
    let (x_test, y_test) = &split.1;
    let pred = predict(x_test).argmax(Some(1), false);
    let acc = pred.eq(y_test).float().mean().item::<f32>() as f64;
    let mut json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Metrics::path(&cfg.out)).map_err(io_error(&cfg.out))?,
    )
    .map_err(|e| CliError::Other(e.to_string()))?;
    json["best"]["test_accuracy"] = serde_json::json!(acc);
    write_json(&Metrics::path(&cfg.out), &json)?;
    println!(
        "trained {} epochs in {elapsed:.1}s; best epoch {best_epoch} (validation accuracy {val_acc:.4}); test accuracy {acc:.4}",
        cfg.epochs.saturating_sub(start),
    );
    println!(
        "wrote {} (best weights, last checkpoint, metrics.json, training.png)",
        cfg.out.display()
    );
    job.finish()
}

/// The torch idiom: `nn.Sequential`, `CrossEntropyLoss`, `optim.Adam` with `ExponentialLR`, a
/// shuffled `DataLoader`; `model.safetensors` holds the best epoch, `last.safetensors` and
/// `optimizer.safetensors` the last one.
fn train_torch(
    cfg: &TrainConfig,
    (x_all, y_all): &(Tensor, Tensor),
    mut metrics: Metrics,
    job: &Job,
) -> Result<(usize, Metrics), CliError> {
    torch::manual_seed(cfg.seed);
    let ((x_train, y_train), (x_val, y_val)) = hold_out(x_all, y_all, cfg.validation_split)?;
    let (x_train, x_val) = (models::torch_input(&x_train), models::torch_input(&x_val));
    let model = models::torch_model(cfg.model);
    let mut opt = Adam::new(model.parameters(), cfg.lr);
    let mut scheduler = ExponentialLR::new(&opt, cfg.lr_decay);
    let (best_path, last_path, opt_path) = (
        cfg.out.join("model.safetensors"),
        cfg.out.join("last.safetensors"),
        cfg.out.join("optimizer.safetensors"),
    );
    let start = metrics.epochs.len();
    if start > 0 {
        model.load(&last_path, true)?;
        let state: Vec<(String, Tensor)> = tandem::nn::load_safetensors(&opt_path)?
            .into_iter()
            .collect();
        opt.load_state_dict(&state).map_err(CliError::Other)?;
        for _ in 0..start {
            scheduler.step(&mut opt);
        }
        if job.is_chief() {
            println!("resuming after epoch {start} from {}", cfg.out.display());
        }
    }
    // With several ranks: rank 0's weights everywhere, gradients averaged in backward, and
    // each rank's share of every epoch from a DistributedSampler.
    let model = Replicated::new(model, job)?;
    let n_train = x_train.shape()[0];
    let data = Arc::new(TensorDataset::new(x_train, y_train)?);
    let sampler =
        Arc::new(DistributedSampler::with_replicas(n_train, job.size, job.rank).seed(cfg.seed));
    let loader = if job.size > 1 {
        DataLoader::new(data, cfg.batch_size / job.size).sampler(sampler.clone())
    } else {
        DataLoader::new(data, cfg.batch_size)
            .shuffle(true)
            .seed(cfg.seed)
    };
    let criterion = torch::nn::CrossEntropyLoss::new();
    for epoch in start..cfg.epochs {
        sampler.set_epoch(epoch as u64);
        let bar = progress_bar(loader.len() as u64, epoch, cfg.epochs, job.is_chief());
        let lr = opt.lr();
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
        scheduler.step(&mut opt);
        // The epoch's record over all ranks; only rank 0 validates and writes.
        let mut sums = [loss_sum, n as f64, correct as f64, seen as f64];
        job.sum(&mut sums)?;
        if !job.is_chief() {
            continue;
        }
        let (val_loss, val_acc, _) = evaluate_torch(model.inner(), &x_val, &y_val);
        let (loss, acc) = (sums[0] / sums[1].max(1.0), sums[2] / sums[3].max(1.0));
        bar.finish_with_message(format!(
            "loss {loss:.4}  val loss {val_loss:.4}  val accuracy {:.2}%",
            val_acc * 100.0
        ));
        // Weights and optimizer first, the record of the epoch last: a crash in between
        // repeats the epoch on resume rather than skipping it.
        model.inner().save(&last_path)?;
        tandem::nn::save_safetensors(&opt.state_dict(), &opt_path)?;
        metrics.push(epoch + 1, loss, acc, val_loss, val_acc, lr);
        if metrics.last_is_best() {
            model.inner().save(&best_path)?;
        }
        metrics.save(&cfg.out)?;
    }
    Ok((start, metrics))
}

fn progress_bar(steps: u64, epoch: usize, epochs: usize, visible: bool) -> ProgressBar {
    use std::io::IsTerminal;
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = if std::io::stdout().is_terminal() {
        ProgressBar::new(steps)
    } else {
        // A file or a pipe gets the epoch's last line only.
        ProgressBar::with_draw_target(Some(steps), indicatif::ProgressDrawTarget::hidden())
    };
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

/// Records each finished epoch of `fit` in `metrics.json` and `training.png`, and keeps the
/// best epoch's weights (by validation accuracy, over resumed runs too).
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
        if !state.is_chief() {
            return Ok(false);
        }
        let get = |k: &str| {
            logs.iter()
                .find(|(n, _)| n == k)
                .map_or(f64::NAN, |(_, v)| *v)
        };
        self.metrics.epochs.truncate(epoch);
        self.metrics.push(
            epoch + 1,
            get("loss"),
            get("accuracy"),
            get("val_loss"),
            get("val_accuracy"),
            state.learning_rate(),
        );
        if self.metrics.last_is_best() {
            state.save_weights(&self.out.join("model.weights.safetensors"))?;
        }
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

/// The Keras idiom: `Sequential`, `compile` with Adam on an `ExponentialDecay` schedule (one
/// step of decay per epoch), `fit` with `validation_split`; `BackupAndRestore` makes an
/// interrupted run resumable.
fn train_keras(
    cfg: &TrainConfig,
    (x_all, y_all): &(Tensor, Tensor),
    mut metrics: Metrics,
    job: &Job,
) -> Result<(usize, Metrics), CliError> {
    tandem::tf::random::set_seed(cfg.seed);
    // With several ranks, `fit` inside the strategy's scope splits each global batch across
    // them; only rank 0 prints and its callbacks write.
    let strategy = if job.size > 1 {
        Some(tandem::tf::distribute::MultiWorkerMirroredStrategy::new()?)
    } else {
        None
    };
    let scope = strategy.as_ref().map(|s| s.scope());
    let n = x_all.shape()[0];
    let n_train = n - validation_count(n, cfg.validation_split)?;
    let x_train = models::keras_input(x_all);
    let mut model = models::keras_model(cfg.model);
    let steps_per_epoch = n_train.div_ceil(cfg.batch_size.max(1)) as u64;
    let schedule = ExponentialDecay::new(cfg.lr, steps_per_epoch, cfg.lr_decay).staircase(true);
    model.compile(
        keras::optimizers::Adam(schedule),
        keras::losses::SparseCategoricalCrossentropy(true),
        &["accuracy"],
    )?;
    drop(scope);
    let start = metrics.epochs.len();
    let mut backup = BackupAndRestore::new(cfg.out.join("backup")).delete_checkpoint(false);
    let mut record = RecordEpochs {
        metrics: &mut metrics,
        out: &cfg.out,
    };
    model.fit(
        &x_train,
        y_all,
        FitArgs {
            epochs: cfg.epochs,
            batch_size: cfg.batch_size,
            // Keras's "auto": the bar on a terminal, a line per epoch otherwise.
            verbose: 1,
            validation_split: cfg.validation_split,
            callbacks: vec![&mut backup, &mut record],
            seed: cfg.seed,
            ..Default::default()
        },
    )?;
    Ok((start, metrics))
}

/// A trained network as a function from uint8 images `[N, 28, 28]` to logits `[N, 10]`.
pub(crate) type Classifier = Box<dyn Fn(&Tensor) -> Tensor>;

/// Loads the network saved in `dir` by `tandem train`, as a torch module (a Keras run's
/// weights are mapped onto the same layers).
/// What `tandem train` recorded about a run in `metrics.json`.
pub(crate) fn read_run_info(dir: &Path) -> Result<RunInfo, CliError> {
    let path = Metrics::path(dir);
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let saved: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
    serde_json::from_value(saved["run"].clone())
        .map_err(|e| CliError::Other(format!("{}: {e}", path.display())))
}

/// The file in a run directory that holds the best epoch's weights, by idiom.
pub(crate) fn weights_file(dir: &Path, idiom: Idiom) -> PathBuf {
    dir.join(match idiom {
        Idiom::Torch => "model.safetensors",
        Idiom::Keras => "model.weights.safetensors",
    })
}

pub(crate) fn load_trained(dir: &Path) -> Result<(RunInfo, Classifier), CliError> {
    let info = read_run_info(dir)?;
    Ok(match info.idiom {
        Idiom::Torch => {
            let model = models::torch_model(info.model);
            model.load(weights_file(dir, info.idiom), true)?;
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
            model.load_weights(weights_file(dir, info.idiom))?;
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
