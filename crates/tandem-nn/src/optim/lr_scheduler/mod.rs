//! Learning-rate schedulers (`torch.optim.lr_scheduler`): call `step()` once per epoch (or per
//! batch for `OneCycleLR`).
//!
//! As in PyTorch, the multiplicative schedulers (`StepLR`, `MultiStepLR`, `ExponentialLR`,
//! `CosineAnnealingLR`, `ConstantLR`, `LinearLR`) update the optimizer's *current* rate, so
//! several of them compose in a [`ChainedScheduler`]; the others compute the rate from the
//! base rate. The base is the optimizer's `initial_lr`, recorded by the first scheduler that
//! changes the rate when it is built.

mod compose;
mod cyclic;
mod warmup;

pub use compose::{ChainedScheduler, SequentialLR};
pub use cyclic::{AnnealStrategy, CosineAnnealingWarmRestarts, OneCycleLR, OneCycleLRConfig};
pub use warmup::{ConstantLR, LambdaLR, LinearLR};

use super::Optimizer;

/// A schedule that sets the optimizer's learning rate.
pub trait LrScheduler {
    /// Advances one epoch and updates the optimizer's learning rate.
    fn step(&mut self, opt: &mut dyn Optimizer);
    /// The learning rate the schedule gives for the current epoch.
    fn get_last_lr(&self) -> f64;
    /// Goes back to epoch 0 and sets the rate the schedule gives there (what `SequentialLR`
    /// does to the next scheduler at a milestone, PyTorch's `scheduler.step(0)`).
    fn restart(&mut self, opt: &mut dyn Optimizer);
}

/// The rate a new scheduler starts from: `initial_lr`, else the current rate.
pub(crate) fn base_lr(opt: &dyn Optimizer) -> f64 {
    opt.initial_lr().unwrap_or_else(|| opt.lr())
}

/// Records `initial_lr` (first scheduler only) and returns the base rate.
pub(crate) fn attach(opt: &mut dyn Optimizer) -> f64 {
    let base = base_lr(opt);
    opt.set_initial_lr(base);
    base
}

/// Sets the optimizer's rate and returns it.
fn set(opt: &mut dyn Optimizer, lr: f64) -> f64 {
    opt.set_lr(lr);
    lr
}

/// `StepLR(step_size, gamma)`: multiply by `gamma` every `step_size` epochs.
pub struct StepLR {
    base: f64,
    epoch: usize,
    step_size: usize,
    gamma: f64,
    last: f64,
}

impl StepLR {
    /// From the optimizer's base learning rate.
    pub fn new(opt: &dyn Optimizer, step_size: usize, gamma: f64) -> StepLR {
        assert!(step_size > 0, "StepLR: step_size must be positive");
        StepLR {
            base: base_lr(opt),
            epoch: 0,
            step_size,
            gamma,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for StepLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        let lr = opt.lr();
        let factor = if self.epoch.is_multiple_of(self.step_size) {
            self.gamma
        } else {
            1.0
        };
        self.last = set(opt, lr * factor);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.epoch = 0;
        self.last = set(opt, self.base);
    }
}

/// `MultiStepLR(milestones, gamma)`: multiply by `gamma` at each milestone epoch.
pub struct MultiStepLR {
    base: f64,
    epoch: usize,
    milestones: Vec<usize>,
    gamma: f64,
    last: f64,
}

impl MultiStepLR {
    /// From the optimizer's base learning rate.
    pub fn new(opt: &dyn Optimizer, milestones: Vec<usize>, gamma: f64) -> MultiStepLR {
        MultiStepLR {
            base: base_lr(opt),
            epoch: 0,
            milestones,
            gamma,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for MultiStepLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        let hits = self.milestones.iter().filter(|&&m| m == self.epoch).count();
        let lr = opt.lr();
        self.last = set(opt, lr * self.gamma.powi(hits as i32));
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.epoch = 0;
        self.last = set(opt, self.base);
    }
}

/// `ExponentialLR(gamma)`: multiply by `gamma` every epoch.
pub struct ExponentialLR {
    base: f64,
    gamma: f64,
    last: f64,
}

impl ExponentialLR {
    /// From the optimizer's base learning rate.
    pub fn new(opt: &dyn Optimizer, gamma: f64) -> ExponentialLR {
        ExponentialLR {
            base: base_lr(opt),
            gamma,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for ExponentialLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        let lr = opt.lr();
        self.last = set(opt, lr * self.gamma);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.last = set(opt, self.base);
    }
}

/// `CosineAnnealingLR(t_max, eta_min)`: half a cosine from the base rate down to `eta_min`
/// over `t_max` epochs (and back up over the next `t_max`, as PyTorch continues it).
pub struct CosineAnnealingLR {
    base: f64,
    epoch: usize,
    t_max: usize,
    eta_min: f64,
    last: f64,
}

impl CosineAnnealingLR {
    /// From the optimizer's base learning rate.
    pub fn new(opt: &dyn Optimizer, t_max: usize, eta_min: f64) -> CosineAnnealingLR {
        assert!(t_max > 0, "CosineAnnealingLR: t_max must be positive");
        CosineAnnealingLR {
            base: base_lr(opt),
            epoch: 0,
            t_max,
            eta_min,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        use std::f64::consts::PI;
        self.epoch += 1;
        let (e, t) = (self.epoch as f64, self.t_max as f64);
        let lr = opt.lr();
        // PyTorch's recursive form, so that it composes with other schedulers.
        let next = if (self.epoch as i64 - 1 - self.t_max as i64).rem_euclid(2 * self.t_max as i64)
            == 0
        {
            lr + (self.base - self.eta_min) * (1.0 - (PI / t).cos()) / 2.0
        } else {
            (1.0 + (PI * e / t).cos()) / (1.0 + (PI * (e - 1.0) / t).cos()) * (lr - self.eta_min)
                + self.eta_min
        };
        self.last = set(opt, next);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.epoch = 0;
        self.last = set(opt, self.base);
    }
}

/// `ReduceLROnPlateau(mode='min', factor, patience)`: lowers the rate when a metric stops
/// improving; call `step_with(metric, opt)` after each validation.
pub struct ReduceLROnPlateau {
    factor: f64,
    patience: usize,
    min_lr: f64,
    best: f64,
    bad_epochs: usize,
    last: f64,
}

impl ReduceLROnPlateau {
    /// Mode `min` (lower is better), with `factor` and `patience`.
    pub fn new(opt: &dyn Optimizer, factor: f64, patience: usize) -> ReduceLROnPlateau {
        ReduceLROnPlateau {
            factor,
            patience,
            min_lr: 0.0,
            best: f64::INFINITY,
            bad_epochs: 0,
            last: opt.lr(),
        }
    }

    /// Records this epoch's metric and lowers the rate after `patience` epochs without a
    /// relative improvement of 1e-4 (PyTorch's default threshold).
    pub fn step_with(&mut self, metric: f64, opt: &mut dyn Optimizer) {
        if metric < self.best * (1.0 - 1e-4) {
            self.best = metric;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.bad_epochs > self.patience {
            self.last = (opt.lr() * self.factor).max(self.min_lr);
            opt.set_lr(self.last);
            self.bad_epochs = 0;
        }
    }

    /// The current learning rate.
    pub fn get_last_lr(&self) -> f64 {
        self.last
    }
}
