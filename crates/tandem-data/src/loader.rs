//! Batches over a [`Dataset`], shuffled per epoch and prepared on a background thread
//! (`torch.utils.data.DataLoader`).

use crate::dataset::Dataset;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use tandem_core::Tensor;

/// Iterates a dataset in batches of `(features, targets)`, each collated by stacking along a new
/// first dimension.
///
/// Each call of [`iter`](DataLoader::iter) (or `for batch in &loader`) is one epoch. With
/// `shuffle(true)` the order of epoch `e` is a permutation determined by `(seed, e)` alone, so
/// runs repeat exactly; without [`seed`](DataLoader::seed) the seed is drawn from tandem's
/// generator when the loader is made, so `tandem_core::manual_seed` fixes it as in PyTorch.
/// A background thread prepares up to [`prefetch`](DataLoader::prefetch) batches ahead while the
/// caller trains.
///
/// ```
/// use std::sync::Arc;
/// use tandem_core::Tensor;
/// use tandem_data::{DataLoader, TensorDataset};
/// let x = Tensor::from_vec((0..20).map(|v| v as f32).collect(), &[10, 2]);
/// let y = Tensor::from_vec((0..10i64).collect(), &[10]);
/// let loader = DataLoader::new(Arc::new(TensorDataset::new(x, y)?), 4).shuffle(true).seed(42);
/// assert_eq!(loader.len(), 3); // 4 + 4 + 2
/// let mut seen = Vec::new();
/// for (xb, yb) in &loader {
///     assert_eq!(xb.shape()[1..], [2]);
///     seen.extend(yb.to_vec::<i64>());
/// }
/// seen.sort();
/// assert_eq!(seen, (0..10).collect::<Vec<i64>>());
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
    sampler: Option<Arc<dyn Sampler>>,
    shuffle: bool,
    seed: u64,
    drop_last: bool,
    prefetch: usize,
    next_epoch: AtomicU64,
}

impl DataLoader {
    /// A loader over `dataset` in batches of `batch_size`, in order, keeping the last partial
    /// batch, prefetching 2 batches; its shuffle seed is drawn from tandem's generator.
    ///
    /// Panics when `batch_size` is 0.
    pub fn new(dataset: Arc<dyn Dataset>, batch_size: usize) -> DataLoader {
        let seed = tandem_core::with_rng(|r| r.gen());
        DataLoader::with_seed(dataset, batch_size, seed)
    }

    /// [`new`](DataLoader::new) with the shuffle seed given, so that making the loader draws
    /// nothing from tandem's generator (the random stream of the program is left as it was).
    ///
    /// Panics when `batch_size` is 0.
    pub fn with_seed(dataset: Arc<dyn Dataset>, batch_size: usize, seed: u64) -> DataLoader {
        assert!(
            batch_size > 0,
            "DataLoader: batch_size must be positive, got 0"
        );
        DataLoader {
            dataset,
            batch_size,
            sampler: None,
            shuffle: false,
            seed,
            drop_last: false,
            prefetch: 2,
            next_epoch: AtomicU64::new(0),
        }
    }

    /// Reshuffle the samples every epoch.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// The seed of the shuffle.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Visit the samples in the order `sampler` gives for each epoch (`sampler=` in PyTorch),
    /// instead of in order or shuffled; `shuffle` and `seed` are then not used.
    pub fn sampler(mut self, sampler: Arc<dyn Sampler>) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Leave out the last batch when it is smaller than `batch_size`.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// How many batches the background thread may prepare ahead (default 2); 0 prepares each
    /// batch on the caller's thread when asked for, with no background thread (as does an
    /// epoch of a single batch).
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches;
        self
    }

    /// Number of batches per epoch.
    pub fn len(&self) -> usize {
        let n = match &self.sampler {
            Some(s) => s.len(),
            None => self.dataset.len(),
        };
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// Whether an epoch yields no batches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The dataset.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// The sample indices of `epoch` in the order they are batched (all of them, including any
    /// that `drop_last` leaves out).
    pub fn indices(&self, epoch: u64) -> Vec<usize> {
        if let Some(sampler) = &self.sampler {
            return sampler.indices(epoch);
        }
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.shuffle {
            let mut key = [0u8; 32];
            key[..8].copy_from_slice(&self.seed.to_le_bytes());
            key[8..16].copy_from_slice(&epoch.to_le_bytes());
            order.shuffle(&mut StdRng::from_seed(key));
        }
        order
    }

    /// The next epoch's batches: epoch 0 on the first call, then 1, 2, ...
    pub fn iter(&self) -> Batches {
        self.iter_epoch(self.next_epoch.fetch_add(1, Ordering::Relaxed))
    }

    /// The batches of `epoch`, whatever epochs came before.
    pub fn iter_epoch(&self, epoch: u64) -> Batches {
        let remaining = self.len();
        // With a single batch there is nothing to prepare ahead of the caller.
        if self.prefetch == 0 || remaining < 2 {
            return Batches {
                inner: Inner::Inline(self.plan(epoch)),
                remaining,
            };
        }
        let (tx, rx) = sync_channel(self.prefetch);
        let mut plan = self.plan(epoch);
        let spawned = std::thread::Builder::new()
            .name("tandem-data-loader".into())
            .spawn(move || {
                while let Some(batch) = plan.next_batch() {
                    if tx.send(batch).is_err() {
                        break;
                    }
                }
            });
        let inner = match spawned {
            Ok(handle) => Inner::Background {
                rx: Some(rx),
                handle: Some(handle),
            },
            // No thread to be had: prepare the batches on the caller's thread instead.
            Err(_) => Inner::Inline(self.plan(epoch)),
        };
        Batches { inner, remaining }
    }

    fn plan(&self, epoch: u64) -> Plan {
        let mut order = self.indices(epoch);
        order.truncate(self.len() * self.batch_size);
        Plan {
            dataset: Arc::clone(&self.dataset),
            order,
            batch_size: self.batch_size,
            next: 0,
        }
    }
}

impl std::fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLoader")
            .field("samples", &self.dataset.len())
            .field("batch_size", &self.batch_size)
            .field("sampler", &self.sampler.is_some())
            .field("shuffle", &self.shuffle)
            .field("seed", &self.seed)
            .field("drop_last", &self.drop_last)
            .field("prefetch", &self.prefetch)
            .finish()
    }
}

impl IntoIterator for &DataLoader {
    type Item = (Tensor, Tensor);
    type IntoIter = Batches;

    fn into_iter(self) -> Batches {
        self.iter()
    }
}

/// The order in which a [`DataLoader`] visits the samples of each epoch
/// (`torch.utils.data.Sampler`): for example a shard per process in distributed training, or
/// a framework's own shuffle.
///
/// ```
/// use std::sync::Arc;
/// use tandem_core::Tensor;
/// use tandem_data::{DataLoader, Sampler, TensorDataset};
/// /// Every other sample, backwards.
/// struct Evens(usize);
/// impl Sampler for Evens {
///     fn len(&self) -> usize {
///         self.0.div_ceil(2)
///     }
///     fn indices(&self, _epoch: u64) -> Vec<usize> {
///         (0..self.0).step_by(2).rev().collect()
///     }
/// }
/// let y = Tensor::from_vec((0..5i64).collect(), &[5]);
/// let loader = DataLoader::new(Arc::new(TensorDataset::new(y.clone(), y)?), 2)
///     .sampler(Arc::new(Evens(5)));
/// let seen: Vec<i64> = loader.iter().flat_map(|(_, yb)| yb.to_vec::<i64>()).collect();
/// assert_eq!(seen, vec![4, 2, 0]);
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub trait Sampler: Send + Sync {
    /// How many indices each epoch yields.
    fn len(&self) -> usize;

    /// Whether an epoch yields no indices.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sample indices of `epoch`, in the order they are batched.
    fn indices(&self, epoch: u64) -> Vec<usize>;
}

/// The order of one epoch, cut into batches.
struct Plan {
    dataset: Arc<dyn Dataset>,
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl Plan {
    fn next_batch(&mut self) -> Option<(Tensor, Tensor)> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let batch = self.dataset.get_batch(&self.order[self.next..end]);
        self.next = end;
        Some(batch)
    }
}

enum Inner {
    Inline(Plan),
    Background {
        rx: Option<Receiver<(Tensor, Tensor)>>,
        handle: Option<JoinHandle<()>>,
    },
}

/// One epoch of batches from a [`DataLoader`].
///
/// Dropping it early stops the background thread. A panic in the dataset's `get`/`get_batch`
/// on the background thread is re-raised on the caller's thread.
pub struct Batches {
    inner: Inner,
    remaining: usize,
}

impl Iterator for Batches {
    type Item = (Tensor, Tensor);

    fn next(&mut self) -> Option<(Tensor, Tensor)> {
        let batch = match &mut self.inner {
            Inner::Inline(plan) => plan.next_batch(),
            Inner::Background { rx, handle } => match rx.as_ref().map(Receiver::recv) {
                Some(Ok(batch)) => Some(batch),
                _ => {
                    rx.take();
                    if let Some(Err(panic)) = handle.take().map(JoinHandle::join) {
                        std::panic::resume_unwind(panic);
                    }
                    None
                }
            },
        };
        self.remaining = self.remaining.saturating_sub(usize::from(batch.is_some()));
        batch
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        if let Inner::Background { rx, handle } = &mut self.inner {
            // Closing the channel makes the thread's next send fail, and it returns.
            rx.take();
            if let Some(handle) = handle.take() {
                let _ = handle.join();
            }
        }
    }
}
