//! Matrix products through the `gemm` crate: batched, broadcast, transposes read through
//! strides, and the output columns split across threads.

use crate::autograd::{attach, should_record, Saved};
use crate::dtype::{DType, Float};
use crate::kernels::elementwise::gather_rows;
use crate::kernels::gemm::{gemm_into, gemm_new, MatRef, Threads};
use crate::ops::unary::relu_backward;
use crate::shape::{broadcast_shapes, numel};
use crate::tensor::Tensor;

/// The matrix of `t`'s last two dimensions that starts at `offset` of its buffer `data`.
fn matrix<'a, T>(t: &Tensor, data: &'a [T], offset: usize) -> MatRef<'a, T> {
    let (shape, strides, nd) = (t.shape(), t.strides(), t.ndim());
    MatRef::new(
        &data[offset..],
        (shape[nd - 2], shape[nd - 1]),
        (strides[nd - 2], strides[nd - 1]),
    )
}

fn matmul_kernel<T: Float>(
    a: &Tensor,
    b: &Tensor,
    batch: &[usize],
    (m, n): (usize, usize),
) -> Tensor {
    let ga = a.0.storage.data.read_recursive();
    let gb = b.0.storage.data.read_recursive();
    let (xa, xb) = (T::slice(&ga).expect("dtype"), T::slice(&gb).expect("dtype"));
    let (na, nb) = (a.ndim(), b.ndim());
    let a_batch =
        crate::shape::broadcast_strides(&a.shape()[..na - 2], &a.strides()[..na - 2], batch);
    let b_batch =
        crate::shape::broadcast_strides(&b.shape()[..nb - 2], &b.strides()[..nb - 2], batch);
    // The storage offset of batch `bi` (row-major over `batch`) in an operand.
    let offset = |mut bi: usize, base: usize, strides: &[usize]| {
        let mut off = base;
        for d in (0..batch.len()).rev() {
            off += (bi % batch[d]) * strides[d];
            bi /= batch[d];
        }
        off
    };
    let out = gemm_new(
        numel(batch),
        (m, n),
        |bi| {
            let oa = offset(bi, a.storage_offset(), &a_batch);
            let ob = offset(bi, b.storage_offset(), &b_batch);
            (matrix(a, xa, oa), matrix(b, xb, ob))
        },
        Threads::Pool,
    );
    let mut shape = batch.to_vec();
    shape.extend([m, n]);
    Tensor::from_vec(out, &shape)
}

/// `init + mat1 · mat2` for matrices, `init` broadcast to `[m, n]` (checked by the caller):
/// `init`'s rows are written out and the product accumulated onto them.
fn addmm_kernel<T: Float>(init: &Tensor, mat1: &Tensor, mat2: &Tensor, relu: bool) -> Tensor {
    let (m, n) = (mat1.shape()[0], mat2.shape()[1]);
    let mut out: Vec<T> = if init.numel() == n && init.is_contiguous() {
        // One row (a bias), repeated.
        init.with_slice::<T, _>(|row| gather_rows(row, &vec![0; m], n))
    } else {
        init.broadcast_to(&[m, n]).to_vec::<T>()
    };
    let ga = mat1.0.storage.data.read_recursive();
    let gb = mat2.0.storage.data.read_recursive();
    let (xa, xb) = (T::slice(&ga).expect("dtype"), T::slice(&gb).expect("dtype"));
    gemm_into(
        &mut out,
        n,
        true,
        matrix(mat1, xa, mat1.storage_offset()),
        matrix(mat2, xb, mat2.storage_offset()),
        Threads::Pool,
    );
    if relu {
        crate::kernels::elementwise::relu_in_place(&mut out);
    }
    Tensor::from_vec(out, &[m, n])
}

/// The gradients of `a @ b` for the incoming gradient `g`, those asked for by `need`.
fn product_grads(a: &Tensor, b: &Tensor, g: &Tensor, need: [bool; 2]) -> [Option<Tensor>; 2] {
    // A gradient is produced in the memory order of its input, so that the gradient of a
    // transposed weight (`x @ W.t()`) arrives at `W` contiguous, with no copy.
    let col_major = |t: &Tensor| t.ndim() == 2 && t.strides()[0] == 1 && t.strides()[1] != 1;
    let plain = a.ndim() == 2 && b.ndim() == 2 && g.ndim() == 2;
    [
        need[0].then(|| {
            if plain && col_major(a) {
                b.matmul(&g.t()).t()
            } else {
                g.matmul(&b.transpose(-1, -2)).sum_to_shape(a.shape())
            }
        }),
        need[1].then(|| {
            if plain && col_major(b) {
                g.t().matmul(a).t()
            } else {
                a.transpose(-1, -2).matmul(g).sum_to_shape(b.shape())
            }
        }),
    ]
}

impl Tensor {
    /// Matrix product with NumPy's rules (`torch.matmul`, `tf.matmul`, `@`): 1-D operands are
    /// promoted to matrices and the batch dimensions broadcast.
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        let (a, b) = (self, other);
        assert!(
            a.ndim() > 0 && b.ndim() > 0,
            "matmul: both arguments need at least 1 dimension, got {}D and {}D",
            a.ndim(),
            b.ndim()
        );
        if a.ndim() == 1 && b.ndim() == 1 {
            return a.dot(b);
        }
        if a.ndim() == 1 {
            return a.unsqueeze(0).matmul(b).squeeze(Some(-2));
        }
        if b.ndim() == 1 {
            return a.matmul(&b.unsqueeze(1)).squeeze(Some(-1));
        }
        let dt = DType::promote(a.dtype(), b.dtype());
        assert!(
            dt.is_float(),
            "matmul: expected floating point tensors, got {} and {}",
            a.dtype(),
            b.dtype()
        );
        assert!(
            a.dtype() == b.dtype(),
            "matmul: expected both operands to have the same dtype, but got {} and {}",
            a.dtype(),
            b.dtype()
        );
        let (m, k) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
        let (k2, n) = (b.shape()[b.ndim() - 2], b.shape()[b.ndim() - 1]);
        assert_eq!(k, k2, "matmul: mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{}; shapes {:?} and {:?})", m, k, k2, n, a.shape(), b.shape());
        let batch = broadcast_shapes(&a.shape()[..a.ndim() - 2], &b.shape()[..b.ndim() - 2])
            .unwrap_or_else(|| {
                panic!(
                    "matmul: batch dimensions of {:?} and {:?} do not broadcast",
                    a.shape(),
                    b.shape()
                )
            });
        let out = match dt {
            DType::Float32 => matmul_kernel::<f32>(a, b, &batch, (m, n)),
            _ => matmul_kernel::<f64>(a, b, &batch, (m, n)),
        };
        if !should_record(&[a, b]) {
            return out;
        }
        let (sa, sb) = (Saved::new(a), Saved::new(b));
        attach(out, "MmBackward0", &[a, b], move |g, need| {
            product_grads(sa.get(), sb.get(), g, [need[0], need[1]]).to_vec()
        })
    }

    /// `beta * self + alpha * (mat1 @ mat2)` for matrices `mat1` and `mat2`, `self` broadcast
    /// to the product's shape (`torch.addmm`; `F.linear` with a bias is `bias.addmm(x, W.t())`).
    /// With `alpha == 1` the product is accumulated onto the broadcast `self` as it is
    /// computed, with no separate sum; with `beta == 0` `self` is ignored, NaNs included.
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let bias = Tensor::from_vec(vec![10.0f32, 20.0], &[2]);
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let w = Tensor::from_vec(vec![1.0f32, 0.0, 1.0, 1.0], &[2, 2]);
    /// assert_eq!(bias.addmm(&x, &w.t(), 1.0, 1.0).to_vec::<f32>(), [11.0, 23.0, 13.0, 27.0]);
    /// assert_eq!(bias.addmm(&x, &w.t(), 0.5, 2.0).to_vec::<f32>(), [7.0, 16.0, 11.0, 24.0]);
    /// ```
    pub fn addmm(&self, mat1: &Tensor, mat2: &Tensor, beta: f64, alpha: f64) -> Tensor {
        self.addmm_impl(mat1, mat2, beta, alpha, false)
    }

    /// `relu(self + mat1 @ mat2)` as one op: the ReLU runs on the product's output while it is
    /// still in cache, and the backward masks the incoming gradient once for all three
    /// gradients. `nn.Sequential` runs a `Linear` followed by a `ReLU` this way (PyTorch's
    /// internal `_addmm_activation`). NaN passes through the ReLU, as in `torch.relu`.
    ///
    /// ```
    /// use tandem_core::Tensor;
    /// let bias = Tensor::from_vec(vec![-5.0f32, 1.0], &[2]);
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// let w = Tensor::from_vec(vec![1.0f32, 0.0, 1.0, 1.0], &[2, 2]);
    /// let y = bias.addmm_relu(&x, &w.t());
    /// assert_eq!(y.to_vec::<f32>(), [0.0, 4.0, 0.0, 8.0]);
    /// assert_eq!(y.to_vec::<f32>(), bias.addmm(&x, &w.t(), 1.0, 1.0).relu().to_vec::<f32>());
    /// ```
    pub fn addmm_relu(&self, mat1: &Tensor, mat2: &Tensor) -> Tensor {
        self.addmm_impl(mat1, mat2, 1.0, 1.0, true)
    }

    fn addmm_impl(
        &self,
        mat1: &Tensor,
        mat2: &Tensor,
        beta: f64,
        alpha: f64,
        relu: bool,
    ) -> Tensor {
        assert!(
            mat1.ndim() == 2 && mat2.ndim() == 2,
            "addmm: mat1 and mat2 must be matrices, got {:?} and {:?}",
            mat1.shape(),
            mat2.shape()
        );
        let (m, n) = (mat1.shape()[0], mat2.shape()[1]);
        assert!(
            broadcast_shapes(self.shape(), &[m, n]).as_deref() == Some(&[m, n][..]),
            "addmm: the input of shape {:?} does not broadcast to the product's [{m}, {n}]",
            self.shape()
        );
        let fused = alpha == 1.0
            && beta != 0.0
            && self.dtype() == mat1.dtype()
            && mat1.dtype() == mat2.dtype()
            && self.dtype().is_float();
        if !fused {
            let prod = mat1.mm(mat2);
            let prod = if alpha == 1.0 { prod } else { &prod * alpha };
            let out = match beta {
                0.0 => prod,
                1.0 => self + &prod,
                _ => &(self * beta) + &prod,
            };
            return if relu { out.relu() } else { out };
        }
        let k = mat1.shape()[1];
        assert_eq!(
            k,
            mat2.shape()[0],
            "addmm: mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {}x{n})",
            mat2.shape()[0]
        );
        let out = crate::autograd::no_grad(|| {
            let init = if beta == 1.0 {
                self.clone()
            } else {
                self * beta
            };
            match self.dtype() {
                DType::Float32 => addmm_kernel::<f32>(&init, mat1, mat2, relu),
                _ => addmm_kernel::<f64>(&init, mat1, mat2, relu),
            }
        });
        if !should_record(&[self, mat1, mat2]) {
            return out;
        }
        let (sa, sb) = (Saved::new(mat1), Saved::new(mat2));
        let ys = relu.then(|| Saved::output(&out));
        let shape = self.shape().to_vec();
        let name = if relu {
            "AddmmReluBackward"
        } else {
            "AddmmBackward0"
        };
        let traced = attach(out, name, &[self, mat1, mat2], move |g, need| {
            let masked = ys.as_ref().map(|y| relu_backward(g, y.get()));
            let g = masked.as_ref().unwrap_or(g);
            let input = need[0].then(|| {
                let gi = g.sum_to_shape(&shape);
                if beta == 1.0 {
                    gi
                } else {
                    &gi * beta
                }
            });
            let [g1, g2] = product_grads(sa.get(), sb.get(), g, [need[1], need[2]]);
            vec![input, g1, g2]
        });
        crate::autograd::trace::set_attrs(&traced, || {
            vec![("beta", crate::autograd::trace::Attr::Float(beta))]
        });
        traced
    }

    /// Product of two matrices (`torch.mm`).
    pub fn mm(&self, other: &Tensor) -> Tensor {
        assert!(
            self.ndim() == 2 && other.ndim() == 2,
            "mm: expected 2-D tensors, got {:?} and {:?}",
            self.shape(),
            other.shape()
        );
        self.matmul(other)
    }

    /// Batched product of `[b, n, m]` and `[b, m, p]` (`torch.bmm`).
    pub fn bmm(&self, other: &Tensor) -> Tensor {
        assert!(
            self.ndim() == 3 && other.ndim() == 3,
            "bmm: expected 3-D tensors, got {:?} and {:?}",
            self.shape(),
            other.shape()
        );
        assert_eq!(self.shape()[0], other.shape()[0], "bmm: batch sizes differ");
        self.matmul(other)
    }

    /// Inner product of two 1-D tensors (`torch.dot`).
    pub fn dot(&self, other: &Tensor) -> Tensor {
        assert!(
            self.ndim() == 1 && other.ndim() == 1,
            "dot: 1D tensors expected, but got {}D and {}D tensors",
            self.ndim(),
            other.ndim()
        );
        assert_eq!(self.numel(), other.numel(), "dot: inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements", self.numel(), other.numel());
        (self * other).sum()
    }

    /// Outer product of two 1-D tensors (`torch.outer`).
    pub fn outer(&self, other: &Tensor) -> Tensor {
        self.unsqueeze(1) * other.unsqueeze(0)
    }
}
