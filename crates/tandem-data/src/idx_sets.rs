//! What MNIST and Fashion-MNIST share: the four IDX files, where to look for them, and loading
//! them into Keras-shaped tensors.

use crate::error::{DataError, Result};
use crate::idx::{read_idx, read_idx_bytes};
use std::path::{Path, PathBuf};
use tandem_core::{DType, Tensor};

/// `((x_train, y_train), (x_test, y_test))`, as Keras' `load_data()` returns.
pub type KerasSplit = ((Tensor, Tensor), (Tensor, Tensor));

/// The environment variable naming a directory that holds datasets.
pub const ENV_VAR: &str = "TANDEM_DATA";

/// The four files of an MNIST-style dataset, without the optional `.gz` suffix, in the order
/// train images, train labels, test images, test labels.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Where a loaded dataset came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The four IDX files in this directory.
    Directory(PathBuf),
    /// The MNIST sample embedded in this crate (8,000 train / 2,000 test digits).
    Sample,
}

/// A loaded MNIST-style dataset: images uint8 `[N, 28, 28]`, labels int64 `[N]`, and where they
/// came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Training images, uint8 `[N, 28, 28]`.
    pub x_train: Tensor,
    /// Training labels, int64 `[N]`.
    pub y_train: Tensor,
    /// Test images, uint8 `[M, 28, 28]`.
    pub x_test: Tensor,
    /// Test labels, int64 `[M]`.
    pub y_test: Tensor,
    /// Where the data came from.
    pub source: Source,
}

impl Loaded {
    /// The tensors in Keras' nesting, `((x_train, y_train), (x_test, y_test))`.
    pub fn into_keras(self) -> KerasSplit {
        ((self.x_train, self.y_train), (self.x_test, self.y_test))
    }
}

/// Where a download goes: `dir` when given, else the user cache's directory for the dataset.
pub(crate) fn download_dir(spec: &Spec, dir: Option<&Path>) -> Result<PathBuf> {
    match dir {
        Some(d) => Ok(d.to_path_buf()),
        None => dirs::cache_dir()
            .map(|c| c.join("tandem").join(spec.subdir))
            .ok_or_else(|| DataError::NotFound {
                dataset: spec.name,
                searched: vec!["the user cache directory (none on this system)".into()],
                hint: "Pass a directory to download into.".into(),
            }),
    }
}

/// How one dataset is looked up.
pub(crate) struct Spec {
    /// The name in messages, e.g. `"Fashion-MNIST"`.
    pub name: &'static str,
    /// The subdirectory of `$TANDEM_DATA` and of the cache, e.g. `"fashion-mnist"`.
    pub subdir: &'static str,
    /// System-wide directories looked in last.
    pub system_dirs: &'static [&'static str],
    /// How to get the data, for the not-found message.
    pub hint: &'static str,
}

impl Spec {
    /// The directories looked in, in order: `$TANDEM_DATA/<subdir>`, `$TANDEM_DATA`, the user
    /// cache (`<cache>/tandem/<subdir>`), then the system directories.
    pub fn search_paths(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(root) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
            let root = PathBuf::from(root);
            dirs.push(root.join(self.subdir));
            dirs.push(root);
        }
        if let Some(cache) = dirs::cache_dir() {
            dirs.push(cache.join("tandem").join(self.subdir));
        }
        dirs.extend(self.system_dirs.iter().map(PathBuf::from));
        dirs
    }

    /// The first directory that holds all four files; `Ok(None)` with the places looked in
    /// when none does. A directory holding some but not all of them is an error: the caller
    /// meant to put the dataset there.
    pub fn locate(&self) -> Result<std::result::Result<PathBuf, Vec<String>>> {
        let mut searched = Vec::new();
        if !matches!(std::env::var_os(ENV_VAR), Some(v) if !v.is_empty()) {
            searched.push(format!("${ENV_VAR} (not set)"));
        }
        if dirs::cache_dir().is_none() {
            searched.push("the user cache directory (none on this system)".into());
        }
        for dir in self.search_paths() {
            match find_files(&dir) {
                Ok(_) => return Ok(Ok(dir)),
                Err(missing) if missing.len() == FILES.len() => {
                    searched.push(format!("{}: no dataset files", dir.display()));
                }
                Err(missing) => {
                    searched.push(format!(
                        "{}: incomplete, missing {}",
                        dir.display(),
                        missing.join(", ")
                    ));
                    return Err(DataError::NotFound {
                        dataset: self.name,
                        searched,
                        hint: format!(
                            "The last directory holds only some of the {} files {}[.gz]; add the \
                             missing ones or remove the others.",
                            self.name,
                            FILES.join("[.gz], ")
                        ),
                    });
                }
            }
        }
        Ok(Err(searched))
    }

    /// The not-found error after [`Spec::locate`] found nothing.
    pub fn not_found(&self, searched: Vec<String>) -> DataError {
        DataError::NotFound {
            dataset: self.name,
            searched,
            hint: format!(
                "{} Or put the files {}[.gz] in one of these directories, or in a directory \
                 named by ${ENV_VAR} (directly or in its `{}` subdirectory).",
                self.hint,
                FILES.join("[.gz], "),
                self.subdir
            ),
        }
    }
}

/// The four files in `dir` (each `NAME.gz` or `NAME`), or the names missing there.
fn find_files(dir: &Path) -> std::result::Result<[PathBuf; 4], Vec<String>> {
    let found = FILES.map(|stem| {
        [format!("{stem}.gz"), stem.to_string()]
            .into_iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
    });
    let missing: Vec<String> = FILES
        .iter()
        .zip(&found)
        .filter(|(_, p)| p.is_none())
        .map(|(stem, _)| stem.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(found.map(|p| p.unwrap_or_default()))
}

/// Loads the four files of `dir` (in parallel) and checks their shapes.
pub(crate) fn load_dir(name: &'static str, dir: &Path) -> Result<Loaded> {
    let files = find_files(dir).map_err(|missing| DataError::NotFound {
        dataset: name,
        searched: vec![format!("{}: missing {}", dir.display(), missing.join(", "))],
        hint: format!("Expected the files {}[.gz] there.", FILES.join("[.gz], ")),
    })?;
    let [a, b, c, d] = std::thread::scope(|s| {
        let handles = files.each_ref().map(|f| s.spawn(move || read_idx(f)));
        handles.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    let named = |t: Result<Tensor>, i: usize| t.map(|t| (files[i].display().to_string(), t));
    assemble(
        [named(a, 0)?, named(b, 1)?, named(c, 2)?, named(d, 3)?],
        Source::Directory(dir.to_path_buf()),
    )
}

/// Decodes four in-memory IDX files (train images, train labels, test images, test labels).
pub(crate) fn load_bytes(files: [(&str, &[u8]); 4], source: Source) -> Result<Loaded> {
    let mut out = Vec::with_capacity(4);
    for (name, bytes) in files {
        out.push((name.to_string(), read_idx_bytes(name, bytes)?));
    }
    let arr: [(String, Tensor); 4] = out
        .try_into()
        .map_err(|_| DataError::invalid("load_bytes", "expected four files"))?;
    assemble(arr, source)
}

pub(crate) fn assemble(files: [(String, Tensor); 4], source: Source) -> Result<Loaded> {
    let [(xn, x_train), (yn, y_train), (xtn, x_test), (ytn, y_test)] = files;
    check_images(&xn, &x_train)?;
    check_images(&xtn, &x_test)?;
    let y_train = labels(&yn, &y_train, x_train.shape()[0])?;
    let y_test = labels(&ytn, &y_test, x_test.shape()[0])?;
    Ok(Loaded {
        x_train,
        y_train,
        x_test,
        y_test,
        source,
    })
}

fn describe(t: &Tensor) -> String {
    format!("{} {:?}", t.dtype().tf_name(), t.shape())
}

fn check_images(name: &str, x: &Tensor) -> Result<()> {
    if x.dtype() != DType::UInt8 || x.ndim() != 3 || x.shape()[1..] != [28, 28] {
        return Err(DataError::Shape {
            name: name.to_string(),
            expected: "uint8 images [N, 28, 28]".into(),
            found: describe(x),
        });
    }
    Ok(())
}

fn labels(name: &str, y: &Tensor, n: usize) -> Result<Tensor> {
    if y.dtype() != DType::UInt8 || y.shape() != [n] {
        return Err(DataError::Shape {
            name: name.to_string(),
            expected: format!("uint8 labels [{n}] (one per image)"),
            found: describe(y),
        });
    }
    Ok(y.to_dtype(DType::Int64))
}
