//! Thread-local recording state: grad mode (`no_grad`) and the stack of live gradient tapes.

use crate::tensor::Tensor;
use std::cell::{Cell, RefCell};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    /// Number of live, recording `GradientTape`s on this thread.
    static TAPES_RECORDING: Cell<usize> = const { Cell::new(0) };
    /// Tensors watched by live tapes (by identity), with the id of the tape watching.
    static WATCHED: RefCell<Vec<(u64, Tensor)>> = const { RefCell::new(Vec::new()) };
}

/// Whether operations record the graph on this thread.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Sets grad mode and returns the previous value.
pub fn set_grad_enabled(on: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(on))
}

/// Restores the previous grad mode when dropped.
pub struct GradModeGuard {
    prev: bool,
}

impl GradModeGuard {
    /// Sets grad mode to `on` until the guard is dropped (`torch.set_grad_enabled`).
    pub fn new(on: bool) -> Self {
        GradModeGuard {
            prev: set_grad_enabled(on),
        }
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.prev);
    }
}

/// Runs `f` with gradient recording off (`with torch.no_grad():`).
///
/// ```
/// use tandem_core::{autograd, Tensor};
/// let w = Tensor::new(2.0).requires_grad_(true);
/// let y = autograd::no_grad(|| &w * 3.0);
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _g = GradModeGuard::new(false);
    f()
}

/// Runs `f` with gradient recording on, even inside `no_grad` (`torch.enable_grad()`).
pub fn enable_grad<R>(f: impl FnOnce() -> R) -> R {
    let _g = GradModeGuard::new(true);
    f()
}

pub(crate) fn tapes_recording() -> usize {
    TAPES_RECORDING.with(|t| t.get())
}

pub(crate) fn add_recording_tape(delta: isize) {
    TAPES_RECORDING.with(|t| t.set((t.get() as isize + delta).max(0) as usize));
}

pub(crate) fn watch(tape: u64, t: &Tensor) {
    WATCHED.with(|w| w.borrow_mut().push((tape, t.clone())));
}

pub(crate) fn unwatch_all(tape: u64) {
    WATCHED.with(|w| w.borrow_mut().retain(|(id, _)| *id != tape));
}

fn is_watched(t: &Tensor) -> bool {
    WATCHED.with(|w| w.borrow().iter().any(|(_, x)| x.same(t)))
}

/// Whether an op taking `t` as input must record a graph node.
#[inline]
pub(crate) fn input_needs_grad(t: &Tensor) -> bool {
    if t.has_grad_fn() || t.requires_grad_flag() {
        return true;
    }
    tapes_recording() > 0
        && (t
            .0
            .meta
            .trainable_variable
            .load(std::sync::atomic::Ordering::Relaxed)
            || is_watched(t))
}
