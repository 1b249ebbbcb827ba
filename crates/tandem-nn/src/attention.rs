//! `nn.MultiheadAttention`: PyTorch's parameter names (a packed `in_proj_weight`, or separate
//! `q/k/v_proj_weight` when the key or value width differs), masks and returned weights, over
//! the fused attention op.

use crate::functional as F;
use crate::init;
use crate::layers::Linear;
use crate::module::{join_name, Module, Params};
use tandem_core::{DType, Tensor};

/// The optional arguments of [`MultiheadAttention::forward_attn`], with PyTorch's defaults.
///
/// Masks follow `nn.MultiheadAttention`: in a boolean mask `true` means *not allowed* (the
/// opposite of `F::scaled_dot_product_attention`); a float mask is added to the scores.
#[derive(Clone, Copy, Debug)]
pub struct AttentionArgs<'a> {
    /// `[N, S]` (or `[S]` unbatched): keys to ignore per batch entry.
    pub key_padding_mask: Option<&'a Tensor>,
    /// Return the attention weights (default `true`).
    pub need_weights: bool,
    /// `[L, S]` or `[N * num_heads, L, S]`.
    pub attn_mask: Option<&'a Tensor>,
    /// Average the returned weights over heads (default `true`).
    pub average_attn_weights: bool,
    /// Each query sees only keys up to its own position (used when no `attn_mask` is given).
    pub is_causal: bool,
}

impl Default for AttentionArgs<'_> {
    fn default() -> Self {
        AttentionArgs {
            key_padding_mask: None,
            need_weights: true,
            attn_mask: None,
            average_attn_weights: true,
            is_causal: false,
        }
    }
}

/// `nn.MultiheadAttention(embed_dim, num_heads, dropout, bias, kdim, vdim, batch_first)`.
///
/// ```
/// use tandem_nn::{AttentionArgs, MultiheadAttention};
/// let mha = MultiheadAttention::new(16, 4).batch_first(true);
/// let x = tandem_core::randn(&[2, 5, 16]);
/// let (y, w) = mha.forward_attn(&x, &x, &x, &AttentionArgs::default());
/// assert_eq!(y.shape(), &[2, 5, 16]);
/// assert_eq!(w.unwrap().shape(), &[2, 5, 5]); // averaged over heads
/// ```
#[derive(Debug, Clone)]
pub struct MultiheadAttention {
    /// `[3 * embed_dim, embed_dim]`: the query, key and value projections stacked (when
    /// key and value have `embed_dim` features).
    pub in_proj_weight: Option<Tensor>,
    /// `[embed_dim, embed_dim]` (separate projections only).
    pub q_proj_weight: Option<Tensor>,
    /// `[embed_dim, kdim]` (separate projections only).
    pub k_proj_weight: Option<Tensor>,
    /// `[embed_dim, vdim]` (separate projections only).
    pub v_proj_weight: Option<Tensor>,
    /// `[3 * embed_dim]`, when `bias`.
    pub in_proj_bias: Option<Tensor>,
    /// The output projection.
    pub out_proj: Linear,
    /// Width of queries and of the output.
    pub embed_dim: usize,
    /// Number of heads; `embed_dim` must divide by it.
    pub num_heads: usize,
    /// Dropout on the attention probabilities, in training.
    pub dropout: f64,
    /// Inputs and outputs are `[N, L, E]` rather than `[L, N, E]`.
    pub batch_first: bool,
    training: bool,
}

impl MultiheadAttention {
    /// `nn.MultiheadAttention(embed_dim, num_heads)`: bias, no dropout, `[L, N, E]` layout.
    pub fn new(embed_dim: usize, num_heads: usize) -> MultiheadAttention {
        MultiheadAttention::with_dims(embed_dim, num_heads, embed_dim, embed_dim, true)
    }

    /// `kdim` / `vdim` (the key's and value's widths) and `bias`.
    pub fn with_dims(
        embed_dim: usize,
        num_heads: usize,
        kdim: usize,
        vdim: usize,
        bias: bool,
    ) -> MultiheadAttention {
        assert!(
            num_heads > 0 && embed_dim.is_multiple_of(num_heads),
            "embed_dim must be divisible by num_heads (got {embed_dim} and {num_heads})"
        );
        let param = |shape: &[usize]| {
            let t = tandem_core::zeros(shape, DType::Float32).requires_grad_(true);
            init::xavier_uniform_(&t, 1.0);
            t
        };
        let packed = kdim == embed_dim && vdim == embed_dim;
        let out_proj = Linear::with_bias(embed_dim, embed_dim, bias);
        if let Some(b) = &out_proj.bias {
            init::zeros_(b);
        }
        MultiheadAttention {
            in_proj_weight: packed.then(|| param(&[3 * embed_dim, embed_dim])),
            q_proj_weight: (!packed).then(|| param(&[embed_dim, embed_dim])),
            k_proj_weight: (!packed).then(|| param(&[embed_dim, kdim])),
            v_proj_weight: (!packed).then(|| param(&[embed_dim, vdim])),
            in_proj_bias: bias
                .then(|| tandem_core::zeros(&[3 * embed_dim], DType::Float32).requires_grad_(true)),
            out_proj,
            embed_dim,
            num_heads,
            dropout: 0.0,
            batch_first: false,
            training: true,
        }
    }

    /// Sets `batch_first`.
    pub fn batch_first(mut self, on: bool) -> MultiheadAttention {
        self.batch_first = on;
        self
    }

    /// Sets the dropout on attention probabilities.
    pub fn dropout(mut self, p: f64) -> MultiheadAttention {
        self.dropout = p;
        self
    }

    /// Converts the parameters to `dtype` (`.double()` / `.float()` in PyTorch).
    pub fn to_dtype(mut self, dtype: DType) -> MultiheadAttention {
        for t in [
            &mut self.in_proj_weight,
            &mut self.q_proj_weight,
            &mut self.k_proj_weight,
            &mut self.v_proj_weight,
            &mut self.in_proj_bias,
        ] {
            *t = t.as_ref().map(|t| crate::module::param_in(t, dtype));
        }
        self.out_proj = self.out_proj.to_dtype(dtype);
        self
    }

    /// `attn_output, attn_weights = mha(query, key, value, ...)`. Returns the output
    /// (`[N, L, E]` with `batch_first`, else `[L, N, E]`; `[L, E]` for unbatched input) and,
    /// with `need_weights`, the attention weights (`[N, L, S]` averaged over heads, else
    /// `[N, num_heads, L, S]`).
    pub fn forward_attn(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        args: &AttentionArgs<'_>,
    ) -> (Tensor, Option<Tensor>) {
        let unbatched = query.ndim() == 2;
        let self_attention = query.same(key) && key.same(value);
        let batched = |t: &Tensor| {
            if unbatched {
                t.unsqueeze(0)
            } else if self.batch_first {
                t.clone()
            } else {
                t.transpose(0, 1)
            }
        };
        let (q_in, k_in, v_in) = (batched(query), batched(key), batched(value));
        assert_eq!(
            q_in.shape()[2],
            self.embed_dim,
            "MultiheadAttention: was expecting embedding dimension of {}, but got {}",
            self.embed_dim,
            q_in.shape()[2]
        );
        let e = self.embed_dim;
        let bias = |i: usize| self.in_proj_bias.as_ref().map(|b| b.narrow(0, i * e, e));
        let (q, k, v) = match &self.in_proj_weight {
            Some(w) if self_attention => {
                let qkv = F::linear(&q_in, w, self.in_proj_bias.as_ref());
                (
                    qkv.narrow(2, 0, e),
                    qkv.narrow(2, e, e),
                    qkv.narrow(2, 2 * e, e),
                )
            }
            Some(w) => (
                F::linear(&q_in, &w.narrow(0, 0, e), bias(0).as_ref()),
                F::linear(&k_in, &w.narrow(0, e, e), bias(1).as_ref()),
                F::linear(&v_in, &w.narrow(0, 2 * e, e), bias(2).as_ref()),
            ),
            None => (
                F::linear(
                    &q_in,
                    self.q_proj_weight.as_ref().unwrap(),
                    bias(0).as_ref(),
                ),
                F::linear(
                    &k_in,
                    self.k_proj_weight.as_ref().unwrap(),
                    bias(1).as_ref(),
                ),
                F::linear(
                    &v_in,
                    self.v_proj_weight.as_ref().unwrap(),
                    bias(2).as_ref(),
                ),
            ),
        };
        let (n, l, s) = (q.shape()[0], q.shape()[1], k.shape()[1]);
        let (h, d) = (self.num_heads, e / self.num_heads);
        let heads = |t: &Tensor, len: usize| {
            t.reshape(&[n as isize, len as isize, h as isize, d as isize])
                .transpose(1, 2)
        };
        let (q, k, v) = (heads(&q, l), heads(&k, s), heads(&v, s));
        let mask = self.merged_mask(args, n, l, s, q.dtype());
        let causal = args.is_causal && mask.is_none();
        let p = if self.training { self.dropout } else { 0.0 };
        let scale = 1.0 / (d as f64).sqrt();
        let (out, weights) = if args.need_weights {
            let probs =
                tandem_core::ops::attention::attention_probs(&q, &k, mask.as_ref(), causal, scale);
            let out = F::dropout(&probs, p, true).matmul(&v);
            let w = if args.average_attn_weights {
                probs.mean_dims(&[1], false)
            } else {
                probs
            };
            (out, Some(w))
        } else {
            let out = F::scaled_dot_product_attention(&q, &k, &v, mask.as_ref(), p, causal, None);
            (out, None)
        };
        let out = out
            .transpose(1, 2)
            .reshape(&[n as isize, l as isize, e as isize]);
        let out = self.out_proj.forward(&out);
        let out = if unbatched {
            out.squeeze(Some(0))
        } else if self.batch_first {
            out
        } else {
            out.transpose(0, 1)
        };
        let weights = weights.map(|w| if unbatched { w.squeeze(Some(0)) } else { w });
        (out, weights)
    }

    /// `attn_mask` and `key_padding_mask` as one additive `[N or 1, H or 1, L, S]` mask.
    fn merged_mask(
        &self,
        args: &AttentionArgs<'_>,
        n: usize,
        l: usize,
        s: usize,
        dtype: DType,
    ) -> Option<Tensor> {
        let additive = |m: &Tensor| {
            if m.dtype() == DType::Bool {
                tandem_core::zeros(m.shape(), dtype).masked_fill(m, f64::NEG_INFINITY)
            } else {
                m.to_dtype(dtype)
            }
        };
        let attn = args.attn_mask.map(|m| {
            let a = additive(m);
            match m.ndim() {
                2 => {
                    assert_eq!(
                        m.shape(),
                        &[l, s],
                        "The shape of the 2D attn_mask is {:?}, but should be {:?}.",
                        m.shape(),
                        [l, s]
                    );
                    a.reshape(&[1, 1, l as isize, s as isize])
                }
                3 => {
                    assert_eq!(
                        m.shape(),
                        &[n * self.num_heads, l, s],
                        "The shape of the 3D attn_mask is {:?}, but should be {:?}.",
                        m.shape(),
                        [n * self.num_heads, l, s]
                    );
                    a.reshape(&[n as isize, self.num_heads as isize, l as isize, s as isize])
                }
                _ => panic!(
                    "attn_mask's dimension {} is not supported (2 or 3)",
                    m.ndim()
                ),
            }
        });
        let pad = args.key_padding_mask.map(|m| {
            assert!(
                m.shape() == [n, s] || (m.ndim() == 1 && m.shape() == [s] && n == 1),
                "expected key_padding_mask of shape {:?}, but got {:?}",
                [n, s],
                m.shape()
            );
            additive(m).reshape(&[n as isize, 1, 1, s as isize])
        });
        match (attn, pad) {
            (Some(a), Some(p)) => Some(&a + &p),
            (a, p) => a.or(p),
        }
    }
}

impl Params for MultiheadAttention {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (name, t) in [
            ("in_proj_weight", &self.in_proj_weight),
            ("q_proj_weight", &self.q_proj_weight),
            ("k_proj_weight", &self.k_proj_weight),
            ("v_proj_weight", &self.v_proj_weight),
            ("in_proj_bias", &self.in_proj_bias),
        ] {
            if let Some(t) = t {
                f(&join_name(prefix, name), t);
            }
        }
        self.out_proj.visit(&join_name(prefix, "out_proj"), f);
    }

    fn set_training(&mut self, on: bool) {
        self.training = on;
    }
}

impl Module for MultiheadAttention {
    /// Self-attention of `x` with no mask, returning the output only.
    fn forward(&self, x: &Tensor) -> Tensor {
        let args = AttentionArgs {
            need_weights: false,
            ..Default::default()
        };
        self.forward_attn(x, x, x, &args).0
    }
}
