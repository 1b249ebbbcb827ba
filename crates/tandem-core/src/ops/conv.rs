//! Convolution over NCHW (and NCL) tensors as im2col + `gemm`, split over the batch (the
//! passes themselves are in `crate::kernels::conv`).
//!
//! Each image's receptive fields are unfolded into a `[C/groups * KH * KW, OH * OW]` matrix
//! and multiplied by the group's `[O/groups, C/groups * KH * KW]` weights. Backward reuses
//! the same unfolding: the weight gradient is `grad_out · colsᵀ` summed over the batch (one
//! partial sum per thread), the input gradient folds `Wᵀ · grad_out` back (col2im).

use crate::autograd::trace::Attr;
use crate::autograd::{attach, should_record, Saved};
use crate::kernels::conv::{backward, forward, Geometry, Needs};
use crate::ops::dispatch::dispatch_float;
use crate::tensor::Tensor;

/// Geometry of a 2-D convolution (`torch.nn.functional.conv2d`'s arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dArgs {
    /// Step between windows, (rows, columns).
    pub stride: (usize, usize),
    /// Zeros added on each side, (rows, columns).
    pub padding: (usize, usize),
    /// Spacing between kernel taps, (rows, columns).
    pub dilation: (usize, usize),
    /// Channel groups: input and output channels are split into this many independent parts.
    pub groups: usize,
}

impl Conv2dArgs {
    /// The attributes a traced convolution keeps for export, with its `layout`.
    pub(crate) fn trace_attrs(&self, layout: &'static str) -> Vec<(&'static str, Attr)> {
        vec![
            ("layout", Attr::Str(layout)),
            ("stride", Attr::pair(self.stride)),
            ("padding", Attr::pair(self.padding)),
            ("dilation", Attr::pair(self.dilation)),
            ("groups", Attr::Int(self.groups as i64)),
        ]
    }
}

impl Default for Conv2dArgs {
    fn default() -> Self {
        Conv2dArgs {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

/// What a convolution or a product (`addmm_relu`) applies to its result before handing it on;
/// `nn.Module::forward_fused` takes it for the activation a `Sequential` pairs with its layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fused {
    /// Nothing: `x ⋆ W + b`.
    #[default]
    Identity,
    /// `relu(x ⋆ W + b)`, applied while each block of the output is in cache; backward masks
    /// the gradient with the saved output.
    Relu,
}

/// `torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups)`:
/// `x` is `[N, C, H, W]`, `weight` is `[O, C/groups, KH, KW]`, `bias` is `[O]`; float32 or
/// float64. Differentiable in all three (first order).
pub fn conv2d(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>, args: Conv2dArgs) -> Tensor {
    conv2d_fused(x, weight, bias, args, Fused::Identity)
}

/// [`conv2d`] followed by `fused` in the same pass, as `nn.Sequential(nn.Conv2d(...),
/// nn.ReLU())` runs it: the result equals `conv2d(...).relu()`, without the intermediate
/// tensor, and its gradient masks the output gradient with the saved result.
///
/// ```
/// use tandem_core::ops::conv::{conv2d, conv2d_fused, Conv2dArgs, Fused};
/// use tandem_core::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, -2.0, 3.0, -4.0], &[1, 1, 2, 2]);
/// let w = Tensor::from_vec(vec![1.0f32], &[1, 1, 1, 1]);
/// let y = conv2d_fused(&x, &w, None, Conv2dArgs::default(), Fused::Relu);
/// assert_eq!(y.to_vec::<f32>(), [1.0, 0.0, 3.0, 0.0]);
/// assert_eq!(y.to_vec::<f32>(), conv2d(&x, &w, None, Conv2dArgs::default()).relu().to_vec::<f32>());
/// ```
pub fn conv2d_fused(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    args: Conv2dArgs,
    fused: Fused,
) -> Tensor {
    let g = Geometry::new(x.shape(), weight.shape(), args);
    assert_eq!(
        x.dtype(),
        weight.dtype(),
        "conv2d: input ({}) and weight ({}) must have the same dtype",
        x.dtype(),
        weight.dtype()
    );
    if let Some(b) = bias {
        assert_eq!(b.shape(), &[g.o], "conv2d: bias must have shape [{}]", g.o);
    }
    let relu = fused == Fused::Relu;
    let (xc, wc) = (x.contiguous(), weight.contiguous());
    let bc = bias.map(|b| b.to_dtype(x.dtype()).contiguous());
    let out = dispatch_float!(x.dtype(), "conv2d", T => {
        let v = xc.with_slice::<T, _>(|xs| wc.with_slice::<T, _>(|ws| {
            with_optional_slice::<T, _>(bc.as_ref(), |bs| forward(xs, ws, bs, &g, relu))
        }));
        Tensor::from_vec(v, &[g.n, g.o, g.oh, g.ow])
    });
    let mut inputs: Vec<&Tensor> = vec![x, weight];
    inputs.extend(bias);
    if !should_record(&inputs) {
        return out;
    }
    // Saved with their versions: modifying x or the weight in place before backward panics,
    // as it does in PyTorch.
    let (xs, ws) = (Saved::new(&xc.detach()), Saved::new(&wc.detach()));
    let ys = relu.then(|| Saved::output(&out));
    let name = if relu {
        "ConvolutionReluBackward"
    } else {
        "ConvolutionBackward0"
    };
    let traced = attach(out, name, &inputs, move |gout, needs| {
        let go = gout.contiguous();
        let shape_x = [g.n, g.c, g.h, g.w];
        let shape_w = [g.o, g.cg(), g.kh, g.kw];
        let y = ys.as_ref().map(|s| s.get().contiguous());
        let want = Needs {
            input: needs[0],
            weight: needs[1],
            bias: needs.get(2).copied().unwrap_or(false),
        };
        dispatch_float!(go.dtype(), "conv2d backward", T => go.with_slice::<T, _>(|gs| {
            let (x, w) = (xs.get(), ws.get());
            let (dx, dw, db) = x.with_slice::<T, _>(|x| w.with_slice::<T, _>(|w| {
                with_optional_slice::<T, _>(y.as_ref(), |y| backward(gs, y, x, w, &g, want))
            }));
            let mut grads = vec![
                dx.map(|v| Tensor::from_vec(v, &shape_x)),
                dw.map(|v| Tensor::from_vec(v, &shape_w)),
            ];
            if needs.len() > 2 {
                grads.push(db.map(|v| Tensor::from_vec(v, &[g.o])));
            }
            grads
        }))
    });
    crate::autograd::trace::set_attrs(&traced, || args.trace_attrs("nchw"));
    traced
}

/// `f(Some(slice))` for a tensor, `f(None)` without one.
fn with_optional_slice<T: crate::dtype::Element, R>(
    t: Option<&Tensor>,
    f: impl FnOnce(Option<&[T]>) -> R,
) -> R {
    match t {
        Some(t) => t.with_slice::<T, _>(|s| f(Some(s))),
        None => f(None),
    }
}

/// `torch.nn.functional.conv1d`: `x` is `[N, C, L]`, `weight` `[O, C/groups, K]`; computed as
/// a 2-D convolution of height 1.
pub fn conv1d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
) -> Tensor {
    assert!(
        x.ndim() == 3 && weight.ndim() == 3,
        "conv1d: expected 3-D input [N, C, L] and weight [O, C/groups, K], got {:?} and {:?}",
        x.shape(),
        weight.shape()
    );
    let args = Conv2dArgs {
        stride: (1, stride),
        padding: (0, padding),
        dilation: (1, dilation),
        groups,
    };
    let y = conv2d(&x.unsqueeze(2), &weight.unsqueeze(2), bias, args);
    y.squeeze(Some(2))
}

/// Gradcheck of `f(x, weight, bias)` in x (its first two images), the weight and the bias.
#[cfg(test)]
pub(crate) fn gradcheck_first_two_images(
    f: &dyn Fn(&[Tensor]) -> Tensor,
    x: &Tensor,
    weight: Tensor,
    bias: Tensor,
) {
    let inputs = [x.narrow(0, 0, 2).contiguous(), weight, bias];
    crate::autograd::gradcheck(f, &inputs, 1e-6, 1e-7, 1e-5).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    #[test]
    #[should_panic(expected = "modified by an inplace operation")]
    fn changing_the_input_in_place_before_backward_panics() {
        let w = crate::zeros(&[1, 1, 2, 2], DType::Float32).requires_grad_(true);
        let x = crate::ones(&[1, 1, 3, 3], DType::Float32);
        let y = conv2d(&x, &w, None, Conv2dArgs::default());
        x.add_(1.0);
        y.sum().backward();
    }

    /// The fused ReLU is the ReLU applied to the convolution: values and the gradients of
    /// `(y * r).sum()` in x, w and b, in the wide geometry (several images per product) and
    /// in a padded, grouped one; and gradcheck in float64.
    #[test]
    fn fused_relu_equals_relu_after_the_convolution() {
        crate::manual_seed(3);
        let padded = Conv2dArgs {
            padding: (1, 1),
            groups: 2,
            ..Conv2dArgs::default()
        };
        for (args, xs) in [
            (Conv2dArgs::default(), [9, 4, 6, 7]),
            (padded, [3, 4, 5, 5]),
        ] {
            let x = crate::randn(&xs).to_dtype(DType::Float64);
            let w = crate::randn(&[6, 4 / args.groups, 3, 3]).to_dtype(DType::Float64);
            let b = crate::randn(&[6]).to_dtype(DType::Float64);
            let run = |fused: bool| {
                let (x, w, b) = (
                    x.detach().requires_grad_(true),
                    w.detach().requires_grad_(true),
                    b.detach().requires_grad_(true),
                );
                let y = if fused {
                    conv2d_fused(&x, &w, Some(&b), args, Fused::Relu)
                } else {
                    conv2d(&x, &w, Some(&b), args).relu()
                };
                crate::manual_seed(4);
                let r = crate::randn(y.shape()).to_dtype(DType::Float64);
                (&y * &r).sum().backward();
                [y, x.grad().unwrap(), w.grad().unwrap(), b.grad().unwrap()]
            };
            let (got, want) = (run(true), run(false));
            assert!(want[0].to_vec::<f64>().contains(&0.0));
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.shape(), w.shape());
                for (a, b) in g.to_vec::<f64>().iter().zip(w.to_vec::<f64>()) {
                    assert!(
                        (a - b).abs() < 1e-12 * (1.0 + b.abs()),
                        "{args:?}: {a} vs {b}"
                    );
                }
            }
            let f = |t: &[Tensor]| conv2d_fused(&t[0], &t[1], Some(&t[2]), args, Fused::Relu);
            gradcheck_first_two_images(&f, &x, w, b);
        }
    }

    /// Direct evaluation of the convolution sum, for the reference.
    fn naive(x: &[f64], xs: [usize; 4], w: &[f64], ws: [usize; 4], a: Conv2dArgs) -> Vec<f64> {
        let g = Geometry::new(&xs, &ws, a);
        let mut out = vec![0.0; g.n * g.o * g.oh * g.ow];
        for n in 0..g.n {
            for o in 0..g.o {
                let gi = o / g.og();
                for (yo, xo) in (0..g.oh).flat_map(|y| (0..g.ow).map(move |x| (y, x))) {
                    let mut acc = 0.0;
                    for c in 0..g.cg() {
                        for (i, j) in (0..g.kh).flat_map(|i| (0..g.kw).map(move |j| (i, j))) {
                            let iy = (yo * a.stride.0 + i * a.dilation.0) as isize
                                - a.padding.0 as isize;
                            let ix = (xo * a.stride.1 + j * a.dilation.1) as isize
                                - a.padding.1 as isize;
                            if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                continue;
                            }
                            let xv = x[((n * g.c + gi * g.cg() + c) * g.h + iy as usize) * g.w
                                + ix as usize];
                            acc += xv * w[((o * g.cg() + c) * g.kh + i) * g.kw + j];
                        }
                    }
                    out[((n * g.o + o) * g.oh + yo) * g.ow + xo] = acc;
                }
            }
        }
        out
    }

    /// With small images several images share one matrix product: check a grouped, padded
    /// layer against the direct sum and its gradients against finite differences.
    #[test]
    fn wide_layers_match_the_direct_sum_and_finite_differences() {
        crate::manual_seed(5);
        let args = Conv2dArgs {
            padding: (1, 1),
            groups: 2,
            ..Conv2dArgs::default()
        };
        let (xs, ws) = ([5usize, 8, 5, 4], [6usize, 4, 3, 3]); // 36 rows per group
        let x = crate::randn(&xs).to_dtype(DType::Float64);
        let w = crate::randn(&ws).to_dtype(DType::Float64);
        let want = naive(&x.to_vec::<f64>(), xs, &w.to_vec::<f64>(), ws, args);
        let got = conv2d(&x, &w, None, args).to_vec::<f64>();
        assert_eq!(got.len(), want.len());
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
        }
        let b = crate::randn(&[6]).to_dtype(DType::Float64);
        let f = |t: &[Tensor]| conv2d(&t[0], &t[1], Some(&t[2]), args);
        gradcheck_first_two_images(&f, &x, w, b);
    }
}
