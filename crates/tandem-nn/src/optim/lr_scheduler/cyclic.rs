//! Cyclic schedules: `OneCycleLR` (per batch) and `CosineAnnealingWarmRestarts`.

use super::{attach, set, LrScheduler};
use crate::optim::Optimizer;
use std::f64::consts::PI;

/// How `OneCycleLR` moves between two values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AnnealStrategy {
    /// Half a cosine (`anneal_strategy='cos'`, the default).
    #[default]
    Cos,
    /// A straight line (`'linear'`).
    Linear,
}

impl AnnealStrategy {
    fn at(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            AnnealStrategy::Cos => end + (start - end) / 2.0 * (1.0 + (PI * pct).cos()),
            AnnealStrategy::Linear => (end - start) * pct + start,
        }
    }
}

/// `OneCycleLR`'s options besides `max_lr` and `total_steps`, with PyTorch's defaults.
#[derive(Clone, Copy, Debug)]
pub struct OneCycleLRConfig {
    /// Fraction of the steps spent raising the rate.
    pub pct_start: f64,
    /// Cosine or linear annealing.
    pub anneal_strategy: AnnealStrategy,
    /// Cycle the momentum (or Adam's `beta1`) inversely to the rate.
    pub cycle_momentum: bool,
    /// Momentum at the peak rate.
    pub base_momentum: f64,
    /// Momentum at the lowest rates.
    pub max_momentum: f64,
    /// The starting rate is `max_lr / div_factor`.
    pub div_factor: f64,
    /// The final rate is the starting rate divided by this.
    pub final_div_factor: f64,
    /// Go back down to the starting rate before annealing to the final one.
    pub three_phase: bool,
}

impl Default for OneCycleLRConfig {
    fn default() -> Self {
        OneCycleLRConfig {
            pct_start: 0.3,
            anneal_strategy: AnnealStrategy::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
}

struct Phase {
    end_step: f64,
    lr: (f64, f64),
    momentum: (f64, f64),
}

/// `OneCycleLR(max_lr, total_steps)`: the 1cycle policy; call `step()` after every batch.
///
/// ```
/// use tandem_nn::optim::{lr_scheduler::{LrScheduler, OneCycleLR}, Optimizer, SGD};
/// let w = tandem_core::Tensor::new([1.0]).requires_grad_(true);
/// let mut opt = SGD::new(vec![w], 0.1, 0.9);
/// let mut sched = OneCycleLR::new(&mut opt, 1.0, 10, Default::default());
/// assert!((opt.lr() - 0.04).abs() < 1e-12); // max_lr / div_factor
/// for _ in 0..3 {
///     sched.step(&mut opt);
/// }
/// assert!(opt.lr() > 0.9); // near the peak after 30% of the steps
/// ```
pub struct OneCycleLR {
    phases: Vec<Phase>,
    total_steps: usize,
    strategy: AnnealStrategy,
    cycle_momentum: bool,
    step_num: usize,
    last: f64,
}

impl OneCycleLR {
    /// Sets the rate to `max_lr / div_factor` (and the momentum to `max_momentum`) at once.
    pub fn new(
        opt: &mut dyn Optimizer,
        max_lr: f64,
        total_steps: usize,
        config: OneCycleLRConfig,
    ) -> OneCycleLR {
        assert!(total_steps > 0, "OneCycleLR: total_steps must be positive");
        assert!(
            (0.0..=1.0).contains(&config.pct_start),
            "OneCycleLR: pct_start must be in [0, 1] (got {})",
            config.pct_start
        );
        let initial = max_lr / config.div_factor;
        let min = initial / config.final_div_factor;
        let (lo_m, hi_m) = (config.base_momentum, config.max_momentum);
        let n = total_steps as f64;
        let up = config.pct_start * n - 1.0;
        let phases = if config.three_phase {
            vec![
                Phase {
                    end_step: up,
                    lr: (initial, max_lr),
                    momentum: (hi_m, lo_m),
                },
                Phase {
                    end_step: 2.0 * config.pct_start * n - 2.0,
                    lr: (max_lr, initial),
                    momentum: (lo_m, hi_m),
                },
                Phase {
                    end_step: n - 1.0,
                    lr: (initial, min),
                    momentum: (hi_m, hi_m),
                },
            ]
        } else {
            vec![
                Phase {
                    end_step: up,
                    lr: (initial, max_lr),
                    momentum: (hi_m, lo_m),
                },
                Phase {
                    end_step: n - 1.0,
                    lr: (max_lr, min),
                    momentum: (lo_m, hi_m),
                },
            ]
        };
        if config.cycle_momentum {
            assert!(
                opt.set_momentum(hi_m),
                "OneCycleLR: optimizer must support momentum or betas with cycle_momentum enabled"
            );
        }
        opt.set_lr(initial);
        opt.set_initial_lr(initial);
        attach(opt);
        let mut s = OneCycleLR {
            phases,
            total_steps,
            strategy: config.anneal_strategy,
            cycle_momentum: config.cycle_momentum,
            step_num: 0,
            last: initial,
        };
        s.apply(opt);
        s
    }

    fn apply(&mut self, opt: &mut dyn Optimizer) {
        assert!(
            self.step_num <= self.total_steps,
            "OneCycleLR: tried to step {} times; total_steps is {}",
            self.step_num,
            self.total_steps
        );
        let step = self.step_num as f64;
        let mut start = 0.0;
        let last = self.phases.len() - 1;
        for (i, p) in self.phases.iter().enumerate() {
            if step <= p.end_step || i == last {
                let pct = (step - start) / (p.end_step - start);
                self.last = set(opt, self.strategy.at(p.lr.0, p.lr.1, pct));
                if self.cycle_momentum {
                    opt.set_momentum(self.strategy.at(p.momentum.0, p.momentum.1, pct));
                }
                return;
            }
            start = p.end_step;
        }
    }
}

impl LrScheduler for OneCycleLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.step_num += 1;
        self.apply(opt);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.step_num = 0;
        self.apply(opt);
    }
}

/// `CosineAnnealingWarmRestarts(t_0, t_mult, eta_min)`: cosine annealing from the base rate to
/// `eta_min` over `t_0` epochs, then a restart; each period is `t_mult` times the last.
pub struct CosineAnnealingWarmRestarts {
    base: f64,
    t_i: usize,
    t_mult: usize,
    t_cur: usize,
    eta_min: f64,
    t_0: usize,
    last: f64,
}

impl CosineAnnealingWarmRestarts {
    /// From the optimizer's base learning rate.
    pub fn new(opt: &mut dyn Optimizer, t_0: usize, t_mult: usize, eta_min: f64) -> Self {
        assert!(t_0 > 0, "CosineAnnealingWarmRestarts: T_0 must be positive");
        assert!(
            t_mult >= 1,
            "CosineAnnealingWarmRestarts: T_mult must be at least 1"
        );
        let base = attach(opt);
        let mut s = CosineAnnealingWarmRestarts {
            base,
            t_i: t_0,
            t_mult,
            t_cur: 0,
            eta_min,
            t_0,
            last: 0.0,
        };
        s.restart(opt);
        s
    }

    fn apply(&mut self, opt: &mut dyn Optimizer) {
        let c = (PI * self.t_cur as f64 / self.t_i as f64).cos();
        self.last = set(
            opt,
            self.eta_min + (self.base - self.eta_min) * (1.0 + c) / 2.0,
        );
    }
}

impl LrScheduler for CosineAnnealingWarmRestarts {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.t_cur += 1;
        if self.t_cur >= self.t_i {
            self.t_cur -= self.t_i;
            self.t_i *= self.t_mult;
        }
        self.apply(opt);
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.t_cur = 0;
        self.t_i = self.t_0;
        self.apply(opt);
    }
}
