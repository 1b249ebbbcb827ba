//! RAdam (Adam with a rectified adaptive rate), as PyTorch computes it.

use super::{for_each_param, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// `torch.optim.RAdam`'s hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct RAdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to `sqrt(v)`.
    pub eps: f64,
    /// L2 penalty (or decoupled decay with `decoupled_weight_decay`).
    pub weight_decay: f64,
    /// Decay the weights directly (`p *= 1 - lr wd`) instead of adding `wd p` to the gradient.
    pub decoupled_weight_decay: bool,
}

impl Default for RAdamConfig {
    fn default() -> Self {
        RAdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
        }
    }
}

const NAMES: [&str; 2] = ["exp_avg", "exp_avg_sq"];

/// `torch.optim.RAdam(params, lr)`: while the variance of the adaptive rate is intractable
/// (`rho_t <= 5`) the step is plain momentum SGD, `p -= lr m̂`; afterwards Adam's step scaled by
/// the rectification term `r_t`.
///
/// ```
/// use tandem_nn::optim::{Optimizer, RAdam};
/// let w = tandem_core::Tensor::new([1.0, -2.0]).requires_grad_(true);
/// let mut opt = RAdam::new(vec![w.clone()], 0.1);
/// (&w * &w).sum().backward();
/// opt.step();
/// // The first step is un-rectified: p -= lr · g.
/// let w = w.to_vec::<f32>();
/// assert!((w[0] - 0.8).abs() < 1e-6 && (w[1] + 1.6).abs() < 1e-6);
/// ```
pub struct RAdam {
    groups: Vec<ParamGroup<RAdamConfig>>,
    slots: Vec<Slots>,
}

super::grouped_optimizer_constructors!(RAdam, RAdamConfig, 2);

impl Optimizer for RAdam {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let t = slots.steps[i] as f64;
                let [m, v] = &mut slots.bufs[i][..] else {
                    unreachable!("two buffers")
                };
                if m.is_empty() {
                    m.resize(p.len(), 0.0);
                    v.resize(p.len(), 0.0);
                }
                let (b1, b2) = c.betas;
                let bc1 = 1.0 - b1.powf(t);
                let bc2 = 1.0 - b2.powf(t);
                let rho_inf = 2.0 / (1.0 - b2) - 1.0;
                let rho_t = rho_inf - 2.0 * t * b2.powf(t) / bc2;
                let rect = (rho_t > 5.0).then(|| {
                    ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                        / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                        .sqrt()
                });
                let (lr, eps, wd) = (c.lr as f32, c.eps as f32, c.weight_decay as f32);
                let (b1f, b2f, bc1f) = (b1 as f32, b2 as f32, bc1 as f32);
                let decay = 1.0 - lr * wd;
                let (rect, bc2_sqrt) = (rect.map(|r| r as f32), bc2.sqrt() as f32);
                for (((pv, &gv), mv), vv) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                {
                    let gv = if c.decoupled_weight_decay {
                        *pv *= decay;
                        gv
                    } else {
                        gv + wd * *pv
                    };
                    *mv += (gv - *mv) * (1.0 - b1f);
                    *vv = *vv * b2f + (1.0 - b2f) * gv * gv;
                    let m_hat = *mv / bc1f;
                    *pv -= match rect {
                        Some(r) => m_hat * lr * (bc2_sqrt / (vv.sqrt() + eps)) * r,
                        None => m_hat * lr,
                    };
                }
            });
        }
    }

    super::grouped_optimizer_methods!(NAMES, momentum = betas.0);
}
