//! Adadelta, as PyTorch and Keras compute it (the same equations, different defaults).

use super::{for_each_param, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// `torch.optim.Adadelta`'s hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdadeltaConfig {
    /// Scales the computed step (PyTorch's default 1.0; Keras's 0.001).
    pub lr: f64,
    /// Decay of both running averages.
    pub rho: f64,
    /// Added inside both square roots.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        AdadeltaConfig {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
        }
    }
}

const NAMES: [&str; 2] = ["square_avg", "acc_delta"];

/// `torch.optim.Adadelta(params, lr)`: `v = rho v + (1-rho) g²`,
/// `d = sqrt(u + eps) / sqrt(v + eps) · g`, `u = rho u + (1-rho) d²`, `p -= lr d`.
///
/// ```
/// use tandem_nn::optim::{Adadelta, Optimizer};
/// let w = tandem_core::Tensor::new([1.0, -2.0]).requires_grad_(true);
/// let mut opt = Adadelta::new(vec![w.clone()], 1.0);
/// (&w * &w).sum().backward();
/// opt.step();
/// // The first step is sqrt(eps) / sqrt(0.1 g² + eps) · g: about 0.003 against the gradient.
/// let w = w.to_vec::<f32>();
/// assert!((w[0] - (1.0 - 0.00316)).abs() < 1e-4 && (w[1] + 2.0 - 0.00316).abs() < 1e-4);
/// ```
pub struct Adadelta {
    groups: Vec<ParamGroup<AdadeltaConfig>>,
    slots: Vec<Slots>,
}

super::grouped_optimizer_constructors!(Adadelta, AdadeltaConfig, 2);

impl Optimizer for Adadelta {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            let (lr, rho, eps, wd) = (
                c.lr as f32,
                c.rho as f32,
                c.eps as f32,
                c.weight_decay as f32,
            );
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let [v, u] = &mut slots.bufs[i][..] else {
                    unreachable!("two buffers")
                };
                if v.is_empty() {
                    v.resize(p.len(), 0.0);
                    u.resize(p.len(), 0.0);
                }
                for (((pv, &gv), vv), uv) in p.iter_mut().zip(g).zip(v.iter_mut()).zip(u.iter_mut())
                {
                    let gv = gv + wd * *pv;
                    *vv = *vv * rho + (1.0 - rho) * gv * gv;
                    let d = (*uv + eps).sqrt() / (*vv + eps).sqrt() * gv;
                    *uv = *uv * rho + (1.0 - rho) * d * d;
                    *pv -= lr * d;
                }
            });
        }
    }

    super::grouped_optimizer_methods!(NAMES);
}
