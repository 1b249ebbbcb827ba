//! `std::ops` for tensors: `+ - * /` and unary `-`, owned or borrowed; a number of any of
//! Rust's numeric types on the right (`&t * 0.01f32`, `&t / 3usize`, `x -= 1u8`) and an `f64` or
//! `i64` on the left (`2 * &t`, `1.0 - &t`: one type each, so that unsuffixed literals infer);
//! and the in-place `+= -= *= /=` (`W -= lr * W_grad`). A float number keeps a float tensor's dtype and turns an
//! integer tensor into float32; an integer number keeps the tensor's dtype, as in PyTorch.

use super::binary::{Number, Operand};
use crate::tensor::Tensor;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

macro_rules! binop {
    ($Trait:ident, $method:ident, $f:ident, $Assign:ident, $amethod:ident, $inplace:ident) => {
        impl $Trait<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor { self.$f(rhs) }
        }
        impl $Trait<Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor { self.$f(&rhs) }
        }
        impl $Trait<&Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor { (&self).$f(rhs) }
        }
        impl $Trait<Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor { (&self).$f(&rhs) }
        }
        impl $Assign<&Tensor> for Tensor {
            fn $amethod(&mut self, rhs: &Tensor) {
                if records(self, Some(rhs)) {
                    *self = (&*self).$f(rhs);
                } else {
                    self.$inplace(rhs);
                }
            }
        }
        impl $Assign<Tensor> for Tensor {
            fn $amethod(&mut self, rhs: Tensor) { $Assign::$amethod(self, &rhs); }
        }
        impl<S: Number> $Trait<S> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: S) -> Tensor { self.$f(rhs) }
        }
        impl<S: Number> $Trait<S> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: S) -> Tensor { (&self).$f(rhs) }
        }
        impl<S: Number> $Assign<S> for Tensor {
            fn $amethod(&mut self, rhs: S) {
                if records(self, None) {
                    *self = (&*self).$f(rhs);
                } else {
                    self.$inplace(rhs);
                }
            }
        }
        binop!(@left $Trait, $method, $f; f64 i64);
    };
    // On the left one float and one integer type only: with more, `2.0 * &t` would not infer.
    (@left $Trait:ident, $method:ident, $f:ident; $($s:ty)*) => {$(
        impl $Trait<&Tensor> for $s {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor { scalar_lhs(Operand::from(self), stringify!($f), rhs) }
        }
        impl $Trait<Tensor> for $s {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor { scalar_lhs(Operand::from(self), stringify!($f), &rhs) }
        }
    )*};
}

/// Whether `lhs op= rhs` belongs on the autograd graph: `lhs` already has a history, or `rhs`
/// needs a gradient. As in PyTorch (`loss += criterion(out, y)`), `lhs` then names the
/// recorded result; unlike PyTorch, other views of the old `lhs` keep their values. A leaf that
/// requires grad still refuses in-place updates, as in PyTorch.
fn records(lhs: &Tensor, rhs: Option<&Tensor>) -> bool {
    crate::autograd::is_grad_enabled()
        && (!lhs.is_leaf() || (!lhs.requires_grad() && rhs.is_some_and(Tensor::requires_grad)))
}

/// `number (op) tensor`: commutative ops and `number - tensor` skip building a tensor.
fn scalar_lhs(s: Operand, op: &str, rhs: &Tensor) -> Tensor {
    match (op, s) {
        ("add", s) => rhs.add(s),
        ("mul", s) => rhs.mul(s),
        ("sub", Operand::Scalar(v, f)) => rhs.scalar_op(v, f, super::binary::ScalarArith::SubFrom),
        (_, s) => s.tensor_for(rhs).div(rhs),
    }
}

binop!(Add, add, add, AddAssign, add_assign, add_);
binop!(Sub, sub, sub, SubAssign, sub_assign, sub_);
binop!(Mul, mul, mul, MulAssign, mul_assign, mul_);
binop!(Div, div, div, DivAssign, div_assign, div_);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}
impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn plus_equals_on_a_loss_accumulates_on_the_graph_as_in_pytorch() {
        // loss = 0; for x in xs: loss += w * x  ->  d loss / d w = sum(xs)
        let w = Tensor::from_vec(vec![2.0f32], &[1]).requires_grad_(true);
        let mut loss = Tensor::from_vec(vec![0.0f32], &[1]);
        for x in [1.0, 2.0, 3.5] {
            loss += &w * x;
        }
        loss *= 2.0;
        loss.sum().backward();
        assert_eq!(loss.to_vec::<f32>(), [26.0]);
        assert_eq!(w.grad().unwrap().to_vec::<f32>(), [13.0]);
    }

    #[test]
    fn numbers_of_every_rust_type_work_on_either_side() {
        let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
        assert_eq!((&t * 0.5f32).to_vec::<f32>(), [0.5, 1.0]);
        assert_eq!((2 * &t).to_vec::<f32>(), [2.0, 4.0]);
        assert_eq!((1.5 * &t).to_vec::<f32>(), [1.5, 3.0]);
        assert_eq!((&t / 4usize).to_vec::<f32>(), [0.25, 0.5]);
        assert_eq!((&t - 3i16).to_vec::<f32>(), [-2.0, -1.0]);
        assert_eq!((&t + 1u64).to_vec::<f32>(), [2.0, 3.0]);
        let i = Tensor::from_vec(vec![1i64, 2], &[2]);
        assert_eq!((&i * 3u32).dtype(), crate::DType::Int64);
        assert_eq!((&i * 0.5f32).to_vec::<f32>(), [0.5, 1.0]);
        let mut m = t.clone();
        m *= 2i32;
        m -= 0.5f32;
        assert_eq!(m.to_vec::<f32>(), [1.5, 3.5]);
    }

    #[test]
    fn plus_equals_without_gradients_updates_in_place() {
        let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
        let mut alias = a.clone();
        alias += 1.0;
        assert_eq!(a.to_vec::<f32>(), [2.0, 3.0]); // same storage
    }

    #[test]
    #[should_panic(expected = "leaf Variable that requires grad")]
    fn plus_equals_on_a_leaf_that_requires_grad_panics() {
        let mut w = Tensor::from_vec(vec![1.0f32], &[1]).requires_grad_(true);
        w += 1.0;
    }
}
