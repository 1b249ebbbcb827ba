//! `BackupAndRestore`: resumable training. After every epoch the weights, the optimizer's
//! state and the epoch number go to one safetensors file, written atomically; a `fit` that
//! finds the file (after a crash or `kill -9`) restores them and continues with the next epoch.

use super::{Callback, TrainingState};
use crate::error::KerasError;
use std::collections::BTreeMap;
use std::path::PathBuf;
use tandem_core::{autograd, Tensor};

/// `keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=True)`.
pub struct BackupAndRestore {
    dir: PathBuf,
    delete_checkpoint: bool,
    /// The epoch training resumed after (`None` for a fresh start).
    pub restored_epoch: Option<usize>,
}

const FILE: &str = "backup.safetensors";

impl BackupAndRestore {
    /// Backs up into `backup_dir` (created if needed).
    pub fn new(backup_dir: impl Into<PathBuf>) -> BackupAndRestore {
        BackupAndRestore {
            dir: backup_dir.into(),
            delete_checkpoint: true,
            restored_epoch: None,
        }
    }

    /// Keep the backup after training finishes (Keras deletes it by default).
    pub fn delete_checkpoint(mut self, on: bool) -> BackupAndRestore {
        self.delete_checkpoint = on;
        self
    }

    fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    fn unusable(&self, reason: impl Into<String>) -> KerasError {
        KerasError::Backup {
            path: self.path(),
            reason: reason.into(),
        }
    }
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, state: &mut TrainingState<'_>) -> Result<(), KerasError> {
        let path = self.path();
        if !path.exists() {
            return Ok(());
        }
        let mut saved: BTreeMap<String, Tensor> = tandem_nn::load_safetensors(&path)?;
        let epoch = saved
            .remove("epoch")
            .ok_or_else(|| self.unusable("no 'epoch' entry"))?
            .item::<i64>();
        if let Some(lr) = saved.remove("learning_rate") {
            state.set_learning_rate(lr.item::<f64>());
        }
        let weights = state.weights();
        for (name, w) in &weights {
            let t = saved
                .remove(&format!("weights.{name}"))
                .ok_or_else(|| self.unusable(format!("missing weight {name}")))?;
            if t.shape() != w.shape() {
                return Err(self.unusable(format!(
                    "weight {name} has shape {:?}, the model's has {:?}",
                    t.shape(),
                    w.shape()
                )));
            }
            autograd::no_grad(|| {
                w.detach().copy_(&t);
            });
        }
        let opt: Vec<(String, Tensor)> = saved
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix("optimizer.").map(|k| (k.to_string(), v)))
            .collect();
        state
            .optimizer
            .load_state_dict(&opt)
            .map_err(|e| self.unusable(format!("optimizer state: {e}")))?;
        let epoch = usize::try_from(epoch).map_err(|_| self.unusable("negative epoch"))?;
        state.initial_epoch = state.initial_epoch.max(epoch + 1);
        self.restored_epoch = Some(epoch);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _logs: &[(String, f64)],
        state: &mut TrainingState<'_>,
    ) -> Result<bool, KerasError> {
        // Under a distribution strategy only the chief worker writes files.
        if !state.is_chief() {
            return Ok(false);
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| KerasError::CallbackIo {
            callback: "BackupAndRestore",
            path: self.dir.clone(),
            source,
        })?;
        let mut all: Vec<(String, Tensor)> = state
            .weights()
            .into_iter()
            .map(|(k, v)| (format!("weights.{k}"), v))
            .collect();
        all.extend(
            state
                .optimizer
                .state_dict()
                .into_iter()
                .map(|(k, v)| (format!("optimizer.{k}"), v)),
        );
        all.push(("epoch".into(), Tensor::from_vec(vec![epoch as i64], &[])));
        all.push((
            "learning_rate".into(),
            Tensor::from_vec(vec![state.learning_rate()], &[]),
        ));
        tandem_nn::save_safetensors(&all, &self.path())?;
        Ok(false)
    }

    fn on_train_end(&mut self, state: &mut TrainingState<'_>) -> Result<(), KerasError> {
        if self.delete_checkpoint && state.is_chief() {
            let _ = std::fs::remove_file(self.path());
        }
        Ok(())
    }
}
