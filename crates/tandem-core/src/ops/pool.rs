//! 2-D pooling over NCHW tensors: max (with the argmax kept for backward), average (with
//! PyTorch's divisor rules) and adaptive average.

use super::dispatch::dispatch_float;
use crate::autograd::trace::Attr;
use crate::autograd::{attach, should_record};
use crate::dtype::{Element, Float};
use crate::kernels::elementwise::zeroed_pair;
use crate::kernels::pool::{max_2x2, route_to_winners};
use crate::tensor::Tensor;

/// Window geometry of a pooling layer (`torch.nn.MaxPool2d` / `AvgPool2d` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dArgs {
    /// Window size, (rows, columns).
    pub kernel: (usize, usize),
    /// Step between windows (PyTorch's default is the kernel size).
    pub stride: (usize, usize),
    /// Implicit padding on each side (at most half the kernel).
    pub padding: (usize, usize),
    /// Round the output size up, keeping a last partial window that starts inside the input.
    pub ceil_mode: bool,
}

impl Pool2dArgs {
    /// The attributes a traced pooling op keeps for export, with its `layout`.
    pub(crate) fn trace_attrs(&self, layout: &'static str) -> Vec<(&'static str, Attr)> {
        vec![
            ("layout", Attr::Str(layout)),
            ("kernel", Attr::pair(self.kernel)),
            ("stride", Attr::pair(self.stride)),
            ("padding", Attr::pair(self.padding)),
            ("ceil_mode", Attr::Int(i64::from(self.ceil_mode))),
        ]
    }
}

impl From<usize> for Pool2dArgs {
    /// `kernel_size=k`: a `k x k` window with stride `k`.
    fn from(k: usize) -> Pool2dArgs {
        Pool2dArgs::new(k)
    }
}

impl Pool2dArgs {
    /// A `k x k` window with stride `k`, no padding.
    pub fn new(kernel: usize) -> Pool2dArgs {
        Pool2dArgs {
            kernel: (kernel, kernel),
            stride: (kernel, kernel),
            padding: (0, 0),
            ceil_mode: false,
        }
    }
}

/// PyTorch's pooling output size for one axis.
pub(super) fn out_size(len: usize, k: usize, s: usize, p: usize, ceil: bool, op: &str) -> usize {
    assert!(
        k >= 1 && s >= 1 && 2 * p <= k,
        "{op}: pad should be at most half of the kernel size, got kernel {k}, stride {s}, padding {p}"
    );
    let span = len + 2 * p;
    assert!(
        span >= k,
        "{op}: input size {len} (padded {span}) is smaller than the kernel {k}"
    );
    let num = span - k;
    let mut out = if ceil { num.div_ceil(s) } else { num / s } + 1;
    // The last window must start inside the input or its left padding.
    if ceil && (out - 1) * s >= len + p {
        out -= 1;
    }
    out
}

struct Planes {
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

fn planes(x: &Tensor, a: &Pool2dArgs, op: &str) -> Planes {
    assert!(
        x.ndim() == 4,
        "{op}: expected a 4-D input [N, C, H, W], got {:?}",
        x.shape()
    );
    let s = x.shape();
    Planes {
        planes: s[0] * s[1],
        h: s[2],
        w: s[3],
        oh: out_size(s[2], a.kernel.0, a.stride.0, a.padding.0, a.ceil_mode, op),
        ow: out_size(s[3], a.kernel.1, a.stride.1, a.padding.1, a.ceil_mode, op),
    }
}

/// Clipped window `[start, end)` of output index `o` along one axis, plus the padded end.
pub(crate) fn window(o: usize, k: usize, s: usize, p: usize, len: usize) -> (usize, usize, usize) {
    let start = (o * s) as isize - p as isize;
    let padded_end = (start + k as isize).min((len + p) as isize);
    let lo = start.max(0) as usize;
    let hi = (start + k as isize).min(len as isize).max(0) as usize;
    (lo, hi.max(lo), (padded_end - start) as usize)
}

fn max_forward<T: Float>(x: &[T], p: &Planes, a: &Pool2dArgs) -> (Vec<T>, Vec<u32>) {
    let per = p.oh * p.ow;
    let chunk = crate::kernels::units_per_part(p.planes) * per;
    let two_by_two = a.kernel == (2, 2)
        && a.stride == (2, 2)
        && a.padding == (0, 0)
        && 2 * p.oh <= p.h
        && 2 * p.ow <= p.w;
    zeroed_pair(
        p.planes * per,
        chunk,
        |part, o: &mut [T], ix: &mut [u32]| {
            for (k, (op, ip)) in o.chunks_mut(per).zip(ix.chunks_mut(per)).enumerate() {
                let plane = part * chunk / per + k;
                let src = &x[plane * p.h * p.w..][..p.h * p.w];
                if two_by_two {
                    max_2x2(src, p.w, p.oh, p.ow, op, ip);
                    continue;
                }
                for y in 0..p.oh {
                    let (y0, y1, _) = window(y, a.kernel.0, a.stride.0, a.padding.0, p.h);
                    for xo in 0..p.ow {
                        let (x0, x1, _) = window(xo, a.kernel.1, a.stride.1, a.padding.1, p.w);
                        // Every window holds at least one input element; NaN wins, as in
                        // PyTorch (`!(v <= best)` is true for NaN).
                        let mut at = y0 * p.w + x0;
                        let mut best = src[at];
                        for yy in y0..y1 {
                            for (k, &v) in src[yy * p.w + x0..yy * p.w + x1].iter().enumerate() {
                                #[allow(clippy::neg_cmp_op_on_partial_ord)]
                                if !(v <= best) && best == best {
                                    best = v;
                                    at = yy * p.w + x0 + k;
                                }
                            }
                        }
                        op[y * p.ow + xo] = src[at];
                        ip[y * p.ow + xo] = at as u32;
                    }
                }
            }
        },
    )
}

/// `torch.nn.functional.max_pool2d(x, kernel, stride, padding, ceil_mode=...)`.
pub fn max_pool2d(x: &Tensor, args: Pool2dArgs) -> Tensor {
    let p = planes(x, &args, "max_pool2d");
    let xc = x.contiguous();
    let shape = [x.shape()[0], x.shape()[1], p.oh, p.ow];
    let (out, idx) = dispatch_float!(x.dtype(), "max_pool2d", T => {
        let (o, i) = xc.with_slice::<T, _>(|s| max_forward(s, &p, &args));
        (Tensor::from_vec(o, &shape), i)
    });
    if !should_record(&[x]) {
        return out;
    }
    let (in_shape, hw, per) = (x.shape().to_vec(), p.h * p.w, p.oh * p.ow);
    let traced = attach(out, "MaxPool2DWithIndicesBackward0", &[x], move |g, _| {
        let g = g.contiguous();
        let dx = dispatch_float!(g.dtype(), "max_pool2d backward", T => g.with_slice::<T, _>(|gs| {
            let dx = route_to_winners(gs, &idx, hw, per);
            Tensor::from_vec(dx, &in_shape)
        }));
        vec![Some(dx)]
    });
    crate::autograd::trace::set_attrs(&traced, || args.trace_attrs("nchw"));
    traced
}

/// The divisor of each output position of an average pool.
fn divisors(p: &Planes, a: &Pool2dArgs, count_include_pad: bool) -> Vec<f64> {
    let mut d = Vec::with_capacity(p.oh * p.ow);
    for y in 0..p.oh {
        let (y0, y1, yp) = window(y, a.kernel.0, a.stride.0, a.padding.0, p.h);
        for x in 0..p.ow {
            let (x0, x1, xp) = window(x, a.kernel.1, a.stride.1, a.padding.1, p.w);
            d.push(if count_include_pad {
                (yp * xp) as f64
            } else {
                ((y1 - y0) * (x1 - x0)) as f64
            });
        }
    }
    d
}

/// `torch.nn.functional.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)`.
pub fn avg_pool2d(x: &Tensor, args: Pool2dArgs, count_include_pad: bool) -> Tensor {
    let p = planes(x, &args, "avg_pool2d");
    let div = divisors(&p, &args, count_include_pad);
    let wins: Vec<(usize, usize, usize, usize)> = (0..p.oh)
        .flat_map(|y| {
            let (y0, y1, _) = window(y, args.kernel.0, args.stride.0, args.padding.0, p.h);
            (0..p.ow).map(move |xo| {
                let (x0, x1, _) = window(xo, args.kernel.1, args.stride.1, args.padding.1, p.w);
                (y0, y1, x0, x1)
            })
        })
        .collect();
    let out = pool_by_windows(x, &p, wins, div, "AvgPool2DBackward0");
    crate::autograd::trace::set_attrs(&out, || {
        let mut attrs = args.trace_attrs("nchw");
        attrs.push((
            "count_include_pad",
            crate::autograd::trace::Attr::Int(i64::from(count_include_pad)),
        ));
        attrs
    });
    out
}

/// `torch.nn.functional.adaptive_avg_pool2d(x, (oh, ow))`: windows from `floor(i * H / oh)` to
/// `ceil((i + 1) * H / oh)`.
pub fn adaptive_avg_pool2d(x: &Tensor, output_size: (usize, usize)) -> Tensor {
    assert!(
        x.ndim() == 4,
        "adaptive_avg_pool2d: expected [N, C, H, W], got {:?}",
        x.shape()
    );
    let (h, w) = (x.shape()[2], x.shape()[3]);
    let (oh, ow) = output_size;
    assert!(
        oh >= 1 && ow >= 1,
        "adaptive_avg_pool2d: output size must be positive"
    );
    let p = Planes {
        planes: x.shape()[0] * x.shape()[1],
        h,
        w,
        oh,
        ow,
    };
    let range = |i: usize, o: usize, len: usize| (i * len / o, ((i + 1) * len).div_ceil(o));
    let mut wins = Vec::with_capacity(oh * ow);
    let mut div = Vec::with_capacity(oh * ow);
    for y in 0..oh {
        let (y0, y1) = range(y, oh, h);
        for xo in 0..ow {
            let (x0, x1) = range(xo, ow, w);
            wins.push((y0, y1, x0, x1));
            div.push(((y1 - y0) * (x1 - x0)) as f64);
        }
    }
    pool_by_windows(x, &p, wins, div, "AdaptiveAvgPool2DBackward0")
}

/// Averages over explicit windows (`(y0, y1, x0, x1)` per output position) with divisors.
fn pool_by_windows(
    x: &Tensor,
    p: &Planes,
    wins: Vec<(usize, usize, usize, usize)>,
    div: Vec<f64>,
    name: &'static str,
) -> Tensor {
    let (hw, per, w) = (p.h * p.w, p.oh * p.ow, p.w);
    let xc = x.contiguous();
    let shape = [x.shape()[0], x.shape()[1], p.oh, p.ow];
    let out = dispatch_float!(x.dtype(), "avg_pool2d", T => xc.with_slice::<T, _>(|s| {
        let mut out = vec![T::default(); p.planes * per];
        for (plane, o) in out.chunks_mut(per).enumerate() {
            let src = &s[plane * hw..][..hw];
            for (k, &(y0, y1, x0, x1)) in wins.iter().enumerate() {
                let mut acc = 0.0f64;
                for yy in y0..y1 {
                    acc += src[yy * w + x0..yy * w + x1].iter().map(|v| v.to_f64()).sum::<f64>();
                }
                o[k] = T::from_f64(acc / div[k]);
            }
        }
        Tensor::from_vec(out, &shape)
    }));
    if !should_record(&[x]) {
        return out;
    }
    let in_shape = x.shape().to_vec();
    let traced = attach(out, name, &[x], move |g, _| {
        let g = g.contiguous();
        let dx = dispatch_float!(g.dtype(), "avg_pool2d backward", T => g.with_slice::<T, _>(|gs| {
            let mut dx = vec![T::default(); in_shape.iter().product()];
            for (plane, gp) in gs.chunks(per).enumerate() {
                let d = &mut dx[plane * hw..][..hw];
                for (k, &(y0, y1, x0, x1)) in wins.iter().enumerate() {
                    let share = T::from_f64(gp[k].to_f64() / div[k]);
                    for yy in y0..y1 {
                        for v in &mut d[yy * w + x0..yy * w + x1] {
                            *v += share;
                        }
                    }
                }
            }
            Tensor::from_vec(dx, &in_shape)
        }));
        vec![Some(dx)]
    });
    traced
}
