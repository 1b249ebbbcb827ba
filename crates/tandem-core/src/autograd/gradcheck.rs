//! Finite-difference gradient checking (`torch.autograd.gradcheck` / `gradgradcheck`).

use crate::dtype::DType;
use crate::tensor::Tensor;

/// A mismatch between the analytic and the numerical gradient.
#[derive(Debug, thiserror::Error)]
#[error("gradcheck: input {input}, element {index}: analytic {analytic:.8e} vs numerical {numerical:.8e}")]
pub struct GradcheckError {
    /// Which input.
    pub input: usize,
    /// Flat element index within that input.
    pub index: usize,
    /// Gradient from autograd.
    pub analytic: f64,
    /// Gradient from central differences.
    pub numerical: f64,
}

fn projection(out: &Tensor, salt: u64) -> Tensor {
    // A fixed pseudo-random weighting of the outputs, so that every output element is checked.
    let n = out.numel();
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let v: Vec<f64> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            0.5 + (state % 1000) as f64 / 1000.0
        })
        .collect();
    Tensor::from_vec(v, out.shape())
}

fn scalar_of(f: &dyn Fn(&[Tensor]) -> Tensor, xs: &[Tensor], salt: u64) -> Tensor {
    let out = f(xs).to_dtype(DType::Float64);
    let w = projection(&out, salt);
    (&out * &w).sum()
}

/// Checks the gradients of `f` at `inputs` (float64 tensors) against central differences with
/// step `eps`; passes when `|analytic - numerical| <= atol + rtol * |numerical|` everywhere.
///
/// ```
/// use tandem_core::{autograd, Tensor};
/// let x = Tensor::from_vec(vec![0.3f64, -1.2, 2.0], &[3]);
/// autograd::gradcheck(&|xs| xs[0].tanh(), &[x], 1e-6, 1e-5, 1e-3).unwrap();
/// ```
pub fn gradcheck(
    f: &dyn Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    eps: f64,
    atol: f64,
    rtol: f64,
) -> Result<(), GradcheckError> {
    let xs: Vec<Tensor> = inputs
        .iter()
        .map(|x| {
            assert_eq!(
                x.dtype(),
                DType::Float64,
                "gradcheck expects float64 inputs"
            );
            x.detach().contiguous_copy().requires_grad_(true)
        })
        .collect();
    let s = scalar_of(f, &xs, 1);
    let refs: Vec<&Tensor> = xs.iter().collect();
    // An output that does not depend on the inputs at all has zero gradients.
    let analytic = if s.requires_grad() {
        super::grad_with(
            &s,
            &refs,
            None,
            super::GradOptions {
                allow_unused: true,
                ..Default::default()
            },
        )
    } else {
        vec![None; refs.len()]
    };
    for (i, x) in xs.iter().enumerate() {
        let base = x.to_vec::<f64>();
        let an = analytic[i]
            .as_ref()
            .map(|g| g.to_vec::<f64>())
            .unwrap_or_else(|| vec![0.0; base.len()]);
        for j in 0..base.len() {
            let eval = |delta: f64| {
                let mut v = base.clone();
                v[j] += delta;
                let mut probe = xs.clone();
                probe[i] = Tensor::from_vec(v, x.shape());
                super::no_grad(|| scalar_of(f, &probe, 1).item::<f64>())
            };
            let numerical = (eval(eps) - eval(-eps)) / (2.0 * eps);
            if (an[j] - numerical).abs() > atol + rtol * numerical.abs() {
                return Err(GradcheckError {
                    input: i,
                    index: j,
                    analytic: an[j],
                    numerical,
                });
            }
        }
    }
    Ok(())
}

/// Checks second derivatives: the gradient of `f` (built with `create_graph`) must itself pass
/// [`gradcheck`].
pub fn gradgradcheck(
    f: &dyn Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    eps: f64,
    atol: f64,
    rtol: f64,
) -> Result<(), GradcheckError> {
    let first = |xs: &[Tensor]| -> Tensor {
        super::enable_grad(|| {
            let xs: Vec<Tensor> = xs.iter().map(|x| x.clone().requires_grad_leaf()).collect();
            let s = scalar_of(f, &xs, 7);
            let refs: Vec<&Tensor> = xs.iter().collect();
            let gs = super::grad_with(
                &s,
                &refs,
                None,
                super::GradOptions {
                    create_graph: true,
                    allow_unused: true,
                    ..Default::default()
                },
            );
            let parts: Vec<Tensor> = gs
                .into_iter()
                .zip(&xs)
                .map(|(g, x)| {
                    g.unwrap_or_else(|| crate::ops::create::zeros_like(x))
                        .reshape(&[-1])
                })
                .collect();
            let refs: Vec<&Tensor> = parts.iter().collect();
            Tensor::cat(&refs, 0)
        })
    };
    gradcheck(&first, inputs, eps, atol, rtol)
}

impl Tensor {
    /// Marks a leaf as requiring grad, or passes a non-leaf through unchanged.
    fn requires_grad_leaf(self) -> Tensor {
        if self.is_leaf() && !self.requires_grad() {
            self.requires_grad_(true)
        } else {
            self
        }
    }
}
