//! Schedulers made of schedulers: `SequentialLR` (one after another) and `ChainedScheduler`
//! (all at once).

use super::{base_lr, LrScheduler};
use crate::optim::Optimizer;

/// `SequentialLR(schedulers, milestones)`: scheduler `i` runs from milestone `i - 1` on; at
/// each milestone the next one restarts from its epoch 0.
///
/// ```
/// use tandem_nn::optim::lr_scheduler::{ExponentialLR, LinearLR, LrScheduler, SequentialLR};
/// use tandem_nn::optim::{Optimizer, SGD};
/// let w = tandem_core::Tensor::new([1.0]).requires_grad_(true);
/// let mut opt = SGD::new(vec![w], 1.0, 0.0);
/// let warmup = LinearLR::new(&mut opt, 0.5, 1.0, 2);
/// let decay = ExponentialLR::new(&opt, 0.5);
/// let mut sched = SequentialLR::new(&mut opt, vec![Box::new(warmup), Box::new(decay)], vec![2]);
/// let mut lrs = vec![opt.lr()];
/// for _ in 0..4 {
///     sched.step(&mut opt);
///     lrs.push(opt.lr());
/// }
/// assert_eq!(lrs, vec![0.5, 0.75, 1.0, 0.5, 0.25]);
/// ```
pub struct SequentialLR {
    schedulers: Vec<Box<dyn LrScheduler + Send>>,
    milestones: Vec<usize>,
    epoch: usize,
    last: f64,
}

impl SequentialLR {
    /// Resets the rate to the base rate and restarts the first scheduler, as PyTorch does.
    pub fn new(
        opt: &mut dyn Optimizer,
        mut schedulers: Vec<Box<dyn LrScheduler + Send>>,
        milestones: Vec<usize>,
    ) -> SequentialLR {
        assert!(!schedulers.is_empty(), "SequentialLR: no schedulers");
        assert_eq!(
            milestones.len() + 1,
            schedulers.len(),
            "SequentialLR: expects one milestone fewer than schedulers"
        );
        assert!(
            milestones.windows(2).all(|w| w[0] <= w[1]),
            "SequentialLR: milestones must be increasing"
        );
        let base = base_lr(opt);
        opt.set_lr(base);
        schedulers[0].restart(opt);
        SequentialLR {
            schedulers,
            milestones,
            epoch: 0,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for SequentialLR {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        self.epoch += 1;
        let idx = self.milestones.partition_point(|&m| m <= self.epoch);
        if idx > 0 && self.milestones[idx - 1] == self.epoch {
            self.schedulers[idx].restart(opt);
        } else {
            self.schedulers[idx].step(opt);
        }
        self.last = opt.lr();
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        self.epoch = 0;
        self.schedulers[0].restart(opt);
        self.last = opt.lr();
    }
}

/// `ChainedScheduler(schedulers)`: every step steps each scheduler in turn on the same rate,
/// so their factors multiply.
pub struct ChainedScheduler {
    schedulers: Vec<Box<dyn LrScheduler + Send>>,
    last: f64,
}

impl ChainedScheduler {
    /// The schedulers, already attached to `opt`.
    pub fn new(opt: &dyn Optimizer, schedulers: Vec<Box<dyn LrScheduler + Send>>) -> Self {
        ChainedScheduler {
            schedulers,
            last: opt.lr(),
        }
    }
}

impl LrScheduler for ChainedScheduler {
    fn step(&mut self, opt: &mut dyn Optimizer) {
        for s in &mut self.schedulers {
            s.step(opt);
        }
        self.last = opt.lr();
    }
    fn get_last_lr(&self) -> f64 {
        self.last
    }
    fn restart(&mut self, opt: &mut dyn Optimizer) {
        for s in &mut self.schedulers {
            s.restart(opt);
        }
        self.last = opt.lr();
    }
}
