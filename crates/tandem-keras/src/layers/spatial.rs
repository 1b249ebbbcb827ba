//! Channels-last layers that resample, pool, pad or drop whole channels: `UpSampling2D`,
//! `AveragePooling2D`, `GlobalAveragePooling2D`, `GlobalMaxPooling2D`, `ZeroPadding2D`,
//! `SpatialDropout1D`/`2D` and `Rescaling`.

use super::conv::Size2;
use super::conv_more::same_pads;
use super::Layer;
use tandem_core::ops::pool::{avg_pool2d, Pool2dArgs};
use tandem_core::Tensor;
use tandem_nn::functional::{interpolate, InterpolationMode};

fn nchw(x: &Tensor) -> Tensor {
    x.permute(&[0, 3, 1, 2])
}
fn nhwc(x: &Tensor) -> Tensor {
    x.permute(&[0, 2, 3, 1])
}

/// `UpSampling2D(size=2, interpolation="nearest")` on `[N, H, W, C]`.
pub struct UpSampling2D {
    size: (usize, usize),
    bilinear: bool,
}

impl UpSampling2D {
    /// `UpSampling2D(size)`: an int or `(rows, columns)`, nearest.
    pub fn new(size: impl Into<Size2>) -> Self {
        UpSampling2D {
            size: size.into().into(),
            bilinear: false,
        }
    }

    /// `interpolation="nearest"` or `"bilinear"` (half-pixel centres).
    pub fn interpolation(mut self, mode: &str) -> Self {
        self.bilinear = match mode {
            "nearest" => false,
            "bilinear" => true,
            other => {
                panic!("UpSampling2D: interpolation must be 'nearest' or 'bilinear', got '{other}'")
            }
        };
        self
    }
}

impl Layer for UpSampling2D {
    fn name(&self) -> String {
        "up_sampling2d".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let (h, w) = (x.shape()[1] * self.size.0, x.shape()[2] * self.size.1);
        let mode = if self.bilinear {
            InterpolationMode::Bilinear {
                align_corners: false,
            }
        } else {
            InterpolationMode::Nearest
        };
        nhwc(&interpolate(&nchw(x), Some((h, w)), None, mode))
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        vec![s[0] * self.size.0, s[1] * self.size.1, s[2]]
    }
}

/// `AveragePooling2D(pool_size=2, strides=None, padding="valid")` on `[N, H, W, C]`; with
/// `"same"` the windows at the border divide by the elements they cover, as Keras's do.
pub struct AveragePooling2D {
    pool: (usize, usize),
    strides: (usize, usize),
    same: bool,
}

impl AveragePooling2D {
    /// `AveragePooling2D(pool_size)`: an int or `(rows, columns)`; strides default to it.
    pub fn new(pool_size: impl Into<Size2>) -> Self {
        let pool: (usize, usize) = pool_size.into().into();
        AveragePooling2D {
            pool,
            strides: pool,
            same: false,
        }
    }

    /// `strides=s`.
    pub fn strides(mut self, s: impl Into<Size2>) -> Self {
        self.strides = s.into().into();
        self
    }

    /// `padding="valid"` or `"same"`.
    pub fn padding(mut self, padding: &str) -> Self {
        self.same = match padding {
            "valid" => false,
            "same" => true,
            other => panic!("AveragePooling2D: padding must be 'valid' or 'same', got '{other}'"),
        };
        self
    }
}

impl Layer for AveragePooling2D {
    fn name(&self) -> String {
        "average_pooling2d".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let args = Pool2dArgs {
            kernel: self.pool,
            stride: self.strides,
            padding: (0, 0),
            ceil_mode: false,
        };
        let xc = nchw(x);
        if !self.same {
            return nhwc(&avg_pool2d(&xc, args, true));
        }
        let (h0, h1) = same_pads(x.shape()[1], self.pool.0, self.strides.0, 1);
        let (w0, w1) = same_pads(x.shape()[2], self.pool.1, self.strides.1, 1);
        let pads = [w0, w1, h0, h1];
        // The windows' sums over the padded input, divided by how many real elements each saw.
        let sums = avg_pool2d(&xc.pad(&pads, 0.0), args, true);
        let ones = tandem_core::ones_like(&xc.narrow(0, 0, 1).narrow(1, 0, 1)).detach();
        let counts = avg_pool2d(&ones.pad(&pads, 0.0), args, true);
        nhwc(&(&sums / &counts))
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        let out = |n: usize, k: usize, st: usize| {
            if self.same {
                n.div_ceil(st)
            } else {
                (n - k) / st + 1
            }
        };
        vec![
            out(s[0], self.pool.0, self.strides.0),
            out(s[1], self.pool.1, self.strides.1),
            s[2],
        ]
    }
}

/// `GlobalAveragePooling2D()`: `[N, H, W, C]` to `[N, C]`.
#[derive(Default)]
pub struct GlobalAveragePooling2D;

impl GlobalAveragePooling2D {
    /// The layer.
    pub fn new() -> Self {
        GlobalAveragePooling2D
    }
}

impl Layer for GlobalAveragePooling2D {
    fn name(&self) -> String {
        "global_average_pooling2d".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        x.mean_dims(&[1, 2], false)
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        vec![s[2]]
    }
}

/// `GlobalMaxPooling2D()`: `[N, H, W, C]` to `[N, C]`.
#[derive(Default)]
pub struct GlobalMaxPooling2D;

impl GlobalMaxPooling2D {
    /// The layer.
    pub fn new() -> Self {
        GlobalMaxPooling2D
    }
}

impl Layer for GlobalMaxPooling2D {
    fn name(&self) -> String {
        "global_max_pooling2d".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        x.amax(2, false).amax(1, false)
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        vec![s[2]]
    }
}

/// `ZeroPadding2D(padding=((top, bottom), (left, right)))` on `[N, H, W, C]`.
pub struct ZeroPadding2D {
    rows: (usize, usize),
    cols: (usize, usize),
}

impl ZeroPadding2D {
    /// `ZeroPadding2D(((top, bottom), (left, right)))`.
    pub fn new(padding: ((usize, usize), (usize, usize))) -> Self {
        ZeroPadding2D {
            rows: padding.0,
            cols: padding.1,
        }
    }

    /// `ZeroPadding2D(p)`: `p` on every side.
    pub fn symmetric(p: usize) -> Self {
        ZeroPadding2D::new(((p, p), (p, p)))
    }
}

impl Layer for ZeroPadding2D {
    fn name(&self) -> String {
        "zero_padding2d".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        x.pad(
            &[0, 0, self.cols.0, self.cols.1, self.rows.0, self.rows.1],
            0.0,
        )
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        vec![
            s[0] + self.rows.0 + self.rows.1,
            s[1] + self.cols.0 + self.cols.1,
            s[2],
        ]
    }
}

/// `SpatialDropout2D(rate)` (and `1D` on `[N, steps, C]`): in training, zeroes whole channels
/// of each sample with probability `rate` and scales the kept ones by `1 / (1 - rate)`; the
/// identity in inference.
pub struct SpatialDropout {
    rate: f64,
}

/// `SpatialDropout1D(rate)`.
#[allow(non_snake_case)]
pub fn SpatialDropout1D(rate: f64) -> SpatialDropout {
    SpatialDropout::new(rate)
}

/// `SpatialDropout2D(rate)`.
#[allow(non_snake_case)]
pub fn SpatialDropout2D(rate: f64) -> SpatialDropout {
    SpatialDropout::new(rate)
}

impl SpatialDropout {
    /// Drops channels (the last axis) with probability `rate`.
    pub fn new(rate: f64) -> Self {
        assert!(
            (0.0..1.0).contains(&rate),
            "SpatialDropout: rate must be in [0, 1), got {rate}"
        );
        SpatialDropout { rate }
    }
}

impl Layer for SpatialDropout {
    fn name(&self) -> String {
        "spatial_dropout".into()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        if !training || self.rate == 0.0 {
            return x.clone();
        }
        // One draw per (sample, channel), broadcast over the spatial axes.
        let mut shape = vec![1usize; x.ndim()];
        shape[0] = x.shape()[0];
        shape[x.ndim() - 1] = x.shape()[x.ndim() - 1];
        let keep = tandem_core::rand(&shape).ge(self.rate).to_dtype(x.dtype());
        &(x * &keep) / (1.0 - self.rate)
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        s.to_vec()
    }
}

/// `Rescaling(scale, offset=0.0)`: `x * scale + offset` (`Rescaling(1/255)` for pixels).
pub struct Rescaling {
    scale: f64,
    offset: f64,
}

impl Rescaling {
    /// `Rescaling(scale)`.
    pub fn new(scale: f64) -> Self {
        Rescaling { scale, offset: 0.0 }
    }

    /// `offset=...`.
    pub fn offset(mut self, offset: f64) -> Self {
        self.offset = offset;
        self
    }
}

impl Layer for Rescaling {
    fn name(&self) -> String {
        "rescaling".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let x = super::as_float(x);
        &(&x * self.scale) + self.offset
    }
    fn output_shape(&self, s: &[usize]) -> Vec<usize> {
        s.to_vec()
    }
}
