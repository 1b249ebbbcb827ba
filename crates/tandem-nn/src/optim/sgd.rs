//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

use super::{for_each_param, par_update, par_zip2, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// `torch.optim.SGD`'s hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// L2 penalty.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 0.01,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

/// `torch.optim.SGD(params, lr, momentum)`.
///
/// ```
/// use tandem_nn::optim::{Optimizer, SGD};
/// let w = tandem_core::Tensor::new([1.0, 2.0]).requires_grad_(true);
/// let mut opt = SGD::new(vec![w.clone()], 0.1, 0.0);
/// (&w * &w).sum().backward();
/// opt.step();
/// assert_eq!(w.to_vec::<f32>(), vec![0.8, 1.6]);
/// ```
pub struct SGD {
    groups: Vec<ParamGroup<SgdConfig>>,
    slots: Vec<Slots>,
}

impl SGD {
    /// One group with `lr` and `momentum`.
    pub fn new(params: Vec<Tensor>, lr: f64, momentum: f64) -> SGD {
        SGD::with_config(
            params,
            SgdConfig {
                lr,
                momentum,
                ..Default::default()
            },
        )
    }

    /// One group with every option.
    pub fn with_config(params: Vec<Tensor>, config: SgdConfig) -> SGD {
        let mut s = SGD {
            groups: Vec::new(),
            slots: Vec::new(),
        };
        s.add_param_group(params, config);
        s
    }

    /// Adds a group with its own hyper-parameters (`add_param_group`).
    pub fn add_param_group(&mut self, params: Vec<Tensor>, config: SgdConfig) {
        assert!(
            !(config.nesterov && (config.momentum <= 0.0 || config.dampening != 0.0)),
            "Nesterov momentum requires a momentum and zero dampening"
        );
        self.slots.push(Slots::new(params.len(), 1));
        self.groups.push(ParamGroup::new(params, config));
    }
}

impl Optimizer for SGD {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            let (lr, mom, damp, wd) = (
                c.lr as f32,
                c.momentum as f32,
                c.dampening as f32,
                c.weight_decay as f32,
            );
            if mom == 0.0 {
                for_each_param(&group.params, |i, p, g| {
                    slots.steps[i] += 1;
                    par_zip2(p, g, |pv, gv| *pv -= lr * (gv + wd * *pv));
                });
                continue;
            }
            let nesterov = c.nesterov;
            par_update(
                &group.params,
                slots,
                #[inline(always)]
                |step, p, g, state| {
                    let [buf] = state else {
                        unreachable!("one buffer")
                    };
                    // PyTorch's buffer starts as the gradient itself, without dampening.
                    let first = step.fresh;
                    for ((pv, &gv), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                        let d = gv + wd * *pv;
                        *b = if first {
                            d
                        } else {
                            mom * *b + (1.0 - damp) * d
                        };
                        *pv -= lr * if nesterov { d + mom * *b } else { *b };
                    }
                },
            );
        }
    }

    super::grouped_optimizer_methods!(["momentum_buffer"], momentum = momentum);
}
