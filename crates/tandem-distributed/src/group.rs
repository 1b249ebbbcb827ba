//! The process group: this process's rank among the job's processes, and a communication
//! thread that runs every collective in the order it was asked for.
//!
//! All MPI calls happen on that one thread (MPI's `FUNNELED` threading level), as PyTorch's
//! MPI backend does: a collective handed over while backward is running proceeds at once,
//! instead of waiting, as a non-blocking MPI call would, for the next MPI call to make
//! progress. Every rank hands collectives over in the same order, which is what MPI requires.

use crate::buffer::Buf;
use crate::error::DistError;
use parking_lot::Mutex;
use std::sync::mpsc;
use std::sync::Arc;

/// Called on the communication thread as a traced collective starts (`true`) and ends.
pub(crate) type Trace = Box<dyn FnMut(bool) + Send>;

/// How `all_reduce` combines the ranks' values (`torch.distributed.ReduceOp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Elementwise sum.
    Sum,
    /// Elementwise mean (floating-point tensors only).
    Avg,
    /// Elementwise product.
    Product,
    /// Elementwise maximum.
    Max,
    /// Elementwise minimum.
    Min,
}

/// The result of a collective, ready now or when the communication thread gets to it
/// (`torch.distributed.Work`, what `async_op=True` returns).
#[must_use = "a collective's result is only there after wait()"]
pub struct Work<T> {
    inner: WorkInner<T>,
    rank: usize,
}

enum WorkInner<T> {
    Ready(T),
    /// Only a communication thread makes these.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    Pending(mpsc::Receiver<T>),
}

impl<T> Work<T> {
    pub(crate) fn ready(value: T, rank: usize) -> Work<T> {
        Work {
            inner: WorkInner::Ready(value),
            rank,
        }
    }

    /// Blocks until the collective has finished on this rank and returns its result.
    pub fn wait(self) -> Result<T, DistError> {
        match self.inner {
            WorkInner::Ready(v) => Ok(v),
            WorkInner::Pending(rx) => rx
                .recv()
                .map_err(|_| DistError::Stopped { rank: self.rank }),
        }
    }
}

/// The rank and world size an MPI launcher (`mpirun`, `mpiexec`, `srun --mpi`) gave this
/// process, read from its environment; `None` when it was started directly.
pub fn launcher_env() -> Option<(usize, usize)> {
    let pairs = [
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
        ("PMI_RANK", "PMI_SIZE"),
    ];
    pairs.iter().find_map(|(r, s)| {
        let rank = std::env::var(r).ok()?.parse().ok()?;
        let size = std::env::var(s).ok()?.parse().ok()?;
        Some((rank, size))
    })
}

/// One process's membership in the job.
pub(crate) struct Group {
    pub(crate) rank: usize,
    pub(crate) size: usize,
    #[cfg(feature = "mpi")]
    worker: Option<crate::mpi_backend::Worker>,
}

static DEFAULT: Mutex<Option<Arc<Group>>> = Mutex::new(None);

/// Starts the default group: MPI when a launcher started this process, else a world of one.
pub(crate) fn init(backend: &str) -> Result<Arc<Group>, DistError> {
    if !backend.eq_ignore_ascii_case("mpi") {
        return Err(DistError::Backend(backend.to_string()));
    }
    let mut slot = DEFAULT.lock();
    if slot.is_some() {
        return Err(DistError::AlreadyInitialized);
    }
    let group = Arc::new(start()?);
    if group.size > 1 {
        name_rank_in_panics(group.rank, group.size);
    }
    *slot = Some(group.clone());
    Ok(group)
}

/// Prefixes panic messages with the rank, so that the job's combined output says which rank
/// failed (the panic then ends the process, and the launcher ends the job).
fn name_rank_in_panics(rank: usize, size: usize) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("rank {rank} of {size} panicked; its exit ends the job:");
        previous(info)
    }));
}

#[cfg(feature = "mpi")]
fn start() -> Result<Group, DistError> {
    if launcher_env().is_none() {
        return Ok(Group {
            rank: 0,
            size: 1,
            worker: None,
        });
    }
    let (worker, rank, size) = crate::mpi_backend::Worker::start()?;
    Ok(Group {
        rank,
        size,
        worker: Some(worker),
    })
}

#[cfg(not(feature = "mpi"))]
fn start() -> Result<Group, DistError> {
    match launcher_env() {
        Some((rank, size)) if size > 1 => Err(DistError::NotBuilt { rank, size }),
        _ => Ok(Group { rank: 0, size: 1 }),
    }
}

/// The default group; an error before `init_process_group`.
pub(crate) fn current() -> Result<Arc<Group>, DistError> {
    DEFAULT.lock().clone().ok_or(DistError::NotInitialized)
}

/// Whether `init_process_group` has run (and `destroy_process_group` not since).
pub(crate) fn is_initialized() -> bool {
    DEFAULT.lock().is_some()
}

/// Ends the default group: waits for the communication thread to finish what it was given,
/// then finalizes MPI.
pub(crate) fn destroy() -> Result<(), DistError> {
    // When something (a DistributedDataParallel, a strategy) still holds the group, MPI is
    // finalized as the last of them lets go.
    let group = DEFAULT.lock().take().ok_or(DistError::NotInitialized)?;
    drop(group);
    Ok(())
}

impl Group {
    /// Sums (or maxes, ...) `send` over the ranks into `recv` (same dtype and length), and
    /// gives both buffers back. `trace(true)` runs on the communication thread as the
    /// reduction begins, `trace(false)` as it ends.
    pub(crate) fn all_reduce_into(
        &self,
        send: Buf,
        recv: Buf,
        op: ReduceOp,
        trace: Option<Trace>,
    ) -> Work<(Buf, Buf)> {
        if self.size == 1 {
            if let Some(mut f) = trace {
                f(true);
                f(false);
            }
            return Work::ready((send.clone(), send), self.rank);
        }
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.worker {
            return self.pending(w.all_reduce(send, recv, op, trace));
        }
        let _ = (recv, op);
        unreachable!("a group of several ranks has a communication thread")
    }

    /// `buf` reduced over the ranks into a fresh buffer (alone, `buf` itself), waited for.
    pub(crate) fn all_reduce(&self, buf: Buf, op: ReduceOp) -> Result<Buf, DistError> {
        if self.size == 1 {
            return Ok(buf);
        }
        let recv = buf.zeroed();
        Ok(self.all_reduce_into(buf, recv, op, None).wait()?.1)
    }

    /// `send` as `root` holds it, on every rank.
    pub(crate) fn broadcast(&self, buf: Buf, root: usize) -> Work<Buf> {
        if self.size == 1 {
            return Work::ready(buf, self.rank);
        }
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.worker {
            return self.pending(w.broadcast(buf, root));
        }
        let _ = root;
        unreachable!("a group of several ranks has a communication thread")
    }

    /// Every rank's `buf`, end to end in rank order.
    pub(crate) fn all_gather(&self, buf: Buf) -> Work<Buf> {
        if self.size == 1 {
            return Work::ready(buf, self.rank);
        }
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.worker {
            return self.pending(w.all_gather(buf, self.size));
        }
        unreachable!("a group of several ranks has a communication thread")
    }

    /// Returns once every rank has called it.
    pub(crate) fn barrier(&self) -> Work<()> {
        if self.size == 1 {
            return Work::ready((), self.rank);
        }
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.worker {
            return self.pending(w.barrier());
        }
        unreachable!("a group of several ranks has a communication thread")
    }

    #[cfg(feature = "mpi")]
    fn pending<T>(&self, rx: Option<mpsc::Receiver<T>>) -> Work<T> {
        match rx {
            Some(rx) => Work {
                inner: WorkInner::Pending(rx),
                rank: self.rank,
            },
            // The thread is gone: a receiver whose sender is dropped makes wait() fail.
            None => Work {
                inner: WorkInner::Pending(mpsc::channel().1),
                rank: self.rank,
            },
        }
    }
}

#[cfg(feature = "mpi")]
impl Drop for Group {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.stop(self.rank);
        }
    }
}
