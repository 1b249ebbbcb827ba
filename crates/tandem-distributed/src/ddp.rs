//! `torch.nn.parallel.DistributedDataParallel`.

use crate::buffer::Buf;
use crate::collectives::broadcast_on;
use crate::error::DistError;
use crate::group::{self, Group};
use crate::reducer::{CommEvent, Reducer};
use std::sync::Arc;
use tandem_core::autograd::no_grad;
use tandem_core::autograd::RemovableHandle;
use tandem_core::Tensor;
use tandem_nn::{Module, Params};

/// Options of [`DistributedDataParallel::with_options`], with PyTorch's defaults.
#[derive(Clone, Copy, Debug)]
pub struct DdpOptions {
    /// Size of a gradient bucket in MiB.
    pub bucket_cap_mb: f64,
    /// Size of the first bucket (the last layers' gradients) in MiB: small, so that its
    /// allreduce starts early in backward.
    pub first_bucket_mb: f64,
    /// Broadcast rank 0's buffers (BatchNorm running statistics) before every forward.
    pub broadcast_buffers: bool,
}

impl Default for DdpOptions {
    fn default() -> Self {
        DdpOptions {
            bucket_cap_mb: 25.0,
            first_bucket_mb: 1.0,
            broadcast_buffers: true,
        }
    }
}

/// `DistributedDataParallel(model)`: the same model on every rank, kept identical. At
/// construction every rank's parameters and buffers become rank 0's (after checking that the
/// models have the same parameters); during `backward()` gradients are averaged over ranks in
/// buckets, each bucket's allreduce starting as soon as its gradients are ready; so after
/// `backward()` every rank holds the same averaged `.grad` and the same optimizer step keeps
/// the replicas equal.
///
/// ```
/// use tandem_distributed::{self as dist, DistributedDataParallel};
/// use tandem_nn::{Linear, Module};
/// dist::init_process_group("mpi")?;
/// let model = DistributedDataParallel::new(Linear::new(4, 2))?;
/// let loss = model.forward(&tandem_core::rand(&[8, 4])).pow(2.0).mean();
/// loss.backward(); // gradients are averaged over the ranks here
/// assert!(model.module().weight.grad().is_some());
/// drop(model);
/// dist::destroy_process_group()?;
/// # Ok::<(), dist::DistError>(())
/// ```
pub struct DistributedDataParallel<M: Module> {
    module: M,
    group: Arc<Group>,
    reducer: Arc<Reducer>,
    handles: Vec<RemovableHandle>,
    buffers: Vec<Tensor>,
    broadcast_buffers: bool,
}

/// While alive, `backward()` accumulates gradients locally without averaging them (`with
/// model.no_sync():`); the first backward after it ends averages everything accumulated.
pub struct NoSync<'a> {
    reducer: &'a Reducer,
    previous: bool,
}

impl Drop for NoSync<'_> {
    fn drop(&mut self) {
        self.reducer.set_sync(self.previous);
    }
}

/// A fingerprint of parameter shapes and dtypes, equal on ranks whose models match.
fn fingerprint(params: &[Tensor]) -> Vec<i64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |v: u64| {
        h ^= v;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for p in params {
        mix(p.ndim() as u64);
        p.shape().iter().for_each(|&d| mix(d as u64));
        mix(p.dtype() as u64);
    }
    let numel: usize = params.iter().map(Tensor::numel).sum();
    vec![params.len() as i64, numel as i64, h as i64]
}

/// An error naming the first rank whose parameters differ from rank 0's.
fn check_same_models(group: &Group, params: &[Tensor]) -> Result<(), DistError> {
    let mine = fingerprint(params);
    let all = group.all_gather(Buf::I64(mine)).wait()?;
    let Buf::I64(all) = all else {
        unreachable!("gathered int64")
    };
    let rank0 = &all[..3];
    for (r, theirs) in all.chunks(3).enumerate().skip(1) {
        if theirs != rank0 {
            let reason = if theirs[..2] != rank0[..2] {
                format!(
                    "it has {} parameters ({} elements), rank 0 has {} ({} elements)",
                    theirs[0], theirs[1], rank0[0], rank0[1]
                )
            } else {
                "the parameters' shapes or dtypes differ".to_string()
            };
            return Err(DistError::ModelMismatch { rank: r, reason });
        }
    }
    Ok(())
}

/// Makes every rank's `tensors` rank 0's.
pub(crate) fn broadcast_from_0(group: &Group, tensors: &[Tensor]) -> Result<(), DistError> {
    if group.size == 1 {
        return Ok(());
    }
    no_grad(|| tensors.iter().try_for_each(|t| broadcast_on(group, t, 0)))
}

/// Checks the models match, broadcasts rank 0's state, and sets up the bucketed reducer.
pub(crate) fn replicate(
    group: &Arc<Group>,
    params: Vec<Tensor>,
    state: &[Tensor],
    bucket_caps: (usize, usize),
) -> Result<(Arc<Reducer>, Vec<RemovableHandle>), DistError> {
    check_same_models(group, &params)?;
    broadcast_from_0(group, state)?;
    Reducer::new(group.clone(), params, bucket_caps)
}

impl<M: Module> DistributedDataParallel<M> {
    /// Wraps `module` with PyTorch's defaults (25 MiB buckets, buffers broadcast before every
    /// forward). Needs `init_process_group` first; an error when the ranks' models differ.
    pub fn new(module: M) -> Result<Self, DistError> {
        Self::with_options(module, DdpOptions::default())
    }

    /// Wraps `module` with explicit options.
    pub fn with_options(module: M, options: DdpOptions) -> Result<Self, DistError> {
        let group = group::current()?;
        let params = module.parameters();
        let state: Vec<Tensor> = module.state_dict().into_iter().map(|(_, t)| t).collect();
        // Tensors of a dtype collectives do not carry (uint8, bool) stay as each rank has them.
        let state: Vec<Tensor> = state
            .into_iter()
            .filter(|t| Buf::zeros(t.dtype(), 0).is_some())
            .collect();
        let buffers: Vec<Tensor> = state
            .iter()
            .filter(|t| !t.requires_grad())
            .cloned()
            .collect();
        let mib = |v: f64| ((v * 1024.0 * 1024.0) as usize).max(1);
        let caps = (mib(options.first_bucket_mb), mib(options.bucket_cap_mb));
        let (reducer, handles) = replicate(&group, params, &state, caps)?;
        Ok(DistributedDataParallel {
            module,
            group,
            reducer,
            handles,
            buffers,
            broadcast_buffers: options.broadcast_buffers,
        })
    }

    /// The wrapped model (`ddp.module`).
    pub fn module(&self) -> &M {
        &self.module
    }

    /// The wrapped model, mutably.
    pub fn module_mut(&mut self) -> &mut M {
        &mut self.module
    }

    /// `with model.no_sync():` — gradients accumulate locally until the guard is dropped;
    /// the next synchronized backward averages everything accumulated.
    pub fn no_sync(&self) -> NoSync<'_> {
        NoSync {
            reducer: &self.reducer,
            previous: self.reducer.set_sync(false),
        }
    }

    /// How many gradient buckets there are.
    pub fn num_buckets(&self) -> usize {
        self.reducer.num_buckets()
    }

    /// Each bucket's parameters (indices into `parameters()`), in the order they are reduced.
    pub fn bucket_parameters(&self) -> Vec<Vec<usize>> {
        self.reducer.bucket_params()
    }

    /// What happened during the last synchronized backward pass: each gradient becoming
    /// ready, each bucket's allreduce handed over, started and finished, with times.
    pub fn last_backward_events(&self) -> Vec<CommEvent> {
        self.reducer.events()
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.group.rank
    }
}

impl<M: Module> Params for DistributedDataParallel<M> {
    /// Names carry PyTorch's `module.` prefix, as `ddp.state_dict()` does.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.module
            .visit(&tandem_nn::join_name(prefix, "module"), f)
    }

    fn set_training(&mut self, on: bool) {
        self.module.set_training(on)
    }
}

impl<M: Module> Module for DistributedDataParallel<M> {
    /// The wrapped model's forward, after broadcasting rank 0's buffers. Panics, as PyTorch
    /// raises, when the previous backward left gradients unreduced (a parameter that did not
    /// take part in the loss).
    fn forward(&self, x: &Tensor) -> Tensor {
        let pending = self.reducer.pending();
        assert!(
            pending == 0,
            "Expected to have finished reduction in the prior iteration before starting a new \
             one: {pending} parameters did not receive gradients in the last backward \
             (rank {})",
            self.group.rank
        );
        if self.broadcast_buffers && !self.buffers.is_empty() {
            broadcast_from_0(&self.group, &self.buffers).unwrap_or_else(|e| panic!("{e}"));
        }
        self.module.forward(x)
    }
}

impl<M: Module> Drop for DistributedDataParallel<M> {
    fn drop(&mut self) {
        for h in self.handles.drain(..) {
            h.remove();
        }
    }
}
