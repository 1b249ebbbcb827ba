//! The hook distribution strategies plug into: inside a strategy's scope, `compile` records
//! the strategy, and `fit` then trains data-parallel — each global batch split across the
//! workers, gradients reduced over them, metrics reduced before they are logged, and only
//! the first worker printing progress and writing files. The strategy itself (over MPI) is
//! `tandem_distributed::MultiWorkerMirroredStrategy`, `tf::distribute` in the facade.

use crate::error::KerasError;
use std::cell::RefCell;
use std::sync::Arc;
use tandem_core::Tensor;

/// What a data-parallel strategy gives `fit`: this worker's place among the workers and the
/// collectives over them.
pub trait Replicas: Send + Sync {
    /// This worker's index (0 is the chief).
    fn rank(&self) -> usize;
    /// How many workers train together.
    fn world_size(&self) -> usize;
    /// At the start of `fit`: checks that every worker built the same model, makes all
    /// `weights` (trainable and not) worker 0's, and prepares to reduce the gradients of
    /// `trainable`.
    fn replicate(&self, trainable: &[Tensor], weights: &[Tensor]) -> Result<(), KerasError>;
    /// Before a step's backward: the summed gradients will be multiplied by `scale`.
    fn begin_step(&self, scale: f64);
    /// After a step's backward: every trainable weight's `.grad` holds the reduced gradient.
    fn end_step(&self);
    /// Sums `values` over the workers, in place.
    fn all_reduce_sum(&self, values: &mut [f64]);
    /// Replaces each tensor with its mean over the workers (non-trainable weights such as
    /// BatchNormalization's moving statistics, which each worker updates from its own shard,
    /// as Keras's `ON_READ` variables with `MEAN` aggregation read).
    fn average(&self, tensors: &[Tensor]);
}

thread_local! {
    static SCOPE: RefCell<Vec<Arc<dyn Replicas>>> = const { RefCell::new(Vec::new()) };
}

/// While alive, models compiled on this thread train with the strategy it was made from.
pub struct ScopeGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPE.with(|s| s.borrow_mut().pop());
    }
}

/// Enters a strategy's scope (`with strategy.scope():`).
pub fn enter_scope(replicas: Arc<dyn Replicas>) -> ScopeGuard {
    SCOPE.with(|s| s.borrow_mut().push(replicas));
    ScopeGuard {
        _not_send: std::marker::PhantomData,
    }
}

/// The innermost strategy scope on this thread, if any.
pub fn current() -> Option<Arc<dyn Replicas>> {
    SCOPE.with(|s| s.borrow().last().cloned())
}

/// The rows of a global batch of `rows` that worker `rank` of `world` trains on: contiguous
/// and as even as possible.
pub fn shard(rows: usize, rank: usize, world: usize) -> std::ops::Range<usize> {
    rows * rank / world..rows * (rank + 1) / world
}

#[cfg(test)]
mod tests {
    use super::shard;

    #[test]
    fn shards_cover_the_batch_once() {
        for rows in [0usize, 1, 5, 32, 63, 64] {
            for world in 1..=5 {
                let mut next = 0;
                for r in 0..world {
                    let s = shard(rows, r, world);
                    assert_eq!(s.start, next);
                    assert!(s.len() <= rows.div_ceil(world));
                    next = s.end;
                }
                assert_eq!(next, rows);
            }
        }
    }
}
