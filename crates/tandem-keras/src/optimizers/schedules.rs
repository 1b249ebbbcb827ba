//! `keras.optimizers.schedules`: learning rates that depend on the optimizer's step count,
//! passed as an optimizer's `learning_rate` (`Adam(ExponentialDecay::new(1e-3, 100, 0.9))`).
//!
//! The rate of step `i` (counting from 0, Keras's `optimizer.iterations`) is `schedule(i)`.

use std::f64::consts::PI;
use std::sync::Arc;

/// A learning rate as a function of the step.
pub trait LearningRateSchedule: Send + Sync {
    /// The rate for step `step` (0 for the first update).
    fn rate(&self, step: u64) -> f64;
}

/// A constant rate or a schedule: what Keras optimizers accept as `learning_rate`.
#[derive(Clone)]
pub enum LearningRate {
    /// A fixed rate.
    Constant(f64),
    /// A rate per step.
    Schedule(Arc<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate for step `step`.
    pub fn at(&self, step: u64) -> f64 {
        match self {
            LearningRate::Constant(r) => *r,
            LearningRate::Schedule(s) => s.rate(step),
        }
    }
}

impl std::fmt::Debug for LearningRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LearningRate::Constant(r) => write!(f, "{r}"),
            LearningRate::Schedule(s) => write!(f, "schedule(step 0: {})", s.rate(0)),
        }
    }
}

impl PartialEq for LearningRate {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (LearningRate::Constant(a), LearningRate::Constant(b)) => a == b,
            (LearningRate::Schedule(a), LearningRate::Schedule(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<f64> for LearningRate {
    fn from(r: f64) -> Self {
        LearningRate::Constant(r)
    }
}

impl From<f32> for LearningRate {
    fn from(r: f32) -> Self {
        LearningRate::Constant(r as f64)
    }
}

macro_rules! schedule_into_rate {
    ($($t:ty),*) => {$(
        impl From<$t> for LearningRate {
            fn from(s: $t) -> Self {
                LearningRate::Schedule(Arc::new(s))
            }
        }
    )*};
}
schedule_into_rate!(
    ExponentialDecay,
    PiecewiseConstantDecay,
    CosineDecay,
    InverseTimeDecay
);

/// `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)`:
/// `initial · decay_rate^(step / decay_steps)` (the exponent floored with `staircase`).
///
/// ```
/// use tandem_keras::optimizers::schedules::{ExponentialDecay, LearningRateSchedule};
/// let s = ExponentialDecay::new(0.1, 10, 0.5);
/// assert!((s.rate(10) - 0.05).abs() < 1e-12);
/// assert!((s.staircase(true).rate(19) - 0.05).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ExponentialDecay {
    initial: f64,
    decay_steps: f64,
    decay_rate: f64,
    staircase: bool,
}

impl ExponentialDecay {
    /// Without staircase.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        assert!(
            decay_steps > 0,
            "ExponentialDecay: decay_steps must be positive"
        );
        ExponentialDecay {
            initial: initial_learning_rate,
            decay_steps: decay_steps as f64,
            decay_rate,
            staircase: false,
        }
    }

    /// `staircase=True`: decay in whole steps of `decay_steps`.
    pub fn staircase(mut self, on: bool) -> Self {
        self.staircase = on;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn rate(&self, step: u64) -> f64 {
        let mut p = step as f64 / self.decay_steps;
        if self.staircase {
            p = p.floor();
        }
        self.initial * self.decay_rate.powf(p)
    }
}

/// `PiecewiseConstantDecay(boundaries, values)`: `values[0]` while `step <= boundaries[0]`,
/// `values[i]` while `boundaries[i-1] < step <= boundaries[i]`, the last value after.
#[derive(Clone, Debug)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<u64>,
    values: Vec<f64>,
}

impl PiecewiseConstantDecay {
    /// Needs one value more than boundaries.
    pub fn new(boundaries: Vec<u64>, values: Vec<f64>) -> Self {
        assert_eq!(
            boundaries.len() + 1,
            values.len(),
            "PiecewiseConstantDecay: the length of boundaries should be 1 less than the length of values"
        );
        PiecewiseConstantDecay { boundaries, values }
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn rate(&self, step: u64) -> f64 {
        let i = self.boundaries.partition_point(|&b| b < step);
        self.values[i]
    }
}

/// `CosineDecay(initial_learning_rate, decay_steps, alpha=0.0)`, optionally after a linear
/// warm-up to `warmup_target` over `warmup_steps`.
///
/// ```
/// use tandem_keras::optimizers::schedules::{CosineDecay, LearningRateSchedule};
/// let s = CosineDecay::new(1.0, 10);
/// assert!((s.rate(5) - 0.5).abs() < 1e-12);
/// assert!(s.rate(10).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CosineDecay {
    initial: f64,
    decay_steps: f64,
    alpha: f64,
    warmup: Option<(f64, f64)>,
}

impl CosineDecay {
    /// Decay to 0 over `decay_steps`.
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        CosineDecay {
            initial: initial_learning_rate,
            decay_steps: decay_steps as f64,
            alpha: 0.0,
            warmup: None,
        }
    }

    /// `alpha`: the final rate as a fraction of the decay's starting rate.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// `warmup_target`, `warmup_steps`: rise linearly from the initial rate to `target` over
    /// `steps`, then decay from `target`.
    pub fn warmup(mut self, target: f64, steps: u64) -> Self {
        self.warmup = Some((target, steps as f64));
        self
    }
}

impl LearningRateSchedule for CosineDecay {
    fn rate(&self, step: u64) -> f64 {
        let step = step as f64;
        let (start, step) = match self.warmup {
            Some((target, steps)) if step < steps => {
                return self.initial + (target - self.initial) * step / steps;
            }
            Some((target, steps)) => (target, step - steps),
            None => (self.initial, step),
        };
        let done = step.min(self.decay_steps) / self.decay_steps;
        let cos = 0.5 * (1.0 + (PI * done).cos());
        start * ((1.0 - self.alpha) * cos + self.alpha)
    }
}

/// `InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False)`:
/// `initial / (1 + decay_rate · step / decay_steps)` (the ratio floored with `staircase`).
#[derive(Clone, Copy, Debug)]
pub struct InverseTimeDecay {
    initial: f64,
    decay_steps: f64,
    decay_rate: f64,
    staircase: bool,
}

impl InverseTimeDecay {
    /// Without staircase.
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        assert!(
            decay_steps > 0,
            "InverseTimeDecay: decay_steps must be positive"
        );
        InverseTimeDecay {
            initial: initial_learning_rate,
            decay_steps: decay_steps as f64,
            decay_rate,
            staircase: false,
        }
    }

    /// `staircase=True`.
    pub fn staircase(mut self, on: bool) -> Self {
        self.staircase = on;
        self
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn rate(&self, step: u64) -> f64 {
        let mut p = step as f64 / self.decay_steps;
        if self.staircase {
            p = p.floor();
        }
        self.initial / (1.0 + self.decay_rate * p)
    }
}
