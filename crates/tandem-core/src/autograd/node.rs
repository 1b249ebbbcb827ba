//! Graph nodes and saved tensors.

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
    /// Each input's recorded op when this node was made (an edge of the graph): an in-place op
    /// that later rebases an input does not change where this node's gradient goes.
    pub(crate) input_fns: smallvec::SmallVec<[Option<triomphe::Arc<Node>>; 2]>,
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
