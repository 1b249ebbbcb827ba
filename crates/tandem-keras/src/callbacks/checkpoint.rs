//! `ModelCheckpoint`: saves the weights after each epoch, or only when the monitored value
//! improves.

use super::{higher_is_better, log_value, Callback, TrainingState};
use crate::error::KerasError;
use std::path::PathBuf;

/// `keras.callbacks.ModelCheckpoint(filepath, monitor="val_loss", save_best_only=False)`.
///
/// `filepath` may contain `{epoch}` or `{epoch:02d}` (the 1-based epoch number, as Keras
/// formats it). Writes are atomic (a temporary file renamed over the target), so a crash never
/// leaves a half-written checkpoint behind.
pub struct ModelCheckpoint {
    filepath: String,
    monitor: String,
    save_best_only: bool,
    best: Option<f64>,
    /// The files written so far, in order.
    pub saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves to `filepath` after every epoch.
    pub fn new(filepath: &str) -> ModelCheckpoint {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: "val_loss".into(),
            save_best_only: false,
            best: None,
            saved: Vec::new(),
        }
    }

    /// The log to judge improvement by (default `val_loss`).
    pub fn monitor(mut self, monitor: &str) -> ModelCheckpoint {
        self.monitor = monitor.into();
        self
    }

    /// Saves only when the monitored value improves on the best so far.
    pub fn save_best_only(mut self, on: bool) -> ModelCheckpoint {
        self.save_best_only = on;
        self
    }

    fn path_for(&self, epoch: usize) -> PathBuf {
        let n = epoch + 1;
        PathBuf::from(
            self.filepath
                .replace("{epoch:02d}", &format!("{n:02}"))
                .replace("{epoch:03d}", &format!("{n:03}"))
                .replace("{epoch}", &n.to_string()),
        )
    }
}

impl Callback for ModelCheckpoint {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &[(String, f64)],
        state: &mut TrainingState<'_>,
    ) -> Result<bool, KerasError> {
        if self.save_best_only {
            let Some(v) = log_value(logs, &self.monitor) else {
                return Ok(false);
            };
            let better = match self.best {
                None => !v.is_nan(),
                Some(b) if higher_is_better(&self.monitor) => v > b,
                Some(b) => v < b,
            };
            if !better {
                return Ok(false);
            }
            self.best = Some(v);
        }
        // Under a distribution strategy only the chief worker writes files.
        if !state.is_chief() {
            return Ok(false);
        }
        let path = self.path_for(epoch);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| KerasError::CallbackIo {
                callback: "ModelCheckpoint",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        state.save_weights(&path)?;
        self.saved.push(path);
        Ok(false)
    }
}
