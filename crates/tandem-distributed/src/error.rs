//! Errors of distributed training.

use thiserror::Error;

/// What can go wrong setting up or running collectives.
#[derive(Debug, Error)]
pub enum DistError {
    /// `init_process_group` with a backend tandem does not have.
    #[error("backend {0:?} is not available: tandem's process groups run on MPI (\"mpi\")")]
    Backend(String),
    /// Launched by `mpirun` with several ranks, but built without MPI.
    #[error(
        "launched as rank {rank} of {size} by an MPI launcher, but this build has no MPI: \
         rebuild with `--features distributed`"
    )]
    NotBuilt {
        /// This process's rank, from the launcher's environment.
        rank: usize,
        /// The number of processes the launcher started.
        size: usize,
    },
    /// MPI could not be initialized.
    #[error("MPI_Init_thread failed (or MPI was already initialized)")]
    Init,
    /// `init_process_group` called twice without `destroy_process_group`.
    #[error("trying to initialize the default process group twice")]
    AlreadyInitialized,
    /// A collective was called before `init_process_group`.
    #[error("Default process group has not been initialized, please make sure to call init_process_group")]
    NotInitialized,
    /// The communication thread is gone (it panicked, or the group was destroyed).
    #[error("rank {rank}: the communication thread has stopped")]
    Stopped {
        /// This process's rank.
        rank: usize,
    },
    /// A collective that does not apply to this tensor (dtype, shape, operation).
    #[error("rank {rank}: {op}: {reason}")]
    Invalid {
        /// This process's rank.
        rank: usize,
        /// The collective.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The ranks' models differ, found before anything is averaged.
    #[error("DistributedDataParallel: rank {rank}'s model differs from rank 0's: {reason}")]
    ModelMismatch {
        /// The first rank that differs.
        rank: usize,
        /// How it differs.
        reason: String,
    },
}
