//! SGD's momentum buffer, checked against `torch.optim.SGD`'s rule evaluated by hand: the
//! buffer starts as the gradient itself (dampening does not apply on that first step), then
//! `buf = momentum · buf + (1 − dampening) · grad`; a buffer loaded from a state dict carries on.

use tandem_core::Tensor;
use tandem_nn::optim::{Optimizer, SgdConfig, SGD};

const CONFIG: SgdConfig = SgdConfig {
    lr: 0.1,
    momentum: 0.9,
    dampening: 0.5,
    weight_decay: 0.0,
    nesterov: false,
};

/// A parameter of `n` ones, its gradient set to `g` everywhere.
fn param(n: usize, g: f32) -> Tensor {
    let p = Tensor::from_vec(vec![1.0f32; n], &[n]).requires_grad_(true);
    p.set_grad(Some(Tensor::from_vec(vec![g; n], &[n])));
    p
}

fn assert_all(p: &Tensor, want: f64) {
    for v in p.to_vec::<f32>() {
        assert!((v as f64 - want).abs() < 1e-6, "{v} != {want}");
    }
}

#[test]
fn the_buffer_starts_as_the_gradient_then_dampens_and_survives_a_state_dict() {
    // One parameter small enough for one part of the update, one split over several.
    for n in [3, 100_000] {
        let p = param(n, 2.0);
        let mut opt = SGD::with_config(vec![p.clone()], CONFIG);
        opt.step();
        // buf = 2 (undampened), p = 1 - 0.1 * 2
        assert_all(&p, 0.8);
        opt.step();
        // buf = 0.9 * 2 + 0.5 * 2 = 2.8, p = 0.8 - 0.28
        assert_all(&p, 0.52);
        // A new optimizer given this one's state carries the buffer on rather than restarting,
        // also from a state without step counts, as PyTorch's SGD saves it:
        // buf = 0.9 * 2.8 + 0.5 * 2 = 3.52, p = 0.52 - 0.352.
        let state: Vec<(String, Tensor)> = opt
            .state_dict()
            .into_iter()
            .filter(|(k, _)| !k.ends_with(".step"))
            .collect();
        assert!(state.iter().any(|(k, _)| k.ends_with("momentum_buffer")));
        let mut resumed = SGD::with_config(vec![p.clone()], CONFIG);
        resumed.load_state_dict(&state).unwrap();
        resumed.step();
        assert_all(&p, 0.168);
    }
}
