//! DataLoader: coverage, drop_last, determinism, shapes, prefetch and the generic path.

use std::collections::BTreeSet;
use std::sync::Arc;
use tandem_core::Tensor;
use tandem_data::{random_split, DataLoader, Dataset, TensorDataset};

/// `n` samples: x[i] = [i, -i] (float32), y[i] = i (int64), so every batch shows which samples
/// it holds and that features and targets stayed paired.
fn numbered(n: usize) -> Arc<TensorDataset> {
    let x: Vec<f32> = (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect();
    let y: Vec<i64> = (0..n as i64).collect();
    Arc::new(TensorDataset::new(Tensor::from_vec(x, &[n, 2]), Tensor::from_vec(y, &[n])).unwrap())
}

/// The labels of each batch, checking the pairing with the features on the way.
fn epoch_labels(batches: impl Iterator<Item = (Tensor, Tensor)>) -> Vec<Vec<i64>> {
    batches
        .map(|(x, y)| {
            let ys = y.to_vec::<i64>();
            let xs = x.to_vec::<f32>();
            assert_eq!(xs.len(), 2 * ys.len());
            for (row, &label) in xs.chunks_exact(2).zip(&ys) {
                assert_eq!(row, [label as f32, -(label as f32)]);
            }
            ys
        })
        .collect()
}

#[test]
fn every_sample_exactly_once_per_epoch() {
    let loader = DataLoader::new(numbered(103), 10).shuffle(true).seed(3);
    assert_eq!(loader.len(), 11);
    for _ in 0..3 {
        let batches = epoch_labels(loader.iter());
        assert_eq!(batches.len(), 11);
        assert!(batches[..10].iter().all(|b| b.len() == 10));
        assert_eq!(batches[10].len(), 3);
        let mut all: Vec<i64> = batches.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
    }
}

#[test]
fn drop_last_leaves_out_the_partial_batch() {
    let loader = DataLoader::new(numbered(103), 10)
        .shuffle(true)
        .seed(3)
        .drop_last(true);
    assert_eq!(loader.len(), 10);
    let batches = epoch_labels(loader.iter_epoch(5));
    assert_eq!(batches.len(), 10);
    assert!(batches.iter().all(|b| b.len() == 10));
    let seen: BTreeSet<i64> = batches.iter().flatten().copied().collect();
    assert_eq!(seen.len(), 100);
    // The three left out are the last three of the epoch's order.
    let order = loader.indices(5);
    for &i in &order[100..] {
        assert!(!seen.contains(&(i as i64)));
    }
    // An exact multiple loses nothing.
    let exact = DataLoader::new(numbered(100), 10).drop_last(true);
    assert_eq!(
        epoch_labels(exact.iter()).concat(),
        (0..100).collect::<Vec<_>>()
    );
}

#[test]
fn seeded_order_repeats_and_epochs_differ() {
    let a = DataLoader::new(numbered(500), 32).shuffle(true).seed(42);
    let b = DataLoader::new(numbered(500), 32).shuffle(true).seed(42);
    let c = DataLoader::new(numbered(500), 32).shuffle(true).seed(43);
    let a0 = epoch_labels(a.iter()).concat();
    let a1 = epoch_labels(a.iter()).concat();
    let b0 = epoch_labels(b.iter()).concat();
    let b1 = epoch_labels(b.iter()).concat();
    assert_eq!(a0, b0, "same seed, same epoch, same order");
    assert_eq!(a1, b1);
    assert_ne!(a0, a1, "a new epoch reshuffles");
    assert_ne!(
        a0,
        epoch_labels(c.iter()).concat(),
        "another seed, another order"
    );
    assert_ne!(a0, (0..500).collect::<Vec<_>>(), "shuffled");
    // iter() walks the epochs 0, 1, ...; iter_epoch(e) reproduces any of them.
    assert_eq!(epoch_labels(a.iter_epoch(1)).concat(), a1);
    let idx: Vec<i64> = a.indices(0).into_iter().map(|i| i as i64).collect();
    assert_eq!(idx, a0);
}

#[test]
fn manual_seed_fixes_the_default_seed() {
    tandem_core::manual_seed(7);
    let a = DataLoader::new(numbered(50), 8).shuffle(true);
    tandem_core::manual_seed(7);
    let b = DataLoader::new(numbered(50), 8).shuffle(true);
    assert_eq!(a.indices(0), b.indices(0));
}

#[test]
fn without_shuffle_the_order_is_the_dataset_order() {
    let loader = DataLoader::new(numbered(25), 7);
    let batches = epoch_labels(loader.iter());
    assert_eq!(batches.concat(), (0..25).collect::<Vec<_>>());
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [7, 7, 7, 4]
    );
}

#[test]
fn batch_shapes_and_dtypes() {
    let ((x, y), _) = tandem_data::mnist::load_sample();
    let ds = Arc::new(TensorDataset::new(x.clone(), y.clone()).unwrap());
    let loader = DataLoader::new(ds, 64).shuffle(true).seed(1);
    assert_eq!(loader.len(), 125); // 8000 / 64
    let mut iter = loader.iter();
    assert_eq!(iter.len(), 125);
    let (xb, yb) = iter.next().unwrap();
    assert_eq!(iter.len(), 124);
    assert_eq!(xb.shape(), &[64, 28, 28]);
    assert_eq!(yb.shape(), &[64]);
    assert_eq!(xb.dtype(), x.dtype());
    assert_eq!(yb.dtype(), y.dtype());
    // The first batch's images are the dataset's images at the epoch's first 64 indices.
    let order = loader.indices(0);
    let pixels = x.to_vec::<u8>();
    let batch = xb.to_vec::<u8>();
    for (k, &i) in order[..64].iter().enumerate() {
        assert_eq!(
            batch[k * 784..(k + 1) * 784],
            pixels[i * 784..(i + 1) * 784]
        );
    }
    // The label histogram over an epoch is the dataset's.
    let mut want = [0usize; 10];
    y.to_vec::<i64>()
        .iter()
        .for_each(|&l| want[l as usize] += 1);
    let mut got = [0usize; 10];
    let (_, y0) = (xb, yb);
    y0.to_vec::<i64>()
        .iter()
        .for_each(|&l| got[l as usize] += 1);
    for (_, yb) in iter {
        yb.to_vec::<i64>()
            .iter()
            .for_each(|&l| got[l as usize] += 1);
    }
    assert_eq!(got, want);
}

#[test]
fn prefetch_zero_gives_the_same_batches() {
    let bg = DataLoader::new(numbered(77), 9).shuffle(true).seed(11);
    let inline = DataLoader::new(numbered(77), 9)
        .shuffle(true)
        .seed(11)
        .prefetch(0);
    assert_eq!(
        epoch_labels(bg.iter_epoch(2)),
        epoch_labels(inline.iter_epoch(2))
    );
}

#[test]
fn dropping_an_epoch_early_stops_cleanly() {
    let loader = DataLoader::new(numbered(10_000), 4).shuffle(true).seed(0);
    for _ in 0..20 {
        let first: Vec<_> = loader.iter().take(2).collect();
        assert_eq!(first.len(), 2);
    }
}

/// A dataset with only `get`: batches are collated by stacking samples.
struct Squares;

impl Dataset for Squares {
    fn len(&self) -> usize {
        10
    }
    fn get(&self, i: usize) -> (Tensor, Tensor) {
        let v = i as f32;
        (
            Tensor::from_vec(vec![v, v * v], &[2]),
            Tensor::scalar(i as i64),
        )
    }
}

#[test]
fn generic_datasets_are_stacked() {
    let loader = DataLoader::new(Arc::new(Squares), 4).shuffle(true).seed(5);
    let mut seen = Vec::new();
    for (x, y) in &loader {
        let n = y.shape()[0];
        assert_eq!(x.shape(), &[n, 2]);
        for (row, &i) in x.to_vec::<f32>().chunks_exact(2).zip(&y.to_vec::<i64>()) {
            assert_eq!(row, [i as f32, (i * i) as f32]);
            seen.push(i);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
}

#[test]
fn loader_over_a_random_split() {
    let parts = random_split(numbered(100), &[80, 20], 9).unwrap();
    let train = Arc::new(parts[0].clone());
    let loader = DataLoader::new(train.clone(), 16).shuffle(true).seed(2);
    let mut got: Vec<i64> = epoch_labels(loader.iter()).concat();
    got.sort_unstable();
    let mut want: Vec<i64> = train.indices().iter().map(|&i| i as i64).collect();
    want.sort_unstable();
    assert_eq!(got, want);
}

struct Panics;

impl Dataset for Panics {
    fn len(&self) -> usize {
        8
    }
    fn get(&self, i: usize) -> (Tensor, Tensor) {
        assert!(i < 4, "sample {i} is broken");
        (Tensor::scalar(0f32), Tensor::scalar(0i64))
    }
}

#[test]
#[should_panic(expected = "is broken")]
fn a_panic_in_the_dataset_reaches_the_caller() {
    let loader = DataLoader::new(Arc::new(Panics), 2);
    for _ in &loader {}
}
