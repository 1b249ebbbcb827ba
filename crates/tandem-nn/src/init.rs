//! `torch.nn.init`: in-place initializers, drawing from tandem's seeded generator
//! (`tandem_core::manual_seed`).

use tandem_core::{autograd, Tensor};

/// `(fan_in, fan_out)` of a weight: `[out, in, k...]` as PyTorch computes them.
pub fn fans(t: &Tensor) -> (usize, usize) {
    assert!(
        t.ndim() >= 2,
        "fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
    );
    let receptive: usize = t.shape()[2..].iter().product();
    (t.shape()[1] * receptive, t.shape()[0] * receptive)
}

/// Which fan the Kaiming initializers scale by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Preserves the variance of activations in the forward pass.
    FanIn,
    /// Preserves the variance of gradients in the backward pass.
    FanOut,
}

/// `nn.init.calculate_gain(nonlinearity, param)`.
pub fn calculate_gain(nonlinearity: &str, param: Option<f64>) -> f64 {
    match nonlinearity {
        "linear" | "conv1d" | "conv2d" | "sigmoid" | "identity" => 1.0,
        "tanh" => 5.0 / 3.0,
        "relu" => 2f64.sqrt(),
        "leaky_relu" => {
            let a = param.unwrap_or(0.01);
            (2.0 / (1.0 + a * a)).sqrt()
        }
        "selu" => 0.75,
        other => panic!("calculate_gain: unsupported nonlinearity {other}"),
    }
}

fn fill(t: &Tensor, values: Tensor) {
    autograd::no_grad(|| {
        t.detach().copy_(&values.to_dtype(t.dtype()));
    });
}

/// `uniform_(t, a, b)`.
pub fn uniform_(t: &Tensor, a: f64, b: f64) {
    fill(t, tandem_core::uniform(t.shape(), a, b));
}

/// `normal_(t, mean, std)`.
pub fn normal_(t: &Tensor, mean: f64, std: f64) {
    fill(t, tandem_core::normal(t.shape(), mean, std));
}

/// `trunc_normal_(t, mean, std, a, b)`: values from the normal distribution `N(mean, std²)`
/// restricted to `[a, b]` (draws outside are redrawn), as `torch.nn.init.trunc_normal_`.
/// Keras's `TruncatedNormal` and the truncated variance-scaling initializers are this with
/// `a = mean - 2 std`, `b = mean + 2 std`.
///
/// ```
/// use tandem_nn::init::trunc_normal_;
/// let t = tandem_core::zeros(&[1000], tandem_core::DType::Float32);
/// trunc_normal_(&t, 0.0, 1.0, -2.0, 2.0);
/// assert!(t.to_vec::<f32>().iter().all(|v| v.abs() <= 2.0));
/// ```
pub fn trunc_normal_(t: &Tensor, mean: f64, std: f64, a: f64, b: f64) {
    assert!(
        a < b && std > 0.0,
        "trunc_normal_: need a < b and std > 0, got a={a}, b={b}, std={std}"
    );
    let vals: Vec<f64> = tandem_core::with_rng(|r| {
        use rand::Rng;
        (0..t.numel())
            .map(|_| loop {
                // Box-Muller from two uniforms.
                let (u1, u2): (f64, f64) = (r.gen::<f64>().max(1e-300), r.gen());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let x = mean + std * z;
                if (a..=b).contains(&x) {
                    break x;
                }
            })
            .collect()
    });
    fill(t, Tensor::from_vec(vals, t.shape()));
}

/// `constant_(t, value)`.
pub fn constant_(t: &Tensor, value: f64) {
    fill(t, tandem_core::full(t.shape(), value, t.dtype()));
}

/// `zeros_(t)`.
pub fn zeros_(t: &Tensor) {
    constant_(t, 0.0);
}

/// `ones_(t)`.
pub fn ones_(t: &Tensor) {
    constant_(t, 1.0);
}

/// `xavier_uniform_(t, gain)` (Keras's `glorot_uniform`).
pub fn xavier_uniform_(t: &Tensor, gain: f64) {
    let (fi, fo) = fans(t);
    let a = gain * (6.0 / (fi + fo) as f64).sqrt();
    uniform_(t, -a, a);
}

/// `xavier_normal_(t, gain)` (Keras's `glorot_normal` draws from a truncated normal instead).
pub fn xavier_normal_(t: &Tensor, gain: f64) {
    let (fi, fo) = fans(t);
    normal_(t, 0.0, gain * (2.0 / (fi + fo) as f64).sqrt());
}

/// `kaiming_uniform_(t, a, mode, nonlinearity)` (He uniform).
pub fn kaiming_uniform_(t: &Tensor, a: f64, mode: FanMode, nonlinearity: &str) {
    let (fi, fo) = fans(t);
    let fan = if mode == FanMode::FanIn { fi } else { fo };
    let std = calculate_gain(nonlinearity, Some(a)) / (fan as f64).sqrt();
    let bound = 3f64.sqrt() * std;
    uniform_(t, -bound, bound);
}

/// `kaiming_normal_(t, a, mode, nonlinearity)` (He normal).
pub fn kaiming_normal_(t: &Tensor, a: f64, mode: FanMode, nonlinearity: &str) {
    let (fi, fo) = fans(t);
    let fan = if mode == FanMode::FanIn { fi } else { fo };
    normal_(
        t,
        0.0,
        calculate_gain(nonlinearity, Some(a)) / (fan as f64).sqrt(),
    );
}

/// `orthogonal_(t, gain)`: a (semi-)orthogonal matrix from the QR decomposition of a normal one.
pub fn orthogonal_(t: &Tensor, gain: f64) {
    assert!(
        t.ndim() >= 2,
        "only tensors with 2 or more dimensions are supported"
    );
    let rows = t.shape()[0];
    let cols: usize = t.numel() / rows;
    let (r, c) = if rows < cols {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let a = tandem_core::randn(&[r, c]).to_vec::<f64>();
    // modified Gram-Schmidt on the columns of the r x c matrix `a` (r >= c)
    let mut q = a.clone();
    for j in 0..c {
        for k in 0..j {
            let dot: f64 = (0..r).map(|i| q[i * c + j] * q[i * c + k]).sum();
            for i in 0..r {
                q[i * c + j] -= dot * q[i * c + k];
            }
        }
        let norm: f64 = (0..r).map(|i| q[i * c + j].powi(2)).sum::<f64>().sqrt();
        // sign convention of PyTorch (d = sign(diag(R))): R's diagonal is the norm (> 0)
        for i in 0..r {
            q[i * c + j] /= norm;
        }
    }
    let m = Tensor::from_vec(q, &[r, c]);
    let m = if rows < cols { m.t().contiguous() } else { m };
    fill(
        t,
        (&m * gain).reshape(&t.shape().iter().map(|&d| d as isize).collect::<Vec<_>>()),
    );
}
