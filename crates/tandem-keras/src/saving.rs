//! `keras.saving`: whole `Sequential` models in Keras 3's `.keras` archive, a zip of
//! `metadata.json`, `config.json` (the model and each layer's `get_config()`) and
//! `model.weights.h5` (the weights, as [`Model::save_weights`](crate::Model::save_weights)
//! writes them).
//!
//! ```
//! use tandem_keras::{layers::Dense, saving, Sequential};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("m.keras");
//! let mut model = Sequential::new(vec![
//!     Box::new(Dense::new(8).activation("relu").input_dim(4)),
//!     Box::new(Dense::new(2)),
//! ]);
//! model.save(&path).unwrap();                          // model.save("m.keras")
//! let mut back = saving::load_model(&path).unwrap();   // keras.saving.load_model("m.keras")
//! let x = tandem_core::randn(&[3, 4]);
//! assert_eq!(model.predict(&x).to_vec::<f32>(), back.predict(&x).to_vec::<f32>());
//! ```

use crate::error::KerasError;
use crate::layers::{
    ActivationLayer, BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input, Layer,
    MaxPooling2D,
};
use crate::model::h5::{load_weights_h5_bytes, named_layers, weights_h5_bytes};
use crate::Sequential;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;

/// The Keras format version these archives follow (the version that wrote the files the
/// loader was checked against).
const KERAS_FORMAT_VERSION: &str = "3.15.1";

fn archive_error(path: &Path, reason: impl ToString) -> KerasError {
    KerasError::Archive {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl Sequential {
    /// `model.save("m.keras")`: the model's architecture and weights in a `.keras` archive
    /// that `keras.saving.load_model` (and [`load_model`]) read, written atomically. The model
    /// must be built, and every layer one that [`load_model`] knows.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let path = path.as_ref();
        let input_shape = self.net.input_shape.clone().ok_or_else(|| {
            archive_error(
                path,
                "the model is not built yet (call it once or declare an input shape)",
            )
        })?;
        let batch_shape: Vec<Value> = std::iter::once(Value::Null)
            .chain(input_shape.iter().map(|&d| json!(d)))
            .collect();
        let mut layers = vec![json!({
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {"batch_shape": batch_shape, "dtype": "float32", "name": "input_layer"},
            "registered_name": null,
        })];
        let mut shape = input_shape.clone();
        // the names Keras gives the layers, which are also their groups in model.weights.h5
        for (name, layer) in named_layers(&self.net) {
            let Some((class, mut config)) = layer.keras_config() else {
                return Err(archive_error(
                    path,
                    format!(
                        "layer '{}' cannot be saved in a .keras archive",
                        layer.name()
                    ),
                ));
            };
            config["name"] = json!(name);
            config["dtype"] = json!("float32");
            config["trainable"] = json!(true);
            let build_shape: Vec<Value> = std::iter::once(Value::Null)
                .chain(shape.iter().map(|&d| json!(d)))
                .collect();
            layers.push(json!({
                "module": "keras.layers",
                "class_name": class,
                "config": config,
                "registered_name": null,
                "build_config": {"input_shape": build_shape},
            }));
            shape = layer.output_shape(&shape);
        }
        let config = json!({
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": self.name,
                "trainable": true,
                "dtype": "float32",
                "layers": layers,
                "build_input_shape": batch_shape,
            },
            "registered_name": null,
            "build_config": {"input_shape": batch_shape},
        });
        let metadata = json!({"keras_version": KERAS_FORMAT_VERSION, "date_saved": ""});
        let weights = weights_h5_bytes(&self.net, &self.name, path)?;
        tandem_nn::write_atomic(path, |file| {
            let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
            let stored =
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            for (name, bytes) in [
                ("metadata.json", metadata.to_string().into_bytes()),
                ("config.json", config.to_string().into_bytes()),
                ("model.weights.h5", weights),
            ] {
                zip.start_file(name, stored)
                    .map_err(std::io::Error::other)?;
                zip.write_all(&bytes)?;
            }
            zip.finish().map_err(std::io::Error::other)?.flush()
        })?;
        Ok(())
    }
}

/// `keras.saving.load_model("m.keras")`: a `Sequential` model saved by Keras 3 or by
/// [`Sequential::save`], built, with its weights. Layers: `InputLayer`, `Dense`, `Conv2D`,
/// `MaxPooling2D`, `Flatten`, `BatchNormalization`, `Dropout` and `Activation`; any other
/// class, option or model type is an error naming it, never a silently different model.
pub fn load_model(path: impl AsRef<Path>) -> Result<Sequential, KerasError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|source| {
        KerasError::Checkpoint(tandem_nn::CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })
    })?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| archive_error(path, e))?;
    let mut entry = |name: &str| -> Result<Vec<u8>, KerasError> {
        let mut f = zip
            .by_name(name)
            .map_err(|e| archive_error(path, format!("{name}: {e}")))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| archive_error(path, format!("{name}: {e}")))?;
        Ok(bytes)
    };
    let config: Value = serde_json::from_slice(&entry("config.json")?)
        .map_err(|e| archive_error(path, format!("config.json: {e}")))?;
    let weights = entry("model.weights.h5")?;
    let class = config["class_name"].as_str().unwrap_or("");
    if class != "Sequential" {
        return Err(archive_error(
            path,
            format!("only Sequential models can be loaded; this one is a {class}"),
        ));
    }
    let mut input_shape: Option<Vec<usize>> = None;
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    let listed = config["config"]["layers"]
        .as_array()
        .ok_or_else(|| archive_error(path, "config.json: no layer list"))?;
    for l in listed {
        let (class, c) = (l["class_name"].as_str().unwrap_or(""), &l["config"]);
        if class == "InputLayer" {
            input_shape = Some(dims(path, &c["batch_shape"], 1)?);
            continue;
        }
        if input_shape.is_none() {
            // a model saved with `input_shape=` on its first layer
            if let Some(shape) = l["build_config"]["input_shape"].as_array() {
                input_shape = Some(dims(path, &Value::Array(shape.clone()), 1)?);
            }
        }
        layers.push(layer_from_config(path, class, c)?);
    }
    let shape = input_shape.ok_or_else(|| archive_error(path, "config.json: no input shape"))?;
    let mut layers_with_input: Vec<Box<dyn Layer>> = vec![Box::new(Input::new(&shape))];
    layers_with_input.extend(layers);
    let mut model = Sequential::new(layers_with_input);
    if let Some(name) = config["config"]["name"].as_str() {
        model.name = name.to_string();
    }
    load_weights_h5_bytes(&model.net, weights, path)?;
    Ok(model)
}

/// The extents of a JSON shape, skipping the first `skip` (the batch dimension).
fn dims(path: &Path, v: &Value, skip: usize) -> Result<Vec<usize>, KerasError> {
    let items = v
        .as_array()
        .ok_or_else(|| archive_error(path, format!("config.json: not a shape: {v}")))?;
    items
        .iter()
        .skip(skip)
        .map(|d| {
            d.as_u64()
                .map(|d| d as usize)
                .ok_or_else(|| archive_error(path, format!("config.json: not a shape: {v}")))
        })
        .collect()
}

fn pair(path: &Path, v: &Value, what: &str) -> Result<(usize, usize), KerasError> {
    match v {
        Value::Number(n) => n.as_u64().map(|n| (n as usize, n as usize)),
        Value::Array(a) if a.len() == 2 => a[0]
            .as_u64()
            .zip(a[1].as_u64())
            .map(|(x, y)| (x as usize, y as usize)),
        _ => None,
    }
    .ok_or_else(|| archive_error(path, format!("config.json: {what} is {v}")))
}

/// The activation's name; `linear` when absent. A serialized function object (a dict) is not
/// a name tandem can map, and `check_activation` refuses it.
fn activation(c: &Value) -> &str {
    match &c["activation"] {
        Value::Null => "linear",
        Value::String(s) => s,
        _ => "(a serialized function)",
    }
}

/// Refuses an option tandem's layer does not have, rather than build a different model.
fn require(
    path: &Path,
    class: &str,
    c: &Value,
    key: &str,
    allowed: &[Value],
) -> Result<(), KerasError> {
    match c.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(v) if allowed.contains(v) => Ok(()),
        Some(v) => Err(archive_error(
            path,
            format!("{class} with {key}={v} is not supported"),
        )),
    }
}

fn layer_from_config(path: &Path, class: &str, c: &Value) -> Result<Box<dyn Layer>, KerasError> {
    let check_activation = |name: &str| crate::activations::Activation::from_name(name).map(|_| ());
    Ok(match class {
        "Dense" => {
            check_activation(activation(c))?;
            let units = c["units"]
                .as_u64()
                .ok_or_else(|| archive_error(path, "config.json: Dense without units"))?;
            Box::new(
                Dense::new(units as usize)
                    .activation(activation(c))
                    .use_bias(c["use_bias"].as_bool().unwrap_or(true)),
            )
        }
        "Conv2D" => {
            check_activation(activation(c))?;
            require(path, class, c, "data_format", &[json!("channels_last")])?;
            require(path, class, c, "dilation_rate", &[json!([1, 1]), json!(1)])?;
            require(path, class, c, "groups", &[json!(1)])?;
            require(path, class, c, "padding", &[json!("valid"), json!("same")])?;
            let filters = c["filters"]
                .as_u64()
                .ok_or_else(|| archive_error(path, "config.json: Conv2D without filters"))?;
            let mut layer = Conv2D::new(
                filters as usize,
                pair(path, &c["kernel_size"], "kernel_size")?,
            )
            .activation(activation(c))
            .use_bias(c["use_bias"].as_bool().unwrap_or(true))
            .padding(c["padding"].as_str().unwrap_or("valid"));
            if !c["strides"].is_null() {
                layer = layer.strides(pair(path, &c["strides"], "strides")?);
            }
            Box::new(layer)
        }
        "MaxPooling2D" => {
            require(path, class, c, "padding", &[json!("valid")])?;
            require(path, class, c, "data_format", &[json!("channels_last")])?;
            let mut layer = MaxPooling2D::new(pair(path, &c["pool_size"], "pool_size")?);
            if !c["strides"].is_null() {
                layer = layer.strides(pair(path, &c["strides"], "strides")?);
            }
            Box::new(layer)
        }
        "Flatten" => {
            require(path, class, c, "data_format", &[json!("channels_last")])?;
            Box::new(Flatten::new())
        }
        "BatchNormalization" => {
            require(path, class, c, "axis", &[json!(-1), json!([-1])])?;
            require(path, class, c, "center", &[json!(true)])?;
            require(path, class, c, "scale", &[json!(true)])?;
            require(path, class, c, "renorm", &[json!(false)])?;
            Box::new(
                BatchNormalization::new()
                    .momentum(c["momentum"].as_f64().unwrap_or(0.99))
                    .epsilon(c["epsilon"].as_f64().unwrap_or(1e-3)),
            )
        }
        "Dropout" => Box::new(Dropout::new(c["rate"].as_f64().unwrap_or(0.0))),
        "Activation" => {
            check_activation(activation(c))?;
            Box::new(ActivationLayer::new(activation(c)))
        }
        other => {
            return Err(archive_error(
                path,
                format!("layer class {other} cannot be loaded (not among tandem's layers)"),
            ))
        }
    })
}
