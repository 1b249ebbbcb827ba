//! `MultiHeadAttention`, `LayerNormalization` and `GlobalAveragePooling1D` against Keras 3
//! (`fixtures/attention_goldens.json`, from `tools/goldens/gen_keras_attention_goldens.py`):
//! outputs, attention scores and the gradients of `(out * r).sum()` with respect to the inputs
//! and every weight, in float64 to 1e-10 and in float32 to 1e-4.

use serde_json::Value;
use tandem_core::testing::{assert_close_json, load_json, tensor};
use tandem_core::{DType, Tensor};
use tandem_keras::layers::*;

fn fixture() -> Value {
    load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/attention_goldens.json"
    ))
}

fn tol(dt: DType) -> f64 {
    if dt == DType::Float64 {
        1e-10
    } else {
        1e-4
    }
}

fn leaf(v: &Value, dt: DType) -> Tensor {
    tensor(v).to_dtype(dt).requires_grad_(true)
}

fn check(case: &Value, out: &Tensor, named: &[(&str, Tensor)], dt: DType) {
    let name = case["name"].as_str().unwrap();
    assert_close_json(&format!("{name}: out"), out, &case["out"], tol(dt));
    let r = tensor(&case["r"]).to_dtype(dt);
    (out * &r).sum().backward();
    for (key, t) in named {
        let want = &case["grads"][*key];
        assert!(!want.is_null(), "{name}: no golden gradient for {key}");
        let g = t
            .grad()
            .unwrap_or_else(|| panic!("{name}: no gradient for {key}"));
        assert_close_json(&format!("{name}: d{key}"), &g, want, tol(dt));
    }
}

#[test]
fn multi_head_attention_matches_keras() {
    let fx = fixture();
    for case in fx["mha"].as_array().unwrap() {
        for dt in [DType::Float64, DType::Float32] {
            let c = &case["config"];
            let u = |k: &str| c[k].as_u64().unwrap() as usize;
            let mut mha = MultiHeadAttention::new(u("num_heads"), u("key_dim"))
                .value_dim(u("value_dim"))
                .use_bias(c["use_bias"].as_bool().unwrap())
                .dtype(dt);
            let query = leaf(&case["query"], dt);
            let self_attention = case["self_attention"].as_bool().unwrap();
            let value = if self_attention {
                query.clone()
            } else {
                leaf(&case["value"], dt)
            };
            let key = (!case["key"].is_null()).then(|| leaf(&case["key"], dt));
            let last = |t: &Tensor| t.shape()[t.ndim() - 1];
            mha.build_for(
                last(&query),
                last(key.as_ref().unwrap_or(&value)),
                last(&value),
            );
            let weights = mha.trainable_weights();
            let given = case["weights"].as_array().unwrap();
            assert_eq!(weights.len(), given.len(), "weight count");
            for (w, g) in weights.iter().zip(given) {
                w.detach().copy_(&tensor(&g[1]).to_dtype(dt));
            }
            let mask = (!case["attention_mask"].is_null()).then(|| tensor(&case["attention_mask"]));
            let call = AttentionCall {
                key: key.as_ref(),
                attention_mask: mask.as_ref(),
                return_attention_scores: true,
                use_causal_mask: case["use_causal_mask"].as_bool().unwrap(),
                training: false,
            };
            let (out, scores) = mha.call_attention(&query, &value, &call);
            let name = case["name"].as_str().unwrap();
            assert_close_json(
                &format!("{name}: scores"),
                &scores.unwrap(),
                &case["scores"],
                tol(dt),
            );
            // The fused path (no scores asked for) gives the same output.
            let fused = mha
                .call_attention(
                    &query,
                    &value,
                    &AttentionCall {
                        return_attention_scores: false,
                        ..call
                    },
                )
                .0;
            assert_close_json(&format!("{name}: fused out"), &fused, &case["out"], tol(dt));
            let mut named: Vec<(&str, Tensor)> = vec![("query", query.clone())];
            if !self_attention {
                named.push(("value", value.clone()));
            }
            if let Some(k) = &key {
                named.push(("key", k.clone()));
            }
            for (w, g) in weights.iter().zip(given) {
                named.push((g[0].as_str().unwrap(), w.clone()));
            }
            check(case, &out, &named, dt);
        }
    }
}

#[test]
fn layer_normalization_matches_keras() {
    let fx = fixture();
    for case in fx["layer_norm"].as_array().unwrap() {
        for dt in [DType::Float64, DType::Float32] {
            let x = leaf(&case["x"], dt);
            let mut ln = LayerNormalization::new()
                .epsilon(case["epsilon"].as_f64().unwrap())
                .dtype(dt);
            ln.build(&x.shape()[1..]);
            ln.gamma()
                .unwrap()
                .detach()
                .copy_(&tensor(&case["gamma"]).to_dtype(dt));
            ln.beta()
                .unwrap()
                .detach()
                .copy_(&tensor(&case["beta"]).to_dtype(dt));
            let out = ln.call(&x, false);
            let named = [
                ("x", x.clone()),
                ("gamma", ln.gamma().unwrap().clone()),
                ("beta", ln.beta().unwrap().clone()),
            ];
            check(case, &out, &named, dt);
        }
    }
}

#[test]
fn global_average_pooling_1d_matches_keras_with_and_without_a_mask() {
    let fx = fixture();
    for case in fx["global_average_pooling_1d"].as_array().unwrap() {
        for dt in [DType::Float64, DType::Float32] {
            let x = leaf(&case["x"], dt);
            let out = if case["mask"].is_null() {
                GlobalAveragePooling1D.call(&x, false)
            } else {
                GlobalAveragePooling1D.call_masked(&x, &tensor(&case["mask"]))
            };
            check(case, &out, &[("x", x.clone())], dt);
        }
    }
}
