//! `fit`, `evaluate` and `predict`: every batch comes from a `tandem_data::DataLoader` (the
//! one batching path of both idioms), shuffled per epoch from `(seed, epoch)` and prepared on
//! a background thread while the previous batch trains.

use super::{check_same_len, Model};
use crate::callbacks::Callback;
use crate::error::KerasError;
use crate::layers::{as_float, Layer, Logits};
use crate::metrics::Metric;
use crate::progress::Progress;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::Arc;
use tandem_core::{autograd, Tensor};
use tandem_data::{DataLoader, Sampler, TensorDataset};

/// `fit`'s arguments, with Keras's defaults.
pub struct FitArgs<'a> {
    /// Number of epochs (the last epoch index + 1, as Keras counts with `initial_epoch`).
    pub epochs: usize,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// 0 silent, 1 progress bar, 2 one line per epoch.
    pub verbose: u8,
    /// Fraction of the data, taken from the end before shuffling, held out for validation.
    pub validation_split: f64,
    /// Explicit validation data (overrides `validation_split`).
    pub validation_data: Option<(&'a Tensor, &'a Tensor)>,
    /// Shuffle the training samples each epoch.
    pub shuffle: bool,
    /// Epoch to start from (when resuming).
    pub initial_epoch: usize,
    /// Called after every epoch.
    pub callbacks: Vec<&'a mut dyn Callback>,
    /// Seed of the shuffling.
    pub seed: u64,
}

impl Default for FitArgs<'_> {
    fn default() -> Self {
        FitArgs {
            epochs: 1,
            batch_size: 32,
            verbose: 1,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            initial_epoch: 0,
            callbacks: Vec::new(),
            seed: 0,
        }
    }
}

/// What `fit` returns: per-epoch loss, metrics and validation values (`history.history`).
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Values by name (`loss`, `accuracy`, `val_loss`, ...), one per epoch.
    pub history: BTreeMap<String, Vec<f64>>,
    /// The epochs run.
    pub epoch: Vec<usize>,
}

impl History {
    /// The per-epoch training loss.
    pub fn loss(&self) -> &[f64] {
        self.history.get("loss").map(Vec::as_slice).unwrap_or(&[])
    }

    /// Values of one log (`history.history['val_accuracy']`).
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.history.get(name).map(Vec::as_slice)
    }
}

/// `loss` and every metric's value so far, as `fit` logs them.
fn running_logs(loss: f64, metrics: &[Metric]) -> Vec<(String, f64)> {
    let mut logs = vec![("loss".to_string(), loss)];
    logs.extend(metrics.iter().map(|m| (m.name.to_string(), m.result())));
    logs
}

/// Batches of at least this many bytes of features are prepared ahead on another thread.
/// Below it the copy takes a few microseconds, less than waking a third thread costs on a
/// machine whose cores the kernels' pool keeps busy (measured: MNIST batches of 32 rows,
/// 100 KB, trained 6% slower per epoch with a prefetch thread on 2 cores).
const PREFETCH_MIN_BYTES: usize = 1 << 20;

/// `fit`'s order of the training samples: in order, or a permutation drawn from
/// `seed + epoch` alone, so that a resumed run sees the same batches as an uninterrupted one.
struct EpochOrder {
    samples: usize,
    shuffle: bool,
    seed: u64,
}

impl Sampler for EpochOrder {
    fn len(&self) -> usize {
        self.samples
    }

    fn indices(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.samples).collect();
        if self.shuffle {
            order.shuffle(&mut StdRng::seed_from_u64(self.seed.wrapping_add(epoch)));
        }
        order
    }
}

/// The batches of `x` in order (what `predict` and `evaluate` walk). The loader pairs features
/// with targets; `x` stands in as its own, unused, target, which costs nothing (a batch of
/// it is a view).
fn in_order(x: &Tensor, batch_size: usize) -> DataLoader {
    let data = TensorDataset::new(x.clone(), x.clone()).expect("x has a first dimension");
    // In-order batches are views of `x`: nothing to prepare ahead.
    DataLoader::with_seed(Arc::new(data), batch_size.max(1), 0).prefetch(0)
}

impl<L: Layer> Model<L> {
    /// `model.fit(x, y, epochs, batch_size, ...)`: trains and returns the [`History`]. Bad
    /// arguments (mismatched lengths, zero batch size, a split out of range, not compiled)
    /// are errors before any training happens.
    pub fn fit(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        mut args: FitArgs<'_>,
    ) -> Result<History, KerasError> {
        if self.compiled.is_none() {
            return Err(KerasError::NotCompiled("fit"));
        }
        let n = check_same_len(x, y)?;
        if args.batch_size == 0 {
            return Err(KerasError::Argument {
                name: "batch_size",
                reason: "must be at least 1".into(),
            });
        }
        if !(0.0..1.0).contains(&args.validation_split) {
            return Err(KerasError::Argument {
                name: "validation_split",
                reason: format!("must be in [0, 1), got {}", args.validation_split),
            });
        }
        if let Some((vx, vy)) = args.validation_data {
            check_same_len(vx, vy)?;
        }
        let x = as_float(x);
        let n_val = if args.validation_data.is_none() {
            (n as f64 * args.validation_split) as usize
        } else {
            0
        };
        let n_train = n - n_val;
        if n_train == 0 {
            return Err(KerasError::Argument {
                name: "validation_split",
                reason: "leaves no training samples".into(),
            });
        }
        let (xt, yt) = (x.narrow(0, 0, n_train), y.narrow(0, 0, n_train));
        let split_val =
            (n_val > 0).then(|| (x.narrow(0, n_train, n_val), y.narrow(0, n_train, n_val)));
        // Batches are prepared on a background thread when copying one is worth a hand-off
        // between threads (as tf.data's autotuned prefetch decides); small ones inline.
        let batch_bytes =
            args.batch_size * xt.numel() / n_train.max(1) * xt.dtype().size_in_bytes();
        let prefetch = if batch_bytes >= PREFETCH_MIN_BYTES {
            2
        } else {
            0
        };
        let order = EpochOrder {
            samples: n_train,
            shuffle: args.shuffle,
            seed: args.seed,
        };
        let loader = DataLoader::with_seed(
            Arc::new(TensorDataset::new(xt, yt)?),
            args.batch_size,
            args.seed,
        )
        .sampler(Arc::new(order))
        .prefetch(prefetch);
        let mut history = History::default();
        let steps = loader.len();
        self.prepare(&x.shape()[1..]);
        let mut callbacks = std::mem::take(&mut args.callbacks);
        let (initial_epoch, _) =
            self.run_callbacks(&mut callbacks, args.initial_epoch, |cb, st| {
                cb.on_train_begin(st).map(|_| false)
            })?;
        for epoch in initial_epoch..args.epochs {
            self.run_callbacks(&mut callbacks, initial_epoch, |cb, st| {
                cb.on_epoch_begin(epoch, st).map(|_| false)
            })?;
            if args.verbose > 0 {
                println!("Epoch {}/{}", epoch + 1, args.epochs);
            }
            for m in &mut self.compiled.as_mut().expect("compiled").metrics {
                m.reset();
            }
            let progress = Progress::new(steps, args.verbose);
            let (mut loss_sum, mut seen) = (0.0, 0usize);
            for (s, (xb, yb)) in loader.iter_epoch(epoch as u64).enumerate() {
                let (loss, out) = self.train_batch(&xb, &yb);
                let rows = xb.shape()[0];
                loss_sum += loss * rows as f64;
                seen += rows;
                let c = self.compiled.as_mut().expect("compiled");
                autograd::no_grad(|| c.metrics.iter_mut().for_each(|m| m.update(&yb, &out)));
                if args.verbose == 1 && s + 1 < steps {
                    progress.update(s + 1, &running_logs(loss_sum / seen as f64, &c.metrics));
                }
            }
            let c = self.compiled.as_ref().expect("compiled");
            let mut logs = running_logs(loss_sum / seen as f64, &c.metrics);
            let val = args
                .validation_data
                .map(|(a, b)| (a.clone(), b.clone()))
                .or_else(|| split_val.clone());
            if let Some((vx, vy)) = val {
                let vals = self.evaluate_logs(&vx, &vy, args.batch_size);
                logs.extend(vals.into_iter().map(|(k, v)| (format!("val_{k}"), v)));
            }
            progress.finish(&logs);
            for (k, v) in &logs {
                history.history.entry(k.clone()).or_default().push(*v);
            }
            history.epoch.push(epoch);
            let (_, stop) = self.run_callbacks(&mut callbacks, initial_epoch, |cb, st| {
                cb.on_epoch_end(epoch, &logs, st)
            })?;
            if stop {
                break;
            }
        }
        self.run_callbacks(&mut callbacks, initial_epoch, |cb, st| {
            cb.on_train_end(st).map(|_| false)
        })?;
        Ok(history)
    }

    fn evaluate_logs(&mut self, x: &Tensor, y: &Tensor, batch_size: usize) -> Vec<(String, f64)> {
        let (pred, logits) = self.predict_with_logits(x, batch_size);
        let c = self.compiled.as_mut().expect("compiled");
        autograd::no_grad(|| {
            let loss = c
                .loss
                .compute_with_logits(y, &pred, logits.as_ref())
                .item::<f32>() as f64;
            let mut logs = vec![("loss".to_string(), loss)];
            for m in &mut c.metrics {
                let mut m = m.clone();
                m.reset();
                m.update(y, &pred);
                logs.push((m.name.to_string(), m.result()));
            }
            logs
        })
    }

    /// `model.evaluate(x, y)`: the loss and each metric, by name.
    pub fn evaluate(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        batch_size: usize,
    ) -> Result<Vec<(String, f64)>, KerasError> {
        if self.compiled.is_none() {
            return Err(KerasError::NotCompiled("evaluate"));
        }
        check_same_len(x, y)?;
        Ok(self.evaluate_logs(x, y, batch_size.max(1)))
    }

    fn predict_batched(&mut self, x: &Tensor, batch_size: usize) -> Tensor {
        let parts = self.in_batches(x, batch_size, |net, xb| net.call(xb, false));
        cat_rows(parts.iter())
    }

    /// Outputs in inference mode, and the final softmax/sigmoid's logits when there is one.
    fn predict_with_logits(&mut self, x: &Tensor, batch_size: usize) -> (Tensor, Option<Logits>) {
        let parts = self.in_batches(x, batch_size, |net, xb| net.call_with_logits(xb, false));
        let out = cat_rows(parts.iter().map(|(o, _)| o));
        let logits: Option<Vec<&Logits>> = parts.iter().map(|(_, l)| l.as_ref()).collect();
        let logits = logits.filter(|l| !l.is_empty()).map(|l| Logits {
            activation: l[0].activation,
            values: cat_rows(l.iter().map(|l| &l.values)),
        });
        (out, logits)
    }

    /// `f` on consecutive batches of `x` (as float) without recording gradients; the model is
    /// built from `x` first if needed.
    fn in_batches<R>(
        &mut self,
        x: &Tensor,
        batch_size: usize,
        f: impl Fn(&L, &Tensor) -> R,
    ) -> Vec<R> {
        let x = as_float(x);
        let n = x.shape()[0];
        if !self.net.built() && n > 0 {
            self.net.build(&x.shape()[1..]);
        }
        let net = &self.net;
        let loader = in_order(&x, batch_size);
        autograd::no_grad(|| loader.iter().map(|(xb, _)| f(net, &xb)).collect())
    }

    /// `model.predict(x)`: outputs in inference mode, computed in batches of 32.
    pub fn predict(&mut self, x: &Tensor) -> Tensor {
        self.predict_batched(x, 32)
    }
}

/// Batches' results joined along the first axis.
fn cat_rows<'a>(parts: impl Iterator<Item = &'a Tensor>) -> Tensor {
    let refs: Vec<&Tensor> = parts.collect();
    Tensor::cat(&refs, 0)
}
