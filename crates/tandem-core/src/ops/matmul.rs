//! Matrix products through the `gemm` crate: batched, broadcast, transposes read through
//! strides, and the output columns split across threads.

use crate::autograd::{attach, should_record, Saved};
use crate::dtype::{DType, Element, Float};
use crate::shape::{broadcast_shapes, numel};
use crate::tensor::Tensor;
use gemm::Parallelism;

/// Products smaller than this many multiply-adds run on one thread.
const PAR_FLOPS: usize = 1 << 18;

/// `dst[m x n] = lhs[m x k] * rhs[k x n]`, operands given by element strides (row, column).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_strided<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: isize,
    lhs: *const T,
    lhs_rs: isize,
    lhs_cs: isize,
    rhs: *const T,
    rhs_rs: isize,
    rhs_cs: isize,
) {
    let threads = crate::parallel::num_threads();
    // Addresses travel between threads as integers; each thread writes disjoint columns.
    let (lhs_a, rhs_a, dst_a) = (lhs as usize, rhs as usize, dst as usize);
    let call = move |col: usize, n: usize| unsafe {
        let one: T = T::from_f64(1.0);
        let zero: T = T::from_f64(0.0);
        gemm::gemm(
            m,
            n,
            k,
            (dst_a as *mut T).add(col),
            1,
            dst_rs,
            false,
            lhs_a as *const T,
            lhs_cs,
            lhs_rs,
            (rhs_a as *const T).offset(col as isize * rhs_cs),
            rhs_cs,
            rhs_rs,
            zero,
            one,
            false,
            false,
            false,
            Parallelism::None,
        );
    };
    if threads < 2 || m * n * k < PAR_FLOPS || n < 16 {
        call(0, n);
        return;
    }
    // Split the output columns in `threads` parts (multiples of 8 wide) and run each part on
    // its own thread with a single-threaded kernel: this scales better than the crate's own
    // parallelism on the small shapes of training steps, and measured a few percent faster
    // on 1024^3 too.
    let parts = threads.min(n / 8).max(1);
    let width = n.div_ceil(parts).div_ceil(8) * 8;
    let parts = n.div_ceil(width);
    crate::parallel::run(parts, |p| {
        let start = p * width;
        call(start, width.min(n - start));
    });
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs`), row-major `dst` of `m x n`, on this thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    accumulate: bool,
    lhs: &[T],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[T],
    (rhs_rs, rhs_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::default());
        }
        return;
    }
    // SAFETY: the strides describe `m x k`, `k x n` and `m x n` matrices inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            T::from_f64(1.0),
            T::from_f64(1.0),
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

fn matmul_kernel<T: Element>(
    a: &Tensor,
    b: &Tensor,
    batch: &[usize],
    m: usize,
    k: usize,
    n: usize,
) -> Tensor {
    let total = numel(batch) * m * n;
    // gemm writes every output element (read_dst = false), so no zero-fill is needed unless
    // the product is empty (k == 0).
    let mut out: Vec<T> = if k == 0 {
        vec![T::default(); total]
    } else {
        crate::storage::result_vec(total)
    };
    let ga = a.0.storage.data.read_recursive();
    let gb = b.0.storage.data.read_recursive();
    let (xa, xb) = (T::slice(&ga).expect("dtype"), T::slice(&gb).expect("dtype"));
    let (na, nb) = (a.ndim(), b.ndim());
    let (a_rs, a_cs) = (a.strides()[na - 2] as isize, a.strides()[na - 1] as isize);
    let (b_rs, b_cs) = (b.strides()[nb - 2] as isize, b.strides()[nb - 1] as isize);
    let a_batch =
        crate::shape::broadcast_strides(&a.shape()[..na - 2], &a.strides()[..na - 2], batch);
    let b_batch =
        crate::shape::broadcast_strides(&b.shape()[..nb - 2], &b.strides()[..nb - 2], batch);
    let nbatch = numel(batch);
    let mut idx = vec![0usize; batch.len()];
    for bi in 0..nbatch {
        let oa: usize =
            a.storage_offset() + idx.iter().zip(&a_batch).map(|(i, s)| i * s).sum::<usize>();
        let ob: usize =
            b.storage_offset() + idx.iter().zip(&b_batch).map(|(i, s)| i * s).sum::<usize>();
        // SAFETY: within the allocation (capacity `total`); written before being read.
        let dst = unsafe { out.as_mut_ptr().add(bi * m * n) };
        if k == 0 {
            // empty product: zeros (already)
        } else {
            gemm_strided(
                m,
                n,
                k,
                dst,
                n as isize,
                xa[oa..].as_ptr(),
                a_rs,
                a_cs,
                xb[ob..].as_ptr(),
                b_rs,
                b_cs,
            );
        }
        for d in (0..batch.len()).rev() {
            idx[d] += 1;
            if idx[d] < batch[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    if k != 0 {
        // SAFETY: every batch's m x n block was written by gemm above.
        unsafe { out.set_len(total) };
    }
    let mut shape = batch.to_vec();
    shape.extend([m, n]);
    Tensor::from_vec(out, &shape)
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
            DType::Float32 => matmul_kernel::<f32>(a, b, &batch, m, k, n),
            _ => matmul_kernel::<f64>(a, b, &batch, m, k, n),
        };
        if !should_record(&[a, b]) {
            return out;
        }
        let (sa, sb) = (Saved::new(a), Saved::new(b));
        attach(out, "MmBackward0", &[a, b], move |g, need| {
            let (a, b) = (sa.get(), sb.get());
            // A gradient is produced in the memory order of its input, so that the gradient of
            // a transposed weight (`x @ W.t()`) arrives at `W` contiguous, with no copy.
            let col_major =
                |t: &Tensor| t.ndim() == 2 && t.strides()[0] == 1 && t.strides()[1] != 1;
            let plain = a.ndim() == 2 && b.ndim() == 2 && g.ndim() == 2;
            vec![
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
        })
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
