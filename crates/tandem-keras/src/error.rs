//! Errors from model configuration and `fit` arguments.

/// What went wrong configuring or training a Keras model.
#[derive(Debug, thiserror::Error)]
pub enum KerasError {
    /// A distribution strategy failed (the workers' models differ, a worker stopped).
    #[error("distribution strategy: {0}")]
    Distribution(String),
    /// A name not in Keras's list (optimizer, loss, metric, activation, initializer).
    #[error("unknown {kind} '{name}'; valid names: {}", valid.join(", "))]
    UnknownName {
        /// What kind of name.
        kind: &'static str,
        /// The name given.
        name: String,
        /// The names accepted.
        valid: Vec<&'static str>,
    },
    /// `fit`/`evaluate` before `compile`.
    #[error("you must call compile() before {0}()")]
    NotCompiled(&'static str),
    /// Inputs and targets disagree.
    #[error("data cardinality is ambiguous: x has {x} samples, y has {y} samples (make sure all arrays contain the same number of samples)")]
    Cardinality {
        /// Samples in x.
        x: usize,
        /// Samples in y.
        y: usize,
    },
    /// An argument of `fit` out of range.
    #[error("invalid argument {name}: {reason}")]
    Argument {
        /// The argument.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The data could not be batched.
    #[error(transparent)]
    Data(#[from] tandem_data::DataError),
    /// Saving or loading weights failed.
    #[error(transparent)]
    Checkpoint(#[from] tandem_nn::CheckpointError),
    /// A callback could not write its file.
    #[error("{callback}: cannot write {path}: {source}")]
    CallbackIo {
        /// Which callback.
        callback: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `.keras` archive could not be written or read: not a zip, an entry missing, or a
    /// layer, option or model type tandem cannot represent (named).
    #[error("{path}: {reason}")]
    Archive {
        /// The archive.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model could not be exported (ONNX).
    #[error("{0}")]
    Export(String),
    /// A backup to resume from is unusable.
    #[error("BackupAndRestore: the backup in {path} is unusable: {reason}")]
    Backup {
        /// The backup file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

pub(crate) fn unknown(kind: &'static str, name: &str, valid: &[&'static str]) -> KerasError {
    KerasError::UnknownName {
        kind,
        name: name.to_string(),
        valid: valid.to_vec(),
    }
}
