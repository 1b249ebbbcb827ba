//! Keras layers with lazy shape inference: weights are created on the first call, from the
//! shape of the input (so `input_shape` / `input_dim` are optional).

use crate::error::{unknown, KerasError};
use tandem_core::{DType, Tensor};
use tandem_nn::{functional as F, init, Linear, Module};

mod conv;
mod embedding;
mod normalization;
mod recurrent;
mod reshape;

pub use conv::{Conv2D, MaxPooling2D};
pub use embedding::Embedding;
pub use normalization::BatchNormalization;
pub use recurrent::{SimpleRNN, TimeDistributed, GRU, LSTM};
pub use reshape::{Input, Reshape};

/// A Keras layer.
pub trait Layer: Send + Sync {
    /// The layer's name as `summary()` shows it (`dense`, `flatten`).
    fn name(&self) -> String;
    /// Creates the weights for inputs of `input_shape` (without the batch dimension).
    fn build(&mut self, _input_shape: &[usize]) {}
    /// Whether the weights exist.
    fn built(&self) -> bool {
        true
    }
    /// The input shape declared with `input_shape` / `input_dim`, if any.
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        None
    }
    /// The computation; `training` turns Dropout on.
    fn call(&self, x: &Tensor, training: bool) -> Tensor;
    /// The output shape (without the batch dimension) for inputs of `input_shape`.
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize>;
    /// Trainable weights (`trainable_variables`).
    fn trainable_weights(&self) -> Vec<Tensor> {
        Vec::new()
    }
    /// Weights the optimizer does not touch (BatchNormalization's moving statistics).
    fn non_trainable_weights(&self) -> Vec<Tensor> {
        Vec::new()
    }
    /// Penalties added to the loss (`layer.losses`: kernel regularizers), if any.
    fn regularization_loss(&self) -> Option<Tensor> {
        None
    }
    /// The layers inside a container (what `summary()` lists); empty for a plain layer.
    fn sublayers(&self) -> Vec<&dyn Layer> {
        Vec::new()
    }
    /// Whether this is `keras.Input` (a shape declaration, not listed by `summary()`).
    fn is_input(&self) -> bool {
        false
    }
    /// Builds the layer from `x` if needed, then calls it (what `layer(x)` does in Keras).
    fn apply(&mut self, x: &Tensor, training: bool) -> Tensor {
        if !self.built() {
            self.build(&x.shape()[1..]);
        }
        self.call(x, training)
    }
    /// The call, plus the input of the final softmax or sigmoid when the output comes out of
    /// one. Keras keeps these logits on the output (`_keras_logits`) and its cross-entropy
    /// losses use them, so saturated probabilities still have gradients.
    fn call_with_logits(&self, x: &Tensor, training: bool) -> (Tensor, Option<Logits>) {
        (self.call(x, training), None)
    }
}

/// The pre-activation values of an output that ends in a softmax or a sigmoid.
#[derive(Clone, Debug)]
pub struct Logits {
    /// Which activation produced the output.
    pub activation: Activation,
    /// Its input.
    pub values: Tensor,
}

impl Activation {
    /// Applies the function, keeping the logits when it is a softmax or a sigmoid.
    pub fn apply_with_logits(self, x: &Tensor) -> (Tensor, Option<Logits>) {
        let keep = matches!(self, Activation::Softmax | Activation::Sigmoid);
        let logits = keep.then(|| Logits {
            activation: self,
            values: x.clone(),
        });
        (self.apply(x), logits)
    }
}

/// Activation functions by Keras name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// Identity (`'linear'`, `None`).
    #[default]
    Linear,
    /// `'relu'`.
    Relu,
    /// `'sigmoid'`.
    Sigmoid,
    /// `'tanh'`.
    Tanh,
    /// `'softmax'` over the last axis.
    Softmax,
    /// `'elu'`.
    Elu,
    /// `'selu'`.
    Selu,
    /// `'gelu'`.
    Gelu,
}

const ACTIVATIONS: [&str; 8] = [
    "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu",
];

impl Activation {
    /// The activation with Keras name `name`.
    pub fn from_name(name: &str) -> Result<Activation, KerasError> {
        Ok(match name {
            "linear" | "" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "elu" => Activation::Elu,
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu,
            other => return Err(unknown("activation", other, &ACTIVATIONS)),
        })
    }

    /// Applies the function.
    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Linear => x.clone(),
            Activation::Relu => x.relu(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Softmax => x.softmax(-1),
            Activation::Elu => F::elu(x, 1.0),
            Activation::Selu => F::selu(x),
            Activation::Gelu => F::gelu(x, false),
        }
    }
}

/// Weight initializers by Keras name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Initializer {
    /// `'glorot_uniform'` (Keras's default for kernels).
    #[default]
    GlorotUniform,
    /// `'glorot_normal'`: truncated normal, stddev `sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// `'he_normal'`: truncated normal, stddev `sqrt(2 / fan_in)`.
    HeNormal,
    /// `'he_uniform'`.
    HeUniform,
    /// `'zeros'`.
    Zeros,
    /// `'ones'`.
    Ones,
}

const INITIALIZERS: [&str; 6] = [
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "zeros",
    "ones",
];

impl Initializer {
    /// The initializer with Keras name `name`.
    pub fn from_name(name: &str) -> Result<Initializer, KerasError> {
        Ok(match name {
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_normal" => Initializer::HeNormal,
            "he_uniform" => Initializer::HeUniform,
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            other => return Err(unknown("initializer", other, &INITIALIZERS)),
        })
    }

    /// Fills `t` (a `[out, in]` weight) in place.
    pub fn fill(self, t: &Tensor) {
        let (fan_in, fan_out) = if t.ndim() >= 2 {
            init::fans(t)
        } else {
            (t.numel(), t.numel())
        };
        match self {
            Initializer::GlorotUniform => init::xavier_uniform_(t, 1.0),
            Initializer::GlorotNormal => {
                truncated_normal(t, (2.0 / (fan_in + fan_out) as f64).sqrt())
            }
            Initializer::HeNormal => truncated_normal(t, (2.0 / fan_in as f64).sqrt()),
            Initializer::HeUniform => {
                let b = (6.0 / fan_in as f64).sqrt();
                init::uniform_(t, -b, b)
            }
            Initializer::Zeros => init::zeros_(t),
            Initializer::Ones => init::ones_(t),
        }
    }
}

/// Keras's variance-scaling truncated normal: draws beyond two standard deviations are
/// redrawn, and the scale is corrected by 0.8796 so the result has standard deviation `std`.
fn truncated_normal(t: &Tensor, std: f64) {
    let sd = std / 0.879_625_661_034_239_8;
    let vals: Vec<f32> = tandem_core::with_rng(|r| {
        use rand::Rng;
        (0..t.numel())
            .map(|_| loop {
                // Box-Muller from two uniforms
                let (u1, u2): (f64, f64) = (r.gen::<f64>().max(1e-300), r.gen());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                if z.abs() <= 2.0 {
                    break (z * sd) as f32;
                }
            })
            .collect()
    });
    tandem_core::autograd::no_grad(|| {
        t.detach().copy_(&Tensor::from_vec(vals, t.shape()));
    });
}

/// `Dense(units, activation)`: a fully connected layer on `nn::Linear`, built lazily.
pub struct Dense {
    units: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    input_dim: Option<usize>,
    kernel_regularizer: Option<Regularizer>,
    linear: Option<Linear>,
    name: String,
}

impl Dense {
    /// `Dense(units)` with no activation, glorot-uniform kernel and zero bias.
    pub fn new(units: usize) -> Dense {
        Dense {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            input_dim: None,
            kernel_regularizer: None,
            linear: None,
            name: "dense".into(),
        }
    }

    /// `kernel_regularizer=regularizers.L2(0.01)` etc.: its penalty joins the training loss.
    pub fn kernel_regularizer(mut self, r: Regularizer) -> Dense {
        self.kernel_regularizer = Some(r);
        self
    }

    /// `activation='relu'` etc.; panics with the valid names on an unknown one.
    pub fn activation(mut self, name: &str) -> Dense {
        self.activation = Activation::from_name(name).unwrap_or_else(|e| panic!("Dense: {e}"));
        self
    }

    /// `use_bias=False`.
    pub fn use_bias(mut self, on: bool) -> Dense {
        self.use_bias = on;
        self
    }

    /// `kernel_initializer='he_normal'` etc.
    pub fn kernel_initializer(mut self, name: &str) -> Dense {
        self.kernel_initializer =
            Initializer::from_name(name).unwrap_or_else(|e| panic!("Dense: {e}"));
        self
    }

    /// `bias_initializer='zeros'` etc.
    pub fn bias_initializer(mut self, name: &str) -> Dense {
        self.bias_initializer =
            Initializer::from_name(name).unwrap_or_else(|e| panic!("Dense: {e}"));
        self
    }

    /// `input_dim=n` (builds the layer right away).
    pub fn input_dim(mut self, n: usize) -> Dense {
        self.input_dim = Some(n);
        self.build(&[n]);
        self
    }

    /// Sets the name shown by `summary()`.
    pub fn named(mut self, name: &str) -> Dense {
        self.name = name.into();
        self
    }

    /// The underlying `nn::Linear` once built (its weight is `[units, in]`, Keras's kernel
    /// transposed).
    pub fn linear(&self) -> Option<&Linear> {
        self.linear.as_ref()
    }
}

impl Layer for Dense {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn build(&mut self, input_shape: &[usize]) {
        let fan_in = *input_shape.last().expect("Dense needs at least 1-D inputs");
        let lin = Linear::with_bias(fan_in, self.units, self.use_bias);
        self.kernel_initializer.fill(&lin.weight);
        if let Some(b) = &lin.bias {
            self.bias_initializer.fill(b);
        }
        self.linear = Some(lin);
    }
    fn built(&self) -> bool {
        self.linear.is_some()
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        self.input_dim.map(|d| vec![d])
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.call_with_logits(x, training).0
    }
    fn call_with_logits(&self, x: &Tensor, _training: bool) -> (Tensor, Option<Logits>) {
        let lin = self.linear.as_ref().expect("Dense called before build");
        self.activation.apply_with_logits(&lin.forward(x))
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        let mut s = input_shape.to_vec();
        if let Some(l) = s.last_mut() {
            *l = self.units;
        }
        s
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        self.linear
            .as_ref()
            .map(|l| l.parameters())
            .unwrap_or_default()
    }
    fn regularization_loss(&self) -> Option<Tensor> {
        let (r, lin) = (self.kernel_regularizer?, self.linear.as_ref()?);
        Some(r.penalty(&lin.weight))
    }
}

/// `keras.regularizers`: penalties on a layer's weights, added to the loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regularizer {
    /// `L1(l1)`: `l1 * sum(|w|)`.
    L1(f64),
    /// `L2(l2)`: `l2 * sum(w^2)` (Keras's L2 has no factor 1/2).
    L2(f64),
    /// `L1L2(l1, l2)`: both.
    L1L2(f64, f64),
}

impl Regularizer {
    /// The penalty for weights `w` (differentiable).
    pub fn penalty(self, w: &Tensor) -> Tensor {
        match self {
            Regularizer::L1(a) => w.abs().sum() * a,
            Regularizer::L2(b) => w.square().sum() * b,
            Regularizer::L1L2(a, b) => &(w.abs().sum() * a) + &(w.square().sum() * b),
        }
    }
}

/// `Flatten(input_shape=(28, 28))`: one feature axis per sample.
#[derive(Default)]
pub struct Flatten {
    input_shape: Option<Vec<usize>>,
}

impl Flatten {
    /// `Flatten()`.
    pub fn new() -> Flatten {
        Flatten::default()
    }

    /// `Flatten(input_shape=...)`.
    pub fn input_shape(mut self, shape: &[usize]) -> Flatten {
        self.input_shape = Some(shape.to_vec());
        self
    }
}

impl Layer for Flatten {
    fn name(&self) -> String {
        "flatten".into()
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        self.input_shape.clone()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        x.flatten(1, -1)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        vec![input_shape.iter().product()]
    }
}

/// `Dropout(rate)`: active only when `training`.
pub struct Dropout {
    rate: f64,
}

impl Dropout {
    /// `Dropout(rate)`.
    pub fn new(rate: f64) -> Dropout {
        Dropout { rate }
    }
}

impl Layer for Dropout {
    fn name(&self) -> String {
        "dropout".into()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        F::dropout(x, self.rate, training)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape.to_vec()
    }
}

/// `Activation('relu')` as its own layer.
pub struct ActivationLayer(pub Activation);

impl ActivationLayer {
    /// `Activation(name)`; panics with the valid names on an unknown one.
    pub fn new(name: &str) -> ActivationLayer {
        ActivationLayer(Activation::from_name(name).unwrap_or_else(|e| panic!("Activation: {e}")))
    }
}

impl Layer for ActivationLayer {
    fn name(&self) -> String {
        "activation".into()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.call_with_logits(x, training).0
    }
    fn call_with_logits(&self, x: &Tensor, _training: bool) -> (Tensor, Option<Logits>) {
        self.0.apply_with_logits(x)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape.to_vec()
    }
}

/// Casts integer inputs (e.g. uint8 images) to float32, as Keras does on entry.
pub(crate) fn as_float(x: &Tensor) -> Tensor {
    if x.dtype().is_float() {
        x.clone()
    } else {
        x.to_dtype(DType::Float32)
    }
}
