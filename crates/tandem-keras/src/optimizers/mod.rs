//! `tf.keras.optimizers`, by name or as objects, built on the nn optimizers; `learning_rate`
//! is a number or a [`schedules`] object.

mod clipping;
pub mod schedules;

pub use clipping::Clipping;

use crate::error::{unknown, KerasError};
use schedules::LearningRate;
use tandem_core::Tensor;
use tandem_nn::optim::{self, Optimizer as NnOptimizer};

/// An optimizer for `compile` or for a hand-written `GradientTape` loop, with Keras's
/// argument names and defaults.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerSpec {
    /// `SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
    SGD {
        /// Step size.
        learning_rate: LearningRate,
        /// Momentum.
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
    },
    /// `Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
    Adam {
        /// Step size.
        learning_rate: LearningRate,
        /// First-moment decay.
        beta_1: f64,
        /// Second-moment decay.
        beta_2: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
    /// `AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
    AdamW {
        /// Step size.
        learning_rate: LearningRate,
        /// Decoupled decay: `p -= p · weight_decay · learning_rate` before each update.
        weight_decay: f64,
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
        learning_rate: LearningRate,
        /// Decay of the squared-gradient average.
        rho: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
    /// `Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`.
    Adagrad {
        /// Step size.
        learning_rate: LearningRate,
        /// Starting value of the sums.
        initial_accumulator_value: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
    /// `Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7)`.
    Adadelta {
        /// Scales the computed step.
        learning_rate: LearningRate,
        /// Decay of both running averages.
        rho: f64,
        /// Added inside the square roots.
        epsilon: f64,
    },
    /// `Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
    Adamax {
        /// Step size.
        learning_rate: LearningRate,
        /// First-moment decay.
        beta_1: f64,
        /// Decay of the infinity norm.
        beta_2: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
    /// `Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`.
    Nadam {
        /// Step size.
        learning_rate: LearningRate,
        /// First-moment decay.
        beta_1: f64,
        /// Second-moment decay.
        beta_2: f64,
        /// Added to the denominator.
        epsilon: f64,
    },
    /// `Lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99)`.
    Lion {
        /// Step size.
        learning_rate: LearningRate,
        /// Interpolation for the update's sign.
        beta_1: f64,
        /// Momentum decay.
        beta_2: f64,
    },
    /// `Ftrl(learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
    /// l1_regularization_strength=0, l2_regularization_strength=0,
    /// l2_shrinkage_regularization_strength=0, beta=0)`.
    Ftrl {
        /// Step size.
        learning_rate: LearningRate,
        /// How the rate shrinks with the accumulated squared gradients (at most 0).
        learning_rate_power: f64,
        /// Starting value of the accumulators.
        initial_accumulator_value: f64,
        /// L1 strength.
        l1_regularization_strength: f64,
        /// L2 strength.
        l2_regularization_strength: f64,
        /// L2 shrinkage strength.
        l2_shrinkage_regularization_strength: f64,
        /// Added to the L2 term as `beta / (2 lr)`.
        beta: f64,
    },
    /// Another optimizer with `clipnorm`, `clipvalue` or `global_clipnorm` set (made by
    /// [`OptimizerSpec::clipnorm`] and its siblings).
    Clipped {
        /// The optimizer the clipped gradients go to.
        inner: Box<OptimizerSpec>,
        /// The clipping applied first.
        clipping: Clipping,
    },
}

/// `SGD(learning_rate, momentum)` (the seed's `SGD(learning_rate=0.01, momentum=0.5)`).
#[allow(non_snake_case)]
pub fn SGD(learning_rate: impl Into<LearningRate>, momentum: f64) -> OptimizerSpec {
    OptimizerSpec::SGD {
        learning_rate: learning_rate.into(),
        momentum,
        nesterov: false,
    }
}

/// `Adam(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Adam(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::Adam {
        learning_rate: learning_rate.into(),
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    }
}

/// `AdamW(learning_rate)` with Keras's other defaults (`weight_decay=0.004`).
#[allow(non_snake_case)]
pub fn AdamW(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::AdamW {
        learning_rate: learning_rate.into(),
        weight_decay: 0.004,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    }
}

/// `RMSprop(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn RMSprop(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::RMSprop {
        learning_rate: learning_rate.into(),
        rho: 0.9,
        epsilon: 1e-7,
    }
}

/// `Adagrad(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Adagrad(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::Adagrad {
        learning_rate: learning_rate.into(),
        initial_accumulator_value: 0.1,
        epsilon: 1e-7,
    }
}

/// `Adadelta(learning_rate)` with Keras's other defaults (`rho=0.95`, `epsilon=1e-7`).
#[allow(non_snake_case)]
pub fn Adadelta(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::Adadelta {
        learning_rate: learning_rate.into(),
        rho: 0.95,
        epsilon: 1e-7,
    }
}

/// `Adamax(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Adamax(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::Adamax {
        learning_rate: learning_rate.into(),
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    }
}

/// `Nadam(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Nadam(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::Nadam {
        learning_rate: learning_rate.into(),
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    }
}

/// `Lion(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Lion(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::Lion {
        learning_rate: learning_rate.into(),
        beta_1: 0.9,
        beta_2: 0.99,
    }
}

/// `Ftrl(learning_rate)` with Keras's other defaults.
#[allow(non_snake_case)]
pub fn Ftrl(learning_rate: impl Into<LearningRate>) -> OptimizerSpec {
    OptimizerSpec::Ftrl {
        learning_rate: learning_rate.into(),
        learning_rate_power: -0.5,
        initial_accumulator_value: 0.1,
        l1_regularization_strength: 0.0,
        l2_regularization_strength: 0.0,
        l2_shrinkage_regularization_strength: 0.0,
        beta: 0.0,
    }
}

const NAMES: [&str; 10] = [
    "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion", "ftrl",
];

impl OptimizerSpec {
    /// The optimizer with Keras name `name` and Keras's default hyper-parameters.
    pub fn from_name(name: &str) -> Result<OptimizerSpec, KerasError> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "sgd" => SGD(0.01, 0.0),
            "adam" => Adam(0.001),
            "adamw" => AdamW(0.001),
            "rmsprop" => RMSprop(0.001),
            "adagrad" => Adagrad(0.001),
            "adadelta" => Adadelta(0.001),
            "adamax" => Adamax(0.001),
            "nadam" => Nadam(0.001),
            "lion" => Lion(0.001),
            "ftrl" => Ftrl(0.001),
            _ => return Err(unknown("optimizer", name, &NAMES)),
        })
    }

    /// `clipnorm=c`: each gradient is rescaled so that its own L2 norm is at most `c`.
    ///
    /// ```
    /// use tandem_keras::optimizers::{Adam, OptimizerSpec};
    /// let opt: OptimizerSpec = Adam(1e-3).clipnorm(1.0);
    /// assert_eq!(opt.learning_rate().at(0), 1e-3);
    /// ```
    pub fn clipnorm(self, c: f64) -> OptimizerSpec {
        self.clipped(|k| k.clipnorm = Some(c))
    }

    /// `global_clipnorm=c`: all gradients are rescaled together so that their joint L2 norm
    /// is at most `c` (what `torch.nn.utils.clip_grad_norm_` does).
    pub fn global_clipnorm(self, c: f64) -> OptimizerSpec {
        self.clipped(|k| k.global_clipnorm = Some(c))
    }

    /// `clipvalue=c`: each gradient element is clamped to `[-c, c]`.
    pub fn clipvalue(self, c: f64) -> OptimizerSpec {
        self.clipped(|k| k.clipvalue = Some(c))
    }

    fn clipped(self, set: impl FnOnce(&mut Clipping)) -> OptimizerSpec {
        match self {
            OptimizerSpec::Clipped {
                inner,
                mut clipping,
            } => {
                set(&mut clipping);
                OptimizerSpec::Clipped { inner, clipping }
            }
            other => {
                let mut clipping = Clipping::default();
                set(&mut clipping);
                OptimizerSpec::Clipped {
                    inner: Box::new(other),
                    clipping,
                }
            }
        }
    }

    /// The learning rate or schedule.
    pub fn learning_rate(&self) -> &LearningRate {
        match self {
            OptimizerSpec::Clipped { inner, .. } => inner.learning_rate(),
            OptimizerSpec::SGD { learning_rate, .. }
            | OptimizerSpec::Adam { learning_rate, .. }
            | OptimizerSpec::AdamW { learning_rate, .. }
            | OptimizerSpec::RMSprop { learning_rate, .. }
            | OptimizerSpec::Adagrad { learning_rate, .. }
            | OptimizerSpec::Adadelta { learning_rate, .. }
            | OptimizerSpec::Adamax { learning_rate, .. }
            | OptimizerSpec::Nadam { learning_rate, .. }
            | OptimizerSpec::Lion { learning_rate, .. }
            | OptimizerSpec::Ftrl { learning_rate, .. } => learning_rate,
        }
    }

    /// The nn optimizer over `params`; a schedule sets its rate before every step.
    pub fn build(&self, params: Vec<Tensor>) -> Box<dyn NnOptimizer + Send> {
        if let OptimizerSpec::Clipped { inner, clipping } = self {
            return Box::new(clipping::Clipped {
                inner: inner.build(params),
                clipping: *clipping,
            });
        }
        let lr = self.learning_rate().at(0);
        let adam = |beta_1: f64, beta_2: f64, eps: f64, weight_decay: f64| optim::AdamConfig {
            lr,
            betas: (beta_1, beta_2),
            eps,
            weight_decay,
        };
        let inner: Box<dyn NnOptimizer + Send> = match *self {
            OptimizerSpec::Clipped { .. } => unreachable!("clipped optimizers are built above"),
            OptimizerSpec::SGD {
                momentum, nesterov, ..
            } => Box::new(optim::SGD::with_config(
                params,
                optim::SgdConfig {
                    lr,
                    momentum,
                    nesterov,
                    ..Default::default()
                },
            )),
            OptimizerSpec::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => Box::new(optim::Adam::keras(
                params,
                adam(beta_1, beta_2, epsilon, 0.0),
            )),
            OptimizerSpec::AdamW {
                weight_decay,
                beta_1,
                beta_2,
                epsilon,
                ..
            } => Box::new(optim::Adam::keras_w(
                params,
                adam(beta_1, beta_2, epsilon, weight_decay),
            )),
            OptimizerSpec::RMSprop { rho, epsilon, .. } => Box::new(optim::RMSprop::with_config(
                params,
                optim::RMSpropConfig {
                    lr,
                    alpha: rho,
                    eps: epsilon,
                    ..Default::default()
                },
            )),
            OptimizerSpec::Adagrad {
                initial_accumulator_value,
                epsilon,
                ..
            } => Box::new(optim::Adagrad::with_config(
                params,
                optim::AdagradConfig {
                    lr,
                    initial_accumulator_value,
                    eps: epsilon,
                    ..Default::default()
                },
            )),
            OptimizerSpec::Adadelta { rho, epsilon, .. } => Box::new(optim::Adadelta::with_config(
                params,
                optim::AdadeltaConfig {
                    lr,
                    rho,
                    eps: epsilon,
                    weight_decay: 0.0,
                },
            )),
            OptimizerSpec::Adamax {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => Box::new(optim::Adamax::keras(
                params,
                adam(beta_1, beta_2, epsilon, 0.0),
            )),
            // Keras's momentum schedule is `0.96^t`: PyTorch's with momentum_decay 1.
            OptimizerSpec::Nadam {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => Box::new(optim::NAdam::with_config(
                params,
                optim::NAdamConfig {
                    lr,
                    betas: (beta_1, beta_2),
                    eps: epsilon,
                    weight_decay: 0.0,
                    momentum_decay: 1.0,
                    decoupled_weight_decay: false,
                },
            )),
            OptimizerSpec::Lion { beta_1, beta_2, .. } => Box::new(optim::Lion::with_config(
                params,
                optim::LionConfig { lr, beta_1, beta_2 },
            )),
            OptimizerSpec::Ftrl {
                learning_rate_power,
                initial_accumulator_value,
                l1_regularization_strength,
                l2_regularization_strength,
                l2_shrinkage_regularization_strength,
                beta,
                ..
            } => Box::new(optim::Ftrl::with_config(
                params,
                optim::FtrlConfig {
                    lr,
                    learning_rate_power,
                    initial_accumulator_value,
                    l1: l1_regularization_strength,
                    l2: l2_regularization_strength,
                    l2_shrinkage: l2_shrinkage_regularization_strength,
                    beta,
                },
            )),
        };
        match self.learning_rate() {
            LearningRate::Constant(_) => inner,
            LearningRate::Schedule(_) => Box::new(Scheduled {
                inner,
                rate: self.learning_rate().clone(),
                iterations: 0,
            }),
        }
    }
}

/// An optimizer whose rate follows a schedule of its step count (`optimizer.iterations`).
struct Scheduled {
    inner: Box<dyn NnOptimizer + Send>,
    rate: LearningRate,
    iterations: u64,
}

impl NnOptimizer for Scheduled {
    fn step(&mut self) {
        self.inner.set_lr(self.rate.at(self.iterations));
        self.inner.step();
        self.iterations += 1;
    }
    fn params(&self) -> Vec<Tensor> {
        self.inner.params()
    }
    fn zero_grad(&mut self) {
        self.inner.zero_grad()
    }
    fn lr(&self) -> f64 {
        self.rate.at(self.iterations)
    }
    fn set_lr(&mut self, lr: f64) {
        self.inner.set_lr(lr)
    }
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut s = self.inner.state_dict();
        s.push((
            "iterations".into(),
            Tensor::from_vec(vec![self.iterations as f64], &[]),
        ));
        s
    }
    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<(), String> {
        let (it, rest): (Vec<_>, Vec<_>) =
            state.iter().cloned().partition(|(k, _)| k == "iterations");
        if let Some((_, t)) = it.first() {
            self.iterations = t.item::<f64>() as u64;
        }
        self.inner.load_state_dict(&rest)
    }
    fn initial_lr(&self) -> Option<f64> {
        self.inner.initial_lr()
    }
    fn set_initial_lr(&mut self, lr: f64) {
        self.inner.set_initial_lr(lr)
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
