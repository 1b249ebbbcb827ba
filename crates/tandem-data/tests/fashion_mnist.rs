//! Fashion-MNIST from the Debian package (`apt-get install dataset-fashion-mnist`).

use tandem_core::DType;
use tandem_data::{fashion_mnist, Source};

#[test]
fn all_70000_images_with_balanced_labels() {
    let dir = fashion_mnist::DEBIAN_DIR;
    let loaded = fashion_mnist::load_from(dir).unwrap_or_else(|e| {
        panic!("{e}\n(install the data with `sudo apt-get install dataset-fashion-mnist`)")
    });
    assert_eq!(loaded.source, Source::Directory(dir.into()));
    let ((x_train, y_train), (x_test, y_test)) = loaded.into_keras();
    assert_eq!(x_train.shape(), &[60000, 28, 28]);
    assert_eq!(y_train.shape(), &[60000]);
    assert_eq!(x_test.shape(), &[10000, 28, 28]);
    assert_eq!(y_test.shape(), &[10000]);
    assert_eq!(x_train.dtype(), DType::UInt8);
    assert_eq!(y_train.dtype(), DType::Int64);

    // Fashion-MNIST is balanced: 6,000 of each class in train, 1,000 in test.
    for (y, per_class) in [(&y_train, 6000), (&y_test, 1000)] {
        let mut hist = [0usize; 10];
        for l in y.to_vec::<i64>() {
            assert!((0..10).contains(&l), "label {l}");
            hist[l as usize] += 1;
        }
        assert_eq!(hist, [per_class; 10]);
    }
    let px = x_test.to_vec::<u8>();
    assert_eq!(px.iter().max(), Some(&255));
    assert_eq!(px.iter().min(), Some(&0));
}
