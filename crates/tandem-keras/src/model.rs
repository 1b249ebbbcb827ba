//! `Sequential` and subclassed models: compile, fit, evaluate, predict, summary, weights.

use crate::callbacks::{Callback, TrainingState};
use crate::error::KerasError;
use crate::layers::{as_float, Layer, Logits};
use crate::losses::{IntoLoss, Loss};
use crate::metrics::Metric;
use crate::optimizers::{IntoOptimizer, OptimizerSpec};
use crate::progress::Progress;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;
use tandem_core::{autograd, Tensor};

/// A stack of layers applied in order (what `Sequential` holds).
#[derive(Default)]
pub struct Stack {
    layers: Vec<Box<dyn Layer>>,
}

impl Layer for Stack {
    fn name(&self) -> String {
        "sequential".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        let mut shape = input_shape.to_vec();
        for l in &mut self.layers {
            if !l.built() {
                l.build(&shape);
            }
            shape = l.output_shape(&shape);
        }
    }
    fn built(&self) -> bool {
        self.layers.iter().all(|l| l.built())
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        self.layers.first().and_then(|l| l.declared_input_shape())
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.call_with_logits(x, training).0
    }
    fn call_with_logits(&self, x: &Tensor, training: bool) -> (Tensor, Option<Logits>) {
        match self.layers.split_last() {
            Some((last, rest)) => {
                let h = rest.iter().fold(x.clone(), |h, l| l.call(&h, training));
                last.call_with_logits(&h, training)
            }
            None => (x.clone(), None),
        }
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        self.layers
            .iter()
            .fold(input_shape.to_vec(), |s, l| l.output_shape(&s))
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flat_map(|l| l.trainable_weights())
            .collect()
    }
    fn non_trainable_weights(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flat_map(|l| l.non_trainable_weights())
            .collect()
    }
    fn regularization_loss(&self) -> Option<Tensor> {
        self.layers
            .iter()
            .filter_map(|l| l.regularization_loss())
            .reduce(|a, b| &a + &b)
    }
    fn sublayers(&self) -> Vec<&dyn Layer> {
        self.layers
            .iter()
            .filter(|l| !l.is_input())
            .map(|b| b.as_ref())
            .collect()
    }
}

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

struct Compiled {
    optimizer: OptimizerSpec,
    state: Option<Box<dyn tandem_nn::optim::Optimizer + Send>>,
    loss: Loss,
    metrics: Vec<Metric>,
}

/// A trainable Keras model around any [`Layer`]: a [`Sequential`] stack, or a subclassed model
/// (a struct implementing `Layer` whose `call` uses its own layers).
pub struct Model<L: Layer> {
    net: L,
    compiled: Option<Compiled>,
    name: String,
}

/// `tf.keras.Sequential([...])`.
pub type Sequential = Model<Stack>;

impl Model<Stack> {
    /// `Sequential([layers...])`.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Sequential {
        let mut m = Model {
            net: Stack { layers },
            compiled: None,
            name: "sequential".into(),
        };
        if let Some(shape) = m.net.declared_input_shape() {
            m.net.build(&shape);
        }
        m
    }

    /// `model.add(layer)`.
    pub fn add(&mut self, layer: impl Layer + 'static) {
        self.net.layers.push(Box::new(layer));
        if let Some(shape) = self.net.declared_input_shape() {
            self.net.build(&shape);
        }
    }
}

/// Weights named as `save_weights` writes them (`weight_0`, `weight_1`, ... in layer order).
pub(crate) fn named_weights(weights: &[Tensor]) -> Vec<(String, Tensor)> {
    weights
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("weight_{i}"), t.clone()))
        .collect()
}

/// `loss` and every metric's value so far, as `fit` logs them.
fn running_logs(loss: f64, metrics: &[Metric]) -> Vec<(String, f64)> {
    let mut logs = vec![("loss".to_string(), loss)];
    logs.extend(metrics.iter().map(|m| (m.name.to_string(), m.result())));
    logs
}

fn check_same_len(x: &Tensor, y: &Tensor) -> Result<usize, KerasError> {
    let (nx, ny) = (
        x.shape().first().copied().unwrap_or(0),
        y.shape().first().copied().unwrap_or(0),
    );
    if nx != ny {
        return Err(KerasError::Cardinality { x: nx, y: ny });
    }
    Ok(nx)
}

impl<L: Layer> Model<L> {
    /// Wraps a subclassed model (`model = Net()`).
    pub fn from_layer(net: L) -> Model<L> {
        Model {
            net,
            compiled: None,
            name: "model".into(),
        }
    }

    /// The wrapped network.
    pub fn net(&self) -> &L {
        &self.net
    }

    /// `model(x, training=...)`: builds on the first call.
    pub fn call(&mut self, x: &Tensor, training: bool) -> Tensor {
        self.net.apply(&as_float(x), training)
    }

    /// `model.trainable_variables`.
    pub fn trainable_variables(&self) -> Vec<Tensor> {
        self.net.trainable_weights()
    }

    /// `model.weights`: the trainable weights, then the non-trainable ones (moving statistics).
    pub fn weights(&self) -> Vec<Tensor> {
        let mut w = self.net.trainable_weights();
        w.extend(self.net.non_trainable_weights());
        w
    }

    /// `model.compile(optimizer, loss, metrics)`, with names (`"adam"`,
    /// `"sparse_categorical_crossentropy"`, `["accuracy"]`) or objects.
    pub fn compile(
        &mut self,
        optimizer: impl IntoOptimizer,
        loss: impl IntoLoss,
        metrics: &[&str],
    ) -> Result<(), KerasError> {
        let optimizer = optimizer.into_optimizer()?;
        let loss = loss.into_loss()?;
        let metrics = metrics
            .iter()
            .map(|m| Metric::from_name(m, loss))
            .collect::<Result<Vec<_>, _>>()?;
        self.compiled = Some(Compiled {
            optimizer,
            state: None,
            loss,
            metrics,
        });
        Ok(())
    }

    /// Builds the layers (from the input shape) and the optimizer's state if not done yet.
    fn prepare(&mut self, input_shape: &[usize]) {
        if !self.net.built() {
            self.net.build(input_shape);
        }
        let c = self.compiled.as_mut().expect("compiled");
        if c.state.is_none() {
            c.state = Some(c.optimizer.build(self.net.trainable_weights()));
        }
    }

    /// Runs `hook` on every callback with the model's training state; returns the initial
    /// epoch as the callbacks left it and whether any asked to stop.
    fn run_callbacks(
        &mut self,
        callbacks: &mut [&mut dyn Callback],
        initial_epoch: usize,
        mut hook: impl FnMut(&mut dyn Callback, &mut TrainingState<'_>) -> Result<bool, KerasError>,
    ) -> Result<(usize, bool), KerasError> {
        let weights = self.weights();
        let c = self.compiled.as_mut().expect("compiled");
        let optimizer = c.state.as_mut().expect("prepared").as_mut();
        let mut state = TrainingState {
            weights,
            optimizer,
            initial_epoch,
        };
        let mut stop = false;
        for cb in callbacks.iter_mut() {
            stop |= hook(&mut **cb, &mut state)?;
        }
        Ok((state.initial_epoch, stop))
    }

    fn train_batch(&mut self, x: &Tensor, y: &Tensor) -> (f64, Tensor) {
        if !self.net.built() {
            self.net.build(&x.shape()[1..]);
        }
        let (out, logits) = self.net.call_with_logits(x, true);
        let c = self.compiled.as_mut().expect("compiled");
        let opt = c.state.as_mut().expect("prepared");
        opt.zero_grad();
        let mut loss = c.loss.compute_with_logits(y, &out, logits.as_ref());
        if let Some(penalty) = self.net.regularization_loss() {
            // Keras adds `model.losses` to the loss it reports and differentiates.
            loss = &loss + &penalty;
        }
        loss.backward();
        opt.step();
        (loss.item::<f32>() as f64, out.detach())
    }

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
        let mut history = History::default();
        let steps = n_train.div_ceil(args.batch_size);
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
            // The order depends only on the seed and the epoch, so a resumed run sees the same
            // batches as an uninterrupted one.
            let mut order: Vec<i64> = (0..n_train as i64).collect();
            if args.verbose > 0 {
                println!("Epoch {}/{}", epoch + 1, args.epochs);
            }
            if args.shuffle {
                let mut rng =
                    rand::rngs::StdRng::seed_from_u64(args.seed.wrapping_add(epoch as u64));
                order.shuffle(&mut rng);
            }
            for m in &mut self.compiled.as_mut().expect("compiled").metrics {
                m.reset();
            }
            let progress = Progress::new(steps, args.verbose);
            let (mut loss_sum, mut seen) = (0.0, 0usize);
            for (s, chunk) in order.chunks(args.batch_size).enumerate() {
                let idx = Tensor::from_vec(chunk.to_vec(), &[chunk.len()]);
                let (xb, yb) = (xt.index_select(0, &idx), yt.index_select(0, &idx));
                let (loss, out) = self.train_batch(&xb, &yb);
                loss_sum += loss * chunk.len() as f64;
                seen += chunk.len();
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
        autograd::no_grad(|| {
            (0..n)
                .step_by(batch_size.max(1))
                .map(|s| f(net, &x.narrow(0, s, batch_size.min(n - s))))
                .collect()
        })
    }

    /// `model.predict(x)`: outputs in inference mode, computed in batches of 32.
    pub fn predict(&mut self, x: &Tensor) -> Tensor {
        self.predict_batched(x, 32)
    }

    /// `model.summary()` as Keras 3 prints it (its default 88-column table).
    pub fn summary(&self) -> String {
        const W: [usize; 3] = [38, 29, 17];
        let rule = |l: &str, fill: &str, mid: &str, r: &str| {
            let cells: Vec<String> = W.iter().map(|&w| fill.repeat(w)).collect();
            format!("{l}{}{r}\n", cells.join(mid))
        };
        let row = |edge: &str, a: &str, b: &str, c: &str| {
            format!(
                "{edge} {a:<w0$} {edge} {b:<w1$} {edge} {c:>w2$} {edge}\n",
                w0 = W[0] - 2,
                w1 = W[1] - 2,
                w2 = W[2] - 2
            )
        };
        let mut s = format!("Model: \"{}\"\n", self.name);
        s += &rule("┏", "━", "┳", "┓");
        s += &row("┃", "Layer (type)", "Output Shape", "Param #");
        s += &rule("┡", "━", "╇", "┩");
        let input = self.net.declared_input_shape();
        let subs = self.net.sublayers();
        let layers: Vec<&dyn Layer> = if subs.is_empty() {
            vec![&self.net as &dyn Layer]
        } else {
            subs
        };
        let mut shape = input.clone();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let (mut total, mut non_trainable) = (0, 0);
        for (i, l) in layers.iter().enumerate() {
            let base = l.name();
            let k = counts.entry(base.clone()).or_insert(0);
            let name = if *k == 0 {
                base.clone()
            } else {
                format!("{base}_{k}")
            };
            *k += 1;
            let class: String = base
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect::<String>())
                        .unwrap_or_default()
                })
                .collect::<String>()
                // Conv2d -> Conv2D, MaxPooling2d -> MaxPooling2D, as Keras's class names.
                .replace("1d", "1D")
                .replace("2d", "2D")
                .replace("3d", "3D")
                .replace("Rnn", "RNN")
                .replace("Lstm", "LSTM")
                .replace("Gru", "GRU");
            let out = shape.as_ref().map(|sh| l.output_shape(sh));
            let shown = match &out {
                Some(o) => format!(
                    "(None, {})",
                    o.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "?".into(),
            };
            let trainable: usize = l.trainable_weights().iter().map(Tensor::numel).sum();
            let frozen: usize = l.non_trainable_weights().iter().map(Tensor::numel).sum();
            total += trainable;
            non_trainable += frozen;
            let params = with_commas(trainable + frozen);
            s += &row("│", &format!("{name} ({class})"), &shown, &params);
            s += &if i + 1 < layers.len() {
                rule("├", "─", "┼", "┤")
            } else {
                rule("└", "─", "┴", "┘")
            };
            shape = out;
        }
        let bytes = |n: usize| readable_size(n * 4);
        let all = total + non_trainable;
        s += &format!(" Total params: {} ({})\n", with_commas(all), bytes(all));
        s += &format!(
            " Trainable params: {} ({})\n",
            with_commas(total),
            bytes(total)
        );
        s += &format!(
            " Non-trainable params: {} ({})\n",
            with_commas(non_trainable),
            bytes(non_trainable)
        );
        s
    }

    /// Saves the weights (safetensors, atomic write).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let named = named_weights(&self.weights());
        Ok(tandem_nn::save_safetensors(&named, path.as_ref())?)
    }

    /// Loads weights written by `save_weights` into this (built) model.
    pub fn load_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let mut loaded = tandem_nn::load_safetensors(path.as_ref())?;
        let vars = self.weights();
        let mut missing = Vec::new();
        let mut mismatched = Vec::new();
        for (i, v) in vars.iter().enumerate() {
            match loaded.remove(&format!("weight_{i}")) {
                Some(t) if t.shape() == v.shape() => autograd::no_grad(|| {
                    v.detach().copy_(&t);
                }),
                Some(t) => mismatched.push((
                    format!("weight_{i}"),
                    t.shape().to_vec(),
                    v.shape().to_vec(),
                )),
                None => missing.push(format!("weight_{i}")),
            }
        }
        let unexpected: Vec<String> = loaded.into_keys().collect();
        if missing.is_empty() && mismatched.is_empty() && unexpected.is_empty() {
            Ok(())
        } else {
            Err(tandem_nn::CheckpointError::Mismatch {
                missing,
                unexpected,
                mismatched,
            }
            .into())
        }
    }
}

/// `682090` as `682,090`.
fn with_commas(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Keras's `readable_memory_size`: bytes in B/KB/MB/GB (powers of 1024), two decimals.
fn readable_size(bytes: usize) -> String {
    let mut v = bytes as f64;
    for unit in ["B", "KB", "MB", "GB"] {
        if v < 1024.0 || unit == "GB" {
            return format!("{v:.2} {unit}");
        }
        v /= 1024.0;
    }
    unreachable!("GB returns")
}

/// Batches' results joined along the first axis.
fn cat_rows<'a>(parts: impl Iterator<Item = &'a Tensor>) -> Tensor {
    let refs: Vec<&Tensor> = parts.collect();
    Tensor::cat(&refs, 0)
}
