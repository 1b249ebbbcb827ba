//! In-place updates (`sub_`, `-=`, `assign_sub`) and TensorFlow's `Variable`.

use super::binary::Operand;
use crate::autograd::is_grad_enabled;
use crate::dtype::Element;
use crate::tensor::{check_can_require_grad, IntoTensor, Tensor};
use std::sync::atomic::Ordering;

impl Tensor {
    fn check_inplace(&self, op: &str) {
        if is_grad_enabled() && self.is_leaf() && self.requires_grad_flag() {
            panic!("{op}: a leaf Variable that requires grad is being used in an in-place operation (wrap the update in no_grad)");
        }
        if is_grad_enabled() && !self.is_leaf() {
            panic!("{op}: in-place operations are only supported on leaf tensors (this tensor has grad_fn {})", self.grad_fn_name().unwrap_or("?"));
        }
    }

    /// Overwrites the elements with `src` (broadcast and cast), in place (`copy_`).
    pub fn copy_(&self, src: &Tensor) -> &Tensor {
        self.check_inplace("copy_");
        super::index::copy_into(self, src);
        self
    }

    /// `self -= other`, in place (`sub_`).
    pub fn sub_(&self, other: impl Into<Operand>) -> &Tensor {
        self.check_inplace("sub_");
        let other = other.into();
        if self.update_f32_in_place(&other, |a, b| a - b) {
            return self;
        }
        let r = crate::autograd::no_grad(|| self.sub(other));
        super::index::copy_into(self, &r);
        self
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
                    && !triomphe::Arc::ptr_eq(&t.0.storage, &self.0.storage) =>
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

    /// `self += other`, in place (`add_`).
    pub fn add_(&self, other: impl Into<Operand>) -> &Tensor {
        self.check_inplace("add_");
        let other = other.into();
        if self.update_f32_in_place(&other, |a, b| a + b) {
            return self;
        }
        let r = crate::autograd::no_grad(|| self.add(other));
        super::index::copy_into(self, &r);
        self
    }

    /// `self *= other`, in place (`mul_`).
    pub fn mul_(&self, other: impl Into<Operand>) -> &Tensor {
        self.check_inplace("mul_");
        let r = crate::autograd::no_grad(|| self.mul(other));
        super::index::copy_into(self, &r);
        self
    }

    /// `self /= other`, in place (`div_`).
    pub fn div_(&self, other: impl Into<Operand>) -> &Tensor {
        self.check_inplace("div_");
        let r = crate::autograd::no_grad(|| self.div(other));
        super::index::copy_into(self, &r);
        self
    }

    /// Sets every element to `value`, in place (`fill_`).
    pub fn fill_(&self, value: f64) -> &Tensor {
        self.check_inplace("fill_");
        super::index::copy_into(self, &super::create::full(&[], value, self.dtype()));
        self
    }

    /// Sets every element to zero, in place (`zero_`).
    pub fn zero_(&self) -> &Tensor {
        self.fill_(0.0)
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
