//! How much of a split matrix product the calling thread takes, learned from how fast the
//! threads ran their parts of earlier products.
//!
//! Two virtual CPUs need not be equally fast: each shares a physical core with whatever else
//! the host runs there, so one of them can run the same microkernel 20–25% slower than the
//! other, for stretches of tens of milliseconds to minutes, and which one is slower changes.
//! Cut into equal parts, every product then waits for the slower thread while the faster one
//! idles; cut finer, every extra part repacks the shared operand.
//! So products are cut once per thread, in proportion to the speeds measured on the products
//! before: the calling thread takes part 0, and after each product its rate (rows or columns
//! per second) over the helpers' rate moves a running ratio a quarter of the way towards the
//! new measurement.
//!
//! Where the cut falls never changes a result: on `gemm`'s general path every output element
//! is the same sum in the same order whichever part holds it (the crate blocks the inner
//! dimension by its length alone), and `split_product` moves the cut only for products whose
//! every possible part stays on that path. Deterministic mode cuts equal parts all the same.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// `ln(calling thread's rate / helpers' rate)`, as `f32` bits.
static LOG_RATIO: AtomicU32 = AtomicU32::new(0);

/// The ratio stays within a factor of two either way, so no part shrinks to nothing.
const LOG_LIMIT: f32 = std::f32::consts::LN_2;

/// How far one measurement moves the ratio.
const STEP: f32 = 0.25;

/// The calling thread's speed over a helper's, as last learned (1 when they are alike).
pub(crate) fn ratio() -> f64 {
    ratio_in(&LOG_RATIO)
}

fn ratio_in(cell: &AtomicU32) -> f64 {
    f64::from(f32::from_bits(cell.load(Ordering::Relaxed))).exp()
}

/// Where parts start, cutting `total` units into `parts` in multiples of `quantum` (the last
/// part takes the remainder): part 0 in proportion `ratio` to each of the others. Returns
/// `parts + 1` ascending bounds from 0 to `total`; parts may come out empty when `total` is
/// small.
pub(crate) fn cuts(total: usize, parts: usize, quantum: usize, ratio: f64) -> Vec<usize> {
    let quantum = quantum.max(1);
    let parts = parts.max(1);
    let share = ratio / (ratio + (parts - 1) as f64);
    let round = |x: f64| ((x / quantum as f64).round() as usize * quantum).min(total);
    let mut bounds = Vec::with_capacity(parts + 1);
    bounds.push(0);
    let first = if parts == 1 {
        total
    } else {
        round(total as f64 * share)
    };
    bounds.push(first);
    let rest = total - first;
    for p in 1..parts {
        let end = if p + 1 == parts {
            total
        } else {
            first + round(rest as f64 * p as f64 / (parts - 1) as f64)
        };
        bounds.push(end.max(*bounds.last().expect("bounds start at 0")));
    }
    bounds
}

/// The fewest units any part of `cuts(total, parts, quantum, r)` can get for any ratio `r` the
/// learning allows: part 0 at half the others' speed takes `1 / (2 parts - 1)` of the total,
/// less up to a quantum of rounding.
pub(crate) fn smallest_part(total: usize, parts: usize, quantum: usize) -> usize {
    (total / (2 * parts.max(1) - 1)).saturating_sub(quantum)
}

/// One product's parts: the units each covered, how long it ran, and whether a helper ran it.
pub(crate) struct PartTime {
    pub units: usize,
    pub time: Duration,
    pub on_helper: bool,
}

/// Updates the ratio from one product whose part 0 ran on the calling thread and every other
/// part on a helper; products that ran otherwise (a busy pool, a helper late to start) say
/// nothing about the threads' speeds and are ignored.
pub(crate) fn learn(parts: &[PartTime]) {
    learn_into(&LOG_RATIO, parts);
}

fn learn_into(cell: &AtomicU32, parts: &[PartTime]) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    if rest.is_empty() || first.on_helper || rest.iter().any(|p| !p.on_helper) {
        return;
    }
    let rate = |units: usize, time: Duration| units as f64 / time.as_secs_f64().max(1e-9);
    let helpers = rate(
        rest.iter().map(|p| p.units).sum(),
        rest.iter().map(|p| p.time).sum(),
    );
    if first.units == 0 || helpers == 0.0 {
        return;
    }
    let seen = (rate(first.units, first.time) / helpers).ln() as f32;
    let old = f32::from_bits(cell.load(Ordering::Relaxed));
    let new = (old + STEP * (seen - old)).clamp(-LOG_LIMIT, LOG_LIMIT);
    cell.store(new.to_bits(), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_speeds_cut_equal_parts_in_whole_quanta() {
        assert_eq!(cuts(768, 2, 16, 1.0), vec![0, 384, 768]);
        assert_eq!(cuts(520, 2, 4, 1.0), vec![0, 260, 520]);
        assert_eq!(cuts(100, 1, 16, 1.7), vec![0, 100]);
        let b = cuts(1000, 4, 16, 1.0);
        assert_eq!((b[0], b[4]), (0, 1000));
        assert!(b.windows(2).all(|w| w[0] <= w[1]), "{b:?}");
        assert!(b[1..4].iter().all(|x| x % 16 == 0), "{b:?}");
    }

    #[test]
    fn a_faster_calling_thread_takes_the_larger_part() {
        // 1.5 times as fast: 3/5 of 768 rows is 460.8, rounded to 464 (29 blocks of 16).
        assert_eq!(cuts(768, 2, 16, 1.5), vec![0, 464, 768]);
        // Two-thirds as fast: 2/5 of 768 is 307.2, rounded to 304.
        assert_eq!(cuts(768, 2, 16, 1.0 / 1.5), vec![0, 304, 768]);
        // Against three helpers, part 0 takes 2 / (2 + 3) and the others split the rest.
        assert_eq!(cuts(1000, 4, 4, 2.0), vec![0, 400, 600, 800, 1000]);
    }

    #[test]
    fn tiny_totals_leave_empty_parts_but_cover_everything() {
        let b = cuts(8, 3, 16, 1.0);
        assert_eq!(*b.last().unwrap(), 8);
        assert!(b.windows(2).all(|w| w[0] <= w[1]), "{b:?}");
    }

    #[test]
    fn only_products_split_between_the_caller_and_helpers_teach_the_ratio() {
        let part = |units, micros, on_helper| PartTime {
            units,
            time: Duration::from_micros(micros),
            on_helper,
        };
        let cell = AtomicU32::new(0);
        // Part 0 on a helper, or a part after it on the calling thread: ignored.
        learn_into(&cell, &[part(384, 100, true), part(384, 200, true)]);
        learn_into(&cell, &[part(384, 100, false), part(384, 200, false)]);
        learn_into(&cell, &[part(384, 100, false)]);
        assert_eq!(ratio_in(&cell), 1.0);
    }

    #[test]
    fn the_ratio_moves_a_quarter_of_the_way_and_stays_within_a_factor_of_two() {
        let cell = AtomicU32::new(0);
        // The caller ran its rows in half the helper's time per row: twice as fast.
        learn_into(
            &cell,
            &[
                PartTime {
                    units: 384,
                    time: Duration::from_micros(100),
                    on_helper: false,
                },
                PartTime {
                    units: 384,
                    time: Duration::from_micros(200),
                    on_helper: true,
                },
            ],
        );
        // A quarter of the way from ratio 1 to ratio 2.
        assert!(
            (ratio_in(&cell) - 2f64.powf(0.25)).abs() < 1e-6,
            "{}",
            ratio_in(&cell)
        );
        for _ in 0..100 {
            learn_into(
                &cell,
                &[
                    PartTime {
                        units: 384,
                        time: Duration::from_micros(10),
                        on_helper: false,
                    },
                    PartTime {
                        units: 384,
                        time: Duration::from_micros(1000),
                        on_helper: true,
                    },
                ],
            );
        }
        // A hundredfold measured speed is held at twice.
        assert!((ratio_in(&cell) - 2.0).abs() < 1e-5, "{}", ratio_in(&cell));
    }
}
