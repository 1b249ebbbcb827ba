//! Gradient clipping (`torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`).

use tandem_core::Tensor;

/// Scales all gradients so that their joint L2 norm is at most `max_norm`; returns the norm
/// before clipping.
pub fn clip_grad_norm_(params: &[Tensor], max_norm: f64) -> f64 {
    let grads: Vec<Tensor> = params.iter().filter_map(Tensor::grad).collect();
    let total: f64 = grads
        .iter()
        .map(|g| g.to_vec::<f64>().iter().map(|v| v * v).sum::<f64>())
        .sum::<f64>()
        .sqrt();
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

/// Clamps every gradient element to `[-clip_value, clip_value]`.
pub fn clip_grad_value_(params: &[Tensor], clip_value: f64) {
    for p in params {
        if let Some(g) = p.grad() {
            p.set_grad(Some(g.clamp(Some(-clip_value), Some(clip_value))));
        }
    }
}
