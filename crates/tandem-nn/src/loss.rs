//! Loss modules (`nn.CrossEntropyLoss`, `nn.MSELoss`, ...): `criterion.forward(&output, &target)`.

use crate::functional::{self as F, CrossEntropyOptions, Reduction};
use tandem_core::Tensor;

/// `nn.CrossEntropyLoss()`: log-softmax + NLL in one stable step, for class indices or
/// class probabilities.
#[derive(Clone, Debug, Default)]
pub struct CrossEntropyLoss {
    /// Weight, ignore_index, label smoothing, reduction.
    pub options: CrossEntropyOptions,
}

impl CrossEntropyLoss {
    /// Default options (mean over the batch, no weights).
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` logits `[N, C]` against `target`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::cross_entropy(input, target, &self.options)
    }
}

/// `nn.NLLLoss()`: negative log-likelihood of log-probabilities.
#[derive(Clone, Debug, Default)]
pub struct NLLLoss {
    /// Weight, ignore_index, reduction (label smoothing is not used).
    pub options: CrossEntropyOptions,
}

impl NLLLoss {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of log-probabilities `[N, C]` against class indices `[N]`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::nll_loss(input, target, &self.options)
    }
}

/// `nn.MSELoss()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MSELoss {
    /// Mean, sum or none.
    pub reduction: Reduction,
}

impl MSELoss {
    /// With the mean reduction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::mse_loss(input, target, self.reduction)
    }
}

/// `nn.L1Loss()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct L1Loss {
    /// Mean, sum or none.
    pub reduction: Reduction,
}

impl L1Loss {
    /// With the mean reduction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::l1_loss(input, target, self.reduction)
    }
}

/// `nn.BCELoss()` on probabilities.
#[derive(Clone, Copy, Debug, Default)]
pub struct BCELoss {
    /// Mean, sum or none.
    pub reduction: Reduction,
}

impl BCELoss {
    /// With the mean reduction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::binary_cross_entropy(input, target, None, self.reduction)
    }
}

/// `nn.BCEWithLogitsLoss()` on logits.
#[derive(Clone, Copy, Debug, Default)]
pub struct BCEWithLogitsLoss {
    /// Mean, sum or none.
    pub reduction: Reduction,
}

impl BCEWithLogitsLoss {
    /// With the mean reduction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `input` against `target`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::binary_cross_entropy_with_logits(input, target, None, self.reduction)
    }
}

/// `nn.HuberLoss(delta)`.
#[derive(Clone, Copy, Debug)]
pub struct HuberLoss {
    /// Where the loss turns from quadratic to linear.
    pub delta: f64,
    /// Mean, sum or none.
    pub reduction: Reduction,
}

impl Default for HuberLoss {
    fn default() -> Self {
        HuberLoss {
            delta: 1.0,
            reduction: Reduction::Mean,
        }
    }
}

impl HuberLoss {
    /// The loss of `input` against `target`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::huber_loss(input, target, self.delta, self.reduction)
    }
}

/// `nn.SmoothL1Loss(beta)`.
#[derive(Clone, Copy, Debug)]
pub struct SmoothL1Loss {
    /// Where the loss turns from quadratic to linear.
    pub beta: f64,
    /// Mean, sum or none.
    pub reduction: Reduction,
}

impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss {
            beta: 1.0,
            reduction: Reduction::Mean,
        }
    }
}

impl SmoothL1Loss {
    /// The loss of `input` against `target`.
    pub fn forward(&self, input: &Tensor, target: &Tensor) -> Tensor {
        F::smooth_l1_loss(input, target, self.beta, self.reduction)
    }
}
