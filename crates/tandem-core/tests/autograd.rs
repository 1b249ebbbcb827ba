//! Autograd semantics in both idioms: PyTorch's backward/grad and TensorFlow's GradientTape.

mod common;

use tandem_core::autograd::{self, GradientTape, UnconnectedGradients};
use tandem_core::Tensor;

fn close(a: f32, b: f64, tol: f64) -> bool {
    ((a as f64) - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn backward_accumulates_into_leaves_and_zero_grad_clears() {
    let w = Tensor::new([1.0, 2.0]).requires_grad_(true);
    assert!(w.is_leaf());
    let y = (&w * &w).sum();
    assert_eq!(y.grad_fn_name(), Some("SumBackward0"));
    assert!(!y.is_leaf());
    y.backward();
    assert_eq!(w.grad().unwrap().to_vec::<f32>(), vec![2.0, 4.0]);
    (&w * 3.0).sum().backward();
    assert_eq!(w.grad().unwrap().to_vec::<f32>(), vec![5.0, 7.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
}

#[test]
fn backward_of_non_scalar_needs_a_gradient_and_retain_grad_keeps_intermediates() {
    let x = Tensor::new([1.0, 2.0, 3.0]).requires_grad_(true);
    let h = &x * 2.0;
    h.retain_grad();
    let y = h.square();
    y.backward_with(Some(&Tensor::new([1.0, 0.0, 1.0])), false, false);
    assert_eq!(h.grad().unwrap().to_vec::<f32>(), vec![4.0, 0.0, 12.0]);
    assert_eq!(x.grad().unwrap().to_vec::<f32>(), vec![8.0, 0.0, 24.0]);
}

#[test]
#[should_panic(expected = "grad can be implicitly created only for scalar outputs")]
fn backward_of_non_scalar_without_gradient_panics() {
    let x = Tensor::new([1.0, 2.0]).requires_grad_(true);
    (&x * 2.0).backward();
}

#[test]
#[should_panic(expected = "Trying to backward through the graph a second time")]
fn second_backward_without_retain_graph_panics() {
    let x = Tensor::new(2.0).requires_grad_(true);
    let y = x.exp() * 3.0;
    y.backward();
    y.backward();
}

#[test]
fn retain_graph_allows_a_second_backward() {
    let x = Tensor::new(2.0).requires_grad_(true);
    let y = &x * &x;
    y.backward_with(None, true, false);
    y.backward();
    assert_eq!(x.grad().unwrap().item::<f32>(), 8.0);
}

#[test]
#[should_panic(expected = "modified by an inplace operation")]
fn modifying_a_saved_tensor_is_caught_by_the_version_counter() {
    let w = Tensor::new([1.0, 2.0]).requires_grad_(true);
    let y = (&w * &w).sum();
    autograd::no_grad(|| {
        w.sub_(1.0);
    });
    y.backward();
}

#[test]
#[should_panic(
    expected = "a leaf Variable that requires grad is being used in an in-place operation"
)]
fn in_place_update_of_a_leaf_outside_no_grad_panics() {
    let mut w = Tensor::new(1.0).requires_grad_(true);
    w -= 0.1;
}

#[test]
fn no_grad_and_enable_grad() {
    let w = Tensor::new(2.0).requires_grad_(true);
    let y = autograd::no_grad(|| &w * 3.0);
    assert!(!y.requires_grad());
    let z = autograd::no_grad(|| autograd::enable_grad(|| &w * 3.0));
    assert!(z.requires_grad());
    let d = (&w * 3.0).detach();
    assert!(!d.requires_grad() && d.is_leaf());
}

#[test]
fn autograd_grad_leaves_dot_grad_untouched_and_higher_order_works() {
    let x = Tensor::new(1.5).requires_grad_(true);
    let y = x.pow(3);
    let g = autograd::grad_with(
        &y,
        &[&x],
        None,
        autograd::GradOptions {
            create_graph: true,
            ..Default::default()
        },
    );
    let g = g[0].clone().unwrap();
    assert!((g.item::<f32>() - 3.0 * 2.25).abs() < 1e-5);
    let g2 = autograd::grad(&g, &[&x]);
    assert!((g2[0].item::<f32>() - 9.0).abs() < 1e-5);
    assert!(x.grad().is_none());
}

#[test]
#[should_panic(expected = "appears to not have been used in the graph")]
fn unused_input_panics_unless_allowed() {
    let a = Tensor::new(1.0).requires_grad_(true);
    let b = Tensor::new(1.0).requires_grad_(true);
    let y = &a * 2.0;
    let g = autograd::grad_with(
        &y,
        &[&a, &b],
        None,
        autograd::GradOptions {
            allow_unused: true,
            retain_graph: Some(true),
            ..Default::default()
        },
    );
    assert!(g[1].is_none());
    autograd::grad(&y, &[&a, &b]);
}

#[test]
fn tape_watches_variables_but_not_constants_unless_asked() {
    let w = Tensor::variable(3.0);
    let c = Tensor::new(2.0);
    let tape = GradientTape::persistent();
    let y = &w * &c;
    let g = tape.gradient(&y, &[&w, &c]);
    assert_eq!(g[0].as_ref().unwrap().item::<f32>(), 2.0);
    assert!(g[1].is_none(), "constants are not watched");
    let z = tape.gradient_with(&y, &[&c], UnconnectedGradients::Zero);
    assert_eq!(z[0].as_ref().unwrap().item::<f32>(), 0.0);
    drop(tape);

    let tape = GradientTape::new();
    tape.watch(&c);
    let y = &c * &c;
    assert_eq!(
        tape.gradient(&y, &[&c])[0].as_ref().unwrap().item::<f32>(),
        4.0
    );
}

#[test]
fn operations_outside_any_tape_record_nothing_for_variables() {
    let w = Tensor::variable(3.0);
    let y = &w * 2.0;
    assert!(!y.requires_grad());
    let tape = GradientTape::new();
    let z = &w * 2.0;
    assert!(z.requires_grad());
    let _ = tape.gradient(&z, &[&w]);
}

#[test]
#[should_panic(
    expected = "A non-persistent GradientTape can only be used to compute one set of gradients"
)]
fn non_persistent_tape_refuses_a_second_gradient() {
    let w = Tensor::variable(3.0);
    let tape = GradientTape::new();
    let y = &w * &w;
    let _ = tape.gradient(&y, &[&w]);
    let _ = tape.gradient(&y, &[&w]);
}

#[test]
fn nested_tapes_give_second_derivatives() {
    let x = Tensor::variable(2.0);
    let outer = GradientTape::new();
    let inner = GradientTape::new();
    let y = &x * &x * &x;
    let dy = inner.gradient(&y, &[&x])[0].clone().unwrap();
    drop(inner);
    let d2y = outer.gradient(&dy, &[&x])[0].clone().unwrap();
    assert_eq!(dy.item::<f32>(), 12.0);
    assert_eq!(d2y.item::<f32>(), 12.0);
}

#[test]
fn stop_recording_and_stop_gradient() {
    let w = Tensor::variable(3.0);
    let tape = GradientTape::persistent();
    let a = tape.stop_recording(|| &w * 2.0);
    assert!(!a.requires_grad());
    let y = &w * &w.detach();
    assert_eq!(
        tape.gradient(&y, &[&w])[0].as_ref().unwrap().item::<f32>(),
        3.0
    );
}

#[test]
fn seed_linear_regression_matches_pytorch_in_both_idioms() {
    let golden = common::load("seed_linreg.json");
    let steps = golden["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 100);
    for (name, run) in [
        ("torch", common::seed_torch(100)),
        ("tf", common::seed_tf(100)),
    ] {
        for (i, (s, (cost, w, b))) in steps.iter().zip(&run).enumerate() {
            for (what, got, want) in [
                ("cost", *cost, &s["cost"]),
                ("W", *w, &s["W"]),
                ("b", *b, &s["b"]),
            ] {
                let want = want.as_f64().unwrap();
                assert!(
                    close(got, want, 1e-5),
                    "{name} step {i} {what}: {got} vs PyTorch {want}"
                );
            }
        }
    }
}

/// A post-accumulate hook runs as soon as its leaf's gradient is complete (summed over every
/// use), before leaves deeper in the graph have theirs.
#[test]
fn post_accumulate_hook_runs_when_the_leaf_is_done() {
    use std::sync::{Arc, Mutex};
    let deep = Tensor::new([1.0f32, 2.0]).requires_grad_(true);
    let near = Tensor::new([3.0f32, 4.0]).requires_grad_(true);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (log, deep_then) = (seen.clone(), deep.clone());
    let _h = near.register_post_accumulate_grad_hook(move |t| {
        // `near` is used twice; both uses are in its gradient. `deep` has none yet.
        log.lock().unwrap().push((
            t.grad().unwrap().to_vec::<f32>(),
            deep_then.grad().is_none(),
        ));
    });
    let h = (&deep * 2.0).exp();
    let y = (&h * &near + &near * 10.0).sum();
    y.backward();
    let e2 = (2.0f32).exp();
    let e4 = (4.0f32).exp();
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let near_grad = &got[0].0;
    assert!(
        close(near_grad[0], (e2 + 10.0) as f64, 1e-6),
        "{near_grad:?}"
    );
    assert!(
        close(near_grad[1], (e4 + 10.0) as f64, 1e-6),
        "{near_grad:?}"
    );
    assert!(
        got[0].1,
        "the deeper leaf was accumulated before the hook ran"
    );
    let deep_grad = deep.grad().unwrap().to_vec::<f32>();
    assert!(
        close(deep_grad[0], (6.0 * e2) as f64, 1e-6),
        "{deep_grad:?}"
    );
    assert!(
        close(deep_grad[1], (8.0 * e4) as f64, 1e-6),
        "{deep_grad:?}"
    );
}

#[test]
fn long_split_gradients_are_placed_and_added_over_the_pool() {
    // The shape of a Transformer's `qkv.split(c, 2)`: each piece is a set of rows 64 long,
    // 192 apart, and long enough (6 * 96 * 64 elements each) to be split over the pool.
    let (b, t, c) = (6, 96, 64);
    let n = b * t * 3 * c;
    let x = Tensor::from_vec((0..n).map(|i| (i % 7) as f32).collect(), &[b, t, 3 * c])
        .requires_grad_(true);
    let h = &x * 1.0;
    let parts = h.split(c, 2);
    // Weights differ per piece and per element; the middle piece is used twice, so its
    // second gradient is added into the region the first one filled.
    let w = |k: usize| {
        Tensor::from_vec(
            (0..b * t * c)
                .map(|i| (i % 13) as f32 + k as f32 * 100.0)
                .collect(),
            &[b, t, c],
        )
    };
    let loss = (&parts[0] * &w(1)).sum()
        + (&parts[1] * &w(2)).sum()
        + (&parts[2] * &w(3)).sum()
        + (&parts[1] * 0.5).sum();
    let g = autograd::grad(&loss, &[&x])[0].to_vec::<f32>();
    assert_eq!(g.len(), n);
    for (i, &got) in g.iter().enumerate() {
        let (row, col) = (i / (3 * c), i % (3 * c));
        let (piece, j) = (col / c, col % c);
        let mut want = ((row * c + j) % 13) as f32 + (piece + 1) as f32 * 100.0;
        if piece == 1 {
            want += 0.5;
        }
        assert_eq!(
            got, want,
            "element {i} (row {row}, piece {piece}, column {j})"
        );
    }
}

#[test]
fn split_gradients_land_in_their_regions_and_shared_gradients_are_not_overwritten() {
    // s = x + w sends one gradient to both x and w; the three pieces of s each add theirs into
    // their own region of s's gradient, and x gets a second contribution of its own.
    let x = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).requires_grad_(true);
    let w = Tensor::new([0.5; 6]).requires_grad_(true);
    let s = &x + &w;
    let parts = s.split(2, 0);
    let loss = parts[0].sum() + &parts[1].sum() * 2.0 + &parts[2].sum() * 3.0 + (&x * 5.0).sum();
    loss.backward();
    assert_eq!(
        w.grad().unwrap().to_vec::<f32>(),
        vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    );
    assert_eq!(
        x.grad().unwrap().to_vec::<f32>(),
        vec![6.0, 6.0, 7.0, 7.0, 8.0, 8.0]
    );
    // A strided slice (every other element) and an overlapping one add up where they meet.
    let y = Tensor::new([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]).requires_grad_(true);
    let h = &y * 1.0;
    let every_other = h.slice(1, 0, 4, 2);
    let last_two = h.narrow(1, 2, 2);
    let loss = (&every_other * 10.0).sum() + last_two.sum();
    let g = autograd::grad(&loss, &[&y]);
    assert_eq!(
        g[0].to_vec::<f32>(),
        vec![10.0, 0.0, 11.0, 1.0, 10.0, 0.0, 11.0, 1.0]
    );
}

#[test]
fn a_leaf_named_twice_among_the_inputs_gets_its_gradient_at_both_places() {
    // d(w³ + 2w)/dw = 3w² + 2 = 14 at w = 2, for each time w is named.
    let w = Tensor::new(2.0).requires_grad_(true);
    let y = &(&w * &w) * &w + &w * 2.0;
    let g = autograd::grad(&y, &[&w, &w]);
    assert_eq!(g.len(), 2);
    assert_eq!(g[0].item::<f32>(), 14.0);
    assert_eq!(g[1].item::<f32>(), 14.0);
    assert!(w.grad().is_none(), "autograd::grad does not touch .grad");
}
