//! Scaled dot-product attention (`F.scaled_dot_product_attention`): one fused op with its own
//! backward, computed in tiles with an online softmax so that no `L x S` matrix of scores or
//! probabilities is ever stored, plus the plain composition of ops it reduces to, for the
//! cases the fused kernel does not take (broadcast batch dimensions, a mask that needs a
//! gradient) and for layers that return the attention weights.

use crate::autograd::{attach, is_grad_enabled, should_record, Saved};
use crate::dtype::{DType, Float};
use crate::kernels::attention::{self, Bias, Operand, Problem};
use crate::shape::{broadcast_strides, contiguous_strides, numel};
use crate::tensor::Tensor;

/// `softmax(q @ k^T * scale + mask) @ v` over the last two dimensions
/// (`torch.nn.functional.scaled_dot_product_attention` without dropout).
///
/// - `q` is `[..., L, E]`, `k` is `[..., S, E]`, `v` is `[..., S, Ev]`; the result is
///   `[..., L, Ev]`.
/// - `attn_mask` broadcasts to `[..., L, S]`: a boolean mask marks the keys each query may
///   attend to (`true` = take part), a floating one is added to the scores.
/// - `is_causal` lets query `i` see keys `0..=i` only (the top-left-aligned lower triangle,
///   as PyTorch's), and cannot be combined with `attn_mask`.
/// - `scale` defaults to `1 / sqrt(E)`.
///
/// A query row that can see no key gives zeros (and zero gradients), as PyTorch's.
///
/// ```
/// use tandem_core::{ops::attention::scaled_dot_product_attention, Tensor};
/// let q = Tensor::from_vec(vec![1.0f64, 0.0], &[1, 1, 2]);
/// let k = Tensor::from_vec(vec![1.0f64, 0.0, 0.0, 1.0], &[1, 2, 2]);
/// let v = Tensor::from_vec(vec![10.0f64, 20.0], &[1, 2, 1]);
/// let y = scaled_dot_product_attention(&q, &k, &v, None, false, Some(1.0));
/// let p = 1.0 / (1.0 + (-1.0f64).exp()); // softmax([1, 0])[0]
/// assert!((y.item::<f64>() - (10.0 * p + 20.0 * (1.0 - p))).abs() < 1e-12);
/// ```
pub fn scaled_dot_product_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    attn_mask: Option<&Tensor>,
    is_causal: bool,
    scale: Option<f64>,
) -> Tensor {
    check_shapes(q, k, v, attn_mask, is_causal);
    let scale = scale.unwrap_or(1.0 / (q.shape()[q.ndim() - 1] as f64).sqrt());
    let lead = &q.shape()[..q.ndim() - 2];
    let fusable = k.shape()[..k.ndim() - 2] == *lead
        && v.shape()[..v.ndim() - 2] == *lead
        && q.dtype() == k.dtype()
        && q.dtype() == v.dtype()
        && attn_mask.is_none_or(|m| !m.requires_grad());
    if !fusable {
        let p = attention_probs(q, k, attn_mask, is_causal, scale);
        return p.matmul(v);
    }
    let bias = attn_mask.map(|m| additive_mask(m, q.dtype()));
    let (out, lse) = {
        let fused = Fused::new((q, k, v), bias.as_ref(), is_causal, scale);
        match q.dtype() {
            DType::Float32 => fused.forward::<f32>(),
            _ => fused.forward::<f64>(),
        }
    };
    if !should_record(&[q, k, v]) {
        return out;
    }
    let (sq, sk, sv, so) = (
        Saved::new(q),
        Saved::new(k),
        Saved::new(v),
        Saved::output(&out),
    );
    let mask = attn_mask.cloned();
    attach(
        out,
        "ScaledDotProductFlashAttentionForCpuBackward0",
        &[q, k, v],
        move |g, _| {
            let (q, k, v) = (sq.get(), sk.get(), sv.get());
            if is_grad_enabled() {
                return composite_backward(q, k, v, mask.as_ref(), is_causal, scale, g);
            }
            let fused = Fused::new((q, k, v), bias.as_ref(), is_causal, scale);
            let [dq, dk, dv] = match q.dtype() {
                DType::Float32 => fused.backward::<f32>(so.get(), &lse, g),
                _ => fused.backward::<f64>(so.get(), &lse, g),
            };
            vec![Some(dq), Some(dk), Some(dv)]
        },
    )
}

/// The attention probabilities `softmax(q @ k^T * scale + mask)` as a `[..., L, S]` tensor,
/// built from differentiable ops (what a layer returns as its attention weights). Rows that
/// can see no key are zeros.
///
/// ```
/// use tandem_core::{ops::attention::attention_probs, Tensor};
/// let q = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1]);
/// let p = attention_probs(&q, &q, None, true, 1.0);
/// assert_eq!(p.to_vec::<f32>()[..2], [1.0, 0.0]);
/// ```
pub fn attention_probs(
    q: &Tensor,
    k: &Tensor,
    attn_mask: Option<&Tensor>,
    is_causal: bool,
    scale: f64,
) -> Tensor {
    let scores = &q.matmul(&k.transpose(-2, -1)) * scale;
    let (l, s) = (q.shape()[q.ndim() - 2], k.shape()[k.ndim() - 2]);
    let scores = match attn_mask {
        Some(m) if m.dtype() == DType::Bool => {
            scores.masked_fill(&m.logical_not(), f64::NEG_INFINITY)
        }
        Some(m) => &scores + m,
        None => scores,
    };
    let scores = if is_causal {
        scores.masked_fill(&causal_mask(l, s).logical_not(), f64::NEG_INFINITY)
    } else {
        scores
    };
    let probs = scores.softmax(-1);
    // A row with no visible key has softmax NaN; it attends to nothing instead.
    let dead = probs.isnan();
    probs.masked_fill(&dead, 0.0)
}

/// The `[l, s]` boolean mask of causal attention: `true` where key `j` is visible to query
/// `i`, that is `j <= i` (the top-left-aligned lower triangle, PyTorch's `is_causal`).
///
/// ```
/// let m = tandem_core::ops::attention::causal_mask(2, 3);
/// assert_eq!(m.to_vec::<bool>(), [true, false, false, true, true, false]);
/// ```
pub fn causal_mask(l: usize, s: usize) -> Tensor {
    let visible: Vec<bool> = (0..l * s).map(|i| i % s <= i / s).collect();
    Tensor::from_vec(visible, &[l, s])
}

fn check_shapes(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, causal: bool) {
    assert!(
        q.ndim() >= 2 && k.ndim() >= 2 && v.ndim() >= 2,
        "scaled_dot_product_attention: q, k and v need at least 2 dimensions, got {:?}, {:?} and {:?}",
        q.shape(),
        k.shape(),
        v.shape()
    );
    for (name, t) in [("query", q), ("key", k), ("value", v)] {
        assert!(
            t.dtype().is_float(),
            "scaled_dot_product_attention: {name} must be floating point, got {}",
            t.dtype()
        );
    }
    let e = q.shape()[q.ndim() - 1];
    let (s, ek) = (k.shape()[k.ndim() - 2], k.shape()[k.ndim() - 1]);
    assert_eq!(
        e,
        ek,
        "scaled_dot_product_attention: query's last dimension {e} differs from key's {ek} ({:?} and {:?})",
        q.shape(),
        k.shape()
    );
    assert_eq!(
        s,
        v.shape()[v.ndim() - 2],
        "scaled_dot_product_attention: key and value lengths differ ({:?} and {:?})",
        k.shape(),
        v.shape()
    );
    if let Some(m) = mask {
        assert!(
            !causal,
            "scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True"
        );
        let l = q.shape()[q.ndim() - 2];
        let mut target = q.shape()[..q.ndim() - 2].to_vec();
        target.extend([l, s]);
        assert!(
            crate::shape::broadcast_shapes(m.shape(), &target).as_deref() == Some(&target[..]),
            "scaled_dot_product_attention: attn_mask of shape {:?} does not broadcast to the scores' {:?}",
            m.shape(),
            target
        );
    }
}

/// A boolean mask as `0` / `-inf`, or a float mask in `dtype`, contiguous.
fn additive_mask(m: &Tensor, dtype: DType) -> Tensor {
    let m = m.detach();
    if m.dtype() == DType::Bool {
        let zero = crate::ops::create::zeros(&[], dtype);
        let ninf = crate::ops::create::full(&[], f64::NEG_INFINITY, dtype);
        Tensor::where_(&m, &zero, &ninf).contiguous()
    } else {
        m.to_dtype(dtype).contiguous()
    }
}

/// `t` with a unit column stride (a copy only when its last dimension is strided).
fn unit_columns(t: &Tensor) -> Tensor {
    let n = t.ndim();
    if t.shape()[n - 1] <= 1 || t.strides()[n - 1] == 1 {
        t.clone()
    } else {
        t.contiguous()
    }
}

/// Storage offsets of every matrix of `t` (row-major over its leading dimensions, which may be
/// broadcast to `lead` through zero strides).
fn matrix_offsets(base: usize, strides: &[usize], lead: &[usize]) -> Vec<usize> {
    let count = numel(lead);
    (0..count)
        .map(|mut bi| {
            let mut off = base;
            for d in (0..lead.len()).rev() {
                off += (bi % lead[d]) * strides[d];
                bi /= lead[d];
            }
            off
        })
        .collect()
}

fn operand<'a, T: Float>(t: &Tensor, data: &'a [T]) -> Operand<'a, T> {
    let n = t.ndim();
    Operand {
        data,
        offsets: matrix_offsets(
            t.storage_offset(),
            &t.strides()[..n - 2],
            &t.shape()[..n - 2],
        ),
        rows: t.shape()[n - 2],
        cols: t.shape()[n - 1],
        row_stride: t.strides()[n - 2],
    }
}

fn bias_view<'a, T: Float>(
    m: &Tensor,
    data: &'a [T],
    lead: &[usize],
    l: usize,
    s: usize,
) -> Bias<'a, T> {
    let mut target = lead.to_vec();
    target.extend([l, s]);
    let strides = broadcast_strides(m.shape(), &contiguous_strides(m.shape()), &target);
    let n = target.len();
    Bias {
        data,
        offsets: matrix_offsets(m.storage_offset(), &strides[..n - 2], lead),
        row_stride: strides[n - 2],
        col_stride: strides[n - 1],
    }
}

/// The operands of one fused call: `q`, `k`, `v` with unit column strides, and the mask as an
/// additive tensor.
struct Fused<'a> {
    q: Tensor,
    k: Tensor,
    v: Tensor,
    bias: Option<&'a Tensor>,
    causal: bool,
    scale: f64,
}

impl<'a> Fused<'a> {
    fn new(
        (q, k, v): (&Tensor, &Tensor, &Tensor),
        bias: Option<&'a Tensor>,
        causal: bool,
        scale: f64,
    ) -> Self {
        Fused {
            q: unit_columns(q),
            k: unit_columns(k),
            v: unit_columns(v),
            bias,
            causal,
            scale,
        }
    }

    fn lead(&self) -> Vec<usize> {
        self.q.shape()[..self.q.ndim() - 2].to_vec()
    }

    /// `(L, S, E, Ev)`.
    fn sizes(&self) -> (usize, usize, usize, usize) {
        let (q, k, v) = (&self.q, &self.k, &self.v);
        (
            q.shape()[q.ndim() - 2],
            k.shape()[k.ndim() - 2],
            q.shape()[q.ndim() - 1],
            v.shape()[v.ndim() - 1],
        )
    }

    /// Runs `f` on the kernel's view of the operands, their storages held for reading.
    fn with_problem<T: Float, R>(&self, f: impl FnOnce(&Problem<'_, T>) -> R) -> R {
        let (l, s, _, _) = self.sizes();
        let lead = self.lead();
        let (gq, gk, gv) = (
            self.q.0.storage.data.read_recursive(),
            self.k.0.storage.data.read_recursive(),
            self.v.0.storage.data.read_recursive(),
        );
        let gm = self.bias.map(|b| b.0.storage.data.read_recursive());
        let problem = Problem {
            q: operand(&self.q, T::slice(&gq).expect("dtype")),
            k: operand(&self.k, T::slice(&gk).expect("dtype")),
            v: operand(&self.v, T::slice(&gv).expect("dtype")),
            bias: self
                .bias
                .zip(gm.as_ref())
                .map(|(b, g)| bias_view(b, T::slice(g).expect("dtype"), &lead, l, s)),
            causal: self.causal,
            scale: T::from_f64(self.scale),
        };
        f(&problem)
    }

    /// The output and each query row's log-sum-exp.
    fn forward<T: Float>(&self) -> (Tensor, Tensor) {
        let (l, _, _, ev) = self.sizes();
        let lead = self.lead();
        let batch = numel(&lead);
        let (out, lse) = self.with_problem::<T, _>(attention::forward);
        let mut shape = lead;
        shape.extend([l, ev]);
        (
            Tensor::from_vec(out, &shape),
            Tensor::from_vec(lse, &[batch, l]),
        )
    }

    /// The gradients of `q`, `k` and `v` from the output's gradient `g`.
    fn backward<T: Float>(&self, out: &Tensor, lse: &Tensor, g: &Tensor) -> [Tensor; 3] {
        let g = unit_columns(&g.to_dtype(self.q.dtype()).broadcast_to(out.shape()));
        let gg = g.0.storage.data.read_recursive();
        let d_out = operand(&g, T::slice(&gg).expect("dtype"));
        let [dq, dk, dv] = self.with_problem::<T, _>(|p| {
            out.with_slice::<T, _>(|o| {
                lse.with_slice::<T, _>(|m| attention::backward(p, o, m, &d_out))
            })
        });
        [
            Tensor::from_vec(dq, self.q.shape()),
            Tensor::from_vec(dk, self.k.shape()),
            Tensor::from_vec(dv, self.v.shape()),
        ]
    }
}

/// The same gradients from differentiable ops, for gradients of gradients.
fn composite_backward(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    causal: bool,
    scale: f64,
    g: &Tensor,
) -> Vec<Option<Tensor>> {
    let p = attention_probs(q, k, mask, causal, scale);
    let dv = p.transpose(-2, -1).matmul(g);
    let dp = g.matmul(&v.transpose(-2, -1));
    let ds = &(&p * &(&dp - &(&dp * &p).sum_dims(&[-1], true))) * scale;
    let dq = ds.matmul(k);
    let dk = ds.transpose(-2, -1).matmul(q);
    vec![Some(dq), Some(dk), Some(dv)]
}
