//! TensorDataset, Subset, random_split and train_test_split.

use std::collections::BTreeSet;
use std::sync::Arc;
use tandem_core::Tensor;
use tandem_data::{
    random_split, random_split_fractions, train_test_split, DataError, Dataset, TensorDataset,
};

fn xy(n: usize) -> (Tensor, Tensor) {
    let x: Vec<f64> = (0..n)
        .flat_map(|i| [i as f64, 2.0 * i as f64, 3.0 * i as f64])
        .collect();
    (
        Tensor::from_vec(x, &[n, 3]),
        Tensor::from_vec((0..n as i64).collect(), &[n]),
    )
}

#[test]
fn tensor_dataset_checks_lengths() {
    let (x, _) = xy(5);
    let y = Tensor::from_vec(vec![0i64; 4], &[4]);
    let err = TensorDataset::new(x.clone(), y).unwrap_err();
    assert!(
        matches!(err, DataError::LengthMismatch { x: 5, y: 4, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "TensorDataset: features have 5 rows but targets have 4"
    );
    let err = TensorDataset::new(x, Tensor::scalar(1i64)).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn tensor_dataset_get_and_get_batch() {
    let (x, y) = xy(6);
    let ds = TensorDataset::new(x, y).unwrap();
    assert_eq!(ds.len(), 6);
    let (xi, yi) = ds.get(4);
    assert_eq!(xi.shape(), &[3]);
    assert_eq!(xi.to_vec::<f64>(), vec![4.0, 8.0, 12.0]);
    assert_eq!(yi.to_vec::<i64>(), vec![4]);
    let (xb, yb) = ds.get_batch(&[5, 1, 1]);
    assert_eq!(xb.shape(), &[3, 3]);
    assert_eq!(
        xb.to_vec::<f64>(),
        vec![5.0, 10.0, 15.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
    );
    assert_eq!(yb.to_vec::<i64>(), vec![5, 1, 1]);
}

#[test]
fn random_split_partitions_and_repeats() {
    let (x, y) = xy(50);
    let ds: Arc<dyn Dataset> = Arc::new(TensorDataset::new(x, y).unwrap());
    let parts = random_split(ds.clone(), &[30, 15, 5], 1).unwrap();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [30, 15, 5]
    );
    let all: BTreeSet<usize> = parts.iter().flat_map(|p| p.indices().to_vec()).collect();
    assert_eq!(all, (0..50).collect());
    let again = random_split(ds.clone(), &[30, 15, 5], 1).unwrap();
    assert_eq!(parts[0].indices(), again[0].indices());
    let other = random_split(ds.clone(), &[30, 15, 5], 2).unwrap();
    assert_ne!(parts[0].indices(), other[0].indices());
    // A subset's sample i is the dataset's sample indices()[i].
    let (_, yi) = parts[1].get(3);
    assert_eq!(yi.to_vec::<i64>(), vec![parts[1].indices()[3] as i64]);

    let err = random_split(ds, &[30, 15], 1).unwrap_err();
    assert!(
        err.to_string()
            .contains("add up to 45, but the dataset has 50"),
        "{err}"
    );
}

#[test]
fn random_split_by_fractions_deals_the_remainder() {
    let (x, y) = xy(10);
    let ds: Arc<dyn Dataset> = Arc::new(TensorDataset::new(x, y).unwrap());
    let parts = random_split_fractions(ds.clone(), &[0.8, 0.2], 0).unwrap();
    assert_eq!((parts[0].len(), parts[1].len()), (8, 2));
    // floor(3.3) = 3 each, one left over goes to the first.
    let parts = random_split_fractions(ds.clone(), &[0.33, 0.33, 0.34], 0).unwrap();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 3, 3]);
    assert!(random_split_fractions(ds, &[0.5, 0.6], 0).is_err());
}

#[test]
fn train_test_split_keeps_rows_paired() {
    let (x, y) = xy(10);
    let ((x_train, y_train), (x_test, y_test)) = train_test_split(&x, &y, 0.25, 3).unwrap();
    // ceil(0.25 * 10) = 3 test rows.
    assert_eq!(x_test.shape(), &[3, 3]);
    assert_eq!(x_train.shape(), &[7, 3]);
    let mut labels: Vec<i64> = y_train.to_vec();
    labels.extend(y_test.to_vec::<i64>());
    labels.sort_unstable();
    assert_eq!(labels, (0..10).collect::<Vec<_>>());
    for (xs, ys) in [(&x_train, &y_train), (&x_test, &y_test)] {
        for (row, &l) in xs.to_vec::<f64>().chunks_exact(3).zip(&ys.to_vec::<i64>()) {
            assert_eq!(row, [l as f64, 2.0 * l as f64, 3.0 * l as f64]);
        }
    }
    let again = train_test_split(&x, &y, 0.25, 3).unwrap();
    assert_eq!(again.1 .1.to_vec::<i64>(), y_test.to_vec::<i64>());
}

#[test]
fn train_test_split_errors() {
    let (x, y) = xy(10);
    assert!(matches!(
        train_test_split(&x, &y.narrow(0, 0, 9), 0.2, 0),
        Err(DataError::LengthMismatch { x: 10, y: 9, .. })
    ));
    for bad in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(train_test_split(&x, &y, bad, 0).is_err(), "{bad}");
    }
    // 0.95 of 10 rounds up to all 10: nothing left to train on.
    assert!(train_test_split(&x, &y, 0.95, 0).is_err());
}
