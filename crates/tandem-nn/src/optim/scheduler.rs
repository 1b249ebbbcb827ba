//! Learning-rate schedulers (`torch.optim.lr_scheduler`): call `step()` once per epoch.

use super::Optimizer;

/// A schedule that sets the optimizer's learning rate.
pub trait LrScheduler {
    /// Advances one epoch and updates the optimizer's learning rate.
    fn step(&mut self, opt: &mut dyn Optimizer);
    /// The learning rate the schedule gives for the current epoch.
    fn get_last_lr(&self) -> f64;
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
    /// From the optimizer's current learning rate.
    pub fn new(opt: &dyn Optimizer, step_size: usize, gamma: f64) -> StepLR {
        StepLR {
            base: opt.lr(),
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
        self.last = self.base * self.gamma.powi((self.epoch / self.step_size) as i32);
        opt.set_lr(self.last);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
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
    /// From the optimizer's current learning rate.
    pub fn new(opt: &dyn Optimizer, milestones: Vec<usize>, gamma: f64) -> MultiStepLR {
        MultiStepLR {
            base: opt.lr(),
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
        let passed = self.milestones.iter().filter(|&&m| m <= self.epoch).count();
        self.last = self.base * self.gamma.powi(passed as i32);
        opt.set_lr(self.last);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
}

/// `ExponentialLR(gamma)`: multiply by `gamma` every epoch.
pub struct ExponentialLR {
    base: f64,
    epoch: usize,
    gamma: f64,
    last: f64,
}

impl ExponentialLR {
    /// From the optimizer's current learning rate.
    pub fn new(opt: &dyn Optimizer, gamma: f64) -> ExponentialLR {
        ExponentialLR {
            base: opt.lr(),
            epoch: 0,
            gamma,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for ExponentialLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        self.last = self.base * self.gamma.powi(self.epoch as i32);
        opt.set_lr(self.last);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
}

/// `CosineAnnealingLR(t_max, eta_min)`.
pub struct CosineAnnealingLR {
    base: f64,
    epoch: usize,
    t_max: usize,
    eta_min: f64,
    last: f64,
}

impl CosineAnnealingLR {
    /// From the optimizer's current learning rate.
    pub fn new(opt: &dyn Optimizer, t_max: usize, eta_min: f64) -> CosineAnnealingLR {
        CosineAnnealingLR {
            base: opt.lr(),
            epoch: 0,
            t_max,
            eta_min,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        let cos = (std::f64::consts::PI * self.epoch as f64 / self.t_max as f64).cos();
        self.last = self.eta_min + (self.base - self.eta_min) * (1.0 + cos) / 2.0;
        opt.set_lr(self.last);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
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
