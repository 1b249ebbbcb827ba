//! `torch.utils.data.distributed.DistributedSampler`.

use crate::error::DistError;
use crate::group;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::sync::atomic::{AtomicU64, Ordering};
use tandem_data::Sampler;

/// Each rank's share of a dataset: the indices (shuffled by `seed + epoch` when `shuffle`),
/// padded by repeating the first ones until they divide evenly (or, with `drop_last`, cut to
/// the largest multiple of the replica count), then every `num_replicas`-th index from
/// `rank`. The shares of one epoch are disjoint (but for the padding) and of equal length, so
/// every rank takes the same number of steps. Give it to a `DataLoader` with `.sampler(...)`
/// and call [`set_epoch`](DistributedSampler::set_epoch) at the start of every epoch, as in
/// PyTorch; without it every epoch has the same order.
///
/// ```
/// use tandem_distributed::DistributedSampler;
/// use tandem_data::Sampler;
/// let rank0 = DistributedSampler::with_replicas(10, 4, 0).shuffle(false);
/// let rank3 = DistributedSampler::with_replicas(10, 4, 3).shuffle(false);
/// assert_eq!(rank0.indices(0), vec![0, 4, 8]);
/// assert_eq!(rank3.indices(0), vec![3, 7, 1]); // padded with the first indices
/// ```
pub struct DistributedSampler {
    dataset_len: usize,
    num_replicas: usize,
    rank: usize,
    shuffle: bool,
    seed: u64,
    drop_last: bool,
    epoch: AtomicU64,
}

impl DistributedSampler {
    /// A sampler over `dataset_len` samples for this process, with the default process
    /// group's world size and rank; shuffled, seed 0, no `drop_last`.
    pub fn new(dataset_len: usize) -> Result<DistributedSampler, DistError> {
        let g = group::current()?;
        Ok(Self::with_replicas(dataset_len, g.size, g.rank))
    }

    /// A sampler for `rank` of `num_replicas`, given explicitly.
    pub fn with_replicas(
        dataset_len: usize,
        num_replicas: usize,
        rank: usize,
    ) -> DistributedSampler {
        assert!(
            rank < num_replicas,
            "Invalid rank {rank}, rank should be in the interval [0, {}]",
            num_replicas.saturating_sub(1)
        );
        DistributedSampler {
            dataset_len,
            num_replicas,
            rank,
            shuffle: true,
            seed: 0,
            drop_last: false,
            epoch: AtomicU64::new(0),
        }
    }

    /// Shuffle each epoch (the default).
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }

    /// The seed shared by all ranks.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Drop the tail that does not divide evenly instead of padding.
    pub fn drop_last(mut self, on: bool) -> Self {
        self.drop_last = on;
        self
    }

    /// `sampler.set_epoch(epoch)`: the shuffle of the next epoch (the same on every rank).
    pub fn set_epoch(&self, epoch: u64) {
        self.epoch.store(epoch, Ordering::Relaxed);
    }

    /// Samples per rank and epoch (`num_samples`).
    pub fn num_samples(&self) -> usize {
        let (n, r) = (self.dataset_len, self.num_replicas);
        if self.drop_last && n % r != 0 {
            n / r
        } else {
            n.div_ceil(r)
        }
    }
}

impl Sampler for DistributedSampler {
    fn len(&self) -> usize {
        self.num_samples()
    }

    /// This rank's indices; the `DataLoader`'s epoch count is not used, [`set_epoch`]'s is.
    ///
    /// [`set_epoch`]: DistributedSampler::set_epoch
    fn indices(&self, _loader_epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset_len).collect();
        if self.shuffle {
            let epoch = self.epoch.load(Ordering::Relaxed);
            order.shuffle(&mut StdRng::seed_from_u64(self.seed.wrapping_add(epoch)));
        }
        let total = self.num_samples() * self.num_replicas;
        if total > order.len() {
            let pad: Vec<usize> = order
                .iter()
                .cycle()
                .take(total - order.len())
                .copied()
                .collect();
            order.extend(pad);
        } else {
            order.truncate(total);
        }
        order
            .into_iter()
            .skip(self.rank)
            .step_by(self.num_replicas)
            .collect()
    }
}
