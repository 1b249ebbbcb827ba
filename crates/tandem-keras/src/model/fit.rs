//! `fit`, `evaluate` and `predict`: every batch comes from a `tandem_data::DataLoader` (the
//! one batching path of both idioms), shuffled per epoch from `(seed, epoch)` and prepared on
//! a background thread while the previous batch trains.

use super::{Head, Model};
use crate::callbacks::Callback;
use crate::distribute::{shard, Replicas};
use crate::error::KerasError;
use crate::layers::{as_float, Layer, Logits};
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

/// The inputs or targets of `fit`, `evaluate` and `predict`: one array (`&x`) or one per
/// input/output of a functional model (`[&left, &right]`, a `Vec`).
#[derive(Clone, Debug)]
pub struct Arrays(pub Vec<Tensor>);

impl From<&Tensor> for Arrays {
    fn from(t: &Tensor) -> Arrays {
        Arrays(vec![t.clone()])
    }
}

impl From<&[&Tensor]> for Arrays {
    fn from(ts: &[&Tensor]) -> Arrays {
        Arrays(ts.iter().map(|&t| t.clone()).collect())
    }
}

impl<const N: usize> From<[&Tensor; N]> for Arrays {
    fn from(ts: [&Tensor; N]) -> Arrays {
        Arrays(ts.iter().map(|&t| t.clone()).collect())
    }
}

impl<const N: usize> From<&[&Tensor; N]> for Arrays {
    fn from(ts: &[&Tensor; N]) -> Arrays {
        Arrays(ts.iter().map(|&t| t.clone()).collect())
    }
}

impl From<Vec<Tensor>> for Arrays {
    fn from(ts: Vec<Tensor>) -> Arrays {
        Arrays(ts)
    }
}

impl From<&Vec<Tensor>> for Arrays {
    fn from(ts: &Vec<Tensor>) -> Arrays {
        Arrays(ts.clone())
    }
}

impl Arrays {
    /// The common number of samples; an error when the arrays disagree.
    fn samples(&self, other: &Arrays) -> Result<usize, KerasError> {
        let first = |a: &Arrays| {
            a.0.first()
                .map_or(0, |t| t.shape().first().copied().unwrap_or(0))
        };
        let (nx, ny) = (first(self), first(other));
        for t in self.0.iter().chain(&other.0) {
            let n = t.shape().first().copied().unwrap_or(0);
            if n != nx {
                return Err(KerasError::Cardinality { x: nx, y: n });
            }
        }
        if nx != ny {
            return Err(KerasError::Cardinality { x: nx, y: ny });
        }
        Ok(nx)
    }

    fn narrow(&self, start: usize, len: usize) -> Vec<Tensor> {
        self.0.iter().map(|t| t.narrow(0, start, len)).collect()
    }
}

/// Sums an epoch's loss, sample count, per-output losses and metric totals over the workers,
/// and averages the non-trainable weights, so every worker logs and keeps the same values.
fn reduce_epoch<L: Layer>(
    r: &dyn Replicas,
    loss_sum: &mut f64,
    seen: &mut usize,
    part_sums: &mut [f64],
    model: &mut Model<L>,
) {
    let heads = &mut model.compiled.as_mut().expect("compiled").heads;
    let mut values = vec![*loss_sum, *seen as f64];
    values.extend_from_slice(part_sums);
    for m in heads.iter_mut().flat_map(|h| h.metrics.iter_mut()) {
        values.extend(m.totals_mut().map(|v| *v));
    }
    r.all_reduce_sum(&mut values);
    *loss_sum = values[0];
    *seen = values[1] as usize;
    part_sums.copy_from_slice(&values[2..2 + part_sums.len()]);
    let mut rest = values[2 + part_sums.len()..].iter();
    for m in heads.iter_mut().flat_map(|h| h.metrics.iter_mut()) {
        for v in m.totals_mut() {
            *v = *rest.next().expect("one total per metric value");
        }
    }
    let trainable = model.net.trainable_weights();
    let frozen: Vec<Tensor> = model
        .weights()
        .into_iter()
        .filter(|w| !trainable.iter().any(|t| t.same(w)))
        .collect();
    if !frozen.is_empty() {
        r.average(&frozen);
    }
}

/// `loss`, each output's loss and every metric's value so far, as `fit` logs them.
fn running_logs(loss: f64, parts: &[f64], heads: &[Head]) -> Vec<(String, f64)> {
    let mut logs = vec![("loss".to_string(), loss)];
    if heads.len() > 1 {
        logs.extend(heads.iter().zip(parts).map(|(h, &l)| (h.key("loss"), l)));
    }
    for h in heads {
        logs.extend(h.metrics.iter().map(|m| (h.key(m.name), m.result())));
    }
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

/// Where `fit` takes its batches from: a loader over the one input and target (batches are
/// views or gathers made ahead), or one over sample indices that gathers every array.
enum Source {
    Pair(DataLoader),
    Indexed(DataLoader, Vec<Tensor>, Vec<Tensor>),
}

impl Source {
    fn new(
        xs: Vec<Tensor>,
        ys: Vec<Tensor>,
        args: &FitArgs<'_>,
        samples: usize,
    ) -> Result<Source, KerasError> {
        let order = Arc::new(EpochOrder {
            samples,
            shuffle: args.shuffle,
            seed: args.seed,
        });
        if xs.len() == 1 && ys.len() == 1 {
            // Batches are prepared on a background thread when copying one is worth a hand-off
            // between threads (as tf.data's autotuned prefetch decides); small ones inline.
            let x = &xs[0];
            let batch_bytes =
                args.batch_size * x.numel() / samples.max(1) * x.dtype().size_in_bytes();
            let prefetch = if batch_bytes >= PREFETCH_MIN_BYTES {
                2
            } else {
                0
            };
            let data = TensorDataset::new(x.clone(), ys[0].clone())?;
            let loader = DataLoader::with_seed(Arc::new(data), args.batch_size, args.seed)
                .sampler(order)
                .prefetch(prefetch);
            return Ok(Source::Pair(loader));
        }
        let idx = Tensor::from_vec((0..samples as i64).collect::<Vec<i64>>(), &[samples]);
        let data = TensorDataset::new(idx.clone(), idx)?;
        let loader = DataLoader::with_seed(Arc::new(data), args.batch_size, args.seed)
            .sampler(order)
            .prefetch(0);
        Ok(Source::Indexed(loader, xs, ys))
    }

    fn len(&self) -> usize {
        match self {
            Source::Pair(l) | Source::Indexed(l, ..) => l.len(),
        }
    }

    fn epoch(&self, epoch: u64) -> Box<dyn Iterator<Item = (Vec<Tensor>, Vec<Tensor>)> + '_> {
        match self {
            Source::Pair(l) => Box::new(l.iter_epoch(epoch).map(|(x, y)| (vec![x], vec![y]))),
            Source::Indexed(l, xs, ys) => Box::new(l.iter_epoch(epoch).map(move |(i, _)| {
                let pick = |ts: &[Tensor]| ts.iter().map(|t| t.index_select(0, &i)).collect();
                (pick(xs), pick(ys))
            })),
        }
    }
}

impl<L: Layer> Model<L> {
    /// `model.fit(x, y, epochs, batch_size, ...)`: trains and returns the [`History`]. `x` and
    /// `y` are one array each, or one per input and output of a functional model. Bad
    /// arguments (mismatched lengths, zero batch size, a split out of range, not compiled)
    /// are errors before any training happens.
    pub fn fit(
        &mut self,
        x: impl Into<Arrays>,
        y: impl Into<Arrays>,
        mut args: FitArgs<'_>,
    ) -> Result<History, KerasError> {
        if self.compiled.is_none() {
            return Err(KerasError::NotCompiled("fit"));
        }
        let (x, y) = (x.into(), y.into());
        self.check_arity(&x, &y)?;
        let n = x.samples(&y)?;
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
            Arrays::from(vx).samples(&Arrays::from(vy))?;
        }
        let x = Arrays(x.0.iter().map(as_float).collect());
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
        let split_val = (n_val > 0).then(|| {
            (
                Arrays(x.narrow(n_train, n_val)),
                Arrays(y.narrow(n_train, n_val)),
            )
        });
        let source = Source::new(x.narrow(0, n_train), y.narrow(0, n_train), &args, n_train)?;
        let mut history = History::default();
        let steps = source.len();
        self.prepare(&x.0[0].shape()[1..]);
        let replicas = self.compiled.as_ref().expect("compiled").replicas.clone();
        let mut callbacks = std::mem::take(&mut args.callbacks);
        let (mut initial_epoch, _) =
            self.run_callbacks(&mut callbacks, args.initial_epoch, |cb, st| {
                cb.on_train_begin(st).map(|_| false)
            })?;
        if let Some(r) = &replicas {
            // After the callbacks (a restored backup) and before any step: every worker starts
            // from worker 0's weights and epoch, so they take the same steps.
            r.replicate(&self.net.trainable_weights(), &self.weights())?;
            let mut first = [if r.rank() == 0 {
                initial_epoch as f64
            } else {
                0.0
            }];
            r.all_reduce_sum(&mut first);
            initial_epoch = first[0] as usize;
            if r.rank() != 0 {
                args.verbose = 0;
            }
        }
        for epoch in initial_epoch..args.epochs {
            self.run_callbacks(&mut callbacks, initial_epoch, |cb, st| {
                cb.on_epoch_begin(epoch, st).map(|_| false)
            })?;
            if args.verbose > 0 {
                println!("Epoch {}/{}", epoch + 1, args.epochs);
            }
            let heads = &mut self.compiled.as_mut().expect("compiled").heads;
            for m in heads.iter_mut().flat_map(|h| h.metrics.iter_mut()) {
                m.reset();
            }
            let progress = Progress::new(steps, args.verbose);
            let mut part_sums = vec![0.0; heads.len()];
            let (mut loss_sum, mut seen) = (0.0, 0usize);
            for (s, (xb, yb)) in source.epoch(epoch as u64).enumerate() {
                // Under a strategy each worker trains on its shard of the global batch.
                let (xb, yb) = match &replicas {
                    Some(r) => {
                        let global = xb[0].shape()[0];
                        let part = shard(global, r.rank(), r.world_size());
                        r.begin_step(part.len() as f64 / global as f64);
                        let cut = |ts: &[Tensor]| -> Vec<Tensor> {
                            ts.iter()
                                .map(|t| t.narrow(0, part.start, part.len()))
                                .collect()
                        };
                        (cut(&xb), cut(&yb))
                    }
                    None => (xb, yb),
                };
                let (loss, parts, outs) = self.train_batch(&xb, &yb, replicas.as_deref());
                let rows = xb[0].shape()[0];
                loss_sum += loss * rows as f64;
                for (sum, p) in part_sums.iter_mut().zip(&parts) {
                    *sum += p * rows as f64;
                }
                seen += rows;
                let c = self.compiled.as_mut().expect("compiled");
                autograd::no_grad(|| {
                    for ((h, y), out) in c.heads.iter_mut().zip(&yb).zip(&outs) {
                        h.metrics.iter_mut().for_each(|m| m.update(y, out));
                    }
                });
                if args.verbose == 1 && s + 1 < steps {
                    let parts: Vec<f64> = part_sums.iter().map(|p| p / seen as f64).collect();
                    progress.update(
                        s + 1,
                        &running_logs(loss_sum / seen as f64, &parts, &c.heads),
                    );
                }
            }
            if let Some(r) = &replicas {
                reduce_epoch(r.as_ref(), &mut loss_sum, &mut seen, &mut part_sums, self);
            }
            let c = self.compiled.as_ref().expect("compiled");
            let parts: Vec<f64> = part_sums.iter().map(|p| p / seen as f64).collect();
            let mut logs = running_logs(loss_sum / seen as f64, &parts, &c.heads);
            let val = args
                .validation_data
                .map(|(a, b)| (Arrays::from(a), Arrays::from(b)))
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

    /// An error unless there is one array per model input and one per output.
    fn check_arity(&self, x: &Arrays, y: &Arrays) -> Result<(), KerasError> {
        let inputs = self.net.input_count();
        let outputs = self.net.output_names().len().max(1);
        let bad = |what: &'static str, want: usize, got: usize| KerasError::Argument {
            name: what,
            reason: format!("the model has {want}, got {got} arrays"),
        };
        if x.0.len() != inputs {
            return Err(bad("x (one array per model input)", inputs, x.0.len()));
        }
        if y.0.len() != outputs {
            return Err(bad("y (one array per model output)", outputs, y.0.len()));
        }
        Ok(())
    }

    fn evaluate_logs(&mut self, x: &Arrays, y: &Arrays, batch_size: usize) -> Vec<(String, f64)> {
        let preds = self.predict_with_logits(x, batch_size);
        let c = self.compiled.as_mut().expect("compiled");
        autograd::no_grad(|| {
            let mut total = 0.0;
            let mut parts = Vec::new();
            for ((h, (pred, logits)), yt) in c.heads.iter().zip(&preds).zip(&y.0) {
                let l = h
                    .loss
                    .compute_with_logits(yt, pred, logits.as_ref())
                    .item::<f32>() as f64;
                total += h.weight * l;
                parts.push(l);
            }
            let mut logs = vec![("loss".to_string(), total)];
            if c.heads.len() > 1 {
                logs.extend(c.heads.iter().zip(&parts).map(|(h, &l)| (h.key("loss"), l)));
            }
            for ((h, (pred, _)), yt) in c.heads.iter().zip(&preds).zip(&y.0) {
                for m in &h.metrics {
                    let mut m = m.clone();
                    m.reset();
                    m.update(yt, pred);
                    logs.push((h.key(m.name), m.result()));
                }
            }
            logs
        })
    }

    /// `model.evaluate(x, y)`: the loss (the weighted sum over outputs), each output's loss
    /// when there are several, and each metric, by name.
    pub fn evaluate(
        &mut self,
        x: impl Into<Arrays>,
        y: impl Into<Arrays>,
        batch_size: usize,
    ) -> Result<Vec<(String, f64)>, KerasError> {
        if self.compiled.is_none() {
            return Err(KerasError::NotCompiled("evaluate"));
        }
        let (x, y) = (x.into(), y.into());
        self.check_arity(&x, &y)?;
        x.samples(&y)?;
        Ok(self.evaluate_logs(&x, &y, batch_size.max(1)))
    }

    /// Every output in inference mode, with the final softmax/sigmoid's logits when there is one.
    fn predict_with_logits(
        &mut self,
        x: &Arrays,
        batch_size: usize,
    ) -> Vec<(Tensor, Option<Logits>)> {
        let parts = self.in_batches(x, batch_size, |net, xb| net.call_all(xb, false));
        let outputs = parts.first().map_or(0, Vec::len);
        (0..outputs)
            .map(|o| {
                let out = cat_rows(parts.iter().map(|p| &p[o].0));
                let logits: Option<Vec<&Logits>> = parts.iter().map(|p| p[o].1.as_ref()).collect();
                let logits = logits.filter(|l| !l.is_empty()).map(|l| Logits {
                    activation: l[0].activation,
                    values: cat_rows(l.iter().map(|l| &l.values)),
                });
                (out, logits)
            })
            .collect()
    }

    /// `f` on consecutive batches of the arrays (as float) without recording gradients; the
    /// model is built from the first array first if needed.
    fn in_batches<R>(
        &mut self,
        x: &Arrays,
        batch_size: usize,
        f: impl Fn(&L, &[Tensor]) -> R,
    ) -> Vec<R> {
        let xs: Vec<Tensor> = x.0.iter().map(as_float).collect();
        let n = xs[0].shape()[0];
        if !self.net.built() && n > 0 {
            self.net.build(&xs[0].shape()[1..]);
        }
        let net = &self.net;
        if xs.len() == 1 {
            let loader = in_order(&xs[0], batch_size);
            return autograd::no_grad(|| loader.iter().map(|(xb, _)| f(net, &[xb])).collect());
        }
        let batch = batch_size.max(1);
        autograd::no_grad(|| {
            (0..n)
                .step_by(batch)
                .map(|s| {
                    let xb: Vec<Tensor> = xs
                        .iter()
                        .map(|t| t.narrow(0, s, batch.min(n - s)))
                        .collect();
                    f(net, &xb)
                })
                .collect()
        })
    }

    /// `model.predict(x)`: the (first) output in inference mode, computed in batches of 32.
    pub fn predict(&mut self, x: impl Into<Arrays>) -> Tensor {
        self.predict_all(x).swap_remove(0)
    }

    /// `model.predict([a, b])` for a model with several outputs: one array per output.
    pub fn predict_all(&mut self, x: impl Into<Arrays>) -> Vec<Tensor> {
        let x = x.into();
        let parts = self.in_batches(&x, 32, |net, xb| net.call_all(xb, false));
        let outputs = parts.first().map_or(0, Vec::len);
        (0..outputs)
            .map(|o| cat_rows(parts.iter().map(|p| &p[o].0)))
            .collect()
    }
}

/// Batches' results joined along the first axis.
fn cat_rows<'a>(parts: impl Iterator<Item = &'a Tensor>) -> Tensor {
    let refs: Vec<&Tensor> = parts.collect();
    Tensor::cat(&refs, 0)
}
