//! The data files of the two courses the lessons port (the TensorFlow and PyTorch "zero to
//! all" courses), embedded in this crate so that the lessons run from a clone, from an
//! installed `tandem` command, and offline.
//!
//! In Python a lesson opens `'data-03-diabetes.csv'` beside the script; here
//! [`file()`] hands back a path to the same file, written once into the user cache
//! (`<cache>/tandem/course/`) from the embedded copy:
//!
//! ```
//! use tandem_data::csv::{loadtxt, LoadTxt};
//! let xy = loadtxt(tandem_data::course::file("data-03-diabetes.csv")?, LoadTxt::default())?;
//! assert_eq!(xy.shape(), &[759, 9]);
//! # Ok::<(), tandem_data::DataError>(())
//! ```
//!
//! The files and their public origins are listed in the crate's `NOTICE` file.

use crate::error::{DataError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Every embedded course file: its name and its bytes (gzip files stay compressed).
pub const FILES: &[(&str, &[u8])] = &[
    (
        "data-01-test-score.csv",
        include_bytes!("../data/zerotoall/data-01-test-score.csv"),
    ),
    (
        "data-02-stock_daily.csv",
        include_bytes!("../data/zerotoall/data-02-stock_daily.csv"),
    ),
    (
        "data-03-diabetes.csv",
        include_bytes!("../data/zerotoall/data-03-diabetes.csv"),
    ),
    (
        "data-04-zoo.csv",
        include_bytes!("../data/zerotoall/data-04-zoo.csv"),
    ),
    (
        "diabetes.csv.gz",
        include_bytes!("../data/zerotoall/diabetes.csv.gz"),
    ),
    (
        "names_train.csv.gz",
        include_bytes!("../data/zerotoall/names_train.csv.gz"),
    ),
    (
        "names_test.csv.gz",
        include_bytes!("../data/zerotoall/names_test.csv.gz"),
    ),
    (
        "shakespeare.txt.gz",
        include_bytes!("../data/zerotoall/shakespeare.txt.gz"),
    ),
];

/// The bytes of the course file `name`, as shipped (gzip files stay compressed).
///
/// ```
/// assert_eq!(tandem_data::course::bytes("data-04-zoo.csv")?.len(), 4485);
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub fn bytes(name: &str) -> Result<&'static [u8]> {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .ok_or_else(|| DataError::UnknownCourseFile {
            name: name.to_string(),
            known: FILES.iter().map(|(n, _)| n.to_string()).collect(),
        })
}

/// A path to the course file `name`: the copy in `<cache>/tandem/course/`, written from the
/// embedded bytes when it is missing or differs (atomically: a temporary file renamed into
/// place, so concurrent readers never see half a file). Without a user cache directory, the
/// system's temporary directory is used.
pub fn file(name: &str) -> Result<PathBuf> {
    let data = bytes(name)?;
    let dir = dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("tandem")
        .join("course");
    let path = dir.join(name);
    if std::fs::read(&path).is_ok_and(|have| have == data) {
        return Ok(path);
    }
    write_atomically(&dir, &path, data)?;
    Ok(path)
}

fn write_atomically(dir: &Path, path: &Path, data: &[u8]) -> Result<()> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DataError::Io { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(data).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_file_is_materialized_with_its_bytes() {
        for (name, data) in super::FILES {
            let p = super::file(name).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), *data, "{name}");
        }
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let e = super::file("iris.csv").unwrap_err().to_string();
        assert!(
            e.contains("iris.csv") && e.contains("data-04-zoo.csv"),
            "{e}"
        );
    }
}
