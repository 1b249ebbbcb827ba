//! `keras.initializers`: weight initializers by their Keras names, on `tandem_nn::init`.

use crate::error::{unknown, KerasError};
use tandem_core::Tensor;
use tandem_nn::init;

/// Weight initializers by Keras name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Initializer {
    /// `'glorot_uniform'` (Keras's default for kernels).
    #[default]
    GlorotUniform,
    /// `'glorot_normal'`: truncated normal, stddev `sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// `'he_normal'`: truncated normal, stddev `sqrt(2 / fan_in)`.
    HeNormal,
    /// `'he_uniform'`.
    HeUniform,
    /// `'zeros'`.
    Zeros,
    /// `'ones'`.
    Ones,
}

const INITIALIZERS: [&str; 6] = [
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "zeros",
    "ones",
];

impl Initializer {
    /// The initializer with Keras name `name`.
    pub fn from_name(name: &str) -> Result<Initializer, KerasError> {
        Ok(match name {
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_normal" => Initializer::HeNormal,
            "he_uniform" => Initializer::HeUniform,
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            other => return Err(unknown("initializer", other, &INITIALIZERS)),
        })
    }

    /// Fills `t` (a `[out, in]` weight, PyTorch's layout) in place.
    pub fn fill(self, t: &Tensor) {
        let (fan_in, fan_out) = if t.ndim() >= 2 {
            init::fans(t)
        } else {
            (t.numel(), t.numel())
        };
        self.fill_with_fans(t, fan_in, fan_out);
    }

    /// Fills a kernel in Keras's layout, `[..., in, out]` (a `Conv2D` kernel is
    /// `[KH, KW, C_in, C_out]`), with Keras's fans: the last two axes times the receptive field.
    pub fn fill_kernel(self, t: &Tensor) {
        let s = t.shape();
        assert!(s.len() >= 2, "a kernel has at least 2 axes, got {s:?}");
        let receptive: usize = s[..s.len() - 2].iter().product();
        self.fill_with_fans(t, s[s.len() - 2] * receptive, s[s.len() - 1] * receptive);
    }

    fn fill_with_fans(self, t: &Tensor, fan_in: usize, fan_out: usize) {
        let uniform = |bound: f64| init::uniform_(t, -bound, bound);
        match self {
            Initializer::GlorotUniform => uniform((6.0 / (fan_in + fan_out) as f64).sqrt()),
            Initializer::GlorotNormal => {
                truncated_normal(t, (2.0 / (fan_in + fan_out) as f64).sqrt())
            }
            Initializer::HeNormal => truncated_normal(t, (2.0 / fan_in as f64).sqrt()),
            Initializer::HeUniform => uniform((6.0 / fan_in as f64).sqrt()),
            Initializer::Zeros => init::zeros_(t),
            Initializer::Ones => init::ones_(t),
        }
    }
}

/// Keras's variance-scaling truncated normal: draws beyond two standard deviations are
/// redrawn, and the scale is corrected by 0.8796 (the standard deviation of a unit normal
/// truncated at ±2) so the result has standard deviation `std`.
fn truncated_normal(t: &Tensor, std: f64) {
    let sd = std / 0.879_625_661_034_239_8;
    init::trunc_normal_(t, 0.0, sd, -2.0 * sd, 2.0 * sd);
}
