//! In-place ops on tensors with a history, as PyTorch records them: values and gradients of
//! ten programs against PyTorch's, and the version check that refuses a backward through a
//! value overwritten after it was saved.

use std::panic::{catch_unwind, AssertUnwindSafe};
use tandem_core::testing::{assert_close_json, load_json, tensor};
use tandem_core::Tensor;

struct Inputs {
    x: Tensor,
    w: Tensor,
    r: Tensor,
    mask: Tensor,
    idx: Tensor,
    w2: Tensor,
}

fn inputs(fx: &serde_json::Value) -> Inputs {
    let i = &fx["inputs"];
    let leaf = |k: &str| tensor(&i[k]).requires_grad_(true);
    Inputs {
        x: leaf("x"),
        w: leaf("w"),
        r: tensor(&i["r"]),
        mask: tensor(&i["mask"]),
        idx: tensor(&i["idx"]),
        w2: leaf("w2"),
    }
}

/// Each fixture program, line for line (`y` is what the fixture calls `out`).
fn run(name: &str, v: &Inputs) -> (Tensor, Tensor) {
    let Inputs {
        x,
        w,
        r,
        mask,
        idx,
        w2,
    } = v;
    match name {
        "add_scalar" => {
            let y = x * 2;
            y.add_(1);
            let loss = (&y * &y).sum();
            (y, loss)
        }
        "add_tensor" => {
            let y = x.sin();
            y.add_(w);
            let loss = (&y * &y).sum();
            (y, loss)
        }
        "mul_tensor" => {
            let y = x + 1;
            y.mul_(w);
            let loss = (&y * &y).sum();
            (y, loss)
        }
        "relu_" => {
            let y = x * 3 - 1;
            y.relu_();
            let loss = (&y * &y).sum();
            (y, loss)
        }
        "clamp_" => {
            let y = x * 2;
            y.clamp_(Some(-0.5), Some(0.5));
            let loss = (&y * w).sum();
            (y, loss)
        }
        "masked_fill_" => {
            let y = x * w;
            y.masked_fill_(mask, 0.0);
            let loss = (&y * r).sum();
            (y, loss)
        }
        "copy_" => {
            let y = x * 2;
            y.copy_(&(w * 3));
            let loss = (&y * &y).sum();
            (y, loss)
        }
        "index_copy_" => {
            let y = x * 2;
            y.index_copy_(0, idx, w2);
            let loss = (&y * r).sum();
            (y, loss)
        }
        "chain" => {
            let y = x * w;
            y.mul_(2).add_(x).relu_();
            let loss = (&y * &y).sum();
            (y, loss)
        }
        "sub_div" => {
            let y = x.sin();
            let z = &y * 2;
            y.sub_(0.5);
            y.div_(w);
            let loss = (&y * r).sum() + z.sum();
            (y, loss)
        }
        other => panic!("no program {other}"),
    }
}

#[test]
fn ten_in_place_programs_match_pytorch_values_and_gradients() {
    let fx = load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/inplace_goldens.json"
    ));
    let programs = fx["programs"].as_array().unwrap();
    assert_eq!(programs.len(), 10);
    for p in programs {
        let name = p["name"].as_str().unwrap();
        let v = inputs(&fx);
        let (y, loss) = run(name, &v);
        assert!(!y.is_leaf(), "{name}: the result keeps a history");
        assert_close_json(&format!("{name} out"), &y, &p["out"], 1e-5);
        let want = p["loss"].as_f64().unwrap();
        assert!(
            (loss.item::<f32>() as f64 - want).abs() <= 1e-4 * (1.0 + want.abs()),
            "{name}: loss {} vs {want}",
            loss.item::<f32>()
        );
        loss.backward();
        for (key, t) in [("x", &v.x), ("w", &v.w), ("w2", &v.w2)] {
            match &p["grads"][key] {
                serde_json::Value::Null => {
                    assert!(t.grad().is_none(), "{name}: {key} gets no gradient")
                }
                g => assert_close_json(
                    &format!("{name} grad {key}"),
                    &t.grad()
                        .unwrap_or_else(|| panic!("{name}: no gradient for {key}")),
                    g,
                    1e-4,
                ),
            }
        }
    }
}

fn backward_panic(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("backward must fail");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn the_version_check_refuses_values_overwritten_after_they_were_saved() {
    let fx = load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/inplace_goldens.json"
    ));
    for case in fx["version_errors"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let prefix = case["error_prefix"].as_str().unwrap();
        let v = inputs(&fx);
        let x = &v.x;
        let msg = backward_panic(|| match name {
            "saved_then_modified" => {
                let y = x * 2;
                let z = &y * &y;
                y.add_(1);
                z.sum().backward();
            }
            "exp_output_modified" => {
                let y = x.exp();
                y.add_(1);
                y.sum().backward();
            }
            "tanh_output_modified" => {
                let y = x.tanh();
                let z = &y * 2;
                y.sub_(0.5);
                (y.sum() + z.sum()).backward();
            }
            other => panic!("no program {other}"),
        });
        assert!(msg.starts_with(prefix), "{name}: {msg}");
    }
}

#[test]
fn a_leaf_that_requires_grad_and_a_view_with_history_are_refused() {
    let x = Tensor::new([1.0, 2.0]).requires_grad_(true);
    let msg = backward_panic(|| {
        x.add_(1);
    });
    assert!(msg.contains("leaf Variable that requires grad"), "{msg}");
    let y = &x * 2;
    let msg = backward_panic(|| {
        y.narrow(0, 0, 1).mul_(3);
    });
    assert!(msg.contains("view of a tensor with history"), "{msg}");
    // Without grad mode the same update is allowed and leaves no history.
    tandem_core::autograd::no_grad(|| x.add_(1));
    assert_eq!(x.to_vec::<f32>(), vec![2.0, 3.0]);
    assert!(x.is_leaf());
}

#[test]
fn an_in_place_op_with_a_grad_operand_gives_a_plain_tensor_a_history() {
    let w = Tensor::new([3.0f32]).requires_grad_(true);
    let y = Tensor::new([2.0f32]);
    y.mul_(&w);
    assert_eq!(y.grad_fn_name(), Some("MulBackward0"));
    y.sum().backward();
    assert_eq!(w.grad().unwrap().to_vec::<f32>(), vec![2.0]);
}
