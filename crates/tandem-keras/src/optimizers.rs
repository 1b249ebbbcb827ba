//! `tf.keras.optimizers`, by name or as objects, built on the nn optimizers.

use crate::error::{unknown, KerasError};
use tandem_core::Tensor;
use tandem_nn::optim::{self, Optimizer as NnOptimizer};

/// An optimizer for `compile` or for a hand-written `GradientTape` loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerSpec {
    /// `SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
    SGD {
        /// Step size.
        learning_rate: f64,
        /// Momentum.
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
    Adam {
        /// Step size.
        learning_rate: f64,
        /// First-moment decay.
        beta_1: f64,
        /// Second-moment decay.
        beta_2: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
    /// `RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-7)`.
    RMSprop {
        /// Step size.
        learning_rate: f64,
        /// Decay of the squared-gradient average.
        rho: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
    /// `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`.
    Adagrad {
        /// Step size.
        learning_rate: f64,
        /// Starting value of the sums.
        initial_accumulator_value: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
}

/// `SGD(learning_rate, momentum)` (the seed's `SGD(learning_rate=0.01, momentum=0.5)`).
#[allow(non_snake_case)]
pub fn SGD(learning_rate: f64, momentum: f64) -> OptimizerSpec {
    OptimizerSpec::SGD {
        learning_rate,
        momentum,
        nesterov: false,
    }
}

/// `Adam(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Adam(learning_rate: f64) -> OptimizerSpec {
    OptimizerSpec::Adam {
        learning_rate,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    }
}

/// `RMSprop(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn RMSprop(learning_rate: f64) -> OptimizerSpec {
    OptimizerSpec::RMSprop {
        learning_rate,
        rho: 0.9,
        epsilon: 1e-7,
    }
}

/// `Adagrad(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Adagrad(learning_rate: f64) -> OptimizerSpec {
    OptimizerSpec::Adagrad {
        learning_rate,
        initial_accumulator_value: 0.1,
        epsilon: 1e-7,
    }
}

const NAMES: [&str; 4] = ["sgd", "adam", "rmsprop", "adagrad"];

impl OptimizerSpec {
    /// The optimizer with Keras name `name` and Keras's default hyper-parameters.
    pub fn from_name(name: &str) -> Result<OptimizerSpec, KerasError> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "sgd" => SGD(0.01, 0.0),
            "adam" => Adam(0.001),
            "rmsprop" => RMSprop(0.001),
            "adagrad" => Adagrad(0.001),
            _ => return Err(unknown("optimizer", name, &NAMES)),
        })
    }

    /// The nn optimizer over `params`.
    pub fn build(&self, params: Vec<Tensor>) -> Box<dyn NnOptimizer + Send> {
        match *self {
            OptimizerSpec::SGD {
                learning_rate,
                momentum,
                nesterov,
            } => Box::new(optim::SGD::with_config(
                params,
                optim::SgdConfig {
                    lr: learning_rate,
                    momentum,
                    nesterov,
                    ..Default::default()
                },
            )),
            OptimizerSpec::Adam {
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
            } => Box::new(optim::Adam::keras(
                params,
                optim::AdamConfig {
                    lr: learning_rate,
                    betas: (beta_1, beta_2),
                    eps: epsilon,
                    weight_decay: 0.0,
                },
            )),
            OptimizerSpec::RMSprop {
                learning_rate,
                rho,
                epsilon,
            } => Box::new(optim::RMSprop::with_config(
                params,
                optim::RMSpropConfig {
                    lr: learning_rate,
                    alpha: rho,
                    eps: epsilon,
                    ..Default::default()
                },
            )),
            OptimizerSpec::Adagrad {
                learning_rate,
                initial_accumulator_value,
                epsilon,
            } => Box::new(optim::Adagrad::with_config(
                params,
                optim::AdagradConfig {
                    lr: learning_rate,
                    initial_accumulator_value,
                    eps: epsilon,
                    ..Default::default()
                },
            )),
        }
    }
}

/// Optimizer names and objects both convert for `compile`.
pub trait IntoOptimizer {
    /// The optimizer, or an error naming the valid names.
    fn into_optimizer(self) -> Result<OptimizerSpec, KerasError>;
}
impl IntoOptimizer for &str {
    fn into_optimizer(self) -> Result<OptimizerSpec, KerasError> {
        OptimizerSpec::from_name(self)
    }
}
impl IntoOptimizer for OptimizerSpec {
    fn into_optimizer(self) -> Result<OptimizerSpec, KerasError> {
        Ok(self)
    }
}

/// An optimizer for hand-written loops: `optimizer.apply_gradients(&grads, &vars)`.
pub struct Optimizer {
    spec: OptimizerSpec,
    inner: Option<Box<dyn NnOptimizer + Send>>,
}

impl Optimizer {
    /// From a spec (`keras::optimizers::Optimizer::new(Adam(1e-3))`).
    pub fn new(spec: OptimizerSpec) -> Optimizer {
        Optimizer { spec, inner: None }
    }

    /// Applies `grads` to `vars` (`optimizer.apply_gradients(zip(grads, vars))`); the state is
    /// created for these variables on the first call.
    pub fn apply_gradients(&mut self, grads: &[Option<Tensor>], vars: &[Tensor]) {
        assert_eq!(
            grads.len(),
            vars.len(),
            "apply_gradients: {} gradients for {} variables",
            grads.len(),
            vars.len()
        );
        let inner = self
            .inner
            .get_or_insert_with(|| self.spec.build(vars.to_vec()));
        for (v, g) in vars.iter().zip(grads) {
            v.set_grad(g.clone());
        }
        inner.step();
        for v in vars {
            v.set_grad(None);
        }
    }
}
