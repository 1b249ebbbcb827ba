//! Layer normalization over the trailing `n` elements of each row: the forward (normalized
//! rows with the optional scale and shift, plus each row's mean and reciprocal standard
//! deviation for the backward) and the backward (input gradient per row; scale and shift
//! gradients summed over rows in a fixed number of parts, then combined in order).

use super::parallel;
use crate::dtype::Float;

/// Rows per part of the pool's work.
const ROWS_PER_PART: usize = 16;

/// Writes `out` (same size as `x`), `mean` and `rstd` (one per row) for rows of `n`.
pub(crate) fn forward<T: Float>(
    x: &[T],
    n: usize,
    weight: Option<&[T]>,
    bias: Option<&[T]>,
    eps: f64,
    out: &mut [T],
    stats: &mut [T],
) {
    let rows = x.len() / n.max(1);
    assert!(
        out.len() == x.len() && stats.len() == 2 * rows,
        "layer_norm: buffer sizes"
    );
    if n == 0 {
        return;
    }
    let inv_n = 1.0 / n as f64;
    let st = SharedRows(stats.as_mut_ptr());
    let po = SharedRows(out.as_mut_ptr());
    parallel::run(rows.div_ceil(ROWS_PER_PART), |part| {
        let (r0, r1) = (part * ROWS_PER_PART, ((part + 1) * ROWS_PER_PART).min(rows));
        for r in r0..r1 {
            let row = &x[r * n..(r + 1) * n];
            let mean = row.iter().fold(0.0f64, |a, v| a + v.to_f64()) * inv_n;
            let var = row.iter().fold(0.0f64, |a, v| {
                let d = v.to_f64() - mean;
                a + d * d
            }) * inv_n;
            let rstd = 1.0 / (var + eps).sqrt();
            // SAFETY: part `part` owns rows r0..r1 of `out` and of `stats`.
            let (dst, s) = unsafe { (po.range(r * n, n), st.range(2 * r, 2)) };
            s[0] = T::from_f64(mean);
            s[1] = T::from_f64(rstd);
            let (m, rs) = (T::from_f64(mean), T::from_f64(rstd));
            for (j, (d, &v)) in dst.iter_mut().zip(row).enumerate() {
                let mut y = (v - m) * rs;
                if let Some(w) = weight {
                    y = y * w[j];
                }
                if let Some(b) = bias {
                    y = y + b[j];
                }
                *d = y;
            }
        }
    });
}

/// The input gradient (`dx`, same size as `x`) and, when asked for, the scale and shift
/// gradients (`n` each).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Float>(
    x: &[T],
    g: &[T],
    n: usize,
    weight: Option<&[T]>,
    stats: &[T],
    dx: &mut [T],
    parts_for_params: usize,
    want_params: bool,
) -> (Vec<T>, Vec<T>) {
    let rows = x.len() / n.max(1);
    assert!(
        g.len() == x.len() && dx.len() == x.len(),
        "layer_norm: buffer sizes"
    );
    if n == 0 || rows == 0 {
        return (vec![T::ZERO; n], vec![T::ZERO; n]);
    }
    let parts = if want_params {
        parts_for_params.clamp(1, rows)
    } else {
        rows.div_ceil(ROWS_PER_PART)
    };
    let per = rows.div_ceil(parts);
    let parts = rows.div_ceil(per);
    let mut partial = vec![T::ZERO; if want_params { parts * 2 * n } else { 0 }];
    let pd = SharedRows(dx.as_mut_ptr());
    let pp = SharedRows(partial.as_mut_ptr());
    let inv_n = T::from_f64(1.0 / n as f64);
    parallel::run(parts, |part| {
        let (r0, r1) = (part * per, ((part + 1) * per).min(rows));
        // SAFETY: part `part` owns its slot of `partial` (when present).
        let acc = want_params.then(|| unsafe { pp.range(part * 2 * n, 2 * n) });
        let mut acc = acc;
        for r in r0..r1 {
            let (xr, gr) = (&x[r * n..(r + 1) * n], &g[r * n..(r + 1) * n]);
            let (m, rs) = (stats[2 * r], stats[2 * r + 1]);
            // sums of g*w and of g*w*xhat over the row
            let (mut s1, mut s2) = (T::ZERO, T::ZERO);
            for j in 0..n {
                let xh = (xr[j] - m) * rs;
                let gw = weight.map_or(gr[j], |w| gr[j] * w[j]);
                s1 = s1 + gw;
                s2 = s2 + gw * xh;
                if let Some(a) = acc.as_deref_mut() {
                    a[j] = a[j] + gr[j] * xh;
                    a[n + j] = a[n + j] + gr[j];
                }
            }
            let (c1, c2) = (s1 * inv_n, s2 * inv_n);
            // SAFETY: part `part` owns rows r0..r1 of `dx`.
            let d = unsafe { pd.range(r * n, n) };
            for j in 0..n {
                let xh = (xr[j] - m) * rs;
                let gw = weight.map_or(gr[j], |w| gr[j] * w[j]);
                d[j] = rs * (gw - c1 - xh * c2);
            }
        }
    });
    let (mut dw, mut db) = (vec![T::ZERO; n], vec![T::ZERO; n]);
    for p in partial.chunks_exact(2 * n) {
        for j in 0..n {
            dw[j] = dw[j] + p[j];
            db[j] = db[j] + p[n + j];
        }
    }
    (dw, db)
}

struct SharedRows<T>(*mut T);
// SAFETY: the pool's parts write disjoint row ranges through it.
unsafe impl<T: Send> Sync for SharedRows<T> {}

impl<T> SharedRows<T> {
    /// # Safety
    /// The range must lie inside the buffer and belong to the calling part alone.
    #[allow(clippy::mut_from_ref)]
    unsafe fn range(&self, start: usize, len: usize) -> &mut [T] {
        // SAFETY: as the caller guarantees.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}
