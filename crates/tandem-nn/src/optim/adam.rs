//! Adam and AdamW (decoupled weight decay), as PyTorch computes them.

use super::{par_update, Optimizer, ParamGroup, Slots};
use tandem_core::Tensor;

/// `torch.optim.Adam`'s hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty (Adam) or decoupled decay (AdamW).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

const NAMES: [&str; 2] = ["exp_avg", "exp_avg_sq"];

/// `torch.optim.Adam(params, lr)`.
pub struct Adam {
    groups: Vec<ParamGroup<AdamConfig>>,
    slots: Vec<Slots>,
    decoupled: bool,
    /// Keras's form: `eps` added to the uncorrected `sqrt(v)`.
    eps_uncorrected: bool,
}

/// `torch.optim.AdamW(params, lr, weight_decay=0.01)`: Adam with decoupled weight decay.
pub struct AdamW;

impl AdamW {
    /// AdamW with PyTorch's default weight decay (0.01).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(params: Vec<Tensor>, lr: f64) -> Adam {
        AdamW::with_config(
            params,
            AdamConfig {
                lr,
                weight_decay: 0.01,
                ..Default::default()
            },
        )
    }

    /// AdamW with every option.
    pub fn with_config(params: Vec<Tensor>, config: AdamConfig) -> Adam {
        let mut a = Adam {
            groups: Vec::new(),
            slots: Vec::new(),
            decoupled: true,
            eps_uncorrected: false,
        };
        a.add_param_group(params, config);
        a
    }
}

impl Adam {
    /// One group with `lr` and the default betas and eps.
    pub fn new(params: Vec<Tensor>, lr: f64) -> Adam {
        Adam::with_config(
            params,
            AdamConfig {
                lr,
                ..Default::default()
            },
        )
    }

    /// One group with every option.
    pub fn with_config(params: Vec<Tensor>, config: AdamConfig) -> Adam {
        let mut a = Adam {
            groups: Vec::new(),
            slots: Vec::new(),
            decoupled: false,
            eps_uncorrected: false,
        };
        a.add_param_group(params, config);
        a
    }

    /// Adam as Keras computes it: `p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`,
    /// i.e. `eps` is added before the second moment's bias correction (the "epsilon hat" of the
    /// Adam paper's section 2) where PyTorch adds it after, with the bias corrections computed
    /// in float32 as Keras does.
    pub fn keras(params: Vec<Tensor>, config: AdamConfig) -> Adam {
        let mut a = Adam::with_config(params, config);
        a.eps_uncorrected = true;
        a
    }

    /// AdamW as Keras computes it: Keras's Adam after `p -= p · weight_decay · lr`.
    pub fn keras_w(params: Vec<Tensor>, config: AdamConfig) -> Adam {
        let mut a = Adam::keras(params, config);
        a.decoupled = true;
        a
    }

    /// Adds a group with its own hyper-parameters.
    pub fn add_param_group(&mut self, params: Vec<Tensor>, config: AdamConfig) {
        self.slots.push(Slots::new(params.len(), 2));
        self.groups.push(ParamGroup::new(params, config));
    }
}

impl Optimizer for Adam {
    fn step(&mut self) {
        let decoupled = self.decoupled;
        let eps_uncorrected = self.eps_uncorrected;
        for (group, slots) in self.groups.iter().zip(&mut self.slots) {
            let c = group.config;
            par_update(
                &group.params,
                slots,
                #[inline(always)]
                |step, p, g, state| {
                    let [m, v] = state else {
                        unreachable!("two buffers")
                    };
                    let (b1, b2) = (c.betas.0 as f32, c.betas.1 as f32);
                    let (eps, wd, lr) = (c.eps as f32, c.weight_decay as f32, c.lr as f32);
                    if eps_uncorrected {
                        // Keras's update_step, operation for operation in float32 (its bias
                        // corrections are float32 powers too).
                        let tf = step.count as f32;
                        let alpha = lr * (1.0 - b2.powf(tf)).sqrt() / (1.0 - b1.powf(tf));
                        let (one_b1, one_b2) = ((1.0 - c.betas.0) as f32, (1.0 - c.betas.1) as f32);
                        for (((pv, &gv), mv), vv) in
                            p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                        {
                            // Keras decays the variable before the update (its AdamW).
                            let gv = if decoupled {
                                *pv -= *pv * wd * lr;
                                gv
                            } else {
                                gv + wd * *pv
                            };
                            *mv += (gv - *mv) * one_b1;
                            *vv += (gv * gv - *vv) * one_b2;
                            *pv -= (*mv * alpha) / (vv.sqrt() + eps);
                        }
                        return;
                    }
                    let t = step.count as i32;
                    let bc1 = 1.0 - c.betas.0.powi(t);
                    let bc2 = 1.0 - c.betas.1.powi(t);
                    let step_size = (c.lr / bc1) as f32;
                    let bc2_sqrt = bc2.sqrt() as f32;
                    for (((pv, &gv), mv), vv) in
                        p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut())
                    {
                        let mut gv = gv;
                        if decoupled {
                            *pv *= 1.0 - lr * wd;
                        } else {
                            gv += wd * *pv;
                        }
                        *mv = b1 * *mv + (1.0 - b1) * gv;
                        *vv = b2 * *vv + (1.0 - b2) * gv * gv;
                        let denom = vv.sqrt() / bc2_sqrt + eps;
                        *pv -= step_size * *mv / denom;
                    }
                },
            );
        }
    }

    super::grouped_optimizer_methods!(NAMES, momentum = betas.0);
}
