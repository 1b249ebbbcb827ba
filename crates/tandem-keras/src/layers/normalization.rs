//! `BatchNormalization` over the last axis, with Keras's defaults and moving statistics.

use super::Layer;
use tandem_core::{autograd, Tensor};

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
        let axes: Vec<isize> = (0..x.ndim() as isize - 1).collect();
        let (mean, var) = if training {
            let mean = x.mean_dims(&axes, false);
            let var = x.var_dims(&axes, 0, false);
            autograd::no_grad(|| {
                let m = self.momentum;
                moving_mean.copy_(&(&(moving_mean * m) + &(mean.detach() * (1.0 - m))));
                moving_var.copy_(&(&(moving_var * m) + &(var.detach() * (1.0 - m))));
            });
            (mean, var)
        } else {
            (moving_mean.clone(), moving_var.clone())
        };
        let inv = (var + self.epsilon).rsqrt();
        &(&(x - &mean) * &(&inv * gamma)) + beta
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
