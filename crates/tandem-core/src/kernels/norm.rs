//! Layer normalization over the trailing `n` elements of each row: the forward (normalized
//! rows with the optional scale and shift, plus each row's mean and reciprocal standard
//! deviation for the backward) and the backward (input gradient per row; scale and shift
//! gradients summed over rows in a fixed number of parts, then combined in order).

use super::parallel::{self, SendPtr};
use crate::dtype::Float;
use crate::storage::result_vec;
use std::mem::MaybeUninit;

/// Rows per part of the pool's work.
const ROWS_PER_PART: usize = 16;

/// The normalized rows of `n` (same size as `x`) and each row's `(mean, rstd)`, written
/// on the pool into buffers that are never zeroed first.
pub(crate) fn forward<T: Float>(
    x: &[T],
    n: usize,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    eps: f64,
) -> (Vec<T>, Vec<T>) {
    let rows = x.len() / n.max(1);
    let (mut out, mut stats): (Vec<T>, Vec<T>) = (result_vec(x.len()), result_vec(2 * rows));
    if n > 0 {
        let po = SendPtr(out.spare_capacity_mut().as_mut_ptr());
        let st = SendPtr(stats.spare_capacity_mut().as_mut_ptr());
        parallel::run(rows.div_ceil(ROWS_PER_PART), |part| {
            let (r0, r1) = (part * ROWS_PER_PART, ((part + 1) * ROWS_PER_PART).min(rows));
            // SAFETY: part `part` owns rows r0..r1 of `out` and of `stats`, whose capacities
            // hold `rows * n` and `2 * rows` elements.
            let (dst, s) = unsafe {
                (
                    po.range(r0 * n, (r1 - r0) * n),
                    st.range(2 * r0, 2 * (r1 - r0)),
                )
            };
            forward_rows(&x[r0 * n..r1 * n], n, (weight, bias), eps, dst, s);
        });
    }
    // SAFETY: the parts wrote every row of both (there are none when `n == 0`).
    unsafe {
        out.set_len(rows * n);
        stats.set_len(2 * rows);
    }
    (out, stats)
}

super::cpu::multiversion! {
    /// The forward over whole rows of `n`: `out` and `stats` (mean, rstd) for the rows of `x`.
    fn forward_rows<T: Float>(x: &[T], n: usize, affine: (Option<&[T]>, Option<&[T]>), eps: f64, out: &mut [MaybeUninit<T>], stats: &mut [MaybeUninit<T>]) => forward_rows_body
}

#[inline(always)]
fn forward_rows_body<T: Float>(
    x: &[T],
    n: usize,
    (weight, bias): (Option<&[T]>, Option<&[T]>),
    eps: f64,
    out: &mut [MaybeUninit<T>],
    stats: &mut [MaybeUninit<T>],
) {
    let inv_n = 1.0 / n as f64;
    for ((row, dst), s) in x
        .chunks_exact(n)
        .zip(out.chunks_exact_mut(n))
        .zip(stats.chunks_exact_mut(2))
    {
        let mean = sum(row, |v| v) * inv_n;
        let m = T::from_f64(mean);
        let var = sum(row, |v| (v - m) * (v - m)) * inv_n;
        let rstd = 1.0 / (var + eps).sqrt();
        let rs = T::from_f64(rstd);
        s[0].write(m);
        s[1].write(rs);
        match (weight, bias) {
            (Some(w), Some(b)) => {
                for (((d, &v), &w), &b) in dst.iter_mut().zip(row).zip(w).zip(b) {
                    d.write((v - m) * rs * w + b);
                }
            }
            (Some(w), None) => {
                for ((d, &v), &w) in dst.iter_mut().zip(row).zip(w) {
                    d.write((v - m) * rs * w);
                }
            }
            (None, Some(b)) => {
                for ((d, &v), &b) in dst.iter_mut().zip(row).zip(b) {
                    d.write((v - m) * rs + b);
                }
            }
            (None, None) => {
                for (d, &v) in dst.iter_mut().zip(row) {
                    d.write((v - m) * rs);
                }
            }
        }
    }
}

super::cpu::multiversion! {
    /// The backward over whole rows of `n`: `dx` for the rows of `(x, g, stats)`, and the
    /// rows' scale and shift gradients added into `acc` when given.
    fn backward_rows<T: Float>(rows: (&[T], &[T], &[T]), n: usize, weight: Option<&[T]>, dx: &mut [MaybeUninit<T>], acc: Option<&mut [T]>) => backward_rows_body
}

#[inline(always)]
fn backward_rows_body<T: Float>(
    (x, g, stats): (&[T], &[T], &[T]),
    n: usize,
    weight: Option<&[T]>,
    dx: &mut [MaybeUninit<T>],
    mut acc: Option<&mut [T]>,
) {
    let inv_n = 1.0 / n as f64;
    let (mut xh, mut gw) = (vec![T::ZERO; n], vec![T::ZERO; n]);
    for (((xr, gr), st), d) in x
        .chunks_exact(n)
        .zip(g.chunks_exact(n))
        .zip(stats.chunks_exact(2))
        .zip(dx.chunks_exact_mut(n))
    {
        let (m, rs) = (st[0], st[1]);
        // gw = g * w and xhat, then the row sums of gw and gw * xhat
        for (h, &v) in xh.iter_mut().zip(xr) {
            *h = (v - m) * rs;
        }
        match weight {
            Some(w) => {
                for ((x, &gv), &wv) in gw.iter_mut().zip(gr).zip(&w[..n]) {
                    *x = gv * wv;
                }
            }
            None => gw.copy_from_slice(gr),
        }
        let (s1, s2) = sums_of_product(&gw, &xh);
        if let Some(a) = acc.as_deref_mut() {
            let (dw, db) = a.split_at_mut(n);
            for (((dwv, dbv), &gv), &h) in dw.iter_mut().zip(db.iter_mut()).zip(gr).zip(&xh) {
                *dwv = *dwv + gv * h;
                *dbv = *dbv + gv;
            }
        }
        let (c1, c2) = (T::from_f64(s1 * inv_n), T::from_f64(s2 * inv_n));
        for ((dv, &x), &h) in d.iter_mut().zip(&gw).zip(&xh) {
            dv.write(rs * (x - c1 - h * c2));
        }
    }
}

/// `(sum(a), sum(a * b))` over a row, with eight partial sums each (so the loop vectorizes),
/// in f64 at the end.
#[inline(always)]
fn sums_of_product<T: Float>(a: &[T], b: &[T]) -> (f64, f64) {
    let (mut s1, mut s2) = ([T::ZERO; 8], [T::ZERO; 8]);
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            s1[l] = s1[l] + x[l];
            s2[l] = s2[l] + x[l] * y[l];
        }
    }
    let mut t1 = s1.iter().fold(0.0f64, |t, v| t + v.to_f64());
    let mut t2 = s2.iter().fold(0.0f64, |t, v| t + v.to_f64());
    for (&x, &y) in ta.iter().zip(tb) {
        t1 += x.to_f64();
        t2 += (x * y).to_f64();
    }
    (t1, t2)
}

/// `sum(f(v))` over a row with eight partial sums (so the loop vectorizes), in f64 at the end.
#[inline(always)]
fn sum<T: Float>(row: &[T], f: impl Fn(T) -> T) -> f64 {
    let mut acc = [T::ZERO; 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = *a + f(v);
        }
    }
    let mut total = acc.iter().fold(0.0f64, |t, a| t + a.to_f64());
    for &v in tail {
        total += f(v).to_f64();
    }
    total
}

/// The input gradient (same size as `x`, never zeroed first) and, when asked for, the scale
/// and shift gradients (`n` each).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Float>(
    x: &[T],
    g: &[T],
    n: usize,
    weight: Option<&[T]>,
    stats: &[T],
    parts_for_params: usize,
    want_params: bool,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let rows = x.len() / n.max(1);
    assert!(g.len() == x.len(), "layer_norm: buffer sizes");
    if n == 0 || rows == 0 {
        return (vec![T::ZERO; x.len()], vec![T::ZERO; n], vec![T::ZERO; n]);
    }
    let mut dx: Vec<T> = result_vec(x.len());
    let parts = if want_params {
        parts_for_params.clamp(1, rows)
    } else {
        rows.div_ceil(ROWS_PER_PART)
    };
    let per = rows.div_ceil(parts);
    let parts = rows.div_ceil(per);
    let mut partial = vec![T::ZERO; if want_params { parts * 2 * n } else { 0 }];
    let pd = SendPtr(dx.spare_capacity_mut().as_mut_ptr());
    let pp = SendPtr(partial.as_mut_ptr());
    parallel::run(parts, |part| {
        let (r0, r1) = (part * per, ((part + 1) * per).min(rows));
        // SAFETY: part `part` owns its slot of `partial` (when present) and rows r0..r1 of
        // `dx`, whose capacity holds `x.len()` elements.
        let (acc, d) = unsafe {
            (
                want_params.then(|| pp.range(part * 2 * n, 2 * n)),
                pd.range(r0 * n, (r1 - r0) * n),
            )
        };
        let rows = (
            &x[r0 * n..r1 * n],
            &g[r0 * n..r1 * n],
            &stats[2 * r0..2 * r1],
        );
        backward_rows(rows, n, weight, d, acc);
    });
    // SAFETY: the parts wrote every row of `dx`.
    unsafe { dx.set_len(x.len()) };
    let (mut dw, mut db) = (vec![T::ZERO; n], vec![T::ZERO; n]);
    for p in partial.chunks_exact(2 * n) {
        let (pw, pb) = p.split_at(n);
        for (d, &v) in dw.iter_mut().zip(pw) {
            *d = *d + v;
        }
        for (d, &v) in db.iter_mut().zip(pb) {
            *d = *d + v;
        }
    }
    (dx, dw, db)
}
