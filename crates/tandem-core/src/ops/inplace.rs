//! In-place updates (`add_`, `-=`, `assign_sub`, `relu_`, `index_copy_`, ...) and TensorFlow's
//! `Variable`.
//!
//! On a tensor with a history (or with an operand that requires grad, under grad mode) an
//! in-place op is recorded as PyTorch records it: the op runs out of place over the old value,
//! the result is written back into the tensor's storage, and the tensor is *rebased* onto the
//! new node. Ops recorded earlier keep the edge to the old value, and the storage's version
//! counter still makes a backward that needs an overwritten saved value fail.

use super::binary::Operand;
use crate::autograd::is_grad_enabled;
use crate::dtype::Element;
use crate::tensor::{check_can_require_grad, IntoTensor, Tensor};
use std::sync::atomic::Ordering;

/// Backward names of ops whose output is a view of their input.
const VIEW_OPS: [&str; 5] = [
    "ViewBackward0",
    "SliceBackward0",
    "PermuteBackward0",
    "SqueezeBackward0",
    "ExpandBackward0",
];

impl Tensor {
    /// Whether an in-place op with these operands must be recorded, after the checks PyTorch
    /// makes: a leaf that requires grad cannot be changed in place under grad mode, and a view
    /// of a tensor with history cannot be rebased here (its base would not see the change).
    fn inplace_records(&self, op: &str, operands: &[&Tensor]) -> bool {
        if !is_grad_enabled() {
            return false;
        }
        if self.is_leaf() && self.requires_grad_flag() {
            panic!("{op}: a leaf Variable that requires grad is being used in an in-place operation (wrap the update in no_grad)");
        }
        let records = self.has_grad_fn() || operands.iter().any(|t| t.requires_grad());
        if records {
            if let Some(name) = self.grad_fn_name().filter(|n| VIEW_OPS.contains(n)) {
                panic!("{op}: in-place operations on a view of a tensor with history are not supported (this view comes from {name}); apply the op to the base tensor, or use index_copy_ / masked_fill_ on it");
            }
        }
        records
    }

    /// Records `f` over the old value and writes its result back, rebasing this tensor.
    fn rebase(&self, f: impl FnOnce(&Tensor) -> Tensor) -> &Tensor {
        // The old value on storage of its own: the in-place write below must not change what
        // the new node saved.
        let old = crate::autograd::no_grad(|| self.contiguous_copy());
        old.set_grad_fn(self.grad_fn());
        let r = f(&old);
        crate::autograd::no_grad(|| super::index::copy_into(self, &r));
        self.set_grad_fn(r.grad_fn());
        self
    }

    /// Runs `op` in place: recorded and rebased when autograd needs it, else through `direct`.
    fn inplace(
        &self,
        name: &str,
        operands: &[&Tensor],
        op: impl FnOnce(&Tensor) -> Tensor,
        direct: impl FnOnce(&Tensor),
    ) -> &Tensor {
        if self.inplace_records(name, operands) {
            return self.rebase(op);
        }
        direct(self);
        self
    }

    /// Writes `op(self)`, computed without a graph, back into this tensor.
    fn write_back(&self, op: impl FnOnce(&Tensor) -> Tensor) {
        let r = crate::autograd::no_grad(|| op(self));
        super::index::copy_into(self, &r);
    }

    /// Overwrites the elements with `src` (broadcast and cast), in place (`copy_`).
    pub fn copy_(&self, src: &Tensor) -> &Tensor {
        self.inplace(
            "copy_",
            &[src],
            // As PyTorch's CopyBackwards: the old value gets a zero gradient, `src` the rest.
            |old| {
                let never = Tensor::from_vec(vec![false], &[]);
                Tensor::where_(&never, old, &src.to_dtype(self.dtype()))
            },
            |s| super::index::copy_into(s, src),
        )
    }

    /// A binary op in place, with the fast float32 path when nothing records.
    fn binary_(
        &self,
        name: &str,
        other: Operand,
        op: fn(&Tensor, Operand) -> Tensor,
        fast: Option<fn(f32, f32) -> f32>,
    ) -> &Tensor {
        let operand: Option<&Tensor> = match &other {
            Operand::Tensor(t) => Some(t),
            _ => None,
        };
        if self.inplace_records(name, operand.as_slice()) {
            return self.rebase(|old| op(old, other));
        }
        if let Some(f) = fast {
            if self.update_f32_in_place(&other, f) {
                return self;
            }
        }
        self.write_back(|s| op(s, other));
        self
    }

    /// `self += other`, in place (`add_`).
    pub fn add_(&self, other: impl Into<Operand>) -> &Tensor {
        self.binary_("add_", other.into(), |a, b| a.add(b), Some(|a, b| a + b))
    }

    /// `self -= other`, in place (`sub_`).
    pub fn sub_(&self, other: impl Into<Operand>) -> &Tensor {
        self.binary_("sub_", other.into(), |a, b| a.sub(b), Some(|a, b| a - b))
    }

    /// `self *= other`, in place (`mul_`).
    pub fn mul_(&self, other: impl Into<Operand>) -> &Tensor {
        self.binary_("mul_", other.into(), |a, b| a.mul(b), None)
    }

    /// `self /= other`, in place (`div_`).
    pub fn div_(&self, other: impl Into<Operand>) -> &Tensor {
        self.binary_("div_", other.into(), |a, b| a.div(b), None)
    }

    /// A unary op in place.
    fn unary_(&self, name: &str, op: impl Fn(&Tensor) -> Tensor) -> &Tensor {
        self.inplace(name, &[], &op, |s| s.write_back(&op))
    }

    /// `relu_()`.
    pub fn relu_(&self) -> &Tensor {
        self.unary_("relu_", Tensor::relu)
    }

    /// `sigmoid_()`.
    pub fn sigmoid_(&self) -> &Tensor {
        self.unary_("sigmoid_", Tensor::sigmoid)
    }

    /// `tanh_()`.
    pub fn tanh_(&self) -> &Tensor {
        self.unary_("tanh_", Tensor::tanh)
    }

    /// `exp_()`.
    pub fn exp_(&self) -> &Tensor {
        self.unary_("exp_", Tensor::exp)
    }

    /// `neg_()`.
    pub fn neg_(&self) -> &Tensor {
        self.unary_("neg_", Tensor::neg)
    }

    /// `clamp_(min, max)`.
    pub fn clamp_(&self, min: Option<f64>, max: Option<f64>) -> &Tensor {
        self.unary_("clamp_", |t| t.clamp(min, max))
    }

    /// `masked_fill_(mask, value)`: `value` where `mask` is true; the mask broadcasts.
    pub fn masked_fill_(&self, mask: &Tensor, value: f64) -> &Tensor {
        self.unary_("masked_fill_", |t| t.masked_fill(mask, value))
    }

    /// `index_fill_(dim, index, value)`.
    pub fn index_fill_(&self, dim: isize, index: &Tensor, value: f64) -> &Tensor {
        self.unary_("index_fill_", |t| t.index_fill(dim, index, value))
    }

    /// `index_copy_(dim, index, src)`: the indexing assignment `y[idx] = src` along `dim`.
    pub fn index_copy_(&self, dim: isize, index: &Tensor, src: &Tensor) -> &Tensor {
        self.inplace(
            "index_copy_",
            &[src],
            |t| t.index_copy(dim, index, src),
            |s| s.write_back(|t| t.index_copy(dim, index, src)),
        )
    }

    /// Sets every element to `value`, in place (`fill_`).
    pub fn fill_(&self, value: f64) -> &Tensor {
        let fill = super::create::full(&[], value, self.dtype());
        self.copy_(&fill)
    }

    /// Sets every element to zero, in place (`zero_`).
    pub fn zero_(&self) -> &Tensor {
        self.fill_(0.0)
    }

    /// Updates a contiguous float32 tensor in place with `f(self, other)` when `other` is a
    /// number or a same-shape contiguous float32 tensor on other storage; false otherwise.
    fn update_f32_in_place(&self, other: &Operand, f: impl Fn(f32, f32) -> f32) -> bool {
        if self.dtype() != crate::DType::Float32 || !self.is_contiguous() {
            return false;
        }
        match other {
            Operand::Scalar(v, _) => {
                let v = *v as f32;
                self.update_slice::<f32, _>(|s| s.iter_mut().for_each(|x| *x = f(*x, v)));
                true
            }
            Operand::Tensor(t)
                if t.dtype() == crate::DType::Float32
                    && t.shape() == self.shape()
                    && t.is_contiguous()
                    && !crate::storage::Shared::ptr_eq(&t.0.storage, &self.0.storage) =>
            {
                t.with_slice::<f32, _>(|o| {
                    self.update_slice::<f32, _>(|s| {
                        s.iter_mut().zip(o).for_each(|(x, &y)| *x = f(*x, y))
                    })
                });
                true
            }
            _ => false,
        }
    }

    /// Runs `f` on the elements of this contiguous tensor for an in-place update that autograd
    /// does not see (as under `no_grad`); used by optimizers' fused update loops.
    ///
    /// Panics when the tensor is not contiguous or `T` is not its element type.
    pub fn update_slice<T: Element, R>(&self, f: impl FnOnce(&mut [T]) -> R) -> R {
        assert!(
            self.is_contiguous(),
            "update_slice: tensor must be contiguous"
        );
        let r = {
            let mut guard = self.0.storage.data.write();
            let s = T::slice_mut(&mut guard).unwrap_or_else(|| {
                panic!(
                    "update_slice: expected dtype {}, got {}",
                    T::DTYPE,
                    self.dtype()
                )
            });
            let off = self.storage_offset();
            f(&mut s[off..off + self.numel()])
        };
        self.0.storage.bump_version();
        r
    }

    /// [`update_slice`](Tensor::update_slice) over several tensors at once, for one update
    /// spread over all of them (an optimizer step over the pool): `f` gets each tensor's
    /// elements, in order. Returns `None`, without calling `f`, when two of the tensors share
    /// a buffer.
    ///
    /// Panics as `update_slice` does.
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let a = Tensor::from_vec(vec![0.0f32; 2], &[2]);
    /// let b = Tensor::from_vec(vec![1.0f32; 3], &[3]);
    /// Tensor::update_slices::<f32, _>(&[a.clone(), b.clone()], |s| s[1][2] = s[0].len() as f32);
    /// assert_eq!(b.to_vec::<f32>(), vec![1.0, 1.0, 2.0]);
    /// assert!(Tensor::update_slices::<f32, _>(&[a.clone(), a.view(&[2])], |_| ()).is_none());
    /// ```
    pub fn update_slices<T: Element, R>(
        tensors: &[Tensor],
        f: impl FnOnce(&mut [&mut [T]]) -> R,
    ) -> Option<R> {
        let mut buffers: Vec<usize> = tensors
            .iter()
            .map(|t| {
                assert!(
                    t.is_contiguous(),
                    "update_slices: tensors must be contiguous"
                );
                crate::storage::Shared::as_ptr(&t.0.storage) as usize
            })
            .collect();
        buffers.sort_unstable();
        if buffers.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        let r = {
            let mut guards: Vec<_> = tensors.iter().map(|t| t.0.storage.data.write()).collect();
            let mut slices: Vec<&mut [T]> = guards
                .iter_mut()
                .zip(tensors)
                .map(|(guard, t)| {
                    let s = T::slice_mut(guard).unwrap_or_else(|| {
                        panic!(
                            "update_slices: expected dtype {}, got {}",
                            T::DTYPE,
                            t.dtype()
                        )
                    });
                    let off = t.storage_offset();
                    &mut s[off..off + t.numel()]
                })
                .collect();
            f(&mut slices)
        };
        tensors.iter().for_each(|t| t.0.storage.bump_version());
        Some(r)
    }

    /// A trainable `tf.Variable` holding `init` (floats become float32): every live
    /// `GradientTape` watches it, and `assign`, `assign_add`, `assign_sub` update it in place.
    ///
    /// ```
    /// use tandem_core::{autograd::GradientTape, Tensor};
    /// let w = Tensor::variable(2.9);
    /// w.assign_sub(&Tensor::new(0.4));
    /// assert!((w.item::<f32>() - 2.5).abs() < 1e-6);
    /// ```
    pub fn variable(init: impl IntoTensor) -> Tensor {
        let t = Tensor::new(init);
        check_can_require_grad(&t);
        t.0.meta.trainable_variable.store(true, Ordering::Relaxed);
        t
    }

    /// Whether this tensor is a trainable `tf::Variable`.
    pub fn is_variable(&self) -> bool {
        self.0.meta.trainable_variable.load(Ordering::Relaxed)
    }

    /// Sets whether a Variable is trainable (watched by tapes).
    pub fn set_trainable(&self, on: bool) {
        self.0.meta.trainable_variable.store(on, Ordering::Relaxed);
    }

    /// `variable.assign(value)`: overwrite in place.
    pub fn assign(&self, value: &Tensor) -> &Tensor {
        crate::autograd::no_grad(|| super::index::copy_into(self, value));
        self
    }

    /// `variable.assign_add(delta)`: add in place.
    pub fn assign_add(&self, delta: &Tensor) -> &Tensor {
        let r = crate::autograd::no_grad(|| self.add(delta));
        super::index::copy_into(self, &r);
        self
    }

    /// `variable.assign_sub(delta)`: subtract in place (the seed's `W.assign_sub(lr * W_grad)`).
    pub fn assign_sub(&self, delta: &Tensor) -> &Tensor {
        if self.update_f32_in_place(&Operand::Tensor(delta.clone()), |a, b| a - b) {
            return self;
        }
        let r = crate::autograd::no_grad(|| self.sub(delta));
        super::index::copy_into(self, &r);
        self
    }

    /// `variable.read_value()`: the current value as a new tensor.
    pub fn read_value(&self) -> Tensor {
        crate::autograd::no_grad(|| self.contiguous_copy())
    }
}
