//! `keras.regularizers`: `kernel_regularizer=regularizers::L2(0.01)`.

use tandem_core::Tensor;

pub use Regularizer::{L1, L1L2, L2};

/// `keras.regularizers`: penalties on a layer's weights, added to the loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regularizer {
    /// `L1(l1)`: `l1 * sum(|w|)`.
    L1(f64),
    /// `L2(l2)`: `l2 * sum(w^2)` (Keras's L2 has no factor 1/2).
    L2(f64),
    /// `L1L2(l1, l2)`: both.
    L1L2(f64, f64),
}

impl Regularizer {
    /// The penalty for weights `w` (differentiable).
    pub fn penalty(self, w: &Tensor) -> Tensor {
        match self {
            Regularizer::L1(a) => w.abs().sum() * a,
            Regularizer::L2(b) => w.square().sum() * b,
            Regularizer::L1L2(a, b) => &(w.abs().sum() * a) + &(w.square().sum() * b),
        }
    }
}
