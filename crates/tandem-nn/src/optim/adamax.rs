//! Adamax (Adam with the infinity norm), as PyTorch and as Keras compute it.

use super::{for_each_param, AdamConfig, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

const NAMES: [&str; 2] = ["exp_avg", "exp_inf"];

/// `torch.optim.Adamax(params, lr)`: `m = lerp(m, g, 1-b1)`, `u = max(b2 u, |g| + eps)`,
/// `p -= lr / (1 - b1^t) · m / u`.
///
/// ```
/// use tandem_nn::optim::{Adamax, Optimizer};
/// let w = tandem_core::Tensor::new([1.0, -2.0]).requires_grad_(true);
/// let mut opt = Adamax::new(vec![w.clone()], 0.1);
/// (&w * &w).sum().backward();
/// opt.step();
/// // The first step is lr · sign(g) (m / u = g / |g| after bias correction).
/// let w = w.to_vec::<f32>();
/// assert!((w[0] - 0.9).abs() < 1e-6 && (w[1] + 1.9).abs() < 1e-6);
/// ```
pub struct Adamax {
    groups: Vec<ParamGroup<AdamConfig>>,
    slots: Vec<Slots>,
    /// Keras's form: `u = max(b2 u, |g|)` and `eps` added to `u` in the division.
    keras: bool,
}

impl Adamax {
    /// One group with `lr` and PyTorch's defaults (betas 0.9, 0.999; eps 1e-8).
    pub fn new(params: Vec<Tensor>, lr: f64) -> Adamax {
        Adamax::with_config(
            params,
            AdamConfig {
                lr,
                ..Default::default()
            },
        )
    }

    /// One group with every option.
    pub fn with_config(params: Vec<Tensor>, config: AdamConfig) -> Adamax {
        let mut a = Adamax {
            groups: Vec::new(),
            slots: Vec::new(),
            keras: false,
        };
        a.add_param_group(params, config);
        a
    }

    /// Adamax as Keras computes it: `u = max(b2 u, |g|)`, `p -= lr m / ((1 - b1^t)(u + eps))`.
    pub fn keras(params: Vec<Tensor>, config: AdamConfig) -> Adamax {
        let mut a = Adamax::with_config(params, config);
        a.keras = true;
        a
    }

    /// Adds a group with its own hyper-parameters.
    pub fn add_param_group(&mut self, params: Vec<Tensor>, config: AdamConfig) {
        self.slots.push(Slots::new(params.len(), 2));
        self.groups.push(ParamGroup::new(params, config));
    }
}

impl Optimizer for Adamax {
    fn step(&mut self) {
        let keras = self.keras;
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let t = slots.steps[i] as i32;
                let [m, u] = &mut slots.bufs[i][..] else {
                    unreachable!("two buffers")
                };
                if m.is_empty() {
                    m.resize(p.len(), 0.0);
                    u.resize(p.len(), 0.0);
                }
                let (b1, b2) = (c.betas.0 as f32, c.betas.1 as f32);
                let (eps, wd) = (c.eps as f32, c.weight_decay as f32);
                let clr = (c.lr / (1.0 - c.betas.0.powi(t))) as f32;
                for (((pv, &gv), mv), uv) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(u.iter_mut())
                {
                    let gv = gv + wd * *pv;
                    *mv += (gv - *mv) * (1.0 - b1);
                    if keras {
                        *uv = (b2 * *uv).max(gv.abs());
                        *pv -= clr * *mv / (*uv + eps);
                    } else {
                        *uv = (b2 * *uv).max(gv.abs() + eps);
                        *pv -= clr * *mv / *uv;
                    }
                }
            });
        }
    }

    super::grouped_optimizer_methods!(NAMES, momentum = betas.0);
}
