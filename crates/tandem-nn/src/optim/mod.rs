//! `torch.optim`: optimizers over parameter groups, with fused update loops over the parameter
//! buffers (no chains of tensor ops), learning-rate schedulers and gradient clipping.

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod clip;
mod lion;
pub mod lr_scheduler;
mod nadam;
mod radam;
mod rmsprop;
mod sgd;

pub use adadelta::{Adadelta, AdadeltaConfig};
pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW};
pub use adamax::Adamax;
pub use clip::{clip_grad_norm_, clip_grad_value_, get_total_norm};
pub use lion::{Ftrl, FtrlConfig, Lion, LionConfig};
pub use lr_scheduler::{
    AnnealStrategy, ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
    ExponentialLR, LambdaLR, LinearLR, LrScheduler, MultiStepLR, OneCycleLR, OneCycleLRConfig,
    ReduceLROnPlateau, SequentialLR, StepLR,
};
pub use nadam::{NAdam, NAdamConfig};
pub use radam::{RAdam, RAdamConfig};
pub use rmsprop::{RMSprop, RMSpropConfig};
pub use sgd::{SgdConfig, SGD};

use tandem_core::Tensor;

/// What every optimizer does (`optimizer.zero_grad()`, `optimizer.step()`).
pub trait Optimizer {
    /// Applies one update to every parameter that has a gradient.
    fn step(&mut self);
    /// Every parameter, all groups.
    fn params(&self) -> Vec<Tensor>;
    /// Clears every parameter's gradient (`set_to_none=True`, PyTorch's default).
    fn zero_grad(&mut self) {
        for p in self.params() {
            p.zero_grad();
        }
    }
    /// Learning rate of the first group.
    fn lr(&self) -> f64;
    /// Sets the learning rate of every group (what schedulers call).
    fn set_lr(&mut self, lr: f64);
    /// The optimizer's state (moment buffers, step counts) as named tensors.
    fn state_dict(&self) -> Vec<(String, Tensor)>;
    /// Restores state saved by `state_dict`; buffers are matched by name and must fit.
    fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<(), String>;
    /// `param_groups[0]["initial_lr"]`: the rate before any scheduler changed it, recorded by
    /// the first scheduler attached (so a second one starts from the same base).
    fn initial_lr(&self) -> Option<f64>;
    /// Records the rate schedulers start from.
    fn set_initial_lr(&mut self, lr: f64);
    /// The momentum (SGD) or first-moment decay (`betas[0]` of the Adam family) of the first
    /// group, for schedulers that cycle it; `None` for optimizers without one.
    fn momentum(&self) -> Option<f64> {
        None
    }
    /// Sets the momentum or `betas[0]` of every group; false when the optimizer has none.
    fn set_momentum(&mut self, _momentum: f64) -> bool {
        false
    }
}

/// The `Optimizer` methods every grouped optimizer shares (parameters, learning rate, state),
/// and with `momentum = field` the momentum accessors over that config field.
macro_rules! grouped_optimizer_methods {
    ($names:expr, momentum = $($field:tt).+) => {
        super::grouped_optimizer_methods!($names);

        fn momentum(&self) -> Option<f64> {
            Some(self.groups[0].config.$($field).+)
        }

        fn set_momentum(&mut self, momentum: f64) -> bool {
            for g in &mut self.groups {
                g.config.$($field).+ = momentum;
            }
            true
        }
    };
    ($names:expr) => {
        fn params(&self) -> Vec<Tensor> {
            self.groups.iter().flat_map(|g| g.params.clone()).collect()
        }

        fn lr(&self) -> f64 {
            self.groups[0].config.lr
        }

        fn set_lr(&mut self, lr: f64) {
            for g in &mut self.groups {
                g.config.lr = lr;
            }
        }

        fn state_dict(&self) -> Vec<(String, Tensor)> {
            super::grouped_state(&self.slots, &$names)
        }

        fn load_state_dict(&mut self, state: &[(String, Tensor)]) -> Result<(), String> {
            super::load_grouped(&mut self.slots, &$names, state)
        }

        fn initial_lr(&self) -> Option<f64> {
            self.groups[0].initial_lr
        }

        fn set_initial_lr(&mut self, lr: f64) {
            for g in &mut self.groups {
                g.initial_lr = Some(lr);
            }
        }
    };
}
pub(crate) use grouped_optimizer_methods;

/// `new(params, lr)`, `with_config` and `add_param_group` for an optimizer that is just its
/// groups and their `n_bufs` buffers per parameter.
macro_rules! grouped_optimizer_constructors {
    ($name:ident, $config:ident, $n_bufs:expr) => {
        impl $name {
            /// One group with `lr` and PyTorch's other defaults.
            pub fn new(params: Vec<Tensor>, lr: f64) -> $name {
                $name::with_config(
                    params,
                    $config {
                        lr,
                        ..Default::default()
                    },
                )
            }

            /// One group with every option.
            pub fn with_config(params: Vec<Tensor>, config: $config) -> $name {
                let mut o = $name {
                    groups: Vec::new(),
                    slots: Vec::new(),
                };
                o.add_param_group(params, config);
                o
            }

            /// Adds a group with its own hyper-parameters (`add_param_group`).
            pub fn add_param_group(&mut self, params: Vec<Tensor>, config: $config) {
                self.slots.push(Slots::new(params.len(), $n_bufs));
                self.groups.push(ParamGroup::new(params, config));
            }
        }
    };
}
pub(crate) use grouped_optimizer_constructors;

/// `group<i>.state.<param>.<buffer>` tensors of every group.
pub(crate) fn grouped_state(slots: &[Slots], names: &[&str]) -> Vec<(String, Tensor)> {
    slots
        .iter()
        .enumerate()
        .flat_map(|(gi, s)| {
            s.to_state(names)
                .into_iter()
                .map(move |(k, t)| (format!("group{gi}.{k}"), t))
        })
        .collect()
}

/// Loads `group<i>.state.<param>.<buffer>` keys into each group's slots.
pub(crate) fn load_grouped(
    slots: &mut [Slots],
    names: &[&str],
    state: &[(String, Tensor)],
) -> Result<(), String> {
    for (gi, s) in slots.iter_mut().enumerate() {
        let prefix = format!("group{gi}.");
        let mine: Vec<(String, Tensor)> = state
            .iter()
            .filter_map(|(k, t)| k.strip_prefix(&prefix).map(|r| (r.to_string(), t.clone())))
            .collect();
        s.load_state(names, &mine)?;
    }
    Ok(())
}

/// A group of parameters sharing hyper-parameters (`param_groups`).
#[derive(Clone, Debug)]
pub struct ParamGroup<C> {
    /// The parameters.
    pub params: Vec<Tensor>,
    /// Their hyper-parameters.
    pub config: C,
    /// The learning rate schedulers start from (`initial_lr`), once one is attached.
    pub initial_lr: Option<f64>,
}

impl<C> ParamGroup<C> {
    /// A group with no scheduler attached yet.
    pub fn new(params: Vec<Tensor>, config: C) -> ParamGroup<C> {
        ParamGroup {
            params,
            config,
            initial_lr: None,
        }
    }
}

/// Per-parameter buffers, kept as plain vectors for the fused loops.
#[derive(Clone, Debug, Default)]
pub(crate) struct Slots {
    pub(crate) bufs: Vec<Vec<Vec<f32>>>,
    pub(crate) steps: Vec<u64>,
}

impl Slots {
    pub(crate) fn new(n_params: usize, n_bufs: usize) -> Slots {
        Slots {
            bufs: vec![vec![Vec::new(); n_bufs]; n_params],
            steps: vec![0; n_params],
        }
    }

    pub(crate) fn to_state(&self, names: &[&str]) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, bufs) in self.bufs.iter().enumerate() {
            out.push((
                format!("state.{i}.step"),
                Tensor::from_vec(vec![self.steps[i] as f32], &[]),
            ));
            for (b, name) in bufs.iter().zip(names) {
                if !b.is_empty() {
                    out.push((
                        format!("state.{i}.{name}"),
                        Tensor::from_vec(b.clone(), &[b.len()]),
                    ));
                }
            }
        }
        out
    }

    pub(crate) fn load_state(
        &mut self,
        names: &[&str],
        state: &[(String, Tensor)],
    ) -> Result<(), String> {
        for (key, t) in state {
            let parts: Vec<&str> = key.split('.').collect();
            let [_, idx, name] = parts[..] else {
                return Err(format!("unexpected key {key}"));
            };
            let i: usize = idx.parse().map_err(|_| format!("unexpected key {key}"))?;
            if i >= self.bufs.len() {
                return Err(format!(
                    "{key}: the optimizer has {} parameters",
                    self.bufs.len()
                ));
            }
            if name == "step" {
                self.steps[i] = t.item::<f32>() as u64;
            } else {
                let b = names
                    .iter()
                    .position(|n| *n == name)
                    .ok_or_else(|| format!("unexpected key {key}"))?;
                self.bufs[i][b] = t.to_vec::<f32>();
            }
        }
        Ok(())
    }
}

/// Each parameter that has a gradient, with its index and the gradient as contiguous float32;
/// panics on a parameter that is not float32.
fn with_grads(params: &[Tensor]) -> impl Iterator<Item = (usize, &Tensor, Tensor)> {
    params.iter().enumerate().filter_map(|(i, p)| {
        let g = p.grad()?;
        assert_eq!(
            p.dtype(),
            tandem_core::DType::Float32,
            "optimizers update float32 parameters (got {})",
            p.dtype()
        );
        Some((i, p, g.to_dtype(tandem_core::DType::Float32).contiguous()))
    })
}

/// Runs `f(param, grad)` on the float32 buffers of every parameter that has a gradient.
pub(crate) fn for_each_param(params: &[Tensor], mut f: impl FnMut(usize, &mut [f32], &[f32])) {
    for (i, p, g) in with_grads(params) {
        g.with_slice::<f32, _>(|gs| p.update_slice::<f32, _>(|ps| f(i, ps, gs)));
    }
}

/// Elements per part of an update spread over the pool by [`par_update`].
const UPDATE_PART: usize = 1 << 14;

/// Where one parameter's update stands, as [`par_update`] tells its update function.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UpdateStep {
    /// The parameter's updates so far, this one included.
    pub(crate) count: u64,
    /// Whether the parameter's slot buffers were created (as zeros) for this update, rather
    /// than carried over from earlier updates or a loaded state.
    pub(crate) fresh: bool,
}

/// Runs `f(step, param, grad, state)` over every parameter that has a gradient, in one job
/// over the pool (PyTorch's multi-tensor, `foreach`, form of an update): each parameter's
/// elements go in parts of [`UPDATE_PART`], each part vectorized. `state` holds the part's
/// range of each of the parameter's slot buffers (sized to it on first use). Mark `f`
/// `#[inline(always)]` so that it is compiled into the vector builds.
pub(crate) fn par_update(
    params: &[Tensor],
    slots: &mut Slots,
    f: impl Fn(UpdateStep, &mut [f32], &[f32], &mut [&mut [f32]]) + Sync,
) {
    let mut which = Vec::new();
    let (mut ps, mut gs, mut steps) = (Vec::new(), Vec::new(), Vec::new());
    for (i, p, g) in with_grads(params) {
        slots.steps[i] += 1;
        let mut fresh = false;
        for buf in &mut slots.bufs[i] {
            if buf.is_empty() {
                buf.resize(p.numel(), 0.0);
                fresh = true;
            }
        }
        which.push(i);
        ps.push(p.clone());
        gs.push(g);
        steps.push(UpdateStep {
            count: slots.steps[i],
            fresh,
        });
    }
    let mut state: Vec<&mut Vec<Vec<f32>>> = slots
        .bufs
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| which.binary_search(i).is_ok())
        .map(|(_, b)| b)
        .collect();
    let done = Tensor::update_slices::<f32, _>(&ps, |pv| {
        Tensor::with_slices::<f32, _>(&gs, |gv| {
            let mut groups: Vec<Vec<&mut [f32]>> = pv
                .iter_mut()
                .zip(state.iter_mut())
                .map(|(p, st)| {
                    std::iter::once(&mut **p)
                        .chain(st.iter_mut().map(|b| &mut b[..]))
                        .collect()
                })
                .collect();
            tandem_core::parallel::for_each_range(&mut groups, UPDATE_PART, |k, start, r| {
                let (p, st) = r.split_first_mut().expect("the parameter's range");
                let g = &gv[k][start..start + p.len()];
                tandem_core::vectorized(
                    #[inline(always)]
                    || f(steps[k], p, g, st),
                );
            });
        })
    });
    if done.is_none() {
        // The same parameter listed twice: update it once per listing, as PyTorch does.
        for (((&i, p), g), &step) in which.iter().zip(&ps).zip(&gs).zip(&steps) {
            let mut state: Vec<&mut [f32]> = slots.bufs[i].iter_mut().map(|b| &mut b[..]).collect();
            g.with_slice::<f32, _>(|g| p.update_slice::<f32, _>(|p| f(step, p, g, &mut state)));
        }
    }
}

/// Below this many elements an update runs on the calling thread.
const PAR_UPDATE: usize = 1 << 15;

/// `f(p, g)` over two buffers, split across threads for large parameters.
pub(crate) fn par_zip2(p: &mut [f32], g: &[f32], f: impl Fn(&mut f32, f32) + Sync) {
    let body = |p: &mut [f32], g: &[f32]| {
        tandem_core::vectorized(
            #[inline(always)]
            || {
                for (pv, &gv) in p.iter_mut().zip(g) {
                    f(pv, gv)
                }
            },
        )
    };
    if p.len() < PAR_UPDATE {
        return body(p, g);
    }
    let chunk = p.len().div_ceil(tandem_core::parallel::num_threads());
    tandem_core::parallel::for_each_chunk_mut(p, chunk, |i, p| {
        body(p, &g[i * chunk..i * chunk + p.len()])
    });
}
