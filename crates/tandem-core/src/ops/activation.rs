//! The functions a Transformer adds to the elementwise set: `erf` and the exact GELU built on
//! it (in float32 under autograd, one pass forward that also writes the derivative, so the
//! backward is a product), the triangular masks `triu`/`tril`, and the
//! scaled batched product `baddbmm`.

use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::DType;
use crate::kernels::elementwise::{map_slice, zip_slices};
use crate::kernels::math::{gelu_backward_f32, gelu_with_derivative_f32, Transcendental};
use crate::ops::dispatch::float_of;
use crate::tensor::Tensor;

const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

fn float_input(x: &Tensor) -> Tensor {
    if x.dtype().is_float() {
        x.clone()
    } else {
        x.to_dtype(float_of(x.dtype()))
    }
}

fn gelu_f64(v: f64) -> f64 {
    0.5 * v * (1.0 + libm::erf(v * std::f64::consts::FRAC_1_SQRT_2))
}

fn gelu_grad_f64(v: f64, g: f64) -> f64 {
    let cdf = 0.5 * (1.0 + libm::erf(v * std::f64::consts::FRAC_1_SQRT_2));
    g * (cdf + v * (-0.5 * v * v).exp() * INV_SQRT_2PI)
}

impl Tensor {
    /// The error function (`torch.erf`, `tf.math.erf`); gradient `2/sqrt(pi) * exp(-x^2)`.
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let y = Tensor::from_vec(vec![0.0f64, 1.0], &[2]).erf();
    /// assert!((y.to_vec::<f64>()[1] - 0.842_700_792_949_714_9).abs() < 1e-15);
    /// ```
    pub fn erf(&self) -> Tensor {
        let x = float_input(self);
        let out = match x.dtype() {
            DType::Float32 => {
                x.with_slice::<f32, _>(|s| Tensor::from_vec(Transcendental::Erf.map(s), x.shape()))
            }
            _ => x.with_slice::<f64, _>(|s| Tensor::from_vec(map_slice(s, libm::erf), x.shape())),
        };
        if !should_record(&[self]) {
            return out;
        }
        let saved = Saved::new(self);
        attach(out, "ErfBackward0", &[self], move |g, _| {
            let x = saved.get();
            let d = &(&x.square() * -1.0).exp() * std::f64::consts::FRAC_2_SQRT_PI;
            vec![Some(g * &d)]
        })
    }

    /// The exact GELU, `x * Phi(x)` with `Phi` the standard normal CDF (`F.gelu`,
    /// `tf.nn.gelu(approximate=False)`): one vectorized pass forward; recorded in float32, that
    /// pass also keeps the derivative (one more tensor of the input's size), so the backward
    /// is one product.
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let y = Tensor::from_vec(vec![-1.0f64, 0.0, 2.0], &[3]).gelu();
    /// let want = [-0.158_655_253_931_457_05, 0.0, 1.954_499_736_103_642];
    /// for (a, b) in y.to_vec::<f64>().iter().zip(want) {
    ///     assert!((a - b).abs() < 1e-15);
    /// }
    /// ```
    pub fn gelu(&self) -> Tensor {
        let x = float_input(self);
        let record = should_record(&[self]);
        // Recorded in float32, the forward pass also writes the derivative (its `exp` is
        // already there), so the backward is one product instead of a second pass of `erf`.
        let (out, slope) = match x.dtype() {
            DType::Float32 if record => x.with_slice::<f32, _>(|s| {
                let (y, d) = gelu_with_derivative_f32(s);
                (
                    Tensor::from_vec(y, x.shape()),
                    Some(Tensor::from_vec(d, x.shape())),
                )
            }),
            DType::Float32 => x.with_slice::<f32, _>(|s| {
                (
                    Tensor::from_vec(Transcendental::Gelu.map(s), x.shape()),
                    None,
                )
            }),
            _ => x.with_slice::<f64, _>(|s| {
                (Tensor::from_vec(map_slice(s, gelu_f64), x.shape()), None)
            }),
        };
        if !record {
            return out;
        }
        let saved = Saved::new(self);
        attach(out, "GeluBackward0", &[self], move |g, _| {
            let x = saved.get();
            if is_grad_enabled() {
                // A differentiable form, for gradients of gradients.
                let cdf = &(&(x * std::f64::consts::FRAC_1_SQRT_2).erf() + 1.0) * 0.5;
                let pdf = &(&x.square() * -0.5).exp() * INV_SQRT_2PI;
                return vec![Some(g * &(&cdf + &(x * &pdf)))];
            }
            match &slope {
                Some(d) => vec![Some(&g.to_dtype(DType::Float32) * d)],
                None => vec![Some(gelu_backward(&float_input(x), g))],
            }
        })
    }

    /// The upper triangle of the last two dimensions: elements with `col - row >= diagonal`
    /// are kept, the rest are zero (`torch.triu`, `np.triu`).
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32; 9], &[3, 3]).triu(1);
    /// assert_eq!(t.to_vec::<f32>(), [0., 1., 1., 0., 0., 1., 0., 0., 0.]);
    /// ```
    pub fn triu(&self, diagonal: i64) -> Tensor {
        self.masked_fill(&triangle_mask(self, "triu", |d| d < diagonal), 0.0)
    }

    /// The lower triangle of the last two dimensions: elements with `col - row <= diagonal`
    /// are kept, the rest are zero (`torch.tril`, `tf.linalg.band_part(x, -1, k)`).
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32; 6], &[2, 3]).tril(0);
    /// assert_eq!(t.to_vec::<f32>(), [1., 0., 0., 1., 1., 0.]);
    /// ```
    pub fn tril(&self, diagonal: i64) -> Tensor {
        self.masked_fill(&triangle_mask(self, "tril", |d| d > diagonal), 0.0)
    }

    /// `beta * self + alpha * (batch1 @ batch2)` over a batch of matrices (`torch.baddbmm`);
    /// `self` broadcasts to the product's shape, and with `beta == 0` it is ignored (NaN in it
    /// does not propagate). The operands are read through their strides, so transposed views
    /// (`k.transpose(1, 2)`) cost no copy.
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 1, 2]);
    /// let b = Tensor::from_vec(vec![3.0f32, 4.0], &[1, 2, 1]);
    /// let c = Tensor::from_vec(vec![10.0f32], &[1, 1, 1]);
    /// assert_eq!(c.baddbmm(&a, &b, 0.5, 2.0).to_vec::<f32>(), [27.0]);
    /// ```
    pub fn baddbmm(&self, batch1: &Tensor, batch2: &Tensor, beta: f64, alpha: f64) -> Tensor {
        assert!(
            batch1.ndim() == 3 && batch2.ndim() == 3,
            "baddbmm: batch1 must be a 3D tensor and batch2 must be a 3D tensor, got {:?} and {:?}",
            batch1.shape(),
            batch2.shape()
        );
        let prod = batch1.bmm(batch2);
        let prod = if alpha == 1.0 { prod } else { &prod * alpha };
        assert!(
            crate::shape::broadcast_shapes(self.shape(), prod.shape()).as_deref()
                == Some(prod.shape()),
            "baddbmm: the input of shape {:?} does not broadcast to the product's {:?}",
            self.shape(),
            prod.shape()
        );
        if beta == 0.0 {
            return prod;
        }
        let scaled = if beta == 1.0 {
            self.clone()
        } else {
            self * beta
        };
        &scaled + &prod
    }
}

/// `g * gelu'(x)` in one fused pass (`x` floating, same shape as `g`).
fn gelu_backward(x: &Tensor, g: &Tensor) -> Tensor {
    let g = if g.dtype() == x.dtype() {
        g.clone()
    } else {
        g.to_dtype(x.dtype())
    };
    let g = g.broadcast_to(x.shape()).contiguous();
    match x.dtype() {
        DType::Float32 => x.with_slice::<f32, _>(|xs| {
            g.with_slice::<f32, _>(|gs| Tensor::from_vec(gelu_backward_f32(xs, gs), x.shape()))
        }),
        _ => x.with_slice::<f64, _>(|xs| {
            g.with_slice::<f64, _>(|gs| {
                Tensor::from_vec(zip_slices(xs, gs, gelu_grad_f64), x.shape())
            })
        }),
    }
}

/// A `[rows, cols]` boolean mask over `t`'s last two dimensions, true where
/// `drop(col - row)` holds.
fn triangle_mask(t: &Tensor, op: &str, drop: impl Fn(i64) -> bool) -> Tensor {
    assert!(
        t.ndim() >= 2,
        "{op}: input tensor must have at least 2 dimensions, got {:?}",
        t.shape()
    );
    let (r, c) = (t.shape()[t.ndim() - 2], t.shape()[t.ndim() - 1]);
    let mask: Vec<bool> = (0..r * c)
        .map(|i| drop((i % c) as i64 - (i / c) as i64))
        .collect();
    Tensor::from_vec(mask, &[r, c])
}
