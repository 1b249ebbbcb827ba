//! The seed's Keras model trained with `fit` and the callbacks a long run wants: resumable
//! training (`BackupAndRestore`), the best weights (`ModelCheckpoint`), a CSV log, TensorBoard
//! event files and a learning-rate schedule. Kill it at any moment (even `kill -9`) and run
//! it again with the same directory: it continues after the last finished epoch.
//!
//! Run: `cargo run --release --example keras_callbacks -- OUT_DIR [epochs]`, then
//! `tensorboard --logdir OUT_DIR/tensorboard`.

use tandem::tf::keras::{
    self,
    callbacks::{BackupAndRestore, CSVLogger, LearningRateScheduler, ModelCheckpoint, TensorBoard},
    layers::{Dense, Flatten},
};
use tandem::{tf, Tensor};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: keras_callbacks OUT_DIR [epochs]")?,
    );
    let epochs: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(4);
    std::fs::create_dir_all(&out)?;
    tf::random::set_seed(1);

    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_sample();
    let (x_train, x_test) = (x_train.float() / 255.0, x_test.float() / 255.0);

    let mut model = keras::Sequential::new(vec![
        Box::new(Flatten::new().input_shape(&[28, 28])),
        Box::new(Dense::new(520).activation("relu")),
        Box::new(Dense::new(320).activation("relu")),
        Box::new(Dense::new(240).activation("relu")),
        Box::new(Dense::new(120).activation("relu")),
        Box::new(Dense::new(10)),
    ]);
    model.compile(
        keras::optimizers::Adam(1e-3),
        keras::losses::SparseCategoricalCrossentropy(true),
        &["accuracy"],
    )?;

    let mut backup = BackupAndRestore::new(out.join("backup"));
    let mut best = ModelCheckpoint::new(out.join("best.safetensors").to_str().ok_or("path")?)
        .monitor("val_accuracy")
        .save_best_only(true);
    let mut csv = CSVLogger::new(out.join("log.csv")).append(true);
    let mut board = TensorBoard::new(out.join("tensorboard"));
    let mut schedule =
        LearningRateScheduler::new(|epoch, lr| if epoch < 2 { lr } else { lr * 0.7 });
    let history = model.fit(
        &x_train,
        &y_train,
        keras::FitArgs {
            epochs,
            batch_size: 64,
            verbose: 2,
            validation_data: Some((&x_test, &y_test)),
            // The backup goes last: when it exists, everything else of that epoch is written.
            callbacks: vec![&mut schedule, &mut best, &mut csv, &mut board, &mut backup],
            ..Default::default()
        },
    )?;
    if let Some(e) = backup.restored_epoch {
        println!("resumed after epoch {}", e + 1);
    }
    println!(
        "epochs run: {:?}",
        history.epoch.iter().map(|e| e + 1).collect::<Vec<_>>()
    );
    println!(
        "final test accuracy: {:.4}",
        accuracy(&mut model, &x_test, &y_test)
    );
    Ok(())
}

fn accuracy(model: &mut keras::Sequential, x: &Tensor, y: &Tensor) -> f64 {
    let logits = model.predict(x);
    tf::math::argmax(&logits, 1)
        .eq(y)
        .float()
        .mean()
        .item::<f32>() as f64
}
