//! `Sequential` and subclassed models. This file holds the model and `compile`; the other
//! verbs have a file each: `fit`, `evaluate` and `predict` in [`fit`], `summary()` in
//! [`summary`], `save_weights` / `load_weights` in [`weights`].

mod export;
mod fit;
pub(crate) mod h5;
mod summary;
mod weights;

pub use fit::{Arrays, FitArgs, History};
pub(crate) use weights::named_weights;

use crate::callbacks::{Callback, TrainingState};
use crate::error::KerasError;
use crate::functional::{Graph, KerasTensor};
use crate::layers::{as_float, Layer, Logits};
use crate::losses::{IntoLoss, Loss};
use crate::metrics::Metric;
use crate::optimizers::{IntoOptimizer, OptimizerSpec};
use std::sync::Arc;
use tandem_core::Tensor;

/// A stack of layers applied in order (what `Sequential` holds).
#[derive(Default)]
pub struct Stack {
    pub(crate) layers: Vec<Box<dyn Layer>>,
    /// The per-sample input shape the stack was built for.
    pub(crate) input_shape: Option<Vec<usize>>,
}

impl Layer for Stack {
    fn name(&self) -> String {
        "sequential".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        self.input_shape = Some(input_shape.to_vec());
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

/// One output's loss, its weight in the total and its metrics.
#[derive(Clone)]
pub(crate) struct Head {
    /// The output's name in a model with several (`digit` logs `digit_loss`); `None` for one.
    pub(crate) name: Option<String>,
    pub(crate) loss: Loss,
    pub(crate) weight: f64,
    pub(crate) metrics: Vec<Metric>,
}

impl Head {
    /// A log name: `accuracy`, or `digit_accuracy` for a named output.
    pub(crate) fn key(&self, what: &str) -> String {
        match &self.name {
            Some(n) => format!("{n}_{what}"),
            None => what.to_string(),
        }
    }
}

pub(crate) struct Compiled {
    pub(crate) optimizer: OptimizerSpec,
    pub(crate) state: Option<Box<dyn tandem_nn::optim::Optimizer + Send>>,
    pub(crate) heads: Vec<Head>,
    /// The distribution strategy whose scope `compile` ran in.
    pub(crate) replicas: Option<Arc<dyn crate::distribute::Replicas>>,
}

/// A trainable Keras model around any [`Layer`]: a [`Sequential`] stack, or a subclassed model
/// (a struct implementing `Layer` whose `call` uses its own layers).
pub struct Model<L: Layer> {
    pub(crate) net: L,
    pub(crate) compiled: Option<Compiled>,
    pub(crate) name: String,
}

/// `tf.keras.Sequential([...])`: a [`Model`] over a stack of layers, with `add`.
pub struct Sequential(Model<Stack>);

impl std::ops::Deref for Sequential {
    type Target = Model<Stack>;
    fn deref(&self) -> &Model<Stack> {
        &self.0
    }
}

impl std::ops::DerefMut for Sequential {
    fn deref_mut(&mut self) -> &mut Model<Stack> {
        &mut self.0
    }
}

impl Sequential {
    /// `Sequential([layers...])`.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Sequential {
        let mut m = Model {
            net: Stack {
                layers,
                input_shape: None,
            },
            compiled: None,
            name: "sequential".into(),
        };
        if let Some(shape) = m.net.declared_input_shape() {
            m.net.build(&shape);
        }
        Sequential(m)
    }

    /// `model.add(layer)`; returns the model, so that adds chain.
    ///
    /// ```
    /// use tandem_keras::{layers::Dense, Sequential};
    /// let mut model = Sequential::new(vec![]);
    /// model
    ///     .add(Dense::new(8).activation("relu").input_dim(4))
    ///     .add(Dense::new(1));
    /// assert_eq!(model.weights().len(), 4);
    /// ```
    pub fn add(&mut self, layer: impl Layer + 'static) -> &mut Sequential {
        self.0.net.layers.push(Box::new(layer));
        if let Some(shape) = self.0.net.declared_input_shape() {
            self.0.net.build(&shape);
        }
        self
    }
}

impl Model<Graph> {
    /// `keras.Model(inputs, outputs)`: the layers between symbolic `inputs` (from
    /// [`Input`](crate::Input)) and `outputs`, as a model; an error when an output depends on
    /// an input not listed or two layers share a name.
    pub fn new(
        inputs: &[&KerasTensor],
        outputs: &[&KerasTensor],
    ) -> Result<Model<Graph>, KerasError> {
        Ok(Model {
            net: Graph::new(inputs, outputs)?,
            compiled: None,
            name: "functional".into(),
        })
    }
}

/// `keras.Sequential([...])` without a `Box::new` per layer.
///
/// ```
/// use tandem_keras::layers::{Dense, Flatten};
/// let model = tandem_keras::sequential![
///     Flatten::new().input_shape(&[28, 28]),
///     Dense::new(128).activation("relu"),
///     Dense::new(10),
/// ];
/// assert_eq!(model.weights().len(), 4);
/// ```
#[macro_export]
macro_rules! sequential {
    ($($layer:expr),* $(,)?) => {
        $crate::Sequential::new(vec![
            $(Box::new($layer) as Box<dyn $crate::Layer>),*
        ])
    };
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
    /// `"sparse_categorical_crossentropy"`, `["accuracy"]`) or objects. A model with several
    /// outputs applies the loss and metrics to each; see [`Model::compile_outputs`].
    pub fn compile(
        &mut self,
        optimizer: impl IntoOptimizer,
        loss: impl IntoLoss,
        metrics: &[&str],
    ) -> Result<(), KerasError> {
        let optimizer = optimizer.into_optimizer()?;
        let loss = loss.into_loss()?;
        let outputs = self.net.output_names();
        let names: Vec<Option<String>> = if outputs.len() > 1 {
            outputs.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        let heads = names
            .into_iter()
            .map(|name| {
                Ok(Head {
                    name,
                    loss,
                    weight: 1.0,
                    metrics: metrics
                        .iter()
                        .map(|m| Metric::from_name(m, loss))
                        .collect::<Result<Vec<_>, _>>()?,
                })
            })
            .collect::<Result<Vec<_>, KerasError>>()?;
        self.compiled = Some(Compiled {
            optimizer,
            state: None,
            heads,
            replicas: crate::distribute::current(),
        });
        Ok(())
    }

    /// `compile(optimizer, loss={...}, loss_weights={...}, metrics={...})` for a model with
    /// several outputs: a loss per output name, optional weights (1 when absent) and metrics.
    /// The total loss is the weighted sum; `fit` logs it as `loss` and each output's as
    /// `<output>_loss`, with metrics as `<output>_<metric>`.
    pub fn compile_outputs<Lo: IntoLoss + Clone>(
        &mut self,
        optimizer: impl IntoOptimizer,
        loss: &[(&str, Lo)],
        loss_weights: &[(&str, f64)],
        metrics: &[(&str, &[&str])],
    ) -> Result<(), KerasError> {
        let optimizer = optimizer.into_optimizer()?;
        let outputs = self.net.output_names();
        let unknown_output = |name: &str| KerasError::Argument {
            name: "compile",
            reason: format!(
                "'{name}' is not an output of the model (outputs: {})",
                outputs.join(", ")
            ),
        };
        for name in loss
            .iter()
            .map(|l| l.0)
            .chain(loss_weights.iter().map(|w| w.0))
            .chain(metrics.iter().map(|m| m.0))
        {
            if !outputs.iter().any(|o| o == name) {
                return Err(unknown_output(name));
            }
        }
        let mut heads = Vec::new();
        for out in &outputs {
            let Some((_, l)) = loss.iter().find(|l| l.0 == out) else {
                return Err(KerasError::Argument {
                    name: "compile",
                    reason: format!("no loss for output '{out}'"),
                });
            };
            let l = l.clone().into_loss()?;
            let names = metrics.iter().find(|m| m.0 == out).map_or(&[][..], |m| m.1);
            heads.push(Head {
                name: (outputs.len() > 1).then(|| out.clone()),
                loss: l,
                weight: loss_weights
                    .iter()
                    .find(|w| w.0 == out)
                    .map_or(1.0, |w| w.1),
                metrics: names
                    .iter()
                    .map(|m| Metric::from_name(m, l))
                    .collect::<Result<Vec<_>, _>>()?,
            });
        }
        self.compiled = Some(Compiled {
            optimizer,
            state: None,
            heads,
            replicas: crate::distribute::current(),
        });
        Ok(())
    }

    /// `Model(..., name="two_halves")`: the name `summary()` shows.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Builds the layers (from the input shape) and the optimizer's state if not done yet.
    pub(crate) fn prepare(&mut self, input_shape: &[usize]) {
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
    pub(crate) fn run_callbacks(
        &mut self,
        callbacks: &mut [&mut dyn Callback],
        initial_epoch: usize,
        mut hook: impl FnMut(&mut dyn Callback, &mut TrainingState<'_>) -> Result<bool, KerasError>,
    ) -> Result<(usize, bool), KerasError> {
        let weights = self.weights();
        let c = self.compiled.as_mut().expect("compiled");
        let chief = c.replicas.as_ref().is_none_or(|r| r.rank() == 0);
        let optimizer = c.state.as_mut().expect("prepared").as_mut();
        let mut state = TrainingState {
            weights,
            optimizer,
            initial_epoch,
            chief,
        };
        let mut stop = false;
        for cb in callbacks.iter_mut() {
            stop |= hook(&mut **cb, &mut state)?;
        }
        Ok((state.initial_epoch, stop))
    }

    /// One step on a batch: returns the total loss, each output's loss and the outputs.
    pub(crate) fn train_batch(
        &mut self,
        xs: &[Tensor],
        ys: &[Tensor],
        replicas: Option<&dyn crate::distribute::Replicas>,
    ) -> (f64, Vec<f64>, Vec<Tensor>) {
        if xs[0].shape()[0] == 0 {
            // A worker whose shard of a short last batch is empty still takes part in the
            // reduction and the step, with no gradient of its own.
            let c = self.compiled.as_mut().expect("compiled");
            let opt = c.state.as_mut().expect("prepared");
            opt.zero_grad();
            if let Some(r) = replicas {
                r.end_step();
            }
            opt.step();
            return (0.0, vec![0.0; c.heads.len()], Vec::new());
        }
        if !self.net.built() {
            self.net.build(&xs[0].shape()[1..]);
        }
        let outs = self.net.call_all(xs, true);
        let c = self.compiled.as_mut().expect("compiled");
        let opt = c.state.as_mut().expect("prepared");
        opt.zero_grad();
        let mut parts = Vec::with_capacity(outs.len());
        let mut loss: Option<Tensor> = None;
        for ((head, (out, logits)), y) in c.heads.iter().zip(&outs).zip(ys) {
            let l = head.loss.compute_with_logits(y, out, logits.as_ref());
            parts.push(l.item::<f32>() as f64);
            let weighted = if head.weight == 1.0 {
                l
            } else {
                &l * head.weight
            };
            loss = Some(match loss {
                Some(total) => &total + &weighted,
                None => weighted,
            });
        }
        let mut loss = loss.expect("a model has at least one output");
        if let Some(penalty) = self.net.regularization_loss() {
            // Keras adds `model.losses` to the loss it reports and differentiates.
            loss = &loss + &penalty;
        }
        loss.backward();
        if let Some(r) = replicas {
            r.end_step();
        }
        opt.step();
        let outs = outs.into_iter().map(|(o, _)| o.detach()).collect();
        (loss.item::<f32>() as f64, parts, outs)
    }
}
