//! `MultiHeadAttention`, `LayerNormalization` and `GlobalAveragePooling1D`: the layers of
//! keras.io's Transformer examples, with Keras's weight shapes and order and its mask rules.

use super::Layer;
use crate::initializers::Initializer;
use tandem_core::ops::attention::{attention_probs, scaled_dot_product_attention};
use tandem_core::{DType, Tensor};
use tandem_nn::functional as F;

/// The optional arguments of [`MultiHeadAttention::call_attention`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AttentionCall<'a> {
    /// `key`; the value is used when absent.
    pub key: Option<&'a Tensor>,
    /// `[B, T, S]` booleans, `true` where query `t` may attend to key `s`.
    pub attention_mask: Option<&'a Tensor>,
    /// Also return the attention probabilities, `[B, num_heads, T, S]`.
    pub return_attention_scores: bool,
    /// Let query `t` see keys `0..=t` only (combined with `attention_mask` by AND).
    pub use_causal_mask: bool,
    /// Dropout on the probabilities is active.
    pub training: bool,
}

struct MhaWeights {
    query: (Tensor, Option<Tensor>),
    key: (Tensor, Option<Tensor>),
    value: (Tensor, Option<Tensor>),
    output: (Tensor, Option<Tensor>),
}

/// `keras.layers.MultiHeadAttention(num_heads, key_dim, value_dim, dropout, use_bias)`.
///
/// Weights, created on the first call from the input widths: `query/kernel` `[E, H, key_dim]`,
/// `query/bias` `[H, key_dim]`, the same for `key` and for `value` (with `value_dim`), and
/// `attention_output/kernel` `[H, value_dim, E]`, `attention_output/bias` `[E]`; kernels
/// Glorot-uniform, biases zero.
///
/// ```
/// use tandem_keras::layers::{AttentionCall, Layer, MultiHeadAttention};
/// let mut mha = MultiHeadAttention::new(2, 8);
/// let x = tandem_core::randn(&[3, 5, 16]);
/// let y = mha.apply(&x, false); // self-attention
/// assert_eq!(y.shape(), &[3, 5, 16]);
/// let call = AttentionCall { return_attention_scores: true, use_causal_mask: true, ..Default::default() };
/// let (_, scores) = mha.call_attention(&x, &x, &call);
/// assert_eq!(scores.unwrap().shape(), &[3, 2, 5, 5]);
/// ```
pub struct MultiHeadAttention {
    num_heads: usize,
    key_dim: usize,
    value_dim: Option<usize>,
    dropout: f64,
    use_bias: bool,
    use_causal_mask: bool,
    dtype: DType,
    weights: Option<MhaWeights>,
}

impl MultiHeadAttention {
    /// `MultiHeadAttention(num_heads, key_dim)`.
    pub fn new(num_heads: usize, key_dim: usize) -> MultiHeadAttention {
        MultiHeadAttention {
            num_heads,
            key_dim,
            value_dim: None,
            dropout: 0.0,
            use_bias: true,
            use_causal_mask: false,
            dtype: DType::Float32,
            weights: None,
        }
    }

    /// The weights' dtype (Keras's `dtype=`; float32 by default).
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// Sets `value_dim` (default `key_dim`).
    pub fn value_dim(mut self, d: usize) -> Self {
        self.value_dim = Some(d);
        self
    }

    /// Sets the dropout on attention probabilities.
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// Sets `use_bias`.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.use_bias = on;
        self
    }

    /// Makes `layer(x)` (inside a `Sequential`) causal self-attention.
    pub fn causal(mut self, on: bool) -> Self {
        self.use_causal_mask = on;
        self
    }

    /// Creates the weights for queries of `query_dim`, keys of `key_in` and values of
    /// `value_in` features (what the first call does).
    pub fn build_for(&mut self, query_dim: usize, key_in: usize, value_in: usize) {
        let (h, kd, vd) = (
            self.num_heads,
            self.key_dim,
            self.value_dim.unwrap_or(self.key_dim),
        );
        let part = |shape: &[usize], bias: &[usize]| {
            let k = tandem_core::zeros(shape, self.dtype).requires_grad_(true);
            Initializer::GlorotUniform.fill_kernel(&k);
            let b = self
                .use_bias
                .then(|| tandem_core::zeros(bias, self.dtype).requires_grad_(true));
            (k, b)
        };
        self.weights = Some(MhaWeights {
            query: part(&[query_dim, h, kd], &[h, kd]),
            key: part(&[key_in, h, kd], &[h, kd]),
            value: part(&[value_in, h, vd], &[h, vd]),
            output: part(&[h, vd, query_dim], &[query_dim]),
        });
    }

    /// `layer(query, value, key=..., attention_mask=..., return_attention_scores=...,
    /// use_causal_mask=...)`: the output `[B, T, E]` and, when asked, the scores.
    pub fn call_attention(
        &mut self,
        query: &Tensor,
        value: &Tensor,
        call: &AttentionCall<'_>,
    ) -> (Tensor, Option<Tensor>) {
        let key = call.key.unwrap_or(value);
        if self.weights.is_none() {
            let last = |t: &Tensor| t.shape()[t.ndim() - 1];
            self.build_for(last(query), last(key), last(value));
        }
        self.attend(query, key, value, call)
    }

    fn attend(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
        call: &AttentionCall<'_>,
    ) -> (Tensor, Option<Tensor>) {
        let w = self
            .weights
            .as_ref()
            .expect("MultiHeadAttention called before build");
        // [B, T, in] x [in, H, d] -> [B, H, T, d]
        let project = |x: &Tensor, (k, b): &(Tensor, Option<Tensor>)| {
            let (i, h, d) = (k.shape()[0], k.shape()[1], k.shape()[2]);
            let y = F::linear(x, &k.reshape(&[i as isize, (h * d) as isize]).t(), None);
            let y = match b {
                Some(b) => &y + &b.reshape(&[(h * d) as isize]),
                None => y,
            };
            let (bs, t) = (x.shape()[0] as isize, x.shape()[1] as isize);
            y.reshape(&[bs, t, h as isize, d as isize]).transpose(1, 2)
        };
        let (q, k, v) = (
            project(query, &w.query),
            project(key, &w.key),
            project(value, &w.value),
        );
        let (t, s) = (q.shape()[2], k.shape()[2]);
        let causal = (call.use_causal_mask || self.use_causal_mask)
            .then(|| tandem_core::ops::attention::causal_mask(t, s));
        let mask = match (call.attention_mask, &causal) {
            (Some(m), Some(c)) => Some(m.ne(0).logical_and(c).unsqueeze(1)),
            (Some(m), None) => Some(m.ne(0).unsqueeze(1)),
            (None, Some(c)) if t != s => Some(c.clone()),
            _ => None,
        };
        let fast_causal = causal.is_some() && mask.is_none();
        let scale = 1.0 / (self.key_dim as f64).sqrt();
        let p = if call.training { self.dropout } else { 0.0 };
        let (out, scores) = if call.return_attention_scores || p > 0.0 {
            let probs = attention_probs(&q, &k, mask.as_ref(), fast_causal, scale);
            let out = F::dropout(&probs, p, true).matmul(&v);
            (out, call.return_attention_scores.then_some(probs))
        } else {
            let out =
                scaled_dot_product_attention(&q, &k, &v, mask.as_ref(), fast_causal, Some(scale));
            (out, None)
        };
        // [B, H, T, vd] -> [B, T, H * vd] x [H * vd, E]
        let (ok, ob) = &w.output;
        let (h, vd, e) = (ok.shape()[0], ok.shape()[1], ok.shape()[2]);
        let (bs, tt) = (out.shape()[0] as isize, out.shape()[2] as isize);
        let merged = out.transpose(1, 2).reshape(&[bs, tt, (h * vd) as isize]);
        let y = F::linear(
            &merged,
            &ok.reshape(&[(h * vd) as isize, e as isize]).t(),
            ob.as_ref(),
        );
        (y, scores)
    }
}

impl Layer for MultiHeadAttention {
    fn name(&self) -> String {
        "multi_head_attention".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        let e = *input_shape
            .last()
            .expect("MultiHeadAttention needs [T, E] inputs");
        self.build_for(e, e, e);
    }
    fn built(&self) -> bool {
        self.weights.is_some()
    }
    /// Self-attention of `x` (`layer(x, x)`), causal when built with `causal(true)`.
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        let call = AttentionCall {
            training,
            ..Default::default()
        };
        self.attend(x, x, x, &call).0
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape.to_vec()
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        let Some(w) = &self.weights else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, b) in [&w.query, &w.key, &w.value, &w.output] {
            out.push(k.clone());
            out.extend(b.clone());
        }
        out
    }
}

/// `keras.layers.LayerNormalization(epsilon=1e-3)` over the last axis, with `gamma` (scale)
/// and `beta` (center).
///
/// ```
/// use tandem_keras::layers::{Layer, LayerNormalization};
/// let mut ln = LayerNormalization::new().epsilon(1e-6);
/// let y = ln.apply(&tandem_core::Tensor::from_vec(vec![1.0f32, 3.0], &[1, 2]), false);
/// assert!((y.to_vec::<f32>()[1] - 1.0).abs() < 1e-5);
/// ```
pub struct LayerNormalization {
    epsilon: f64,
    center: bool,
    scale: bool,
    gamma: Option<Tensor>,
    beta: Option<Tensor>,
    dim: Option<usize>,
    dtype: DType,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        LayerNormalization::new()
    }
}

impl LayerNormalization {
    /// Keras's defaults: `epsilon=1e-3`, `center=True`, `scale=True`.
    pub fn new() -> LayerNormalization {
        LayerNormalization {
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma: None,
            beta: None,
            dim: None,
            dtype: DType::Float32,
        }
    }

    /// The weights' dtype (Keras's `dtype=`; float32 by default).
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }

    /// Sets `epsilon`.
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }

    /// `center=False` drops `beta`.
    pub fn center(mut self, on: bool) -> Self {
        self.center = on;
        self
    }

    /// `scale=False` drops `gamma`.
    pub fn scale(mut self, on: bool) -> Self {
        self.scale = on;
        self
    }

    /// `gamma`, once built.
    pub fn gamma(&self) -> Option<&Tensor> {
        self.gamma.as_ref()
    }

    /// `beta`, once built.
    pub fn beta(&self) -> Option<&Tensor> {
        self.beta.as_ref()
    }
}

impl Layer for LayerNormalization {
    fn name(&self) -> String {
        "layer_normalization".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        let d = *input_shape.last().expect("LayerNormalization needs inputs");
        self.gamma = self
            .scale
            .then(|| tandem_core::ones(&[d], self.dtype).requires_grad_(true));
        self.beta = self
            .center
            .then(|| tandem_core::zeros(&[d], self.dtype).requires_grad_(true));
        self.dim = Some(d);
    }
    fn built(&self) -> bool {
        self.dim.is_some()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let d = self.dim.expect("LayerNormalization called before build");
        let cast = |t: &Option<Tensor>| t.as_ref().map(|t| t.to_dtype(x.dtype()));
        let (g, b) = (cast(&self.gamma), cast(&self.beta));
        x.layer_norm(&[d], g.as_ref(), b.as_ref(), self.epsilon)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape.to_vec()
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        self.gamma.iter().chain(&self.beta).cloned().collect()
    }
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        let config = serde_json::json!({
            "axis": [-1],
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        });
        Some(("LayerNormalization", config))
    }
}

/// `keras.layers.GlobalAveragePooling1D()`: `[B, steps, C]` to `[B, C]`, the mean over steps.
///
/// ```
/// use tandem_keras::layers::{GlobalAveragePooling1D, Layer};
/// let x = tandem_core::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[1, 2, 2]);
/// assert_eq!(GlobalAveragePooling1D.call(&x, false).to_vec::<f32>(), [2.0, 3.0]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalAveragePooling1D;

impl GlobalAveragePooling1D {
    /// The mean over the steps where `mask` (`[B, steps]`) is true, as Keras computes it for
    /// a masked input (steps masked out get no gradient).
    pub fn call_masked(&self, x: &Tensor, mask: &Tensor) -> Tensor {
        let m = mask.to_dtype(x.dtype()).unsqueeze(-1);
        &(x * &m).sum_dims(&[1], false) / &m.sum_dims(&[1], false)
    }
}

impl Layer for GlobalAveragePooling1D {
    fn name(&self) -> String {
        "global_average_pooling1d".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        x.mean_dims(&[1], false)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape[1..].to_vec()
    }
}
