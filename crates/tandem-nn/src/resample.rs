//! Layers that change spatial size or shape: `nn.ConvTranspose2d`, `nn.Upsample`
//! (`F.interpolate`), `nn.PixelShuffle`, `nn.Unflatten`, `nn.MaxPool1d`, `nn.AvgPool1d`, and the
//! two-input `nn.Bilinear`. Each is written in differentiable tensor ops, so its gradient is
//! the composition of theirs.

use crate::init;
use crate::module::{Module, Params};
use tandem_core::ops::conv::{conv2d, Conv2dArgs};
use tandem_core::ops::pool::{self, Pool2dArgs};
use tandem_core::{DType, Tensor};

/// Pads (positive) or crops (negative) axis `d` by `before` and `after`.
fn pad_or_crop(x: &Tensor, d: usize, before: isize, after: isize) -> Tensor {
    let n = x.shape()[d] as isize;
    let crop_b = (-before).max(0);
    let crop_a = (-after).max(0);
    let x = if crop_b > 0 || crop_a > 0 {
        x.narrow(d as isize, crop_b as usize, (n - crop_b - crop_a) as usize)
    } else {
        x.clone()
    };
    let mut pads = vec![0usize; 2 * (x.ndim() - d)];
    let k = x.ndim() - 1 - d;
    pads[2 * k] = before.max(0) as usize;
    pads[2 * k + 1] = after.max(0) as usize;
    x.pad(&pads, 0.0)
}

/// `F.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)`
/// over `[N, C_in, H, W]` with `weight` `[C_in, C_out / groups, KH, KW]`: the gradient of a
/// convolution with respect to its input, computed as a stride-1 convolution of the input
/// spread out by `stride` and padded by `dilation * (k - 1) - padding`, with the kernel flipped.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
    groups: usize,
    dilation: (usize, usize),
) -> Tensor {
    assert!(
        x.ndim() == 4 && weight.ndim() == 4,
        "conv_transpose2d: expected [N, C, H, W] input and [C_in, C_out/groups, KH, KW] weight, got {:?} and {:?}",
        x.shape(),
        weight.shape()
    );
    let (n, c, h, w) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    assert_eq!(
        weight.shape()[0],
        c,
        "conv_transpose2d: weight has {} input channels, input has {c}",
        weight.shape()[0]
    );
    assert!(
        output_padding.0 < stride.0.max(dilation.0) && output_padding.1 < stride.1.max(dilation.1),
        "conv_transpose2d: output_padding must be smaller than either stride or dilation"
    );
    let (sh, sw) = stride;
    // Spread the input: (s - 1) zeros after every element, then drop the trailing ones.
    let spread = if sh > 1 || sw > 1 {
        x.reshape(&[n as isize, c as isize, h as isize, 1, w as isize, 1])
            .pad(&[0, sw - 1, 0, 0, 0, sh - 1], 0.0)
            .reshape(&[n as isize, c as isize, (h * sh) as isize, (w * sw) as isize])
            .narrow(2, 0, (h - 1) * sh + 1)
            .narrow(3, 0, (w - 1) * sw + 1)
    } else {
        x.clone()
    };
    let (kh, kw) = (weight.shape()[2], weight.shape()[3]);
    let qh = (dilation.0 * (kh - 1)) as isize - padding.0 as isize;
    let qw = (dilation.1 * (kw - 1)) as isize - padding.1 as isize;
    let padded = pad_or_crop(&spread, 2, qh, qh + output_padding.0 as isize);
    let padded = pad_or_crop(&padded, 3, qw, qw + output_padding.1 as isize);
    let out_per_group = weight.shape()[1];
    let flipped = weight
        .reshape(&[
            groups as isize,
            (c / groups) as isize,
            out_per_group as isize,
            kh as isize,
            kw as isize,
        ])
        .permute(&[0, 2, 1, 3, 4])
        .reshape(&[
            (groups * out_per_group) as isize,
            (c / groups) as isize,
            kh as isize,
            kw as isize,
        ])
        .flip(&[2, 3]);
    let args = Conv2dArgs {
        dilation,
        groups,
        ..Default::default()
    };
    conv2d(&padded, &flipped, bias, args)
}

/// `nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
/// output_padding=0, groups=1, bias=True, dilation=1)` over `[N, C, H, W]`.
///
/// ```
/// use tandem_nn::{ConvTranspose2d, Module};
/// let up = ConvTranspose2d::new(3, 8, 3).stride(2).padding(1).output_padding(1);
/// let y = up.forward(&tandem_core::zeros(&[1, 3, 14, 14], tandem_core::DType::Float32));
/// assert_eq!(y.shape(), &[1, 8, 28, 28]);
/// ```
#[derive(crate::Module, Debug, Clone)]
pub struct ConvTranspose2d {
    /// `[in_channels, out_channels / groups, KH, KW]`.
    pub weight: Tensor,
    /// `[out_channels]`, if used.
    pub bias: Option<Tensor>,
    #[module(skip)]
    stride: (usize, usize),
    #[module(skip)]
    padding: (usize, usize),
    #[module(skip)]
    output_padding: (usize, usize),
    #[module(skip)]
    groups: usize,
    #[module(skip)]
    dilation: (usize, usize),
}

impl ConvTranspose2d {
    /// A square kernel, stride 1, with bias.
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> ConvTranspose2d {
        ConvTranspose2d::with_options(
            in_channels,
            out_channels,
            (kernel_size, kernel_size),
            1,
            true,
        )
    }

    /// Kernel (rows, columns), groups and bias; PyTorch's init (Kaiming uniform, `a = sqrt(5)`,
    /// with fan-in `out_channels / groups * KH * KW`).
    pub fn with_options(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        groups: usize,
        bias: bool,
    ) -> ConvTranspose2d {
        assert!(
            groups >= 1 && in_channels.is_multiple_of(groups) && out_channels.is_multiple_of(groups),
            "ConvTranspose2d: in_channels {in_channels} and out_channels {out_channels} must be divisible by groups {groups}"
        );
        let shape = [in_channels, out_channels / groups, kernel.0, kernel.1];
        let (weight, bias) =
            crate::conv_layers::conv_params_with_bias(&shape, bias.then_some(out_channels));
        ConvTranspose2d {
            weight,
            bias,
            stride: (1, 1),
            padding: (0, 0),
            output_padding: (0, 0),
            groups,
            dilation: (1, 1),
        }
    }

    /// `stride=s`.
    pub fn stride(mut self, s: usize) -> Self {
        self.stride = (s, s);
        self
    }

    /// `padding=p`.
    pub fn padding(mut self, p: usize) -> Self {
        self.padding = (p, p);
        self
    }

    /// `output_padding=p`: extra rows and columns on the bottom and right.
    pub fn output_padding(mut self, p: usize) -> Self {
        self.output_padding = (p, p);
        self
    }

    /// `dilation=d`.
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Tensor {
        conv_transpose2d(
            x,
            &self.weight,
            self.bias.as_ref(),
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
    }
}

/// `F.interpolate`'s modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpolationMode {
    /// `mode='nearest'`: the source pixel `floor(dst * in / out)`.
    Nearest,
    /// `mode='bilinear'`, with `align_corners`.
    Bilinear {
        /// Map the corner pixels' centres onto each other (else half-pixel centres).
        align_corners: bool,
    },
}

/// Source positions and weights along one axis: `(low index, high index, weight of high)`.
fn axis_plan(
    n_in: usize,
    n_out: usize,
    scale: Option<f64>,
    mode: InterpolationMode,
) -> Vec<(i64, i64, f64)> {
    // PyTorch uses 1 / scale_factor when a scale factor is given, in / out otherwise.
    let ratio = scale.map_or(n_in as f64 / n_out as f64, |s| 1.0 / s);
    (0..n_out)
        .map(|o| match mode {
            InterpolationMode::Nearest => {
                let i = ((o as f64 * ratio).floor() as usize).min(n_in - 1) as i64;
                (i, i, 0.0)
            }
            InterpolationMode::Bilinear { align_corners } => {
                let src = if align_corners {
                    if n_out > 1 {
                        o as f64 * (n_in - 1) as f64 / (n_out - 1) as f64
                    } else {
                        0.0
                    }
                } else {
                    ((o as f64 + 0.5) * ratio - 0.5).max(0.0)
                };
                let lo = (src.floor() as usize).min(n_in - 1);
                let hi = (lo + 1).min(n_in - 1);
                (lo as i64, hi as i64, src - lo as f64)
            }
        })
        .collect()
}

/// Resamples axis `d` of `x` by the plan.
fn resample_axis(x: &Tensor, d: usize, plan: &[(i64, i64, f64)], nearest: bool) -> Tensor {
    let lo = Tensor::from_vec(plan.iter().map(|p| p.0).collect::<Vec<_>>(), &[plan.len()]);
    let low = x.index_select(d as isize, &lo);
    if nearest {
        return low;
    }
    let hi = Tensor::from_vec(plan.iter().map(|p| p.1).collect::<Vec<_>>(), &[plan.len()]);
    let high = x.index_select(d as isize, &hi);
    let mut shape = vec![1isize; x.ndim()];
    shape[d] = plan.len() as isize;
    let w = Tensor::from_vec(plan.iter().map(|p| p.2).collect::<Vec<_>>(), &[plan.len()])
        .to_dtype(x.dtype())
        .reshape(&shape);
    &low + &(&(&high - &low) * &w)
}

/// `F.interpolate(x, size=(h, w))` or `scale_factor=s` over `[N, C, H, W]`.
pub fn interpolate(
    x: &Tensor,
    size: Option<(usize, usize)>,
    scale_factor: Option<f64>,
    mode: InterpolationMode,
) -> Tensor {
    assert_eq!(
        x.ndim(),
        4,
        "interpolate: expected [N, C, H, W], got {:?}",
        x.shape()
    );
    let (h, w) = (x.shape()[2], x.shape()[3]);
    let (oh, ow) = match (size, scale_factor) {
        (Some(s), None) => s,
        (None, Some(f)) => (
            (h as f64 * f).floor() as usize,
            (w as f64 * f).floor() as usize,
        ),
        _ => panic!("interpolate: give exactly one of size and scale_factor"),
    };
    let nearest = mode == InterpolationMode::Nearest;
    let y = resample_axis(x, 2, &axis_plan(h, oh, scale_factor, mode), nearest);
    resample_axis(&y, 3, &axis_plan(w, ow, scale_factor, mode), nearest)
}

/// `nn.Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None)`.
///
/// ```
/// use tandem_nn::{Module, Upsample};
/// let y = Upsample::scale(2.0).forward(&tandem_core::ones(&[1, 1, 2, 2], tandem_core::DType::Float32));
/// assert_eq!(y.shape(), &[1, 1, 4, 4]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Upsample {
    size: Option<(usize, usize)>,
    scale_factor: Option<f64>,
    mode: InterpolationMode,
}
impl Params for Upsample {}

impl Upsample {
    /// `Upsample(scale_factor=s)`, nearest.
    pub fn scale(scale_factor: f64) -> Upsample {
        Upsample {
            size: None,
            scale_factor: Some(scale_factor),
            mode: InterpolationMode::Nearest,
        }
    }

    /// `Upsample(size=(h, w))`, nearest.
    pub fn size(h: usize, w: usize) -> Upsample {
        Upsample {
            size: Some((h, w)),
            scale_factor: None,
            mode: InterpolationMode::Nearest,
        }
    }

    /// `mode='bilinear', align_corners=...`.
    pub fn bilinear(mut self, align_corners: bool) -> Upsample {
        self.mode = InterpolationMode::Bilinear { align_corners };
        self
    }
}

impl Module for Upsample {
    fn forward(&self, x: &Tensor) -> Tensor {
        interpolate(x, self.size, self.scale_factor, self.mode)
    }
}

/// `F.pixel_shuffle(x, r)`: `[N, C r², H, W]` to `[N, C, H r, W r]`.
pub fn pixel_shuffle(x: &Tensor, r: usize) -> Tensor {
    let s = x.shape();
    assert!(
        x.ndim() == 4 && s[1].is_multiple_of(r * r),
        "pixel_shuffle: expected [N, C*{r}^2, H, W], got {s:?}"
    );
    let (n, c, h, w) = (
        s[0] as isize,
        (s[1] / (r * r)) as isize,
        s[2] as isize,
        s[3] as isize,
    );
    let r = r as isize;
    x.reshape(&[n, c, r, r, h, w])
        .permute(&[0, 1, 4, 2, 5, 3])
        .reshape(&[n, c, h * r, w * r])
}

/// `nn.PixelShuffle(upscale_factor)`.
#[derive(Debug, Clone, Copy)]
pub struct PixelShuffle(pub usize);
impl Params for PixelShuffle {}

impl Module for PixelShuffle {
    fn forward(&self, x: &Tensor) -> Tensor {
        pixel_shuffle(x, self.0)
    }
}

/// `nn.Unflatten(dim, unflattened_size)`: splits axis `dim` into `sizes`.
#[derive(Debug, Clone)]
pub struct Unflatten {
    dim: isize,
    sizes: Vec<usize>,
}
impl Params for Unflatten {}

impl Unflatten {
    /// `Unflatten(1, (2, 3))`.
    pub fn new(dim: isize, sizes: &[usize]) -> Unflatten {
        Unflatten {
            dim,
            sizes: sizes.to_vec(),
        }
    }
}

impl Module for Unflatten {
    fn forward(&self, x: &Tensor) -> Tensor {
        let d = if self.dim < 0 {
            x.ndim() as isize + self.dim
        } else {
            self.dim
        } as usize;
        let want: usize = self.sizes.iter().product();
        assert_eq!(
            x.shape()[d],
            want,
            "Unflatten: axis {d} has {} elements, unflattened_size {:?} has {want}",
            x.shape()[d],
            self.sizes
        );
        let mut shape: Vec<isize> = x.shape()[..d].iter().map(|&v| v as isize).collect();
        shape.extend(self.sizes.iter().map(|&v| v as isize));
        shape.extend(x.shape()[d + 1..].iter().map(|&v| v as isize));
        x.reshape(&shape)
    }
}

/// The 1-D pooling window as a 2-D one over `[N, C, 1, L]`.
fn pool1d(k: usize, stride: usize, padding: usize) -> Pool2dArgs {
    Pool2dArgs {
        kernel: (1, k),
        stride: (1, stride),
        padding: (0, padding),
        ceil_mode: false,
    }
}

/// `nn.MaxPool1d(kernel_size, stride=kernel_size, padding=0)` over `[N, C, L]`.
#[derive(Debug, Clone, Copy)]
pub struct MaxPool1d(Pool2dArgs);
impl Params for MaxPool1d {}

impl MaxPool1d {
    /// A window of `k` with stride `k`.
    pub fn new(k: usize) -> MaxPool1d {
        MaxPool1d(pool1d(k, k, 0))
    }

    /// `MaxPool1d(k, stride, padding)`.
    pub fn with_options(k: usize, stride: usize, padding: usize) -> MaxPool1d {
        MaxPool1d(pool1d(k, stride, padding))
    }
}

impl Module for MaxPool1d {
    fn forward(&self, x: &Tensor) -> Tensor {
        pool::max_pool2d(&x.unsqueeze(2), self.0).squeeze(Some(2))
    }
}

/// `nn.AvgPool1d(kernel_size, stride=kernel_size, padding=0, count_include_pad=True)`.
#[derive(Debug, Clone, Copy)]
pub struct AvgPool1d {
    args: Pool2dArgs,
    count_include_pad: bool,
}
impl Params for AvgPool1d {}

impl AvgPool1d {
    /// A window of `k` with stride `k`.
    pub fn new(k: usize) -> AvgPool1d {
        AvgPool1d::with_options(k, k, 0, true)
    }

    /// `AvgPool1d(k, stride, padding, count_include_pad)`.
    pub fn with_options(
        k: usize,
        stride: usize,
        padding: usize,
        count_include_pad: bool,
    ) -> AvgPool1d {
        AvgPool1d {
            args: pool1d(k, stride, padding),
            count_include_pad,
        }
    }
}

impl Module for AvgPool1d {
    fn forward(&self, x: &Tensor) -> Tensor {
        pool::avg_pool2d(&x.unsqueeze(2), self.args, self.count_include_pad).squeeze(Some(2))
    }
}

/// `nn.Bilinear(in1_features, in2_features, out_features)`:
/// `y[n, o] = x1[n] · W[o] · x2[n] + b[o]`, both `U(±1/sqrt(in1_features))` as PyTorch inits them.
#[derive(crate::Module, Debug, Clone)]
pub struct Bilinear {
    /// `[out_features, in1_features, in2_features]`.
    pub weight: Tensor,
    /// `[out_features]`.
    pub bias: Option<Tensor>,
}

impl Bilinear {
    /// With bias.
    pub fn new(in1: usize, in2: usize, out: usize) -> Bilinear {
        let bound = 1.0 / (in1 as f64).sqrt();
        let weight = tandem_core::zeros(&[out, in1, in2], DType::Float32).requires_grad_(true);
        init::uniform_(&weight, -bound, bound);
        let bias = tandem_core::zeros(&[out], DType::Float32).requires_grad_(true);
        init::uniform_(&bias, -bound, bound);
        Bilinear {
            weight,
            bias: Some(bias),
        }
    }

    /// The layer on its two inputs (`bilinear(x1, x2)`).
    pub fn forward2(&self, x1: &Tensor, x2: &Tensor) -> Tensor {
        let s = self.weight.shape();
        let (out, in1, in2) = (s[0] as isize, s[1] as isize, s[2] as isize);
        // x1 [N, in1] @ W as [in1, out * in2], then the dot with x2 per output.
        let w = self.weight.permute(&[1, 0, 2]).reshape(&[in1, out * in2]);
        let t = x1.matmul(&w).reshape(&[-1, out, in2]);
        let y = (&t * &x2.unsqueeze(1)).sum_dims(&[2], false);
        match &self.bias {
            Some(b) => &y + b,
            None => y,
        }
    }
}
