//! Layers (`torch.nn.Linear`, `ReLU`, `Sequential`, `Dropout`, ...).

use crate::functional as F;
use crate::init;
use crate::module::{Module, Params};
use tandem_core::{DType, Tensor};

/// `nn.Linear(in_features, out_features)`: `y = x W^T + b`, with PyTorch's default
/// initialization (Kaiming uniform with `a = sqrt(5)`, bias uniform in `±1/sqrt(in)`).
#[derive(crate::Module, Debug, Clone)]
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Tensor,
    /// `[out_features]`, if used.
    pub bias: Option<Tensor>,
}

impl Linear {
    /// A linear layer with bias.
    pub fn new(in_features: usize, out_features: usize) -> Linear {
        Linear::with_bias(in_features, out_features, true)
    }

    /// `nn.Linear(in, out, bias=...)`.
    pub fn with_bias(in_features: usize, out_features: usize, bias: bool) -> Linear {
        let weight =
            tandem_core::zeros(&[out_features, in_features], DType::Float32).requires_grad_(true);
        init::kaiming_uniform_(&weight, 5f64.sqrt(), init::FanMode::FanIn, "leaky_relu");
        let bias = bias.then(|| {
            let b = tandem_core::zeros(&[out_features], DType::Float32).requires_grad_(true);
            let bound = if in_features > 0 {
                1.0 / (in_features as f64).sqrt()
            } else {
                0.0
            };
            init::uniform_(&b, -bound, bound);
            b
        });
        Linear { weight, bias }
    }
}

impl Linear {
    /// Converts the parameters to `dtype` (`.double()` / `.float()` in PyTorch).
    pub fn to_dtype(mut self, dtype: DType) -> Linear {
        self.weight = crate::module::param_in(&self.weight, dtype);
        self.bias = self.bias.map(|b| crate::module::param_in(&b, dtype));
        self
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::linear(x, &self.weight, self.bias.as_ref())
    }

    /// A batch of rows through the layer and a ReLU as one op (`bias.addmm_relu`).
    fn forward_fused(
        &self,
        x: &Tensor,
        activation: tandem_core::ops::conv::Fused,
    ) -> Option<Tensor> {
        match (&self.bias, activation) {
            (Some(b), tandem_core::ops::conv::Fused::Relu) if x.ndim() == 2 => {
                Some(b.addmm_relu(x, &self.weight.t()))
            }
            _ => None,
        }
    }
}

/// `nn.ReLU()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReLU;

impl Params for ReLU {}

impl Module for ReLU {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.relu()
    }
    fn as_fused_activation(&self) -> Option<tandem_core::ops::conv::Fused> {
        Some(tandem_core::ops::conv::Fused::Relu)
    }
}

/// `nn.Sigmoid()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigmoid;

impl Params for Sigmoid {}

impl Module for Sigmoid {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.sigmoid()
    }
}

/// `nn.Tanh()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tanh;

impl Params for Tanh {}

impl Module for Tanh {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.tanh()
    }
}

/// `nn.SELU()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SELU;

impl Params for SELU {}

impl Module for SELU {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::selu(x)
    }
}

/// `nn.GELU()` (exact).
#[derive(Debug, Clone, Copy, Default)]
pub struct GELU;

impl Params for GELU {}

impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::gelu(x, false)
    }
}

/// `nn.Identity()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl Params for Identity {}

impl Module for Identity {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.clone()
    }
}

/// `nn.LeakyReLU(negative_slope)`.
#[derive(Debug, Clone, Copy)]
pub struct LeakyReLU(pub f64);
/// `nn.ELU(alpha)`.
#[derive(Debug, Clone, Copy)]
pub struct ELU(pub f64);
/// `nn.Softmax(dim)`.
#[derive(Debug, Clone, Copy)]
pub struct Softmax(pub isize);
/// `nn.LogSoftmax(dim)`.
#[derive(Debug, Clone, Copy)]
pub struct LogSoftmax(pub isize);
/// `nn.Flatten()`: flattens all dimensions after the first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl Params for LeakyReLU {}

impl Module for LeakyReLU {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::leaky_relu(x, self.0)
    }
}

impl Params for ELU {}

impl Module for ELU {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::elu(x, self.0)
    }
}

impl Params for Softmax {}

impl Module for Softmax {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.softmax(self.0)
    }
}

impl Params for LogSoftmax {}

impl Module for LogSoftmax {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.log_softmax(self.0)
    }
}

impl Params for Flatten {}

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.flatten(1, -1)
    }
}

impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU(0.01)
    }
}

impl Default for ELU {
    fn default() -> Self {
        ELU(1.0)
    }
}

/// `nn.Dropout(p)`: active in training mode, the identity in evaluation mode.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    /// Probability of zeroing an element.
    pub p: f64,
    training: bool,
}

impl Dropout {
    /// `nn.Dropout(p)`, in training mode.
    pub fn new(p: f64) -> Dropout {
        Dropout { p, training: true }
    }
}

impl Params for Dropout {
    fn set_training(&mut self, on: bool) {
        self.training = on;
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::dropout(x, self.p, self.training)
    }
}

/// `nn.Sequential(...)`: children applied in order, named `0`, `1`, ...
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module + Send + Sync>>,
}

impl Sequential {
    /// An empty container.
    pub fn new() -> Sequential {
        Sequential::default()
    }

    /// Appends a layer (builder style): `Sequential::new().add(Linear::new(4, 2)).add(ReLU)`.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Module + Send + Sync + 'static) -> Sequential {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a layer in place.
    pub fn push(&mut self, layer: impl Module + Send + Sync + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True without children.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Params for Sequential {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit(&crate::join_name(prefix, &i.to_string()), f);
        }
    }
    fn set_training(&mut self, on: bool) {
        for l in &mut self.layers {
            l.set_training(on);
        }
    }
}

impl Module for Sequential {
    /// Each child in turn; a child followed by an activation it can fuse (a convolution and
    /// `nn.ReLU`) runs with it as one op, with the same result.
    fn forward(&self, x: &Tensor) -> Tensor {
        let mut h = x.clone();
        let mut i = 0;
        while i < self.layers.len() {
            let next = self.layers.get(i + 1).and_then(|l| l.as_fused_activation());
            if let Some(y) = next.and_then(|a| self.layers[i].forward_fused(&h, a)) {
                h = y;
                i += 2;
                continue;
            }
            h = self.layers[i].forward(&h);
            i += 1;
        }
        h
    }
}

/// `nn.Embedding(num_embeddings, embedding_dim)`: rows of a `N(0, 1)` table looked up by index.
#[derive(crate::Module, Debug, Clone)]
pub struct Embedding {
    /// `[num_embeddings, embedding_dim]`.
    pub weight: Tensor,
}

impl Embedding {
    /// A table initialized from the standard normal, as PyTorch does.
    pub fn new(num_embeddings: usize, embedding_dim: usize) -> Embedding {
        Embedding {
            weight: tandem_core::randn(&[num_embeddings, embedding_dim]).requires_grad_(true),
        }
    }
}

impl Module for Embedding {
    fn forward(&self, idx: &Tensor) -> Tensor {
        let flat = idx.to_dtype(DType::Int64).reshape(&[-1]);
        let rows = self.weight.index_select(0, &flat);
        let mut shape: Vec<isize> = idx.shape().iter().map(|&d| d as isize).collect();
        shape.push(self.weight.shape()[1] as isize);
        rows.reshape(&shape)
    }
}

/// `nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias)`: normalizes over the
/// trailing `normalized_shape` dimensions (one fused op), then scales and shifts.
///
/// ```
/// use tandem_nn::{LayerNorm, Module};
/// let ln = LayerNorm::new(8).bias(false); // nanoGPT's LayerNorm(ndim, bias=False)
/// assert!(ln.bias.is_none());
/// let y = ln.forward(&tandem_core::randn(&[2, 5, 8]));
/// assert_eq!(y.shape(), &[2, 5, 8]);
/// ```
#[derive(crate::Module, Debug, Clone)]
pub struct LayerNorm {
    /// Scale, ones at first (absent without `elementwise_affine`).
    pub weight: Option<Tensor>,
    /// Shift, zeros at first (absent without `elementwise_affine` or `bias`).
    pub bias: Option<Tensor>,
    /// The trailing dimensions normalized over.
    pub normalized_shape: Vec<usize>,
    /// Added to the variance.
    pub eps: f64,
}

impl LayerNorm {
    /// `nn.LayerNorm(dim)` over the last dimension, with `eps = 1e-5`, scale and shift.
    pub fn new(dim: usize) -> LayerNorm {
        LayerNorm::with_shape(&[dim])
    }

    /// `nn.LayerNorm([d1, d2, ...])` over several trailing dimensions.
    pub fn with_shape(normalized_shape: &[usize]) -> LayerNorm {
        LayerNorm {
            weight: Some(tandem_core::ones(normalized_shape, DType::Float32).requires_grad_(true)),
            bias: Some(tandem_core::zeros(normalized_shape, DType::Float32).requires_grad_(true)),
            normalized_shape: normalized_shape.to_vec(),
            eps: 1e-5,
        }
    }

    /// Sets `eps`.
    pub fn eps(mut self, eps: f64) -> LayerNorm {
        self.eps = eps;
        self
    }

    /// `elementwise_affine=False` drops both the scale and the shift.
    pub fn elementwise_affine(mut self, on: bool) -> LayerNorm {
        if !on {
            self.weight = None;
            self.bias = None;
        }
        self
    }

    /// `bias=False` drops the shift.
    pub fn bias(mut self, on: bool) -> LayerNorm {
        if !on {
            self.bias = None;
        }
        self
    }

    /// Converts the parameters to `dtype` (`.double()` / `.float()` in PyTorch).
    pub fn to_dtype(mut self, dtype: DType) -> LayerNorm {
        let cast = |t: &Option<Tensor>| t.as_ref().map(|t| crate::module::param_in(t, dtype));
        self.weight = cast(&self.weight);
        self.bias = cast(&self.bias);
        self
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::layer_norm(
            x,
            &self.normalized_shape,
            self.weight.as_ref(),
            self.bias.as_ref(),
            self.eps,
        )
    }
}

/// `nn.BatchNorm1d(num_features)` over `[N, C]` inputs: batch statistics in training (with
/// running averages updated, momentum 0.1), running statistics in evaluation.
#[derive(Debug)]
pub struct BatchNorm1d {
    /// Scale (`gamma`).
    pub weight: Tensor,
    /// Shift (`beta`).
    pub bias: Tensor,
    /// Running mean (a buffer).
    pub running_mean: Tensor,
    /// Running unbiased variance (a buffer).
    pub running_var: Tensor,
    /// Weight of the newest batch in the running averages.
    pub momentum: f64,
    /// Added to the variance.
    pub eps: f64,
    training: bool,
}

/// `Params` for a batch-norm layer: `weight`, `bias`, `running_mean`, `running_var` and its
/// training flag.
macro_rules! batch_norm_params {
    ($name:ident) => {
        impl $crate::module::Params for $name {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
                for (name, t) in [
                    ("weight", &self.weight),
                    ("bias", &self.bias),
                    ("running_mean", &self.running_mean),
                    ("running_var", &self.running_var),
                ] {
                    f(&$crate::join_name(prefix, name), t);
                }
            }
            fn set_training(&mut self, on: bool) {
                self.training = on;
            }
        }
    };
}
pub(crate) use batch_norm_params;
batch_norm_params!(BatchNorm1d);

impl BatchNorm1d {
    /// `nn.BatchNorm1d(num_features)`.
    pub fn new(num_features: usize) -> BatchNorm1d {
        BatchNorm1d {
            weight: tandem_core::ones(&[num_features], DType::Float32).requires_grad_(true),
            bias: tandem_core::zeros(&[num_features], DType::Float32).requires_grad_(true),
            running_mean: tandem_core::zeros(&[num_features], DType::Float32),
            running_var: tandem_core::ones(&[num_features], DType::Float32),
            momentum: 0.1,
            eps: 1e-5,
            training: true,
        }
    }

    /// Whether batch statistics are used.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Switches training mode (also done by `model.train()` / `model.eval()`).
    pub fn set_mode(&mut self, training: bool) {
        self.training = training;
    }
}

impl Module for BatchNorm1d {
    fn forward(&self, x: &Tensor) -> Tensor {
        F::batch_norm(
            x,
            &self.running_mean,
            &self.running_var,
            &self.weight,
            &self.bias,
            self.training,
            self.momentum,
            self.eps,
        )
    }
}
