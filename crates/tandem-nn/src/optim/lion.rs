//! Lion (evolved sign momentum) and FTRL-Proximal, as Keras computes them.

use super::{for_each_param, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// Lion's hyper-parameters (`keras.optimizers.Lion`).
#[derive(Clone, Copy, Debug)]
pub struct LionConfig {
    /// Learning rate (Lion wants 3-10x smaller rates than Adam).
    pub lr: f64,
    /// Interpolation between momentum and gradient for the update's sign.
    pub beta_1: f64,
    /// Decay of the momentum.
    pub beta_2: f64,
}

impl Default for LionConfig {
    fn default() -> Self {
        LionConfig {
            lr: 1e-3,
            beta_1: 0.9,
            beta_2: 0.99,
        }
    }
}

/// Lion: `p -= lr · sign(b1 m + (1-b1) g)`, then `m = b2 m + (1-b2) g`.
///
/// ```
/// use tandem_nn::optim::{Lion, Optimizer};
/// let w = tandem_core::Tensor::new([1.0, -2.0]).requires_grad_(true);
/// let mut opt = Lion::new(vec![w.clone()], 0.1);
/// (&w * &w).sum().backward();
/// opt.step();
/// let w = w.to_vec::<f32>();
/// assert!((w[0] - 0.9).abs() < 1e-6 && (w[1] + 1.9).abs() < 1e-6);
/// ```
pub struct Lion {
    groups: Vec<ParamGroup<LionConfig>>,
    slots: Vec<Slots>,
}

impl Lion {
    /// One group with `lr` and Keras's betas (0.9, 0.99).
    pub fn new(params: Vec<Tensor>, lr: f64) -> Lion {
        Lion::with_config(
            params,
            LionConfig {
                lr,
                ..Default::default()
            },
        )
    }

    /// One group with every option.
    pub fn with_config(params: Vec<Tensor>, config: LionConfig) -> Lion {
        Lion {
            slots: vec![Slots::new(params.len(), 1)],
            groups: vec![ParamGroup::new(params, config)],
        }
    }
}

impl Optimizer for Lion {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            let (lr, b1, b2) = (c.lr as f32, c.beta_1 as f32, c.beta_2 as f32);
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let m = &mut slots.bufs[i][0];
                if m.is_empty() {
                    m.resize(p.len(), 0.0);
                }
                for ((pv, &gv), mv) in p.iter_mut().zip(g).zip(m.iter_mut()) {
                    let u = *mv * b1 + gv * (1.0 - b1);
                    // Keras's sign: 0 for 0.
                    let s = if u > 0.0 {
                        1.0
                    } else if u < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                    *pv -= lr * s;
                    *mv = *mv * b2 + gv * (1.0 - b2);
                }
            });
        }
    }

    super::grouped_optimizer_methods!(["momentum"], momentum = beta_1);
}

/// FTRL-Proximal's hyper-parameters (`keras.optimizers.Ftrl`).
#[derive(Clone, Copy, Debug)]
pub struct FtrlConfig {
    /// Learning rate.
    pub lr: f64,
    /// How the rate shrinks with the accumulated squared gradients (at most 0).
    pub learning_rate_power: f64,
    /// Starting value of the accumulators.
    pub initial_accumulator_value: f64,
    /// L1 strength (makes weights exactly 0).
    pub l1: f64,
    /// L2 strength.
    pub l2: f64,
    /// L2 shrinkage strength, added to the gradient as `2 · l2_shrinkage · p`.
    pub l2_shrinkage: f64,
    /// `beta`, added to the L2 term as `beta / (2 lr)`.
    pub beta: f64,
}

impl Default for FtrlConfig {
    fn default() -> Self {
        FtrlConfig {
            lr: 1e-3,
            learning_rate_power: -0.5,
            initial_accumulator_value: 0.1,
            l1: 0.0,
            l2: 0.0,
            l2_shrinkage: 0.0,
            beta: 0.0,
        }
    }
}

/// FTRL-Proximal (McMahan et al., 2013), as Keras's `Ftrl` computes it: the weights are the
/// closed-form minimiser of the linear term `z` with L1/L2 penalties.
///
/// ```
/// use tandem_nn::optim::{Ftrl, FtrlConfig, Optimizer};
/// let w = tandem_core::Tensor::new([1.0, -2.0]).requires_grad_(true);
/// let cfg = FtrlConfig { lr: 0.1, ..Default::default() };
/// let mut opt = Ftrl::with_config(vec![w.clone()], cfg);
/// for _ in 0..50 {
///     opt.zero_grad();
///     (&w * &w).sum().backward();
///     opt.step();
/// }
/// assert!(w.abs().max().item::<f32>() < 1.0);
/// ```
pub struct Ftrl {
    groups: Vec<ParamGroup<FtrlConfig>>,
    slots: Vec<Slots>,
}

impl Ftrl {
    /// One group with every option.
    pub fn with_config(params: Vec<Tensor>, config: FtrlConfig) -> Ftrl {
        assert!(
            config.learning_rate_power <= 0.0,
            "Ftrl: learning_rate_power must be at most 0 (got {})",
            config.learning_rate_power
        );
        Ftrl {
            slots: vec![Slots::new(params.len(), 2)],
            groups: vec![ParamGroup::new(params, config)],
        }
    }
}

impl Optimizer for Ftrl {
    fn step(&mut self) {
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            let lr = c.lr as f32;
            let power = -c.learning_rate_power as f32;
            let l1 = c.l1 as f32;
            let l2 = (c.l2 + c.beta / (2.0 * c.lr)) as f32;
            let shrink = (2.0 * c.l2_shrinkage) as f32;
            for_each_param(&group.params, |i, p, g| {
                slots.steps[i] += 1;
                let [acc, lin] = &mut slots.bufs[i][..] else {
                    unreachable!("two buffers")
                };
                if acc.is_empty() {
                    acc.resize(p.len(), c.initial_accumulator_value as f32);
                    lin.resize(p.len(), 0.0);
                }
                for (((pv, &gv), av), zv) in
                    p.iter_mut().zip(g).zip(acc.iter_mut()).zip(lin.iter_mut())
                {
                    let grad = gv + shrink * *pv;
                    let new_acc = *av + gv * gv;
                    let new_pow = new_acc.powf(power);
                    *zv += grad - (new_pow - av.powf(power)) / lr * *pv;
                    let quadratic = new_pow / lr + 2.0 * l2;
                    let clipped = zv.clamp(-l1, l1);
                    *pv = (clipped - *zv) / quadratic;
                    *av = new_acc;
                }
            });
        }
    }

    super::grouped_optimizer_methods!(["accumulator", "linear"]);
}
