//! Layer normalization as one fused op (`F.layer_norm`): one pass over each row forward, one
//! backward, instead of the eight elementwise and reduction ops of its composition.

use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::{DType, Float};
use crate::kernels::norm;
use crate::tensor::Tensor;

impl Tensor {
    /// Normalizes over the trailing `normalized_shape` dimensions to zero mean and unit
    /// (biased) variance, then scales by `weight` and shifts by `bias` when given
    /// (`torch.nn.functional.layer_norm`).
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f64, 3.0], &[1, 2]);
    /// let y = x.layer_norm(&[2], None, None, 0.0);
    /// assert_eq!(y.to_vec::<f64>(), [-1.0, 1.0]);
    /// ```
    pub fn layer_norm(
        &self,
        normalized_shape: &[usize],
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Tensor {
        let k = normalized_shape.len();
        assert!(
            k >= 1
                && self.ndim() >= k
                && self.shape()[self.ndim() - k..] == *normalized_shape,
            "layer_norm: Given normalized_shape={normalized_shape:?}, expected input with shape [*, {}], but got input of size {:?}",
            normalized_shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.shape()
        );
        for (name, p) in [("weight", weight), ("bias", bias)] {
            if let Some(p) = p {
                assert_eq!(
                    p.shape(),
                    normalized_shape,
                    "layer_norm: {name} of shape {:?} differs from normalized_shape {normalized_shape:?}",
                    p.shape()
                );
            }
        }
        assert!(
            self.dtype().is_float(),
            "layer_norm: expected a floating point input, got {}",
            self.dtype()
        );
        let n: usize = normalized_shape.iter().product();
        let dt = self.dtype();
        let cast = |p: Option<&Tensor>| p.map(|p| p.detach().to_dtype(dt).contiguous());
        let (w, b) = (cast(weight), cast(bias));
        let (out, stats) = match dt {
            DType::Float32 => forward::<f32>(self, n, w.as_ref(), b.as_ref(), eps),
            _ => forward::<f64>(self, n, w.as_ref(), b.as_ref(), eps),
        };
        let mut inputs: Vec<&Tensor> = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        if !should_record(&inputs) {
            return out;
        }
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        let sx = Saved::new(self);
        let sw = weight.map(Saved::new);
        let dims: Vec<isize> = (1..=k as isize).map(|d| -d).collect();
        let shape = normalized_shape.to_vec();
        attach(out, "NativeLayerNormBackward0", &inputs, move |g, need| {
            let x = sx.get();
            let w = sw.as_ref().map(|s| s.get());
            let want_params = need.iter().skip(1).any(|&b| b);
            let (dx, dw, db) = if is_grad_enabled() {
                composite_backward(x, w, g, &dims, eps)
            } else {
                let w = w.map(|w| w.detach().to_dtype(x.dtype()).contiguous());
                match x.dtype() {
                    DType::Float32 => {
                        backward::<f32>(x, w.as_ref(), g, &stats, n, &shape, want_params)
                    }
                    _ => backward::<f64>(x, w.as_ref(), g, &stats, n, &shape, want_params),
                }
            };
            let mut grads = vec![need[0].then_some(dx)];
            if has_w {
                grads.push(dw);
            }
            if has_b {
                grads.push(db);
            }
            grads
        })
    }
}

fn forward<T: Float>(
    x: &Tensor,
    n: usize,
    w: Option<&Tensor>,
    b: Option<&Tensor>,
    eps: f64,
) -> (Tensor, Tensor) {
    let rows = x.numel() / n.max(1);
    let (out, stats) = x.with_slice::<T, _>(|xs| {
        let ws = w.map(|w| w.to_vec::<T>());
        let bs = b.map(|b| b.to_vec::<T>());
        norm::forward(xs, n, ws.as_deref(), bs.as_deref(), eps)
    });
    (
        Tensor::from_vec(out, x.shape()),
        Tensor::from_vec(stats, &[rows, 2]),
    )
}

type Grads = (Tensor, Option<Tensor>, Option<Tensor>);

fn backward<T: Float>(
    x: &Tensor,
    w: Option<&Tensor>,
    g: &Tensor,
    stats: &Tensor,
    n: usize,
    shape: &[usize],
    want_params: bool,
) -> Grads {
    let g = g.to_dtype(x.dtype()).broadcast_to(x.shape()).contiguous();
    let (dx, dw, db) = x.with_slice::<T, _>(|xs| {
        g.with_slice::<T, _>(|gs| {
            stats.with_slice::<T, _>(|st| {
                let ws = w.map(|w| w.to_vec::<T>());
                norm::backward(
                    xs,
                    gs,
                    n,
                    ws.as_deref(),
                    st,
                    crate::kernels::split_count(),
                    want_params,
                )
            })
        })
    });
    (
        Tensor::from_vec(dx, x.shape()),
        want_params.then(|| Tensor::from_vec(dw, shape)),
        want_params.then(|| Tensor::from_vec(db, shape)),
    )
}

/// The same gradients from differentiable ops, for gradients of gradients.
fn composite_backward(
    x: &Tensor,
    w: Option<&Tensor>,
    g: &Tensor,
    dims: &[isize],
    eps: f64,
) -> Grads {
    let mean = x.mean_dims(dims, true);
    let centered = x - &mean;
    let rstd = (&centered.square().mean_dims(dims, true) + eps).rsqrt();
    let xhat = &centered * &rstd;
    let gw = match w {
        Some(w) => g * w,
        None => g.clone(),
    };
    let c1 = gw.mean_dims(dims, true);
    let c2 = (&gw * &xhat).mean_dims(dims, true);
    let dx = &rstd * &(&(&gw - &c1) - &(&xhat * &c2));
    let lead: Vec<isize> = (0..(x.ndim() - dims.len()) as isize).collect();
    let sum_lead = |t: &Tensor| {
        if lead.is_empty() {
            t.clone()
        } else {
            t.sum_dims(&lead, false)
        }
    };
    (dx, Some(sum_lead(&(g * &xhat))), Some(sum_lead(g)))
}
