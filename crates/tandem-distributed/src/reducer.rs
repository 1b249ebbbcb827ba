//! Gradient buckets reduced while backward runs (PyTorch's `Reducer`): parameters are packed
//! into buckets in reverse order (roughly the order backward produces their gradients), and a
//! bucket's allreduce is handed to the communication thread as soon as its last gradient has
//! been accumulated, so communication overlaps the rest of backward. When the last bucket is
//! reduced, the averaged gradients are written back into `.grad` before `backward()` returns.

use crate::buffer::Buf;
use crate::error::DistError;
use crate::group::{Group, ReduceOp, Work};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use std::time::Instant;
use tandem_core::autograd::RemovableHandle;
use tandem_core::{DType, Tensor};

/// What happened during the last synchronized backward pass, in order (for tracing overlap
/// and measuring communication).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CommEventKind {
    /// A parameter's gradient was accumulated (its index in `parameters()`).
    GradReady(usize),
    /// A bucket's allreduce was handed to the communication thread.
    BucketLaunched(usize),
    /// The communication thread began reducing a bucket.
    AllReduceStarted(usize),
    /// The communication thread finished reducing a bucket.
    AllReduceFinished(usize),
    /// Every bucket is reduced and the averaged gradients are in `.grad`.
    GradientsWritten,
}

/// One event of [`CommEventKind`] and when it happened.
#[derive(Clone, Copy, Debug)]
pub struct CommEvent {
    /// What happened.
    pub kind: CommEventKind,
    /// When.
    pub at: Instant,
}

struct Bucket {
    dtype: DType,
    /// Parameter indices, in the order their gradients are laid out.
    params: Vec<usize>,
    offsets: Vec<usize>,
    len: usize,
}

struct Step {
    sync: bool,
    /// What the summed gradients are multiplied by (1 / world size for an average).
    scale: f64,
    param_ready: Vec<bool>,
    bucket_ready: Vec<usize>,
    n_ready: usize,
    next_launch: usize,
    in_flight: Vec<(usize, Work<(Buf, Buf)>)>,
    /// Set once this step's gradients are reduced and written back.
    done: bool,
    /// Each bucket's send buffer, kept between steps.
    spare: Vec<Option<Buf>>,
}

pub(crate) struct Reducer {
    group: Arc<Group>,
    params: Vec<Tensor>,
    buckets: Vec<Bucket>,
    /// Each parameter's bucket.
    bucket_of: Vec<usize>,
    step: Mutex<Step>,
    events: Arc<Mutex<Vec<CommEvent>>>,
}

/// Splits parameters, taken in reverse, into buckets as PyTorch does: a bucket takes
/// parameters of one dtype until it holds `cap` bytes or more (the first bucket `first`), then
/// the next one opens.
fn plan_buckets(params: &[Tensor], (first, cap): (usize, usize)) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::new();
    let mut open = false;
    for i in (0..params.len()).rev() {
        let (dtype, n) = (params[i].dtype(), params[i].numel());
        if !open || buckets.last().is_some_and(|b| b.dtype != dtype) {
            buckets.push(Bucket {
                dtype,
                params: Vec::new(),
                offsets: Vec::new(),
                len: 0,
            });
        }
        let limit = if buckets.len() == 1 { first } else { cap };
        let b = buckets.last_mut().expect("pushed");
        b.params.push(i);
        b.offsets.push(b.len);
        b.len += n;
        open = b.len * dtype.size_in_bytes() < limit;
    }
    buckets
}

impl Reducer {
    /// A reducer over `params`, with a hook on each; the handles remove them.
    pub(crate) fn new(
        group: Arc<Group>,
        params: Vec<Tensor>,
        bucket_caps: (usize, usize),
    ) -> Result<(Arc<Reducer>, Vec<RemovableHandle>), DistError> {
        for (i, p) in params.iter().enumerate() {
            if !p.dtype().is_float() {
                return Err(DistError::Invalid {
                    rank: group.rank,
                    op: "DistributedDataParallel",
                    reason: format!(
                        "parameter {i} has dtype {}; gradients are floating point",
                        p.dtype()
                    ),
                });
            }
        }
        let buckets = plan_buckets(&params, bucket_caps);
        let mut bucket_of = vec![0; params.len()];
        for (b, bucket) in buckets.iter().enumerate() {
            for &p in &bucket.params {
                bucket_of[p] = b;
            }
        }
        let n = params.len();
        let step = Step {
            sync: true,
            scale: 1.0 / group.size as f64,
            param_ready: vec![false; n],
            bucket_ready: vec![0; buckets.len()],
            n_ready: 0,
            next_launch: 0,
            in_flight: Vec::new(),
            done: false,
            spare: buckets.iter().map(|_| None).collect(),
        };
        let reducer = Arc::new(Reducer {
            group,
            params,
            buckets,
            bucket_of,
            step: Mutex::new(step),
            events: Arc::new(Mutex::new(Vec::new())),
        });
        let handles = reducer
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let weak: Weak<Reducer> = Arc::downgrade(&reducer);
                p.register_post_accumulate_grad_hook(move |_| {
                    if let Some(r) = weak.upgrade() {
                        r.grad_ready(i);
                    }
                })
            })
            .collect();
        Ok((reducer, handles))
    }

    pub(crate) fn num_buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The parameter indices of each bucket, in launch order.
    pub(crate) fn bucket_params(&self) -> Vec<Vec<usize>> {
        self.buckets.iter().map(|b| b.params.clone()).collect()
    }

    pub(crate) fn set_sync(&self, on: bool) -> bool {
        std::mem::replace(&mut self.step.lock().sync, on)
    }

    /// Starts a synchronized step whose summed gradients are multiplied by `scale`.
    pub(crate) fn begin(&self, scale: f64) {
        let mut s = self.step.lock();
        s.sync = true;
        s.scale = scale;
        s.done = false;
    }

    /// Whether a backward pass left some parameters' gradients unreduced.
    pub(crate) fn pending(&self) -> usize {
        let s = self.step.lock();
        if s.n_ready == 0 {
            0
        } else {
            self.params.len() - s.n_ready
        }
    }

    pub(crate) fn events(&self) -> Vec<CommEvent> {
        self.events.lock().clone()
    }

    fn log(&self, kind: CommEventKind) {
        self.events.lock().push(CommEvent {
            kind,
            at: Instant::now(),
        });
    }

    /// Whether this step reduces nothing: not synchronizing, or alone with nothing to scale
    /// (the averaged gradient is the gradient).
    fn idle(&self, s: &Step) -> bool {
        !s.sync || (self.group.size == 1 && s.scale == 1.0)
    }

    fn grad_ready(&self, i: usize) {
        let mut s = self.step.lock();
        if self.idle(&s) {
            return;
        }
        if s.n_ready == 0 {
            self.events.lock().clear();
        }
        assert!(
            !s.param_ready[i],
            "Expected to mark a variable ready only once: parameter {i} received a second \
             gradient before the previous ones were reduced"
        );
        self.log(CommEventKind::GradReady(i));
        s.param_ready[i] = true;
        s.n_ready += 1;
        let b = self.bucket_of[i];
        s.bucket_ready[b] += 1;
        self.launch_ready(&mut s);
        if s.n_ready == self.params.len() {
            self.finish_locked(&mut s);
        }
    }

    /// Hands every complete bucket, in bucket order, to the communication thread.
    fn launch_ready(&self, s: &mut Step) {
        while s.next_launch < self.buckets.len()
            && s.bucket_ready[s.next_launch] == self.buckets[s.next_launch].params.len()
        {
            let b = s.next_launch;
            self.launch(s, b);
            s.next_launch += 1;
        }
    }

    fn launch(&self, s: &mut Step, b: usize) {
        let bucket = &self.buckets[b];
        let zeros = || Buf::zeros(bucket.dtype, bucket.len).expect("float dtype");
        let mut send = s.spare[b].take().unwrap_or_else(zeros);
        // The reduced gradients become views of the receive buffer, so it is a new one
        // every step (the last step's is the optimizer's until `zero_grad`).
        let recv = zeros();
        // The scale is applied while packing, so the sum over ranks is already the average.
        for (&p, &off) in bucket.params.iter().zip(&bucket.offsets) {
            let param = &self.params[p];
            match param.grad() {
                Some(g) => send.read_range_from(off, &g, s.scale),
                // A parameter backward did not reach contributes zeros (only `finish` gets here).
                None => send.zero_range(off, param.numel()),
            }
        }
        self.log(CommEventKind::BucketLaunched(b));
        let events = self.events.clone();
        let trace = Box::new(move |start: bool| {
            events.lock().push(CommEvent {
                kind: if start {
                    CommEventKind::AllReduceStarted(b)
                } else {
                    CommEventKind::AllReduceFinished(b)
                },
                at: Instant::now(),
            })
        });
        let work = self
            .group
            .all_reduce_into(send, recv, ReduceOp::Sum, Some(trace));
        s.in_flight.push((b, work));
    }

    /// Waits for every bucket, writes the reduced gradients back and resets for the next pass.
    fn finish_locked(&self, s: &mut Step) {
        for (b, work) in std::mem::take(&mut s.in_flight) {
            let (send, recv) = work.wait().unwrap_or_else(|e| panic!("{e}"));
            let flat = recv.into_tensor();
            let bucket = &self.buckets[b];
            for (&p, &off) in bucket.params.iter().zip(&bucket.offsets) {
                let param = &self.params[p];
                let shape: Vec<isize> = param.shape().iter().map(|&d| d as isize).collect();
                param.set_grad(Some(flat.narrow(0, off, param.numel()).view(&shape)));
            }
            s.spare[b] = Some(send);
        }
        s.param_ready.iter_mut().for_each(|r| *r = false);
        s.bucket_ready.iter_mut().for_each(|r| *r = 0);
        s.n_ready = 0;
        s.next_launch = 0;
        s.done = true;
        self.log(CommEventKind::GradientsWritten);
    }

    /// Reduces whatever this step's backward pass left, with zeros for parameters it did not
    /// reach, so that every rank makes the same calls; a no-op when the hooks already reduced
    /// everything.
    pub(crate) fn finish(&self) {
        let mut s = self.step.lock();
        if s.done || self.idle(&s) {
            return;
        }
        if s.n_ready == 0 {
            self.events.lock().clear();
        }
        for b in s.next_launch..self.buckets.len() {
            self.launch(&mut s, b);
        }
        self.finish_locked(&mut s);
    }
}
