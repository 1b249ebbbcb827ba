//! Fixtures and models several test files use.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use tandem_core::DType;
use tandem_keras::layers::{Conv2D, Dense, Flatten, MaxPooling2D};
use tandem_keras::Sequential;

/// A file under `tests/fixtures/formats` (written by Keras 3 through
/// `tools/goldens/gen_format_goldens.py`).
pub fn format_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

/// The tf2 11-1 CNN (Conv 16@3x3 relu, max-pool, Conv 32@3x3 relu, max-pool, flatten,
/// dense 10), built for 28x28x1 inputs.
pub fn cnn_11_1() -> Sequential {
    let mut m = Sequential::new(vec![
        Box::new(
            Conv2D::new(16, 3)
                .activation("relu")
                .input_shape(&[28, 28, 1]),
        ),
        Box::new(MaxPooling2D::new(2)),
        Box::new(Conv2D::new(32, 3).activation("relu")),
        Box::new(MaxPooling2D::new(2)),
        Box::new(Flatten::new()),
        Box::new(Dense::new(10)),
    ]);
    m.predict(&tandem_core::zeros(&[1, 28, 28, 1], DType::Float32));
    m
}
