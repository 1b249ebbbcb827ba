//! TensorFlow's `GradientTape` over the shared engine.

use super::engine::{run_backward, Sink};
use super::mode;
use crate::tensor::Tensor;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_TAPE: AtomicU64 = AtomicU64::new(1);

/// What `gradient` returns for a source the target does not depend on
/// (`tf.UnconnectedGradients`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UnconnectedGradients {
    /// `None` (TensorFlow's default).
    #[default]
    None,
    /// A zero tensor shaped like the source.
    Zero,
}

/// Records operations on trainable `Variable`s (and watched tensors) while alive, then
/// differentiates (`with tf.GradientTape() as tape:`).
///
/// ```
/// use tandem_core::{autograd::GradientTape, Tensor};
/// let w = Tensor::variable(2.0);
/// let tape = GradientTape::new();
/// let y = &w * &w;
/// let g = tape.gradient(&y, &[&w]);
/// assert_eq!(g[0].as_ref().unwrap().item::<f32>(), 4.0);
/// ```
pub struct GradientTape {
    id: u64,
    persistent: bool,
    used: Cell<bool>,
    recording: Cell<bool>,
}

impl GradientTape {
    /// A non-persistent tape: `gradient` may be called once.
    pub fn new() -> GradientTape {
        GradientTape::with_persistent(false)
    }

    /// `tf.GradientTape(persistent=True)`: `gradient` may be called any number of times.
    pub fn persistent() -> GradientTape {
        GradientTape::with_persistent(true)
    }

    fn with_persistent(persistent: bool) -> GradientTape {
        mode::add_recording_tape(1);
        GradientTape {
            id: NEXT_TAPE.fetch_add(1, Ordering::Relaxed),
            persistent,
            used: Cell::new(false),
            recording: Cell::new(true),
        }
    }

    /// Records operations on `t` too (`tape.watch(x)` for constants).
    pub fn watch(&self, t: &Tensor) {
        mode::watch(self.id, t);
    }

    /// Runs `f` without recording on this tape (`with tape.stop_recording():`).
    pub fn stop_recording<R>(&self, f: impl FnOnce() -> R) -> R {
        let _off = mode::GradModeGuard::new(false);
        f()
    }

    /// Gradients of `target` with respect to `sources` (`tape.gradient(cost, [W, b])`); `None`
    /// for a source that `target` does not depend on.
    ///
    /// Panics when called a second time on a non-persistent tape.
    pub fn gradient(&self, target: &Tensor, sources: &[&Tensor]) -> Vec<Option<Tensor>> {
        self.gradient_with(target, sources, UnconnectedGradients::None)
    }

    /// `gradient` with `unconnected_gradients`.
    pub fn gradient_with(
        &self,
        target: &Tensor,
        sources: &[&Tensor],
        unconnected: UnconnectedGradients,
    ) -> Vec<Option<Tensor>> {
        assert!(
            self.persistent || !self.used.get(),
            "A non-persistent GradientTape can only be used to compute one set of gradients (or \
             jacobians); use GradientTape::persistent() to call gradient more than once"
        );
        self.used.set(true);
        // Differentiating while an outer tape records builds the graph of the gradient itself.
        let outer = mode::tapes_recording() > usize::from(self.recording.get());
        let mut out = if target.requires_grad() {
            // Targets are reduced to a scalar by summing, as TensorFlow does.
            let seed = crate::ops::create::ones_like(target);
            run_backward(&[target], vec![seed], Sink::Collect(sources), true, outer)
        } else {
            vec![None; sources.len()]
        };
        for (g, s) in out.iter_mut().zip(sources) {
            if s.same(target) && g.is_none() {
                *g = Some(crate::ops::create::ones_like(s));
            }
            if g.is_none() && unconnected == UnconnectedGradients::Zero {
                *g = Some(crate::ops::create::zeros_like(s));
            }
        }
        out
    }
}

impl Default for GradientTape {
    fn default() -> Self {
        GradientTape::new()
    }
}

impl Drop for GradientTape {
    fn drop(&mut self) {
        if self.recording.get() {
            mode::add_recording_tape(-1);
        }
        mode::unwatch_all(self.id);
    }
}
