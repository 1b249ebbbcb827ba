//! Datasets as PyTorch has them: the [`Dataset`] trait, [`TensorDataset`], [`Subset`],
//! [`random_split`], and scikit-learn's [`train_test_split`].

use crate::error::{DataError, Result};
use crate::gather::gather_rows;
use crate::idx_sets::KerasSplit;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::sync::Arc;
use tandem_core::Tensor;

/// Indexed samples of `(features, target)` (`torch.utils.data.Dataset`).
///
/// Implement [`len`](Dataset::len) and [`get`](Dataset::get); override
/// [`get_batch`](Dataset::get_batch) when a whole batch can be built faster than by stacking
/// single samples (as [`TensorDataset`] does).
pub trait Dataset: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `index` as `(features, target)`. May panic when `index >= len()`.
    fn get(&self, index: usize) -> (Tensor, Tensor);

    /// The samples at `indices` (not empty), collated: features and targets each stacked along
    /// a new first dimension. The default stacks [`get`](Dataset::get)'s results.
    fn get_batch(&self, indices: &[usize]) -> (Tensor, Tensor) {
        let (xs, ys): (Vec<Tensor>, Vec<Tensor>) = indices.iter().map(|&i| self.get(i)).unzip();
        let xs: Vec<&Tensor> = xs.iter().collect();
        let ys: Vec<&Tensor> = ys.iter().collect();
        (Tensor::stack(&xs, 0), Tensor::stack(&ys, 0))
    }
}

/// Features and targets held as two tensors whose first dimension indexes the samples
/// (`torch.utils.data.TensorDataset`).
///
/// ```
/// use tandem_core::Tensor;
/// use tandem_data::{Dataset, TensorDataset};
/// let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[4, 3]);
/// let y = Tensor::from_vec(vec![0i64, 1, 0, 1], &[4]);
/// let ds = TensorDataset::new(x, y)?;
/// assert_eq!(ds.len(), 4);
/// let (xb, yb) = ds.get_batch(&[3, 0]);
/// assert_eq!(xb.to_vec::<f32>(), vec![9.0, 10.0, 11.0, 0.0, 1.0, 2.0]);
/// assert_eq!(yb.to_vec::<i64>(), vec![1, 0]);
/// # Ok::<(), tandem_data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TensorDataset {
    x: Tensor,
    y: Tensor,
}

impl TensorDataset {
    /// Pairs `x[i]` with `y[i]`. Errors when either is 0-dimensional or their first dimensions
    /// differ. The tensors are detached from autograd (and made contiguous).
    pub fn new(x: Tensor, y: Tensor) -> Result<TensorDataset> {
        let (nx, ny) = (rows(&x, "TensorDataset")?, rows(&y, "TensorDataset")?);
        if nx != ny {
            return Err(DataError::LengthMismatch {
                what: "TensorDataset",
                x: nx,
                y: ny,
            });
        }
        Ok(TensorDataset {
            x: x.detach().contiguous(),
            y: y.detach().contiguous(),
        })
    }

    /// The features tensor.
    pub fn x(&self) -> &Tensor {
        &self.x
    }

    /// The targets tensor.
    pub fn y(&self) -> &Tensor {
        &self.y
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.x.shape()[0]
    }

    /// Views `x[index]` and `y[index]` (no copy).
    fn get(&self, index: usize) -> (Tensor, Tensor) {
        (
            self.x.select(0, index as isize),
            self.y.select(0, index as isize),
        )
    }

    /// Views of the rows when `indices` are consecutive (batches taken in order: no copy),
    /// else one row-gather over each tensor.
    fn get_batch(&self, indices: &[usize]) -> (Tensor, Tensor) {
        if let Some(&first) = indices.first() {
            if indices.iter().enumerate().all(|(i, &v)| v == first + i) {
                let n = indices.len();
                return (self.x.narrow(0, first, n), self.y.narrow(0, first, n));
            }
        }
        (gather_rows(&self.x, indices), gather_rows(&self.y, indices))
    }
}

fn rows(t: &Tensor, what: &'static str) -> Result<usize> {
    t.shape()
        .first()
        .copied()
        .ok_or_else(|| DataError::invalid(what, "a 0-dimensional tensor has no samples to index"))
}

/// The samples of another dataset at the given indices (`torch.utils.data.Subset`).
#[derive(Clone)]
pub struct Subset {
    dataset: Arc<dyn Dataset>,
    indices: Vec<usize>,
}

impl Subset {
    /// The samples of `dataset` at `indices`; errors when an index is out of range.
    pub fn new(dataset: Arc<dyn Dataset>, indices: Vec<usize>) -> Result<Subset> {
        let n = dataset.len();
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(DataError::invalid(
                "Subset",
                format!("index {bad} is out of range for a dataset of {n} samples"),
            ));
        }
        Ok(Subset { dataset, indices })
    }

    /// The indices into the underlying dataset.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The underlying dataset.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }
}

impl std::fmt::Debug for Subset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subset")
            .field("len", &self.indices.len())
            .field("of", &self.dataset.len())
            .finish()
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn get(&self, index: usize) -> (Tensor, Tensor) {
        self.dataset.get(self.indices[index])
    }

    fn get_batch(&self, indices: &[usize]) -> (Tensor, Tensor) {
        let mapped: Vec<usize> = indices.iter().map(|&i| self.indices[i]).collect();
        self.dataset.get_batch(&mapped)
    }
}

/// `0..n` shuffled by a generator seeded with `seed`.
pub(crate) fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    order
}

/// Splits `dataset` at random into non-overlapping subsets of the given `lengths`, which must
/// add up to its length (`torch.utils.data.random_split`). The same `seed` gives the same split.
///
/// ```
/// use std::sync::Arc;
/// use tandem_core::Tensor;
/// use tandem_data::{random_split, Dataset, TensorDataset};
/// let x = Tensor::from_vec(vec![0f32; 10], &[10, 1]);
/// let y = Tensor::from_vec((0..10i64).collect(), &[10]);
/// let ds = Arc::new(TensorDataset::new(x, y)?);
/// let parts = random_split(ds, &[7, 3], 42)?;
/// assert_eq!((parts[0].len(), parts[1].len()), (7, 3));
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub fn random_split(
    dataset: Arc<dyn Dataset>,
    lengths: &[usize],
    seed: u64,
) -> Result<Vec<Subset>> {
    let n = dataset.len();
    let total = lengths
        .iter()
        .try_fold(0usize, |acc, &l| acc.checked_add(l));
    if total != Some(n) {
        let total = total.map_or("more than usize::MAX".to_string(), |t| t.to_string());
        return Err(DataError::invalid(
            "random_split",
            format!("lengths {lengths:?} add up to {total}, but the dataset has {n} samples"),
        ));
    }
    let order = permutation(n, seed);
    let mut start = 0;
    let mut out = Vec::with_capacity(lengths.len());
    for &len in lengths {
        out.push(Subset {
            dataset: Arc::clone(&dataset),
            indices: order[start..start + len].to_vec(),
        });
        start += len;
    }
    Ok(out)
}

/// [`random_split`] by fractions that add up to 1, as PyTorch does with floats: each subset gets
/// `floor(fraction * len)` samples, and the remainder is dealt one at a time from the first
/// subset on.
pub fn random_split_fractions(
    dataset: Arc<dyn Dataset>,
    fractions: &[f64],
    seed: u64,
) -> Result<Vec<Subset>> {
    let sum: f64 = fractions.iter().sum();
    if fractions.iter().any(|f| !(0.0..=1.0).contains(f)) || (sum - 1.0).abs() > 1e-6 {
        return Err(DataError::invalid(
            "random_split_fractions",
            format!("fractions {fractions:?} must each lie in [0, 1] and add up to 1"),
        ));
    }
    let n = dataset.len();
    let mut lengths: Vec<usize> = fractions
        .iter()
        .map(|f| (f * n as f64).floor() as usize)
        .collect();
    let remainder = n - lengths.iter().sum::<usize>().min(n);
    let k = lengths.len();
    for i in 0..remainder {
        lengths[i % k] += 1;
    }
    random_split(dataset, &lengths, seed)
}

/// Shuffles the rows of `x` and `y` together and splits off `ceil(test_fraction * N)` of them for
/// testing, as scikit-learn's `train_test_split`. Returns Keras' nesting,
/// `((x_train, y_train), (x_test, y_test))`.
///
/// Errors when `x` and `y` have different numbers of rows, `test_fraction` is not strictly
/// between 0 and 1, or either part would be empty.
///
/// ```
/// use tandem_core::Tensor;
/// let x = Tensor::from_vec((0..20).map(|v| v as f32).collect(), &[10, 2]);
/// let y = Tensor::from_vec((0..10i64).collect(), &[10]);
/// let ((x_train, y_train), (x_test, y_test)) = tandem_data::train_test_split(&x, &y, 0.25, 0)?;
/// assert_eq!(x_train.shape(), &[7, 2]);
/// assert_eq!(x_test.shape(), &[3, 2]);
/// assert_eq!((y_train.numel(), y_test.numel()), (7, 3));
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub fn train_test_split(
    x: &Tensor,
    y: &Tensor,
    test_fraction: f64,
    seed: u64,
) -> Result<KerasSplit> {
    const WHAT: &str = "train_test_split";
    let (nx, ny) = (rows(x, WHAT)?, rows(y, WHAT)?);
    if nx != ny {
        return Err(DataError::LengthMismatch {
            what: WHAT,
            x: nx,
            y: ny,
        });
    }
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(DataError::invalid(
            WHAT,
            format!("test_fraction must lie strictly between 0 and 1, got {test_fraction}"),
        ));
    }
    let n_test = (test_fraction * nx as f64).ceil() as usize;
    if n_test == 0 || n_test >= nx {
        return Err(DataError::invalid(
            WHAT,
            format!("with {nx} samples and test_fraction {test_fraction}, the train or test set would be empty"),
        ));
    }
    let order = permutation(nx, seed);
    let (test, train) = order.split_at(n_test);
    let (x, y) = (x.detach().contiguous(), y.detach().contiguous());
    Ok((
        (gather_rows(&x, train), gather_rows(&y, train)),
        (gather_rows(&x, test), gather_rows(&y, test)),
    ))
}
