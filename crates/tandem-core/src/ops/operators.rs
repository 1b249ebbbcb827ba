//! `std::ops` for tensors: `+ - * /` and unary `-`, owned or borrowed, with numbers (`f64`, `i64`:
//! one type each, so that literals such as `2.0` infer) on either
//! side, and the in-place `+= -= *= /=` (`W -= lr * W_grad`).

use super::binary::Operand;
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
            fn $amethod(&mut self, rhs: &Tensor) { self.$inplace(rhs); }
        }
        impl $Assign<Tensor> for Tensor {
            fn $amethod(&mut self, rhs: Tensor) { self.$inplace(&rhs); }
        }
        binop!(@scalars $Trait, $method, $f, $Assign, $amethod, $inplace; f64 i64);
    };
    (@scalars $Trait:ident, $method:ident, $f:ident, $Assign:ident, $amethod:ident, $inplace:ident; $($s:ty)*) => {$(
        impl $Trait<$s> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: $s) -> Tensor { self.$f(rhs) }
        }
        impl $Trait<$s> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: $s) -> Tensor { (&self).$f(rhs) }
        }
        impl $Trait<&Tensor> for $s {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor { scalar_lhs(Operand::from(self), stringify!($f), rhs) }
        }
        impl $Trait<Tensor> for $s {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor { scalar_lhs(Operand::from(self), stringify!($f), &rhs) }
        }
        impl $Assign<$s> for Tensor {
            fn $amethod(&mut self, rhs: $s) { self.$inplace(rhs); }
        }
    )*};
}

/// `number (op) tensor`: commutative ops and `number - tensor` skip building a tensor.
fn scalar_lhs(s: Operand, op: &str, rhs: &Tensor) -> Tensor {
    match (op, s) {
        ("add", s) => rhs.add(s),
        ("mul", s) => rhs.mul(s),
        ("sub", Operand::Scalar(v, f)) => rhs.scalar_op(v, f, b'r'),
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
