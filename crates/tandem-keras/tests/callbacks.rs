//! Callbacks: checkpoints, CSV logs, learning-rate schedules, backup and restore.

use tandem_core::Tensor;
use tandem_keras::layers::Dense;
use tandem_keras::{
    BackupAndRestore, CSVLogger, Callback, FitArgs, KerasError, LearningRateScheduler,
    ModelCheckpoint, Sequential, TrainingState,
};

/// A small regression problem whose validation loss keeps falling for a while.
fn problem() -> (Tensor, Tensor) {
    let x = Tensor::from_vec((0..64).map(|i| i as f32 / 64.0).collect(), &[64, 1]);
    let y = &(&x * -3.0) + 0.5;
    (x, y)
}

fn model(seed: u64) -> Sequential {
    tandem_core::manual_seed(seed);
    let mut m = Sequential::new(vec![
        Box::new(Dense::new(8).activation("tanh").input_dim(1)),
        Box::new(Dense::new(1)),
    ]);
    m.compile(tandem_keras::optimizers::Adam(0.01), "mse", &["mae"])
        .unwrap();
    m
}

fn args<'a>(epochs: usize, callbacks: Vec<&'a mut dyn Callback>) -> FitArgs<'a> {
    FitArgs {
        epochs,
        batch_size: 16,
        verbose: 0,
        validation_split: 0.25,
        callbacks,
        ..Default::default()
    }
}

#[test]
fn model_checkpoint_saves_only_improvements_and_the_file_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("w-{epoch:02d}.safetensors");
    let (x, y) = problem();
    let mut m = model(1);
    let mut ckpt = ModelCheckpoint::new(pattern.to_str().unwrap()).save_best_only(true);
    let h = m.fit(&x, &y, args(12, vec![&mut ckpt])).unwrap();
    // The epochs that set a new best val_loss, from the history itself.
    let mut best = f64::INFINITY;
    let mut improved = Vec::new();
    for (e, &v) in h.get("val_loss").unwrap().iter().enumerate() {
        if v < best {
            best = v;
            improved.push(e);
        }
    }
    let want: Vec<std::path::PathBuf> = improved
        .iter()
        .map(|e| dir.path().join(format!("w-{:02}.safetensors", e + 1)))
        .collect();
    assert_eq!(ckpt.saved, want);
    for p in &want {
        assert!(p.exists(), "{p:?}");
    }
    // The last file holds the weights of the best epoch; loading it into another model works.
    let mut other = model(2);
    other.call(&x, false);
    other.load_weights(want.last().unwrap()).unwrap();
}

#[test]
fn csv_logger_writes_a_header_and_one_row_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let (x, y) = problem();
    let mut m = model(3);
    let mut log = CSVLogger::new(&path);
    let h = m.fit(&x, &y, args(3, vec![&mut log])).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,loss,mae,val_loss,val_mae");
    assert_eq!(lines.len(), 4);
    for (e, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], e.to_string());
        let loss: f64 = cells[1].parse().unwrap();
        assert_eq!(loss, h.loss()[e]);
        let val: f64 = cells[3].parse().unwrap();
        assert_eq!(val, h.get("val_loss").unwrap()[e]);
    }
}

/// Records the learning rate each epoch ended with.
struct LrProbe(Vec<f64>);
impl Callback for LrProbe {
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &[(String, f64)],
        state: &mut TrainingState<'_>,
    ) -> Result<bool, KerasError> {
        self.0.push(state.learning_rate());
        Ok(false)
    }
}

#[test]
fn learning_rate_scheduler_sets_the_rate_before_each_epoch() {
    let (x, y) = problem();
    let mut m = model(4);
    let mut sched = LearningRateScheduler::new(|epoch, lr| if epoch == 0 { lr } else { lr * 0.5 });
    let mut probe = LrProbe(Vec::new());
    m.fit(&x, &y, args(4, vec![&mut sched, &mut probe]))
        .unwrap();
    assert_eq!(probe.0, vec![0.01, 0.005, 0.0025, 0.00125]);
}

#[test]
fn backup_and_restore_resumes_where_training_stopped_and_matches_an_uninterrupted_run() {
    let (x, y) = problem();
    // Uninterrupted: 5 epochs.
    let mut whole = model(5);
    let h_whole = whole.fit(&x, &y, args(5, vec![])).unwrap();

    // Interrupted after 2 epochs (the backup is kept, as after a crash) ...
    let dir = tempfile::tempdir().unwrap();
    let mut first = model(5);
    let mut backup = BackupAndRestore::new(dir.path()).delete_checkpoint(false);
    first.fit(&x, &y, args(2, vec![&mut backup])).unwrap();
    assert_eq!(backup.restored_epoch, None);

    // ... then a fresh process: a model with other initial weights, the same backup dir.
    let mut resumed = model(99);
    let mut backup = BackupAndRestore::new(dir.path());
    let h = resumed.fit(&x, &y, args(5, vec![&mut backup])).unwrap();
    assert_eq!(backup.restored_epoch, Some(1));
    assert_eq!(h.epoch, vec![2, 3, 4]);
    assert_eq!(h.loss(), &h_whole.loss()[2..]);
    for (a, b) in resumed
        .trainable_variables()
        .iter()
        .zip(whole.trainable_variables().iter())
    {
        assert_eq!(a.to_vec::<f32>(), b.to_vec::<f32>());
    }
    assert!(
        !dir.path().join("backup.safetensors").exists(),
        "a finished fit deletes its backup"
    );
}

#[test]
fn a_backup_of_another_model_is_a_clear_error() {
    let (x, y) = problem();
    let dir = tempfile::tempdir().unwrap();
    let mut m = model(6);
    let mut backup = BackupAndRestore::new(dir.path()).delete_checkpoint(false);
    m.fit(&x, &y, args(1, vec![&mut backup])).unwrap();
    tandem_core::manual_seed(7);
    let mut wider = Sequential::new(vec![
        Box::new(Dense::new(16).activation("tanh").input_dim(1)),
        Box::new(Dense::new(1)),
    ]);
    wider.compile("adam", "mse", &[]).unwrap();
    let mut backup = BackupAndRestore::new(dir.path());
    let e = wider.fit(&x, &y, args(2, vec![&mut backup])).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("backup.safetensors") && msg.contains("shape"),
        "{msg}"
    );
}
