//! Keras layers with lazy shape inference: weights are created on the first call, from the
//! shape of the input (so `input_shape` / `input_dim` are optional).

use tandem_core::{DType, Tensor};

mod conv;
mod core;
mod embedding;
mod normalization;
mod recurrent;
mod reshape;

pub use self::core::{ActivationLayer, Dense, Dropout, Flatten};
pub use crate::activations::{Activation, Logits};
pub use crate::initializers::Initializer;
pub use crate::regularizers::Regularizer;
pub use conv::{Conv2D, MaxPooling2D, Size2};
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

/// Casts integer inputs (e.g. uint8 images) to float32, as Keras does on entry.
pub(crate) fn as_float(x: &Tensor) -> Tensor {
    if x.dtype().is_float() {
        x.clone()
    } else {
        x.to_dtype(DType::Float32)
    }
}
