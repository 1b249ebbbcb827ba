//! The softmax and log-softmax of one row, shifted by the row's maximum for stability;
//! float32 rows through the vectorized `exp` and sum.

use super::elementwise::{as_f32, as_f32_mut};
use super::math::{sum_f32, Transcendental};
use crate::dtype::Element;

/// Writes the softmax (or, with `log`, the log-softmax) of `row` into `dst`; `scratch` is a
/// buffer of the row's length.
pub(crate) fn softmax_row<T: Element>(row: &[T], dst: &mut [T], scratch: &mut [T], log: bool) {
    if let (Some(dst), Some(row)) = (as_f32_mut(dst), as_f32(row)) {
        let m = row.iter().fold(
            f32::NEG_INFINITY,
            |a, &b| if b > a || b != b { b } else { a },
        );
        let m = if m.is_finite() { m } else { 0.0 };
        for (s, &v) in scratch_f32(scratch).iter_mut().zip(row) {
            *s = v - m;
        }
        let shifted = scratch_f32(scratch);
        Transcendental::Exp.map_to(shifted, dst);
        let sum = sum_f32(dst) as f32;
        if log {
            let ls = sum.ln();
            for (o, &v) in dst.iter_mut().zip(shifted.iter()) {
                *o = v - ls;
            }
        } else {
            let inv = 1.0 / sum;
            for o in dst.iter_mut() {
                *o *= inv;
            }
        }
        return;
    }
    let m = row
        .iter()
        .map(|v| v.to_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    let m = if m.is_finite() { m } else { 0.0 };
    let sum: f64 = row.iter().map(|v| (v.to_f64() - m).exp()).sum();
    for (o, &v) in dst.iter_mut().zip(row) {
        let z = v.to_f64() - m;
        *o = T::from_f64(if log { z - sum.ln() } else { z.exp() / sum });
    }
}

fn scratch_f32<T: Element>(s: &mut [T]) -> &mut [f32] {
    as_f32_mut(s).expect("f32 scratch")
}
