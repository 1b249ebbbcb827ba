//! The core layers: `Dense`, `Flatten`, `Dropout` and `Activation`.

use super::Layer;
use crate::activations::{Activation, Logits};
use crate::initializers::Initializer;
use crate::regularizers::Regularizer;
use tandem_core::Tensor;
use tandem_nn::{functional as F, Linear, Module};

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

    /// The underlying `nn::Linear` once built (its weight is `[units, in]`, Keras's kernel
    /// transposed).
    pub fn linear(&self) -> Option<&Linear> {
        self.linear.as_ref()
    }
}

impl Layer for Dense {
    fn name(&self) -> String {
        "dense".into()
    }
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        let config = serde_json::json!({
            "units": self.units,
            "activation": self.activation.name(),
            "use_bias": self.use_bias,
        });
        Some(("Dense", config))
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
        if self.activation == Activation::Relu {
            // The product, its bias and the ReLU as one op.
            if let Some(y) = lin.forward_fused(x, tandem_core::ops::conv::Fused::Relu) {
                return (y, None);
            }
        }
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
    fn keras_weights(&self) -> Vec<Tensor> {
        // the kernel is kept as `nn::Linear`'s `[units, in]`; Keras's is its transpose
        self.linear
            .as_ref()
            .map(|l| {
                std::iter::once(l.weight.t())
                    .chain(l.bias.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn regularization_loss(&self) -> Option<Tensor> {
        let (r, lin) = (self.kernel_regularizer?, self.linear.as_ref()?);
        Some(r.penalty(&lin.weight))
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
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        Some(("Flatten", serde_json::json!({})))
    }
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
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        Some(("Dropout", serde_json::json!({ "rate": self.rate })))
    }
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
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        Some((
            "Activation",
            serde_json::json!({ "activation": self.0.name() }),
        ))
    }
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
