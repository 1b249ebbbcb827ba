//! The TensorFlow idiom: `tf::constant`, `tf::Variable`, `tf::GradientTape`, `tf::math`,
//! `tf::reduce_mean`, ... over tandem's one engine. A tensor made here is the same
//! [`Tensor`] the torch idiom uses.
//!
//! ```
//! use tandem::tf;
//! let x = tf::constant([4.0, -5.0]);
//! assert_eq!(tf::math::negative(&x).to_tf_string(), "tf.Tensor([-4.  5.], shape=(2,), dtype=float32)");
//! ```
#![allow(non_upper_case_globals)]

pub use crate::Axes;
pub use tandem_core::autograd::{custom_gradient, GradientTape, UnconnectedGradients};
pub use tandem_core::{DType, IntoTensor, Operand, Tensor};

/// `tf.float32`.
pub const float32: DType = DType::Float32;
/// `tf.float64`.
pub const float64: DType = DType::Float64;
/// `tf.int64`.
pub const int64: DType = DType::Int64;
/// `tf.int32`.
pub const int32: DType = DType::Int32;
/// `tf.uint8`.
pub const uint8: DType = DType::UInt8;
/// `tf.bool`.
pub const bool: DType = DType::Bool;

/// `tf.constant(value)`: Rust floats become float32 and integers int64 (use
/// [`constant_with`] for TensorFlow's int32 default).
pub fn constant(value: impl IntoTensor) -> Tensor {
    Tensor::new(value)
}

/// `tf.constant(value, dtype)`, as the seed's `tf.constant(3.0, tf.float32)`.
pub fn constant_with(value: impl IntoTensor, dtype: DType) -> Tensor {
    Tensor::new_with_dtype(value, dtype)
}

/// `tf.Variable`: a trainable tensor that tapes watch and `assign_sub` updates in place.
///
/// `Variable::new` returns a [`Tensor`] marked as a variable, so it is used in arithmetic like
/// any tensor.
pub struct Variable;

impl Variable {
    /// `tf.Variable(2.9)`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(init: impl IntoTensor) -> Tensor {
        Tensor::variable(init)
    }

    /// `tf.Variable(init, name=...)`.
    pub fn with_name(init: impl IntoTensor, name: &str) -> Tensor {
        let v = Tensor::variable(init);
        v.set_name(name);
        v
    }

    /// `tf.Variable(init, trainable=False)`: not watched by tapes.
    pub fn non_trainable(init: impl IntoTensor) -> Tensor {
        let v = Tensor::variable(init);
        v.set_trainable(false);
        v
    }
}

/// `tf.cast(x, dtype)`.
pub fn cast(x: &Tensor, dtype: DType) -> Tensor {
    x.to_dtype(dtype)
}

/// `tf.stop_gradient(x)`.
pub fn stop_gradient(x: &Tensor) -> Tensor {
    x.detach()
}

/// `tf.zeros(shape)` (float32).
pub fn zeros(shape: &[usize]) -> Tensor {
    tandem_core::zeros(shape, DType::Float32)
}

/// `tf.ones(shape)` (float32).
pub fn ones(shape: &[usize]) -> Tensor {
    tandem_core::ones(shape, DType::Float32)
}

/// `tf.config`.
pub mod config {
    /// `tf.config.experimental`.
    pub mod experimental {
        /// `tf.config.experimental.enable_op_determinism()`: training becomes bitwise
        /// reproducible across runs and thread counts (see
        /// `tandem_core::use_deterministic_algorithms`).
        ///
        /// ```
        /// tandem::tf::config::experimental::enable_op_determinism();
        /// assert!(tandem::torch::are_deterministic_algorithms_enabled());
        /// ```
        pub fn enable_op_determinism() {
            tandem_core::use_deterministic_algorithms(true)
        }
    }
}

/// `tf.random`.
pub mod random {
    use super::Tensor;

    /// `tf.random.set_seed(seed)`.
    pub fn set_seed(seed: u64) {
        tandem_core::manual_seed(seed)
    }

    /// `tf.random.normal(shape, mean, stddev)`.
    pub fn normal(shape: &[usize], mean: f64, stddev: f64) -> Tensor {
        tandem_core::normal(shape, mean, stddev)
    }

    /// `tf.random.uniform(shape, minval, maxval)`.
    pub fn uniform(shape: &[usize], minval: f64, maxval: f64) -> Tensor {
        tandem_core::uniform(shape, minval, maxval)
    }
}

/// `tf.math`: every function of the seed, with TensorFlow's names.
pub mod math {
    use super::{Axes, Operand, Tensor};

    /// `tf.math.add(x, y)`
    pub fn add(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.add(y)
    }

    /// `tf.math.subtract(x, y)`
    pub fn subtract(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.sub(y)
    }

    /// `tf.math.multiply(x, y)`
    pub fn multiply(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.mul(y)
    }

    /// `tf.math.divide(x, y)`
    pub fn divide(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.div(y)
    }

    /// `tf.math.pow(x, y)`
    pub fn pow(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.pow(y)
    }

    /// `tf.math.maximum(x, y)`
    pub fn maximum(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.maximum(y)
    }

    /// `tf.math.minimum(x, y)`
    pub fn minimum(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.minimum(y)
    }

    /// `tf.math.equal(x, y)`
    pub fn equal(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.eq(y)
    }

    /// `tf.math.not_equal(x, y)`
    pub fn not_equal(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.ne(y)
    }

    /// `tf.math.less(x, y)`
    pub fn less(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.lt(y)
    }

    /// `tf.math.less_equal(x, y)`
    pub fn less_equal(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.le(y)
    }

    /// `tf.math.greater(x, y)`
    pub fn greater(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.gt(y)
    }

    /// `tf.math.greater_equal(x, y)`
    pub fn greater_equal(x: &Tensor, y: impl Into<Operand>) -> Tensor {
        x.ge(y)
    }

    /// `tf.math.negative(x)` (PyTorch's `neg`).
    pub fn negative(x: &Tensor) -> Tensor {
        x.neg()
    }

    /// `tf.math.abs(x)`.
    pub fn abs(x: &Tensor) -> Tensor {
        x.abs()
    }

    /// `tf.math.sign(x)`.
    pub fn sign(x: &Tensor) -> Tensor {
        x.sign()
    }

    /// `tf.math.round(x)` (half to even).
    pub fn round(x: &Tensor) -> Tensor {
        x.round()
    }

    /// `tf.math.ceil(x)`.
    pub fn ceil(x: &Tensor) -> Tensor {
        x.ceil()
    }

    /// `tf.math.floor(x)`.
    pub fn floor(x: &Tensor) -> Tensor {
        x.floor()
    }

    /// `tf.math.square(x)`.
    pub fn square(x: &Tensor) -> Tensor {
        x.square()
    }

    /// `tf.math.sqrt(x)`.
    pub fn sqrt(x: &Tensor) -> Tensor {
        x.sqrt()
    }

    /// `tf.math.rsqrt(x)`.
    pub fn rsqrt(x: &Tensor) -> Tensor {
        x.rsqrt()
    }

    /// `tf.math.reciprocal(x)`.
    pub fn reciprocal(x: &Tensor) -> Tensor {
        x.reciprocal()
    }

    /// `tf.math.log(x)`.
    pub fn log(x: &Tensor) -> Tensor {
        x.log()
    }

    /// `tf.math.log1p(x)`.
    pub fn log1p(x: &Tensor) -> Tensor {
        x.log1p()
    }

    /// `tf.math.exp(x)`.
    pub fn exp(x: &Tensor) -> Tensor {
        x.exp()
    }

    /// `tf.math.expm1(x)`.
    pub fn expm1(x: &Tensor) -> Tensor {
        x.expm1()
    }

    /// `tf.math.sin(x)`.
    pub fn sin(x: &Tensor) -> Tensor {
        x.sin()
    }

    /// `tf.math.cos(x)`.
    pub fn cos(x: &Tensor) -> Tensor {
        x.cos()
    }

    /// `tf.math.tanh(x)`.
    pub fn tanh(x: &Tensor) -> Tensor {
        x.tanh()
    }

    /// `tf.math.sigmoid(x)`.
    pub fn sigmoid(x: &Tensor) -> Tensor {
        x.sigmoid()
    }

    /// `tf.math.is_nan(x)`.
    pub fn is_nan(x: &Tensor) -> Tensor {
        x.isnan()
    }

    /// `tf.math.is_finite(x)`.
    pub fn is_finite(x: &Tensor) -> Tensor {
        x.isfinite()
    }

    /// `tf.math.logical_not(x)`.
    pub fn logical_not(x: &Tensor) -> Tensor {
        x.logical_not()
    }

    /// `tf.math.cumsum(x, axis)`.
    pub fn cumsum(x: &Tensor, axis: isize) -> Tensor {
        x.cumsum(axis)
    }

    /// `tf.math.cumprod(x, axis)`.
    pub fn cumprod(x: &Tensor, axis: isize) -> Tensor {
        x.cumprod(axis)
    }

    /// `tf.math.reduce_sum(x)` over all elements.
    pub fn reduce_sum(x: &Tensor) -> Tensor {
        x.sum()
    }

    /// `tf.math.reduce_mean(x)` over all elements.
    pub fn reduce_mean(x: &Tensor) -> Tensor {
        x.mean()
    }

    /// `tf.math.reduce_max(x)` over all elements.
    pub fn reduce_max(x: &Tensor) -> Tensor {
        x.max()
    }

    /// `tf.math.reduce_min(x)` over all elements.
    pub fn reduce_min(x: &Tensor) -> Tensor {
        x.min()
    }

    /// `tf.math.reduce_prod(x)` over all elements.
    pub fn reduce_prod(x: &Tensor) -> Tensor {
        x.prod()
    }

    /// `tf.math.reduce_variance(x)` (biased, as TensorFlow's).
    pub fn reduce_variance(x: &Tensor) -> Tensor {
        x.var_dims(&[], 0, false)
    }

    /// `tf.math.reduce_std(x)` (biased, as TensorFlow's).
    pub fn reduce_std(x: &Tensor) -> Tensor {
        x.std_dims(&[], 0, false)
    }

    /// `tf.math.reduce_logsumexp(x)` over all elements.
    pub fn reduce_logsumexp(x: &Tensor) -> Tensor {
        x.logsumexp(&[], false)
    }

    /// `tf.math.reduce_sum(x, axis, keepdims)`: `tf.reduce_sum(x, axis=1, keepdims=True)` is
    /// `tf::reduce_sum_axis(&x, 1, true)`; the axis may be one (`-1`) or several (`[0, 1]`).
    /// Every `reduce_*` has this `_axis` form.
    ///
    /// ```
    /// use tandem::tf;
    /// let x = tf::constant([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(tf::reduce_sum_axis(&x, 1, true).shape(), &[2, 1]);
    /// assert_eq!(tf::reduce_mean_axis(&x, 0, false).to_vec::<f32>(), [2.0, 3.0]);
    /// assert_eq!(tf::reduce_max_axis(&x, [0, 1], false).item::<f32>(), 4.0);
    /// ```
    pub fn reduce_sum_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        x.sum_dims(&axis.into().0, keepdims)
    }

    /// `tf.math.reduce_mean(x, axis, keepdims)`.
    pub fn reduce_mean_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        x.mean_dims(&axis.into().0, keepdims)
    }

    /// `tf.math.reduce_max(x, axis, keepdims)`.
    pub fn reduce_max_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        crate::torch::amax(x, axis, keepdims)
    }

    /// `tf.math.reduce_min(x, axis, keepdims)`.
    pub fn reduce_min_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        crate::torch::amin(x, axis, keepdims)
    }

    /// `tf.math.reduce_prod(x, axis, keepdims)`.
    pub fn reduce_prod_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        x.prod_dims(&axis.into().0, keepdims)
    }

    /// `tf.math.reduce_variance(x, axis, keepdims)` (biased, as TensorFlow's).
    pub fn reduce_variance_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        x.var_dims(&axis.into().0, 0, keepdims)
    }

    /// `tf.math.reduce_std(x, axis, keepdims)` (biased, as TensorFlow's).
    pub fn reduce_std_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        x.std_dims(&axis.into().0, 0, keepdims)
    }

    /// `tf.math.reduce_logsumexp(x, axis, keepdims)`.
    pub fn reduce_logsumexp_axis(x: &Tensor, axis: impl Into<Axes>, keepdims: bool) -> Tensor {
        x.logsumexp(&axis.into().0, keepdims)
    }

    /// `tf.math.argmax(x, axis)`.
    pub fn argmax(x: &Tensor, axis: isize) -> Tensor {
        x.argmax(Some(axis), false)
    }

    /// `tf.math.argmin(x, axis)`.
    pub fn argmin(x: &Tensor, axis: isize) -> Tensor {
        x.argmin(Some(axis), false)
    }
}

pub use math::{
    abs, add, argmax, argmin, cumsum, divide, equal, exp, floor, maximum, minimum, multiply,
    negative, pow, reduce_logsumexp, reduce_logsumexp_axis, reduce_max, reduce_max_axis,
    reduce_mean, reduce_mean_axis, reduce_min, reduce_min_axis, reduce_prod, reduce_prod_axis,
    reduce_std, reduce_std_axis, reduce_sum, reduce_sum_axis, reduce_variance,
    reduce_variance_axis, round, sign, sqrt, square, subtract,
};

/// `tf.matmul(a, b)`.
pub fn matmul(a: &Tensor, b: &Tensor) -> Tensor {
    a.matmul(b)
}

/// `tf.reshape(x, shape)`.
pub fn reshape(x: &Tensor, shape: &[isize]) -> Tensor {
    x.reshape(shape)
}

/// `tf.transpose(x)` (reverses the dimensions).
pub fn transpose(x: &Tensor) -> Tensor {
    let p: Vec<isize> = (0..x.ndim() as isize).rev().collect();
    x.permute(&p)
}

/// `tf.transpose(x, perm)`.
pub fn transpose_perm(x: &Tensor, perm: &[isize]) -> Tensor {
    x.permute(perm)
}

/// `tf.concat(values, axis)`.
pub fn concat(values: &[&Tensor], axis: isize) -> Tensor {
    Tensor::cat(values, axis)
}

/// `tf.reverse(tensor, axis)`: reverses the order along each axis in `axis`.
pub fn reverse(tensor: &Tensor, axis: &[isize]) -> Tensor {
    tensor.flip(axis)
}

/// `tf.stack(values, axis)`.
pub fn stack(values: &[&Tensor], axis: isize) -> Tensor {
    Tensor::stack(values, axis)
}

/// `tf.expand_dims(x, axis)`.
pub fn expand_dims(x: &Tensor, axis: isize) -> Tensor {
    x.unsqueeze(axis)
}

/// `tf.squeeze(x)`.
pub fn squeeze(x: &Tensor) -> Tensor {
    x.squeeze(None)
}

/// `tf.where(cond, x, y)`.
pub fn where_(cond: &Tensor, x: &Tensor, y: &Tensor) -> Tensor {
    Tensor::where_(cond, x, y)
}

/// `tf.gather(params, indices, axis)`.
pub fn gather(params: &Tensor, indices: &Tensor, axis: isize) -> Tensor {
    params.index_select(axis, indices)
}

/// `tf.one_hot(indices, depth)` as float32.
pub fn one_hot(indices: &Tensor, depth: usize) -> Tensor {
    indices.one_hot(depth).to_dtype(DType::Float32)
}

/// `tf.clip_by_value(x, min, max)`.
pub fn clip_by_value(x: &Tensor, min: f64, max: f64) -> Tensor {
    x.clamp(Some(min), Some(max))
}

/// `tf.keras`: models, layers, losses, optimizers, callbacks and datasets.
pub mod keras {
    pub use tandem_keras::*;

    /// `tf.keras.datasets`.
    pub mod datasets {
        pub use tandem_data::{fashion_mnist, mnist};
    }

    /// `tf.keras.utils`.
    pub mod utils {
        pub use tandem_data::preprocessing::to_categorical;
    }

    /// `tf.keras.callbacks`.
    pub mod callbacks {
        pub use tandem_keras::callbacks::*;
    }
}

/// `tf.distribute`: `MultiWorkerMirroredStrategy` makes `fit` data-parallel across the
/// processes `mpirun` starts.
pub mod distribute {
    pub use tandem_distributed::MultiWorkerMirroredStrategy;
}

/// `tf.nn`.
pub mod nn {
    use super::Tensor;

    /// `tf.nn.relu(x)`.
    pub fn relu(x: &Tensor) -> Tensor {
        x.relu()
    }

    /// `tf.nn.sigmoid(x)`.
    pub fn sigmoid(x: &Tensor) -> Tensor {
        x.sigmoid()
    }

    /// `tf.nn.softmax(logits, axis=-1)`.
    pub fn softmax(logits: &Tensor) -> Tensor {
        logits.softmax(-1)
    }

    /// `tf.nn.log_softmax(logits, axis=-1)`.
    pub fn log_softmax(logits: &Tensor) -> Tensor {
        logits.log_softmax(-1)
    }
}
