//! The passes of a 2-D convolution over contiguous NCHW slices: the geometry derived from the
//! shapes, im2col / col2im, and the forward, input-gradient, weight-gradient and bias-gradient
//! passes, each split over images on the pool.

use super::elementwise::{relu1, relu_in_place};
use super::gemm::{gemm_into, MatRef, Threads};
use crate::dtype::Float;
use crate::ops::conv::Conv2dArgs;
use parking_lot::Mutex;
use std::mem::MaybeUninit;

/// Everything the kernels need, derived from the shapes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) o: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
    pub(crate) a: Conv2dArgs,
}

impl Geometry {
    pub(crate) fn new(x: &[usize], wt: &[usize], a: Conv2dArgs) -> Geometry {
        assert!(
            x.len() == 4 && wt.len() == 4,
            "conv2d: expected 4-D input [N, C, H, W] and weight [O, C/groups, KH, KW], got {x:?} and {wt:?}"
        );
        let g = a.groups;
        assert!(
            g >= 1 && a.stride.0 >= 1 && a.stride.1 >= 1 && a.dilation.0 >= 1 && a.dilation.1 >= 1,
            "conv2d: groups, stride and dilation must be at least 1 ({a:?})"
        );
        let (n, c, h, w) = (x[0], x[1], x[2], x[3]);
        let (o, cg, kh, kw) = (wt[0], wt[1], wt[2], wt[3]);
        assert!(
            c % g == 0 && o % g == 0 && cg * g == c,
            "conv2d: weight {wt:?} with groups={g} does not fit input channels {c}"
        );
        let span_h = a.dilation.0 * (kh - 1) + 1;
        let span_w = a.dilation.1 * (kw - 1) + 1;
        assert!(
            h + 2 * a.padding.0 >= span_h && w + 2 * a.padding.1 >= span_w,
            "conv2d: kernel {kh}x{kw} (dilated {span_h}x{span_w}) is larger than the padded input {}x{}",
            h + 2 * a.padding.0,
            w + 2 * a.padding.1
        );
        let oh = (h + 2 * a.padding.0 - span_h) / a.stride.0 + 1;
        let ow = (w + 2 * a.padding.1 - span_w) / a.stride.1 + 1;
        Geometry {
            n,
            c,
            h,
            w,
            o,
            kh,
            kw,
            oh,
            ow,
            a,
        }
    }

    pub(crate) fn cg(&self) -> usize {
        self.c / self.a.groups
    }
    pub(crate) fn og(&self) -> usize {
        self.o / self.a.groups
    }
    /// Rows of the unfolded matrix.
    pub(crate) fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    pub(crate) fn ohw(&self) -> usize {
        self.oh * self.ow
    }

    /// The output columns `[lo, hi)` whose input column `xo * sw + j * dw - pw` is inside
    /// `[0, w)` for kernel column `j`.
    fn valid_cols(&self, j: usize) -> (usize, usize, isize) {
        let (sw, pw, dw) = (
            self.a.stride.1,
            self.a.padding.1 as isize,
            self.a.dilation.1,
        );
        let shift = (j * dw) as isize - pw; // input column of output column 0
        let lo = if shift >= 0 {
            0
        } else {
            ((-shift) as usize).div_ceil(sw)
        };
        let limit = self.w as isize - shift; // need xo * sw < limit
        let hi = if limit <= 0 {
            0
        } else {
            (limit as usize).div_ceil(sw).min(self.ow)
        };
        (lo.min(hi), hi, shift)
    }

    /// Unfolds channels `[g * cg, (g + 1) * cg)` of one image `x` ([C, H, W]) into `cols`,
    /// `[k, ohw]` with row stride `ld` (a block of a wider matrix when `ld > ohw`).
    fn im2col<T: Float>(&self, x: &[T], g: usize, cols: &mut [T], ld: usize) {
        let (cg, ohw) = (self.cg(), self.ohw());
        let (sh, sw) = self.a.stride;
        let (ph, dh) = (self.a.padding.0, self.a.dilation.0);
        for ci in 0..cg {
            let plane = &x[(g * cg + ci) * self.h * self.w..][..self.h * self.w];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let (lo, hi, shift) = self.valid_cols(j);
                    let row = &mut cols[((ci * self.kh + i) * self.kw + j) * ld..][..ohw];
                    for y in 0..self.oh {
                        let iy = (y * sh + i * dh) as isize - ph as isize;
                        let dst = &mut row[y * self.ow..][..self.ow];
                        if iy < 0 || iy >= self.h as isize {
                            dst.fill(T::default());
                            continue;
                        }
                        let src = &plane[iy as usize * self.w..][..self.w];
                        dst[..lo].fill(T::default());
                        dst[hi..].fill(T::default());
                        let start = (lo * sw) as isize + shift;
                        if sw == 1 {
                            dst[lo..hi].copy_from_slice(&src[start as usize..][..hi - lo]);
                        } else {
                            for (k, d) in dst[lo..hi].iter_mut().enumerate() {
                                *d = src[start as usize + k * sw];
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the unfolded gradient `cols` (`[k, ohw]`, row stride `ld`) back into one image's
    /// input gradient `dx`.
    fn col2im<T: Float>(&self, cols: &[T], g: usize, dx: &mut [T], ld: usize) {
        let (cg, ohw) = (self.cg(), self.ohw());
        let (sh, sw) = self.a.stride;
        let (ph, dh) = (self.a.padding.0, self.a.dilation.0);
        for ci in 0..cg {
            let plane = &mut dx[(g * cg + ci) * self.h * self.w..][..self.h * self.w];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let (lo, hi, shift) = self.valid_cols(j);
                    let row = &cols[((ci * self.kh + i) * self.kw + j) * ld..][..ohw];
                    for y in 0..self.oh {
                        let iy = (y * sh + i * dh) as isize - ph as isize;
                        if iy < 0 || iy >= self.h as isize {
                            continue;
                        }
                        let dst = &mut plane[iy as usize * self.w..][..self.w];
                        let src = &row[y * self.ow..][..self.ow];
                        let start = ((lo * sw) as isize + shift) as usize;
                        if sw == 1 {
                            let d = &mut dst[start..][..hi - lo];
                            d.iter_mut()
                                .zip(&src[lo..hi])
                                .for_each(|(d, &v)| *d = *d + v);
                        } else {
                            for (k, &v) in src[lo..hi].iter().enumerate() {
                                let d = &mut dst[start + k * sw];
                                *d = *d + v;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Images per parallel part: [`PARTS_PER_THREAD`](super::PARTS_PER_THREAD) parts per
/// thread (of [`split_count`](super::split_count), which deterministic mode fixes), at least
/// one image each. The cut depends only on the batch and the thread count, never on which
/// thread runs a part, so the partial sums of the weight gradients, and with them the
/// results, do not change from run to run.
pub(super) fn images_per_part(n: usize) -> usize {
    super::units_per_part_of(n, super::split_count())
}

/// Work buffers for the parts of one pass, one set per thread: a part uses its thread's set
/// (made, zeroed, by the thread's first part), so a pass allocates a set per thread that ran
/// it rather than per part, and no set moves between cores' caches. A part overwrites
/// whatever of a buffer it reads, as it already must from one group of images to the next.
pub(super) struct Scratch<T> {
    sizes: [usize; 3],
    sets: Vec<Mutex<Option<[Vec<T>; 3]>>>,
}

impl<T: Float> Scratch<T> {
    /// Sets of three buffers of these lengths.
    pub(super) fn new(sizes: [usize; 3]) -> Self {
        Scratch {
            sizes,
            sets: (0..super::parallel::num_threads())
                .map(|_| Mutex::new(None))
                .collect(),
        }
    }

    /// `f` with the calling thread's set of buffers.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut [Vec<T>; 3]) -> R) -> R {
        let slot = &self.sets[super::parallel::worker_index().min(self.sets.len() - 1)];
        let mut set = slot.lock();
        f(set.get_or_insert_with(|| self.sizes.map(|n| vec![T::ZERO; n])))
    }
}

/// Output columns one matrix product covers: small images are unfolded several at a time, side
/// by side, so that each product is large enough to run at the kernel's full speed.
const COLUMNS_PER_PRODUCT: usize = 1024;

/// The images of `range` in groups of up to `per` consecutive images.
fn image_groups(range: std::ops::Range<usize>, per: usize) -> impl Iterator<Item = (usize, usize)> {
    range
        .clone()
        .step_by(per)
        .map(move |s| (s, per.min(range.end - s)))
}

impl Geometry {
    /// Whether the unfolded matrix is "wide": with stride 1 and no padding, output row `y` is
    /// computed over the input's whole row length `w`, so that each kernel tap reads one
    /// contiguous run of its input plane and unfolding is one copy per tap instead of one per
    /// output row. Columns `ow..w` of each row are scratch: the forward pass drops them, and
    /// the gradients enter them as zeros.
    pub(super) fn wide(&self) -> bool {
        self.a.stride == (1, 1) && self.a.padding == (0, 0) && self.ow < self.w
    }

    /// Length of one output row in the unfolded matrix: `w` when [`Self::wide`], else `ow`.
    fn row_len(&self) -> usize {
        if self.wide() {
            self.w
        } else {
            self.ow
        }
    }

    /// Output positions over the input's width (see [`Self::wide`]) up to the last one inside
    /// the output: `(oh - 1) · w + ow`, so that the last window ends at the plane's end.
    pub(super) fn wide_span(&self) -> usize {
        (self.oh - 1) * self.w + self.ow
    }

    /// Unfolded columns per image.
    fn cols_per_image(&self) -> usize {
        self.oh * self.row_len()
    }

    /// Images unfolded side by side per product.
    fn images_per_product(&self) -> usize {
        (COLUMNS_PER_PRODUCT / self.cols_per_image().max(1)).max(1)
    }

    /// Wide unfolding (see [`Self::wide`]): row `(ci, i, j)` of `cols` is the input plane from
    /// the tap's offset on, [`Self::wide_span`] elements. Columns past it are left as they
    /// are: only scratch columns lie there.
    fn im2col_wide<T: Float>(&self, x: &[T], g: usize, cols: &mut [T], ld: usize) {
        let span = self.wide_span();
        let (dh, dw) = self.a.dilation;
        for ci in 0..self.cg() {
            let plane = &x[(g * self.cg() + ci) * self.h * self.w..][..self.h * self.w];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let row = ((ci * self.kh + i) * self.kw + j) * ld;
                    let from = i * dh * self.w + j * dw;
                    cols[row..][..span].copy_from_slice(&plane[from..][..span]);
                }
            }
        }
    }

    /// Adds wide unfolded gradients back into one image's input gradient: one contiguous sum
    /// per tap. The scratch columns hold zeros (the output gradient enters them as zeros), so
    /// the input elements they land on are unchanged.
    fn col2im_wide<T: Float>(&self, cols: &[T], g: usize, dx: &mut [T], ld: usize) {
        let span = self.wide_span();
        let (dh, dw) = self.a.dilation;
        for ci in 0..self.cg() {
            let plane = &mut dx[(g * self.cg() + ci) * self.h * self.w..][..self.h * self.w];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    let row = &cols[((ci * self.kh + i) * self.kw + j) * ld..][..span];
                    let dst = &mut plane[i * dh * self.w + j * dw..][..span];
                    dst.iter_mut().zip(row).for_each(|(d, &v)| *d = *d + v);
                }
            }
        }
    }

    /// Unfolds images `first..first + count`, channel group `gi`, side by side into `cols`
    /// (`[k, count · cols_per_image]`).
    fn im2col_images<T: Float>(
        &self,
        x: &[T],
        gi: usize,
        first: usize,
        count: usize,
        cols: &mut [T],
    ) {
        let (chw, cpi) = (self.c * self.h * self.w, self.cols_per_image());
        for i in 0..count {
            let xi = &x[(first + i) * chw..][..chw];
            if self.wide() {
                self.im2col_wide(xi, gi, &mut cols[i * cpi..], count * cpi);
            } else {
                self.im2col(xi, gi, &mut cols[i * cpi..], count * cpi);
            }
        }
    }

    /// Folds the unfolded gradients of image `i` of a group of `count` back into `dx`.
    fn col2im_image<T: Float>(&self, cols: &[T], gi: usize, i: usize, count: usize, dx: &mut [T]) {
        let cpi = self.cols_per_image();
        if self.wide() {
            self.col2im_wide(&cols[i * cpi..], gi, dx, count * cpi);
        } else {
            self.col2im(&cols[i * cpi..], gi, dx, count * cpi);
        }
    }

    /// Copies group `gi` of images `first..first + count` of an output-shaped gradient into
    /// `dst`, `[og, count · cols_per_image]` (each image's block side by side, scratch columns
    /// zero), and adds each channel's sum to `sums`. With a fused ReLU's output `y`, the
    /// gradient is kept only where `y > 0` (masked a whole plane at a time into `plane`).
    #[allow(clippy::too_many_arguments)]
    fn gather_out<T: Float>(
        &self,
        src: &[T],
        y: Option<&[T]>,
        gi: usize,
        first: usize,
        count: usize,
        dst: &mut [T],
        plane: &mut [T],
        mut sums: Option<&mut [f64]>,
    ) {
        let (og, ohw, cpi) = (self.og(), self.ohw(), self.cols_per_image());
        let (ow, row) = (self.ow, self.row_len());
        super::cpu::vectorized(
            #[inline(always)]
            || {
                for i in 0..count {
                    for oc in 0..og {
                        let at = ((first + i) * self.o + gi * og + oc) * ohw;
                        let from = match y {
                            Some(y) => {
                                masked_copy(&mut plane[..ohw], &src[at..][..ohw], &y[at..][..ohw]);
                                &plane[..ohw]
                            }
                            None => &src[at..][..ohw],
                        };
                        if let Some(s) = sums.as_deref_mut() {
                            s[oc] += plane_sum(from);
                        }
                        let to = &mut dst[oc * count * cpi + i * cpi..][..cpi];
                        if row == ow {
                            to.copy_from_slice(from);
                            continue;
                        }
                        for (to, from) in to.chunks_exact_mut(row).zip(from.chunks_exact(ow)) {
                            to[..ow].copy_from_slice(from);
                            to[ow..].fill(T::ZERO);
                        }
                    }
                }
            },
        );
    }

    /// Writes one output plane from its block of a product (`cols_per_image` columns), plus
    /// `bias`, then ReLU when `relu`, dropping the scratch columns of a wide block.
    fn store_plane<T: Float>(
        &self,
        plane: &mut [std::mem::MaybeUninit<T>],
        prod: &[T],
        bias: T,
        relu: bool,
    ) {
        let (ow, row) = (self.ow, self.row_len());
        super::cpu::vectorized(
            #[inline(always)]
            || {
                for (dst, src) in plane.chunks_exact_mut(ow).zip(prod.chunks(row)) {
                    for (d, &p) in dst.iter_mut().zip(&src[..ow]) {
                        d.write(bias_relu(p, bias, relu));
                    }
                }
            },
        );
    }
}

/// `v + bias`, then ReLU (NaN kept) when `relu`: what a convolution's output store applies.
#[inline(always)]
pub(super) fn bias_relu<T: Float>(v: T, bias: T, relu: bool) -> T {
    let v = v + bias;
    if relu {
        relu1(v)
    } else {
        v
    }
}

/// `to = from` where `y > 0`, zero elsewhere: a gradient through a fused ReLU.
#[inline(always)]
pub(super) fn masked_copy<T: Float>(to: &mut [T], from: &[T], y: &[T]) {
    for ((t, &g), &y) in to.iter_mut().zip(from).zip(y) {
        *t = if y > T::ZERO { g } else { T::ZERO };
    }
}

/// Forward: `W · unfold(x) (+ bias)`, then ReLU when `relu`; `[N, O, OH, OW]`.
pub(crate) fn forward<T: Float>(
    x: &[T],
    wt: &[T],
    bias: Option<&[T]>,
    g: &Geometry,
    relu: bool,
) -> Vec<T> {
    let (og, k, ohw, cpi) = (g.og(), g.k(), g.ohw(), g.cols_per_image());
    let per_image = g.o * ohw;
    let total = g.n * per_image;
    let mut out: Vec<T> = crate::storage::result_vec(total);
    let step = images_per_part(g.n);
    let per = g.images_per_product().min(step);
    // A single compact image's product can land in its output planes directly.
    let direct = per == 1 && !g.wide();
    let spare = &mut out.spare_capacity_mut()[..total];
    let scratch = Scratch::new([k * per * cpi, if direct { 0 } else { og * per * cpi }, 0]);
    super::parallel::for_each_chunk_mut(spare, step * per_image, |part, dst| {
        scratch.with(|[cols, prod, _]| {
            let base = part * step;
            for (first, count) in image_groups(base..(base + step).min(g.n), per) {
                let width = count * cpi;
                for gi in 0..g.a.groups {
                    g.im2col_images(x, gi, first, count, cols);
                    let w_g = &wt[gi * og * k..][..og * k];
                    let b_g = bias.map(|b| &b[gi * og..][..og]);
                    let lhs = MatRef::new(w_g, (og, k), (k, 1));
                    let rhs = MatRef::new(cols, (k, width), (width, 1));
                    if direct {
                        let planes =
                            &mut dst[(first - base) * per_image + gi * og * ohw..][..og * ohw];
                        let planes = fill_planes(planes, ohw, b_g);
                        gemm_into(planes, ohw, true, lhs, rhs, Threads::One);
                        if relu {
                            relu_in_place(planes);
                        }
                        continue;
                    }
                    gemm_into(
                        &mut prod[..og * width],
                        width,
                        false,
                        lhs,
                        rhs,
                        Threads::One,
                    );
                    for i in 0..count {
                        let img = (first - base + i) * per_image;
                        for oc in 0..og {
                            let plane = &mut dst[img + (gi * og + oc) * ohw..][..ohw];
                            let v = b_g.map_or(T::default(), |b| b[oc]);
                            g.store_plane(plane, &prod[oc * width + i * cpi..][..cpi], v, relu);
                        }
                    }
                }
            }
        })
    });
    // SAFETY: the parts cover every image, and each image's planes were written, for every
    // group, by `fill_planes` or `store_plane`.
    unsafe { out.set_len(total) };
    out
}

/// Writes each of `planes`' rows of `ohw` elements with its bias (zeros without one) and
/// returns them initialized.
fn fill_planes<'a, T: Float>(
    planes: &'a mut [std::mem::MaybeUninit<T>],
    ohw: usize,
    bias: Option<&[T]>,
) -> &'a mut [T] {
    for (oc, plane) in planes.chunks_exact_mut(ohw.max(1)).enumerate() {
        plane.fill(std::mem::MaybeUninit::new(
            bias.map_or(T::default(), |b| b[oc]),
        ));
    }
    // SAFETY: every element of `planes` was written above (its length is a multiple of
    // `ohw`, as the caller sizes it).
    unsafe { &mut *(planes as *mut [std::mem::MaybeUninit<T>] as *mut [T]) }
}

/// One part's share of a backward pass: its images' input gradients and partial weight and
/// bias gradients (the bias sums in float64).
pub(super) struct Share<'a, T> {
    pub(super) dx: &'a mut [MaybeUninit<T>],
    pub(super) dw: Vec<T>,
    pub(super) db: Vec<f64>,
}

impl<'a, T: Float> Share<'a, T> {
    /// One share per part of `step` images, `dx` split among them.
    pub(super) fn split(
        dx: &'a mut [MaybeUninit<T>],
        in_size: usize,
        step: usize,
        parts: usize,
        wsize: usize,
        o: usize,
        needs: Needs,
    ) -> Vec<Share<'a, T>> {
        let mut dx_shares = dx.chunks_mut((step * in_size).max(1));
        (0..parts)
            .map(|_| Share {
                dx: dx_shares.next().unwrap_or_default(),
                dw: vec![T::ZERO; if needs.weight { wsize } else { 0 }],
                db: vec![0.0; if needs.bias { o } else { 0 }],
            })
            .collect()
    }

    /// The weight and bias gradients: the parts' partial sums added up.
    pub(super) fn total(
        mut shares: Vec<Share<'_, T>>,
        needs: Needs,
    ) -> (Option<Vec<T>>, Option<Vec<T>>) {
        let dw = needs.weight.then(|| {
            let mut dw = std::mem::take(&mut shares[0].dw);
            for s in &shares[1..] {
                dw.iter_mut().zip(&s.dw).for_each(|(a, &b)| *a = *a + b);
            }
            dw
        });
        let db = needs.bias.then(|| {
            (0..shares[0].db.len())
                .map(|c| T::from_f64(shares.iter().map(|s| s.db[c]).sum()))
                .collect()
        });
        (dw, db)
    }
}

/// Which gradients a backward pass computes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Needs {
    pub(crate) input: bool,
    pub(crate) weight: bool,
    pub(crate) bias: bool,
}

/// `(dx, dw, db)`, each present when asked for.
pub(crate) type Grads<T> = (Option<Vec<T>>, Option<Vec<T>>, Option<Vec<T>>);

/// Writes `dst` with `row` repeated, or zeros without one, and returns it initialized.
pub(super) fn init<'a, T: Float>(dst: &'a mut [MaybeUninit<T>], row: Option<&[T]>) -> &'a mut [T] {
    match row {
        Some(r) => dst.chunks_exact_mut(r.len()).for_each(|d| {
            d.iter_mut().zip(r).for_each(|(d, &v)| {
                d.write(v);
            })
        }),
        None => dst.fill(MaybeUninit::new(T::ZERO)),
    }
    // SAFETY: every element of `dst` was written above.
    unsafe { &mut *(dst as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// The gradients of [`forward`]: `(dx, dw, db)`, each present when asked for, in one pass over
/// the images. Each group of images gathers its output gradient once (masked by the saved
/// output `y` of a fused ReLU), sums it for the bias, multiplies it by the unfolded input for
/// the weight and by the weight for the unfolded input gradient.
pub(crate) fn backward<T: Float>(
    gout: &[T],
    y: Option<&[T]>,
    x: &[T],
    wt: &[T],
    g: &Geometry,
    needs: Needs,
) -> Grads<T> {
    let (og, k, cpi) = (g.og(), g.k(), g.cols_per_image());
    let in_size = g.c * g.h * g.w;
    let step = images_per_part(g.n);
    let parts = g.n.div_ceil(step);
    let per = g.images_per_product().min(step);
    let dx_len = if needs.input { g.n * in_size } else { 0 };
    let mut dx: Vec<T> = crate::storage::result_vec(dx_len);
    let spare = &mut dx.spare_capacity_mut()[..dx_len];
    let mut shares = Share::split(spare, in_size, step, parts, g.o * k, g.o, needs);
    let scratch = Scratch::new([
        k * per * cpi,
        og * per * cpi,
        if y.is_some() { g.ohw() } else { 0 },
    ]);
    super::parallel::for_each_chunk_mut(&mut shares, 1, |part, share| {
        scratch.with(|[cols, go, plane]| {
            let Share { dx, dw, db } = &mut share[0];
            let base = part * step;
            for (first, count) in image_groups(base..(base + step).min(g.n), per) {
                let width = count * cpi;
                let mut dx_images = needs
                    .input
                    .then(|| init(&mut dx[(first - base) * in_size..][..count * in_size], None));
                for gi in 0..g.a.groups {
                    let sums = needs.bias.then(|| &mut db[gi * og..][..og]);
                    g.gather_out(gout, y, gi, first, count, go, plane, sums);
                    let go = &go[..og * width];
                    if needs.weight {
                        g.im2col_images(x, gi, first, count, cols);
                        // colsᵀ is [width, k]: row stride 1, column stride width.
                        gemm_into(
                            &mut dw[gi * og * k..][..og * k],
                            k,
                            true,
                            MatRef::new(go, (og, width), (width, 1)),
                            MatRef::new(cols, (width, k), (1, width)),
                            Threads::One,
                        );
                    }
                    if let Some(dx_images) = dx_images.as_deref_mut() {
                        // Wᵀ is [k, og]: row stride 1, column stride k.
                        gemm_into(
                            &mut cols[..k * width],
                            width,
                            false,
                            MatRef::new(&wt[gi * og * k..][..og * k], (k, og), (1, k)),
                            MatRef::new(go, (og, width), (width, 1)),
                            Threads::One,
                        );
                        for i in 0..count {
                            let img = &mut dx_images[i * in_size..][..in_size];
                            g.col2im_image(cols, gi, i, count, img);
                        }
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

/// Sum of a plane in float64 with eight independent accumulators (a single running sum is
/// bound by the latency of each addition).
#[inline(always)]
fn plane_sum<T: Float>(plane: &[T]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut blocks = plane.chunks_exact(8);
    for b in &mut blocks {
        for (a, v) in acc.iter_mut().zip(b) {
            *a += v.to_f64();
        }
    }
    let tail: f64 = blocks.remainder().iter().map(|v| v.to_f64()).sum();
    acc.iter().sum::<f64>() + tail
}
