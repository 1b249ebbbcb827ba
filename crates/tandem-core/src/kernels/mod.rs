//! The CPU kernels: every loop over raw element slices, every SIMD routine, the CPU feature
//! checks, the one matrix-product entry point and the thread pool. All of tandem's `unsafe`
//! code lives here and in `storage.rs`; `ops/` builds the tensor-level operations (shapes,
//! dtypes, autograd) on the safe functions below and calls them by name.
//!
//! | module | what |
//! |---|---|
//! | [`cpu`] | which vector instruction sets the running CPU has (checked once), and the wrappers that compile a loop for each |
//! | [`elementwise`] | output allocation, maps and zips over slices in AVX-512 / AVX2 builds |
//! | [`math`] | vectorized `exp`, `ln`, `tanh`, `sigmoid` and float32 sums |
//! | [`reduce`] | row and column sums |
//! | [`softmax`] | the softmax and log-softmax of one row |
//! | [`norm`] | layer normalization of rows, forward and backward |
//! | [`attention`] | fused scaled dot-product attention, forward and backward, in tiles with an online softmax |
//! | [`scan`] | cumulative sums and products of rows |
//! | [`gemm`] | matrix products through the `gemm` crate, extents asserted, rows or columns split over the pool |
//! | [`balance`] | the share of a split product the calling thread takes, learned from the threads' speeds |
//! | [`transpose`] | out-of-place transposition in 8x8 tiles, for operands the crate would gather |
//! | [`conv`] | convolution geometry, im2col / col2im and the convolution passes |
//! | [`conv_nhwc`] | the channels-last convolution passes (Keras's layout), ReLU fused |
//! | [`pool`] | max-pooling windows, channels-first and channels-last |
//! | [`parallel`] | the fork-join pool every kernel splits its work over |

pub(crate) mod attention;
pub(crate) mod balance;
pub(crate) mod conv;
pub(crate) mod conv_nhwc;
pub(crate) mod cpu;
pub(crate) mod elementwise;
pub(crate) mod gemm;
pub(crate) mod math;
pub(crate) mod norm;
pub mod parallel;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod softmax;
pub(crate) mod transpose;

/// Below this many elements a kernel runs on the calling thread; above it the pool splits it.
pub(crate) const PAR_MIN: usize = 1 << 15;

use std::sync::atomic::{AtomicBool, Ordering};

static DETERMINISTIC: AtomicBool = AtomicBool::new(false);

/// Parts a kernel cuts its work into in deterministic mode, whatever the number of threads.
const DETERMINISTIC_PARTS: usize = 4;

/// Turns deterministic mode on or off (see [`crate::use_deterministic_algorithms`]).
pub(crate) fn set_deterministic(on: bool) {
    DETERMINISTIC.store(on, Ordering::Relaxed);
}

/// Whether deterministic mode is on.
pub(crate) fn deterministic() -> bool {
    DETERMINISTIC.load(Ordering::Relaxed)
}

/// Parts per thread for work whose parts are claimed as threads come free (elementwise fills,
/// convolution and pooling images): with one part per thread, a thread the host slows down
/// holds up the other for the difference; with four, it takes fewer parts.
pub(crate) const PARTS_PER_THREAD: usize = 4;

/// Units (images, planes) per part when `units` are cut into [`PARTS_PER_THREAD`] parts per
/// thread of the pool, at least one each.
pub(crate) fn units_per_part(units: usize) -> usize {
    units_per_part_of(units, parallel::num_threads())
}

/// [`units_per_part`] for a cut over `threads` threads: work whose parts' partial sums are
/// added afterwards passes [`split_count`], which deterministic mode fixes.
pub(crate) fn units_per_part_of(units: usize, threads: usize) -> usize {
    units.div_ceil(threads * PARTS_PER_THREAD).max(1)
}

/// How many parts a kernel splits work into when parts are combined afterwards (partial sums,
/// scan carries, product column blocks): the pool's thread count, or in deterministic mode a
/// fixed count, so that the order of every floating-point sum is the same on 1, 2 or 4 threads
/// (the pool runs any number of parts on any number of threads).
pub(crate) fn split_count() -> usize {
    if deterministic() {
        DETERMINISTIC_PARTS
    } else {
        parallel::num_threads()
    }
}
