//! RMSprop, as PyTorch computes it (optionally centered, with momentum).

use super::{for_each_param, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// `torch.optim.RMSprop`'s hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct RMSpropConfig {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty.
    pub weight_decay: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Normalize by the variance estimate instead of the second moment.
    pub centered: bool,
}

impl Default for RMSpropConfig {
    fn default() -> Self {
        RMSpropConfig {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

const NAMES: [&str; 3] = ["square_avg", "momentum_buffer", "grad_avg"];

/// `torch.optim.RMSprop(params, lr)`.
pub struct RMSprop {
    groups: Vec<ParamGroup<RMSpropConfig>>,
    slots: Vec<Slots>,
}

impl RMSprop {
    /// One group with `lr` and PyTorch's defaults.
    pub fn new(params: Vec<Tensor>, lr: f64) -> RMSprop {
        RMSprop::with_config(
            params,
            RMSpropConfig {
                lr,
                ..Default::default()
            },
        )
    }

    /// One group with every option.
    pub fn with_config(params: Vec<Tensor>, config: RMSpropConfig) -> RMSprop {
        RMSprop {
            slots: vec![Slots::new(params.len(), 3)],
            groups: vec![ParamGroup::new(params, config)],
        }
    }
}

impl Optimizer for RMSprop {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            let (lr, alpha, eps, wd, mom) = (
                c.lr as f32,
                c.alpha as f32,
                c.eps as f32,
                c.weight_decay as f32,
                c.momentum as f32,
            );
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let [sq, buf, gavg] = &mut slots.bufs[i][..] else {
                    unreachable!("three buffers")
                };
                if sq.is_empty() {
                    sq.resize(p.len(), 0.0);
                    if mom > 0.0 {
                        buf.resize(p.len(), 0.0);
                    }
                    if c.centered {
                        gavg.resize(p.len(), 0.0);
                    }
                }
                for j in 0..p.len() {
                    let gv = g[j] + wd * p[j];
                    sq[j] = alpha * sq[j] + (1.0 - alpha) * gv * gv;
                    let avg = if c.centered {
                        gavg[j] = alpha * gavg[j] + (1.0 - alpha) * gv;
                        (sq[j] - gavg[j] * gavg[j]).sqrt() + eps
                    } else {
                        sq[j].sqrt() + eps
                    };
                    if mom > 0.0 {
                        buf[j] = mom * buf[j] + gv / avg;
                        p[j] -= lr * buf[j];
                    } else {
                        p[j] -= lr * gv / avg;
                    }
                }
            });
        }
    }

    super::grouped_optimizer_methods!(NAMES);
}
