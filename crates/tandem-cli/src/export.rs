//! `tandem export`: a trained run's best weights in another file format.

use crate::train::{read_run_info, weights_file, CliError};
use std::path::{Path, PathBuf};
use tandem::nn::{load_safetensors, pt, save_safetensors};

/// The formats `tandem export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// PyTorch's zip format, for `torch.load(path, weights_only=True)`
    Pt,
    /// safetensors, for any framework that reads it
    Safetensors,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Pt => "pt",
            ExportFormat::Safetensors => "safetensors",
        }
    }
}

/// Writes the best epoch's weights of the run in `checkpoint` as `format`, to `out` (default
/// `model.<ext>` inside the run directory), and says where.
pub fn export(
    checkpoint: &Path,
    format: ExportFormat,
    out: Option<&Path>,
) -> Result<PathBuf, CliError> {
    let info = read_run_info(checkpoint)?;
    let weights: Vec<_> = load_safetensors(&weights_file(checkpoint, info.idiom))?
        .into_iter()
        .collect();
    let out = out.map_or_else(
        || checkpoint.join(format!("model.{}", format.extension())),
        Path::to_path_buf,
    );
    match format {
        ExportFormat::Pt => pt::save(&weights, &out)?,
        ExportFormat::Safetensors => save_safetensors(&weights, &out)?,
    }
    Ok(out)
}
