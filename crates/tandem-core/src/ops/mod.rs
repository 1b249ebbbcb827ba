//! Operations on tensors, each with its gradient beside it; the loops over elements are in
//! `crate::kernels`.

pub(crate) mod activation;
pub mod attention;
pub(crate) mod binary;
pub mod conv;
pub mod conv_nhwc;
pub(crate) mod copy;
pub mod create;
pub(crate) mod dispatch;
pub(crate) mod index;
pub(crate) mod inplace;
pub(crate) mod matmul;
pub(crate) mod norm;
pub(crate) mod operators;
pub mod pool;
pub mod pool_nhwc;
pub mod recurrent;
pub(crate) mod reduce;
pub(crate) mod unary;
pub(crate) mod view;

pub use binary::{Number, Operand};
pub use view::{IntoIndex, TensorIndex};
