//! `torch.distributed`: the process group's functions and collectives on tensors.

use crate::buffer::Buf;
use crate::error::DistError;
use crate::group::{self, Group, ReduceOp};
use tandem_core::Tensor;

/// `dist.init_process_group("mpi")`: joins the job an MPI launcher (`mpirun -np N`) started,
/// with MPI running on a communication thread. A process started without a launcher is a
/// world of one, so the same program runs alone unchanged.
///
/// ```
/// use tandem_distributed as dist;
/// dist::init_process_group("mpi")?;
/// assert_eq!((dist::get_rank()?, dist::get_world_size()?), (0, 1));
/// dist::destroy_process_group()?;
/// # Ok::<(), dist::DistError>(())
/// ```
pub fn init_process_group(backend: &str) -> Result<(), DistError> {
    group::init(backend).map(|_| ())
}

/// `dist.is_initialized()`.
pub fn is_initialized() -> bool {
    group::is_initialized()
}

/// `dist.get_rank()`: this process's place in the job, from 0.
pub fn get_rank() -> Result<usize, DistError> {
    Ok(group::current()?.rank)
}

/// `dist.get_world_size()`: how many processes the job has.
pub fn get_world_size() -> Result<usize, DistError> {
    Ok(group::current()?.size)
}

/// `dist.destroy_process_group()`: lets the communication thread finish and finalizes MPI.
/// Call it at the end of the program, as in PyTorch: a rank that exits without it makes
/// `mpirun` report the job as failed.
pub fn destroy_process_group() -> Result<(), DistError> {
    group::destroy()
}

/// `dist.all_reduce(tensor, op)`: replaces `tensor` on every rank with the elementwise
/// reduction of all ranks' values.
///
/// ```
/// use tandem_distributed::{self as dist, ReduceOp};
/// use tandem_core::Tensor;
/// dist::init_process_group("mpi")?;
/// let t = Tensor::new([1.0f32, 2.0]);
/// dist::all_reduce(&t, ReduceOp::Sum)?;
/// let n = dist::get_world_size()? as f32;
/// assert_eq!(t.to_vec::<f32>(), vec![n, 2.0 * n]);
/// dist::destroy_process_group()?;
/// # Ok::<(), dist::DistError>(())
/// ```
pub fn all_reduce(tensor: &Tensor, op: ReduceOp) -> Result<(), DistError> {
    all_reduce_on(&*group::current()?, tensor, op)
}

/// `all_reduce` over `g`.
pub(crate) fn all_reduce_on(g: &Group, tensor: &Tensor, op: ReduceOp) -> Result<(), DistError> {
    let send = Buf::from_tensor(tensor, g.rank, "all_reduce")?;
    if op == ReduceOp::Avg && !tensor.dtype().is_float() {
        return Err(DistError::Invalid {
            rank: g.rank,
            op: "all_reduce",
            reason: format!(
                "ReduceOp::Avg needs a floating-point tensor, got {}",
                tensor.dtype()
            ),
        });
    }
    let mut out = g.all_reduce(send, op)?;
    if op == ReduceOp::Avg {
        out.divide(g.size as f64);
    }
    out.write_into(tensor);
    Ok(())
}

/// `dist.broadcast(tensor, src)`: every rank's `tensor` becomes rank `src`'s.
pub fn broadcast(tensor: &Tensor, src: usize) -> Result<(), DistError> {
    let g = group::current()?;
    if src >= g.size {
        return Err(DistError::Invalid {
            rank: g.rank,
            op: "broadcast",
            reason: format!("source rank {src} is outside a world of {}", g.size),
        });
    }
    broadcast_on(&g, tensor, src)
}

/// `broadcast` over `g`, in place.
pub(crate) fn broadcast_on(g: &Group, tensor: &Tensor, src: usize) -> Result<(), DistError> {
    let buf = Buf::from_tensor(tensor, g.rank, "broadcast")?;
    g.broadcast(buf, src).wait()?.write_into(tensor);
    Ok(())
}

/// `dist.all_gather(tensor_list, tensor)`: every rank's `tensor`, in rank order. All ranks
/// must pass tensors of the same shape and dtype.
pub fn all_gather(tensor: &Tensor) -> Result<Vec<Tensor>, DistError> {
    let g = group::current()?;
    let buf = Buf::from_tensor(tensor, g.rank, "all_gather")?;
    let all = g.all_gather(buf).wait()?;
    let n = tensor.numel();
    Ok((0..g.size)
        .map(|r| all.tensor_from_range(r * n, tensor.shape()))
        .collect())
}

/// `dist.barrier()`: returns once every rank has reached it.
pub fn barrier() -> Result<(), DistError> {
    group::current()?.barrier().wait()
}
