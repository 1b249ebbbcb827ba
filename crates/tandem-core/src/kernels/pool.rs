//! Max-pooling windows over raw slices, compiled for AVX-512, AVX2 + FMA and portable code:
//! the 2x2 stride-2 window of channels-first planes and the windows of channels-last images,
//! both as branch-free compares and selects so that they run on vector registers.

use crate::dtype::Float;
use crate::ops::pool::{window, Pool2dArgs};

/// The common 2x2, stride-2 window without padding: four candidates per output, compared in
/// PyTorch's scan order (NaN wins, the first maximum wins ties). `src` is one `h x w` plane,
/// `out` and `idx` one `oh x ow` plane; `idx` gets each winner's offset in the plane.
pub(crate) fn max_2x2<T: Float>(
    src: &[T],
    w: usize,
    oh: usize,
    ow: usize,
    out: &mut [T],
    idx: &mut [u32],
) {
    assert!(
        oh == 0 || ((2 * oh - 1) * w + 2 * ow <= src.len() && 2 * ow <= w),
        "max_2x2: a {oh}x{ow} output needs more than the {} elements of the plane",
        src.len()
    );
    let (out, idx) = (&mut out[..oh * ow], &mut idx[..oh * ow]);
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() && super::cpu::has_avx512() {
        // SAFETY: `T` is `f32`; AVX-512 is present; the extents were checked above.
        unsafe {
            let src = std::slice::from_raw_parts(src.as_ptr() as *const f32, src.len());
            let out = std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut f32, out.len());
            avx512::max_2x2(src, w, oh, ow, out, idx)
        };
        return;
    }
    max_2x2_rows(src, w, oh, ow, out, idx);
}

/// [`max_2x2`] on any float type, with branch-free selects.
#[inline(always)]
fn max_2x2_rows_body<T: Float>(
    src: &[T],
    w: usize,
    oh: usize,
    ow: usize,
    out: &mut [T],
    idx: &mut [u32],
) {
    // `!(v <= best)`: v is larger, or v is NaN.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    let wins = |v: T, best: T| !(v <= best) & (best == best);
    for y in 0..oh {
        let (r0, r1) = (2 * y * w, (2 * y + 1) * w);
        let (top, bottom) = (&src[r0..][..2 * ow], &src[r1..][..2 * ow]);
        let (o, ix) = (&mut out[y * ow..][..ow], &mut idx[y * ow..][..ow]);
        for xo in 0..ow {
            let c = 2 * xo;
            let (mut best, mut at) = (top[c], (r0 + c) as u32);
            for (v, k) in [
                (top[c + 1], r0 + c + 1),
                (bottom[c], r1 + c),
                (bottom[c + 1], r1 + c + 1),
            ] {
                let take = wins(v, best);
                best = if take { v } else { best };
                at = if take { k as u32 } else { at };
            }
            o[xo] = best;
            ix[xo] = at;
        }
    }
}

crate::kernels::cpu::multiversion! {
    fn max_2x2_rows<T: Float>(src: &[T], w: usize, oh: usize, ow: usize, out: &mut [T], idx: &mut [u32]) => max_2x2_rows_body
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// [`super::max_2x2`] for `f32`, up to sixteen outputs of a row at a time (masked at the
    /// row's end, so that narrow planes like 13 x 13 run on vectors too): each row's 32
    /// columns are split into their even and odd columns, and the four candidates are compared
    /// in scan order with the same rule (the candidate wins when it is not `<=` the best so
    /// far, unless the best is NaN).
    ///
    /// # Safety
    /// AVX-512 F must be present; the plane must hold the rows the output reads (checked by
    /// the caller).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    pub(super) unsafe fn max_2x2(
        src: &[f32],
        w: usize,
        oh: usize,
        ow: usize,
        out: &mut [f32],
        idx: &mut [u32],
    ) {
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
        let one = _mm512_set1_epi32(1);
        let lanes = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
        for y in 0..oh {
            let (r0, r1) = (2 * y * w, (2 * y + 1) * w);
            let down = _mm512_set1_epi32((r1 - r0) as i32);
            for xo in (0..ow).step_by(16) {
                let (n, c) = ((ow - xo).min(16), 2 * xo);
                let (lo, hi) = (lanes(2 * n), lanes((2 * n).saturating_sub(16)));
                // SAFETY: the lanes loaded are columns c..c + 2n <= 2 * ow of rows 2y and
                // 2y + 1, inside the plane, and the lanes stored are outputs xo..xo + n of
                // output row y (both checked by the caller); masked-off lanes are not touched.
                unsafe {
                    let at = |r: usize| src.as_ptr().add(r + c);
                    let (t0, t1) = (
                        _mm512_maskz_loadu_ps(lo, at(r0)),
                        _mm512_maskz_loadu_ps(hi, at(r0).wrapping_add(16)),
                    );
                    let (b0, b1) = (
                        _mm512_maskz_loadu_ps(lo, at(r1)),
                        _mm512_maskz_loadu_ps(hi, at(r1).wrapping_add(16)),
                    );
                    let first = _mm512_add_epi32(_mm512_set1_epi32((r0 + c) as i32), even);
                    let below = _mm512_add_epi32(first, down);
                    let mut best = _mm512_permutex2var_ps(t0, even, t1);
                    let mut win = first;
                    for (v, k) in [
                        (
                            _mm512_permutex2var_ps(t0, odd, t1),
                            _mm512_add_epi32(first, one),
                        ),
                        (_mm512_permutex2var_ps(b0, even, b1), below),
                        (
                            _mm512_permutex2var_ps(b0, odd, b1),
                            _mm512_add_epi32(below, one),
                        ),
                    ] {
                        let take = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(v, best)
                            & _mm512_cmp_ps_mask::<_CMP_ORD_Q>(best, best);
                        best = _mm512_mask_blend_ps(take, best, v);
                        win = _mm512_mask_blend_epi32(take, win, k);
                    }
                    let o = y * ow + xo;
                    let keep = lanes(n);
                    _mm512_mask_storeu_ps(out.as_mut_ptr().add(o), keep, best);
                    _mm512_mask_storeu_epi32(idx.as_mut_ptr().add(o) as *mut i32, keep, win);
                }
            }
        }
    }
}

/// Sizes of one pooling over channels-last images.
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) n: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) c: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
}

impl Frame {
    pub(crate) fn sizes(&self) -> (usize, usize) {
        (self.h * self.w * self.c, self.oh * self.ow * self.c)
    }
}

/// One image's forward pass: the maxima and, per output element, the offset of its winner in
/// the image (NaN wins, the first maximum in scan order wins ties, as in PyTorch's max pool).
#[inline(always)]
fn max_image_body<T: Float>(x: &[T], f: &Frame, a: &Pool2dArgs, out: &mut [T], idx: &mut [u32]) {
    let c = f.c;
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    let wins = |v: T, best: T| !(v <= best) & (best == best);
    for oy in 0..f.oh {
        let (y0, y1, _) = window(oy, a.kernel.0, a.stride.0, a.padding.0, f.h);
        for ox in 0..f.ow {
            let (x0, x1, _) = window(ox, a.kernel.1, a.stride.1, a.padding.1, f.w);
            let at = (oy * f.ow + ox) * c;
            let (o, ix) = (&mut out[at..][..c], &mut idx[at..][..c]);
            let first = (y0 * f.w + x0) * c;
            o.copy_from_slice(&x[first..][..c]);
            ix.iter_mut().zip(first as u32..).for_each(|(i, v)| *i = v);
            for yy in y0..y1 {
                for xx in x0..x1 {
                    let off = (yy * f.w + xx) * c;
                    if off == first {
                        continue;
                    }
                    let src = &x[off..][..c];
                    let base = off as u32;
                    // Branch-free, so that the loop runs on vector registers.
                    for ch in 0..c {
                        let (v, b) = (src[ch], o[ch]);
                        let take = wins(v, b);
                        o[ch] = if take { v } else { b };
                        ix[ch] = if take { base + ch as u32 } else { ix[ch] };
                    }
                }
            }
        }
    }
}

crate::kernels::cpu::multiversion! {
    pub(crate) fn max_image<T: Float>(x: &[T], f: &Frame, a: &Pool2dArgs, out: &mut [T], idx: &mut [u32]) => max_image_body
}

/// A max pool's input gradient: `gs` and `idx` hold one block of `per_out` elements per unit
/// (a channels-first plane, or a channels-last image), each index the offset of its window's
/// winner among the unit's `per_in` inputs; every gradient is added to its winner. Units are
/// split over the pool.
pub(crate) fn route_to_winners<T: Float>(
    gs: &[T],
    idx: &[u32],
    per_in: usize,
    per_out: usize,
) -> Vec<T> {
    let units = gs.len() / per_out.max(1);
    let total = units * per_in;
    let mut dx: Vec<T> = crate::storage::result_vec(total);
    let spare = &mut dx.spare_capacity_mut()[..total];
    let per_part = super::units_per_part(units);
    super::parallel::for_each_chunk_mut(spare, (per_part * per_in).max(1), |part, dpart| {
        for (j, d) in dpart.chunks_mut(per_in.max(1)).enumerate() {
            // Zeroed here, one unit at a time, so that the sums below land in cache.
            let d = super::conv::init(d, None);
            let unit = part * per_part + j;
            let (g, ix) = (
                &gs[unit * per_out..][..per_out],
                &idx[unit * per_out..][..per_out],
            );
            for (&gv, &i) in g.iter().zip(ix) {
                d[i as usize] = d[i as usize] + gv;
            }
        }
    });
    // SAFETY: the parts cover all `units` units, and each was zeroed before the sums.
    unsafe { dx.set_len(total) };
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's rule, one window at a time: scan order, NaN wins, the first maximum wins ties.
    fn reference(src: &[f32], w: usize, oh: usize, ow: usize) -> (Vec<f32>, Vec<u32>) {
        let (mut out, mut idx) = (vec![], vec![]);
        for y in 0..oh {
            for x in 0..ow {
                let cells = [
                    (2 * y, 2 * x),
                    (2 * y, 2 * x + 1),
                    (2 * y + 1, 2 * x),
                    (2 * y + 1, 2 * x + 1),
                ];
                let (mut best, mut at) = (f32::NEG_INFINITY, usize::MAX);
                for (r, c) in cells {
                    let v = src[r * w + c];
                    if at == usize::MAX || (!best.is_nan() && (v.is_nan() || v > best)) {
                        (best, at) = (v, r * w + c);
                    }
                }
                out.push(best);
                idx.push(at as u32);
            }
        }
        (out, idx)
    }

    #[test]
    fn two_by_two_windows_follow_the_scan_order_rule_at_every_width() {
        // Widths below, at and across the 16 outputs of one vector; odd widths leave a column
        // out; repeated values make ties and NaNs appear in every position of a window.
        for (h, w) in [(26, 26), (24, 24), (11, 11), (4, 32), (6, 33), (3, 70)] {
            let src: Vec<f32> = (0..h * w)
                .map(|i| match (i * 7919) % 23 {
                    0 => f32::NAN,
                    k => (k % 5) as f32 - 2.0,
                })
                .collect();
            let (oh, ow) = (h / 2, w / 2);
            let (want, want_idx) = reference(&src, w, oh, ow);
            let (mut out, mut idx) = (vec![0.0f32; oh * ow], vec![0u32; oh * ow]);
            max_2x2(&src, w, oh, ow, &mut out, &mut idx);
            let (mut out2, mut idx2) = (vec![0.0f32; oh * ow], vec![0u32; oh * ow]);
            max_2x2_rows(&src, w, oh, ow, &mut out2, &mut idx2);
            for (got, got_idx) in [(&out, &idx), (&out2, &idx2)] {
                assert_eq!(got_idx, &want_idx, "{h}x{w}");
                for (g, e) in got.iter().zip(&want) {
                    assert!(g.to_bits() == e.to_bits(), "{h}x{w}: {g} against {e}");
                }
            }
        }
    }
}
