//! Adagrad, as PyTorch computes it.

use super::{for_each_param, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// `torch.optim.Adagrad`'s hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdagradConfig {
    /// Learning rate.
    pub lr: f64,
    /// Learning-rate decay per step.
    pub lr_decay: f64,
    /// L2 penalty.
    pub weight_decay: f64,
    /// Starting value of the squared-gradient sums.
    pub initial_accumulator_value: f64,
    /// Added to the denominator.
    pub eps: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 0.01,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// `torch.optim.Adagrad(params, lr)`.
pub struct Adagrad {
    groups: Vec<ParamGroup<AdagradConfig>>,
    slots: Vec<Slots>,
}

impl Adagrad {
    /// One group with `lr` and PyTorch's defaults.
    pub fn new(params: Vec<Tensor>, lr: f64) -> Adagrad {
        Adagrad::with_config(
            params,
            AdagradConfig {
                lr,
                ..Default::default()
            },
        )
    }

    /// One group with every option.
    pub fn with_config(params: Vec<Tensor>, config: AdagradConfig) -> Adagrad {
        Adagrad {
            slots: vec![Slots::new(params.len(), 1)],
            groups: vec![ParamGroup::new(params, config)],
        }
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let clr = (c.lr / (1.0 + (slots.steps[i] - 1) as f64 * c.lr_decay)) as f32;
                let sum = &mut slots.bufs[i][0];
                if sum.is_empty() {
                    sum.resize(p.len(), c.initial_accumulator_value as f32);
                }
                let (wd, eps) = (c.weight_decay as f32, c.eps as f32);
                for ((pv, &gv), s) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
                    let gv = gv + wd * *pv;
                    *s += gv * gv;
                    *pv -= clr * gv / (s.sqrt() + eps);
                }
            });
        }
    }

    super::grouped_optimizer_methods!(["sum"]);
}
