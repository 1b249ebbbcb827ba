//! `BatchNormalization` over the last axis, with Keras's defaults and moving statistics.

use super::Layer;
use tandem_core::Tensor;
use tandem_nn::functional::{self as F, BatchNormConfig};

/// `BatchNormalization(momentum=0.99, epsilon=1e-3)` over the last (channels) axis. In
/// training it normalizes with the batch's mean and (biased) variance and updates the moving
/// averages `moving = momentum * moving + (1 - momentum) * batch`; in inference it uses the
/// moving averages. `gamma`/`beta` are trained; the moving statistics are non-trainable weights.
pub struct BatchNormalization {
    momentum: f64,
    epsilon: f64,
    weights: Option<[Tensor; 4]>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization {
            momentum: 0.99,
            epsilon: 1e-3,
            weights: None,
        }
    }
}

impl BatchNormalization {
    /// Keras's defaults.
    pub fn new() -> BatchNormalization {
        BatchNormalization::default()
    }

    /// `momentum=` of the moving averages.
    pub fn momentum(mut self, m: f64) -> BatchNormalization {
        self.momentum = m;
        self
    }

    /// `epsilon=` added to the variance.
    pub fn epsilon(mut self, e: f64) -> BatchNormalization {
        self.epsilon = e;
        self
    }
}

impl Layer for BatchNormalization {
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        let config = serde_json::json!({
            "axis": -1,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": true,
            "scale": true,
        });
        Some(("BatchNormalization", config))
    }
    fn name(&self) -> String {
        "batch_normalization".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        let c = *input_shape
            .last()
            .expect("BatchNormalization needs a channel axis");
        let dt = tandem_core::DType::Float32;
        self.weights = Some([
            tandem_core::ones(&[c], dt).requires_grad_(true),
            tandem_core::zeros(&[c], dt).requires_grad_(true),
            tandem_core::zeros(&[c], dt),
            tandem_core::ones(&[c], dt),
        ]);
    }
    fn built(&self) -> bool {
        self.weights.is_some()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        let [gamma, beta, moving_mean, moving_var] = self
            .weights
            .as_ref()
            .expect("BatchNormalization called before build");
        let config = BatchNormConfig {
            axis: -1,
            training,
            momentum: 1.0 - self.momentum,
            eps: self.epsilon,
            unbiased_running_var: false,
        };
        F::batch_norm_with(x, moving_mean, moving_var, gamma, beta, &config)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape.to_vec()
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        self.weights
            .as_ref()
            .map(|w| vec![w[0].clone(), w[1].clone()])
            .unwrap_or_default()
    }
    fn non_trainable_weights(&self) -> Vec<Tensor> {
        self.weights
            .as_ref()
            .map(|w| vec![w[2].clone(), w[3].clone()])
            .unwrap_or_default()
    }
}
