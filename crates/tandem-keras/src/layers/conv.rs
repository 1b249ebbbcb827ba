//! `Conv2D` and `MaxPooling2D` in Keras's channels-last layout (`[N, H, W, C]`), on the
//! channels-last kernels: no permutes between layers, the kernel in Keras's `[KH, KW, C, O]`
//! order, and `activation="relu"` fused into the convolution.

use super::conv_more::same_pads;
use super::{Activation, Initializer, Layer};
use tandem_core::ops::conv::Conv2dArgs;
use tandem_core::ops::conv_nhwc::{conv2d_nhwc, Fused};
use tandem_core::ops::pool::Pool2dArgs;
use tandem_core::ops::pool_nhwc::max_pool2d_nhwc;
use tandem_core::{DType, Tensor};

/// A kernel size, stride or pool size as Keras takes it: an int for a square (`3`) or a
/// `(rows, columns)` tuple (`(3, 3)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size2(pub usize, pub usize);

impl From<usize> for Size2 {
    fn from(k: usize) -> Size2 {
        Size2(k, k)
    }
}

impl From<(usize, usize)> for Size2 {
    fn from((h, w): (usize, usize)) -> Size2 {
        Size2(h, w)
    }
}

impl From<Size2> for (usize, usize) {
    fn from(s: Size2) -> (usize, usize) {
        (s.0, s.1)
    }
}

/// A channels-last convolution with `(top, bottom, left, right)` zero padding, then
/// `activation` (ReLU fused into the convolution). Equal padding on both sides of an axis is
/// the kernel's own; TensorFlow's uneven `"same"` padding pads the input first.
pub(crate) fn conv_channels_last(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    (top, bottom, left, right): (usize, usize, usize, usize),
    stride: (usize, usize),
    dilation: (usize, usize),
    activation: Activation,
) -> Tensor {
    let even = top == bottom && left == right;
    let padded;
    let (x, padding) = if even {
        (x, (top, left))
    } else {
        padded = x.pad(&[0, 0, left, right, top, bottom], 0.0);
        (&padded, (0, 0))
    };
    let args = Conv2dArgs {
        stride,
        padding,
        dilation,
        groups: 1,
    };
    if activation == Activation::Relu {
        return conv2d_nhwc(x, kernel, bias, args, Fused::Relu);
    }
    activation.apply(&conv2d_nhwc(x, kernel, bias, args, Fused::Identity))
}

/// `Conv2D(filters, kernel_size, strides=1, padding="valid", activation=None)` on
/// channels-last inputs; the kernel is glorot-uniform and the bias zeros, as in Keras.
pub struct Conv2D {
    filters: usize,
    kernel: (usize, usize),
    strides: (usize, usize),
    /// `padding="same"` (TensorFlow's: the odd element after) rather than `"valid"`.
    same: bool,
    activation: Activation,
    use_bias: bool,
    input_shape: Option<Vec<usize>>,
    /// The kernel, `[KH, KW, in_channels, filters]` (Keras's layout), and the bias.
    weights: Option<(Tensor, Option<Tensor>)>,
}

impl Conv2D {
    /// `Conv2D(filters, kernel_size)`: `Conv2D::new(32, 3)` or `Conv2D::new(32, (3, 3))`.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Conv2D {
        Conv2D {
            filters,
            kernel: kernel_size.into().into(),
            strides: (1, 1),
            same: false,
            activation: Activation::Linear,
            use_bias: true,
            input_shape: None,
            weights: None,
        }
    }

    /// `activation='relu'` etc.
    pub fn activation(mut self, name: &str) -> Conv2D {
        self.activation = Activation::from_name(name).unwrap_or_else(|e| panic!("Conv2D: {e}"));
        self
    }

    /// `strides=2` or `strides=(2, 1)`.
    pub fn strides(mut self, s: impl Into<Size2>) -> Conv2D {
        self.strides = s.into().into();
        self
    }

    /// `padding="valid"` or `"same"`.
    pub fn padding(mut self, padding: &str) -> Conv2D {
        self.same = match padding {
            "valid" => false,
            "same" => true,
            other => panic!("Conv2D: padding must be 'valid' or 'same', got '{other}'"),
        };
        self
    }

    /// `(before, after)` padding of an axis of `n` elements, kernel `k`, stride `s`.
    fn pads(&self, n: usize, k: usize, s: usize) -> (usize, usize) {
        if self.same {
            same_pads(n, k, s, 1)
        } else {
            (0, 0)
        }
    }

    /// `use_bias=False`.
    pub fn use_bias(mut self, on: bool) -> Conv2D {
        self.use_bias = on;
        self
    }

    /// `input_shape=(H, W, C)` (builds the layer right away).
    pub fn input_shape(mut self, shape: &[usize]) -> Conv2D {
        self.input_shape = Some(shape.to_vec());
        self.build(shape);
        self
    }
}

impl Layer for Conv2D {
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        let config = serde_json::json!({
            "filters": self.filters,
            "kernel_size": [self.kernel.0, self.kernel.1],
            "strides": [self.strides.0, self.strides.1],
            "padding": if self.same { "same" } else { "valid" },
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "activation": self.activation.name(),
            "use_bias": self.use_bias,
        });
        Some(("Conv2D", config))
    }
    fn name(&self) -> String {
        "conv2d".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        assert!(
            input_shape.len() == 3,
            "Conv2D: expected inputs of shape (H, W, C) per sample, got {input_shape:?}"
        );
        let c = input_shape[2];
        let w = tandem_core::zeros(
            &[self.kernel.0, self.kernel.1, c, self.filters],
            DType::Float32,
        )
        .requires_grad_(true);
        Initializer::GlorotUniform.fill_kernel(&w);
        let b = self
            .use_bias
            .then(|| tandem_core::zeros(&[self.filters], DType::Float32).requires_grad_(true));
        self.weights = Some((w, b));
    }
    fn built(&self) -> bool {
        self.weights.is_some()
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        self.input_shape.clone()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let (w, b) = self.weights.as_ref().expect("Conv2D called before build");
        let (top, bottom) = self.pads(x.shape()[1], self.kernel.0, self.strides.0);
        let (left, right) = self.pads(x.shape()[2], self.kernel.1, self.strides.1);
        conv_channels_last(
            x,
            w,
            b.as_ref(),
            (top, bottom, left, right),
            self.strides,
            (1, 1),
            self.activation,
        )
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        let out = |n: usize, k: usize, st: usize| {
            let (before, after) = self.pads(n, k, st);
            (n + before + after - k) / st + 1
        };
        vec![
            out(s[0], self.kernel.0, self.strides.0),
            out(s[1], self.kernel.1, self.strides.1),
            self.filters,
        ]
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        match &self.weights {
            Some((w, Some(b))) => vec![w.clone(), b.clone()],
            Some((w, None)) => vec![w.clone()],
            None => Vec::new(),
        }
    }
}

/// `MaxPooling2D(pool_size=2, strides=None, padding="valid")` on channels-last inputs.
pub struct MaxPooling2D {
    args: Pool2dArgs,
}

impl MaxPooling2D {
    /// `MaxPooling2D(pool_size)`: `MaxPooling2D::new(2)` or `MaxPooling2D::new((2, 2))`, with
    /// stride `pool_size`.
    pub fn new(pool_size: impl Into<Size2>) -> MaxPooling2D {
        let k: (usize, usize) = pool_size.into().into();
        MaxPooling2D {
            args: Pool2dArgs {
                kernel: k,
                stride: k,
                ..Pool2dArgs::new(1)
            },
        }
    }

    /// `strides=2` or `strides=(2, 1)`.
    pub fn strides(mut self, s: impl Into<Size2>) -> MaxPooling2D {
        self.args.stride = s.into().into();
        self
    }
}

impl Layer for MaxPooling2D {
    fn keras_config(&self) -> Option<(&'static str, serde_json::Value)> {
        let a = &self.args;
        let config = serde_json::json!({
            "pool_size": [a.kernel.0, a.kernel.1],
            "strides": [a.stride.0, a.stride.1],
            "padding": "valid",
            "data_format": "channels_last",
        });
        Some(("MaxPooling2D", config))
    }
    fn name(&self) -> String {
        "max_pooling2d".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        max_pool2d_nhwc(x, self.args)
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        let a = &self.args;
        vec![
            (s[0] - a.kernel.0) / a.stride.0 + 1,
            (s[1] - a.kernel.1) / a.stride.1 + 1,
            s[2],
        ]
    }
}
