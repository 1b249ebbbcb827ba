//! Hooks on leaves: `register_post_accumulate_grad_hook`, what data-parallel training uses to
//! start reducing a parameter's gradient while backward is still running.

use crate::tensor::Tensor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

type Hook = Arc<dyn Fn(&Tensor) + Send + Sync>;

/// The hooks of one tensor, in registration order.
#[derive(Default)]
pub(crate) struct Hooks(Vec<(u64, Hook)>);

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Removes the hook it was returned for (`handle.remove()`); dropping it keeps the hook.
#[must_use = "the handle is the only way to remove the hook"]
pub struct RemovableHandle {
    tensor: Tensor,
    id: u64,
}

impl RemovableHandle {
    /// Unregisters the hook.
    pub fn remove(self) {
        let Some(extras) = self.tensor.0.meta.extras_if_made() else {
            return;
        };
        if let Some(hooks) = extras.post_accumulate_hooks.lock().as_mut() {
            hooks.0.retain(|(id, _)| *id != self.id);
        }
    }
}

impl Tensor {
    /// `register_post_accumulate_grad_hook(hook)`: runs `hook(tensor)` every time `backward()`
    /// has accumulated this leaf's gradient into `.grad`, as soon as the gradient is complete
    /// (before the rest of the graph is differentiated). Panics on a tensor that is not a leaf
    /// requiring grad, as PyTorch raises.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tandem_core::Tensor;
    /// let w = Tensor::new([1.0f32, 2.0]).requires_grad_(true);
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let handle = w.register_post_accumulate_grad_hook(move |t| {
    ///     log.lock().unwrap().push(t.grad().unwrap().to_vec::<f32>())
    /// });
    /// (&w * 3.0).sum().backward();
    /// assert_eq!(*seen.lock().unwrap(), vec![vec![3.0, 3.0]]);
    /// handle.remove();
    /// (&w * 3.0).sum().backward();
    /// assert_eq!(seen.lock().unwrap().len(), 1);
    /// ```
    pub fn register_post_accumulate_grad_hook(
        &self,
        hook: impl Fn(&Tensor) + Send + Sync + 'static,
    ) -> RemovableHandle {
        assert!(
            self.is_leaf() && self.requires_grad_flag(),
            "post accumulate grad hooks cannot be registered on non-leaf tensors or tensors that \
             do not require grad"
        );
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.0
            .meta
            .extras()
            .post_accumulate_hooks
            .lock()
            .get_or_insert_with(Default::default)
            .0
            .push((id, Arc::new(hook)));
        RemovableHandle {
            tensor: self.clone(),
            id,
        }
    }

    /// Runs the post-accumulate hooks (outside the lock, so a hook may read `.grad` or
    /// register another hook).
    pub(crate) fn run_post_accumulate_grad_hooks(&self) {
        let Some(extras) = self.0.meta.extras_if_made() else {
            return;
        };
        let hooks: Vec<Hook> = match extras.post_accumulate_hooks.lock().as_ref() {
            Some(h) if !h.0.is_empty() => h.0.iter().map(|(_, f)| f.clone()).collect(),
            _ => return,
        };
        for hook in hooks {
            hook(self);
        }
    }
}
