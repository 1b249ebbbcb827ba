//! Schedulers that scale the base rate by a factor of the epoch: `ConstantLR`, `LinearLR`
//! (warm-up) and `LambdaLR` (any function).

use super::{attach, set, LrScheduler};
use crate::optim::Optimizer;

/// `ConstantLR(factor, total_iters)`: the base rate times `factor` until epoch `total_iters`,
/// then the base rate.
pub struct ConstantLR {
    base: f64,
    epoch: usize,
    factor: f64,
    total_iters: usize,
    last: f64,
}

impl ConstantLR {
    /// Sets the rate to `base · factor` at once, as PyTorch's constructor does.
    pub fn new(opt: &mut dyn Optimizer, factor: f64, total_iters: usize) -> ConstantLR {
        assert!(
            factor > 0.0 && factor <= 1.0,
            "ConstantLR: factor must be in (0, 1] (got {factor})"
        );
        let base = attach(opt);
        let mut s = ConstantLR {
            base,
            epoch: 0,
            factor,
            total_iters,
            last: 0.0,
        };
        s.restart(opt);
        s
    }
}

impl LrScheduler for ConstantLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        let lr = opt.lr();
        let next = if self.epoch == self.total_iters {
            lr / self.factor
        } else {
            lr
        };
        self.last = set(opt, next);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.epoch = 0;
        let f = if self.total_iters > 0 {
            self.factor
        } else {
            1.0
        };
        self.last = set(opt, self.base * f);
    }
}

/// `LinearLR(start_factor, end_factor, total_iters)`: the factor moves linearly from
/// `start_factor` to `end_factor` over `total_iters` epochs (PyTorch's defaults: 1/3, 1.0, 5).
pub struct LinearLR {
    base: f64,
    epoch: usize,
    start: f64,
    end: f64,
    total_iters: usize,
    last: f64,
}

impl LinearLR {
    /// Sets the rate to `base · start_factor` at once, as PyTorch's constructor does.
    pub fn new(
        opt: &mut dyn Optimizer,
        start_factor: f64,
        end_factor: f64,
        total_iters: usize,
    ) -> LinearLR {
        assert!(
            start_factor > 0.0 && start_factor <= 1.0,
            "LinearLR: start_factor must be in (0, 1] (got {start_factor})"
        );
        assert!(
            (0.0..=1.0).contains(&end_factor),
            "LinearLR: end_factor must be in [0, 1] (got {end_factor})"
        );
        let base = attach(opt);
        let mut s = LinearLR {
            base,
            epoch: 0,
            start: start_factor,
            end: end_factor,
            total_iters,
            last: 0.0,
        };
        s.restart(opt);
        s
    }

    /// PyTorch's defaults: from a third of the rate to all of it over 5 epochs.
    pub fn with_defaults(opt: &mut dyn Optimizer) -> LinearLR {
        LinearLR::new(opt, 1.0 / 3.0, 1.0, 5)
    }
}

impl LrScheduler for LinearLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        let lr = opt.lr();
        let next = if self.epoch > self.total_iters {
            lr
        } else {
            let (s, e, n) = (self.start, self.end, self.total_iters as f64);
            lr * (1.0 + (e - s) / (n * s + (self.epoch as f64 - 1.0) * (e - s)))
        };
        self.last = set(opt, next);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.epoch = 0;
        self.last = set(opt, self.base * self.start);
    }
}

/// `LambdaLR(lr_lambda)`: the base rate times `lr_lambda(epoch)`.
///
/// ```
/// use tandem_nn::optim::{lr_scheduler::{LambdaLR, LrScheduler}, Optimizer, SGD};
/// let w = tandem_core::Tensor::new([1.0]).requires_grad_(true);
/// let mut opt = SGD::new(vec![w], 0.1, 0.0);
/// let mut sched = LambdaLR::new(&mut opt, |epoch| 0.5f64.powi(epoch as i32));
/// sched.step(&mut opt);
/// assert!((opt.lr() - 0.05).abs() < 1e-12);
/// ```
pub struct LambdaLR {
    base: f64,
    epoch: usize,
    f: Box<dyn Fn(usize) -> f64 + Send>,
    last: f64,
}

impl LambdaLR {
    /// Sets the rate to `base · lr_lambda(0)` at once, as PyTorch's constructor does.
    pub fn new(
        opt: &mut dyn Optimizer,
        lr_lambda: impl Fn(usize) -> f64 + Send + 'static,
    ) -> LambdaLR {
        let base = attach(opt);
        let mut s = LambdaLR {
            base,
            epoch: 0,
            f: Box::new(lr_lambda),
            last: 0.0,
        };
        s.restart(opt);
        s
    }
}

impl LrScheduler for LambdaLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        self.last = set(opt, self.base * (self.f)(self.epoch));
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.epoch = 0;
        self.last = set(opt, self.base * (self.f)(0));
    }
}
