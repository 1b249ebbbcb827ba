//! `state_dict` checkpoints in safetensors with PyTorch's key names, written atomically.

use safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use tandem_core::{DType, Tensor};

/// Why a checkpoint could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid file of its format (safetensors, PyTorch zip, HDF5, ...).
    #[error("{path}: not a valid {format} file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The format it was read as.
        format: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// A pickle names a Python global that a weights-only load does not allow (PyTorch's
    /// `torch.load(..., weights_only=True)` refuses the same ones). Nothing is ever executed.
    #[error("{path}: the pickle calls {global}, which a weights-only load does not allow")]
    UnsafeGlobal {
        /// The file.
        path: PathBuf,
        /// The `module.name` of the global.
        global: String,
    },
    /// The file holds a dtype tandem does not have.
    #[error("{path}: tensor '{key}' has unsupported dtype {dtype}")]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The tensor.
        key: String,
        /// Its dtype.
        dtype: String,
    },
    /// Keys or shapes do not match the model.
    #[error("error(s) in loading state_dict: {}", describe(.missing, .unexpected, .mismatched))]
    Mismatch {
        /// Keys the model has and the file lacks.
        missing: Vec<String>,
        /// Keys the file has and the model lacks.
        unexpected: Vec<String>,
        /// `(key, file shape, model shape)`.
        mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
    },
}

fn describe(
    missing: &[String],
    unexpected: &[String],
    mismatched: &[(String, Vec<usize>, Vec<usize>)],
) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing key(s): {}", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected key(s): {}", unexpected.join(", ")));
    }
    for (k, file, model) in mismatched {
        parts.push(format!("size mismatch for {k}: copying a param with shape {file:?} from checkpoint, the shape in current model is {model:?}"));
    }
    parts.join("; ")
}

/// What a non-strict load skipped.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Keys the model has and the file lacks.
    pub missing: Vec<String>,
    /// Keys the file has and the model lacks.
    pub unexpected: Vec<String>,
}

fn st_dtype(d: DType) -> StDtype {
    match d {
        DType::Float32 => StDtype::F32,
        DType::Float64 => StDtype::F64,
        DType::Int64 => StDtype::I64,
        DType::Int32 => StDtype::I32,
        DType::UInt8 => StDtype::U8,
        DType::Bool => StDtype::BOOL,
    }
}

pub(crate) fn le_bytes(t: &Tensor) -> Vec<u8> {
    match t.dtype() {
        DType::Float32 => t
            .to_vec::<f32>()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::Float64 => t
            .to_vec::<f64>()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::Int64 => t
            .to_vec::<i64>()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::Int32 => t
            .to_vec::<i32>()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::UInt8 => t.to_vec::<u8>(),
        DType::Bool => t.to_vec::<bool>().iter().map(|&b| u8::from(b)).collect(),
    }
}

/// Writes `tensors` to `path` as safetensors: first to a temporary file beside it, synced, then
/// renamed over `path`, so a crash never leaves a half-written checkpoint in its place.
pub fn save_safetensors(tensors: &[(String, Tensor)], path: &Path) -> Result<(), CheckpointError> {
    let bytes: Vec<(String, Vec<u8>, DType, Vec<usize>)> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), le_bytes(t), t.dtype(), t.shape().to_vec()))
        .collect();
    let views: BTreeMap<String, TensorView<'_>> = bytes
        .iter()
        .map(|(k, b, d, s)| {
            let view =
                TensorView::new(st_dtype(*d), s.clone(), b).expect("byte length matches the shape");
            (k.clone(), view)
        })
        .collect();
    let data = safetensors::serialize(&views, &None).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        format: "safetensors",
        reason: e.to_string(),
    })?;
    write_atomic(path, |f| f.write_all(&data))
}

/// Writes a file through `write` into a temporary file beside `path`, syncs it and renames it
/// over `path`, so a crash never leaves a half-written file in its place.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        write(&mut f)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads every tensor of a safetensors file, by key.
pub fn load_safetensors(path: &Path) -> Result<BTreeMap<String, Tensor>, CheckpointError> {
    let data = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let st = SafeTensors::deserialize(&data).map_err(|e| CheckpointError::Format {
        path: path.to_path_buf(),
        format: "safetensors",
        reason: e.to_string(),
    })?;
    let mut out = BTreeMap::new();
    for (key, view) in st.tensors() {
        let shape = view.shape().to_vec();
        let b = view.data();
        let t = match view.dtype() {
            StDtype::F32 => Tensor::from_vec(
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect(),
                &shape,
            ),
            StDtype::F64 => Tensor::from_vec(
                b.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
                &shape,
            ),
            StDtype::I64 => Tensor::from_vec(
                b.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
                &shape,
            ),
            StDtype::I32 => Tensor::from_vec(
                b.chunks_exact(4)
                    .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")))
                    .collect(),
                &shape,
            ),
            StDtype::U8 => Tensor::from_vec(b.to_vec(), &shape),
            StDtype::BOOL => {
                Tensor::from_vec(b.iter().map(|&v| v != 0).collect::<Vec<bool>>(), &shape)
            }
            other => {
                return Err(CheckpointError::Dtype {
                    path: path.to_path_buf(),
                    key,
                    dtype: format!("{other:?}"),
                })
            }
        };
        out.insert(key, t);
    }
    Ok(out)
}

/// Copies `loaded` into the model's `targets` in place, checking keys and shapes.
pub(crate) fn load_into(
    targets: &[(String, Tensor)],
    mut loaded: BTreeMap<String, Tensor>,
    strict: bool,
) -> Result<LoadReport, CheckpointError> {
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    let mut pairs = Vec::new();
    for (k, t) in targets {
        match loaded.remove(k) {
            None => missing.push(k.clone()),
            Some(src) if src.shape() != t.shape() => {
                mismatched.push((k.clone(), src.shape().to_vec(), t.shape().to_vec()))
            }
            Some(src) => pairs.push((t.clone(), src)),
        }
    }
    let unexpected: Vec<String> = loaded.into_keys().collect();
    if !mismatched.is_empty() || (strict && (!missing.is_empty() || !unexpected.is_empty())) {
        return Err(CheckpointError::Mismatch {
            missing,
            unexpected,
            mismatched,
        });
    }
    tandem_core::autograd::no_grad(|| {
        for (dst, src) in &pairs {
            dst.detach().copy_(src);
        }
    });
    Ok(LoadReport {
        missing,
        unexpected,
    })
}
