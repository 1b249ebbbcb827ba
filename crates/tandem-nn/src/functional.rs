//! `torch.nn.functional`: activations, dropout, linear, and the losses as functions.

use tandem_core::{autograd, DType, Tensor};

/// How a loss reduces over the batch (`reduction='mean'|'sum'|'none'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Average over elements (the default).
    #[default]
    Mean,
    /// Sum over elements.
    Sum,
    /// One loss per element.
    None,
}

pub(crate) fn reduce(loss: Tensor, reduction: Reduction) -> Tensor {
    match reduction {
        Reduction::Mean => loss.mean(),
        Reduction::Sum => loss.sum(),
        Reduction::None => loss,
    }
}

/// `F.relu(x)`.
pub fn relu(x: &Tensor) -> Tensor {
    x.relu()
}

/// `F.max_pool2d(x, 2)`, or with every option `F.max_pool2d(x, Pool2dArgs { .. })`, over
/// `[N, C, H, W]`.
pub fn max_pool2d(x: &Tensor, args: impl Into<Pool2dArgs>) -> Tensor {
    tandem_core::ops::pool::max_pool2d(x, args.into())
}

/// `F.avg_pool2d(x, kernel, count_include_pad=...)`.
pub fn avg_pool2d(x: &Tensor, args: impl Into<Pool2dArgs>, count_include_pad: bool) -> Tensor {
    tandem_core::ops::pool::avg_pool2d(x, args.into(), count_include_pad)
}

/// `F.leaky_relu(x, negative_slope)`.
pub fn leaky_relu(x: &Tensor, negative_slope: f64) -> Tensor {
    Tensor::where_(&x.gt(0.0), x, &(x * negative_slope))
}

/// `F.elu(x, alpha)`.
pub fn elu(x: &Tensor, alpha: f64) -> Tensor {
    Tensor::where_(&x.gt(0.0), x, &(&x.expm1() * alpha))
}

/// `F.selu(x)`: scaled ELU with the self-normalizing constants.
pub fn selu(x: &Tensor) -> Tensor {
    const ALPHA: f64 = 1.673_263_242_354_377_3;
    const SCALE: f64 = 1.050_700_987_355_480_5;
    &elu(x, ALPHA) * SCALE
}

/// `F.gelu(x)` with the exact Gaussian CDF (`approximate='none'`), or the tanh approximation.
pub fn gelu(x: &Tensor, tanh_approximation: bool) -> Tensor {
    if tanh_approximation {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let inner = &(x + &(&x.pow(3) * 0.044715)) * c;
        return &(x * 0.5) * &(1.0 + &inner.tanh());
    }
    x.gelu()
}

/// `torch.sigmoid(x)`.
pub fn sigmoid(x: &Tensor) -> Tensor {
    x.sigmoid()
}

/// `torch.tanh(x)`.
pub fn tanh(x: &Tensor) -> Tensor {
    x.tanh()
}

/// `F.softmax(x, dim)`.
pub fn softmax(x: &Tensor, dim: isize) -> Tensor {
    x.softmax(dim)
}

/// `F.log_softmax(x, dim)`.
pub fn log_softmax(x: &Tensor, dim: isize) -> Tensor {
    x.log_softmax(dim)
}

/// `F.dropout(x, p, training)`: zeroes elements with probability `p` and scales the rest by
/// `1 / (1 - p)` in training; the identity otherwise.
pub fn dropout(x: &Tensor, p: f64, training: bool) -> Tensor {
    assert!(
        (0.0..=1.0).contains(&p),
        "dropout probability has to be between 0 and 1, but got {p}"
    );
    if !training || p == 0.0 {
        return x.clone();
    }
    if p == 1.0 {
        return x * 0.0;
    }
    let keep = tandem_core::rand(x.shape()).ge(p).to_dtype(x.dtype());
    &(x * &keep) * (1.0 / (1.0 - p))
}

/// `F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale)`:
/// `softmax(q @ k^T * scale + mask) @ v` as one fused op with its own backward, the full
/// `L x S` matrix never stored (see [`tandem_core::ops::attention`]). A boolean mask marks the
/// keys that take part (`true`), a float mask is added; `is_causal` lets each query see only
/// keys up to its own position. As in PyTorch, `dropout_p > 0` always drops (pass 0 in
/// evaluation); then the probabilities are formed explicitly.
///
/// ```
/// use tandem_nn::functional as F;
/// let q = tandem_core::randn(&[2, 4, 16, 8]);
/// let y = F::scaled_dot_product_attention(&q, &q, &q, None, 0.0, true, None);
/// assert_eq!(y.shape(), &[2, 4, 16, 8]);
/// ```
pub fn scaled_dot_product_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    attn_mask: Option<&Tensor>,
    dropout_p: f64,
    is_causal: bool,
    scale: Option<f64>,
) -> Tensor {
    if dropout_p > 0.0 {
        let scale = scale.unwrap_or(1.0 / (q.shape()[q.ndim() - 1] as f64).sqrt());
        let p = tandem_core::ops::attention::attention_probs(q, k, attn_mask, is_causal, scale);
        return dropout(&p, dropout_p, true).matmul(v);
    }
    tandem_core::ops::attention::scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale)
}

/// `F.layer_norm(x, normalized_shape, weight, bias, eps)`, one fused op forward and backward.
pub fn layer_norm(
    x: &Tensor,
    normalized_shape: &[usize],
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> Tensor {
    x.layer_norm(normalized_shape, weight, bias, eps)
}

/// `F.one_hot(labels, num_classes)`: int64 `[..., num_classes]` with a 1 at each label.
///
/// ```
/// let y = tandem_nn::functional::one_hot(&tandem_core::Tensor::from_vec(vec![2i64, 0], &[2]), 3);
/// assert_eq!(y.to_vec::<i64>(), [0, 0, 1, 1, 0, 0]);
/// ```
pub fn one_hot(labels: &Tensor, num_classes: usize) -> Tensor {
    labels.one_hot(num_classes)
}

/// `F.linear(x, weight, bias)`: `x @ weight^T + bias`, the transpose read through strides.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
    if x.ndim() > 2 {
        // One product over all leading rows (a view when they are contiguous), not one per
        // batch entry; the weight's gradient is then one product too, with no batch sum.
        let rows = x.reshape(&[-1, x.shape()[x.ndim() - 1] as isize]);
        let y = linear(&rows, weight, bias);
        let mut shape: Vec<isize> = x.shape()[..x.ndim() - 1]
            .iter()
            .map(|&d| d as isize)
            .collect();
        shape.push(weight.shape()[0] as isize);
        return y.reshape(&shape);
    }
    match bias {
        // The product accumulates onto the broadcast bias, as `torch.addmm` does.
        Some(b) if x.ndim() == 2 => b.addmm(x, &weight.t(), 1.0, 1.0),
        Some(b) => &x.matmul(&weight.t()) + b,
        None => x.matmul(&weight.t()),
    }
}

/// `F.mse_loss(input, target)`.
pub fn mse_loss(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    reduce((input - target).square(), reduction)
}

/// `F.l1_loss(input, target)`.
pub fn l1_loss(input: &Tensor, target: &Tensor, reduction: Reduction) -> Tensor {
    reduce((input - target).abs(), reduction)
}

/// `F.huber_loss(input, target, delta)`.
pub fn huber_loss(input: &Tensor, target: &Tensor, delta: f64, reduction: Reduction) -> Tensor {
    let d = (input - target).abs();
    let quad = &d.square() * 0.5;
    let lin = &(&d - 0.5 * delta) * delta;
    reduce(Tensor::where_(&d.lt(delta), &quad, &lin), reduction)
}

/// `F.smooth_l1_loss(input, target, beta)`.
pub fn smooth_l1_loss(input: &Tensor, target: &Tensor, beta: f64, reduction: Reduction) -> Tensor {
    let d = (input - target).abs();
    if beta == 0.0 {
        return reduce(d, reduction);
    }
    let quad = &d.square() * (0.5 / beta);
    let lin = &d - 0.5 * beta;
    reduce(Tensor::where_(&d.lt(beta), &quad, &lin), reduction)
}

/// `F.binary_cross_entropy(p, y)`, with PyTorch's clamp of the logs at -100.
pub fn binary_cross_entropy(
    p: &Tensor,
    y: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
) -> Tensor {
    let lp = p.log().clamp(Some(-100.0), None);
    let l1p = (1.0 - p).log().clamp(Some(-100.0), None);
    let mut loss = -(&(y * &lp) + &(&(1.0 - y) * &l1p));
    if let Some(w) = weight {
        loss = &loss * w;
    }
    reduce(loss, reduction)
}

/// `F.binary_cross_entropy_with_logits(x, y)`, computed stably from the logits.
pub fn binary_cross_entropy_with_logits(
    x: &Tensor,
    y: &Tensor,
    pos_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Tensor {
    // log(1 + e^-|x|) + max(x, 0) - x*y, and with pos_weight p: (1 + (p-1) y) * softplus(-x) + (1-y) x
    let softplus_neg = &(-&x.abs()).exp().log1p() + &(-x).relu();
    let loss = match pos_weight {
        None => &(&softplus_neg + x) - &(x * y),
        Some(pw) => {
            let coef = 1.0 + &(&(pw - 1.0) * y);
            &(&coef * &softplus_neg) + &(&(1.0 - y) * x)
        }
    };
    reduce(loss, reduction)
}

/// Options of [`cross_entropy`] and [`nll_loss`] (`torch.nn.CrossEntropyLoss`'s arguments).
#[derive(Clone, Debug)]
pub struct CrossEntropyOptions {
    /// A weight per class.
    pub weight: Option<Tensor>,
    /// Targets equal to this are ignored (default -100).
    pub ignore_index: i64,
    /// Label smoothing in [0, 1].
    pub label_smoothing: f64,
    /// Reduction over the batch.
    pub reduction: Reduction,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions {
            weight: None,
            ignore_index: -100,
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
        }
    }
}

/// `F.nll_loss(log_probs [N, C], target [N])`.
pub fn nll_loss(log_probs: &Tensor, target: &Tensor, opts: &CrossEntropyOptions) -> Tensor {
    assert_eq!(
        log_probs.ndim(),
        2,
        "nll_loss: expected input of shape [N, C], got {:?}",
        log_probs.shape()
    );
    let c = log_probs.shape()[1] as i64;
    let t = target.to_dtype(DType::Int64);
    let valid = t.ne(opts.ignore_index);
    let safe_t = t.masked_fill(&valid.logical_not(), 0.0);
    for v in safe_t.to_vec::<i64>() {
        assert!(
            (0..c).contains(&v),
            "nll_loss: target {v} is out of bounds for {c} classes"
        );
    }
    let picked = log_probs.gather(1, &safe_t.unsqueeze(1)).squeeze(Some(1));
    let w = match &opts.weight {
        Some(w) => w.index_select(0, &safe_t),
        None => tandem_core::ones(&[t.numel()], log_probs.dtype()),
    };
    let w = &w * &valid.to_dtype(log_probs.dtype());
    let loss = -(&picked * &w);
    match opts.reduction {
        Reduction::Mean => &loss.sum() / &w.sum(),
        r => reduce(loss, r),
    }
}

/// `F.cross_entropy(logits [N, C], target)`: log-softmax and NLL in one step. `target` holds
/// class indices (int64, `[N]`) or class probabilities (float, `[N, C]`).
pub fn cross_entropy(logits: &Tensor, target: &Tensor, opts: &CrossEntropyOptions) -> Tensor {
    assert_eq!(
        logits.ndim(),
        2,
        "cross_entropy: expected logits of shape [N, C], got {:?}",
        logits.shape()
    );
    let (n, c) = (logits.shape()[0], logits.shape()[1]);
    if target.dtype().is_float() {
        assert_eq!(
            target.shape(),
            logits.shape(),
            "cross_entropy: probability targets must have the logits' shape"
        );
        let logp = logits.log_softmax(1);
        let mut t = target.clone();
        if opts.label_smoothing > 0.0 {
            t = &(&t * (1.0 - opts.label_smoothing)) + opts.label_smoothing / c as f64;
        }
        let mut terms = &t * &logp;
        if let Some(w) = &opts.weight {
            terms = &terms * w;
        }
        let loss = -terms.sum_dims(&[1], false);
        return reduce(loss, opts.reduction);
    }
    let plain =
        opts.weight.is_none() && opts.label_smoothing == 0.0 && opts.reduction == Reduction::Mean;
    if plain && !target.to_vec::<i64>().contains(&opts.ignore_index) {
        return fused_cross_entropy(logits, target, n, c);
    }
    let logp = logits.log_softmax(1);
    let nll = nll_loss(&logp, target, opts);
    if opts.label_smoothing == 0.0 {
        return nll;
    }
    // smoothing: (1 - e) * nll + e * mean over classes of -logp (weighted), as PyTorch
    let eps = opts.label_smoothing;
    let t = target.to_dtype(DType::Int64);
    let valid = t.ne(opts.ignore_index).to_dtype(logp.dtype());
    let per_class = match &opts.weight {
        Some(w) => &logp * w,
        None => logp.clone(),
    };
    let smooth = -&(&per_class.sum_dims(&[1], false) * &valid);
    let smooth = match opts.reduction {
        Reduction::Mean => match &opts.weight {
            Some(w) => {
                let safe_t = t.masked_fill(&t.eq(opts.ignore_index), 0.0);
                &smooth.sum() / &(&w.index_select(0, &safe_t) * &valid).sum()
            }
            None => &smooth.sum() / &valid.sum(),
        },
        r => reduce(smooth, r),
    };
    &(&nll * (1.0 - eps)) + &(&smooth * (eps / c as f64))
}

/// Mean cross-entropy of class-index targets in one pass: the gradient is
/// `(softmax(logits) - one_hot(target)) / N`, computed directly from the saved log-softmax.
fn fused_cross_entropy(logits: &Tensor, target: &Tensor, n: usize, c: usize) -> Tensor {
    let logp = logits.detach().log_softmax(1);
    let t = target.to_vec::<i64>();
    assert_eq!(
        t.len(),
        n,
        "cross_entropy: expected {n} targets, got {}",
        t.len()
    );
    let lp = logp.to_vec::<f64>();
    let mut total = 0.0;
    for (i, &ti) in t.iter().enumerate() {
        assert!(
            (0..c as i64).contains(&ti),
            "cross_entropy: target {ti} is out of bounds for {c} classes"
        );
        total -= lp[i * c + ti as usize];
    }
    let out = Tensor::from_vec(vec![total / n as f64], &[]).to_dtype(logits.dtype());
    let saved = logits.clone();
    autograd::record_op(out, "NllLossBackward0", &[logits], move |g, _| {
        let onehot = || {
            Tensor::from_vec(t.clone(), &[n])
                .one_hot(c)
                .to_dtype(g.dtype())
        };
        if autograd::is_grad_enabled() {
            // building a higher-order graph: the same formula in differentiable ops
            let d = &saved.softmax(1) - &onehot();
            return vec![Some(&d * &(g / n as f64))];
        }
        let scale = g.to_dtype(DType::Float64).item::<f64>() / n as f64;
        let mut d = logp.exp().to_vec::<f64>();
        for (i, &ti) in t.iter().enumerate() {
            d[i * c + ti as usize] -= 1.0;
        }
        d.iter_mut().for_each(|v| *v *= scale);
        vec![Some(Tensor::from_vec(d, &[n, c]).to_dtype(g.dtype()))]
    })
}

pub use crate::activations::{hardswish, mish, silu, softplus};
pub use crate::resample::{conv_transpose2d, interpolate, pixel_shuffle, InterpolationMode};
pub use tandem_core::ops::conv::{conv1d, conv2d, Conv2dArgs};
pub use tandem_core::ops::pool::{adaptive_avg_pool2d, Pool2dArgs};

/// How [`batch_norm_with`] normalizes: over which axis the channels lie and how the running
/// statistics are updated. The default is PyTorch's `nn.BatchNorm*d`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    /// The channel axis (PyTorch: 1; Keras: -1, the last).
    pub axis: isize,
    /// Normalize with the batch's statistics and update the running ones (else use them).
    pub training: bool,
    /// Weight of the batch in the update `running = (1 - momentum) running + momentum batch`
    /// (PyTorch's convention; Keras's `momentum` m is `1 - m` here).
    pub momentum: f64,
    /// Added to the variance.
    pub eps: f64,
    /// Whether the running variance is updated with the unbiased batch variance (PyTorch)
    /// rather than the biased one (Keras).
    pub unbiased_running_var: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            axis: 1,
            training: true,
            momentum: 0.1,
            eps: 1e-5,
            unbiased_running_var: true,
        }
    }
}

/// `torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias, training,
/// momentum, eps)` over channels on dimension 1 (`[N, C]`, `[N, C, L]` or `[N, C, H, W]`): in
/// training, normalizes with the batch's biased statistics over every other dimension and
/// updates the running averages (`(1 - momentum) * running + momentum * batch`, unbiased
/// variance); otherwise uses the running statistics.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm(
    x: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    training: bool,
    momentum: f64,
    eps: f64,
) -> Tensor {
    let config = BatchNormConfig {
        training,
        momentum,
        eps,
        ..BatchNormConfig::default()
    };
    batch_norm_with(x, running_mean, running_var, weight, bias, &config)
}

/// Batch normalization over the channel axis `config.axis`: the one implementation behind
/// PyTorch's `BatchNorm*d` and Keras's `BatchNormalization`.
///
/// ```
/// use tandem_nn::functional::{batch_norm_with, BatchNormConfig};
/// use tandem_core::{ones, zeros, DType, Tensor};
/// let x = Tensor::new([[1.0f32, 10.0], [3.0, 30.0]]); // channels last
/// let (rm, rv) = (zeros(&[2], DType::Float32), ones(&[2], DType::Float32));
/// let (w, b) = (ones(&[2], DType::Float32), zeros(&[2], DType::Float32));
/// let config = BatchNormConfig { axis: -1, eps: 0.0, ..BatchNormConfig::default() };
/// let y = batch_norm_with(&x, &rm, &rv, &w, &b, &config);
/// assert_eq!(y.to_vec::<f32>(), vec![-1.0, -1.0, 1.0, 1.0]);
/// ```
pub fn batch_norm_with(
    x: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    config: &BatchNormConfig,
) -> Tensor {
    assert!(
        x.ndim() >= 2,
        "batch_norm: expected a batch with a channel axis, got {:?}",
        x.shape()
    );
    let axis = if config.axis < 0 {
        config.axis + x.ndim() as isize
    } else {
        config.axis
    };
    assert!(
        (0..x.ndim() as isize).contains(&axis),
        "batch_norm: channel axis {} out of range for {:?}",
        config.axis,
        x.shape()
    );
    let c = x.shape()[axis as usize] as isize;
    let mut stat_shape = vec![1isize; x.ndim()];
    stat_shape[axis as usize] = c;
    let per_channel = |t: &Tensor| t.reshape(&stat_shape);
    let (mean, var) = if config.training {
        let dims: Vec<isize> = (0..x.ndim() as isize).filter(|&d| d != axis).collect();
        let mean = x.mean_dims(&dims, true);
        let var = x.var_dims(&dims, 0, true);
        let n = (x.numel() / c as usize) as f64;
        let momentum = config.momentum;
        tandem_core::autograd::no_grad(|| {
            let flat = |t: &Tensor| t.detach().reshape(&[c]);
            let batch_var = if config.unbiased_running_var {
                &flat(&var) * (n / (n - 1.0).max(1.0))
            } else {
                flat(&var)
            };
            running_mean.copy_(&(&(running_mean * (1.0 - momentum)) + &(&flat(&mean) * momentum)));
            running_var.copy_(&(&(running_var * (1.0 - momentum)) + &(&batch_var * momentum)));
        });
        (mean, var)
    } else {
        (per_channel(running_mean), per_channel(running_var))
    };
    let xhat = &(x - &mean) / &(&var + config.eps).sqrt();
    &(&xhat * &per_channel(weight)) + &per_channel(bias)
}
