//! `save_weights` and `load_weights`: Keras 3's `.weights.h5` (see [`super::h5`]) when the
//! file name ends in `.h5`, else every weight (trainable first, then the moving statistics)
//! in a safetensors file, named by position.

use super::Model;
use crate::error::KerasError;
use crate::layers::Layer;
use std::path::Path;
use tandem_core::{autograd, Tensor};

/// Weights named as `save_weights` writes them (`weight_0`, `weight_1`, ... in layer order).
pub(crate) fn named_weights(weights: &[Tensor]) -> Vec<(String, Tensor)> {
    weights
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("weight_{i}"), t.clone()))
        .collect()
}

impl<L: Layer> Model<L> {
    /// `model.save_weights(path)`, atomically: Keras 3's HDF5 layout for a `.weights.h5` (or
    /// any `.h5`) path, which Keras's `load_weights` reads, else safetensors.
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let path = path.as_ref();
        if is_h5(path) {
            return Ok(super::h5::save_weights_h5(&self.net, &self.name, path)?);
        }
        let named = named_weights(&self.weights());
        Ok(tandem_nn::save_safetensors(&named, path)?)
    }

    /// `model.load_weights(path)` into this (built) model: a `.weights.h5` written by Keras 3
    /// (or by `save_weights`), or a safetensors file written by `save_weights`. Shapes and
    /// names are checked before anything is copied.
    pub fn load_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let path = path.as_ref();
        if is_h5(path) {
            return Ok(super::h5::load_weights_h5(&self.net, path)?);
        }
        let mut loaded = tandem_nn::load_safetensors(path)?;
        let vars = self.weights();
        let mut missing = Vec::new();
        let mut mismatched = Vec::new();
        for (i, v) in vars.iter().enumerate() {
            match loaded.remove(&format!("weight_{i}")) {
                Some(t) if t.shape() == v.shape() => autograd::no_grad(|| {
                    v.detach().copy_(&t);
                }),
                Some(t) => mismatched.push((
                    format!("weight_{i}"),
                    t.shape().to_vec(),
                    v.shape().to_vec(),
                )),
                None => missing.push(format!("weight_{i}")),
            }
        }
        let unexpected: Vec<String> = loaded.into_keys().collect();
        if missing.is_empty() && mismatched.is_empty() && unexpected.is_empty() {
            Ok(())
        } else {
            Err(tandem_nn::CheckpointError::Mismatch {
                missing,
                unexpected,
                mismatched,
            }
            .into())
        }
    }
}

fn is_h5(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "h5")
}
