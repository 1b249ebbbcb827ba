//! # tandem — deep learning in Rust, in the words you already know
//!
//! One engine, two idioms. Write the PyTorch program you know with [`torch`], or the
//! TensorFlow/Keras one with [`tf`]; tensors move freely between the two.
//!
//! The seed's linear regression, PyTorch style:
//!
//! ```
//! use tandem::torch;
//! let x_train = torch::tensor([1.0, 2.0, 3.0, 4.0, 5.0]);
//! let y_train = torch::tensor([1.0, 2.0, 3.0, 4.0, 5.0]);
//! let mut w = torch::tensor(2.9).requires_grad_(true);
//! let mut b = torch::tensor(0.5).requires_grad_(true);
//! let lr = 0.01;
//! for _ in 0..100 {
//!     let hyp = &w * &x_train + &b;
//!     let cost = torch::mean(&(&hyp - &y_train).pow(2));
//!     let grads = torch::autograd::grad(&cost, &[&w, &b]);
//!     torch::no_grad(|| {
//!         w -= lr * &grads[0];
//!         b -= lr * &grads[1];
//!     });
//! }
//! assert!((w.item::<f32>() - 1.0).abs() < 0.1);
//! ```
//!
//! and TensorFlow style:
//!
//! ```
//! use tandem::tf;
//! let x_train = tf::constant([1.0, 2.0, 3.0, 4.0, 5.0]);
//! let y_train = tf::constant([1.0, 2.0, 3.0, 4.0, 5.0]);
//! let w = tf::Variable::new(2.9);
//! let b = tf::Variable::new(0.5);
//! let lr = 0.01;
//! for _ in 0..100 {
//!     let tape = tf::GradientTape::new();
//!     let hyp = &w * &x_train + &b;
//!     let cost = tf::reduce_mean(&tf::square(&(&hyp - &y_train)));
//!     let grads = tape.gradient(&cost, &[&w, &b]);
//!     w.assign_sub(&(lr * grads[0].as_ref().unwrap()));
//!     b.assign_sub(&(lr * grads[1].as_ref().unwrap()));
//! }
//! assert!((w.item::<f32>() - 1.0).abs() < 0.1);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate self as tandem;

pub mod tf;
pub mod torch;

mod axes;

pub use axes::Axes;
pub use tandem_core::{autograd, kernel_path, DType, Device, Tensor};
pub use tandem_data as data;
pub use tandem_distributed as distributed;
pub use tandem_nn as nn;
pub use tandem_nn::Module;

/// mimalloc serves every allocation of a program that uses tandem (the default `mimalloc`
/// feature). An eager step allocates a handful of small blocks per op (the tensor, its storage,
/// its graph node), and a training step frees and asks again for the same large buffers each
/// iteration: mimalloc's per-thread free lists serve both from memory it already holds, where
/// the system allocator takes its slower paths and hands large blocks back to the kernel.
/// [`tandem_core::Mimalloc`] also keeps freed memory with the process (see its documentation).
/// A program with its own `#[global_allocator]` depends on tandem with
/// `default-features = false`.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: tandem_core::Mimalloc = tandem_core::Mimalloc;

/// The names most programs need: `Tensor`, `DType`, `Device` and the two idiom modules.
pub mod prelude {
    pub use crate::{tf, torch};
    pub use tandem_core::{DType, Device, Tensor};
}
