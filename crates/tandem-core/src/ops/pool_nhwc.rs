//! Max pooling over channels-last tensors (`[N, H, W, C]`), as Keras's `MaxPooling2D` lays
//! them out: each window compares whole runs of `C` contiguous channels at once.

use super::dispatch::dispatch_float;
use super::pool::{out_size, Pool2dArgs};
use crate::autograd::{attach, should_record};
use crate::kernels::elementwise::zeroed_pair;
use crate::kernels::pool::{max_image, route_to_winners, Frame};
use crate::tensor::Tensor;

/// `MaxPooling2D(pool_size, strides)` on `[N, H, W, C]`: `tf.nn.max_pool2d` with
/// `padding="VALID"` (and PyTorch's rules when `args` pads or rounds up).
///
/// ```
/// use tandem_core::ops::pool::Pool2dArgs;
/// use tandem_core::ops::pool_nhwc::max_pool2d_nhwc;
/// use tandem_core::Tensor;
/// // one 2x2 image with two channels: channel 0 holds 1..4, channel 1 holds 8..5
/// let x = Tensor::new([1.0f32, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0]).reshape(&[1, 2, 2, 2]);
/// let y = max_pool2d_nhwc(&x, Pool2dArgs::new(2));
/// assert_eq!(y.shape(), &[1, 1, 1, 2]);
/// assert_eq!(y.to_vec::<f32>(), vec![4.0, 8.0]);
/// ```
pub fn max_pool2d_nhwc(x: &Tensor, args: Pool2dArgs) -> Tensor {
    assert!(
        x.ndim() == 4,
        "max_pool2d_nhwc: expected a 4-D input [N, H, W, C], got {:?}",
        x.shape()
    );
    let s = x.shape();
    let op = "max_pool2d_nhwc";
    let f = Frame {
        n: s[0],
        h: s[1],
        w: s[2],
        c: s[3],
        oh: out_size(
            s[1],
            args.kernel.0,
            args.stride.0,
            args.padding.0,
            args.ceil_mode,
            op,
        ),
        ow: out_size(
            s[2],
            args.kernel.1,
            args.stride.1,
            args.padding.1,
            args.ceil_mode,
            op,
        ),
    };
    assert!(
        f.h * f.w * f.c <= u32::MAX as usize,
        "{op}: an image of {} elements is too large",
        f.h * f.w * f.c
    );
    let (in_size, out_size) = f.sizes();
    let xc = x.contiguous();
    let per_part = crate::kernels::units_per_part(f.n);
    let (out, idx) = dispatch_float!(x.dtype(), op, T => {
        let (out, idx) = xc.with_slice::<T, _>(|xs| {
            zeroed_pair(f.n * out_size, (per_part * out_size).max(1), |part, o: &mut [T], ix: &mut [u32]| {
                for (j, (o, ix)) in o.chunks_mut(out_size).zip(ix.chunks_mut(out_size)).enumerate() {
                    let img = part * per_part + j;
                    let img = &xs[img * in_size..][..in_size];
                    max_image(img, &f, &args, o, ix);
                }
            })
        });
        (Tensor::from_vec(out, &[f.n, f.oh, f.ow, f.c]), idx)
    });
    if !should_record(&[x]) {
        return out;
    }
    let in_shape = x.shape().to_vec();
    let traced = attach(out, "MaxPool2DWithIndicesBackward0", &[x], move |g, _| {
        let g = g.contiguous();
        let dx = dispatch_float!(g.dtype(), "max_pool2d_nhwc backward", T => g.with_slice::<T, _>(|gs| {
            let dx = route_to_winners(gs, &idx, in_size, out_size);
            Tensor::from_vec(dx, &in_shape)
        }));
        vec![Some(dx)]
    });
    crate::autograd::trace::set_attrs(&traced, || args.trace_attrs("nhwc"));
    traced
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::pool::max_pool2d;
    use crate::DType;

    /// Equal to the channels-first pool on permuted input, forward and backward, for the
    /// common 2x2 window and an overlapping 3x3 window with stride 2 and padding.
    #[test]
    fn matches_the_channels_first_pool() {
        crate::manual_seed(2);
        for args in [
            Pool2dArgs::new(2),
            Pool2dArgs {
                kernel: (3, 3),
                stride: (2, 2),
                padding: (1, 1),
                ceil_mode: false,
            },
        ] {
            let x = crate::randn(&[3, 7, 6, 5])
                .to_dtype(DType::Float64)
                .requires_grad_(true);
            let got = max_pool2d_nhwc(&x, args);
            let want = max_pool2d(&x.permute(&[0, 3, 1, 2]), args).permute(&[0, 2, 3, 1]);
            assert_eq!(got.shape(), want.shape());
            assert_eq!(got.to_vec::<f64>(), want.contiguous().to_vec::<f64>());
            let w = crate::randn(got.shape()).to_dtype(DType::Float64);
            let g1 = crate::autograd::grad(&(&got * &w).sum(), &[&x]).remove(0);
            let g2 = crate::autograd::grad(&(&want * &w).sum(), &[&x]).remove(0);
            assert_eq!(g1.to_vec::<f64>(), g2.to_vec::<f64>());
        }
    }
}
