//! `tf.distribute.MultiWorkerMirroredStrategy`: Keras's `fit` data-parallel over MPI.

use crate::buffer::Buf;
use crate::collectives::all_reduce_on;
use crate::ddp::replicate;
use crate::error::DistError;
use crate::group::{self, Group, ReduceOp};
use crate::reducer::Reducer;
use parking_lot::Mutex;
use std::sync::Arc;
use tandem_core::autograd::RemovableHandle;
use tandem_core::Tensor;
use tandem_keras::distribute::{self, Replicas, ScopeGuard};
use tandem_keras::KerasError;

/// `tf.distribute.MultiWorkerMirroredStrategy()`: models compiled inside
/// [`scope`](MultiWorkerMirroredStrategy::scope) train with `fit` across all the job's
/// processes. Each global batch (`batch_size` is the global size, as in TensorFlow) is split
/// across the workers, gradients are summed over workers in buckets during backward (each
/// worker's loss weighted by its share of the batch, so uneven shards average exactly),
/// metrics and losses are summed over workers before they are logged, and only worker 0
/// prints progress and writes callbacks' files. Uses the default process group, starting it
/// (`init_process_group("mpi")`) if needed; a group it started ends (MPI is finalized) when the
/// strategy is dropped and the models compiled in its scope are gone.
///
/// ```
/// use tandem_distributed::MultiWorkerMirroredStrategy;
/// use tandem_keras::{layers::Dense, optimizers::SGD, FitArgs, Sequential};
/// let strategy = MultiWorkerMirroredStrategy::new()?;
/// let mut model = {
///     let _scope = strategy.scope();
///     let mut m = Sequential::new(vec![Box::new(Dense::new(1))]);
///     m.compile(SGD(0.1, 0.0), "mse", &[]).unwrap();
///     m
/// };
/// let x = tandem_core::rand(&[8, 3]);
/// let args = FitArgs { epochs: 2, batch_size: 4, verbose: 0, ..Default::default() };
/// let history = model.fit(&x, &x.sum_dims(&[1], true), args).unwrap();
/// assert_eq!(history.loss().len(), 2);
/// # Ok::<(), tandem_distributed::DistError>(())
/// ```
pub struct MultiWorkerMirroredStrategy {
    inner: Arc<Inner>,
}

struct Inner {
    group: Arc<Group>,
    reducer: Mutex<Option<(Arc<Reducer>, Vec<RemovableHandle>)>>,
    /// Whether `new` started the default group (and so ends it: Keras programs never call
    /// `destroy_process_group`, and a rank that exits without finalizing MPI fails the job).
    owns_group: bool,
}

impl Drop for MultiWorkerMirroredStrategy {
    fn drop(&mut self) {
        if self.inner.owns_group && Arc::strong_count(&self.inner) == 1 {
            if let Some((_, handles)) = self.inner.reducer.lock().take() {
                handles.into_iter().for_each(RemovableHandle::remove);
            }
            let _ = group::destroy();
        }
    }
}

impl MultiWorkerMirroredStrategy {
    /// The strategy over the default process group (started here if it is not yet).
    pub fn new() -> Result<MultiWorkerMirroredStrategy, DistError> {
        let (group, owns_group) = match group::current() {
            Ok(g) => (g, false),
            Err(_) => (group::init("mpi")?, true),
        };
        Ok(MultiWorkerMirroredStrategy {
            inner: Arc::new(Inner {
                group,
                reducer: Mutex::new(None),
                owns_group,
            }),
        })
    }

    /// `with strategy.scope():` — models compiled while the guard lives train with this
    /// strategy.
    pub fn scope(&self) -> ScopeGuard {
        distribute::enter_scope(self.inner.clone())
    }

    /// `strategy.num_replicas_in_sync`.
    pub fn num_replicas_in_sync(&self) -> usize {
        self.inner.group.size
    }

    /// This worker's index (`cluster_resolver.task_id`); worker 0 is the chief.
    pub fn task_id(&self) -> usize {
        self.inner.group.rank
    }
}

fn keras_error(e: DistError) -> KerasError {
    KerasError::Distribution(e.to_string())
}

impl Inner {
    fn reducer(&self) -> Arc<Reducer> {
        self.reducer
            .lock()
            .as_ref()
            .map(|(r, _)| r.clone())
            .expect("fit replicates the model before its first step")
    }
}

impl Replicas for Inner {
    fn rank(&self) -> usize {
        self.group.rank
    }

    fn world_size(&self) -> usize {
        self.group.size
    }

    fn replicate(&self, trainable: &[Tensor], weights: &[Tensor]) -> Result<(), KerasError> {
        let mut slot = self.reducer.lock();
        if let Some((_, handles)) = slot.take() {
            handles.into_iter().for_each(RemovableHandle::remove);
        }
        // PyTorch's bucket sizes: 1 MiB first, then 25 MiB.
        let caps = (1 << 20, 25 << 20);
        *slot =
            Some(replicate(&self.group, trainable.to_vec(), weights, caps).map_err(keras_error)?);
        Ok(())
    }

    fn begin_step(&self, scale: f64) {
        self.reducer().begin(scale);
    }

    fn end_step(&self) {
        let reducer = self.reducer();
        reducer.finish();
        // Outside fit's steps, a backward through the model reduces nothing.
        reducer.set_sync(false);
    }

    fn all_reduce_sum(&self, values: &mut [f64]) {
        let out = self
            .group
            .all_reduce(Buf::F64(values.to_vec()), ReduceOp::Sum)
            .unwrap_or_else(|e| panic!("{e}"));
        let Buf::F64(out) = out else {
            unreachable!("float64 in, float64 out")
        };
        values.copy_from_slice(&out);
    }

    fn average(&self, tensors: &[Tensor]) {
        for t in tensors.iter().filter(|t| t.dtype().is_float()) {
            all_reduce_on(&self.group, t, ReduceOp::Avg).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
