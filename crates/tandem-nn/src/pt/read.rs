//! `torch.load` of a state dict, weights only.

use super::{natural_order, StateDict};
use crate::state_dict::CheckpointError;
use pytorch_reader::{DType as PtDType, PickleValue, PytorchReader};
use std::path::Path;
use tandem_core::Tensor;

/// `torch.load(path, weights_only=True)` of a saved state dict: every tensor in the file, by
/// dotted name, in natural order (`fc1.bias` before `fc1.weight`, `layers.2` before
/// `layers.10`: the zip does not keep the dict's order). A nested checkpoint such as
/// `{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}` comes back
/// flattened (`model.fc1.weight`, `optimizer.state.0.momentum_buffer`); take one part with
/// [`StateDict::sub`] or load only it with [`load_key`]. Values that are not tensors (the
/// epoch) are skipped.
///
/// float16 and bfloat16 tensors are widened to float32, and the narrow integer types to
/// int32 or int64, tandem's nearest dtypes; uint64 is refused ([`CheckpointError::Dtype`]);
/// every other dtype loads as it was saved.
///
/// # Errors
/// [`CheckpointError::Io`] when the file cannot be read, [`CheckpointError::Format`] when it
/// is not a PyTorch checkpoint (truncated, corrupt, a storage the pickle does not match), and
/// [`CheckpointError::UnsafeGlobal`] when the pickle names a global outside the weights-only
/// set. Nothing in the pickle is executed.
pub fn load(path: impl AsRef<Path>) -> Result<StateDict, CheckpointError> {
    load_at(path.as_ref(), None)
}

/// `torch.load(path, weights_only=True)[key]`: the state dict stored under one top-level key
/// of a checkpoint dict, such as `"model"` or `"state_dict"`.
///
/// # Errors
/// As [`load`]; a missing key is [`CheckpointError::Format`] naming it.
pub fn load_key(path: impl AsRef<Path>, key: &str) -> Result<StateDict, CheckpointError> {
    load_at(path.as_ref(), Some(key))
}

fn load_at(path: &Path, key: Option<&str>) -> Result<StateDict, CheckpointError> {
    let format = |reason: String| CheckpointError::Format {
        path: path.to_path_buf(),
        format: "PyTorch checkpoint",
        reason,
    };
    if let Err(source) = std::fs::File::open(path).and_then(|f| {
        if f.metadata()?.is_dir() {
            Err(std::io::Error::other("is a directory"))
        } else {
            Ok(())
        }
    }) {
        return Err(CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    // Every global the pickle names is checked before the reader parses it: from the opcodes
    // of a zip checkpoint's `data.pkl` (the reader maps some objects, such as modules, to plain
    // values, which would hide them), else from the values the reader makes of older layouts.
    let global = match zipped_pickle(path).map_err(format)? {
        Some(pickle) => super::globals::first_disallowed(&pickle).map_err(format)?,
        None => first_disallowed(
            &PytorchReader::read_pickle_data(path, key).map_err(|e| format(e.to_string()))?,
        ),
    };
    if let Some(global) = global {
        return Err(CheckpointError::UnsafeGlobal {
            path: path.to_path_buf(),
            global,
        });
    }
    let reader = match key {
        Some(k) => PytorchReader::with_top_level_key(path, k),
        None => PytorchReader::new(path),
    }
    .map_err(|e| format(e.to_string()))?;
    let mut entries = Vec::with_capacity(reader.len());
    for (name, t) in reader.into_tensors() {
        if t.dtype() == PtDType::U64 {
            // no wider signed type holds every uint64
            return Err(CheckpointError::Dtype {
                path: path.to_path_buf(),
                key: name,
                dtype: "uint64".into(),
            });
        }
        let bytes = t.read().map_err(|e| format(e.to_string()))?;
        entries.push((name, to_tensor(t.dtype(), t.shape(), &bytes)));
    }
    entries.sort_by(|(a, _), (b, _)| natural_order(a, b));
    Ok(StateDict(entries))
}

/// The `data.pkl` of a zip checkpoint (PyTorch ≥ 1.6); `None` for the older layouts.
fn zipped_pickle(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let Ok(mut zip) = zip::ZipArchive::new(file) else {
        return Ok(None);
    };
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .find(|n| n == "data.pkl" || n.ends_with("/data.pkl"))
        .ok_or("no data.pkl in the archive")?;
    let mut entry = zip.by_name(&name).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(|e| e.to_string())?;
    Ok(Some(bytes))
}

/// The types a weights-only unpickler lets through, as the reader names them; plain values
/// (numbers, strings, lists, dicts) are never `Unsupported`.
fn allowed(name: &str) -> bool {
    match name.strip_prefix("torch.") {
        Some(rest) => {
            matches!(
                rest,
                "Tensor" | "TypedStorage" | "UntypedStorage" | "device" | "Size"
            ) || super::globals::TORCH_DTYPES.contains(&rest)
        }
        // an `int` wider than 64 bits is still a plain Python int; protocol 2 pickles `bytes`
        // as `_codecs.encode(...)`, and `Counter` is a dict; both are in PyTorch's set
        None => matches!(name, "int" | "_codecs.encode" | "collections.Counter"),
    }
}

fn first_disallowed(v: &PickleValue) -> Option<String> {
    match v {
        PickleValue::Unsupported(name) if !allowed(name) => Some(name.clone()),
        PickleValue::List(items) => items.iter().find_map(first_disallowed),
        PickleValue::Dict(map) => {
            // deterministic: report the first offender by key
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.into_iter().find_map(|k| first_disallowed(&map[k]))
        }
        _ => None,
    }
}

/// A tensor from the reader's native-endian, contiguous bytes.
fn to_tensor(dtype: PtDType, shape: &[usize], b: &[u8]) -> Tensor {
    fn words<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        b.chunks_exact(N)
            .map(|c| f(c.try_into().expect("chunk of N bytes")))
            .collect()
    }
    match dtype {
        PtDType::F32 => Tensor::from_vec(words(b, f32::from_ne_bytes), shape),
        PtDType::F64 => Tensor::from_vec(words(b, f64::from_ne_bytes), shape),
        PtDType::F16 => Tensor::from_vec(words(b, |w| half::f16::from_ne_bytes(w).to_f32()), shape),
        PtDType::BF16 => {
            Tensor::from_vec(words(b, |w| half::bf16::from_ne_bytes(w).to_f32()), shape)
        }
        PtDType::I64 => Tensor::from_vec(words(b, i64::from_ne_bytes), shape),
        PtDType::I32 => Tensor::from_vec(words(b, i32::from_ne_bytes), shape),
        PtDType::I16 => Tensor::from_vec(words(b, |w| i32::from(i16::from_ne_bytes(w))), shape),
        PtDType::I8 => Tensor::from_vec(words(b, |w| i32::from(i8::from_ne_bytes(w))), shape),
        PtDType::U64 => unreachable!("uint64 is refused before conversion"),
        PtDType::U32 => Tensor::from_vec(words(b, |w| i64::from(u32::from_ne_bytes(w))), shape),
        PtDType::U16 => Tensor::from_vec(words(b, |w| i32::from(u16::from_ne_bytes(w))), shape),
        PtDType::U8 => Tensor::from_vec(b.to_vec(), shape),
        PtDType::Bool => Tensor::from_vec(b.iter().map(|&v| v != 0).collect::<Vec<bool>>(), shape),
    }
}
