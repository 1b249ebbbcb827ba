//! Callbacks run at the end of each epoch of `fit`.

/// Something that watches training (`keras.callbacks.Callback`).
pub trait Callback {
    /// Called after each epoch with its logs (`loss`, metrics, `val_*`); returning `true`
    /// stops training.
    fn on_epoch_end(&mut self, epoch: usize, logs: &[(String, f64)]) -> bool;
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
    fn on_epoch_end(&mut self, epoch: usize, logs: &[(String, f64)]) -> bool {
        let Some(&(_, v)) = logs.iter().find(|(k, _)| *k == self.monitor) else {
            return false;
        };
        let higher_better = self.monitor.contains("acc");
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
    fn on_epoch_end(&mut self, _epoch: usize, logs: &[(String, f64)]) -> bool {
        logs.iter().any(|(k, v)| k == "loss" && !v.is_finite())
    }
}
