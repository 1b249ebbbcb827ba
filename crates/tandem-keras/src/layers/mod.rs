//! Keras layers with lazy shape inference: weights are created on the first call, from the
//! shape of the input (so `input_shape` / `input_dim` are optional).

use tandem_core::{DType, Tensor};

mod attention;
mod conv;
mod conv_more;
mod core;
mod embedding;
mod merge;
mod normalization;
mod preprocessing;
mod recurrent;
mod reshape;
mod spatial;

pub use self::core::{ActivationLayer, Dense, Dropout, Flatten};
pub use crate::activations::{Activation, Logits};
pub use crate::functional::{LayerCall, MergeCall, Named};
pub use crate::initializers::Initializer;
pub use crate::regularizers::Regularizer;
pub use attention::{
    AttentionCall, GlobalAveragePooling1D, LayerNormalization, MultiHeadAttention,
};
pub use conv::{Conv2D, MaxPooling2D, Size2};
pub use conv_more::{Conv1D, Conv2DTranspose};
pub use embedding::Embedding;
pub use merge::{Add, Average, Concatenate, Merge, Multiply};
pub use normalization::BatchNormalization;
pub use preprocessing::{CategoryEncoding, Normalization, StringLookup, TextVectorization};
pub use recurrent::{SimpleRNN, TimeDistributed, GRU, LSTM};
pub use reshape::{Input, Reshape};
pub use spatial::{
    AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Rescaling, SpatialDropout,
    SpatialDropout1D, SpatialDropout2D, UpSampling2D, ZeroPadding2D,
};

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
    /// The weights as Keras orders and lays them out (`layer.get_weights()`: trainable, then
    /// non-trainable, a `Dense` kernel as `[in, units]`), as views of the layer's own tensors:
    /// what a `.weights.h5` file stores, and what loading one copies into.
    fn keras_weights(&self) -> Vec<Tensor> {
        let mut w = self.trainable_weights();
        w.extend(self.non_trainable_weights());
        w
    }
    /// Keras's class name and `get_config()` for a `.keras` archive (only the keys that
    /// differ from Keras's defaults matter; the name is filled in by the model), or `None`
    /// for a layer that cannot be saved in one.
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        None
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
    /// The name given with `named(...)` (Keras's `name=`), if any.
    fn given_name(&self) -> Option<String> {
        None
    }
    /// How many inputs the layer takes (a functional model may take several).
    fn input_count(&self) -> usize {
        1
    }
    /// The names of the outputs of a model with several; empty for one output.
    fn output_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Calls the layer on all its inputs, giving every output with its logits.
    fn call_all(&self, xs: &[Tensor], training: bool) -> Vec<(Tensor, Option<Logits>)> {
        assert_eq!(
            xs.len(),
            1,
            "{}: expected 1 input, got {}",
            self.name(),
            xs.len()
        );
        vec![self.call_with_logits(&xs[0], training)]
    }
    /// The rows of a functional model's `summary()` (with "Connected to"); `None` otherwise.
    #[doc(hidden)]
    fn functional_rows(&self) -> Option<Vec<crate::functional::graph::FunctionalRow>> {
        None
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
