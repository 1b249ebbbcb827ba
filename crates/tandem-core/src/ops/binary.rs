//! Elementwise functions of two tensors with NumPy broadcasting and PyTorch's type promotion,
//! with gradients summed back to each input's shape.

use super::dispatch::{dispatch_all, dispatch_float, dispatch_num};
use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::{DType, Element};
use crate::kernels::elementwise::{map_slice, zip_slices};
use crate::shape::{broadcast_shapes, broadcast_strides, numel, walk_rows2};
use crate::tensor::{buffer_from_f64, Tensor};
use std::borrow::Cow;

/// The right-hand side of a binary op: a tensor or a Rust number (a "wrapped number" in
/// PyTorch's promotion rules: it never widens a tensor of its own category).
#[derive(Clone, Debug)]
pub enum Operand {
    /// A tensor operand.
    Tensor(Tensor),
    /// A number; `true` when it was written as a float.
    Scalar(f64, bool),
}

impl From<&Tensor> for Operand {
    fn from(t: &Tensor) -> Self {
        Operand::Tensor(t.clone())
    }
}
impl From<Tensor> for Operand {
    fn from(t: Tensor) -> Self {
        Operand::Tensor(t)
    }
}
/// A Rust number that can stand beside a tensor in an operator or an op: every primitive
/// integer and float type. Floats count as float scalars, integers as integer scalars (which
/// keep an integer tensor's dtype, as in PyTorch).
pub trait Number: Copy + Into<Operand> {}

macro_rules! operand_from {
    ($($t:ty: $f:expr),*) => {$(
        impl From<$t> for Operand {
            fn from(v: $t) -> Self { Operand::Scalar(v as f64, $f) }
        }
        impl Number for $t {}
    )*};
}
operand_from!(
    f64: true,
    f32: true,
    i64: false,
    i32: false,
    i16: false,
    i8: false,
    isize: false,
    u64: false,
    u32: false,
    u16: false,
    u8: false,
    usize: false
);

impl Operand {
    /// The dtype a number takes against a tensor of dtype `dt` (PyTorch's wrapped-number rule).
    fn scalar_dtype(&self, dt: DType) -> DType {
        match self {
            Operand::Scalar(_, true) if !dt.is_float() => DType::Float32,
            Operand::Scalar(_, false) if dt == DType::Bool => DType::Int64,
            _ => dt,
        }
    }

    /// The operand as a tensor usable against `like`.
    pub fn tensor_for(self, like: &Tensor) -> Tensor {
        match self {
            Operand::Tensor(t) => t,
            Operand::Scalar(v, _) => {
                let dtype = self.scalar_dtype(like.dtype());
                Tensor::from_buffer(buffer_from_f64(std::iter::once(v), dtype), &[])
            }
        }
    }
}

/// The dtype two operands are computed in.
pub(crate) fn result_dtype(a: &Tensor, b: &Tensor) -> DType {
    DType::promote_with_dims(a.dtype(), a.ndim() == 0, b.dtype(), b.ndim() == 0)
}

fn out_shape(a: &Tensor, b: &Tensor, op: &str) -> crate::shape::Dims {
    broadcast_shapes(a.shape(), b.shape()).unwrap_or_else(|| {
        panic!(
            "{op}: the size of tensor a ({:?}) must match the size of tensor b ({:?}) at a \
             non-singleton dimension (dtypes {} and {})",
            a.shape(),
            b.shape(),
            a.dtype(),
            b.dtype()
        )
    })
}

/// Applies `f` elementwise over `a` and `b` (both of element type `T`) with broadcasting.
pub(crate) fn binary_kernel<T: Element, U: Element>(
    a: &Tensor,
    b: &Tensor,
    op: &str,
    f: impl Fn(T, T) -> U + Sync + Copy,
) -> Tensor {
    if a.shape() == b.shape() && a.is_contiguous() && b.is_contiguous() {
        let v = a.with_slice::<T, _>(|x| b.with_slice::<T, _>(|y| zip_slices(x, y, f)));
        return Tensor::from_vec(v, a.shape());
    }
    let shape = out_shape(a, b, op);
    if a.is_contiguous() && b.is_contiguous() {
        if b.numel() == 1 && a.shape() == shape.as_slice() {
            let y = b.with_slice::<T, _>(|s| s[0]);
            return Tensor::from_vec(a.with_slice::<T, _>(|x| map_slice(x, |v| f(v, y))), &shape);
        }
        if a.numel() == 1 && b.shape() == shape.as_slice() {
            let x = a.with_slice::<T, _>(|s| s[0]);
            return Tensor::from_vec(b.with_slice::<T, _>(|y| map_slice(y, |v| f(x, v))), &shape);
        }
    }
    let sa = broadcast_strides(a.shape(), a.strides(), &shape);
    let sb = broadcast_strides(b.shape(), b.strides(), &shape);
    let ga = a.0.storage.data.read_recursive();
    let gb = b.0.storage.data.read_recursive();
    let (xa, xb) = (T::slice(&ga).expect("dtype"), T::slice(&gb).expect("dtype"));
    let mut out: Vec<U> = crate::storage::result_vec(numel(&shape));
    walk_rows2(
        &shape,
        &sa,
        a.storage_offset(),
        &sb,
        b.storage_offset(),
        |pa, pb, n, ia, ib| match (ia, ib) {
            (1, 1) => out.extend(
                xa[pa..pa + n]
                    .iter()
                    .zip(&xb[pb..pb + n])
                    .map(|(&x, &y)| f(x, y)),
            ),
            (1, 0) => {
                let y = xb[pb];
                out.extend(xa[pa..pa + n].iter().map(|&x| f(x, y)))
            }
            (0, 1) => {
                let x = xa[pa];
                out.extend(xb[pb..pb + n].iter().map(|&y| f(x, y)))
            }
            _ => out.extend((0..n).map(|i| f(xa[pa + i * ia], xb[pb + i * ib]))),
        },
    );
    drop((ga, gb));
    Tensor::from_vec(out, &shape)
}

impl Tensor {
    /// Sums a broadcast gradient back to `shape` (the inverse of broadcasting).
    pub fn sum_to_shape(&self, shape: &[usize]) -> Tensor {
        if self.shape() == shape {
            return self.clone();
        }
        if shape.is_empty() {
            return self.sum();
        }
        let lead = self.ndim() - shape.len();
        if (lead..self.ndim()).all(|i| shape[i - lead] == self.shape()[i]) {
            let dims: Vec<isize> = (0..lead as isize).collect();
            return self.sum_dims(&dims, false);
        }
        let dims: Vec<isize> = (0..self.ndim())
            .filter(|&i| i < lead || (shape[i - lead] == 1 && self.shape()[i] != 1))
            .map(|i| i as isize)
            .collect();
        let s = if dims.is_empty() {
            self.clone()
        } else {
            self.sum_dims(&dims, true)
        };
        let target: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        s.reshape(&target)
    }
}

/// The gradient for input `x` from the output gradient `g`: summed to `x`'s shape and dtype.
fn reduce_grad(g: Tensor, x: &Tensor) -> Tensor {
    reduce_grad_to(g, x.shape(), x.dtype())
}

/// What a gradient must be reduced to for an input: its shape and dtype. A backward formula
/// that needs no more of an input keeps this instead of a handle to it.
struct InputLike {
    shape: crate::shape::Dims,
    dtype: DType,
}

impl InputLike {
    fn of(t: &Tensor) -> Self {
        InputLike {
            shape: t.0.shape.clone(),
            dtype: t.dtype(),
        }
    }

    fn reduce(&self, g: Tensor) -> Tensor {
        reduce_grad_to(g, &self.shape, self.dtype)
    }
}

/// [`reduce_grad`] for an input known by its shape and dtype only.
fn reduce_grad_to(g: Tensor, shape: &[usize], dtype: DType) -> Tensor {
    // Handed on as it is when nothing was broadcast (no second handle to make and drop).
    let g = if g.shape() == shape {
        g
    } else {
        g.sum_to_shape(shape)
    };
    if g.dtype() != dtype {
        g.to_dtype(dtype)
    } else {
        g
    }
}

/// Both operands in `dt`, borrowing those already of that dtype.
/// Whether a backward formula may use a fused kernel: nothing records (no `create_graph`) and
/// both tensors are contiguous, of one float dtype and shape.
fn fusable(g: &Tensor, x: &Tensor) -> bool {
    !is_grad_enabled()
        && g.dtype() == x.dtype()
        && g.dtype().is_float()
        && g.shape() == x.shape()
        && g.is_contiguous()
        && x.is_contiguous()
}

/// `g * p * a^(p-1)` in one pass when nothing records; `None` otherwise.
pub(super) fn pow_grad_fused(g: &Tensor, a: &Tensor, p: f64) -> Option<Tensor> {
    if !fusable(g, a) || p == 0.0 {
        return None;
    }
    Some(dispatch_float!(a.dtype(), "pow backward", T => {
        let (pt, pm1) = (p as T, (p - 1.0) as T);
        let v: Vec<T> = g.with_slice::<T, _>(|gs| {
            a.with_slice::<T, _>(|xs| {
                if p == 2.0 {
                    zip_slices(gs, xs, |gv, x| gv * (x + x))
                } else {
                    zip_slices(gs, xs, |gv, x| gv * pt * x.powf(pm1))
                }
            })
        });
        Tensor::from_vec(v, a.shape())
    }))
}

/// The gradient of `x` in `x * other`: `g * other` summed to `x`'s shape. A one-element `x`
/// (a scalar weight) takes a fused dot product when nothing records.
fn mul_grad(g: &Tensor, other: &Tensor, x: &Tensor) -> Tensor {
    if x.numel() == 1 && x.dtype() == g.dtype() && fusable(g, other) {
        let dot = dispatch_float!(g.dtype(), "mul backward", T => g.with_slice::<T, _>(|gs| {
            other.with_slice::<T, _>(|os| {
                gs.iter().zip(os).map(|(&a, &b)| (a * b).to_f64()).sum::<f64>()
            })
        }));
        return Tensor::from_buffer(buffer_from_f64(std::iter::once(dot), x.dtype()), x.shape());
    }
    reduce_grad(g * other, x)
}

fn cast_pair<'a>(a: &'a Tensor, b: &'a Tensor, dt: DType) -> (Cow<'a, Tensor>, Cow<'a, Tensor>) {
    let cast = |t: &'a Tensor| {
        if t.dtype() == dt {
            Cow::Borrowed(t)
        } else {
            Cow::Owned(t.to_dtype(dt))
        }
    };
    (cast(a), cast(b))
}

/// The elementwise arithmetic of two tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    Pow,
}

/// The arithmetic of a tensor and a Rust number `v`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScalarArith {
    /// `x + v`.
    Add,
    /// `x - v`.
    Sub,
    /// `x * v`.
    Mul,
    /// `x / v`.
    Div,
    /// `v - x`.
    SubFrom,
}

/// The elementwise comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

fn arith(a: &Tensor, b: &Tensor, op: &'static str, kind: Arith) -> Tensor {
    let mut dt = result_dtype(a, b);
    if kind == Arith::Div && !dt.is_float() {
        dt = DType::Float32;
    }
    let (x, y) = cast_pair(a, b, dt);
    dispatch_num!(dt, op, T => match kind {
        Arith::Add => binary_kernel::<T, T>(&x, &y, op, |p, q| p + q),
        Arith::Sub => binary_kernel::<T, T>(&x, &y, op, |p, q| p - q),
        Arith::Mul => binary_kernel::<T, T>(&x, &y, op, |p, q| p * q),
        Arith::Div => binary_kernel::<T, T>(&x, &y, op, |p, q| p / q),
        Arith::Maximum => binary_kernel::<T, T>(&x, &y, op, |p, q| if p != p || p > q { p } else { q }),
        Arith::Minimum => binary_kernel::<T, T>(&x, &y, op, |p, q| if p != p || p < q { p } else { q }),
        Arith::Pow => binary_kernel::<T, T>(&x, &y, op, |p, q| T::from_f64(p.to_f64().powf(q.to_f64()))),
    })
}

impl Tensor {
    /// `self (op) v` for a Rust number `v`, without materializing it as a tensor.
    pub(crate) fn scalar_op(&self, v: f64, is_float: bool, kind: ScalarArith) -> Tensor {
        let mut dt = Operand::Scalar(v, is_float).scalar_dtype(self.dtype());
        if kind == ScalarArith::Div && !dt.is_float() {
            dt = DType::Float32;
        }
        // Borrowed when already of `dt`: a handle clone and its drop are two locked
        // instructions, a noticeable part of a scalar op on a small tensor.
        let x = if self.dtype() == dt {
            Cow::Borrowed(self)
        } else {
            Cow::Owned(self.to_dtype(dt))
        };
        let out = dispatch_num!(dt, "scalar op", T => {
            let s = T::from_f64(v);
            x.with_slice::<T, _>(|xs| {
                let v: Vec<T> = match kind {
                    ScalarArith::Add => map_slice(xs, |a| a + s),
                    ScalarArith::Sub => map_slice(xs, |a| a - s),
                    ScalarArith::Mul => map_slice(xs, |a| a * s),
                    ScalarArith::Div => map_slice(xs, |a| a / s),
                    ScalarArith::SubFrom => map_slice(xs, |a| s - a),
                };
                Tensor::from_vec(v, self.shape())
            })
        });
        if !should_record(&[self]) {
            return out;
        }
        let name = match kind {
            ScalarArith::Add => "AddBackward1",
            ScalarArith::Sub => "SubBackward1",
            ScalarArith::Mul => "MulBackward1",
            ScalarArith::Div => "DivBackward1",
            ScalarArith::SubFrom => "RsubBackward1",
        };
        let from = self.dtype();
        let traced = attach(out, name, &[self], move |g, _| {
            let d = match kind {
                ScalarArith::Add | ScalarArith::Sub => g.clone(),
                ScalarArith::Mul => g.scalar_op(v, true, ScalarArith::Mul),
                ScalarArith::Div => g.scalar_op(v, true, ScalarArith::Div),
                ScalarArith::SubFrom => g.neg(),
            };
            smallvec::smallvec![Some(d.to_dtype(from))]
        });
        crate::autograd::trace::set_attrs(&traced, || {
            vec![("scalar", crate::autograd::trace::Attr::Float(v))]
        });
        traced
    }

    /// `self + other` (`torch.add`, `tf.math.add`); `other` may be a tensor or a number.
    pub fn add(&self, other: impl Into<Operand>) -> Tensor {
        let other = other.into();
        if let Operand::Scalar(v, f) = other {
            return self.scalar_op(v, f, ScalarArith::Add);
        }
        let b = other.tensor_for(self);
        let out = arith(self, &b, "add", Arith::Add);
        if !should_record(&[self, &b]) {
            return out;
        }
        let (a2, b2) = (InputLike::of(self), InputLike::of(&b));
        attach(out, "AddBackward0", &[self, &b], move |g, n| {
            smallvec::smallvec![
                n[0].then(|| a2.reduce(g.clone())),
                n[1].then(|| b2.reduce(g.clone())),
            ]
        })
    }

    /// `self - other` (`torch.subtract`, `tf.math.subtract`).
    pub fn sub(&self, other: impl Into<Operand>) -> Tensor {
        let other = other.into();
        if let Operand::Scalar(v, f) = other {
            return self.scalar_op(v, f, ScalarArith::Sub);
        }
        let b = other.tensor_for(self);
        let out = arith(self, &b, "sub", Arith::Sub);
        if !should_record(&[self, &b]) {
            return out;
        }
        let (a2, b2) = (InputLike::of(self), InputLike::of(&b));
        attach(out, "SubBackward0", &[self, &b], move |g, n| {
            smallvec::smallvec![
                n[0].then(|| a2.reduce(g.clone())),
                n[1].then(|| b2.reduce(g.neg())),
            ]
        })
    }

    /// `sub` under the name `torch.subtract` uses.
    pub fn subtract(&self, other: impl Into<Operand>) -> Tensor {
        self.sub(other)
    }

    /// `self * other` (`torch.multiply`, `tf.math.multiply`).
    pub fn mul(&self, other: impl Into<Operand>) -> Tensor {
        let other = other.into();
        if let Operand::Scalar(v, f) = other {
            return self.scalar_op(v, f, ScalarArith::Mul);
        }
        let b = other.tensor_for(self);
        let out = arith(self, &b, "mul", Arith::Mul);
        if !should_record(&[self, &b]) {
            return out;
        }
        let (sa, sb) = (Saved::new(self), Saved::new(&b));
        attach(out, "MulBackward0", &[self, &b], move |g, n| {
            let (a, b) = (sa.get(), sb.get());
            smallvec::smallvec![
                n[0].then(|| mul_grad(g, b, a)),
                n[1].then(|| mul_grad(g, a, b)),
            ]
        })
    }

    /// `mul` under the name `torch.multiply` uses.
    pub fn multiply(&self, other: impl Into<Operand>) -> Tensor {
        self.mul(other)
    }

    /// True division `self / other` (`torch.divide`); integers divide into float32.
    pub fn div(&self, other: impl Into<Operand>) -> Tensor {
        let other = other.into();
        if let Operand::Scalar(v, f) = other {
            return self.scalar_op(v, f, ScalarArith::Div);
        }
        let b = other.tensor_for(self);
        let out = arith(self, &b, "div", Arith::Div);
        if !should_record(&[self, &b]) {
            return out;
        }
        let (sa, sb) = (Saved::new(self), Saved::new(&b));
        attach(out, "DivBackward0", &[self, &b], move |g, n| {
            let (a, b) = (sa.get(), sb.get());
            smallvec::smallvec![
                n[0].then(|| reduce_grad(g / b, a)),
                n[1].then(|| reduce_grad(-(g * a) / b.square(), b)),
            ]
        })
    }

    /// `div` under the name `torch.divide` uses.
    pub fn divide(&self, other: impl Into<Operand>) -> Tensor {
        self.div(other)
    }

    /// `self ** exponent` (`torch.pow`, `tf.math.pow`); the exponent may be a tensor.
    pub fn pow(&self, exponent: impl Into<Operand>) -> Tensor {
        let e = exponent.into();
        if let Operand::Scalar(p, _) = e {
            return self.pow_scalar(p);
        }
        let b = e.tensor_for(self);
        let out = arith(self, &b, "pow", Arith::Pow);
        if !should_record(&[self, &b]) {
            return out;
        }
        let (sa, sb) = (Saved::new(self), Saved::new(&b));
        attach(out, "PowBackward1", &[self, &b], move |g, n| {
            let (a, b) = (sa.get(), sb.get());
            smallvec::smallvec![
                n[0].then(|| reduce_grad(g * &(b * &a.pow(&(b - 1.0))), a)),
                n[1].then(|| {
                    // d/db a^b = a^b ln a, taken as 0 where a == 0 and b >= 0 (as PyTorch).
                    let safe = a.eq(0.0).logical_and(&b.ge(0.0));
                    let term = (&a.pow(b) * &a.log()).masked_fill(&safe, 0.0);
                    reduce_grad(g * &term, b)
                }),
            ]
        })
    }

    fn pow_scalar(&self, p: f64) -> Tensor {
        let out = if self.dtype().is_float() {
            dispatch_float!(self.dtype(), "pow", T => self.with_slice::<T, _>(|s| {
                let v: Vec<T> = match p {
                    1.0 => s.to_vec(),
                    2.0 => map_slice(s, |x| x * x),
                    3.0 => map_slice(s, |x| x * x * x),
                    -1.0 => map_slice(s, |x| 1.0 / x),
                    0.5 => map_slice(s, |x| x.sqrt()),
                    _ => {
                        let pt = p as T;
                        map_slice(s, |x| x.powf(pt))
                    }
                };
                Tensor::from_vec(v, self.shape())
            }))
        } else if p.fract() == 0.0 && p >= 0.0 {
            let c = self.contiguous();
            let v: Vec<f64> = c.to_vec::<f64>().into_iter().map(|x| x.powf(p)).collect();
            Tensor::from_buffer(buffer_from_f64(v.into_iter(), self.dtype()), self.shape())
        } else {
            self.to_dtype(DType::Float32).pow_scalar(p)
        };
        if !should_record(&[self]) {
            return out;
        }
        let sa = Saved::new(self);
        attach(out, "PowBackward0", &[self], move |g, _| {
            let a = sa.get();
            if let Some(d) = pow_grad_fused(g, a, p) {
                return smallvec::smallvec![Some(d)];
            }
            let d = if p == 0.0 {
                a.zeros_like()
            } else if p == 2.0 {
                a * 2.0
            } else {
                &a.pow_scalar(p - 1.0) * p
            };
            smallvec::smallvec![Some(g * &d)]
        })
    }

    /// Elementwise maximum (`torch.maximum`); NaN propagates; ties split the gradient.
    pub fn maximum(&self, other: impl Into<Operand>) -> Tensor {
        self.extremum(other, Arith::Maximum, "MaximumBackward0")
    }

    /// Elementwise minimum (`torch.minimum`); NaN propagates; ties split the gradient.
    pub fn minimum(&self, other: impl Into<Operand>) -> Tensor {
        self.extremum(other, Arith::Minimum, "MinimumBackward0")
    }

    fn extremum(&self, other: impl Into<Operand>, kind: Arith, name: &'static str) -> Tensor {
        let b = other.into().tensor_for(self);
        let out = arith(self, &b, name, kind);
        if !should_record(&[self, &b]) {
            return out;
        }
        let (sa, sb) = (Saved::new(self), Saved::new(&b));
        attach(out, name, &[self, &b], move |g, n| {
            let (a, b) = (sa.get().detach(), sb.get().detach());
            let (wins_a, ties) = if kind == Arith::Maximum {
                (a.gt(&b), a.eq(&b))
            } else {
                (a.lt(&b), a.eq(&b))
            };
            let dt = g.dtype();
            let half = &ties.to_dtype(dt) * 0.5;
            let wa = &wins_a.to_dtype(dt) + &half;
            let wb = &(1.0 - &wins_a.to_dtype(dt)) - &ties.to_dtype(dt) + &half;
            smallvec::smallvec![
                n[0].then(|| reduce_grad(g * &wa, &a)),
                n[1].then(|| reduce_grad(g * &wb, &b)),
            ]
        })
    }
}

fn compare(a: &Tensor, b: &Tensor, op: &'static str, kind: Compare) -> Tensor {
    let dt = result_dtype(a, b);
    let (x, y) = cast_pair(a, b, dt);
    dispatch_all!(dt, T => match kind {
        Compare::Eq => binary_kernel::<T, bool>(&x, &y, op, |p, q| p == q),
        Compare::Ne => binary_kernel::<T, bool>(&x, &y, op, |p, q| p != q),
        Compare::Lt => binary_kernel::<T, bool>(&x, &y, op, |p, q| p < q),
        Compare::Le => binary_kernel::<T, bool>(&x, &y, op, |p, q| p <= q),
        Compare::Gt => binary_kernel::<T, bool>(&x, &y, op, |p, q| p > q),
        Compare::Ge => binary_kernel::<T, bool>(&x, &y, op, |p, q| p >= q),
    })
}

impl Tensor {
    /// Elementwise `==`, as a bool tensor (`torch.eq`, `tf.equal`).
    pub fn eq(&self, other: impl Into<Operand>) -> Tensor {
        compare(self, &other.into().tensor_for(self), "eq", Compare::Eq)
    }

    /// Elementwise `!=`, as a bool tensor (`torch.ne`, `tf.not_equal`).
    pub fn ne(&self, other: impl Into<Operand>) -> Tensor {
        compare(self, &other.into().tensor_for(self), "ne", Compare::Ne)
    }

    /// Elementwise `<`, as a bool tensor (`torch.lt`, `tf.less`).
    pub fn lt(&self, other: impl Into<Operand>) -> Tensor {
        compare(self, &other.into().tensor_for(self), "lt", Compare::Lt)
    }

    /// Elementwise `<=`, as a bool tensor (`torch.le`, `tf.less_equal`).
    pub fn le(&self, other: impl Into<Operand>) -> Tensor {
        compare(self, &other.into().tensor_for(self), "le", Compare::Le)
    }

    /// Elementwise `>`, as a bool tensor (`torch.gt`, `tf.greater`).
    pub fn gt(&self, other: impl Into<Operand>) -> Tensor {
        compare(self, &other.into().tensor_for(self), "gt", Compare::Gt)
    }

    /// Elementwise `>=`, as a bool tensor (`torch.ge`, `tf.greater_equal`).
    pub fn ge(&self, other: impl Into<Operand>) -> Tensor {
        compare(self, &other.into().tensor_for(self), "ge", Compare::Ge)
    }

    fn as_bool(&self) -> Tensor {
        if self.dtype() == DType::Bool {
            self.clone()
        } else {
            self.ne(0)
        }
    }

    /// Elementwise logical and (non-zero is true).
    pub fn logical_and(&self, other: &Tensor) -> Tensor {
        binary_kernel::<bool, bool>(&self.as_bool(), &other.as_bool(), "logical_and", |p, q| {
            p & q
        })
    }

    /// Elementwise logical or.
    pub fn logical_or(&self, other: &Tensor) -> Tensor {
        binary_kernel::<bool, bool>(&self.as_bool(), &other.as_bool(), "logical_or", |p, q| {
            p | q
        })
    }

    /// Elementwise logical exclusive or.
    pub fn logical_xor(&self, other: &Tensor) -> Tensor {
        binary_kernel::<bool, bool>(&self.as_bool(), &other.as_bool(), "logical_xor", |p, q| {
            p ^ q
        })
    }

    /// Elementwise logical not.
    pub fn logical_not(&self) -> Tensor {
        let b = self.as_bool();
        b.with_slice::<bool, _>(|s| Tensor::from_vec(map_slice(s, |v| !v), self.shape()))
    }

    /// Elementwise NaN test.
    pub fn isnan(&self) -> Tensor {
        self.ne(self)
    }

    /// Elementwise finiteness test (not NaN, not infinite).
    pub fn isfinite(&self) -> Tensor {
        if !self.dtype().is_float() {
            return super::create::ones(self.shape(), DType::Bool);
        }
        let x = self.to_dtype(DType::Float64);
        x.with_slice::<f64, _>(|s| Tensor::from_vec(map_slice(s, |v| v.is_finite()), self.shape()))
    }

    /// True when shapes match and all elements are within `atol + rtol * |other|`.
    pub fn allclose(&self, other: &Tensor, rtol: f64, atol: f64) -> bool {
        if self.shape() != other.shape() {
            return false;
        }
        let (a, b) = (self.to_vec::<f64>(), other.to_vec::<f64>());
        a.iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() <= atol + rtol * y.abs() || (x.is_nan() && y.is_nan()))
    }
}
