//! `tandem train` under `mpirun`: which rank this process is, and the sums across ranks that
//! keep every rank's record of an epoch the same.

use crate::error::CliError;
use tandem::distributed as dist;
use tandem::Tensor;

/// This process's place in the training job: rank 0 of 1 when started directly.
pub(crate) struct Job {
    pub rank: usize,
    pub size: usize,
}

impl Job {
    /// Joins the MPI job when a launcher started this process (else a job of one, as before).
    /// Unless `RAYON_NUM_THREADS` says otherwise, the ranks on one machine share its cores.
    pub fn start() -> Result<Job, CliError> {
        let Some((_, size)) = dist::launcher_env() else {
            return Ok(Job { rank: 0, size: 1 });
        };
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            let local = std::env::var("OMPI_COMM_WORLD_LOCAL_SIZE")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(size);
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            std::env::set_var(
                "RAYON_NUM_THREADS",
                (cores / local.max(1)).max(1).to_string(),
            );
        }
        dist::init_process_group("mpi")?;
        Ok(Job {
            rank: dist::get_rank()?,
            size: dist::get_world_size()?,
        })
    }

    /// Whether this rank prints and writes files (rank 0).
    pub fn is_chief(&self) -> bool {
        self.rank == 0
    }

    /// Sums `values` over the ranks, in place.
    pub fn sum(&self, values: &mut [f64]) -> Result<(), CliError> {
        if self.size > 1 {
            let t = Tensor::from_vec(values.to_vec(), &[values.len()]);
            dist::all_reduce(&t, dist::ReduceOp::Sum)?;
            values.copy_from_slice(&t.to_vec::<f64>());
        }
        Ok(())
    }

    /// An error unless every rank has the same `value` (what each read from the run directory).
    pub fn check_same(&self, what: &str, value: usize) -> Result<(), CliError> {
        if self.size > 1 {
            let all = dist::all_gather(&Tensor::from_vec(vec![value as i64], &[1]))?;
            for (rank, v) in all.iter().map(|t| t.item::<i64>()).enumerate() {
                if v != value as i64 {
                    return Err(CliError::Other(format!(
                        "rank {rank} sees {v} {what}, rank {} sees {value}: the run directory \
                         must be on a filesystem every rank shares",
                        self.rank
                    )));
                }
            }
        }
        Ok(())
    }

    /// Leaves the job (finalizing MPI).
    pub fn finish(self) -> Result<(), CliError> {
        if dist::is_initialized() {
            dist::destroy_process_group()?;
        }
        Ok(())
    }
}

/// The torch model as this job trains it: alone, or wrapped in `DistributedDataParallel`
/// when there are several ranks (so a job of one pays nothing for the wrapper).
pub(crate) enum Replicated<M: tandem::torch::nn::Module> {
    Alone(M),
    Parallel(tandem::torch::nn::parallel::DistributedDataParallel<M>),
}

impl<M: tandem::torch::nn::Module> Replicated<M> {
    /// Wraps `model` for `job`; with several ranks every rank now holds rank 0's weights.
    pub fn new(model: M, job: &Job) -> Result<Replicated<M>, CliError> {
        Ok(if job.size > 1 {
            Replicated::Parallel(tandem::torch::nn::parallel::DistributedDataParallel::new(
                model,
            )?)
        } else {
            Replicated::Alone(model)
        })
    }

    /// The model itself (what checkpoints hold, without DDP's `module.` prefix).
    pub fn inner(&self) -> &M {
        match self {
            Replicated::Alone(m) => m,
            Replicated::Parallel(d) => d.module(),
        }
    }

    /// The forward pass (through DDP when replicated).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        use tandem::torch::nn::Module;
        match self {
            Replicated::Alone(m) => m.forward(x),
            Replicated::Parallel(d) => d.forward(x),
        }
    }
}
