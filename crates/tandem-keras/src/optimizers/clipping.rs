//! Keras's gradient clipping options (`clipnorm`, `clipvalue`, `global_clipnorm`), applied to
//! the gradients before the wrapped optimizer's update.

use tandem_core::{autograd, Tensor};
use tandem_nn::optim::{get_total_norm, Optimizer as NnOptimizer};

/// How gradients are clipped before each update.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Clipping {
    /// Each gradient's own L2 norm is at most this (`tf.clip_by_norm`).
    pub clipnorm: Option<f64>,
    /// Each gradient element lies in `[-clipvalue, clipvalue]`.
    pub clipvalue: Option<f64>,
    /// The L2 norm of all gradients together is at most this (`tf.clip_by_global_norm`).
    pub global_clipnorm: Option<f64>,
}

impl Clipping {
    /// Clips the `.grad` of every parameter in place, as Keras's `_clip_gradients` does.
    pub fn apply(&self, params: &[Tensor]) {
        let scaled = |p: &Tensor, g: &Tensor, s: f64| {
            p.set_grad(Some(autograd::no_grad(|| g * s)));
        };
        if let Some(c) = self.clipnorm {
            for p in params {
                if let Some(g) = p.grad() {
                    let norm = get_total_norm(std::slice::from_ref(&g));
                    if norm > c {
                        scaled(p, &g, c / norm);
                    }
                }
            }
        }
        if let Some(c) = self.global_clipnorm {
            let grads: Vec<Tensor> = params.iter().filter_map(Tensor::grad).collect();
            let norm = get_total_norm(&grads);
            if norm > c {
                for p in params {
                    if let Some(g) = p.grad() {
                        scaled(p, &g, c / norm);
                    }
                }
            }
        }
        if let Some(c) = self.clipvalue {
            for p in params {
                if let Some(g) = p.grad() {
                    p.set_grad(Some(g.clamp(Some(-c), Some(c))));
                }
            }
        }
    }
}

/// An optimizer that clips the gradients, then steps the wrapped one.
pub(crate) struct Clipped {
    pub(crate) inner: Box<dyn NnOptimizer + Send>,
    pub(crate) clipping: Clipping,
}

impl NnOptimizer for Clipped {
    fn step(&mut self) {
        self.clipping.apply(&self.inner.params());
        self.inner.step();
    }
    fn params(&self) -> Vec<Tensor> {
        self.inner.params()
    }
    fn zero_grad(&mut self) {
        self.inner.zero_grad()
    }
    fn lr(&self) -> f64 {
        self.inner.lr()
    }
    fn set_lr(&mut self, lr: f64) {
        self.inner.set_lr(lr)
    }
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        self.inner.state_dict()
    }
    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<(), String> {
        self.inner.load_state_dict(state)
    }
    fn initial_lr(&self) -> Option<f64> {
        self.inner.initial_lr()
    }
    fn set_initial_lr(&mut self, lr: f64) {
        self.inner.set_initial_lr(lr)
    }
}
