//! `Conv2DTranspose` and `Conv1D` in Keras's channels-last layouts, with Keras's kernel
//! layouts (`[KH, KW, filters, in]` and `[K, in, filters]`) and TensorFlow's padding rules.

use super::conv::{conv_channels_last, Size2};
use super::{Activation, Initializer, Layer};
use tandem_core::{DType, Tensor};
use tandem_nn::functional::conv_transpose2d;

/// TensorFlow's `"same"` padding of one axis: `(before, after)`, the extra element after.
pub(crate) fn same_pads(n: usize, k: usize, stride: usize, dilation: usize) -> (usize, usize) {
    let out = n.div_ceil(stride);
    let span = (k - 1) * dilation + 1;
    let total = ((out - 1) * stride + span).saturating_sub(n);
    (total / 2, total - total / 2)
}

fn padding_name(layer: &str, padding: &str, allowed: &[&str]) -> String {
    assert!(
        allowed.contains(&padding),
        "{layer}: padding must be one of {allowed:?}, got '{padding}'"
    );
    padding.to_string()
}

fn kernel_and_bias(shape: &[usize], bias_len: Option<usize>) -> (Tensor, Option<Tensor>) {
    let k = tandem_core::zeros(shape, DType::Float32).requires_grad_(true);
    Initializer::GlorotUniform.fill_kernel(&k);
    let b = bias_len.map(|n| tandem_core::zeros(&[n], DType::Float32).requires_grad_(true));
    (k, b)
}

/// `Conv2DTranspose(filters, kernel_size, strides=1, padding="valid")` on `[N, H, W, C]`; the
/// kernel is `[KH, KW, filters, in]` as Keras keeps it.
///
/// ```
/// use tandem_keras::layers::{Conv2DTranspose, Layer};
/// let mut up = Conv2DTranspose::new(8, 3).strides(2).padding("same");
/// let y = up.apply(&tandem_core::zeros(&[1, 7, 7, 4], tandem_core::DType::Float32), false);
/// assert_eq!(y.shape(), &[1, 14, 14, 8]);
/// ```
pub struct Conv2DTranspose {
    filters: usize,
    kernel: (usize, usize),
    strides: (usize, usize),
    padding: String,
    activation: Activation,
    use_bias: bool,
    weights: Option<(Tensor, Option<Tensor>)>,
}

impl Conv2DTranspose {
    /// `Conv2DTranspose(filters, kernel_size)`: an int or `(rows, columns)`.
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Conv2DTranspose {
            filters,
            kernel: kernel_size.into().into(),
            strides: (1, 1),
            padding: "valid".into(),
            activation: Activation::Linear,
            use_bias: true,
            weights: None,
        }
    }

    /// `strides=2` or `(2, 1)`.
    pub fn strides(mut self, s: impl Into<Size2>) -> Self {
        self.strides = s.into().into();
        self
    }

    /// `padding="valid"` or `"same"` (output `input * stride`).
    pub fn padding(mut self, padding: &str) -> Self {
        self.padding = padding_name("Conv2DTranspose", padding, &["valid", "same"]);
        self
    }

    /// `activation='relu'` etc.
    pub fn activation(mut self, name: &str) -> Self {
        self.activation =
            Activation::from_name(name).unwrap_or_else(|e| panic!("Conv2DTranspose: {e}"));
        self
    }

    /// `use_bias=False`.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.use_bias = on;
        self
    }

    /// The kernel `[KH, KW, filters, in]` and the bias once built.
    pub fn kernel_and_bias(&self) -> Option<(&Tensor, Option<&Tensor>)> {
        self.weights.as_ref().map(|(k, b)| (k, b.as_ref()))
    }

    fn out_len(&self, n: usize, k: usize, s: usize) -> usize {
        if self.padding == "same" {
            n * s
        } else {
            (n - 1) * s + k
        }
    }
}

impl Layer for Conv2DTranspose {
    fn name(&self) -> String {
        "conv2d_transpose".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        assert_eq!(
            input_shape.len(),
            3,
            "Conv2DTranspose: expected (H, W, C) per sample, got {input_shape:?}"
        );
        let shape = [self.kernel.0, self.kernel.1, self.filters, input_shape[2]];
        self.weights = Some(kernel_and_bias(
            &shape,
            self.use_bias.then_some(self.filters),
        ));
    }
    fn built(&self) -> bool {
        self.weights.is_some()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let (k, b) = self
            .weights
            .as_ref()
            .expect("Conv2DTranspose called before build");
        // [KH, KW, filters, in] -> PyTorch's [in, filters, KH, KW].
        let w = k.permute(&[3, 2, 0, 1]);
        let full = conv_transpose2d(
            &x.permute(&[0, 3, 1, 2]),
            &w,
            b.as_ref(),
            self.strides,
            (0, 0),
            (0, 0),
            1,
            (1, 1),
        );
        let (h, wd) = (x.shape()[1], x.shape()[2]);
        let mut y = full;
        for (axis, n, kk, s) in [
            (2, h, self.kernel.0, self.strides.0),
            (3, wd, self.kernel.1, self.strides.1),
        ] {
            let want = self.out_len(n, kk, s);
            let have = y.shape()[axis];
            y = if have >= want {
                // TensorFlow crops the smaller half before and the larger after.
                y.narrow(axis as isize, (have - want) / 2, want)
            } else {
                let mut pads = vec![0usize; 2 * (4 - axis)];
                pads[2 * (3 - axis) + 1] = want - have;
                y.pad(&pads, 0.0)
            };
        }
        self.activation.apply(&y.permute(&[0, 2, 3, 1]))
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        vec![
            self.out_len(s[0], self.kernel.0, self.strides.0),
            self.out_len(s[1], self.kernel.1, self.strides.1),
            self.filters,
        ]
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        match &self.weights {
            Some((k, b)) => std::iter::once(k.clone()).chain(b.clone()).collect(),
            None => Vec::new(),
        }
    }
}

/// `Conv1D(filters, kernel_size, strides=1, padding="valid", dilation_rate=1)` on
/// `[N, steps, C]`; `padding` is `"valid"`, `"same"` or `"causal"` (left padding only).
///
/// ```
/// use tandem_keras::layers::{Conv1D, Layer};
/// let mut conv = Conv1D::new(4, 3).padding("causal").dilation_rate(2);
/// let y = conv.apply(&tandem_core::zeros(&[2, 10, 3], tandem_core::DType::Float32), false);
/// assert_eq!(y.shape(), &[2, 10, 4]);
/// ```
pub struct Conv1D {
    filters: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: String,
    activation: Activation,
    use_bias: bool,
    weights: Option<(Tensor, Option<Tensor>)>,
}

impl Conv1D {
    /// `Conv1D(filters, kernel_size)`.
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv1D {
            filters,
            kernel: kernel_size,
            stride: 1,
            dilation: 1,
            padding: "valid".into(),
            activation: Activation::Linear,
            use_bias: true,
            weights: None,
        }
    }

    /// `strides=s`.
    pub fn strides(mut self, s: usize) -> Self {
        self.stride = s;
        self
    }

    /// `dilation_rate=d`.
    pub fn dilation_rate(mut self, d: usize) -> Self {
        self.dilation = d;
        self
    }

    /// `padding="valid"`, `"same"` or `"causal"`.
    pub fn padding(mut self, padding: &str) -> Self {
        self.padding = padding_name("Conv1D", padding, &["valid", "same", "causal"]);
        self
    }

    /// `activation='relu'` etc.
    pub fn activation(mut self, name: &str) -> Self {
        self.activation = Activation::from_name(name).unwrap_or_else(|e| panic!("Conv1D: {e}"));
        self
    }

    /// `use_bias=False`.
    pub fn use_bias(mut self, on: bool) -> Self {
        self.use_bias = on;
        self
    }

    fn pads(&self, n: usize) -> (usize, usize) {
        match self.padding.as_str() {
            "same" => same_pads(n, self.kernel, self.stride, self.dilation),
            "causal" => ((self.kernel - 1) * self.dilation, 0),
            _ => (0, 0),
        }
    }
}

impl Layer for Conv1D {
    fn name(&self) -> String {
        "conv1d".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        assert_eq!(
            input_shape.len(),
            2,
            "Conv1D: expected (steps, C) per sample, got {input_shape:?}"
        );
        let shape = [self.kernel, input_shape[1], self.filters];
        self.weights = Some(kernel_and_bias(
            &shape,
            self.use_bias.then_some(self.filters),
        ));
    }
    fn built(&self) -> bool {
        self.weights.is_some()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let (k, b) = self.weights.as_ref().expect("Conv1D called before build");
        let (before, after) = self.pads(x.shape()[1]);
        // A row of height 1: [N, 1, steps, C] with the kernel [1, K, C, filters].
        let y = conv_channels_last(
            &x.unsqueeze(1),
            &k.unsqueeze(0),
            b.as_ref(),
            (0, 0, before, after),
            (1, self.stride),
            (1, self.dilation),
            self.activation,
        );
        y.squeeze(Some(1))
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        let (before, after) = self.pads(s[0]);
        let span = (self.kernel - 1) * self.dilation + 1;
        vec![
            (s[0] + before + after - span) / self.stride + 1,
            self.filters,
        ]
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        match &self.weights {
            Some((k, b)) => std::iter::once(k.clone()).chain(b.clone()).collect(),
            None => Vec::new(),
        }
    }
}
