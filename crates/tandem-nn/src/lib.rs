//! # tandem-nn
//!
//! PyTorch's `torch.nn` and `torch.optim` over tandem's engine: the [`Module`] trait with
//! `#[derive(Module)]`, layers, [`functional`] operations, losses, [`init`]ializers,
//! optimizers with fused update loops, learning-rate schedulers, and `state_dict` checkpoints in
//! safetensors with PyTorch's key names.
//!
//! ```
//! use tandem_nn::{Linear, Module, functional as F};
//! use tandem_core::Tensor;
//! #[derive(tandem_nn::Module)]
//! struct Net { l1: Linear, l2: Linear }
//! impl Module for Net {
//!     fn forward(&self, x: &Tensor) -> Tensor {
//!         self.l2.forward(&F::relu(&self.l1.forward(x)))
//!     }
//! }
//! let net = Net { l1: Linear::new(4, 8), l2: Linear::new(8, 2) };
//! let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["l1.weight", "l1.bias", "l2.weight", "l2.bias"]);
//! assert_eq!(net.forward(&tandem_core::randn(&[3, 4])).shape(), &[3, 2]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate self as tandem_nn;

mod activations;
mod attention;
mod conv_layers;
pub mod functional;
pub mod init;
mod layers;
mod loss;
mod module;
pub mod onnx;
pub mod optim;
pub mod pt;
mod resample;
mod rnn;
mod rnn_cells;
mod state_dict;
mod transformer;
pub mod utils;

pub use activations::{Hardswish, Mish, SiLU, Softplus};
pub use attention::{AttentionArgs, MultiheadAttention};
pub use conv_layers::*;
pub use layers::*;
pub use loss::*;
pub use module::{join_name, Module, Params};
pub use pt::StateDict;
pub use resample::{
    AvgPool1d, Bilinear, ConvTranspose2d, InterpolationMode, MaxPool1d, PixelShuffle, Unflatten,
    Upsample,
};
pub use rnn::{RNNBase, GRU, LSTM, RNN};
pub use rnn_cells::{GRUCell, LSTMCell, RNNCell};
pub use state_dict::{
    load_safetensors, save_safetensors, write_atomic, CheckpointError, LoadReport,
};
pub use tandem_core::Tensor;
pub use tandem_derive::Module;
pub use transformer::{
    Activation, Masks, Transformer, TransformerConfig, TransformerDecoder, TransformerDecoderLayer,
    TransformerEncoder, TransformerEncoderLayer,
};
