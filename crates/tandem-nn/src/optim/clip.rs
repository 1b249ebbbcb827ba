//! Gradient clipping (`torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`).

use tandem_core::{DType, Tensor};

/// Scales all gradients so that their joint L2 norm is at most `max_norm`; returns the norm
/// before clipping.
pub fn clip_grad_norm_(params: &[Tensor], max_norm: f64) -> f64 {
    let grads: Vec<Tensor> = params.iter().filter_map(Tensor::grad).collect();
    let total = get_total_norm(&grads);
    let coef = max_norm / (total + 1e-6);
    if coef < 1.0 {
        for p in params {
            if let Some(g) = p.grad() {
                p.set_grad(Some(tandem_core::autograd::no_grad(|| &g * coef)));
            }
        }
    }
    total
}

/// The L2 norm of all elements of `tensors` together (`torch.nn.utils.get_total_norm`),
/// accumulated in f64 straight from each tensor's storage.
///
/// ```
/// use tandem_core::Tensor;
/// let t = [Tensor::from_vec(vec![3.0f32], &[1]), Tensor::from_vec(vec![4.0f32], &[1])];
/// assert_eq!(tandem_nn::optim::get_total_norm(&t), 5.0);
/// ```
pub fn get_total_norm(tensors: &[Tensor]) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Each tensor's sum, on whichever thread, added in order: the same result on any thread
    // count.
    let sums: Vec<AtomicU64> = tensors.iter().map(|_| 0.into()).collect();
    let each = |i: usize| sums[i].store(squared_norm(&tensors[i]).to_bits(), Ordering::Relaxed);
    if tensors.iter().map(Tensor::numel).sum::<usize>() < PAR_NORM {
        (0..tensors.len()).for_each(each);
    } else {
        tandem_core::parallel::run(tensors.len(), each);
    }
    sums.iter()
        .map(|s| f64::from_bits(s.load(Ordering::Relaxed)))
        .sum::<f64>()
        .sqrt()
}

/// Below this many elements in all, a norm is summed on the calling thread.
const PAR_NORM: usize = 1 << 16;

/// The sum of squares of a tensor's elements, in f64, read from its storage (no converted
/// copy).
fn squared_norm(g: &Tensor) -> f64 {
    match g.dtype() {
        DType::Float32 => g.with_slice::<f32, _>(|s| {
            tandem_core::vectorized(
                #[inline(always)]
                || {
                    s.chunks(8)
                        .map(|c| c.iter().map(|&v| v * v).sum::<f32>() as f64)
                        .sum()
                },
            )
        }),
        DType::Float64 => g.with_slice::<f64, _>(|s| s.iter().map(|v| v * v).sum()),
        _ => g.to_vec::<f64>().iter().map(|v| v * v).sum(),
    }
}

/// Clamps every gradient element to `[-clip_value, clip_value]`.
pub fn clip_grad_value_(params: &[Tensor], clip_value: f64) {
    for p in params {
        if let Some(g) = p.grad() {
            p.set_grad(Some(g.clamp(Some(-clip_value), Some(clip_value))));
        }
    }
}
