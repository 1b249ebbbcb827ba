//! Data-parallel training on MPI, in both idioms.
//!
//! - PyTorch: [`init_process_group`], [`get_rank`], [`get_world_size`], [`all_reduce`],
//!   [`broadcast`], [`all_gather`], [`barrier`], [`destroy_process_group`]
//!   (`torch.distributed`); [`DistributedDataParallel`] (`torch.nn.parallel`);
//!   [`DistributedSampler`] (`torch.utils.data.distributed`).
//! - Keras: [`MultiWorkerMirroredStrategy`] (`tf.distribute`), whose `scope` makes `fit`
//!   data-parallel.
//!
//! Launch with an MPI launcher: `mpirun -np 4 target/release/my_program`. With the `mpi`
//! feature the processes talk over MPI (OpenMPI's `libmpi`); without it, or when a program is
//! started without a launcher, it is a world of one and runs as it would alone.
//!
//! All communication runs on one thread per process, in the order collectives are asked
//! for. Gradients are reduced in buckets (25 MiB, the first 1 MiB, filled in reverse parameter
//! order), each handed to that thread as soon as its last gradient is accumulated, so the
//! allreduce of one bucket overlaps the backward pass of the layers before it.

mod buffer;
mod collectives;
mod ddp;
mod error;
mod group;
#[cfg(feature = "mpi")]
mod mpi_backend;
mod reducer;
mod sampler;
mod strategy;

pub use collectives::{
    all_gather, all_reduce, barrier, broadcast, destroy_process_group, get_rank, get_world_size,
    init_process_group, is_initialized,
};
pub use ddp::{DdpOptions, DistributedDataParallel, NoSync};
pub use error::DistError;
pub use group::{launcher_env, ReduceOp, Work};
pub use reducer::{CommEvent, CommEventKind};
pub use sampler::DistributedSampler;
pub use strategy::MultiWorkerMirroredStrategy;

/// Whether this build talks over MPI (the `mpi` feature).
pub const HAS_MPI: bool = cfg!(feature = "mpi");
