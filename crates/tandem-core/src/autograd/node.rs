//! Graph nodes and saved tensors.

use crate::storage::Shared;
use crate::tensor::Tensor;
use parking_lot::Mutex;

/// One gradient per input of a node, in input order; most ops have one or two inputs, whose
/// gradients then travel without a heap allocation.
pub(crate) type Grads = smallvec::SmallVec<[Option<Tensor>; 2]>;

/// A backward function: given the output's gradient and which inputs need one, returns one
/// gradient per input (in input order).
pub(crate) type BackwardFn = Box<dyn Fn(&Tensor, &[bool]) -> Grads + Send + Sync>;

/// One recorded operation: its inputs and how to send a gradient back to them.
pub struct Node {
    pub(crate) name: &'static str,
    pub(crate) inputs: smallvec::SmallVec<[Tensor; 2]>,
    /// Each input's recorded op when this node was made, kept only when an in-place op had
    /// already rebased one of the inputs then. Otherwise an input's op at that time is the one
    /// it was made by, which never changes (see [`Node::input_fn`]).
    pub(crate) rebased_fns: Option<Box<[Option<Shared<Node>>]>>,
    pub(crate) needs: smallvec::SmallVec<[bool; 2]>,
    pub(crate) backward: Mutex<Option<BackwardFn>>,
    /// The output shape and export attributes, kept only while tracing.
    pub(crate) traced: std::sync::OnceLock<Box<super::trace::Traced>>,
    /// Set for a basic slice: its input's gradient is its own placed in zeros at this region,
    /// so the engine may add it straight into a gradient already gathered for the input.
    pub(crate) slice: Option<SliceRegion>,
}

/// Elements `start..end` by `step` along `dim`: where a slice's output sits in its input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SliceRegion {
    pub dim: usize,
    pub start: usize,
    pub end: usize,
    pub step: usize,
}

impl Node {
    /// PyTorch's name for the backward function (`MulBackward0`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The recorded op of input `i` when this node was made (an edge of the graph), or `None`
    /// for a leaf. An in-place op that rebases the input later does not change where this
    /// node's gradient goes: it sets the input's current op apart and leaves the one the input
    /// was made by in place.
    #[inline]
    pub(crate) fn input_fn(&self, i: usize) -> Option<&Shared<Node>> {
        match &self.rebased_fns {
            Some(fns) => fns[i].as_ref(),
            None => self.inputs[i].0.grad_fn.as_ref(),
        }
    }

    /// Each input with its recorded op (see [`Node::input_fn`]) and whether it needs a
    /// gradient, in input order.
    #[inline]
    pub(crate) fn edges(&self) -> impl Iterator<Item = (&Tensor, Option<&Shared<Node>>, bool)> {
        self.inputs
            .iter()
            .zip(&self.needs)
            .enumerate()
            .map(|(i, (t, &need))| (t, self.input_fn(i), need))
    }
}

/// A tensor kept for backward, with the storage version at the time it was saved.
pub(crate) struct Saved {
    t: Tensor,
    version: u64,
}

impl Saved {
    /// Saves an input of the op, keeping its graph so that higher-order gradients work.
    pub(crate) fn new(t: &Tensor) -> Saved {
        Saved {
            t: t.clone(),
            version: t.version(),
        }
    }

    /// Saves the op's own output, detached (keeping its graph would make a reference cycle).
    /// Backward formulas that need the output differentiably recompute it from the inputs.
    pub(crate) fn output(t: &Tensor) -> Saved {
        Saved {
            t: t.detach(),
            version: t.version(),
        }
    }

    /// The saved tensor; panics as PyTorch does when it was modified in place since it was saved.
    pub(crate) fn get(&self) -> &Tensor {
        let now = self.t.version();
        if now != self.version {
            panic!(
                "one of the variables needed for gradient computation has been modified by an \
                 inplace operation: [{} {:?}] is at version {now}; expected version {} instead",
                self.t.dtype(),
                self.t.shape(),
                self.version
            );
        }
        &self.t
    }
}
