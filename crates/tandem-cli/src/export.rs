//! `tandem export`: a trained run's best weights in another file format.

use crate::models::{self, RunInfo};
use crate::train::{read_run_info, weights_file, CliError};
use crate::Idiom;
use std::path::{Path, PathBuf};
use tandem::nn::{load_safetensors, pt, save_safetensors, Module};

/// The formats `tandem export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// PyTorch's zip format, for `torch.load(path, weights_only=True)`
    Pt,
    /// safetensors, for any framework that reads it
    Safetensors,
    /// ONNX (opset 17): the network on float images in [0, 1], `[N, 1, 28, 28]` (torch idiom)
    /// or `[N, 28, 28]` (Keras idiom), with a dynamic batch
    Onnx,
}

impl ExportFormat {
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Pt => "pt",
            ExportFormat::Safetensors => "safetensors",
            ExportFormat::Onnx => "onnx",
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
    let out = out.map_or_else(
        || checkpoint.join(format!("model.{}", format.extension())),
        Path::to_path_buf,
    );
    if format == ExportFormat::Onnx {
        export_onnx(checkpoint, info, &out)?;
        return Ok(out);
    }
    let weights: Vec<_> = load_safetensors(&weights_file(checkpoint, info.idiom))?
        .into_iter()
        .collect();
    match format {
        ExportFormat::Pt => pt::save(&weights, &out)?,
        _ => save_safetensors(&weights, &out)?,
    }
    Ok(out)
}

/// The trained network as ONNX, on the float images the network itself takes.
fn export_onnx(checkpoint: &Path, info: RunInfo, out: &Path) -> Result<(), CliError> {
    let onnx_error = |e: tandem::nn::onnx::OnnxError| CliError::Other(e.to_string());
    let images = tandem::Tensor::from_vec(vec![0u8; 28 * 28], &[1, 28, 28]);
    match info.idiom {
        Idiom::Torch => {
            let mut model = models::torch_model(info.model);
            model.load(weights_file(checkpoint, info.idiom), true)?;
            tandem::nn::onnx::export(&mut model, &models::torch_input(&images), out)
                .map_err(onnx_error)
        }
        Idiom::Keras => {
            let mut model = models::keras_model(info.model);
            model.predict(&models::keras_input(&images));
            model.load_weights(weights_file(checkpoint, info.idiom))?;
            model
                .export_onnx(&models::keras_input(&images), out)
                .map_err(onnx_error)
        }
    }
}
