//! Fused scaled dot-product attention, forward and backward, in the flash-attention scheme on
//! CPU: queries are taken in blocks of rows, keys and values in blocks of columns, and the
//! softmax is computed online (a running maximum and sum per row), so no `L x S` score matrix
//! is ever held, only `BLOCK x BLOCK` tiles. The forward saves each row's log-sum-exp; the
//! backward recomputes each tile's probabilities from it. Every tile product is a
//! single-threaded `gemm` call; (batch·head, query block) pairs are spread over the pool in the
//! forward, batch·head slices in the backward.

use super::elementwise::as_f32_mut;
use super::gemm::{gemm_into, MatRef, Threads};
use super::math::Transcendental;
use super::parallel::{self, SendPtr};
use crate::dtype::Float;

/// Rows of queries, and columns of keys, in one tile.
pub(crate) const BLOCK: usize = 64;

/// One of `q`, `k`, `v` (or the output gradient): for each batch·head slice `b`, a
/// `rows x cols` matrix at `offsets[b]` with row stride `row_stride` and unit column stride.
pub(crate) struct Operand<'a, T> {
    pub data: &'a [T],
    pub offsets: Vec<usize>,
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
}

impl<'a, T> Operand<'a, T> {
    /// Rows `r0..r1` of slice `b`.
    fn block(&self, b: usize, r0: usize, r1: usize) -> MatRef<'a, T> {
        let start = self.offsets[b] + r0 * self.row_stride;
        MatRef::new(
            &self.data[start..],
            (r1 - r0, self.cols),
            (self.row_stride, 1),
        )
    }

    /// The transpose of rows `r0..r1` of slice `b` (`cols x (r1 - r0)`).
    fn block_t(&self, b: usize, r0: usize, r1: usize) -> MatRef<'a, T> {
        let start = self.offsets[b] + r0 * self.row_stride;
        MatRef::new(
            &self.data[start..],
            (self.cols, r1 - r0),
            (1, self.row_stride),
        )
    }

    fn row(&self, b: usize, r: usize) -> &'a [T] {
        let start = self.offsets[b] + r * self.row_stride;
        &self.data[start..start + self.cols]
    }
}

/// An additive mask (`0` or `-inf` for a boolean one) read through broadcast strides: element
/// `(b, i, j)` at `offsets[b] + i * row_stride + j * col_stride`.
pub(crate) struct Bias<'a, T> {
    pub data: &'a [T],
    pub offsets: Vec<usize>,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// One attention problem over `batch` slices: `softmax(q k^T * scale + bias) v`, with keys
/// after a query's own position left out when `causal` (PyTorch's top-left alignment).
pub(crate) struct Problem<'a, T> {
    pub q: Operand<'a, T>,
    pub k: Operand<'a, T>,
    pub v: Operand<'a, T>,
    pub bias: Option<Bias<'a, T>>,
    pub causal: bool,
    pub scale: T,
}

impl<T: Float> Problem<'_, T> {
    fn batch(&self) -> usize {
        self.q.offsets.len()
    }

    /// The key blocks query rows `r0..r1` can see.
    fn key_end(&self, r1: usize) -> usize {
        if self.causal {
            r1.min(self.k.rows)
        } else {
            self.k.rows
        }
    }

    /// How many of keys `c0..c1` query `qi` sees (all of them unless causal).
    fn visible(&self, qi: usize, c0: usize, c1: usize) -> usize {
        if self.causal {
            (qi + 1).saturating_sub(c0).min(c1 - c0)
        } else {
            c1 - c0
        }
    }

    /// The scaled, biased and causally masked scores of query rows `r0..r1` against keys
    /// `c0..c1`, written into `s` (row stride `c1 - c0`).
    #[inline(always)]
    fn scores(&self, b: usize, (r0, r1): (usize, usize), (c0, c1): (usize, usize), s: &mut [T]) {
        let w = c1 - c0;
        let s = &mut s[..(r1 - r0) * w];
        gemm_into(
            s,
            w,
            false,
            self.q.block(b, r0, r1),
            self.k.block_t(b, c0, c1),
            Threads::One,
        );
        for (i, row) in s.chunks_exact_mut(w).enumerate() {
            let qi = r0 + i;
            for x in row.iter_mut() {
                *x = *x * self.scale;
            }
            if let Some(m) = &self.bias {
                let base = m.offsets[b] + qi * m.row_stride + c0 * m.col_stride;
                if m.col_stride == 1 {
                    for (x, &a) in row.iter_mut().zip(&m.data[base..base + w]) {
                        *x = *x + a;
                    }
                } else {
                    for (j, x) in row.iter_mut().enumerate() {
                        *x = *x + m.data[base + j * m.col_stride];
                    }
                }
            }
            if self.causal && c1 > qi + 1 {
                let from = (qi + 1).saturating_sub(c0);
                row[from..].fill(T::NEG_INF);
            }
        }
    }
}

/// `e^x` over a slice in place (vectorized for f32, through `scratch`).
#[inline(always)]
fn exp_in_place<T: Float>(s: &mut [T], scratch: &mut Vec<f32>) {
    if let Some(f) = as_f32_mut(s) {
        scratch.clear();
        scratch.extend_from_slice(f);
        Transcendental::Exp.map_to(scratch, f);
        return;
    }
    for x in s.iter_mut() {
        *x = x.exp();
    }
}

/// Exponentiates a `rows x w` tile whose row `i` sees its first `visible(i)` columns, writing
/// zeros past them. The masked scores (`-inf`) are set to zero before the one call over the
/// whole tile and cleared after it: one vectorized pass costs less than a call per row, and
/// `exp(-inf)` itself is slow (the vector unit slows down on results that underflow).
#[inline(always)]
fn exp_tile<T: Float>(
    tile: &mut [T],
    (rows, w): (usize, usize),
    visible: impl Fn(usize) -> usize,
    scratch: &mut Vec<f32>,
) {
    let tile = &mut tile[..rows * w];
    let masked = |i: usize| visible(i).min(w)..w;
    for (i, row) in tile.chunks_exact_mut(w).enumerate() {
        row[masked(i)].fill(T::ZERO);
    }
    exp_in_place(tile, scratch);
    for (i, row) in tile.chunks_exact_mut(w).enumerate() {
        row[masked(i)].fill(T::ZERO);
    }
}

/// The attention output (`batch x q.rows x v.cols`, row-major) and each query row's
/// log-sum-exp of scores (`batch x q.rows`; `-inf` for a row that sees no key, whose output is
/// zero).
pub(crate) fn forward<T: Float>(p: &Problem<'_, T>) -> (Vec<T>, Vec<T>) {
    let (l, ev) = (p.q.rows, p.v.cols);
    let mut out = vec![T::ZERO; p.batch() * l * ev];
    let mut lse = vec![T::ZERO; p.batch() * l];
    let blocks = l.div_ceil(BLOCK);
    let (po, pl) = (SendPtr(out.as_mut_ptr()), SendPtr(lse.as_mut_ptr()));
    parallel::run(p.batch() * blocks, |part| {
        let (b, blk) = (part / blocks, part % blocks);
        let (r0, r1) = (blk * BLOCK, ((blk + 1) * BLOCK).min(l));
        // SAFETY: part (b, blk) owns rows r0..r1 of slice b in both buffers, which are sized
        // for every slice's rows and outlive `run`.
        let (o, m) = unsafe {
            (
                po.range((b * l + r0) * ev, (r1 - r0) * ev),
                pl.range(b * l + r0, r1 - r0),
            )
        };
        forward_block(p, b, (r0, r1), o, m);
    });
    (out, lse)
}

/// `xs` folded with `op` from `init` in sixteen lanes (so that it vectorizes), the lanes
/// folded last.
#[inline(always)]
fn fold16<T: Float>(xs: &[T], init: T, op: impl Fn(T, T) -> T) -> T {
    let mut lanes = [init; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = op(*l, x);
        }
    }
    let rest = chunks.remainder().iter().fold(init, |a, &x| op(a, x));
    lanes.into_iter().fold(rest, op)
}

/// The largest of `xs` (`-inf` for none).
#[inline(always)]
fn max_of<T: Float>(xs: &[T]) -> T {
    fold16(xs, T::NEG_INF, |a, x| if x > a { x } else { a })
}

/// The sum of `xs`.
#[inline(always)]
fn sum_of<T: Float>(xs: &[T]) -> T {
    fold16(xs, T::ZERO, |a, x| a + x)
}

/// `sum(a * b)`, in sixteen lanes so that it vectorizes.
#[inline(always)]
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut lanes = [T::ZERO; 16];
    let (mut ca, mut cb) = (a.chunks_exact(16), b.chunks_exact(16));
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((l, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            *l = *l + x * y;
        }
    }
    let rest = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(T::ZERO, |s, (&x, &y)| s + x * y);
    lanes.into_iter().fold(rest, |s, l| s + l)
}

super::cpu::multiversion! {
    /// One block of query rows of the forward: its output rows and log-sum-exps.
    fn forward_block<T: Float>(p: &Problem<'_, T>, b: usize, rows: (usize, usize), acc: &mut [T], lse: &mut [T]) => forward_block_body
}

#[inline(always)]
fn forward_block_body<T: Float>(
    p: &Problem<'_, T>,
    b: usize,
    (r0, r1): (usize, usize),
    acc: &mut [T],
    lse: &mut [T],
) {
    let (rows, ev) = (r1 - r0, p.v.cols);
    let mut s = vec![T::ZERO; rows * BLOCK];
    let mut run_max = vec![T::NEG_INF; rows];
    let mut run_sum = vec![T::ZERO; rows];
    let mut shrink = vec![T::ONE; rows];
    let mut scratch = Vec::new();
    let end = p.key_end(r1);
    for c0 in (0..end).step_by(BLOCK) {
        let c1 = (c0 + BLOCK).min(end);
        let w = c1 - c0;
        p.scores(b, (r0, r1), (c0, c1), &mut s);
        for i in 0..rows {
            let row = &mut s[i * w..(i + 1) * w];
            let tile_max = max_of(row);
            let new_max = if tile_max > run_max[i] {
                tile_max
            } else {
                run_max[i]
            };
            shrink[i] = T::ONE;
            if new_max == T::NEG_INF {
                // Nothing visible yet: exp(-inf) below gives zeros.
                continue;
            }
            for x in row.iter_mut() {
                *x = *x - new_max;
            }
            shrink[i] = (run_max[i] - new_max).exp();
            run_max[i] = new_max;
        }
        let visible = |i: usize| p.visible(r0 + i, c0, c1);
        exp_tile(&mut s, (rows, w), visible, &mut scratch);
        for i in 0..rows {
            let tile_sum = sum_of(&s[i * w..(i + 1) * w]);
            run_sum[i] = run_sum[i] * shrink[i] + tile_sum;
            if shrink[i] != T::ONE {
                for x in &mut acc[i * ev..(i + 1) * ev] {
                    *x = *x * shrink[i];
                }
            }
        }
        gemm_into(
            acc,
            ev,
            true,
            MatRef::new(&s[..rows * w], (rows, w), (w, 1)),
            p.v.block(b, c0, c1),
            Threads::One,
        );
    }
    for i in 0..rows {
        if run_sum[i] == T::ZERO {
            lse[i] = T::NEG_INF;
            continue;
        }
        let inv = T::ONE / run_sum[i];
        for x in &mut acc[i * ev..(i + 1) * ev] {
            *x = *x * inv;
        }
        lse[i] = run_max[i] + run_sum[i].ln();
    }
}

/// The gradients of the attention output with respect to `q`, `k` and `v`, row-major:
/// `dq` (`batch x L x E`), `dk` (`batch x S x E`) and `dv` (`batch x S x Ev`). `out` and `lse`
/// are the forward's results and `d_out` the output's gradient.
pub(crate) fn backward<T: Float>(
    p: &Problem<'_, T>,
    out: &[T],
    lse: &[T],
    d_out: &Operand<'_, T>,
) -> [Vec<T>; 3] {
    let (l, s, e, ev) = (p.q.rows, p.k.rows, p.q.cols, p.v.cols);
    let batch = p.batch();
    let mut dq = vec![T::ZERO; batch * l * e];
    let mut dk = vec![T::ZERO; batch * s * e];
    let mut dv = vec![T::ZERO; batch * s * ev];
    assert!(
        out.len() == batch * l * ev && lse.len() == batch * l,
        "attention: saved sizes"
    );
    let (pq, pk, pv) = (
        SendPtr(dq.as_mut_ptr()),
        SendPtr(dk.as_mut_ptr()),
        SendPtr(dv.as_mut_ptr()),
    );
    parallel::run(batch, |b| {
        // SAFETY: part b owns slice b of each gradient buffer, which are sized for every
        // slice and outlive `run`.
        let (dq, dk, dv) = unsafe {
            (
                pq.range(b * l * e, l * e),
                pk.range(b * s * e, s * e),
                pv.range(b * s * ev, s * ev),
            )
        };
        backward_slice(
            p,
            b,
            &out[b * l * ev..(b + 1) * l * ev],
            &lse[b * l..(b + 1) * l],
            d_out,
            (dq, dk, dv),
        );
    });
    [dq, dk, dv]
}

super::cpu::multiversion! {
    /// The gradients of one batch·head slice.
    fn backward_slice<T: Float>(p: &Problem<'_, T>, b: usize, out: &[T], lse: &[T], d_out: &Operand<'_, T>, grads: (&mut [T], &mut [T], &mut [T])) => backward_slice_body
}

#[inline(always)]
fn backward_slice_body<T: Float>(
    p: &Problem<'_, T>,
    b: usize,
    out: &[T],
    lse: &[T],
    d_out: &Operand<'_, T>,
    (dq, dk, dv): (&mut [T], &mut [T], &mut [T]),
) {
    let (l, e, ev) = (p.q.rows, p.q.cols, p.v.cols);
    // D_i = dO_i · O_i, the softmax backward's row term.
    let delta: Vec<T> = (0..l)
        .map(|i| dot(d_out.row(b, i), &out[i * ev..(i + 1) * ev]))
        .collect();
    let mut pt = vec![T::ZERO; BLOCK * BLOCK];
    let mut dp = [T::ZERO; BLOCK * BLOCK];
    let mut scratch = Vec::new();
    for r0 in (0..l).step_by(BLOCK) {
        let r1 = (r0 + BLOCK).min(l);
        let rows = r1 - r0;
        let end = p.key_end(r1);
        for c0 in (0..end).step_by(BLOCK) {
            let c1 = (c0 + BLOCK).min(end);
            let w = c1 - c0;
            // P = exp(S - lse), the softmax probabilities of this tile.
            p.scores(b, (r0, r1), (c0, c1), &mut pt);
            for i in 0..rows {
                let row = &mut pt[i * w..(i + 1) * w];
                let m = lse[r0 + i];
                if m == T::NEG_INF {
                    row.fill(T::NEG_INF);
                    continue;
                }
                for x in row.iter_mut() {
                    *x = *x - m;
                }
            }
            let visible = |i: usize| p.visible(r0 + i, c0, c1);
            exp_tile(&mut pt, (rows, w), visible, &mut scratch);
            let p_tile_t = MatRef::new(&pt[..rows * w], (w, rows), (1, w));
            // dV_j += P^T dO_i
            gemm_into(
                &mut dv[c0 * ev..c1 * ev],
                ev,
                true,
                p_tile_t,
                d_out.block(b, r0, r1),
                Threads::One,
            );
            // dP = dO_i V_j^T, then dS = P * (dP - D) * scale
            gemm_into(
                &mut dp[..rows * w],
                w,
                false,
                d_out.block(b, r0, r1),
                p.v.block_t(b, c0, c1),
                Threads::One,
            );
            for i in 0..rows {
                let d = delta[r0 + i];
                let prow = &pt[i * w..(i + 1) * w];
                for (x, &pv) in dp[i * w..(i + 1) * w].iter_mut().zip(prow) {
                    *x = pv * (*x - d) * p.scale;
                }
            }
            let ds = MatRef::new(&dp[..rows * w], (rows, w), (w, 1));
            let ds_t = MatRef::new(&dp[..rows * w], (w, rows), (1, w));
            // dQ_i += dS K_j ; dK_j += dS^T Q_i
            gemm_into(
                &mut dq[r0 * e..r1 * e],
                e,
                true,
                ds,
                p.k.block(b, c0, c1),
                Threads::One,
            );
            gemm_into(
                &mut dk[c0 * e..c1 * e],
                e,
                true,
                ds_t,
                p.q.block(b, r0, r1),
                Threads::One,
            );
        }
    }
}
