//! Activation modules beyond the basic ones: `nn.Softplus`, `nn.Mish`, `nn.Hardswish`,
//! `nn.SiLU`, and their functional forms.

use crate::module::{Module, Params};
use tandem_core::Tensor;

/// `F.softplus(x, beta, threshold)`: `log(1 + exp(beta x)) / beta`, and `x` itself where
/// `beta x > threshold` (as PyTorch, for numerical stability).
pub fn softplus(x: &Tensor, beta: f64, threshold: f64) -> Tensor {
    let bx = x * beta;
    let soft = bx.exp().log1p() / beta;
    Tensor::where_(&bx.gt(threshold), x, &soft)
}

/// `F.mish(x)`: `x · tanh(softplus(x))`.
pub fn mish(x: &Tensor) -> Tensor {
    x * &softplus(x, 1.0, 20.0).tanh()
}

/// `F.hardswish(x)`: `x · relu6(x + 3) / 6`.
pub fn hardswish(x: &Tensor) -> Tensor {
    x * &((x + 3.0).clamp(Some(0.0), Some(6.0)) / 6.0)
}

/// `F.silu(x)`: `x · sigmoid(x)` (swish).
pub fn silu(x: &Tensor) -> Tensor {
    x * &x.sigmoid()
}

/// `nn.Softplus(beta=1, threshold=20)`.
///
/// ```
/// use tandem_nn::{Module, Softplus};
/// let y = Softplus::default().forward(&tandem_core::Tensor::new([0.0]));
/// assert!((y.item::<f32>() - 2f32.ln()).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Softplus {
    /// Sharpness.
    pub beta: f64,
    /// Above `beta x > threshold` the output is `x`.
    pub threshold: f64,
}
impl Params for Softplus {}

impl Default for Softplus {
    fn default() -> Self {
        Softplus {
            beta: 1.0,
            threshold: 20.0,
        }
    }
}

impl Module for Softplus {
    fn forward(&self, x: &Tensor) -> Tensor {
        softplus(x, self.beta, self.threshold)
    }
}

macro_rules! activation_module {
    ($(#[$doc:meta])* $name:ident, $f:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;
        impl Params for $name {}
        impl Module for $name {
            fn forward(&self, x: &Tensor) -> Tensor {
                $f(x)
            }
        }
    };
}

activation_module!(
    /// `nn.Mish()`.
    Mish, mish
);
activation_module!(
    /// `nn.Hardswish()`.
    Hardswish, hardswish
);
activation_module!(
    /// `nn.SiLU()`.
    SiLU, silu
);
