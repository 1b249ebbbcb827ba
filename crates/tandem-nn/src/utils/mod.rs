//! `torch.nn.utils`: helpers around the layers.

pub mod rnn;
