//! Reverse-mode automatic differentiation: one engine behind PyTorch's `backward` /
//! `autograd::grad` and TensorFlow's `GradientTape`.

mod engine;
mod function;
mod gradcheck;
mod hooks;
mod mode;
mod node;
mod tape;
pub mod trace;

pub use engine::should_record;
pub(crate) use engine::{attach, attach_slice};
pub use function::{custom_gradient, Function, FunctionCtx};
pub(crate) use node::SliceRegion;

/// Records a custom differentiable operation (as `torch.autograd.Function`): when any of
/// `inputs` needs a gradient, `output` gets a backward function that maps the output's gradient
/// to one gradient per input (`None` for inputs that need none; `needs[i]` tells which do).
/// Without recording (no input needs a gradient, or inside `no_grad`), `output` is returned
/// unchanged.
///
/// ```
/// use tandem_core::{autograd, Tensor};
/// let x = Tensor::new([1.0, 2.0]).requires_grad_(true);
/// let y = autograd::record_op(&x.detach() * 3.0, "TripleBackward", &[&x], |g, _| vec![Some(g * 3.0)]);
/// y.sum().backward();
/// assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![3.0, 3.0]);
/// ```
pub fn record_op(
    output: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    backward: impl Fn(&Tensor, &[bool]) -> Vec<Option<Tensor>> + Send + Sync + 'static,
) -> Tensor {
    if should_record(inputs) {
        attach(output, name, inputs, backward)
    } else {
        output
    }
}
pub use gradcheck::{gradcheck, gradgradcheck, GradcheckError};
pub(crate) use hooks::Hooks;
pub use hooks::RemovableHandle;
pub use mode::{enable_grad, is_grad_enabled, no_grad, set_grad_enabled, GradModeGuard};
pub use node::Node;
pub(crate) use node::Saved;
pub use tape::{GradientTape, UnconnectedGradients};

use crate::storage::Shared;
use crate::tensor::{check_can_require_grad, Tensor, TensorImpl};
use engine::{run_backward, Sink};
use std::sync::atomic::Ordering;

/// Options of [`grad_with`] (`torch.autograd.grad`'s keyword arguments).
#[derive(Clone, Copy, Debug, Default)]
pub struct GradOptions {
    /// Keep the graph so that it can be differentiated again.
    pub retain_graph: Option<bool>,
    /// Record the gradient computation itself, for higher-order derivatives.
    pub create_graph: bool,
    /// Return `None` for inputs the output does not depend on instead of panicking.
    pub allow_unused: bool,
}

/// `torch.autograd.grad(outputs, inputs)`: gradients of a scalar `output` with respect to
/// `inputs`, without touching their `.grad`.
///
/// ```
/// use tandem_core::{autograd, Tensor};
/// let w = Tensor::new(3.0).requires_grad_(true);
/// let y = &w * &w;
/// let g = autograd::grad(&y, &[&w]);
/// assert_eq!(g[0].item::<f32>(), 6.0);
/// ```
pub fn grad(output: &Tensor, inputs: &[&Tensor]) -> Vec<Tensor> {
    grad_with(output, inputs, None, GradOptions::default())
        .into_iter()
        .map(|g| g.expect("unreachable: allow_unused is false"))
        .collect()
}

/// `torch.autograd.grad` with `grad_outputs` and options.
pub fn grad_with(
    output: &Tensor,
    inputs: &[&Tensor],
    grad_output: Option<&Tensor>,
    opts: GradOptions,
) -> Vec<Option<Tensor>> {
    assert!(
        output.requires_grad(),
        "element 0 of tensors does not require grad and does not have a grad_fn"
    );
    let seed = seed_for(output, grad_output);
    let retain = opts.retain_graph.unwrap_or(opts.create_graph);
    let out = run_backward(
        &[output],
        vec![seed],
        Sink::Collect(inputs),
        retain,
        opts.create_graph,
    );
    if !opts.allow_unused {
        for (i, g) in out.iter().enumerate() {
            assert!(
                g.is_some(),
                "One of the differentiated Tensors (input {i}) appears to not have been used in \
                 the graph. Set allow_unused=true if this is the desired behavior."
            );
        }
    }
    out
}

fn seed_for(output: &Tensor, grad_output: Option<&Tensor>) -> Tensor {
    match grad_output {
        Some(g) => {
            assert_eq!(
                g.shape(),
                output.shape(),
                "Mismatch in shape: grad_output has a shape of {:?} and output has a shape of {:?}",
                g.shape(),
                output.shape()
            );
            g.clone()
        }
        None => {
            assert!(
                output.numel() == 1,
                "grad can be implicitly created only for scalar outputs (got shape {:?})",
                output.shape()
            );
            crate::ops::create::ones_like(output)
        }
    }
}

impl Tensor {
    /// Sets whether this leaf tensor records operations for gradients (`requires_grad_()`), and
    /// returns it for chaining: `Tensor::new(2.9).requires_grad_(true)`.
    pub fn requires_grad_(self, on: bool) -> Tensor {
        if on {
            check_can_require_grad(&self);
        }
        assert!(
            self.is_leaf() || on,
            "you can only change requires_grad flags of leaf variables"
        );
        self.0.meta.requires_grad.store(on, Ordering::Relaxed);
        self
    }

    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.requires_grad_flag() || self.has_grad_fn()
    }

    /// True for tensors not produced by a recorded op (user-created tensors, parameters).
    pub fn is_leaf(&self) -> bool {
        !self.has_grad_fn()
    }

    /// Whether an op recorded this tensor.
    #[inline]
    pub(crate) fn has_grad_fn(&self) -> bool {
        if self.0.rebased.load(Ordering::Acquire) {
            let extras = self.0.meta.extras_if_made();
            return extras.is_some_and(|e| e.rebased_fn.lock().is_some());
        }
        self.0.grad_fn.is_some()
    }

    /// The recorded op, if any.
    #[inline]
    pub(crate) fn grad_fn(&self) -> Option<Shared<Node>> {
        if self.0.rebased.load(Ordering::Acquire) {
            return self.0.meta.extras_if_made()?.rebased_fn.lock().clone();
        }
        self.0.grad_fn.clone()
    }

    /// [`grad_fn`](Tensor::grad_fn) borrowed where it can be: only the op of an in-place
    /// rebase, kept behind a lock, comes as a new handle.
    #[inline]
    pub(crate) fn grad_fn_ref(&self) -> Option<std::borrow::Cow<'_, Shared<Node>>> {
        if self.0.rebased.load(Ordering::Acquire) {
            return self.grad_fn().map(std::borrow::Cow::Owned);
        }
        self.0.grad_fn.as_ref().map(std::borrow::Cow::Borrowed)
    }

    /// Rebases this tensor onto `node` (an in-place op recorded over its old value).
    pub(crate) fn set_grad_fn(&self, node: Option<Shared<Node>>) {
        *self.0.meta.extras().rebased_fn.lock() = node;
        self.0.rebased.store(true, Ordering::Release);
    }

    /// The accumulated gradient (`.grad`), if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.meta.extras_if_made()?.grad.lock().clone()
    }

    /// Replaces `.grad` (`t.grad = None` is `t.set_grad(None)`).
    pub fn set_grad(&self, g: Option<Tensor>) {
        // Clearing a `.grad` that was never set allocates nothing.
        if g.is_some() || self.0.meta.extras_if_made().is_some() {
            *self.0.meta.extras().grad.lock() = g;
        }
    }

    /// Clears `.grad` (as `optimizer.zero_grad(set_to_none=True)`).
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// Keeps `.grad` for this non-leaf tensor during `backward()`.
    pub fn retain_grad(&self) {
        self.0.meta.retains_grad.store(true, Ordering::Relaxed);
    }

    /// Whether `retain_grad` was called.
    pub fn retains_grad(&self) -> bool {
        self.0.meta.retains_grad.load(Ordering::Relaxed)
    }

    /// The name of the recorded backward function (`MulBackward0`), as in `grad_fn=<...>`.
    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.grad_fn().map(|n| n.name)
    }

    /// A tensor sharing storage with this one but outside the graph (`detach()`).
    pub fn detach(&self) -> Tensor {
        Tensor::from_parts(
            self.0.storage.clone(),
            self.0.shape.clone(),
            self.0.strides.clone(),
            self.0.offset,
            self.0.dtype,
        )
    }

    pub(crate) fn with_grad_fn(mut self, node: Shared<Node>) -> Tensor {
        if let Some(inner) = Shared::get_mut(&mut self.0) {
            inner.grad_fn = Some(node);
            *inner.rebased.get_mut() = false;
            return self;
        }
        Tensor(Shared::new(TensorImpl {
            storage: self.0.storage.clone(),
            shape: self.0.shape.clone(),
            strides: self.0.strides.clone(),
            offset: self.0.offset,
            dtype: self.0.dtype,
            grad_fn: Some(node),
            rebased: Default::default(),
            meta: Default::default(),
        }))
    }

    pub(crate) fn accumulate_grad(&self, g: &Tensor, create_graph: bool) {
        let g = if create_graph { g.clone() } else { g.detach() };
        let mut slot = self.0.meta.extras().grad.lock();
        *slot = Some(match slot.take() {
            Some(prev) => &prev + &g,
            None => {
                if g.is_contiguous() && g.shape() == self.shape() {
                    g
                } else {
                    g.contiguous()
                }
            }
        });
    }

    /// Computes the gradient of this scalar with respect to every leaf that requires grad and
    /// accumulates it into their `.grad` (`loss.backward()`). The graph is freed afterwards.
    pub fn backward(&self) {
        self.backward_with(None, false, false);
    }

    /// `backward(gradient, retain_graph, create_graph)`; `gradient` is required for non-scalars.
    pub fn backward_with(&self, gradient: Option<&Tensor>, retain_graph: bool, create_graph: bool) {
        assert!(
            self.requires_grad(),
            "element 0 of tensors does not require grad and does not have a grad_fn"
        );
        let seed = seed_for(self, gradient);
        run_backward(
            &[self],
            vec![seed],
            Sink::Accumulate,
            retain_graph || create_graph,
            create_graph,
        );
    }
}
