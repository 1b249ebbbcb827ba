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
