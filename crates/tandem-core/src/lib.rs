//! # tandem-core
//!
//! The engine under both of tandem's idioms: [`Tensor`] (shared storage with shape, strides and
//! offset, so views never copy), six [`DType`]s with PyTorch's promotion rules, CPU kernels
//! (vectorized elementwise math, `gemm` matrix products split across threads) and a
//! reverse-mode [`autograd`] engine that serves both `backward()` and `GradientTape`.
//!
//! ```
//! use tandem_core::{autograd, Tensor};
//! let x = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
//! let w = Tensor::new(2.9).requires_grad_(true);
//! let b = Tensor::new(0.5).requires_grad_(true);
//! let cost = (&(&w * &x + &b) - &x).square().mean();
//! let g = autograd::grad(&cost, &[&w, &b]);
//! assert!((g[0].item::<f32>() - 44.8).abs() < 1e-4);
//! ```

#![warn(missing_docs)]
// Kernels are generic over every element type: `x != x` is the NaN test that also compiles for
// integers, and the comparison closures are instantiated for `bool` too.
#![allow(clippy::eq_op, clippy::bool_comparison)]

pub mod autograd;
mod display;
mod dtype;
mod kernels;
pub mod ops;
mod shape;
mod storage;
mod tensor;
#[cfg(feature = "testing")]
pub mod testing;

pub use dtype::{Buffer, DType, Element, Float};
pub use kernels::cpu::{kernel_path, vectorized};
pub use kernels::parallel;
#[cfg(feature = "mimalloc")]
pub use storage::Mimalloc;

/// `torch.use_deterministic_algorithms(mode)` (`tf.config.experimental.enable_op_determinism()`
/// in the TensorFlow idiom): with `true`, every kernel that combines partial results (sums,
/// scans, matrix products split by columns, convolution gradients) cuts its work the same way
/// whatever the number of threads, so training is bitwise reproducible across runs and across
/// 1, 2 or 4 threads. Off by default: then the work is split one part per thread.
///
/// ```
/// tandem_core::use_deterministic_algorithms(true);
/// assert!(tandem_core::are_deterministic_algorithms_enabled());
/// tandem_core::use_deterministic_algorithms(false);
/// ```
pub fn use_deterministic_algorithms(mode: bool) {
    kernels::set_deterministic(mode);
}

/// `torch.are_deterministic_algorithms_enabled()`.
pub fn are_deterministic_algorithms_enabled() -> bool {
    kernels::deterministic()
}
pub use ops::create::{
    arange, eye, full, full_like, linspace, manual_seed, multinomial, normal, ones, ones_like,
    rand, randint, randn, randperm, uniform, with_rng, zeros, zeros_like,
};
pub use ops::{IntoIndex, Number, Operand, TensorIndex};
pub use shape::broadcast_shapes;
pub use tensor::{Device, IntoTensor, Scalar, Tensor};

#[cfg(test)]
mod literal_inference {
    use crate::Tensor;

    #[test]
    fn number_literals_infer_in_operators() {
        let t = Tensor::new([1.0, 2.0]);
        let a = &t * 2.0;
        let b = 3 * &t;
        assert_eq!(a.to_vec::<f32>(), vec![2.0, 4.0]);
        assert_eq!(b.to_vec::<f32>(), vec![3.0, 6.0]);
        assert_eq!((1.0 - &t).to_vec::<f32>(), vec![0.0, -1.0]);
    }
}
