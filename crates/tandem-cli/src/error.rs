//! The command's error type: what it reports, and with which exit status.

use std::path::{Path, PathBuf};
use tandem::tf::keras;

/// Errors the command reports (exit status 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Data(#[from] tandem::data::DataError),
    #[error(transparent)]
    Checkpoint(#[from] tandem::nn::CheckpointError),
    #[error(transparent)]
    Keras(#[from] keras::KerasError),
    #[error(transparent)]
    Distributed(#[from] tandem::torch::distributed::DistError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
    /// A mistake in the command line (exit status 2).
    #[error("{0}")]
    Usage(String),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.to_path_buf(),
        source,
    }
}
