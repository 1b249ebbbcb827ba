//! Forward values and gradients against PyTorch goldens (`tools/goldens/gen_core_goldens.py`).

mod common;

use common::{accumulates, assert_close, eval, expected, input, load};
use serde_json::Value;
use tandem_core::{autograd, DType, Tensor};

fn tolerance(expr: &Value, dtype: DType) -> f64 {
    match (dtype, accumulates(expr)) {
        (DType::Float64, _) => 1e-10,
        (_, true) => 1e-5,
        _ => 1e-6,
    }
}

#[test]
fn every_op_matches_pytorch_forward() {
    let fixture = load("ops_goldens.json");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 200);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let run = std::panic::catch_unwind(|| {
            let inputs: Vec<Tensor> = case["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(input)
                .collect();
            let got = eval(&case["expr"], &inputs);
            let (want, shape, dtype) = expected(&case["out"]);
            let dtype = dtype.expect("dtype");
            assert_eq!(got.dtype(), dtype, "{name}: dtype");
            assert_close(name, &got, &want, &shape, tolerance(&case["expr"], dtype));
        });
        if run.is_err() {
            failures.push(name.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from PyTorch: {failures:?}",
        failures.len(),
        cases.len()
    );
}

fn grads_of(inputs: &[Tensor], loss: &Tensor, create_graph: bool) -> Vec<Option<Tensor>> {
    let wanted: Vec<&Tensor> = inputs.iter().filter(|t| t.requires_grad()).collect();
    let gs = autograd::grad_with(
        loss,
        &wanted,
        None,
        autograd::GradOptions {
            create_graph,
            allow_unused: true,
            ..Default::default()
        },
    );
    let mut it = gs.into_iter();
    inputs
        .iter()
        .map(|t| {
            if t.requires_grad() {
                Some(it.next().unwrap().unwrap_or_else(|| t.zeros_like()))
            } else {
                None
            }
        })
        .collect()
}

fn summed(t: Tensor) -> Tensor {
    if t.ndim() == 0 {
        t
    } else {
        t.sum()
    }
}

#[test]
fn gradients_match_pytorch_for_composite_expressions() {
    let fixture = load("grad_goldens.json");
    let cases = fixture["first_order"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let inputs: Vec<Tensor> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(input)
            .collect();
        let out = eval(&case["expr"], &inputs);
        let (want, shape, _) = expected(&case["out"]);
        let rtol = if out.dtype() == DType::Float64 {
            1e-10
        } else {
            1e-5
        };
        assert_close(name, &out, &want, &shape, rtol);
        let grads = grads_of(&inputs, &summed(out), false);
        for (i, (g, w)) in grads
            .iter()
            .zip(case["grads"].as_array().unwrap())
            .enumerate()
        {
            match (g, w) {
                (None, Value::Null) => {}
                (Some(g), w) if !w.is_null() => {
                    let (want, shape, _) = expected(w);
                    assert_close(&format!("{name} d/dx{i}"), g, &want, &shape, rtol * 10.0);
                }
                _ => panic!("{name}: input {i} gradient presence differs"),
            }
        }
    }
}

#[test]
fn second_derivatives_match_pytorch() {
    let fixture = load("grad_goldens.json");
    let cases = fixture["second_order"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let inputs: Vec<Tensor> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(input)
            .collect();
        let f = summed(eval(&case["expr"], &inputs));
        let grads = grads_of(&inputs, &f, true);
        let mut s: Option<Tensor> = None;
        for (i, (g, w)) in grads
            .iter()
            .zip(case["grads"].as_array().unwrap())
            .enumerate()
        {
            if let Some(g) = g {
                let (want, shape, _) = expected(w);
                assert_close(&format!("{name} grad {i}"), g, &want, &shape, 1e-9);
                let gs = g.sum();
                s = Some(match s {
                    Some(p) => &p + &gs,
                    None => gs,
                });
            }
        }
        let s = s.expect("some gradient");
        let grads2 = grads_of(&inputs, &s, false);
        for (i, (g, w)) in grads2
            .iter()
            .zip(case["grads2"].as_array().unwrap())
            .enumerate()
        {
            if let (Some(g), false) = (g, w.is_null()) {
                let (want, shape, _) = expected(w);
                assert_close(&format!("{name} grad2 {i}"), g, &want, &shape, 1e-9);
            }
        }
    }
}
