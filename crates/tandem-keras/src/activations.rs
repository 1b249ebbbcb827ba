//! `keras.activations`: activation functions by their Keras names.

use crate::error::{unknown, KerasError};
use tandem_core::Tensor;
use tandem_nn::functional as F;

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
    /// `'softplus'`: `log(1 + exp(x))`.
    Softplus,
    /// `'softsign'`: `x / (|x| + 1)`.
    Softsign,
    /// `'silu'` (also `'swish'`): `x · sigmoid(x)`.
    Silu,
    /// `'mish'`: `x · tanh(softplus(x))`.
    Mish,
    /// `'hard_sigmoid'`: `relu6(x + 3) / 6`.
    HardSigmoid,
    /// `'hard_silu'` (also `'hard_swish'`): `x · hard_sigmoid(x)`.
    HardSilu,
    /// `'relu6'`: `min(max(x, 0), 6)`.
    Relu6,
    /// `'leaky_relu'`, with Keras's slope 0.2.
    LeakyRelu,
    /// `'exponential'`: `exp(x)`.
    Exponential,
    /// `'log_softmax'` over the last axis.
    LogSoftmax,
}

const ACTIVATIONS: [&str; 21] = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "gelu",
    "softplus",
    "softsign",
    "silu",
    "swish",
    "mish",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "relu6",
    "leaky_relu",
    "exponential",
    "log_softmax",
    "None",
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
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "silu" | "swish" => Activation::Silu,
            "mish" => Activation::Mish,
            "hard_sigmoid" => Activation::HardSigmoid,
            "hard_silu" | "hard_swish" => Activation::HardSilu,
            "relu6" => Activation::Relu6,
            "leaky_relu" => Activation::LeakyRelu,
            "exponential" => Activation::Exponential,
            "log_softmax" => Activation::LogSoftmax,
            "None" => Activation::Linear,
            other => return Err(unknown("activation", other, &ACTIVATIONS)),
        })
    }

    /// The activation's Keras name (`"relu"`), as `get_config()` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::Gelu => "gelu",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Silu => "silu",
            Activation::Mish => "mish",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::HardSilu => "hard_silu",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Exponential => "exponential",
            Activation::LogSoftmax => "log_softmax",
        }
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
            Activation::Softplus => F::softplus(x, 1.0, 20.0),
            Activation::Softsign => x / &(x.abs() + 1.0),
            Activation::Silu => F::silu(x),
            Activation::Mish => F::mish(x),
            Activation::HardSigmoid => (x + 3.0).clamp(Some(0.0), Some(6.0)) / 6.0,
            Activation::HardSilu => F::hardswish(x),
            Activation::Relu6 => x.clamp(Some(0.0), Some(6.0)),
            Activation::LeakyRelu => F::leaky_relu(x, 0.2),
            Activation::Exponential => x.exp(),
            Activation::LogSoftmax => x.log_softmax(-1),
        }
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
