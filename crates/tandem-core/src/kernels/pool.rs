//! Max-pooling windows over raw slices, compiled for AVX-512, AVX2 + FMA and portable code:
//! the 2x2 stride-2 window of channels-first planes and the windows of channels-last images,
//! both as branch-free compares and selects so that they run on vector registers.

use crate::dtype::Float;
use crate::ops::pool::{window, Pool2dArgs};

/// The common 2x2, stride-2 window without padding: four candidates per output, compared in
/// PyTorch's scan order (NaN wins, the first maximum wins ties).
#[inline(always)]
fn max_2x2_body<T: Float>(
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
        // Branch-free selects, so that the row runs on vector registers.
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
    pub(crate) fn max_2x2<T: Float>(src: &[T], w: usize, oh: usize, ow: usize, out: &mut [T], idx: &mut [u32]) => max_2x2_body
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
    let mut dx = vec![T::ZERO; units * per_in];
    let per_part = units.div_ceil(super::parallel::num_threads()).max(1);
    super::parallel::for_each_chunk_mut(&mut dx, (per_part * per_in).max(1), |part, dpart| {
        for (j, d) in dpart.chunks_mut(per_in.max(1)).enumerate() {
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
    dx
}
