//! Callbacks that watch and steer `fit`: early stopping, checkpoints, logs, learning-rate
//! schedules, TensorBoard event files and resumable training.

mod backup;
mod checkpoint;
mod csv_logger;
mod tensorboard;

pub use backup::BackupAndRestore;
pub use checkpoint::ModelCheckpoint;
pub use csv_logger::CSVLogger;
pub use tensorboard::TensorBoard;

use crate::error::KerasError;
use std::path::Path;
use tandem_core::Tensor;

/// What a callback may see and change of the model being trained (Keras's `self.model`).
pub struct TrainingState<'a> {
    pub(crate) weights: Vec<Tensor>,
    pub(crate) optimizer: &'a mut dyn tandem_nn::optim::Optimizer,
    pub(crate) initial_epoch: usize,
    pub(crate) chief: bool,
}

impl TrainingState<'_> {
    /// All weights (trainable, then non-trainable), named as `save_weights` names them.
    pub fn weights(&self) -> Vec<(String, Tensor)> {
        crate::model::named_weights(&self.weights)
    }

    /// Writes the weights as `Model::save_weights` does (safetensors, atomic).
    pub fn save_weights(&self, path: &Path) -> Result<(), KerasError> {
        Ok(tandem_nn::save_safetensors(&self.weights(), path)?)
    }

    /// The optimizer's current learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.optimizer.lr()
    }

    /// Sets the optimizer's learning rate (what `LearningRateScheduler` does).
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.set_lr(lr);
    }

    /// Whether this worker writes files: always, except on the other workers of a
    /// distribution strategy.
    pub fn is_chief(&self) -> bool {
        self.chief
    }

    /// The epoch `fit` starts from; a callback may move it forward in `on_train_begin`.
    pub fn initial_epoch(&self) -> usize {
        self.initial_epoch
    }
}

/// Something that watches training (`keras.callbacks.Callback`). Every hook has a default
/// that does nothing, so a callback implements only what it needs.
pub trait Callback {
    /// Before the first epoch; may restore state and move the initial epoch.
    fn on_train_begin(&mut self, _state: &mut TrainingState<'_>) -> Result<(), KerasError> {
        Ok(())
    }

    /// Before each epoch.
    fn on_epoch_begin(
        &mut self,
        _epoch: usize,
        _state: &mut TrainingState<'_>,
    ) -> Result<(), KerasError> {
        Ok(())
    }

    /// After each epoch with its logs (`loss`, metrics, `val_*`); `Ok(true)` stops training.
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &[(String, f64)],
        _state: &mut TrainingState<'_>,
    ) -> Result<bool, KerasError> {
        Ok(false)
    }

    /// After the last epoch (also when a callback stopped training early).
    fn on_train_end(&mut self, _state: &mut TrainingState<'_>) -> Result<(), KerasError> {
        Ok(())
    }
}

/// Which way a monitored value improves: Keras's `mode="auto"` rule (accuracies and other
/// `acc`/`auc`/`precision`/`recall` logs go up, everything else goes down).
pub(crate) fn higher_is_better(monitor: &str) -> bool {
    ["acc", "auc", "precision", "recall"]
        .iter()
        .any(|k| monitor.contains(k))
}

/// `logs[name]`.
pub(crate) fn log_value(logs: &[(String, f64)], name: &str) -> Option<f64> {
    logs.iter().find(|(k, _)| k == name).map(|&(_, v)| v)
}

/// `EarlyStopping(monitor='val_loss', patience)`: stops when the monitored value has not
/// improved (decreased, or increased for accuracies) for `patience` epochs.
pub struct EarlyStopping {
    /// Which log to watch.
    pub monitor: String,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    pub min_delta: f64,
    best: Option<f64>,
    wait: usize,
    /// The epoch training stopped at, if it did.
    pub stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Watches `monitor` with `patience`.
    pub fn new(monitor: &str, patience: usize) -> EarlyStopping {
        EarlyStopping {
            monitor: monitor.into(),
            patience,
            min_delta: 0.0,
            best: None,
            wait: 0,
            stopped_epoch: None,
        }
    }
}

impl Callback for EarlyStopping {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &[(String, f64)],
        _state: &mut TrainingState<'_>,
    ) -> Result<bool, KerasError> {
        Ok(self.observe(epoch, logs))
    }
}

impl EarlyStopping {
    fn observe(&mut self, epoch: usize, logs: &[(String, f64)]) -> bool {
        let Some(v) = log_value(logs, &self.monitor) else {
            return false;
        };
        let higher_better = higher_is_better(&self.monitor);
        let improved = match self.best {
            None => true,
            Some(b) => {
                if higher_better {
                    v > b + self.min_delta
                } else {
                    v < b - self.min_delta
                }
            }
        };
        if improved {
            self.best = Some(v);
            self.wait = 0;
            return false;
        }
        self.wait += 1;
        if self.wait >= self.patience {
            self.stopped_epoch = Some(epoch);
            return true;
        }
        false
    }
}

/// `TerminateOnNaN()`: stops when the loss becomes NaN or infinite.
#[derive(Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &[(String, f64)],
        _state: &mut TrainingState<'_>,
    ) -> Result<bool, KerasError> {
        Ok(logs.iter().any(|(k, v)| k == "loss" && !v.is_finite()))
    }
}

/// `LearningRateScheduler(schedule)`: sets the learning rate before each epoch to
/// `schedule(epoch, current_lr)`.
pub struct LearningRateScheduler<F: FnMut(usize, f64) -> f64> {
    schedule: F,
}

impl<F: FnMut(usize, f64) -> f64> LearningRateScheduler<F> {
    /// Calls `schedule(epoch, lr)` at the start of every epoch.
    pub fn new(schedule: F) -> Self {
        LearningRateScheduler { schedule }
    }
}

impl<F: FnMut(usize, f64) -> f64> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(
        &mut self,
        epoch: usize,
        state: &mut TrainingState<'_>,
    ) -> Result<(), KerasError> {
        let lr = (self.schedule)(epoch, state.learning_rate());
        state.set_learning_rate(lr);
        Ok(())
    }
}
