//! Fashion-MNIST (Zalando's 28x28 grayscale clothing images), as
//! `keras.datasets.fashion_mnist`.
//!
//! Lookup order (the first directory holding all four files wins; each file may be gzip or raw):
//! 1. `$TANDEM_DATA/fashion-mnist/`, then `$TANDEM_DATA/` itself;
//! 2. the user cache, `<cache>/tandem/fashion-mnist/` (`~/.cache/tandem/fashion-mnist` on Linux);
//! 3. `/usr/share/datasets/fashion-mnist/`, where Debian's and Ubuntu's
//!    `apt-get install dataset-fashion-mnist` puts it.
//!
//! There is no download; when nothing is found the error lists the places looked in and how to
//! install the data.
//!
//! Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker,
//! 8 Bag, 9 Ankle boot ([`CLASS_NAMES`]).
//!
//! ```no_run
//! let ((x_train, y_train), (x_test, y_test)) = tandem_data::fashion_mnist::load_data()?;
//! assert_eq!(x_train.shape(), &[60000, 28, 28]);
//! # Ok::<(), tandem_data::DataError>(())
//! ```

use crate::download::{Digest, Remote, RemoteFile};
use crate::error::Result;
use crate::idx_sets::download_dir;
use crate::idx_sets::{load_dir, Spec};
pub use crate::idx_sets::{KerasSplit, Loaded, Source};
use std::path::{Path, PathBuf};

/// Where `apt-get install dataset-fashion-mnist` installs the files.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The class names, by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

const SPEC: Spec = Spec {
    name: "Fashion-MNIST",
    subdir: "fashion-mnist",
    system_dirs: &[DEBIAN_DIR],
    hint: "On Debian or Ubuntu install it with `sudo apt-get install dataset-fashion-mnist`.",
};

/// Where torchvision downloads Fashion-MNIST from, with its published MD5s
/// (`torchvision/datasets/mnist.py`); `TANDEM_FASHION_MNIST_MIRRORS` replaces the mirror.
pub const REMOTE: Remote = Remote {
    dataset: "Fashion-MNIST",
    mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    mirror_var: "TANDEM_FASHION_MNIST_MIRRORS",
    files: &[
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            digest: Digest::Md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            digest: Digest::Md5("25c81989df183df01b3e8a0aad5dffbe"),
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            digest: Digest::Md5("bef4ecab320f06d8554ea6380940ec79"),
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            digest: Digest::Md5("bb300cfdad3c16e7a12a480ee83cd310"),
        },
    ],
};

/// Downloads the four Fashion-MNIST files into `dir` (default: the user cache, where
/// [`load_data`] looks), verifying each against torchvision's MD5, and returns the directory.
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

/// `keras.datasets.fashion_mnist.load_data()`: images uint8 `[N, 28, 28]`, labels int64 `[N]`
/// (60,000 train, 10,000 test). Errors when the files are not found (listing where it looked and
/// how to install them) or are corrupt.
pub fn load_data() -> Result<KerasSplit> {
    load().map(Loaded::into_keras)
}

/// Like [`load_data`], also telling which directory the data came from.
pub fn load() -> Result<Loaded> {
    match SPEC.locate()? {
        Ok(dir) => load_dir(SPEC.name, &dir),
        Err(searched) => Err(SPEC.not_found(searched)),
    }
}

/// Loads the four Fashion-MNIST files from `dir`.
pub fn load_data_from(dir: impl AsRef<Path>) -> Result<KerasSplit> {
    load_from(dir).map(Loaded::into_keras)
}

/// Loads the four Fashion-MNIST files from `dir`, with [`Source::Directory`].
pub fn load_from(dir: impl AsRef<Path>) -> Result<Loaded> {
    load_dir(SPEC.name, dir.as_ref())
}

/// The directories [`load_data`] looks in, in order.
pub fn search_paths() -> Vec<PathBuf> {
    SPEC.search_paths()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_says_how_to_install() {
        let msg = SPEC
            .not_found(vec!["/somewhere: no dataset files".into()])
            .to_string();
        assert!(
            msg.starts_with("Fashion-MNIST not found; looked in:\n  - /somewhere"),
            "{msg}"
        );
        assert!(
            msg.contains("apt-get install dataset-fashion-mnist"),
            "{msg}"
        );
        assert!(msg.contains("TANDEM_DATA"), "{msg}");
        assert!(msg.contains("train-images-idx3-ubyte[.gz]"), "{msg}");
    }
}
