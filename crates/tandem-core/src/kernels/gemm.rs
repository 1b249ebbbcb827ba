//! Matrix products through the `gemm` crate: the one place that calls it. Operands are slices
//! with (row, column) strides, so transposes and broadcasts are read in place; every call
//! asserts that each operand's extent lies inside its slice before the crate sees a pointer.
//!
//! Large products split their output over the pool, each part a single-threaded call (by rows
//! when the result is taller than wide, else by columns):
//! on the small shapes of training steps this scales better than the crate's own parallelism,
//! and measured a few percent faster on 1024³ too.

use super::balance::{self, PartTime};
use super::{parallel, transpose};
use crate::dtype::Float;
use gemm::Parallelism;
use parking_lot::Mutex;
use std::mem::MaybeUninit;
use std::time::Instant;

/// Products smaller than this many multiply-adds run on one thread.
const PAR_FLOPS: usize = 1 << 18;

/// A matrix operand: `rows x cols` elements of `data`, element `(i, j)` at
/// `i * row_stride + j * col_stride`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A `rows x cols` operand with the given (row, column) strides.
    pub(crate) fn new(
        data: &'a [T],
        (rows, cols): (usize, usize),
        (rs, cs): (usize, usize),
    ) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride: rs,
            col_stride: cs,
        }
    }

    /// Panics unless every element the strides reach is inside `data` (computed without
    /// overflow) and the strides fit an `isize`.
    fn check(&self, what: &str) {
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .zip((self.cols - 1).checked_mul(self.col_stride))
            .and_then(|(r, c)| r.checked_add(c));
        let last = last.unwrap_or(usize::MAX);
        assert!(
            self.row_stride <= isize::MAX as usize && self.col_stride <= isize::MAX as usize,
            "gemm: {what} strides ({}, {}) do not fit an isize",
            self.row_stride,
            self.col_stride
        );
        assert!(
            last < self.data.len(),
            "gemm: {what} of {}x{} with strides ({}, {}) reaches element {last} of a slice of {}",
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
            self.data.len()
        );
    }
}

/// Whether a product may split its columns over the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// Split large products over the pool's threads.
    Pool,
    /// Run on the calling thread (the caller is already one part of a parallel job).
    One,
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` when `accumulate`; `dst` is `lhs.rows x rhs.cols`,
/// row-major with row stride `dst_rs`.
pub(crate) fn gemm_into<T: Float>(
    dst: &mut [T],
    dst_rs: usize,
    accumulate: bool,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    threads: Threads,
) {
    let (m, n) = (lhs.rows, rhs.cols);
    check_shapes(dst.len(), dst_rs, &lhs, &rhs);
    if m == 0 || n == 0 {
        return;
    }
    if lhs.cols == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * dst_rs..][..n].fill(T::default());
            }
        }
        return;
    }
    // SAFETY: the extents of `dst`, `lhs` and `rhs` were checked against their slices, and
    // `dst` is initialized, so reading it (when accumulating) is sound.
    unsafe { product(dst.as_mut_ptr(), dst_rs, accumulate, &lhs, &rhs, threads) }
}

/// A new row-major `[batches, m, n]` buffer holding one product per batch; `operands(b)` gives
/// batch `b`'s `m x k` and `k x n` operands.
pub(crate) fn gemm_new<'a, T: Float + 'a>(
    batches: usize,
    (m, n): (usize, usize),
    operands: impl Fn(usize) -> (MatRef<'a, T>, MatRef<'a, T>),
    threads: Threads,
) -> Vec<T> {
    let total = batches * m * n;
    let mut out: Vec<T> = crate::storage::result_vec(total);
    let spare = &mut out.spare_capacity_mut()[..total];
    for (b, block) in spare
        .chunks_exact_mut((m * n).max(1))
        .take(batches)
        .enumerate()
    {
        let (lhs, rhs) = operands(b);
        assert!(
            lhs.rows == m && rhs.cols == n,
            "gemm: batch {b} is {}x{} · {}x{}, not {m}x{n}",
            lhs.rows,
            lhs.cols,
            rhs.rows,
            rhs.cols
        );
        check_shapes(block.len(), n, &lhs, &rhs);
        if lhs.cols == 0 {
            block.fill(MaybeUninit::new(T::default()));
            continue;
        }
        // SAFETY: extents checked above; with `accumulate` false the crate never reads the
        // (uninitialized) destination, and it writes all `m x n` elements.
        unsafe { product(block.as_mut_ptr() as *mut T, n, false, &lhs, &rhs, threads) }
    }
    if m * n == 0 {
        return Vec::new();
    }
    // SAFETY: every batch's `m x n` block was written above (by the crate, or filled).
    unsafe { out.set_len(total) };
    out
}

/// Panics unless `lhs · rhs` is defined and its `m x n` result fits a destination of `len`
/// elements with row stride `dst_rs`.
fn check_shapes<T>(len: usize, dst_rs: usize, lhs: &MatRef<'_, T>, rhs: &MatRef<'_, T>) {
    assert_eq!(
        lhs.cols, rhs.rows,
        "gemm: inner dimensions differ ({}x{} · {}x{})",
        lhs.rows, lhs.cols, rhs.rows, rhs.cols
    );
    lhs.check("left operand");
    rhs.check("right operand");
    let (m, n) = (lhs.rows, rhs.cols);
    if m > 0 && n > 0 {
        assert!(
            n <= dst_rs || m == 1,
            "gemm: destination rows of {n} overlap (row stride {dst_rs})"
        );
        let end = (m - 1).checked_mul(dst_rs).and_then(|v| v.checked_add(n));
        assert!(
            end.is_some_and(|end| end <= len) && dst_rs <= isize::MAX as usize,
            "gemm: a {m}x{n} result with row stride {dst_rs} does not fit {len} elements"
        );
    }
}

/// Whether `lhs · rhs` should be computed column-major: see [`product_transposed`]. That
/// pays when the right operand is a transposed view (`x · Wᵀ` for a row-major weight `W`, as
/// `nn.Linear` computes) with fewer rows on the left than the shared dimension: the crate
/// would otherwise gather all of `W` element by element while packing it, where this packs
/// only the small left operand and transposes the small result.
fn transposes_result<T>(lhs: &MatRef<'_, T>, rhs: &MatRef<'_, T>) -> bool {
    let (m, k) = (lhs.rows, lhs.cols);
    rhs.row_stride == 1 && rhs.col_stride >= k && lhs.col_stride == 1 && (8..k).contains(&m)
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` when `accumulate`) with `dst` row-major and dense
/// (row stride `n`), computed column-major into a scratch buffer (so the crate packs `lhs` and
/// reads `rhs` in place) and transposed into `dst`.
///
/// # Safety
/// As for [`product`], with `dst_rs == n`.
unsafe fn product_transposed<T: Float>(
    dst: *mut T,
    accumulate: bool,
    lhs: &MatRef<'_, T>,
    rhs: &MatRef<'_, T>,
    threads: Threads,
) {
    let (m, n) = (lhs.rows, rhs.cols);
    let mut scratch: Vec<T> = Vec::with_capacity(m * n);
    // SAFETY: the scratch buffer's capacity holds the m x n result column-major (element
    // (i, j) at i + j * m), written whole since the crate does not accumulate into it.
    unsafe {
        split_product(scratch.as_mut_ptr(), (1, m), false, lhs, rhs, threads);
        scratch.set_len(m * n);
    }
    let parallel = threads == Threads::Pool;
    if accumulate {
        // SAFETY: the caller vouches for `m * n` initialized elements at `dst`.
        let out = unsafe { std::slice::from_raw_parts_mut(dst, m * n) };
        transpose::transpose_add(&scratch, (n, m), m, out, parallel);
    } else {
        // SAFETY: the caller vouches for `m * n` writable elements at `dst`.
        let out = unsafe { std::slice::from_raw_parts_mut(dst as *mut MaybeUninit<T>, m * n) };
        transpose::transpose_into(&scratch, (n, m), m, out, parallel);
    }
}

/// `lhs · rhs` into `dst`: column-major through a scratch buffer when that avoids gathering
/// a transposed weight ([`transposes_result`]), else straight into `dst`.
///
/// # Safety
/// `dst` must point to an `m x n` row-major block with row stride `dst_rs` (all of it
/// writable, and initialized when `accumulate`); `lhs` and `rhs` must have been checked, with
/// `lhs.cols == rhs.rows > 0`.
unsafe fn product<T: Float>(
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    lhs: &MatRef<'_, T>,
    rhs: &MatRef<'_, T>,
    threads: Threads,
) {
    // SAFETY: as this function's caller guarantees (a dense destination for the first).
    unsafe {
        if dst_rs == rhs.cols && transposes_result(lhs, rhs) {
            product_transposed(dst, accumulate, lhs, rhs, threads);
        } else {
            split_product(dst, (dst_rs, 1), accumulate, lhs, rhs, threads);
        }
    }
}

/// The crate call, with the output split over the pool for large products.
///
/// # Safety
/// `dst` must point to an `m x n` block with element `(i, j)` at `i * dst_rs + j * dst_cs`
/// (all of it writable, and initialized when `accumulate`); `lhs` and `rhs` must have been
/// checked, with `lhs.cols == rhs.rows > 0`.
unsafe fn split_product<T: Float>(
    dst: *mut T,
    (dst_rs, dst_cs): (usize, usize),
    accumulate: bool,
    lhs: &MatRef<'_, T>,
    rhs: &MatRef<'_, T>,
    threads: Threads,
) {
    let (m, n, k) = (lhs.rows, rhs.cols, lhs.cols);
    // Addresses travel between threads as integers; each part writes its own columns.
    let (dst_a, lhs_a, rhs_a) = (
        dst as usize,
        lhs.data.as_ptr() as usize,
        rhs.data.as_ptr() as usize,
    );
    let (lrs, lcs) = (lhs.row_stride as isize, lhs.col_stride as isize);
    let (rrs, rcs) = (rhs.row_stride as isize, rhs.col_stride as isize);
    // One part: rows `row..row + height`, columns `col..col + width`.
    let call = move |(row, height): (usize, usize), (col, width): (usize, usize)| {
        let (one, beta) = (T::from_f64(1.0), T::from_f64(1.0));
        // SAFETY: rows `row..row + height` and columns `col..col + width` of the checked
        // operands and of the destination block the caller vouches for; parts write disjoint
        // blocks.
        unsafe {
            gemm::gemm(
                height,
                width,
                k,
                (dst_a as *mut T).add(row * dst_rs + col * dst_cs),
                dst_cs as isize,
                dst_rs as isize,
                accumulate,
                (lhs_a as *const T).offset(row as isize * lrs),
                lcs,
                lrs,
                (rhs_a as *const T).offset(col as isize * rcs),
                rcs,
                rrs,
                one,
                beta,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
    };
    let pool = super::split_count();
    if threads == Threads::One || pool < 2 || m * n * k < PAR_FLOPS || (n < 16 && m < 64) {
        call((0, m), (0, n));
        return;
    }
    // Each part packs its share of one operand and all of the other, so the split goes along
    // the longer side of the result: rows in whole multiples of 16 when the left operand is
    // the larger to pack, else columns in multiples of 4. (In multiples of 8, B1's 520 columns
    // split 264/256, and the 264-wide part ran 20–25% longer than the other; 260/260 does not.)
    // Part 0, the calling thread's, is sized by how fast it ran against the helpers lately.
    let by_rows = m * k >= k * n && m >= 64;
    let (total, quantum, narrowest) = if by_rows { (m, 16, 16) } else { (n, 4, 8) };
    let parts = pool.min(total / narrowest).max(1);
    // The cut may move only where no part can fall into `gemm`'s small-matrix paths, which
    // sum in another order: then results never depend on it.
    let smallest = balance::smallest_part(total, parts, quantum);
    let (rows, cols) = if by_rows {
        (smallest, n)
    } else {
        (m, smallest)
    };
    let learning = !super::deterministic() && same_sums(rows, cols, k);
    let ratio = if learning { balance::ratio() } else { 1.0 };
    let bounds = balance::cuts(total, parts, quantum, ratio);
    let times: Vec<Mutex<Option<PartTime>>> = (0..parts).map(|_| Mutex::new(None)).collect();
    parallel::run(parts, |p| {
        let (start, len) = (bounds[p], bounds[p + 1] - bounds[p]);
        if len == 0 {
            return;
        }
        let t0 = learning.then(Instant::now);
        if by_rows {
            call((start, len), (0, n));
        } else {
            call((0, m), (start, len));
        }
        if let Some(t0) = t0 {
            *times[p].lock() = Some(PartTime {
                units: len,
                time: t0.elapsed(),
                on_helper: parallel::on_helper(),
            });
        }
    });
    if learning {
        let times: Option<Vec<PartTime>> = times.into_iter().map(Mutex::into_inner).collect();
        if let Some(times) = times {
            balance::learn(&times);
        }
    }
}

/// Whether `gemm` sums every element of a `rows x cols` part with inner dimension `k` in the
/// order it uses for larger parts of the same product: parts of at most 16 x 16 elements take
/// a dot-product kernel, and parts of at most 64 x 64 block the inner dimension in 512s
/// instead of in equal blocks of at least 512 (the two agree when `k` is at most 512).
fn same_sums(rows: usize, cols: usize, k: usize) -> bool {
    rows * cols > 16 * 16 && (k <= 512 || rows > 64 || cols > 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    /// The `cols x rows` transpose of a row-major `rows x cols` matrix.
    fn transposed(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let mut t = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        t
    }

    /// `batches` copies of `a · wᵀ`, `w` read through a transposed view (strides (1, k)).
    fn times_transposed(
        batches: usize,
        a: &[f64],
        w: &[f64],
        (m, k, n): (usize, usize, usize),
    ) -> Vec<f64> {
        gemm_new(
            batches,
            (m, n),
            |_| {
                (
                    MatRef::new(a, (m, k), (k, 1)),
                    MatRef::new(w, (k, n), (1, k)),
                )
            },
            Threads::Pool,
        )
    }

    /// `a · wᵀ` (through a transposed view) added over the pool to a matrix of `base`s equals
    /// `want` plus `base`.
    fn assert_accumulates(
        base: f64,
        a: &[f64],
        w: &[f64],
        (m, k, n): (usize, usize, usize),
        want: &[f64],
    ) {
        let mut acc = vec![base; m * n];
        gemm_into(
            &mut acc,
            n,
            true,
            MatRef::new(a, (m, k), (k, 1)),
            MatRef::new(w, (k, n), (1, k)),
            Threads::Pool,
        );
        assert!(acc.iter().zip(want).all(|(g, w)| *g == w + base));
    }

    #[test]
    fn products_with_transposed_operands_match_the_definition() {
        let (m, k, n) = (37, 29, 70);
        let a: Vec<f64> = (0..m * k).map(|i| (i % 13) as f64 - 6.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i % 7) as f64 * 0.5).collect();
        let want = naive(&a, &b, m, k, n);
        // b read through its transpose's storage: bt is n x k, so b = bt^T has strides (1, k).
        let bt = transposed(&b, k, n);
        assert_eq!(times_transposed(1, &a, &bt, (m, k, n)), want);
        let mut acc = vec![1.0; m * n];
        gemm_into(
            &mut acc,
            n,
            true,
            MatRef::new(&a, (m, k), (k, 1)),
            MatRef::new(&b, (k, n), (n, 1)),
            Threads::One,
        );
        assert!(acc.iter().zip(&want).all(|(g, w)| *g == w + 1.0));
    }

    #[test]
    fn large_products_split_over_the_pool_accumulate_like_the_definition() {
        // 64 x 128 x 100: above the split threshold, 100 columns (not a multiple of 8).
        let (m, k, n) = (64, 128, 100);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
        let bt: Vec<f64> = (0..n * k).map(|i| ((i * 5) % 9) as f64 * 0.25).collect();
        let want = naive(&a, &transposed(&bt, n, k), m, k, n);
        assert_accumulates(2.0, &a, &bt, (m, k, n), &want);
    }

    #[test]
    fn small_batches_times_transposed_weights_match_the_definition_and_accumulate() {
        // x · Wᵀ with fewer rows than the shared dimension: computed column-major and
        // transposed, on one thread (20 x 50 x 33) and split over the pool (64 x 300 x 130).
        for (m, k, n) in [(20, 50, 33), (64, 300, 130)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 5) % 17) as f64 - 8.0).collect();
            let w: Vec<f64> = (0..n * k).map(|i| ((i * 3) % 11) as f64 * 0.5).collect();
            let want = naive(&a, &transposed(&w, n, k), m, k, n);
            assert!(transposes_result(
                &MatRef::new(&a, (m, k), (k, 1)),
                &MatRef::new(&w, (k, n), (1, k))
            ));
            let got = times_transposed(2, &a, &w, (m, k, n));
            assert_eq!(got[..m * n], want[..]);
            assert_eq!(got[m * n..], want[..]);
            assert_accumulates(3.0, &a, &w, (m, k, n), &want);
        }
    }

    #[test]
    fn tall_products_split_by_rows_accumulate_like_the_definition() {
        // 200 x 64 x 40: more rows than columns, so the parts take rows (96 and 104 when the
        // threads run alike); the left operand is read through its transpose.
        let (m, k, n) = (200, 64, 40);
        let at: Vec<f64> = (0..k * m).map(|i| ((i * 3) % 13) as f64 - 6.0).collect();
        let mut a = vec![0.0; m * k];
        for i in 0..m {
            for p in 0..k {
                a[i * k + p] = at[p * m + i];
            }
        }
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 7) % 5) as f64 * 0.5).collect();
        let want = naive(&a, &b, m, k, n);
        let mut acc = vec![-1.0; m * n];
        gemm_into(
            &mut acc,
            n,
            true,
            MatRef::new(&at, (m, k), (1, m)),
            MatRef::new(&b, (k, n), (n, 1)),
            Threads::Pool,
        );
        assert!(acc.iter().zip(&want).all(|(g, w)| *g == w - 1.0));
    }

    #[test]
    fn where_a_product_is_cut_never_changes_a_bit_of_it() {
        // The learned share moves the cut between parts from product to product; every
        // element must still be the same sum in the same order. Inner dimension 1,300 (more
        // than one block of the crate's), values whose float32 sums round differently in
        // different orders, and every cut `split_product` may choose for this shape.
        let (m, k, n) = (288, 1300, 48);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 104729) % 997) as f32 * 1e-2)
            .collect();
        let part = |rows: (usize, usize), cols: (usize, usize)| {
            let mut out = vec![0.0f32; rows.1 * cols.1];
            gemm_into(
                &mut out,
                cols.1,
                false,
                MatRef::new(&a[rows.0 * k..], (rows.1, k), (k, 1)),
                MatRef::new(&b[cols.0..], (k, cols.1), (n, 1)),
                Threads::One,
            );
            out
        };
        let same = |x: &f32, y: &f32| x.to_bits() == y.to_bits();
        let full = part((0, m), (0, n));
        let smallest = balance::smallest_part(m, 2, 16);
        assert!(same_sums(smallest, n, k), "288 rows may be cut freely");
        for cut in (smallest..=m - smallest).step_by(16) {
            let (top, bottom) = (part((0, cut), (0, n)), part((cut, m - cut), (0, n)));
            assert!(
                top.iter()
                    .chain(&bottom)
                    .zip(&full)
                    .all(|(x, y)| same(x, y)),
                "{cut}"
            );
        }
        for cut in (4..n).step_by(4) {
            let (left, right) = (part((0, m), (0, cut)), part((0, m), (cut, n - cut)));
            for i in 0..m {
                let row = left[i * cut..][..cut]
                    .iter()
                    .chain(&right[i * (n - cut)..][..n - cut]);
                assert!(
                    row.zip(&full[i * n..][..n]).all(|(x, y)| same(x, y)),
                    "{cut}"
                );
            }
        }
        // The order does matter for these values, so the checks above can fail.
        let forward: f32 = (0..k).map(|p| a[p] * b[p * n]).sum();
        let reversed: f32 = (0..k).rev().map(|p| a[p] * b[p * n]).sum();
        assert_ne!(forward.to_bits(), reversed.to_bits());
        // Parts of at most 64 x 64 take the crate's small-matrix blocking, so a product whose
        // parts could get that small keeps equal cuts.
        assert!(!same_sums(64, 48, k) && same_sums(64, 48, 512) && !same_sums(16, 16, 100));
    }

    #[test]
    #[should_panic(expected = "reaches element")]
    fn an_operand_larger_than_its_slice_is_refused() {
        let a = vec![0.0f32; 6];
        let mut out = vec![0.0f32; 9];
        gemm_into(
            &mut out,
            3,
            false,
            MatRef::new(&a, (3, 3), (3, 1)),
            MatRef::new(&a, (3, 3), (3, 1)),
            Threads::One,
        );
    }

    #[test]
    fn an_empty_inner_dimension_gives_zeros() {
        let e: [f32; 0] = [];
        let got = gemm_new(
            2,
            (2, 3),
            |_| {
                (
                    MatRef::new(&e, (2, 0), (0, 1)),
                    MatRef::new(&e, (0, 3), (3, 1)),
                )
            },
            Threads::Pool,
        );
        assert_eq!(got, vec![0.0; 12]);
    }
}
