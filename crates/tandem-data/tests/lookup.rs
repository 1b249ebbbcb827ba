//! Where `load_data()` looks. Environment variables are process-wide, so this binary holds a
//! single test.

use std::path::Path;
use tandem_data::idx::encode_u8;
use tandem_data::{fashion_mnist, mnist, DataError, Source, FILES};

/// Writes a tiny MNIST-shaped dataset (3 train, 2 test images) into `dir`, gzip or raw.
fn write_tiny(dir: &Path, skip: Option<usize>) {
    std::fs::create_dir_all(dir).unwrap();
    let contents = [
        encode_u8(&[3, 28, 28], &vec![7u8; 3 * 784]).unwrap(),
        encode_u8(&[3], &[1, 2, 3]).unwrap(),
        encode_u8(&[2, 28, 28], &vec![9u8; 2 * 784]).unwrap(),
        encode_u8(&[2], &[4, 5]).unwrap(),
    ];
    for (i, (name, bytes)) in FILES.iter().zip(contents).enumerate() {
        if Some(i) != skip {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

#[test]
fn lookup_order() {
    let cache = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_CACHE_HOME", cache.path());
    std::env::set_var("TANDEM_DATA", root.path());

    let paths = mnist::search_paths();
    assert_eq!(paths[0], root.path().join("mnist"));
    assert_eq!(paths[1], root.path());
    assert_eq!(paths[2], cache.path().join("tandem/mnist"));
    let fashion = fashion_mnist::search_paths();
    assert_eq!(
        fashion.last().unwrap(),
        Path::new(fashion_mnist::DEBIAN_DIR)
    );

    // Nothing anywhere: MNIST falls back to the embedded sample, and says so.
    let loaded = mnist::load().unwrap();
    assert_eq!(loaded.source, Source::Sample);
    assert_eq!(loaded.x_train.shape(), &[8000, 28, 28]);
    let err = mnist::load_full().unwrap_err();
    assert!(
        matches!(
            err,
            DataError::NotFound {
                dataset: "MNIST",
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&root.path().join("mnist").display().to_string()),
        "{msg}"
    );
    assert!(
        msg.contains(&cache.path().join("tandem/mnist").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("TANDEM_DATA"), "{msg}");

    // The cache is used when present...
    write_tiny(&cache.path().join("tandem/mnist"), None);
    let loaded = mnist::load().unwrap();
    assert_eq!(
        loaded.source,
        Source::Directory(cache.path().join("tandem/mnist"))
    );
    assert_eq!(loaded.x_train.shape(), &[3, 28, 28]);
    assert_eq!(loaded.y_test.to_vec::<i64>(), vec![4, 5]);

    // ... but $TANDEM_DATA/mnist comes first.
    write_tiny(&root.path().join("mnist"), None);
    let ((x_train, y_train), (x_test, _)) = mnist::load_data().unwrap();
    assert_eq!(
        mnist::load().unwrap().source,
        Source::Directory(root.path().join("mnist"))
    );
    assert_eq!((x_train.shape()[0], x_test.shape()[0]), (3, 2));
    assert_eq!(y_train.to_vec::<i64>(), vec![1, 2, 3]);

    // Files directly in $TANDEM_DATA serve a dataset without its own subdirectory.
    write_tiny(root.path(), None);
    let loaded = fashion_mnist::load().unwrap();
    assert_eq!(loaded.source, Source::Directory(root.path().to_path_buf()));

    // A dataset directory missing a file is an error that names what is missing.
    write_tiny(&root.path().join("fashion-mnist"), Some(3));
    let err = fashion_mnist::load().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("incomplete, missing t10k-labels-idx1-ubyte"),
        "{msg}"
    );

    // An explicit directory without the files.
    let empty = tempfile::tempdir().unwrap();
    let err = mnist::load_data_from(empty.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&empty.path().display().to_string()),
        "{err}"
    );

    // Wrong shapes in otherwise valid files.
    let odd = root.path().join("odd");
    write_tiny(&odd, None);
    std::fs::write(odd.join(FILES[1]), encode_u8(&[2], &[1, 2]).unwrap()).unwrap();
    let err = mnist::load_from(&odd).unwrap_err();
    assert!(matches!(err, DataError::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("uint8 labels [3]"), "{err}");
}
