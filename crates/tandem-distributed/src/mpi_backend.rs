//! The communication thread over MPI (rsmpi): it initializes MPI, runs each collective it is
//! handed in order, and finalizes MPI when the group ends.

use crate::buffer::Buf;
use crate::error::DistError;
use crate::group::ReduceOp;
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::sync::mpsc;
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce(&SimpleCommunicator) + Send>;

pub(crate) struct Worker {
    jobs: mpsc::Sender<Job>,
    thread: JoinHandle<()>,
}

fn system_op(op: ReduceOp) -> SystemOperation {
    match op {
        ReduceOp::Sum | ReduceOp::Avg => SystemOperation::sum(),
        ReduceOp::Product => SystemOperation::product(),
        ReduceOp::Max => SystemOperation::max(),
        ReduceOp::Min => SystemOperation::min(),
    }
}

fn reduce<T: Equivalence>(world: &SimpleCommunicator, send: &[T], recv: &mut [T], op: ReduceOp) {
    world.all_reduce_into(send, recv, system_op(op));
}

impl Worker {
    /// Starts the thread and MPI on it; returns this process's rank and the world size.
    pub(crate) fn start() -> Result<(Worker, usize, usize), DistError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("tandem-mpi".into())
            .spawn(move || {
                let Some((universe, _)) = mpi::initialize_with_threading(mpi::Threading::Funneled)
                else {
                    let _ = ready_tx.send(None);
                    return;
                };
                let world = universe.world();
                let _ = ready_tx.send(Some((world.rank() as usize, world.size() as usize)));
                while let Ok(job) = rx.recv() {
                    job(&world);
                }
                // Dropping the universe calls MPI_Finalize, on the thread that initialized MPI.
                drop(universe);
            })
            .map_err(|_| DistError::Init)?;
        match ready_rx.recv() {
            Ok(Some((rank, size))) => Ok((Worker { jobs, thread }, rank, size)),
            _ => {
                let _ = thread.join();
                Err(DistError::Init)
            }
        }
    }

    /// Lets the thread finish its queue, finalize MPI and exit.
    pub(crate) fn stop(self, rank: usize) -> Result<(), DistError> {
        drop(self.jobs);
        self.thread.join().map_err(|_| DistError::Stopped { rank })
    }

    fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce(&SimpleCommunicator) -> T + Send + 'static,
    ) -> Option<mpsc::Receiver<T>> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |world| {
                let _ = tx.send(job(world));
            }))
            .ok()?;
        Some(rx)
    }

    pub(crate) fn all_reduce(
        &self,
        send: Buf,
        mut recv: Buf,
        op: ReduceOp,
        mut trace: Option<crate::group::Trace>,
    ) -> Option<mpsc::Receiver<(Buf, Buf)>> {
        self.submit(move |world| {
            if let Some(f) = &mut trace {
                f(true);
            }
            match (&send, &mut recv) {
                (Buf::F32(s), Buf::F32(r)) => reduce(world, &s[..], &mut r[..], op),
                (Buf::F64(s), Buf::F64(r)) => reduce(world, &s[..], &mut r[..], op),
                (Buf::I64(s), Buf::I64(r)) => reduce(world, &s[..], &mut r[..], op),
                (Buf::I32(s), Buf::I32(r)) => reduce(world, &s[..], &mut r[..], op),
                _ => unreachable!("send and receive buffers share a dtype"),
            }
            if let Some(f) = &mut trace {
                f(false);
            }
            (send, recv)
        })
    }

    pub(crate) fn broadcast(&self, mut buf: Buf, root: usize) -> Option<mpsc::Receiver<Buf>> {
        self.submit(move |world| {
            let root = world.process_at_rank(root as i32);
            crate::buffer::with_buf!(&mut buf, v => root.broadcast_into(&mut v[..]));
            buf
        })
    }

    pub(crate) fn all_gather(&self, buf: Buf, size: usize) -> Option<mpsc::Receiver<Buf>> {
        self.submit(move |world| {
            let mut out = Buf::zeros(dtype_of(&buf), buf.len() * size).expect("a supported dtype");
            match (&buf, &mut out) {
                (Buf::F32(s), Buf::F32(r)) => world.all_gather_into(&s[..], &mut r[..]),
                (Buf::F64(s), Buf::F64(r)) => world.all_gather_into(&s[..], &mut r[..]),
                (Buf::I64(s), Buf::I64(r)) => world.all_gather_into(&s[..], &mut r[..]),
                (Buf::I32(s), Buf::I32(r)) => world.all_gather_into(&s[..], &mut r[..]),
                _ => unreachable!("same dtype"),
            }
            out
        })
    }

    pub(crate) fn barrier(&self) -> Option<mpsc::Receiver<()>> {
        self.submit(|world| world.barrier())
    }
}

fn dtype_of(buf: &Buf) -> tandem_core::DType {
    use tandem_core::DType;
    match buf {
        Buf::F32(_) => DType::Float32,
        Buf::F64(_) => DType::Float64,
        Buf::I64(_) => DType::Int64,
        Buf::I32(_) => DType::Int32,
    }
}
