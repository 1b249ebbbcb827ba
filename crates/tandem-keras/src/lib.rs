//! # tandem-keras
//!
//! `tf.keras` over tandem's engine: layers with lazy shape inference ([`layers::Dense`],
//! [`layers::Flatten`], [`layers::Dropout`], [`layers::ActivationLayer`], [`layers::Reshape`],
//! [`layers::Input`], [`layers::Embedding`], [`layers::BatchNormalization`]), regularizers,
//! [`Sequential`] and subclassed models (any [`Layer`], wrapped in [`Model`]),
//! `compile` / `fit` / `evaluate` / `predict` with Keras's names for
//! optimizers, losses and metrics, the progress bar, [`History`], `summary()` and callbacks.
//! Every layer is built on the `tandem-nn` layer that does the same math (`Dense` wraps
//! `Linear`).
//!
//! ```
//! use tandem_keras::{layers::Dense, optimizers::SGD, Sequential, FitArgs};
//! use tandem_core::Tensor;
//! let mut model = Sequential::new(vec![Box::new(Dense::new(1).input_dim(1))]);
//! model.compile(SGD(0.1, 0.0), "mse", &[]).unwrap();
//! let x = Tensor::new([[1.0], [2.0], [3.0], [4.0]]);
//! let y = Tensor::new([[0.0], [-1.0], [-2.0], [-3.0]]);
//! let history = model.fit(&x, &y, FitArgs { epochs: 200, verbose: 0, ..Default::default() }).unwrap();
//! assert!(history.loss().last().unwrap() < &0.01);
//! let p = model.predict(&Tensor::new([[5.0], [4.0]]));
//! assert!((p.to_vec::<f32>()[0] + 4.0).abs() < 0.4);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod activations;
pub mod callbacks;
pub mod distribute;
mod error;
mod functional;
pub mod initializers;
pub mod layers;
pub mod losses;
mod metrics;
mod model;
pub mod optimizers;
mod progress;

pub mod regularizers;
pub mod saving;

pub use callbacks::{
    BackupAndRestore, CSVLogger, Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint,
    TensorBoard, TerminateOnNaN, TrainingState,
};
pub use error::KerasError;
pub use functional::{Graph, Input, KerasTensor};
pub use layers::Layer;
pub use model::{Arrays, FitArgs, History, Model, Sequential};
