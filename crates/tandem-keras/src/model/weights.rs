//! `save_weights` and `load_weights`: every weight (trainable first, then the moving
//! statistics) in a safetensors file, named by position.

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
    /// Saves the weights (safetensors, atomic write).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let named = named_weights(&self.weights());
        Ok(tandem_nn::save_safetensors(&named, path.as_ref())?)
    }

    /// Loads weights written by `save_weights` into this (built) model.
    pub fn load_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let mut loaded = tandem_nn::load_safetensors(path.as_ref())?;
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
