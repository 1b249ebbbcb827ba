//! Vision layers: `nn.Conv1d`, `nn.Conv2d`, pooling, `nn.BatchNorm2d` (NCHW, as PyTorch).

use crate::init;
use crate::module::{Module, Params};
use tandem_core::ops::conv::{self, Conv2dArgs};
use tandem_core::ops::pool::{self, Pool2dArgs};
use tandem_core::{DType, Tensor};

/// PyTorch's default init for a convolution: Kaiming uniform (`a = sqrt(5)`) on the weight,
/// bias uniform in `±1/sqrt(fan_in)` with `fan_in` the product of the weight's trailing axes
/// (for a transposed convolution, whose bias is sized by the weight's second axis times the
/// groups, pass that size as `bias_len`).
pub(crate) fn conv_params_with_bias(
    shape: &[usize],
    bias_len: Option<usize>,
) -> (Tensor, Option<Tensor>) {
    let weight = tandem_core::zeros(shape, DType::Float32).requires_grad_(true);
    init::kaiming_uniform_(&weight, 5f64.sqrt(), init::FanMode::FanIn, "leaky_relu");
    let fan_in: usize = shape[1..].iter().product();
    let bias = bias_len.map(|n| {
        let b = tandem_core::zeros(&[n], DType::Float32).requires_grad_(true);
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        init::uniform_(&b, -bound, bound);
        b
    });
    (weight, bias)
}

/// [`conv_params_with_bias`] for a convolution, whose bias has one entry per output channel.
fn conv_params(shape: &[usize], bias: bool) -> (Tensor, Option<Tensor>) {
    conv_params_with_bias(shape, bias.then_some(shape[0]))
}

/// `nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
/// groups=1, bias=True)` over `[N, C, H, W]`.
///
/// ```
/// use tandem_nn::{Conv2d, Module};
/// let conv = Conv2d::new(1, 16, 3).padding(1);
/// let y = conv.forward(&tandem_core::zeros(&[2, 1, 28, 28], tandem_core::DType::Float32));
/// assert_eq!(y.shape(), &[2, 16, 28, 28]);
/// ```
#[derive(crate::Module, Debug, Clone)]
pub struct Conv2d {
    /// `[out_channels, in_channels / groups, KH, KW]`.
    pub weight: Tensor,
    /// `[out_channels]`, if used.
    pub bias: Option<Tensor>,
    #[module(skip)]
    args: Conv2dArgs,
}

impl Conv2d {
    /// A square `kernel_size` convolution, stride 1, no padding, with bias.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Conv2d {
        Conv2d::with_options(
            in_channels,
            out_channels,
            (kernel_size, kernel_size),
            1,
            true,
        )
    }

    /// Every shape option: kernel (rows, columns), groups, bias.
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        groups: usize,
        bias: bool,
    ) -> Conv2d {
        assert!(
            groups >= 1 && in_channels.is_multiple_of(groups) && out_channels.is_multiple_of(groups),
            "Conv2d: in_channels {in_channels} and out_channels {out_channels} must be divisible by groups {groups}"
        );
        let (weight, bias) = conv_params(
            &[out_channels, in_channels / groups, kernel.0, kernel.1],
            bias,
        );
        Conv2d {
            weight,
            bias,
            args: Conv2dArgs {
                groups,
                ..Default::default()
            },
        }
    }

    /// `stride=s`.
    pub fn stride(mut self, s: usize) -> Conv2d {
        self.args.stride = (s, s);
        self
    }

    /// `padding=p`.
    pub fn padding(mut self, p: usize) -> Conv2d {
        self.args.padding = (p, p);
        self
    }

    /// `padding="same"` (stride 1): output as large as the input.
    pub fn padding_same(mut self) -> Conv2d {
        let (kh, kw) = (self.weight.shape()[2], self.weight.shape()[3]);
        let (dh, dw) = self.args.dilation;
        assert!(
            (dh * (kh - 1)).is_multiple_of(2) && (dw * (kw - 1)).is_multiple_of(2),
            "Conv2d: padding='same' needs an odd (dilated) kernel here"
        );
        self.args.padding = (dh * (kh - 1) / 2, dw * (kw - 1) / 2);
        self
    }

    /// `dilation=d`.
    pub fn dilation(mut self, d: usize) -> Conv2d {
        self.args.dilation = (d, d);
        self
    }

    /// The geometry (stride, padding, dilation, groups).
    pub fn args(&self) -> Conv2dArgs {
        self.args
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        conv::conv2d(x, &self.weight, self.bias.as_ref(), self.args)
    }
    fn forward_fused(&self, x: &Tensor, activation: conv::Fused) -> Option<Tensor> {
        Some(conv::conv2d_fused(
            x,
            &self.weight,
            self.bias.as_ref(),
            self.args,
            activation,
        ))
    }
}

/// `nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups)` over
/// `[N, C, L]`.
#[derive(crate::Module, Debug, Clone)]
pub struct Conv1d {
    /// `[out_channels, in_channels / groups, K]`.
    pub weight: Tensor,
    /// `[out_channels]`, if used.
    pub bias: Option<Tensor>,
    #[module(skip)]
    stride: usize,
    #[module(skip)]
    padding: usize,
    #[module(skip)]
    dilation: usize,
    #[module(skip)]
    groups: usize,
}

impl Conv1d {
    /// `nn.Conv1d(in, out, k, stride=1, padding=0)` with bias.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Conv1d {
        let (weight, bias) = conv_params(&[out_channels, in_channels, kernel_size], true);
        Conv1d {
            weight,
            bias,
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
        }
    }

    /// `stride=`, `padding=`, `dilation=`.
    pub fn options(mut self, stride: usize, padding: usize, dilation: usize) -> Conv1d {
        (self.stride, self.padding, self.dilation) = (stride, padding, dilation);
        self
    }
}

impl Module for Conv1d {
    fn forward(&self, x: &Tensor) -> Tensor {
        conv::conv1d(
            x,
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )
    }
}

/// `nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0, ceil_mode=False)`.
#[derive(Debug, Clone, Copy)]
pub struct MaxPool2d(pub Pool2dArgs);
impl Params for MaxPool2d {}

impl MaxPool2d {
    /// A `k x k` window with stride `k`.
    pub fn new(k: usize) -> MaxPool2d {
        MaxPool2d(Pool2dArgs::new(k))
    }
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        pool::max_pool2d(x, self.0)
    }
}

/// `nn.AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad=True)`.
#[derive(Debug, Clone, Copy)]
pub struct AvgPool2d {
    /// The window geometry.
    pub args: Pool2dArgs,
    /// Whether padded zeros count in the divisor.
    pub count_include_pad: bool,
}
impl Params for AvgPool2d {}

impl AvgPool2d {
    /// A `k x k` window with stride `k`.
    pub fn new(k: usize) -> AvgPool2d {
        AvgPool2d {
            args: Pool2dArgs::new(k),
            count_include_pad: true,
        }
    }
}

impl Module for AvgPool2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        pool::avg_pool2d(x, self.args, self.count_include_pad)
    }
}

/// `nn.AdaptiveAvgPool2d((oh, ow))`.
#[derive(Debug, Clone, Copy)]
pub struct AdaptiveAvgPool2d(pub (usize, usize));
impl Params for AdaptiveAvgPool2d {}

impl Module for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        pool::adaptive_avg_pool2d(x, self.0)
    }
}

/// `nn.Dropout2d(p)`: zeroes whole channels of `[N, C, H, W]` in training, scaling the rest
/// by `1/(1-p)`; the identity in evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Dropout2d {
    /// Probability of zeroing a channel.
    pub p: f64,
    training: bool,
}

impl Dropout2d {
    /// `nn.Dropout2d(p)`.
    pub fn new(p: f64) -> Dropout2d {
        assert!(
            (0.0..=1.0).contains(&p),
            "Dropout2d: p must be in [0, 1], got {p}"
        );
        Dropout2d { p, training: true }
    }
}

impl Params for Dropout2d {
    fn set_training(&mut self, on: bool) {
        self.training = on;
    }
}

impl Module for Dropout2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        if !self.training || self.p == 0.0 {
            return x.clone();
        }
        let mut mask_shape = x.shape()[..2.min(x.ndim())].to_vec();
        mask_shape.resize(x.ndim(), 1);
        let keep = tandem_core::rand(&mask_shape)
            .ge(self.p)
            .to_dtype(x.dtype());
        &(x * &keep) * (1.0 / (1.0 - self.p))
    }
}

/// `nn.BatchNorm2d(num_features)` over `[N, C, H, W]`: per-channel batch statistics in
/// training (running averages updated with momentum 0.1, unbiased variance), running
/// statistics in evaluation.
#[derive(Debug)]
pub struct BatchNorm2d {
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

impl BatchNorm2d {
    /// `nn.BatchNorm2d(num_features)`.
    pub fn new(num_features: usize) -> BatchNorm2d {
        BatchNorm2d {
            weight: tandem_core::ones(&[num_features], DType::Float32).requires_grad_(true),
            bias: tandem_core::zeros(&[num_features], DType::Float32).requires_grad_(true),
            running_mean: tandem_core::zeros(&[num_features], DType::Float32),
            running_var: tandem_core::ones(&[num_features], DType::Float32),
            momentum: 0.1,
            eps: 1e-5,
            training: true,
        }
    }
}

crate::layers::batch_norm_params!(BatchNorm2d);

impl Module for BatchNorm2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        assert!(
            x.ndim() == 4,
            "BatchNorm2d: expected [N, C, H, W], got {:?}",
            x.shape()
        );
        crate::functional::batch_norm(
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
