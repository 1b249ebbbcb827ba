//! Keras 3's `.weights.h5` layout: one group per layer, `layers/<name>/vars/<i>`, where
//! `<name>` is the layer's snake_case class name with `_1`, `_2`, ... for repeats in layer
//! order (not the name the user gave), and `<i>` counts the layer's weights in
//! `get_weights()` order. Every `vars` group carries a `name` attribute; layers without
//! weights get an empty group; the model's own variables sit in a top-level `vars`.
//! Read and written with `hdf5-pure`, which needs no C library.

use crate::layers::Layer;
use hdf5_pure::{AttrValue, File, FileBuilder};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tandem_core::{autograd, DType, Tensor};
use tandem_nn::CheckpointError;

/// Each layer of `net` with the name Keras gives it (its group in `.weights.h5`).
pub(crate) fn named_layers(net: &dyn Layer) -> Vec<(String, &dyn Layer)> {
    let layers = match net.sublayers() {
        subs if subs.is_empty() => vec![net],
        subs => subs,
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    layers
        .into_iter()
        .map(|l| {
            let class = l.name();
            let n = seen.entry(class.clone()).or_insert(0);
            let name = if *n == 0 {
                class
            } else {
                format!("{class}_{n}")
            };
            *n += 1;
            (name, l)
        })
        .collect()
}

fn format_error(path: &Path, reason: impl ToString) -> CheckpointError {
    CheckpointError::Format {
        path: path.to_path_buf(),
        format: "Keras .weights.h5",
        reason: reason.to_string(),
    }
}

/// The bytes of a `.weights.h5` file holding `net`'s weights, with `model_name` on the
/// top-level `vars` group.
pub(crate) fn weights_h5_bytes(
    net: &dyn Layer,
    model_name: &str,
    path: &Path,
) -> Result<Vec<u8>, CheckpointError> {
    let mut b = FileBuilder::new();
    let mut layers = b.create_group("layers");
    for (name, layer) in named_layers(net) {
        let mut group = layers.create_group(&name);
        let mut vars = group.create_group("vars");
        vars.set_attr("name", AttrValue::String(name.clone()));
        for (i, w) in layer.keras_weights().iter().enumerate() {
            let shape: Vec<u64> = w.shape().iter().map(|&d| d as u64).collect();
            let ds = vars.create_dataset(&i.to_string());
            match w.dtype() {
                DType::Float64 => ds.with_f64_data(&w.to_vec::<f64>()),
                _ => ds.with_f32_data(&w.to_dtype(DType::Float32).to_vec::<f32>()),
            }
            .with_shape(&shape);
        }
        group.add_group(vars.finish());
        layers.add_group(group.finish());
    }
    b.add_group(layers.finish());
    let mut top = b.create_group("vars");
    top.set_attr("name", AttrValue::String(model_name.to_string()));
    b.add_group(top.finish());
    b.finish().map_err(|e| format_error(path, e))
}

/// Writes `net`'s weights to `path` in Keras 3's layout, atomically.
pub(crate) fn save_weights_h5(
    net: &dyn Layer,
    model_name: &str,
    path: &Path,
) -> Result<(), CheckpointError> {
    let bytes = weights_h5_bytes(net, model_name, path)?;
    tandem_nn::write_atomic(path, |f| std::io::Write::write_all(f, &bytes))
}

/// Reads a `.weights.h5` file at `path` into `net`.
pub(crate) fn load_weights_h5(net: &dyn Layer, path: &Path) -> Result<(), CheckpointError> {
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_weights_h5_bytes(net, bytes, path)
}

/// Reads `.weights.h5` bytes (from a file or a `.keras` archive) into `net`: every weight is
/// read and checked before any is copied, so a mismatch leaves the model as it was.
pub(crate) fn load_weights_h5_bytes(
    net: &dyn Layer,
    bytes: Vec<u8>,
    path: &Path,
) -> Result<(), CheckpointError> {
    let file = File::from_bytes(bytes).map_err(|e| format_error(path, e))?;
    let in_file: Vec<String> = match file.group("layers") {
        Ok(g) => g.groups().map_err(|e| format_error(path, e))?,
        Err(_) => Vec::new(),
    };
    let mut unexpected: BTreeMap<String, ()> = in_file
        .iter()
        .map(|name| (format!("layers/{name}"), ()))
        .collect();
    let (mut missing, mut mismatched, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
    for (name, layer) in named_layers(net) {
        let group = format!("layers/{name}");
        unexpected.remove(&group);
        let targets = layer.keras_weights();
        let stored = match file.group(&format!("{group}/vars")) {
            Ok(vars) => vars.datasets().map_err(|e| format_error(path, e))?.len(),
            Err(_) => 0,
        };
        if stored > targets.len() {
            for i in targets.len()..stored {
                unexpected.insert(format!("{group}/vars/{i}"), ());
            }
        }
        for (i, target) in targets.iter().enumerate() {
            let key = format!("{group}/vars/{i}");
            let Ok(ds) = file.dataset(&key) else {
                missing.push(key);
                continue;
            };
            let shape: Vec<usize> = ds
                .shape()
                .map_err(|e| format_error(path, format!("{key}: {e}")))?
                .iter()
                .map(|&d| d as usize)
                .collect();
            if shape != target.shape() {
                mismatched.push((key, shape, target.shape().to_vec()));
                continue;
            }
            let value = match target.dtype() {
                DType::Float64 => ds.read_f64().map(|v| Tensor::from_vec(v, &shape)),
                _ => ds.read_f32().map(|v| Tensor::from_vec(v, &shape)),
            }
            .map_err(|e| format_error(path, format!("{key}: {e}")))?;
            pairs.push((target.clone(), value));
        }
    }
    if !missing.is_empty() || !mismatched.is_empty() {
        return Err(CheckpointError::Mismatch {
            missing,
            unexpected: unexpected.into_keys().collect(),
            mismatched,
        });
    }
    // Groups of layers without weights are not "unexpected" unless they hold weights.
    let extra: Vec<String> = unexpected
        .into_keys()
        .filter(|g| {
            g.contains("/vars/")
                || file
                    .group(&format!("{g}/vars"))
                    .and_then(|v| v.datasets())
                    .is_ok_and(|d| !d.is_empty())
        })
        .collect();
    if !extra.is_empty() {
        return Err(CheckpointError::Mismatch {
            missing,
            unexpected: extra,
            mismatched,
        });
    }
    autograd::no_grad(|| {
        for (dst, src) in &pairs {
            dst.detach().copy_(src);
        }
    });
    Ok(())
}
