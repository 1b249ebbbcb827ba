//! Tensor creation: constants, ranges, identity, and seeded random tensors.

use crate::dtype::{Buffer, DType, Element};
use crate::kernels::elementwise;
use crate::tensor::{buffer_from_f64, Tensor};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::cell::RefCell;

thread_local! {
    static RNG: RefCell<rand::rngs::StdRng> = RefCell::new(rand::rngs::StdRng::seed_from_u64(0x007a_6e6d));
}

/// Seeds this thread's generator (`torch.manual_seed`, `tf.random.set_seed`).
pub fn manual_seed(seed: u64) {
    RNG.with(|r| *r.borrow_mut() = rand::rngs::StdRng::seed_from_u64(seed));
}

/// Runs `f` with this thread's generator.
pub fn with_rng<R>(f: impl FnOnce(&mut rand::rngs::StdRng) -> R) -> R {
    RNG.with(|r| f(&mut r.borrow_mut()))
}

/// A tensor of `shape` filled with `value` converted to `dtype` (`torch.full`).
pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
    let n: usize = shape.iter().product();
    let buffer = match dtype {
        DType::Float32 => Buffer::F32(elementwise::filled(n, value as f32)),
        DType::Float64 => Buffer::F64(elementwise::filled(n, value)),
        _ => buffer_from_f64(std::iter::repeat_n(value, n), dtype),
    };
    Tensor::from_buffer(buffer, shape)
}

/// Zeros (`torch.zeros`).
pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
    full(shape, 0.0, dtype)
}

/// Ones (`torch.ones`).
pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
    full(shape, 1.0, dtype)
}

/// Zeros shaped and typed like `t`.
pub fn zeros_like(t: &Tensor) -> Tensor {
    zeros(t.shape(), t.dtype())
}

/// Ones shaped and typed like `t`.
pub fn ones_like(t: &Tensor) -> Tensor {
    ones(t.shape(), t.dtype())
}

/// `value` everywhere, shaped and typed like `t`.
pub fn full_like(t: &Tensor, value: f64) -> Tensor {
    full(t.shape(), value, t.dtype())
}

/// `[start, start+step, ...)` below `end` (`torch.arange`); int64 when all arguments are whole
/// numbers, else float32.
pub fn arange(start: f64, end: f64, step: f64) -> Tensor {
    assert!(step != 0.0, "arange: step must be nonzero");
    let n = ((end - start) / step).ceil().max(0.0) as usize;
    let whole = start.fract() == 0.0 && step.fract() == 0.0 && end.fract() == 0.0;
    let dtype = if whole { DType::Int64 } else { DType::Float32 };
    Tensor::from_buffer(
        buffer_from_f64((0..n).map(|i| start + i as f64 * step), dtype),
        &[n],
    )
}

/// `steps` evenly spaced float32 values from `start` to `end` inclusive (`torch.linspace`).
pub fn linspace(start: f64, end: f64, steps: usize) -> Tensor {
    let step = if steps > 1 {
        (end - start) / (steps - 1) as f64
    } else {
        0.0
    };
    Tensor::from_buffer(
        buffer_from_f64((0..steps).map(|i| start + i as f64 * step), DType::Float32),
        &[steps],
    )
}

/// The `n x n` identity (`torch.eye`).
pub fn eye(n: usize, dtype: DType) -> Tensor {
    Tensor::from_buffer(
        buffer_from_f64(
            (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }),
            dtype,
        ),
        &[n, n],
    )
}

fn random(
    shape: &[usize],
    dtype: DType,
    mut sample: impl FnMut(&mut rand::rngs::StdRng) -> f64,
) -> Tensor {
    let n: usize = shape.iter().product();
    let vals: Vec<f64> = with_rng(|r| (0..n).map(|_| sample(r)).collect());
    Tensor::from_buffer(buffer_from_f64(vals.into_iter(), dtype), shape)
}

/// Uniform on `[0, 1)` (`torch.rand`).
pub fn rand(shape: &[usize]) -> Tensor {
    uniform(shape, 0.0, 1.0)
}

/// Uniform on `[low, high)` (`tf.random.uniform`, `nn.init.uniform_`).
pub fn uniform(shape: &[usize], low: f64, high: f64) -> Tensor {
    let n: usize = shape.iter().product();
    let vals: Vec<f32> = with_rng(|r| {
        (0..n)
            .map(|_| r.gen_range(low as f32..high as f32))
            .collect()
    });
    Tensor::from_vec(vals, shape)
}

/// Standard normal (`torch.randn`).
pub fn randn(shape: &[usize]) -> Tensor {
    normal(shape, 0.0, 1.0)
}

/// Normal with the given mean and standard deviation (`tf.random.normal`).
pub fn normal(shape: &[usize], mean: f64, std: f64) -> Tensor {
    let n: usize = shape.iter().product();
    let vals: Vec<f32> = with_rng(|r| {
        (0..n)
            .map(|_| {
                let z: f32 = StandardNormal.sample(r);
                mean as f32 + std as f32 * z
            })
            .collect()
    });
    Tensor::from_vec(vals, shape)
}

/// Integers uniform on `[low, high)` as int64 (`torch.randint`).
pub fn randint(low: i64, high: i64, shape: &[usize]) -> Tensor {
    assert!(
        low < high,
        "randint: low ({low}) must be below high ({high})"
    );
    random(shape, DType::Int64, |r| r.gen_range(low..high) as f64)
}

/// Draws `num_samples` category indices from the non-negative `weights` (1-D, or one row
/// per draw set of a 2-D tensor), as int64 (`torch.multinomial`): with `replacement` every
/// draw uses all weights, without it each category is drawn at most once. Uses the seeded
/// generator (`manual_seed`).
///
/// ```
/// tandem_core::manual_seed(0);
/// let w = tandem_core::Tensor::from_vec(vec![0.0f32, 0.0, 5.0, 0.0], &[4]);
/// assert_eq!(tandem_core::multinomial(&w, 3, true).to_vec::<i64>(), [2, 2, 2]);
/// let rows = tandem_core::Tensor::from_vec(vec![1.0f32, 1.0, 1.0, 0.0, 0.0, 1.0], &[2, 3]);
/// let d = tandem_core::multinomial(&rows, 1, false).to_vec::<i64>();
/// assert!(d[0] < 3 && d[1] == 2);
/// let mut all = tandem_core::multinomial(&rows.narrow(0, 0, 1), 3, false).to_vec::<i64>();
/// all.sort();
/// assert_eq!(all, [0, 1, 2]); // without replacement: each category once
/// ```
pub fn multinomial(weights: &Tensor, num_samples: usize, replacement: bool) -> Tensor {
    use rand::distributions::WeightedIndex;
    assert!(
        (1..=2).contains(&weights.ndim()),
        "multinomial: prob_dist must be 1 or 2 dim, got shape {:?}",
        weights.shape()
    );
    let cats = *weights.shape().last().expect("1-D or 2-D");
    let rows: Vec<Vec<f64>> = weights
        .detach()
        .to_dtype(DType::Float64)
        .reshape(&[-1, cats as isize])
        .to_vec::<f64>()
        .chunks(cats.max(1))
        .map(<[f64]>::to_vec)
        .collect();
    let mut out = Vec::with_capacity(rows.len() * num_samples);
    with_rng(|r| {
        for (i, mut w) in rows.into_iter().enumerate() {
            assert!(
                w.iter().all(|v| v.is_finite() && *v >= 0.0),
                "multinomial: row {i} has negative, infinite or NaN weights"
            );
            let positive = w.iter().filter(|v| **v > 0.0).count();
            assert!(
                replacement || num_samples <= positive,
                "multinomial: cannot draw {num_samples} samples without replacement from {positive} categories with nonzero weight (row {i})"
            );
            for _ in 0..num_samples {
                let dist = WeightedIndex::new(&w)
                    .unwrap_or_else(|_| panic!("multinomial: row {i} has no positive weight"));
                let k = dist.sample(r);
                out.push(k as i64);
                if !replacement {
                    w[k] = 0.0;
                }
            }
        }
    });
    let mut shape = weights.shape()[..weights.ndim() - 1].to_vec();
    shape.push(num_samples);
    Tensor::from_vec(out, &shape)
}

impl Tensor {
    /// `x.multinomial(num_samples, replacement)`: see [`multinomial`].
    pub fn multinomial(&self, num_samples: usize, replacement: bool) -> Tensor {
        multinomial(self, num_samples, replacement)
    }
}

/// A random permutation of `0..n` as int64 (`torch.randperm`).
pub fn randperm(n: usize) -> Tensor {
    let mut idx: Vec<i64> = (0..n as i64).collect();
    with_rng(|r| {
        use rand::seq::SliceRandom;
        idx.shuffle(r)
    });
    Tensor::from_vec(idx, &[n])
}

impl Tensor {
    /// Fills a new tensor of this one's shape and dtype from a function of the flat index.
    pub fn from_fn<T: Element>(shape: &[usize], f: impl Fn(usize) -> T) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(f).collect(), shape)
    }
}

#[cfg(test)]
mod multinomial_tests {
    #[test]
    fn draws_follow_the_weights() {
        crate::manual_seed(11);
        let w = crate::Tensor::from_vec(vec![1.0f32, 3.0], &[2]);
        let n = 20_000;
        let ones = super::multinomial(&w, n, true)
            .to_vec::<i64>()
            .iter()
            .filter(|&&k| k == 1)
            .count();
        // Binomial(20000, 0.75): standard deviation 61 draws; allow five.
        let p = ones as f64 / n as f64;
        assert!(
            (p - 0.75).abs() < 5.0 * (0.75f64 * 0.25 / n as f64).sqrt(),
            "{p}"
        );
    }

    #[test]
    #[should_panic(expected = "without replacement from 1 categories")]
    fn too_many_draws_without_replacement_panic() {
        let w = crate::Tensor::from_vec(vec![0.0f32, 2.0], &[2]);
        super::multinomial(&w, 2, false);
    }
}
