//! Elementwise functions of one tensor, with their gradients.

use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::{DType, Element};
use crate::kernels::elementwise::{map_slice, relu1};
use crate::kernels::math::Transcendental;
use crate::ops::dispatch::{dispatch_all, float_of};
use crate::tensor::Tensor;

/// How an op treats integer inputs.
enum IntRule {
    /// Computes in f64 and converts back to the input's integer type.
    Keep(fn(f64) -> f64),
    /// Promotes the input to float32 first.
    Promote,
}

fn unary_impl<F: Fn(f32) -> f32 + Sync, G: Fn(f64) -> f64 + Sync>(
    x: &Tensor,
    op: &str,
    f32k: Option<Transcendental>,
    f32f: F,
    f64f: G,
    ints: IntRule,
) -> Tensor {
    match x.dtype() {
        DType::Float32 => x.with_slice::<f32, _>(|s| {
            let v = match f32k {
                Some(kernel) => kernel.map(s),
                None => map_slice(s, f32f),
            };
            Tensor::from_vec(v, x.shape())
        }),
        DType::Float64 => {
            x.with_slice::<f64, _>(|s| Tensor::from_vec(map_slice(s, f64f), x.shape()))
        }
        DType::Bool => panic!("{op}: not implemented for 'Bool' tensors"),
        dt => match ints {
            IntRule::Keep(f) => dispatch_all!(dt, T => x.with_slice::<T, _>(|s| {
                Tensor::from_vec(map_slice(s, |v: T| T::from_f64(f(v.to_f64()))), x.shape())
            })),
            IntRule::Promote => unary_impl(&x.to_dtype(float_of(dt)), op, f32k, f32f, f64f, ints),
        },
    }
}

/// Records a unary op whose gradient is `g * dfdx(x)` (built from differentiable ops).
fn record(
    out: Tensor,
    x: &Tensor,
    name: &'static str,
    grad: impl Fn(&Tensor, &Tensor) -> Tensor + Send + Sync + 'static,
) -> Tensor {
    if !should_record(&[x]) {
        return out;
    }
    let saved = Saved::new(x);
    attach(out, name, &[x], move |g, _| {
        smallvec::smallvec![Some(grad(g, saved.get()))]
    })
}

/// Records a unary op whose gradient uses its output `y`: fast from the saved output, and
/// recomputed differentiably from `x` when a higher-order graph is being built.
fn record_with_output(
    out: Tensor,
    x: &Tensor,
    name: &'static str,
    forward: fn(&Tensor) -> Tensor,
    grad: impl Fn(&Tensor, &Tensor) -> Tensor + Send + Sync + 'static,
) -> Tensor {
    if !should_record(&[x]) {
        return out;
    }
    let (sx, sy) = (Saved::new(x), Saved::output(&out));
    attach(out, name, &[x], move |g, _| {
        let y = if is_grad_enabled() {
            forward(sx.get())
        } else {
            sy.get().clone()
        };
        smallvec::smallvec![Some(grad(g, &y))]
    })
}

impl Tensor {
    /// `-x` (`torch.neg`, `tf.math.negative`).
    pub fn neg(&self) -> Tensor {
        let out = unary_impl(self, "neg", None, |v| -v, |v| -v, IntRule::Keep(|v| -v));
        record(out, self, "NegBackward0", |g, _| g.neg())
    }

    /// `|x|` (`torch.abs`); gradient `sign(x)`.
    pub fn abs(&self) -> Tensor {
        let out = unary_impl(
            self,
            "abs",
            None,
            f32::abs,
            f64::abs,
            IntRule::Keep(f64::abs),
        );
        record(out, self, "AbsBackward0", |g, x| g * &x.sign())
    }

    /// `-1`, `0` or `1` by sign (`torch.sign`); zero gradient. As in PyTorch, `-0.0` and NaN
    /// give `0.0` (TensorFlow's `tf.math.sign` keeps NaN).
    pub fn sign(&self) -> Tensor {
        fn sgn(v: f64) -> f64 {
            ((v > 0.0) as i32 - (v < 0.0) as i32) as f64
        }
        let out = unary_impl(
            self,
            "sign",
            None,
            |v| ((v > 0.0) as i32 - (v < 0.0) as i32) as f32,
            sgn,
            IntRule::Keep(sgn),
        );
        record(out, self, "SignBackward0", |g, _| g.zeros_like())
    }

    /// Round half to even (`torch.round`, `tf.math.round`); zero gradient.
    pub fn round(&self) -> Tensor {
        let out = unary_impl(
            self,
            "round",
            None,
            f32::round_ties_even,
            f64::round_ties_even,
            IntRule::Keep(|v| v),
        );
        record(out, self, "RoundBackward0", |g, _| g.zeros_like())
    }

    /// Round up (`torch.ceil`); zero gradient.
    pub fn ceil(&self) -> Tensor {
        let out = unary_impl(
            self,
            "ceil",
            None,
            f32::ceil,
            f64::ceil,
            IntRule::Keep(|v| v),
        );
        record(out, self, "CeilBackward0", |g, _| g.zeros_like())
    }

    /// Round down (`torch.floor`); zero gradient.
    pub fn floor(&self) -> Tensor {
        let out = unary_impl(
            self,
            "floor",
            None,
            f32::floor,
            f64::floor,
            IntRule::Keep(|v| v),
        );
        record(out, self, "FloorBackward0", |g, _| g.zeros_like())
    }

    /// `x * x` (`torch.square`, `tf.square`).
    pub fn square(&self) -> Tensor {
        let out = unary_impl(
            self,
            "square",
            None,
            |v| v * v,
            |v| v * v,
            IntRule::Keep(|v| v * v),
        );
        record(out, self, "PowBackward0", |g, x| {
            super::binary::pow_grad_fused(g, x, 2.0).unwrap_or_else(|| g * &(x * 2.0))
        })
    }

    /// Square root (`torch.sqrt`).
    pub fn sqrt(&self) -> Tensor {
        let out = unary_impl(self, "sqrt", None, f32::sqrt, f64::sqrt, IntRule::Promote);
        record_with_output(out, self, "SqrtBackward0", Tensor::sqrt, |g, y| {
            g / &(y * 2.0)
        })
    }

    /// `1 / sqrt(x)` (`torch.rsqrt`).
    pub fn rsqrt(&self) -> Tensor {
        let out = unary_impl(
            self,
            "rsqrt",
            None,
            |v| 1.0 / v.sqrt(),
            |v| 1.0 / v.sqrt(),
            IntRule::Promote,
        );
        record_with_output(out, self, "RsqrtBackward0", Tensor::rsqrt, |g, y| {
            g * &(&y.pow(3.0) * -0.5)
        })
    }

    /// `1 / x` (`torch.reciprocal`).
    pub fn reciprocal(&self) -> Tensor {
        let out = unary_impl(
            self,
            "reciprocal",
            None,
            |v| 1.0 / v,
            |v| 1.0 / v,
            IntRule::Promote,
        );
        record_with_output(
            out,
            self,
            "ReciprocalBackward0",
            Tensor::reciprocal,
            |g, y| -(g * &y.square()),
        )
    }

    /// `e^x` (`torch.exp`); vectorized for float32.
    pub fn exp(&self) -> Tensor {
        let out = unary_impl(
            self,
            "exp",
            Some(Transcendental::Exp),
            f32::exp,
            f64::exp,
            IntRule::Promote,
        );
        record_with_output(out, self, "ExpBackward0", Tensor::exp, |g, y| g * y)
    }

    /// Natural logarithm (`torch.log`, `tf.math.log`); vectorized for float32.
    pub fn log(&self) -> Tensor {
        let out = unary_impl(
            self,
            "log",
            Some(Transcendental::Ln),
            f32::ln,
            f64::ln,
            IntRule::Promote,
        );
        record(out, self, "LogBackward0", |g, x| g / x)
    }

    /// `ln(1 + x)`, accurate near zero (`torch.log1p`).
    pub fn log1p(&self) -> Tensor {
        let out = unary_impl(
            self,
            "log1p",
            None,
            f32::ln_1p,
            f64::ln_1p,
            IntRule::Promote,
        );
        record(out, self, "Log1PBackward0", |g, x| g / &(x + 1.0))
    }

    /// `e^x - 1`, accurate near zero (`torch.expm1`).
    pub fn expm1(&self) -> Tensor {
        let out = unary_impl(
            self,
            "expm1",
            None,
            f32::exp_m1,
            f64::exp_m1,
            IntRule::Promote,
        );
        record(out, self, "Expm1Backward0", |g, x| g * &x.exp())
    }

    /// Sine (`torch.sin`).
    pub fn sin(&self) -> Tensor {
        let out = unary_impl(self, "sin", None, f32::sin, f64::sin, IntRule::Promote);
        record(out, self, "SinBackward0", |g, x| g * &x.cos())
    }

    /// Cosine (`torch.cos`).
    pub fn cos(&self) -> Tensor {
        let out = unary_impl(self, "cos", None, f32::cos, f64::cos, IntRule::Promote);
        record(out, self, "CosBackward0", |g, x| -(g * &x.sin()))
    }

    /// Hyperbolic tangent (`torch.tanh`); vectorized for float32.
    pub fn tanh(&self) -> Tensor {
        let out = unary_impl(
            self,
            "tanh",
            Some(Transcendental::Tanh),
            f32::tanh,
            f64::tanh,
            IntRule::Promote,
        );
        record_with_output(out, self, "TanhBackward0", Tensor::tanh, |g, y| {
            g * &(1.0 - &y.square())
        })
    }

    /// Logistic sigmoid `1 / (1 + e^-x)` (`torch.sigmoid`); vectorized for float32.
    pub fn sigmoid(&self) -> Tensor {
        let out = unary_impl(
            self,
            "sigmoid",
            Some(Transcendental::Sigmoid),
            |v: f32| 1.0 / (1.0 + (-v).exp()),
            |v: f64| 1.0 / (1.0 + (-v).exp()),
            IntRule::Promote,
        );
        record_with_output(out, self, "SigmoidBackward0", Tensor::sigmoid, |g, y| {
            g * &(y * &(1.0 - y))
        })
    }

    /// `max(x, 0)` (`torch.relu`); gradient 1 where `x > 0`.
    pub fn relu(&self) -> Tensor {
        let out = unary_impl(
            self,
            "relu",
            None,
            relu1::<f32>,
            relu1::<f64>,
            IntRule::Keep(|v| v.max(0.0)),
        );
        if !should_record(&[self]) {
            return out;
        }
        let sy = Saved::output(&out);
        attach(out, "ReluBackward0", &[self], move |g, _| {
            smallvec::smallvec![Some(relu_backward(g, sy.get()))]
        })
    }

    /// Limits every element to `[min, max]` (`torch.clamp`, `tf.clip_by_value`); gradient 1
    /// inside the range.
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Tensor {
        let (lo, hi) = (
            min.unwrap_or(f64::NEG_INFINITY),
            max.unwrap_or(f64::INFINITY),
        );
        let out = dispatch_all!(self.dtype(), T => {
            assert!(T::DTYPE != DType::Bool, "clamp: not implemented for 'Bool' tensors");
            let (l, h) = (T::from_f64(lo.max(T::from_f64(f64::MIN).to_f64())), T::from_f64(hi));
            let has_lo = min.is_some();
            let has_hi = max.is_some();
            self.with_slice::<T, _>(|s| Tensor::from_vec(map_slice(s, |v: T| {
                let v = if has_lo && v < l { l } else { v };
                if has_hi && v > h { h } else { v }
            }), self.shape()))
        });
        record(out, self, "ClampBackward1", move |g, x| {
            let inside = x.ge(lo).logical_and(&x.le(hi));
            g * &inside.to_dtype(g.dtype())
        })
    }

    /// Zeros shaped and typed like this tensor.
    pub fn zeros_like(&self) -> Tensor {
        super::create::zeros_like(self)
    }

    /// Ones shaped and typed like this tensor.
    pub fn ones_like(&self) -> Tensor {
        super::create::ones_like(self)
    }
}

/// The gradient through a ReLU whose output was `y`: `g` where `y > 0`, else 0
/// (differentiable in `g`).
pub(crate) fn relu_backward(g: &Tensor, y: &Tensor) -> Tensor {
    if is_grad_enabled() {
        return g * &y.gt(0.0).to_dtype(g.dtype());
    }
    if g.dtype() == DType::Float32 && y.dtype() == DType::Float32 {
        let v = g.with_slice::<f32, _>(|gs| {
            y.with_slice::<f32, _>(|ys| {
                crate::kernels::elementwise::zip_slices(
                    gs,
                    ys,
                    |a, b| if b > 0.0 { a } else { 0.0 },
                )
            })
        });
        return Tensor::from_vec(v, g.shape());
    }
    g * &y.gt(0.0).to_dtype(g.dtype())
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn relu_keeps_nan_as_pytorch_does() {
        // torch.relu(torch.tensor([nan, -1.0, 2.0, -inf, inf])) prints
        // tensor([nan, 0., 2., 0., inf]).
        let x = Tensor::new([f32::NAN, -1.0, 2.0, f32::NEG_INFINITY, f32::INFINITY]);
        let y = x.relu().to_vec::<f32>();
        assert!(y[0].is_nan());
        assert_eq!(&y[1..], &[0.0, 2.0, 0.0, f32::INFINITY]);
        // The fused product + ReLU agrees: a NaN in the input reaches every output it feeds.
        let b = Tensor::new([-1.0f32, 1.0]);
        let m = Tensor::from_vec(vec![f32::NAN, 1.0], &[1, 2]);
        let w = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, -5.0], &[2, 2]);
        let y = b.addmm_relu(&m, &w).to_vec::<f32>();
        assert!(y[0].is_nan() && y[1].is_nan(), "{y:?}");
    }

    #[test]
    fn sign_follows_pytorch_for_nan_and_negative_zero() {
        // torch.sign(torch.tensor([nan, -0.0, 0.0, -2.0, 3.0, -inf])) prints
        // tensor([ 0.,  0.,  0., -1.,  1., -1.]); repeated so that the vector loop sees them.
        let xs = [f32::NAN, -0.0, 0.0, -2.0, 3.0, f32::NEG_INFINITY];
        let want = [0.0f32, 0.0, 0.0, -1.0, 1.0, -1.0];
        let input: Vec<f32> = xs.iter().cycle().take(600).copied().collect();
        let got = Tensor::from_vec(input, &[600]).sign().to_vec::<f32>();
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g.to_bits(), want[i % 6].to_bits(), "sign({})", xs[i % 6]);
        }
        let d = Tensor::from_vec(vec![f64::NAN, -0.0, -3.0], &[3]).sign();
        assert_eq!(d.to_vec::<f64>(), vec![0.0, 0.0, -1.0]);
        assert_eq!(d.to_vec::<f64>()[1].to_bits(), 0.0f64.to_bits());
    }
}
