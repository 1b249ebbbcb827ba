//! `nn.TransformerEncoderLayer`, `TransformerDecoderLayer`, the stacks of them and
//! `nn.Transformer`, with PyTorch's structure and parameter names (`self_attn`,
//! `multihead_attn`, `linear1`, `linear2`, `norm1`..`norm3`, `layers.{i}`, `norm`).

use crate::attention::{AttentionArgs, MultiheadAttention};
use crate::functional as F;
use crate::layers::{Dropout, LayerNorm, Linear};
use crate::module::Module;
use tandem_core::{DType, Tensor};

/// The feed-forward activation of a Transformer layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Activation {
    /// `F.relu` (PyTorch's default).
    #[default]
    Relu,
    /// The exact `F.gelu`.
    Gelu,
}

/// The constructor arguments of the Transformer layers, with PyTorch's defaults.
///
/// ```
/// use tandem_nn::{Activation, TransformerConfig};
/// let cfg = TransformerConfig::new(64, 4).dim_feedforward(256).activation(Activation::Gelu).batch_first(true);
/// assert_eq!(cfg.dropout, 0.1);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TransformerConfig {
    /// Width of the model.
    pub d_model: usize,
    /// Attention heads.
    pub nhead: usize,
    /// Hidden width of the feed-forward block (2048).
    pub dim_feedforward: usize,
    /// Dropout after attention, inside and after the feed-forward block (0.1).
    pub dropout: f64,
    /// Feed-forward activation (ReLU).
    pub activation: Activation,
    /// LayerNorm's `eps` (1e-5).
    pub layer_norm_eps: f64,
    /// `[N, L, E]` rather than `[L, N, E]` (false).
    pub batch_first: bool,
    /// Normalize before each block rather than after the residual sum (false).
    pub norm_first: bool,
    /// Biases in the linear layers and LayerNorms (true).
    pub bias: bool,
    /// The parameters' dtype (float32).
    pub dtype: DType,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $($(#[$doc])* pub fn $name(mut self, v: $ty) -> Self { self.$name = v; self })*
    };
}

impl TransformerConfig {
    /// PyTorch's defaults for `d_model` and `nhead`.
    pub fn new(d_model: usize, nhead: usize) -> TransformerConfig {
        TransformerConfig {
            d_model,
            nhead,
            dim_feedforward: 2048,
            dropout: 0.1,
            activation: Activation::Relu,
            layer_norm_eps: 1e-5,
            batch_first: false,
            norm_first: false,
            bias: true,
            dtype: DType::Float32,
        }
    }

    setters! {
        /// Sets `dim_feedforward`.
        dim_feedforward: usize,
        /// Sets `dropout`.
        dropout: f64,
        /// Sets the activation.
        activation: Activation,
        /// Sets `layer_norm_eps`.
        layer_norm_eps: f64,
        /// Sets `batch_first`.
        batch_first: bool,
        /// Sets `norm_first`.
        norm_first: bool,
        /// Sets `bias`.
        bias: bool,
        /// Sets the parameters' dtype.
        dtype: DType,
    }

    fn attention(&self) -> MultiheadAttention {
        MultiheadAttention::with_dims(
            self.d_model,
            self.nhead,
            self.d_model,
            self.d_model,
            self.bias,
        )
        .batch_first(self.batch_first)
        .dropout(self.dropout)
        .to_dtype(self.dtype)
    }

    fn linear(&self, i: usize, o: usize) -> Linear {
        Linear::with_bias(i, o, self.bias).to_dtype(self.dtype)
    }

    fn norm(&self) -> LayerNorm {
        LayerNorm::new(self.d_model)
            .eps(self.layer_norm_eps)
            .bias(self.bias)
            .to_dtype(self.dtype)
    }
}

/// The masks of one attention call: `mask` is an `attn_mask`, `key_padding_mask` marks keys
/// to ignore, `is_causal` says the mask is the causal one (or stands for it when absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct Masks<'a> {
    /// `[L, S]` or `[N * nhead, L, S]`; boolean `true` = not allowed, or additive floats.
    pub mask: Option<&'a Tensor>,
    /// `[N, S]`; `true` = padding.
    pub key_padding_mask: Option<&'a Tensor>,
    /// A causal mask is meant.
    pub is_causal: bool,
}

impl Masks<'_> {
    fn args(&self) -> AttentionArgs<'_> {
        AttentionArgs {
            key_padding_mask: self.key_padding_mask,
            need_weights: false,
            attn_mask: self.mask,
            average_attn_weights: true,
            is_causal: self.is_causal,
        }
    }
}

fn activate(a: Activation, x: &Tensor) -> Tensor {
    match a {
        Activation::Relu => x.relu(),
        Activation::Gelu => F::gelu(x, false),
    }
}

/// `nn.TransformerEncoderLayer`: self-attention and a feed-forward block, each with a
/// residual connection and LayerNorm (after the sum, or before the block with `norm_first`).
///
/// ```
/// use tandem_nn::{Masks, Module, TransformerConfig, TransformerEncoderLayer};
/// let layer = TransformerEncoderLayer::new(TransformerConfig::new(16, 2).dim_feedforward(32).batch_first(true));
/// let x = tandem_core::randn(&[3, 7, 16]);
/// let y = layer.forward_masked(&x, &Masks { is_causal: true, ..Default::default() });
/// assert_eq!(y.shape(), x.shape());
/// ```
#[derive(crate::Module, Debug, Clone)]
pub struct TransformerEncoderLayer {
    /// Self-attention.
    pub self_attn: MultiheadAttention,
    /// First feed-forward layer.
    pub linear1: Linear,
    /// Dropout inside the feed-forward block.
    pub dropout: Dropout,
    /// Second feed-forward layer.
    pub linear2: Linear,
    /// Normalize first.
    pub norm_first: bool,
    /// Norm around the attention block.
    pub norm1: LayerNorm,
    /// Norm around the feed-forward block.
    pub norm2: LayerNorm,
    /// Dropout after attention.
    pub dropout1: Dropout,
    /// Dropout after the feed-forward block.
    pub dropout2: Dropout,
    #[module(skip)]
    activation: Activation,
}

impl TransformerEncoderLayer {
    /// A layer with `cfg`'s sizes and options.
    pub fn new(cfg: TransformerConfig) -> TransformerEncoderLayer {
        TransformerEncoderLayer {
            self_attn: cfg.attention(),
            linear1: cfg.linear(cfg.d_model, cfg.dim_feedforward),
            dropout: Dropout::new(cfg.dropout),
            linear2: cfg.linear(cfg.dim_feedforward, cfg.d_model),
            norm_first: cfg.norm_first,
            norm1: cfg.norm(),
            norm2: cfg.norm(),
            dropout1: Dropout::new(cfg.dropout),
            dropout2: Dropout::new(cfg.dropout),
            activation: cfg.activation,
        }
    }

    /// `layer(src, src_mask, src_key_padding_mask, is_causal)`.
    pub fn forward_masked(&self, src: &Tensor, masks: &Masks<'_>) -> Tensor {
        let sa = |x: &Tensor| {
            let y = self.self_attn.forward_attn(x, x, x, &masks.args()).0;
            self.dropout1.forward(&y)
        };
        let ff = |x: &Tensor| {
            let h = activate(self.activation, &self.linear1.forward(x));
            let y = self.linear2.forward(&self.dropout.forward(&h));
            self.dropout2.forward(&y)
        };
        if self.norm_first {
            let x = src + &sa(&self.norm1.forward(src));
            &x + &ff(&self.norm2.forward(&x))
        } else {
            let x = self.norm1.forward(&(src + &sa(src)));
            self.norm2.forward(&(&x + &ff(&x)))
        }
    }
}

impl Module for TransformerEncoderLayer {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_masked(x, &Masks::default())
    }
}

/// `nn.TransformerDecoderLayer`: self-attention, attention over the encoder's output
/// (`memory`) and a feed-forward block.
#[derive(crate::Module, Debug, Clone)]
pub struct TransformerDecoderLayer {
    /// Self-attention over the target.
    pub self_attn: MultiheadAttention,
    /// Attention from the target to `memory`.
    pub multihead_attn: MultiheadAttention,
    /// First feed-forward layer.
    pub linear1: Linear,
    /// Dropout inside the feed-forward block.
    pub dropout: Dropout,
    /// Second feed-forward layer.
    pub linear2: Linear,
    /// Normalize first.
    pub norm_first: bool,
    /// Norm around self-attention.
    pub norm1: LayerNorm,
    /// Norm around attention over memory.
    pub norm2: LayerNorm,
    /// Norm around the feed-forward block.
    pub norm3: LayerNorm,
    /// Dropout after self-attention.
    pub dropout1: Dropout,
    /// Dropout after attention over memory.
    pub dropout2: Dropout,
    /// Dropout after the feed-forward block.
    pub dropout3: Dropout,
    #[module(skip)]
    activation: Activation,
}

impl TransformerDecoderLayer {
    /// A layer with `cfg`'s sizes and options.
    pub fn new(cfg: TransformerConfig) -> TransformerDecoderLayer {
        TransformerDecoderLayer {
            self_attn: cfg.attention(),
            multihead_attn: cfg.attention(),
            linear1: cfg.linear(cfg.d_model, cfg.dim_feedforward),
            dropout: Dropout::new(cfg.dropout),
            linear2: cfg.linear(cfg.dim_feedforward, cfg.d_model),
            norm_first: cfg.norm_first,
            norm1: cfg.norm(),
            norm2: cfg.norm(),
            norm3: cfg.norm(),
            dropout1: Dropout::new(cfg.dropout),
            dropout2: Dropout::new(cfg.dropout),
            dropout3: Dropout::new(cfg.dropout),
            activation: cfg.activation,
        }
    }

    /// `layer(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
    /// memory_key_padding_mask, tgt_is_causal, memory_is_causal)`.
    pub fn forward_with_memory(
        &self,
        tgt: &Tensor,
        memory: &Tensor,
        tgt_masks: &Masks<'_>,
        memory_masks: &Masks<'_>,
    ) -> Tensor {
        let sa = |x: &Tensor| {
            let y = self.self_attn.forward_attn(x, x, x, &tgt_masks.args()).0;
            self.dropout1.forward(&y)
        };
        let mha = |x: &Tensor| {
            let y = self
                .multihead_attn
                .forward_attn(x, memory, memory, &memory_masks.args())
                .0;
            self.dropout2.forward(&y)
        };
        let ff = |x: &Tensor| {
            let h = activate(self.activation, &self.linear1.forward(x));
            let y = self.linear2.forward(&self.dropout.forward(&h));
            self.dropout3.forward(&y)
        };
        if self.norm_first {
            let x = tgt + &sa(&self.norm1.forward(tgt));
            let x = &x + &mha(&self.norm2.forward(&x));
            &x + &ff(&self.norm3.forward(&x))
        } else {
            let x = self.norm1.forward(&(tgt + &sa(tgt)));
            let x = self.norm2.forward(&(&x + &mha(&x)));
            self.norm3.forward(&(&x + &ff(&x)))
        }
    }
}

impl Module for TransformerDecoderLayer {
    /// `x` decoded against itself as the memory, without masks; a decoder is normally called
    /// through [`TransformerDecoderLayer::forward_with_memory`].
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_with_memory(x, x, &Masks::default(), &Masks::default())
    }
}

/// `nn.TransformerEncoder(encoder_layer, num_layers, norm)`: `layers.{i}`, then `norm`.
#[derive(crate::Module, Debug, Clone)]
pub struct TransformerEncoder {
    /// The layers, applied in order.
    pub layers: Vec<TransformerEncoderLayer>,
    /// An optional final norm.
    pub norm: Option<LayerNorm>,
}

impl TransformerEncoder {
    /// `num_layers` independent layers built from `cfg` (PyTorch deep-copies one layer, so its
    /// layers start equal; here each draws its own initial weights), and a final norm if given.
    pub fn new(cfg: TransformerConfig, num_layers: usize, norm: Option<LayerNorm>) -> Self {
        TransformerEncoder {
            layers: (0..num_layers)
                .map(|_| TransformerEncoderLayer::new(cfg))
                .collect(),
            norm,
        }
    }

    /// `encoder(src, mask, src_key_padding_mask, is_causal)`.
    pub fn forward_masked(&self, src: &Tensor, masks: &Masks<'_>) -> Tensor {
        let mut x = src.clone();
        for layer in &self.layers {
            x = layer.forward_masked(&x, masks);
        }
        match &self.norm {
            Some(n) => n.forward(&x),
            None => x,
        }
    }
}

impl Module for TransformerEncoder {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_masked(x, &Masks::default())
    }
}

/// `nn.TransformerDecoder(decoder_layer, num_layers, norm)`.
#[derive(crate::Module, Debug, Clone)]
pub struct TransformerDecoder {
    /// The layers, applied in order.
    pub layers: Vec<TransformerDecoderLayer>,
    /// An optional final norm.
    pub norm: Option<LayerNorm>,
}

impl TransformerDecoder {
    /// `num_layers` layers built from `cfg`, and a final norm if given.
    pub fn new(cfg: TransformerConfig, num_layers: usize, norm: Option<LayerNorm>) -> Self {
        TransformerDecoder {
            layers: (0..num_layers)
                .map(|_| TransformerDecoderLayer::new(cfg))
                .collect(),
            norm,
        }
    }

    /// `decoder(tgt, memory, tgt_mask, memory_mask, ...)`.
    pub fn forward_with_memory(
        &self,
        tgt: &Tensor,
        memory: &Tensor,
        tgt_masks: &Masks<'_>,
        memory_masks: &Masks<'_>,
    ) -> Tensor {
        let mut x = tgt.clone();
        for layer in &self.layers {
            x = layer.forward_with_memory(&x, memory, tgt_masks, memory_masks);
        }
        match &self.norm {
            Some(n) => n.forward(&x),
            None => x,
        }
    }
}

impl Module for TransformerDecoder {
    /// `x` decoded against itself as the memory, without masks; a decoder is normally called
    /// through [`TransformerDecoder::forward_with_memory`].
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_with_memory(x, x, &Masks::default(), &Masks::default())
    }
}

/// `nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, ...)`: an encoder
/// and a decoder, each ending in a LayerNorm, every matrix initialized Xavier-uniform.
///
/// ```
/// use tandem_nn::{Masks, Transformer, TransformerConfig};
/// let t = Transformer::new(TransformerConfig::new(16, 2).dim_feedforward(32).batch_first(true), 1, 1);
/// let (src, tgt) = (tandem_core::randn(&[2, 6, 16]), tandem_core::randn(&[2, 4, 16]));
/// let mask = Transformer::generate_square_subsequent_mask(4);
/// let tgt_masks = Masks { mask: Some(&mask), is_causal: true, ..Default::default() };
/// let y = t.forward_seq2seq(&src, &tgt, &Masks::default(), &tgt_masks, &Masks::default());
/// assert_eq!(y.shape(), &[2, 4, 16]);
/// ```
#[derive(crate::Module, Debug, Clone)]
pub struct Transformer {
    /// The encoder.
    pub encoder: TransformerEncoder,
    /// The decoder.
    pub decoder: TransformerDecoder,
}

impl Transformer {
    /// `nn.Transformer` with `cfg` and the given depths.
    pub fn new(
        cfg: TransformerConfig,
        num_encoder_layers: usize,
        num_decoder_layers: usize,
    ) -> Self {
        let t = Transformer {
            encoder: TransformerEncoder::new(cfg, num_encoder_layers, Some(cfg.norm())),
            decoder: TransformerDecoder::new(cfg, num_decoder_layers, Some(cfg.norm())),
        };
        for p in t.parameters() {
            if p.ndim() > 1 {
                crate::init::xavier_uniform_(&p, 1.0);
            }
        }
        t
    }

    /// `transformer(src, tgt, src_mask, tgt_mask, memory_mask, ...)`: the encoder's output
    /// feeds every decoder layer.
    pub fn forward_seq2seq(
        &self,
        src: &Tensor,
        tgt: &Tensor,
        src_masks: &Masks<'_>,
        tgt_masks: &Masks<'_>,
        memory_masks: &Masks<'_>,
    ) -> Tensor {
        let memory = self.encoder.forward_masked(src, src_masks);
        self.decoder
            .forward_with_memory(tgt, &memory, tgt_masks, memory_masks)
    }

    /// `Transformer.generate_square_subsequent_mask(sz)`: float32 `[sz, sz]`, `-inf` above the
    /// diagonal and `0` elsewhere.
    pub fn generate_square_subsequent_mask(sz: usize) -> Tensor {
        let visible = tandem_core::ops::attention::causal_mask(sz, sz);
        tandem_core::zeros(&[sz, sz], DType::Float32)
            .masked_fill(&visible.logical_not(), f64::NEG_INFINITY)
    }
}

impl Module for Transformer {
    /// The encoder alone over `x`.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.encoder.forward(x)
    }
}
