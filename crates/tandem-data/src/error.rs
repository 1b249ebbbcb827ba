//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading or preparing data.
///
/// Every variant names the file (or the dataset, or the function) it is about, so the message
/// alone says what to fix:
///
/// ```
/// let err = tandem_data::idx::read_idx_bytes("labels.idx1", &[0, 0, 9, 3]).unwrap_err();
/// assert_eq!(err.to_string(), "labels.idx1: bad magic 0x00000903: IDX type code 0x09 (int8) is not supported");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A gzip stream is corrupt or ends early.
    #[error("{name}: corrupt gzip data: {source}")]
    Gzip {
        /// The file (or the name given for in-memory data).
        name: String,
        /// What the decoder said.
        #[source]
        source: std::io::Error,
    },

    /// The first four bytes of an IDX file are not `00 00 <type> <ndim>` with a known type.
    #[error("{name}: bad magic 0x{magic:08x}: {problem}")]
    BadMagic {
        /// The file.
        name: String,
        /// The first four bytes, big-endian.
        magic: u32,
        /// What is wrong with them.
        problem: String,
    },

    /// An IDX file holds fewer bytes than its header promises.
    #[error("{name}: truncated: expected {expected} bytes of {what}, found {found}")]
    Truncated {
        /// The file.
        name: String,
        /// `"header"` or `"data"`.
        what: &'static str,
        /// Bytes the header asks for.
        expected: usize,
        /// Bytes present.
        found: usize,
    },

    /// An IDX file holds more bytes than its header's dimensions account for.
    #[error("{name}: header dims {dims:?} account for {expected} bytes of data, but the file has {found}")]
    TrailingData {
        /// The file.
        name: String,
        /// The dimensions in the header.
        dims: Vec<usize>,
        /// Bytes the dimensions account for.
        expected: usize,
        /// Bytes present.
        found: usize,
    },

    /// A value does not parse as a number of the requested dtype.
    #[error("{file}:{line}:{column}: cannot parse '{text}' as {expected}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line number in the file.
        line: usize,
        /// 1-based column (field) number.
        column: usize,
        /// The offending text (shortened when long).
        text: String,
        /// What was expected, e.g. `"a number"` or `"an integer in uint8 range"`.
        expected: &'static str,
    },

    /// A row has a different number of columns than the first data row.
    #[error("{file}:{line}: ragged row: expected {expected} columns, found {found}")]
    Ragged {
        /// The file.
        file: String,
        /// 1-based line number in the file.
        line: usize,
        /// Columns in the first data row (or selected by `usecols`).
        expected: usize,
        /// Columns in this row.
        found: usize,
    },

    /// A text file holds no data rows after comments, blank lines and `skiprows`.
    #[error("{file}: no data rows")]
    Empty {
        /// The file.
        file: String,
    },

    /// A dataset's files were not found anywhere it was looked for.
    #[error("{dataset} not found; looked in:\n{}\n{hint}", searched.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n"))]
    NotFound {
        /// The dataset, e.g. `"Fashion-MNIST"`.
        dataset: &'static str,
        /// Each place looked in, with what was missing there.
        searched: Vec<String>,
        /// How to get the data.
        hint: String,
    },

    /// A `.npz` archive or one of its arrays is corrupt, truncated or of an unsupported dtype.
    #[error("{name}: not a valid .npz archive: {problem}")]
    Npz {
        /// The file, with the entry in brackets when one entry is at fault.
        name: String,
        /// What is wrong.
        problem: String,
    },

    /// A downloaded file's digest is not the published one; no file was kept.
    #[error("{file}: checksum mismatch: expected {expected}, got {actual} (tried: {})", attempts.join("; "))]
    Checksum {
        /// The file.
        file: String,
        /// The published digest.
        expected: String,
        /// The digest of what was received.
        actual: String,
        /// Each mirror tried, with what went wrong there.
        attempts: Vec<String>,
    },

    /// No mirror delivered a file; no partial file was kept.
    #[error("{file}: download failed:\n{}", attempts.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n"))]
    Download {
        /// The file.
        file: String,
        /// Each mirror tried, with what went wrong there.
        attempts: Vec<String>,
    },

    /// Loaded arrays do not have the shapes a dataset needs.
    #[error("{name}: expected {expected}, found {found}")]
    Shape {
        /// The file or function.
        name: String,
        /// The expected dtype and shape, in words.
        expected: String,
        /// The dtype and shape found.
        found: String,
    },

    /// Two arrays that must have the same number of rows do not.
    #[error("{what}: features have {x} rows but targets have {y}")]
    LengthMismatch {
        /// The function or type.
        what: &'static str,
        /// Rows of the features.
        x: usize,
        /// Rows of the targets.
        y: usize,
    },

    /// A course file was asked for by a name that is not one of the embedded files.
    #[error("no course data file named '{name}'; the embedded files are: {}", known.join(", "))]
    UnknownCourseFile {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: Vec<String>,
    },

    /// An argument that depends on the data is not valid for it.
    #[error("{what}: {problem}")]
    InvalidArgument {
        /// The function or type.
        what: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl DataError {
    pub(crate) fn invalid(what: &'static str, problem: impl Into<String>) -> DataError {
        DataError::InvalidArgument {
            what,
            problem: problem.into(),
        }
    }
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
