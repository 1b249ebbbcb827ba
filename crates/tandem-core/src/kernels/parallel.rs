//! Intra-op parallelism: a fork-join pool whose helpers spin between jobs, as OpenMP's do.
//!
//! A training step issues thousands of medium-sized kernels a second. Handing each to rayon
//! from the calling thread costs a sleep and a wake-up per kernel (15–200 µs on a virtual
//! machine, more than a 64x520 matmul takes), so kernels run here instead: the calling thread
//! takes part 0 itself, helpers that are still spinning from the previous kernel pick up the
//! other parts within a microsecond, and only helpers idle for longer than the spin time
//! (`SPIN`) go to sleep. Matrix products split their output columns over the pool too, each
//! part a single-threaded `gemm` call.
//!
//! The thread count is rayon's (`RAYON_NUM_THREADS`, else one per core); the pool keeps one
//! helper fewer, since the caller works too.

use parking_lot::{Condvar, Mutex};
use std::any::Any;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long an idle helper keeps spinning for the next job before it sleeps.
const SPIN: Duration = Duration::from_millis(5);

/// The job being run: a type-erased `&dyn Fn(usize)`.
type Job = *const (dyn Fn(usize) + Sync);

struct Pool {
    helpers: usize,
    /// `generation << 32 | parts << 16 | next part`: helpers claim parts by compare-and-swap
    /// on the whole word, so a stale helper can never claim a part of a newer job.
    state: AtomicU64,
    /// The job of the current generation (a fat pointer split in two words).
    job: Mutex<Option<JobPtr>>,
    done: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// One job at a time; a thread finding the pool busy runs its job alone.
    dispatch: Mutex<()>,
    sleepers: AtomicUsize,
    sleep_lock: Mutex<()>,
    wake: Condvar,
}

#[derive(Clone, Copy)]
struct JobPtr(Job);
// SAFETY: the pointer is only dereferenced while the job runs (see `Pool::run`); the closure
// behind it is `Sync`.
unsafe impl Send for JobPtr {}

thread_local! {
    static IS_HELPER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// 0 on a calling thread, `i + 1` on helper `i`.
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

const PARTS_MAX: usize = 0xFFFF;

fn pack(generation: u64, parts: usize, next: usize) -> u64 {
    (generation << 32) | ((parts as u64) << 16) | next as u64
}

fn unpack(s: u64) -> (u64, usize, usize) {
    (
        s >> 32,
        ((s >> 16) & 0xFFFF) as usize,
        (s & 0xFFFF) as usize,
    )
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let helpers = rayon::current_num_threads().saturating_sub(1);
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            helpers,
            state: AtomicU64::new(0),
            job: Mutex::new(None),
            done: AtomicUsize::new(0),
            panic: Mutex::new(None),
            dispatch: Mutex::new(()),
            sleepers: AtomicUsize::new(0),
            sleep_lock: Mutex::new(()),
            wake: Condvar::new(),
        }));
        for i in 0..helpers {
            std::thread::Builder::new()
                .name(format!("tandem-worker-{i}"))
                .spawn(move || {
                    WORKER.with(|w| w.set(i + 1));
                    pool.helper_loop()
                })
                .expect("spawn a worker thread");
        }
        pool
    })
}

/// Whether the calling thread is one of the pool's helpers (which run every part of a
/// nested job themselves).
pub(crate) fn on_helper() -> bool {
    IS_HELPER.with(|h| h.get())
}

/// Which of the threads running a job the calling thread is: 0 for the thread that started
/// it, `1..num_threads()` for the helpers. Distinct among the threads of one job.
pub(crate) fn worker_index() -> usize {
    WORKER.with(|w| w.get())
}

/// Threads a kernel may split over (the caller plus the pool's helpers).
pub fn num_threads() -> usize {
    pool().helpers + 1
}

/// Runs `f(i)` for every `i` in `0..parts`, spread over the calling thread and the pool's
/// helpers (part 0 always on the calling thread); returns when all have run. A panic in any
/// part is re-raised here.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// let total = AtomicUsize::new(0);
/// tandem_core::parallel::run(4, |i| {
///     total.fetch_add(i, Ordering::Relaxed);
/// });
/// assert_eq!(total.into_inner(), 0 + 1 + 2 + 3);
/// ```
pub fn run(parts: usize, f: impl Fn(usize) + Sync) {
    let serial = parts <= 1 || on_helper();
    if serial {
        (0..parts).for_each(&f);
        return;
    }
    let p = pool();
    let guard = match (p.helpers > 0).then(|| p.dispatch.try_lock()).flatten() {
        Some(g) => g,
        None => {
            (0..parts).for_each(&f);
            return;
        }
    };
    if parts <= PARTS_MAX {
        p.run(parts, &f);
    } else {
        // More parts than the state word can count: each pool part takes every `groups`-th.
        let groups = PARTS_MAX;
        p.run(groups, &|g| (g..parts).step_by(groups).for_each(&f));
    }
    drop(guard);
}

/// Splits `data` into chunks of `chunk` elements and runs `f(index, chunk)` on each, in parallel.
pub fn for_each_chunk_mut<T: Send>(
    data: &mut [T],
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let chunk = chunk.max(1);
    let n = data.len();
    let parts = n.div_ceil(chunk);
    let base = SendPtr(data.as_mut_ptr());
    run(parts, |i| {
        let start = i * chunk;
        // SAFETY: parts are disjoint ranges of `data`, which outlives `run`.
        f(i, unsafe { base.range(start, chunk.min(n - start)) })
    });
}

/// Like [`for_each_chunk_mut`] over two buffers of equal length, chunked alike.
pub fn for_each_chunk_mut2<T: Send, U: Send>(
    a: &mut [T],
    b: &mut [U],
    chunk: usize,
    f: impl Fn(usize, &mut [T], &mut [U]) + Sync,
) {
    assert_eq!(
        a.len(),
        b.len(),
        "for_each_chunk_mut2: buffers differ in length"
    );
    let chunk = chunk.max(1);
    let n = a.len();
    let (pa, pb) = (SendPtr(a.as_mut_ptr()), SendPtr(b.as_mut_ptr()));
    run(n.div_ceil(chunk), |i| {
        let start = i * chunk;
        let len = chunk.min(n - start);
        // SAFETY: parts are disjoint ranges of `a` and `b`, which outlive `run`.
        let (x, y) = unsafe { (pa.range(start, len), pb.range(start, len)) };
        f(i, x, y)
    });
}

/// Cuts each group of equally long buffers (a parameter and its optimizer state, say) into
/// ranges of at most `part` elements and runs `f(group, start, ranges)` for every range, over
/// the pool; `ranges` holds that range of each buffer of the group. Runs on the calling
/// thread when the groups together hold no more than `part` elements per buffer.
///
/// ```
/// let (mut a, mut b, mut c) = (vec![1.0f32; 5], vec![0.0f32; 5], vec![2.0f32; 3]);
/// let mut groups = vec![vec![&mut a[..], &mut b[..]], vec![&mut c[..]]];
/// tandem_core::parallel::for_each_range(&mut groups, 2, |g, start, r| {
///     if let (0, [a, b]) = (g, r) {
///         for (i, (x, y)) in a.iter().zip(b.iter_mut()).enumerate() {
///             *y = x + (start + i) as f32;
///         }
///     }
/// });
/// assert_eq!(b, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
/// ```
pub fn for_each_range<T: Send>(
    groups: &mut [Vec<&mut [T]>],
    part: usize,
    f: impl Fn(usize, usize, &mut [&mut [T]]) + Sync,
) {
    let part = part.max(1);
    let mut ranges = Vec::new();
    let mut total = 0;
    for (g, bufs) in groups.iter().enumerate() {
        let len = bufs.first().map_or(0, |b| b.len());
        assert!(
            bufs.iter().all(|b| b.len() == len),
            "for_each_range: the buffers of group {g} differ in length"
        );
        total += len;
        ranges.extend((0..len).step_by(part).map(|s| (g, s, part.min(len - s))));
    }
    let bases: Vec<Vec<SendPtr<T>>> = groups
        .iter_mut()
        .map(|bufs| bufs.iter_mut().map(|b| SendPtr(b.as_mut_ptr())).collect())
        .collect();
    let body = |j: usize| {
        let (g, start, len) = ranges[j];
        // SAFETY: ranges are disjoint parts of the groups' buffers, which are borrowed
        // mutably until this function returns.
        let mut parts: Vec<&mut [T]> = bases[g]
            .iter()
            .map(|b| unsafe { b.range(start, len) })
            .collect();
        f(g, start, &mut parts)
    };
    if total <= part {
        (0..ranges.len()).for_each(body);
    } else {
        run(ranges.len(), body);
    }
}

/// A buffer's base pointer handed to the pool's parts, each of which takes its own disjoint
/// range of the buffer.
pub(crate) struct SendPtr<T>(pub(crate) *mut T);
// SAFETY: used only to hand disjoint sub-slices of one `&mut [T]` to other threads.
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// Elements `start..start + len` of the buffer.
    ///
    /// # Safety
    /// The range must lie inside the buffer, which must outlive the slice, and no other part
    /// may use any of it meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn range(&self, start: usize, len: usize) -> &mut [T] {
        // SAFETY: as the caller guarantees.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

impl Pool {
    fn run(&self, parts: usize, f: &(dyn Fn(usize) + Sync)) {
        // SAFETY: (lifetime erasure) helpers call the job only after claiming a part of this
        // generation, and this function returns only once every part has finished.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        *self.job.lock() = Some(JobPtr(job));
        self.done.store(0, Ordering::Relaxed);
        let (generation, _, _) = unpack(self.state.load(Ordering::Relaxed));
        let generation = (generation + 1) & 0xFFFF_FFFF;
        // Part 0 is the caller's own: helpers claim from part 1 on.
        self.state
            .store(pack(generation, parts, 1), Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _l = self.sleep_lock.lock();
            self.wake.notify_all();
        }
        self.call(f, 0);
        // Then the caller works through whatever parts are left too.
        while let Some(i) = self.claim(generation) {
            self.call(f, i);
        }
        let mut spins = 0u32;
        while self.done.load(Ordering::Acquire) < parts {
            spins += 1;
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        *self.job.lock() = None;
        if let Some(payload) = self.panic.lock().take() {
            std::panic::resume_unwind(payload);
        }
    }

    /// Claims the next part of job `generation`, if any is left.
    fn claim(&self, generation: u64) -> Option<usize> {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let (g, parts, next) = unpack(s);
            if g != generation || next >= parts {
                return None;
            }
            match self.state.compare_exchange_weak(
                s,
                pack(g, parts, next + 1),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next),
                Err(now) => s = now,
            }
        }
    }

    fn call(&self, f: &(dyn Fn(usize) + Sync), i: usize) {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(i))) {
            self.panic.lock().get_or_insert(payload);
        }
        self.done.fetch_add(1, Ordering::Release);
    }

    fn helper_loop(&self) {
        IS_HELPER.with(|h| h.set(true));
        let mut seen = unpack(self.state.load(Ordering::Acquire)).0;
        loop {
            let generation = self.wait_for_job(seen);
            seen = generation;
            while let Some(i) = self.claim(generation) {
                // A successful claim means the job of `generation` is still running, so the
                // pointer read now is that job's.
                let job = self.job.lock().expect("a job is set while parts remain");
                // SAFETY: see above; the caller waits for this part before returning.
                self.call(unsafe { &*job.0 }, i);
            }
        }
    }

    /// Spins, then sleeps, until a generation other than `seen` is published.
    fn wait_for_job(&self, seen: u64) -> u64 {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let g = unpack(self.state.load(Ordering::Acquire)).0;
            if g != seen {
                return g;
            }
            spins += 1;
            if spins.is_multiple_of(64) {
                if start.elapsed() > SPIN {
                    break;
                }
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        let mut l = self.sleep_lock.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        loop {
            let g = unpack(self.state.load(Ordering::SeqCst)).0;
            if g != seen {
                self.sleepers.fetch_sub(1, Ordering::SeqCst);
                return g;
            }
            self.wake.wait(&mut l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_is_visited_once() {
        let mut v = vec![0u32; 100_003];
        for_each_chunk_mut(&mut v, 7_001, |i, c| {
            c.iter_mut().for_each(|x| *x += i as u32 + 1)
        });
        for (j, x) in v.iter().enumerate() {
            assert_eq!(*x, (j / 7_001) as u32 + 1, "element {j}");
        }
    }

    #[test]
    fn more_parts_than_the_state_word_counts_all_run() {
        let n = PARTS_MAX * 2 + 7;
        let mut v = vec![0u8; n];
        for_each_chunk_mut(&mut v, 1, |_, c| c[0] += 1);
        assert!(v.iter().all(|&x| x == 1));
    }

    #[test]
    fn back_to_back_jobs_see_their_own_closures() {
        for round in 0..2_000usize {
            let mut v = vec![0usize; 8];
            for_each_chunk_mut(&mut v, 1, |i, c| c[0] = i * round);
            assert_eq!(v, (0..8).map(|i| i * round).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_panicking_part_is_reraised_and_the_pool_survives() {
        let r = std::panic::catch_unwind(|| {
            run(4, |i| {
                if i == 3 {
                    panic!("part three failed");
                }
            })
        });
        let msg = r.expect_err("panic re-raised");
        assert_eq!(msg.downcast_ref::<&str>(), Some(&"part three failed"));
        let total = AtomicUsize::new(0);
        run(4, |i| {
            total.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(total.into_inner(), 6);
    }
}
