//! Times one shuffled epoch of Fashion-MNIST train (60,000 images) in batches of 64.
//!
//! ```sh
//! cargo run --release -p tandem-data --example loader_epoch
//! ```

use std::sync::Arc;
use std::time::Instant;
use tandem_data::{fashion_mnist, DataLoader, TensorDataset};

fn main() -> Result<(), tandem_data::DataError> {
    let start = Instant::now();
    let ((x_train, y_train), _) = fashion_mnist::load_data()?;
    println!(
        "loaded {:?} images in {:.0?}",
        x_train.shape(),
        start.elapsed()
    );

    let dataset = Arc::new(TensorDataset::new(x_train, y_train)?);
    let loader = DataLoader::new(dataset, 64).shuffle(true).seed(42);
    for epoch in 0..3 {
        let start = Instant::now();
        let (mut batches, mut samples, mut checksum) = (0usize, 0usize, 0i64);
        for (x, y) in &loader {
            batches += 1;
            samples += x.shape()[0];
            checksum += y.to_vec::<i64>()[0];
        }
        println!(
            "epoch {epoch}: {batches} batches, {samples} samples in {:.1?} (checksum {checksum})",
            start.elapsed()
        );
    }
    Ok(())
}
