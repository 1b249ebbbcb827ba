//! The MNIST sample embedded in the crate.

use tandem_core::DType;
use tandem_data::{mnist, Source};

fn histogram(labels: &[i64]) -> [usize; 10] {
    let mut h = [0; 10];
    for &l in labels {
        assert!((0..10).contains(&l), "label {l} outside 0..10");
        h[l as usize] += 1;
    }
    h
}

#[test]
fn sample_shapes_and_dtypes() {
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_sample();
    assert_eq!(x_train.shape(), &[8000, 28, 28]);
    assert_eq!(y_train.shape(), &[8000]);
    assert_eq!(x_test.shape(), &[2000, 28, 28]);
    assert_eq!(y_test.shape(), &[2000]);
    assert_eq!(x_train.dtype(), DType::UInt8);
    assert_eq!(x_test.dtype(), DType::UInt8);
    assert_eq!(y_train.dtype(), DType::Int64);
    assert_eq!(y_test.dtype(), DType::Int64);
}

#[test]
fn sample_has_every_class_in_both_splits() {
    let ((_, y_train), (_, y_test)) = mnist::load_sample();
    let train = histogram(&y_train.to_vec::<i64>());
    let test = histogram(&y_test.to_vec::<i64>());
    for c in 0..10 {
        assert!(train[c] > 0, "class {c} missing from train: {train:?}");
        assert!(test[c] > 0, "class {c} missing from test: {test:?}");
    }
    assert_eq!(train.iter().sum::<usize>(), 8000);
    assert_eq!(test.iter().sum::<usize>(), 2000);
}

#[test]
fn sample_pixels_span_the_byte_range() {
    let ((x_train, _), (x_test, _)) = mnist::load_sample();
    for x in [x_train, x_test] {
        let px = x.to_vec::<u8>();
        assert_eq!(px.iter().max(), Some(&255));
        assert_eq!(px.iter().min(), Some(&0));
        // Digits are mostly background: well over half the pixels of MNIST are 0.
        let zeros = px.iter().filter(|&&p| p == 0).count();
        assert!(zeros * 2 > px.len(), "{zeros} zeros of {}", px.len());
        // ... and every image has ink.
        for img in px.chunks_exact(784) {
            assert!(img.iter().any(|&p| p > 128));
        }
    }
}

#[test]
fn sample_reports_its_source() {
    let loaded = mnist::sample();
    assert_eq!(loaded.source, Source::Sample);
    assert_eq!(loaded.x_train.shape()[0], loaded.y_train.shape()[0]);
}

#[test]
fn vendored_files_load_from_a_directory_identically() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-sample");
    let loaded = mnist::load_from(&dir).expect("the vendored files load");
    assert_eq!(loaded.source, Source::Directory(dir));
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_sample();
    assert_eq!(loaded.x_train.to_vec::<u8>(), x_train.to_vec::<u8>());
    assert_eq!(loaded.y_train.to_vec::<i64>(), y_train.to_vec::<i64>());
    assert_eq!(loaded.x_test.to_vec::<u8>(), x_test.to_vec::<u8>());
    assert_eq!(loaded.y_test.to_vec::<i64>(), y_test.to_vec::<i64>());
}
