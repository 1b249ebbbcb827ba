//! The passes of a 2-D convolution over channels-last slices: images `[N, H, W, C]`, weights
//! `[KH, KW, C, O]` (Keras's kernel order), outputs `[N, OH, OW, O]`.
//!
//! In this layout one output position's receptive field is `KH` runs of `KW · C` contiguous
//! input elements, so unfolding copies whole runs, and the unfolded rows `[positions, KH·KW·C]`
//! times the weights `[KH·KW·C, O]` land directly in the output, already channels-last: no
//! permutes, no gathers. At stride 1 without padding nothing is unfolded: each kernel row's
//! block of the unfolded matrix is the image itself read with row stride `C`, so the forward
//! product and the weight gradient are `KH` products over the input in place, with output
//! positions counted over the input's width and the extra ones dropped when the output is
//! stored. The batch is cut into a few parts per thread, claimed as threads come free, and
//! each part works through its images a few at a time, so the bias, the fused ReLU and the
//! ReLU mask in backward touch a block while it is still in cache.

use super::conv::{
    bias_relu, images_per_part, init, masked_copy, Geometry, Grads, Needs, Scratch, Share,
};
use super::elementwise::relu_in_place;
use super::gemm::{gemm_into, MatRef, Threads};
use crate::dtype::Float;
use std::mem::MaybeUninit;

/// Unfolded elements one block may hold (about 512 KiB of float32): large enough for full-speed
/// products, small enough to stay in the core's cache.
const BLOCK_ELEMENTS: usize = 1 << 17;

/// Output rows a block aims for when the unfolded rows are short.
const BLOCK_ROWS: usize = 1024;

impl Geometry {
    /// Images per block: enough for about [`BLOCK_ROWS`] output rows, at most
    /// [`BLOCK_ELEMENTS`] unfolded elements, at least one.
    fn images_per_block(&self) -> usize {
        let ohw = self.ohw().max(1);
        let by_rows = BLOCK_ROWS.div_ceil(ohw);
        let by_size = BLOCK_ELEMENTS / (ohw * self.k()).max(1);
        by_rows.min(by_size).max(1)
    }

    /// Whether the products can read the input in place, without unfolding it: at stride 1,
    /// without padding or column dilation, with output positions counted over the input's
    /// width (`Geometry::wide`), kernel row `i`'s taps for consecutive positions are
    /// consecutive runs of `KW · C` elements, `C` apart, so the unfolded block of kernel row
    /// `i` is the image itself viewed as `[wide_span, KW·C]` with row stride `C`.
    fn in_place(&self) -> bool {
        self.wide() && self.a.dilation.1 == 1
    }

    /// Kernel row `i`'s unfolded block of image `img`, `[wide_span, KW·C]` (or its transpose
    /// when `transposed`), read in place.
    fn kernel_row<'a, T>(&self, img: &'a [T], i: usize, transposed: bool) -> MatRef<'a, T> {
        let (rows, run) = (self.wide_span(), self.kw * self.c);
        let from = &img[i * self.a.dilation.0 * self.w * self.c..];
        if transposed {
            MatRef::new(from, (run, rows), (1, self.c))
        } else {
            MatRef::new(from, (rows, run), (self.c, 1))
        }
    }

    /// The first input column of a window row starting at column `x0` when its `KW` taps are
    /// one contiguous run inside the image (`KW · C` elements to copy at once), or `None` when
    /// padding clips it or dilation spreads it.
    fn whole_run(&self, x0: isize) -> Option<usize> {
        (self.a.dilation.1 == 1 && x0 >= 0 && x0 as usize + self.kw <= self.w)
            .then_some(x0 as usize)
    }

    /// Unfolds one channels-last image `x` (`[H, W, C]`) into `cols`, `[OH·OW, KH·KW·C]`.
    fn im2col_nhwc<T: Float>(&self, x: &[T], cols: &mut [T]) {
        let (c, k, run) = (self.c, self.k(), self.kw * self.c);
        let (sh, sw) = self.a.stride;
        let (ph, pw) = (self.a.padding.0 as isize, self.a.padding.1 as isize);
        let (dh, dw) = self.a.dilation;
        for oy in 0..self.oh {
            for ox in 0..self.ow {
                let row = &mut cols[(oy * self.ow + ox) * k..][..k];
                let x0 = (ox * sw) as isize - pw;
                for i in 0..self.kh {
                    let seg = &mut row[i * run..][..run];
                    let iy = (oy * sh + i * dh) as isize - ph;
                    if iy < 0 || iy >= self.h as isize {
                        seg.fill(T::ZERO);
                        continue;
                    }
                    let line = &x[iy as usize * self.w * c..][..self.w * c];
                    if let Some(x0) = self.whole_run(x0) {
                        seg.copy_from_slice(&line[x0 * c..][..run]);
                        continue;
                    }
                    for (j, dst) in seg.chunks_exact_mut(c).enumerate() {
                        let ix = x0 + (j * dw) as isize;
                        if ix < 0 || ix >= self.w as isize {
                            dst.fill(T::ZERO);
                        } else {
                            dst.copy_from_slice(&line[ix as usize * c..][..c]);
                        }
                    }
                }
            }
        }
    }

    /// Adds unfolded gradients `cols` (`[OH·OW, KH·KW·C]`) back into one image's input
    /// gradient `dx` (`[H, W, C]`).
    #[inline(always)]
    fn col2im_nhwc<T: Float>(&self, cols: &[T], dx: &mut [T]) {
        let (c, k, run) = (self.c, self.k(), self.kw * self.c);
        let (sh, sw) = self.a.stride;
        let (ph, pw) = (self.a.padding.0 as isize, self.a.padding.1 as isize);
        let (dh, dw) = self.a.dilation;
        let add = |dst: &mut [T], src: &[T]| {
            dst.iter_mut().zip(src).for_each(|(d, &v)| *d = *d + v);
        };
        for oy in 0..self.oh {
            for ox in 0..self.ow {
                let row = &cols[(oy * self.ow + ox) * k..][..k];
                let x0 = (ox * sw) as isize - pw;
                for i in 0..self.kh {
                    let iy = (oy * sh + i * dh) as isize - ph;
                    if iy < 0 || iy >= self.h as isize {
                        continue;
                    }
                    let seg = &row[i * run..][..run];
                    let line = &mut dx[iy as usize * self.w * c..][..self.w * c];
                    if let Some(x0) = self.whole_run(x0) {
                        add(&mut line[x0 * c..][..run], seg);
                        continue;
                    }
                    for (j, src) in seg.chunks_exact(c).enumerate() {
                        let ix = x0 + (j * dw) as isize;
                        if ix >= 0 && ix < self.w as isize {
                            add(&mut line[ix as usize * c..][..c], src);
                        }
                    }
                }
            }
        }
    }

    /// Writes one image's output (`[OH·OW, O]`) from its wide product (`[wide_span, O]`),
    /// plus `bias` (`[O]`), then ReLU when `relu`, dropping the positions past each row's end.
    fn store_wide<T: Float>(
        &self,
        image: &mut [MaybeUninit<T>],
        wide: &[T],
        bias: &[T],
        relu: bool,
    ) {
        let (o, ow) = (self.o, self.ow);
        let bias = &bias[..o];
        super::cpu::vectorized(
            #[inline(always)]
            || {
                for (oy, dst) in image.chunks_exact_mut(ow * o).enumerate() {
                    let src = &wide[oy * self.w * o..][..ow * o];
                    for (d, s) in dst.chunks_exact_mut(o).zip(src.chunks_exact(o)) {
                        for ((d, &v), &b) in d.iter_mut().zip(s).zip(bias) {
                            d.write(bias_relu(v, b, relu));
                        }
                    }
                }
            },
        );
    }

    /// Spreads one image's output gradient (`[OH·OW, O]`) over the wide positions
    /// (`[wide_span, O]`), zero past each row's end.
    fn spread_wide<T: Float>(&self, go: &[T], wide: &mut [T]) {
        let (o, ow) = (self.o, self.ow);
        for (oy, src) in go.chunks_exact(ow * o).enumerate() {
            let dst = &mut wide[oy * self.w * o..];
            dst[..ow * o].copy_from_slice(src);
            let end = (self.w * o).min(dst.len());
            dst[ow * o..end].fill(T::ZERO);
        }
    }

    /// Elements of one input image and of one output image.
    fn image_sizes(&self) -> (usize, usize) {
        (self.h * self.w * self.c, self.ohw() * self.o)
    }
}

/// Forward: `out = unfold(x) · W (+ bias)`, then ReLU when `relu`; `[N, OH, OW, O]`.
pub(crate) fn forward_nhwc<T: Float>(
    x: &[T],
    wt: &[T],
    bias: Option<&[T]>,
    g: &Geometry,
    relu: bool,
) -> Vec<T> {
    let (k, o, ohw) = (g.k(), g.o, g.ohw());
    let (in_size, out_size) = g.image_sizes();
    let total = g.n * out_size;
    let mut out: Vec<T> = crate::storage::result_vec(total);
    let step = images_per_part(g.n);
    let per = g.images_per_block().min(step);
    let spare = &mut out.spare_capacity_mut()[..total];
    let (run, in_place) = (g.kw * g.c, g.in_place());
    let zeros = vec![T::ZERO; if bias.is_none() { o } else { 0 }];
    let bias_row = bias.unwrap_or(&zeros);
    let scratch = Scratch::new([
        if in_place { 0 } else { per * ohw * k },
        if in_place { g.wide_span() * o } else { 0 },
        0,
    ]);
    super::parallel::for_each_chunk_mut(spare, step * out_size, |part, dst| {
        scratch.with(|[cols, wide, _]| {
            let base = part * step;
            let count_here = dst.len() / out_size.max(1);
            for first in (0..count_here).step_by(per) {
                let count = per.min(count_here - first);
                let rows = count * ohw;
                if in_place {
                    for i in 0..count {
                        let img = &x[(base + first + i) * in_size..][..in_size];
                        for r in 0..g.kh {
                            gemm_into(
                                wide,
                                o,
                                r > 0,
                                g.kernel_row(img, r, false),
                                MatRef::new(&wt[r * run * o..][..run * o], (run, o), (o, 1)),
                                Threads::One,
                            );
                        }
                        let image = &mut dst[(first + i) * out_size..][..out_size];
                        g.store_wide(image, wide, bias_row, relu);
                    }
                    continue;
                }
                for i in 0..count {
                    let img = &x[(base + first + i) * in_size..][..in_size];
                    g.im2col_nhwc(img, &mut cols[i * ohw * k..][..ohw * k]);
                }
                // Each block is written (bias or zeros) just before its product adds to it, while
                // it is in cache.
                let block = init(&mut dst[first * out_size..][..rows * o], bias);
                gemm_into(
                    block,
                    o,
                    true,
                    MatRef::new(&cols[..rows * k], (rows, k), (k, 1)),
                    MatRef::new(wt, (k, o), (o, 1)),
                    Threads::One,
                );
                if relu {
                    relu_in_place(block);
                }
            }
        })
    });
    // SAFETY: the parts' blocks cover every element, and `init` wrote each block.
    unsafe { out.set_len(total) };
    out
}

/// The gradients of [`forward_nhwc`]: `(dx, dw, db)`, each present when asked for. `y` is the
/// forward output, needed when `relu` was fused (its zeros mask the gradient).
pub(crate) fn backward_nhwc<T: Float>(
    gout: &[T],
    x: &[T],
    wt: &[T],
    y: Option<&[T]>,
    g: &Geometry,
    needs: Needs,
) -> Grads<T> {
    let (k, o, ohw) = (g.k(), g.o, g.ohw());
    let (in_size, out_size) = g.image_sizes();
    let step = images_per_part(g.n);
    let parts = g.n.div_ceil(step);
    let per = g.images_per_block().min(step);
    let dx_len = if needs.input { g.n * in_size } else { 0 };
    let mut dx: Vec<T> = crate::storage::result_vec(dx_len);
    // Per part: its images' share of `dx`, a partial weight gradient (`[K, O]`) and partial
    // bias sums (float64).
    let spare = &mut dx.spare_capacity_mut()[..dx_len];
    let mut shares = Share::split(spare, in_size, step, parts, k * o, o, needs);
    let (run, in_place) = (g.kw * g.c, g.in_place());
    let scratch = Scratch::new([
        per * ohw * k,
        if y.is_some() { per * ohw * o } else { 0 },
        if in_place { g.wide_span() * o } else { 0 },
    ]);
    super::parallel::for_each_chunk_mut(&mut shares, 1, |part, share| {
        scratch.with(|[cols, masked, wide]| {
            let Share { dx, dw, db } = &mut share[0];
            let base = part * step;
            let count_here = step.min(g.n - base);
            for first in (0..count_here).step_by(per) {
                let count = per.min(count_here - first);
                let rows = count * ohw;
                let at = (base + first) * out_size;
                let mut go = &gout[at..][..rows * o];
                if let Some(y) = y {
                    let m = &mut masked[..rows * o];
                    let yb = &y[at..][..rows * o];
                    super::cpu::vectorized(
                        #[inline(always)]
                        || masked_copy(m, go, yb),
                    );
                    go = m;
                }
                if needs.bias {
                    super::cpu::vectorized(
                        #[inline(always)]
                        || {
                            for r in go.chunks_exact(o) {
                                db.iter_mut().zip(r).for_each(|(a, &v)| *a += v.to_f64());
                            }
                        },
                    );
                }
                if needs.weight && in_place {
                    for i in 0..count {
                        let img = &x[(base + first + i) * in_size..][..in_size];
                        g.spread_wide(&go[i * out_size..][..out_size], wide);
                        for r in 0..g.kh {
                            gemm_into(
                                &mut dw[r * run * o..][..run * o],
                                o,
                                true,
                                g.kernel_row(img, r, true),
                                MatRef::new(wide, (g.wide_span(), o), (o, 1)),
                                Threads::One,
                            );
                        }
                    }
                } else if needs.weight {
                    for i in 0..count {
                        let img = &x[(base + first + i) * in_size..][..in_size];
                        g.im2col_nhwc(img, &mut cols[i * ohw * k..][..ohw * k]);
                    }
                    // unfold(x)ᵀ is [K, rows]: row stride 1, column stride K.
                    gemm_into(
                        dw,
                        o,
                        true,
                        MatRef::new(&cols[..rows * k], (k, rows), (1, k)),
                        MatRef::new(go, (rows, o), (o, 1)),
                        Threads::One,
                    );
                }
                if needs.input {
                    // Wᵀ is [O, K]: row stride 1, column stride O.
                    gemm_into(
                        &mut cols[..rows * k],
                        k,
                        false,
                        MatRef::new(go, (rows, o), (o, 1)),
                        MatRef::new(wt, (o, k), (1, o)),
                        Threads::One,
                    );
                    for i in 0..count {
                        let d = init(&mut dx[(first + i) * in_size..][..in_size], None);
                        let c = &cols[i * ohw * k..][..ohw * k];
                        super::cpu::vectorized(
                            #[inline(always)]
                            || g.col2im_nhwc(c, d),
                        );
                    }
                }
            }
        })
    });
    let (dw, db) = Share::total(shares, needs);
    // SAFETY: with `needs.input`, every part zeroed (`init`) each of its images' gradients
    // before adding to them, and the parts cover all images; otherwise `dx_len` is 0.
    unsafe { dx.set_len(dx_len) };
    (needs.input.then_some(dx), dw, db)
}
