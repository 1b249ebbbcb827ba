//! NAdam (Adam with Nesterov momentum and a momentum schedule), as PyTorch computes it.

use super::{for_each_param, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// `torch.optim.NAdam`'s hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct NAdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the bias-corrected `sqrt(v)`.
    pub eps: f64,
    /// L2 penalty (or decoupled decay with `decoupled_weight_decay`).
    pub weight_decay: f64,
    /// The momentum schedule's decay: `mu_t = b1 (1 - 0.5 · 0.96^(t · momentum_decay))`.
    pub momentum_decay: f64,
    /// Decay the weights directly (`p *= 1 - lr wd`) instead of adding `wd p` to the gradient.
    pub decoupled_weight_decay: bool,
}

impl Default for NAdamConfig {
    fn default() -> Self {
        NAdamConfig {
            lr: 2e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
        }
    }
}

const NAMES: [&str; 3] = ["exp_avg", "exp_avg_sq", "mu_product"];

/// `torch.optim.NAdam(params, lr)` (and Keras's `Nadam`, the same update).
///
/// ```
/// use tandem_nn::optim::{NAdam, Optimizer};
/// let w = tandem_core::Tensor::new([1.0, -2.0]).requires_grad_(true);
/// let mut opt = NAdam::new(vec![w.clone()], 0.1);
/// for _ in 0..20 {
///     opt.zero_grad();
///     (&w * &w).sum().backward();
///     opt.step();
/// }
/// assert!(w.abs().max().item::<f32>() < 1.0);
/// ```
pub struct NAdam {
    groups: Vec<ParamGroup<NAdamConfig>>,
    slots: Vec<Slots>,
}

super::grouped_optimizer_constructors!(NAdam, NAdamConfig, 3);

impl Optimizer for NAdam {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let t = slots.steps[i] as f64;
                let [m, v, mu_product] = &mut slots.bufs[i][..] else {
                    unreachable!("three buffers")
                };
                if m.is_empty() {
                    m.resize(p.len(), 0.0);
                    v.resize(p.len(), 0.0);
                    mu_product.push(1.0);
                }
                let (b1, b2) = c.betas;
                let bc2 = 1.0 - b2.powf(t);
                let mu = b1 * (1.0 - 0.5 * 0.96f64.powf(t * c.momentum_decay));
                let mu_next = b1 * (1.0 - 0.5 * 0.96f64.powf((t + 1.0) * c.momentum_decay));
                // PyTorch keeps the running product as a float32 tensor.
                mu_product[0] = (mu_product[0] as f64 * mu) as f32;
                let prod = mu_product[0] as f64;
                let grad_coef = (-c.lr * (1.0 - mu) / (1.0 - prod)) as f32;
                let avg_coef = (-c.lr * mu_next / (1.0 - prod * mu_next)) as f32;
                let (b1, b2, eps, wd) = (b1 as f32, b2 as f32, c.eps as f32, c.weight_decay as f32);
                let decay = 1.0 - (c.lr * c.weight_decay) as f32;
                let bc2 = bc2 as f32;
                for (((pv, &gv), mv), vv) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                {
                    let gv = if c.decoupled_weight_decay {
                        *pv *= decay;
                        gv
                    } else {
                        gv + wd * *pv
                    };
                    *mv += (gv - *mv) * (1.0 - b1);
                    *vv = *vv * b2 + (1.0 - b2) * gv * gv;
                    let denom = (*vv / bc2).sqrt() + eps;
                    *pv += grad_coef * gv / denom;
                    *pv += avg_coef * *mv / denom;
                }
            });
        }
    }

    super::grouped_optimizer_methods!(NAMES, momentum = betas.0);
}
