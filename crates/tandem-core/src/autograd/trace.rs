//! Tracing one forward pass for export (ONNX): inside [`trace`], every recorded op keeps its
//! output shape and the attributes an exporter needs (a convolution's strides, a softmax's
//! axis), and [`Tensor::traced_op`] walks the recorded graph back from an output. Outside a
//! trace nothing extra is kept.

use super::node::Node;
use crate::storage::Shared;
use crate::tensor::Tensor;
use parking_lot::Mutex;
use std::cell::Cell;

thread_local! {
    static TRACING: Cell<bool> = const { Cell::new(false) };
    /// The traced input when it cannot require a gradient (integer indices): ops on it record
    /// anyway while tracing.
    static ROOT: Cell<usize> = const { Cell::new(0) };
}

/// An attribute of a traced op.
#[derive(Clone, Debug)]
pub enum Attr {
    /// An integer (an axis, a flag).
    Int(i64),
    /// Integers (strides, pads, a permutation).
    Ints(Vec<i64>),
    /// A number (a scalar operand).
    Float(f64),
    /// A name (the kind of a recurrent layer).
    Str(&'static str),
    /// A tensor the op holds besides its inputs (the indices of an `index_select`).
    Tensor(Tensor),
}

impl Attr {
    /// A `(rows, columns)` pair (a stride, a kernel size) as two integers.
    pub fn pair((a, b): (usize, usize)) -> Attr {
        Attr::Ints(vec![a as i64, b as i64])
    }
}

/// What a node keeps while tracing.
pub(crate) struct Traced {
    shape: Vec<usize>,
    dtype: crate::DType,
    attrs: Mutex<Vec<(&'static str, Attr)>>,
}

/// Runs `f` with tracing on (and gradients recorded, which is how ops reach the graph): a
/// forward pass inside leaves a graph of [`TracedOp`]s behind its outputs.
pub fn trace<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the previous state even when `f` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            TRACING.with(|t| t.set(self.0));
        }
    }
    let _restore = Restore(TRACING.with(|t| t.replace(true)));
    super::enable_grad(f)
}

/// Like [`trace`], for an input that cannot require a gradient (integer indices for an
/// embedding): ops on `root` record while `f` runs, so the graph reaches back to it.
pub fn trace_from<R>(root: &Tensor, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            ROOT.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(ROOT.with(|r| r.replace(root.key())));
    trace(f)
}

/// Whether an op over `inputs` reads the integer root of a trace.
#[inline]
pub(crate) fn from_root(inputs: &[&Tensor]) -> bool {
    let root = ROOT.with(Cell::get);
    root != 0 && is_tracing() && inputs.iter().any(|t| t.key() == root)
}

/// Whether a trace is being recorded on this thread.
#[inline]
pub fn is_tracing() -> bool {
    TRACING.with(Cell::get)
}

/// Keeps `out`'s shape on its node, when tracing.
pub(crate) fn on_attach(node: &Node, out: &Tensor) {
    if is_tracing() {
        let _ = node.traced.set(Box::new(Traced {
            shape: out.shape().to_vec(),
            dtype: out.dtype(),
            attrs: Mutex::new(Vec::new()),
        }));
    }
}

/// Adds attributes to the op that produced `out`, when tracing (`attrs` runs only then).
pub(crate) fn set_attrs(out: &Tensor, attrs: impl FnOnce() -> Vec<(&'static str, Attr)>) {
    if !is_tracing() {
        return;
    }
    if let Some(t) = out.grad_fn().as_ref().and_then(|n| n.traced.get()) {
        t.attrs.lock().extend(attrs());
    }
}

/// Records `output` as one op `name` over `inputs` with `attrs`, for a layer that an exporter
/// writes whole (a recurrent layer as ONNX's `LSTM`): the layer computes `output` without
/// recording (under `no_grad`), then calls this. The node has no gradient; it exists only in
/// traced graphs.
pub fn composite(
    output: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    attrs: Vec<(&'static str, Attr)>,
) -> Tensor {
    let out = super::engine::attach(output, name, inputs, move |_, _| -> super::node::Grads {
        panic!("{name}: an op recorded for export has no gradient")
    });
    set_attrs(&out, || attrs);
    out
}

/// One op of a traced graph.
#[derive(Clone)]
pub struct TracedOp(Shared<Node>);

impl TracedOp {
    /// The op's recorded name (PyTorch's backward name, `AddmmBackward0`).
    pub fn name(&self) -> &'static str {
        self.0.name
    }
    /// The op's inputs, in order.
    pub fn inputs(&self) -> &[Tensor] {
        &self.0.inputs
    }
    /// The op that produced input `i` (`None` for a leaf: a parameter, a constant, the graph's
    /// input).
    pub fn input_op(&self, i: usize) -> Option<TracedOp> {
        if i < self.0.inputs.len() {
            self.0.input_fn(i).cloned().map(TracedOp)
        } else {
            None
        }
    }
    /// The output's shape in the traced pass.
    pub fn output_shape(&self) -> &[usize] {
        self.0.traced.get().map_or(&[], |t| &t.shape)
    }
    /// The output's dtype in the traced pass.
    pub fn output_dtype(&self) -> Option<crate::DType> {
        self.0.traced.get().map(|t| t.dtype)
    }
    /// Whether the op was recorded inside [`trace`].
    pub fn is_traced(&self) -> bool {
        self.0.traced.get().is_some()
    }
    /// The attribute `key`, if the op recorded it.
    pub fn attr(&self, key: &str) -> Option<Attr> {
        let t = self.0.traced.get()?;
        let attrs = t.attrs.lock();
        attrs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }
    /// A key that identifies the op within one graph.
    pub fn id(&self) -> usize {
        Shared::as_ptr(&self.0) as usize
    }
}

impl Tensor {
    /// The op that produced this tensor in a traced graph (`None` for a leaf).
    pub fn traced_op(&self) -> Option<TracedOp> {
        self.grad_fn().map(TracedOp)
    }
}
