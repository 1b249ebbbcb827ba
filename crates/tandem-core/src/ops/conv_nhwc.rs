//! Convolution over channels-last tensors, as Keras and TensorFlow lay them out: input
//! `[N, H, W, C]`, kernel `[KH, KW, C, O]`, output `[N, OH, OW, O]`, with an optional fused
//! ReLU (the passes are in `crate::kernels::conv_nhwc`).

use crate::autograd::{attach, should_record, Saved};
use crate::kernels::conv::Geometry;
use crate::kernels::conv::Needs;
use crate::kernels::conv_nhwc::{backward_nhwc, forward_nhwc};
use crate::ops::conv::Conv2dArgs;
pub use crate::ops::conv::Fused;
use crate::ops::dispatch::dispatch_float;
use crate::tensor::Tensor;

/// `tf.nn.conv2d(x, kernel, strides, padding) + bias`, then `fused`: `x` is `[N, H, W, C]`,
/// `kernel` is `[KH, KW, C, O]` (Keras's `Conv2D.kernel`), `bias` is `[O]`; float32 or
/// float64; `args.padding` pads both sides alike and `args.groups` must be 1. Differentiable
/// in all three (first order).
///
/// ```
/// use tandem_core::ops::conv::Conv2dArgs;
/// use tandem_core::ops::conv_nhwc::{conv2d_nhwc, Fused};
/// use tandem_core::{ones, DType};
/// let x = ones(&[1, 4, 4, 2], DType::Float32); // one 4x4 image, two channels
/// let k = ones(&[3, 3, 2, 5], DType::Float32); // 3x3 kernel, 2 -> 5 channels
/// let y = conv2d_nhwc(&x, &k, None, Conv2dArgs::default(), Fused::Identity);
/// assert_eq!(y.shape(), &[1, 2, 2, 5]);
/// assert_eq!(y.to_vec::<f32>()[0], 18.0); // 3 * 3 taps * 2 channels
/// ```
pub fn conv2d_nhwc(
    x: &Tensor,
    kernel: &Tensor,
    bias: Option<&Tensor>,
    args: Conv2dArgs,
    fused: Fused,
) -> Tensor {
    let (xs, ks) = (x.shape(), kernel.shape());
    assert!(
        xs.len() == 4 && ks.len() == 4,
        "conv2d_nhwc: expected 4-D input [N, H, W, C] and kernel [KH, KW, C, O], got {xs:?} and {ks:?}"
    );
    assert!(
        args.groups == 1,
        "conv2d_nhwc: groups must be 1, got {}",
        args.groups
    );
    assert_eq!(
        xs[3], ks[2],
        "conv2d_nhwc: input has {} channels but the kernel {ks:?} expects {}",
        xs[3], ks[2]
    );
    let g = Geometry::new(
        &[xs[0], xs[3], xs[1], xs[2]],
        &[ks[3], ks[2], ks[0], ks[1]],
        args,
    );
    assert_eq!(
        x.dtype(),
        kernel.dtype(),
        "conv2d_nhwc: input ({}) and kernel ({}) must have the same dtype",
        x.dtype(),
        kernel.dtype()
    );
    if let Some(b) = bias {
        assert_eq!(
            b.shape(),
            &[g.o],
            "conv2d_nhwc: bias must have shape [{}]",
            g.o
        );
    }
    let relu = fused == Fused::Relu;
    let (xc, kc) = (x.contiguous(), kernel.contiguous());
    let bc = bias.map(|b| b.to_dtype(x.dtype()).contiguous());
    let out = dispatch_float!(x.dtype(), "conv2d_nhwc", T => {
        let v = xc.with_slice::<T, _>(|xs| kc.with_slice::<T, _>(|ks| match &bc {
            Some(b) => b.with_slice::<T, _>(|bs| forward_nhwc(xs, ks, Some(bs), &g, relu)),
            None => forward_nhwc(xs, ks, None, &g, relu),
        }));
        Tensor::from_vec(v, &[g.n, g.oh, g.ow, g.o])
    });
    let mut inputs: Vec<&Tensor> = vec![x, kernel];
    inputs.extend(bias);
    if !should_record(&inputs) {
        return out;
    }
    let (xs, ks) = (Saved::new(&xc.detach()), Saved::new(&kc.detach()));
    let ys = relu.then(|| Saved::output(&out));
    let name = if relu {
        "ConvolutionReluBackward"
    } else {
        "ConvolutionBackward0"
    };
    let (shape_x, shape_k) = (x.shape().to_vec(), kernel.shape().to_vec());
    let traced = attach(out, name, &inputs, move |gout, needs| {
        let go = gout.contiguous();
        let want = Needs {
            input: needs[0],
            weight: needs[1],
            bias: needs.get(2).copied().unwrap_or(false),
        };
        dispatch_float!(go.dtype(), "conv2d_nhwc backward", T => go.with_slice::<T, _>(|gs| {
            let (x, k) = (xs.get(), ks.get());
            let y = ys.as_ref().map(|s| s.get().contiguous());
            let (dx, dk, db) = x.with_slice::<T, _>(|x| k.with_slice::<T, _>(|k| match &y {
                Some(y) => y.with_slice::<T, _>(|y| backward_nhwc(gs, x, k, Some(y), &g, want)),
                None => backward_nhwc(gs, x, k, None, &g, want),
            }));
            let mut grads = vec![
                dx.map(|v| Tensor::from_vec(v, &shape_x)),
                dk.map(|v| Tensor::from_vec(v, &shape_k)),
            ];
            if needs.len() > 2 {
                grads.push(db.map(|v| Tensor::from_vec(v, &[g.o])));
            }
            grads
        }))
    });
    crate::autograd::trace::set_attrs(&traced, || args.trace_attrs("nhwc"));
    traced
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::conv::conv2d;
    use crate::DType;

    /// The channels-last convolution equals the channels-first one on permuted operands, with
    /// padding, stride and dilation, and its gradients pass finite differences.
    fn agrees_with_channels_first(args: Conv2dArgs, fused: Fused) {
        agrees_with_channels_first_on(args, fused, 3);
    }

    fn agrees_with_channels_first_on(args: Conv2dArgs, fused: Fused, channels: usize) {
        crate::manual_seed(11);
        let x = crate::randn(&[5, 7, 6, channels]).to_dtype(DType::Float64);
        let k = crate::randn(&[3, 2, channels, 4]).to_dtype(DType::Float64);
        let b = crate::randn(&[4]).to_dtype(DType::Float64);
        let got = conv2d_nhwc(&x, &k, Some(&b), args, fused);
        let nchw = conv2d(
            &x.permute(&[0, 3, 1, 2]),
            &k.permute(&[3, 2, 0, 1]),
            Some(&b),
            args,
        );
        let nchw = if fused == Fused::Relu {
            nchw.relu()
        } else {
            nchw
        };
        let want = nchw.permute(&[0, 2, 3, 1]).contiguous();
        assert_eq!(got.shape(), want.shape());
        for (a, w) in got.to_vec::<f64>().iter().zip(want.to_vec::<f64>()) {
            assert!((a - w).abs() < 1e-12 * (1.0 + w.abs()), "{a} vs {w}");
        }
        let f = |t: &[Tensor]| conv2d_nhwc(&t[0], &t[1], Some(&t[2]), args, fused);
        crate::ops::conv::gradcheck_first_two_images(&f, &x, k, b);
    }

    #[test]
    fn plain_layers_match_channels_first() {
        agrees_with_channels_first(Conv2dArgs::default(), Fused::Identity);
    }

    #[test]
    fn padded_strided_dilated_layers_match_channels_first() {
        let args = Conv2dArgs {
            stride: (2, 1),
            padding: (1, 2),
            dilation: (1, 2),
            groups: 1,
        };
        agrees_with_channels_first(args, Fused::Identity);
    }

    /// Stride 1 without padding reads the input in place, also with rows dilated, a fused ReLU
    /// and a single input channel; with columns dilated it unfolds.
    #[test]
    fn valid_stride_1_layers_match_channels_first() {
        for dilation in [(2, 1), (1, 2)] {
            let args = Conv2dArgs {
                dilation,
                ..Conv2dArgs::default()
            };
            agrees_with_channels_first(args, Fused::Relu);
            agrees_with_channels_first(args, Fused::Identity);
            agrees_with_channels_first_on(args, Fused::Relu, 1);
        }
    }

    #[test]
    fn fused_relu_matches_relu_after_the_convolution() {
        let args = Conv2dArgs {
            padding: (1, 1),
            ..Conv2dArgs::default()
        };
        agrees_with_channels_first(args, Fused::Relu);
    }

    /// Many images per block and more than one block per thread: the bias gradient and the
    /// weight gradient sum over all of them.
    #[test]
    fn gradients_sum_over_blocks_and_threads() {
        crate::manual_seed(3);
        let x = crate::randn(&[37, 5, 5, 2]).to_dtype(DType::Float64);
        let k = crate::randn(&[2, 2, 2, 3])
            .to_dtype(DType::Float64)
            .requires_grad_(true);
        let b = crate::zeros(&[3], DType::Float64).requires_grad_(true);
        conv2d_nhwc(&x, &k, Some(&b), Conv2dArgs::default(), Fused::Identity)
            .sum()
            .backward();
        // d(sum)/db = number of output positions; d(sum)/dk[i,j,c,o] = sum of the inputs the
        // tap sees, the same for every o.
        let db = b.grad().unwrap().to_vec::<f64>();
        assert!(db.iter().all(|&v| v == (37 * 4 * 4) as f64), "{db:?}");
        let dk = k.grad().unwrap();
        let tap = x
            .narrow(1, 0, 4)
            .narrow(2, 1, 4)
            .narrow(3, 1, 1)
            .sum()
            .item::<f64>();
        let (i, j, c) = (0, 1, 1); // kernel [2, 2, 2, 3], output channel 0
        let got = dk.to_vec::<f64>()[((i * 2 + j) * 2 + c) * 3];
        assert!(
            (got - tap).abs() < 1e-9 * (1.0 + tap.abs()),
            "{got} vs {tap}"
        );
    }

    /// A batch cut into several parts per thread, the last one short, each thread reusing its
    /// buffers from part to part: every image's output and input gradient are what the image
    /// gives alone, and the weight gradient is the sum of the images' own, in both layouts,
    /// unfolded (padding) and read in place (none), with the ReLU fused.
    #[test]
    fn parts_give_each_image_what_it_gives_alone() {
        crate::manual_seed(5);
        let n = 13;
        let x = crate::randn(&[n, 6, 5, 3]).to_dtype(DType::Float64);
        let k = crate::randn(&[3, 3, 3, 4]).to_dtype(DType::Float64);
        for padding in [(0, 0), (1, 1)] {
            let args = Conv2dArgs {
                padding,
                ..Conv2dArgs::default()
            };
            for channels_last in [true, false] {
                // (output, input gradient, weight gradient) of `(y * y).sum()`.
                let run = |x: &Tensor| {
                    let (x, k) = (
                        x.detach().requires_grad_(true),
                        k.detach().requires_grad_(true),
                    );
                    let y = if channels_last {
                        conv2d_nhwc(&x, &k, None, args, Fused::Relu)
                    } else {
                        let w = k.permute(&[3, 2, 0, 1]);
                        conv2d(&x.permute(&[0, 3, 1, 2]), &w, None, args).relu()
                    };
                    (&y * &y).sum().backward();
                    let grad = |t: &Tensor| t.grad().unwrap().to_vec::<f64>();
                    (y.to_vec::<f64>(), grad(&x), grad(&k))
                };
                let (y, dx, dk) = run(&x);
                let (mut y1, mut dx1, mut dk1) = (Vec::new(), Vec::new(), vec![0.0; dk.len()]);
                for i in 0..n {
                    let (y, dx, dk) = run(&x.narrow(0, i, 1));
                    y1.extend(y);
                    dx1.extend(dx);
                    dk1.iter_mut().zip(dk).for_each(|(a, b)| *a += b);
                }
                let close = |a: &[f64], b: &[f64], tol: f64| {
                    assert_eq!(a.len(), b.len());
                    for (u, v) in a.iter().zip(b) {
                        assert!((u - v).abs() <= tol * (1.0 + v.abs()), "{u} vs {v}");
                    }
                };
                close(&y, &y1, 1e-12);
                close(&dx, &dx1, 1e-12);
                close(&dk, &dk1, 1e-10);
            }
        }
    }
}
