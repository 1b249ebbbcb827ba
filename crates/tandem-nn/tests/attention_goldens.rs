//! Attention and Transformer layers against PyTorch (`fixtures/attention_goldens.json`, from
//! `tools/goldens/gen_attention_goldens.py`): the ops they are built from, the fused
//! `scaled_dot_product_attention`, LayerNorm, `nn.MultiheadAttention`, the encoder and decoder
//! layers in both norm orders and an encoder stack. Each case compares the output and the
//! gradients of `(out * r).sum()` with respect to every input and parameter, in float64 to
//! 1e-10 and in float32 to 1e-4.

use serde_json::Value;
use tandem_core::testing::{assert_close_json, load_json, tensor, tensor_f64};
use tandem_core::{DType, Tensor};
use tandem_nn::functional as F;
use tandem_nn::*;

const F64_TOL: f64 = 1e-10;
const F32_TOL: f64 = 1e-4;

fn fixture() -> Value {
    load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/attention_goldens.json"
    ))
}

fn cases<'a>(f: &'a Value, key: &str) -> &'a [Value] {
    f[key].as_array().expect("a case list")
}

/// A floating fixture tensor as a leaf in `dt` (a boolean one as it is), permuted as told.
fn input(v: &Value, dt: DType) -> Tensor {
    let t = tensor(v);
    let t = if t.dtype().is_float() {
        t.to_dtype(dt)
    } else {
        t
    };
    let t = match v.get("permute").and_then(Value::as_array) {
        Some(p) => {
            let p: Vec<isize> = p.iter().map(|d| d.as_i64().unwrap() as isize).collect();
            t.permute(&p)
        }
        None => t,
    };
    if t.dtype().is_float() {
        t.requires_grad_(true)
    } else {
        t
    }
}

fn opt_input(v: &Value, dt: DType) -> Option<Tensor> {
    (!v.is_null()).then(|| input(v, dt))
}

/// A mask as given (boolean), or as additive floats in `dt`.
fn mask(v: &Value, dt: DType) -> Option<Tensor> {
    opt_input(v, dt).map(|m| m.detach())
}

fn tol(dt: DType) -> f64 {
    if dt == DType::Float64 {
        F64_TOL
    } else {
        F32_TOL
    }
}

/// Backward of `(out * r).sum()`, then each named tensor's gradient against the case's.
fn check_grads(case: &Value, out: &Tensor, named: &[(String, Tensor)], dt: DType) {
    let name = case["name"].as_str().unwrap();
    assert_close_json(&format!("{name}: out"), out, &case["out"], tol(dt));
    let r = tensor_f64(&case["r"]).to_dtype(dt);
    (out * &r).sum().backward();
    for (key, t) in named {
        let want = &case["grads"][key.as_str()];
        if want.is_null() {
            continue;
        }
        let g = t
            .grad()
            .unwrap_or_else(|| panic!("{name}: no gradient for {key}"));
        assert_close_json(&format!("{name}: d{key}"), &g, want, tol(dt));
    }
}

fn both_dtypes(f: impl Fn(DType)) {
    f(DType::Float64);
    f(DType::Float32);
}

#[test]
fn ops_match_pytorch() {
    let fx = fixture();
    for case in cases(&fx, "ops") {
        both_dtypes(|dt| {
            let ins: Vec<(String, Tensor)> = case["inputs"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), input(v, dt)))
                .collect();
            let get = |k: &str| &ins.iter().find(|(n, _)| n == k).unwrap().1;
            let a = &case["args"];
            let num = |k: &str| a[k].as_f64().unwrap();
            let out = match case["op"].as_str().unwrap() {
                "erf" => get("x").erf(),
                "gelu" => F::gelu(get("x"), a["approximate"] == "tanh"),
                "triu" => get("x").triu(a["diagonal"].as_i64().unwrap()),
                "tril" => get("x").tril(a["diagonal"].as_i64().unwrap()),
                "baddbmm" => {
                    get("input").baddbmm(get("batch1"), get("batch2"), num("beta"), num("alpha"))
                }
                "masked_fill" => get("x").masked_fill(get("mask"), num("value")),
                "softmax" => get("x").softmax(a["dim"].as_i64().unwrap() as isize),
                op => panic!("unknown op {op}"),
            };
            check_grads(case, &out, &ins, dt);
        });
    }
}

#[test]
fn fused_attention_matches_pytorch() {
    let fx = fixture();
    for case in cases(&fx, "sdpa") {
        both_dtypes(|dt| {
            let (q, k, v) = (
                input(&case["q"], dt),
                input(&case["k"], dt),
                input(&case["v"], dt),
            );
            let m = mask(&case["attn_mask"], dt);
            let out = F::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                m.as_ref(),
                0.0,
                case["is_causal"].as_bool().unwrap(),
                case["scale"].as_f64(),
            );
            let named = [("q".into(), q), ("k".into(), k), ("v".into(), v)];
            check_grads(case, &out, &named, dt);
        });
    }
}

#[test]
fn layer_norm_matches_pytorch() {
    let fx = fixture();
    for case in cases(&fx, "layer_norm") {
        both_dtypes(|dt| {
            let shape: Vec<usize> = case["normalized_shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let ln = LayerNorm::with_shape(&shape)
                .eps(case["eps"].as_f64().unwrap())
                .elementwise_affine(case["elementwise_affine"].as_bool().unwrap())
                .bias(case["bias"].as_bool().unwrap())
                .to_dtype(dt);
            let params = state(&case["params"]);
            ln.load_state_dict(&params, true).unwrap();
            let x = input(&case["x"], dt);
            let out = ln.forward(&x);
            let mut named = ln.state_dict();
            named.push(("x".into(), x));
            check_grads(case, &out, &named, dt);
        });
    }
}

/// A fixture state dict, `[[name, tensor], ...]`.
fn state(v: &Value) -> Vec<(String, Tensor)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), tensor_f64(&p[1])))
        .collect()
}

fn config(c: &Value, dt: DType) -> TransformerConfig {
    let u = |k: &str| c[k].as_u64().unwrap() as usize;
    TransformerConfig::new(u("d_model"), u("nhead"))
        .dim_feedforward(u("dim_feedforward"))
        .dropout(0.0)
        .activation(match c["activation"].as_str().unwrap() {
            "gelu" => Activation::Gelu,
            _ => Activation::Relu,
        })
        .layer_norm_eps(c["layer_norm_eps"].as_f64().unwrap())
        .batch_first(c["batch_first"].as_bool().unwrap())
        .norm_first(c["norm_first"].as_bool().unwrap())
        .bias(c["bias"].as_bool().unwrap())
        .dtype(dt)
}

#[test]
fn multihead_attention_matches_pytorch() {
    let fx = fixture();
    for case in cases(&fx, "mha") {
        both_dtypes(|dt| {
            let c = &case["config"];
            let u = |k: &str| c[k].as_u64().unwrap() as usize;
            let mha = MultiheadAttention::with_dims(
                u("embed_dim"),
                u("num_heads"),
                u("kdim"),
                u("vdim"),
                c["bias"].as_bool().unwrap(),
            )
            .batch_first(c["batch_first"].as_bool().unwrap())
            .to_dtype(dt);
            mha.load_state_dict(&state(&case["state_dict"]), true)
                .unwrap();
            let query = input(&case["query"], dt);
            let self_attention = case["self_attention"].as_bool().unwrap();
            let (key, value) = if self_attention {
                (query.clone(), query.clone())
            } else {
                (input(&case["key"], dt), input(&case["value"], dt))
            };
            let (kpm, am) = (
                mask(&case["key_padding_mask"], dt),
                mask(&case["attn_mask"], dt),
            );
            let args = AttentionArgs {
                key_padding_mask: kpm.as_ref(),
                need_weights: case["need_weights"].as_bool().unwrap(),
                attn_mask: am.as_ref(),
                average_attn_weights: case["average_attn_weights"].as_bool().unwrap(),
                is_causal: false,
            };
            let (out, weights) = mha.forward_attn(&query, &key, &value, &args);
            let name = case["name"].as_str().unwrap();
            match (&weights, case["weights"].is_null()) {
                (Some(w), false) => {
                    assert_close_json(&format!("{name}: weights"), w, &case["weights"], tol(dt))
                }
                (None, true) => {}
                _ => panic!("{name}: weights returned when not asked for, or missing"),
            }
            let mut named = mha.state_dict();
            named.push(("query".into(), query));
            if !self_attention {
                named.push(("key".into(), key));
                named.push(("value".into(), value));
            }
            check_grads(case, &out, &named, dt);
        });
    }
}

#[test]
fn encoder_layers_match_pytorch_in_both_norm_orders() {
    let fx = fixture();
    for case in cases(&fx, "encoder_layer") {
        both_dtypes(|dt| {
            let layer = TransformerEncoderLayer::new(config(&case["config"], dt));
            layer
                .load_state_dict(&state(&case["state_dict"]), true)
                .unwrap();
            let src = input(&case["src"], dt);
            let (m, kpm) = (
                mask(&case["src_mask"], dt),
                mask(&case["src_key_padding_mask"], dt),
            );
            let masks = Masks {
                mask: m.as_ref(),
                key_padding_mask: kpm.as_ref(),
                is_causal: case["is_causal"].as_bool().unwrap(),
            };
            let out = layer.forward_masked(&src, &masks);
            let mut named = layer.state_dict();
            named.push(("src".into(), src));
            check_grads(case, &out, &named, dt);
        });
    }
}

#[test]
fn decoder_layers_match_pytorch_in_both_norm_orders() {
    let fx = fixture();
    for case in cases(&fx, "decoder_layer") {
        both_dtypes(|dt| {
            let layer = TransformerDecoderLayer::new(config(&case["config"], dt));
            layer
                .load_state_dict(&state(&case["state_dict"]), true)
                .unwrap();
            let (tgt, memory) = (input(&case["tgt"], dt), input(&case["memory"], dt));
            let ms: Vec<Option<Tensor>> = [
                "tgt_mask",
                "memory_mask",
                "tgt_key_padding_mask",
                "memory_key_padding_mask",
            ]
            .iter()
            .map(|k| mask(&case[*k], dt))
            .collect();
            let tgt_masks = Masks {
                mask: ms[0].as_ref(),
                key_padding_mask: ms[2].as_ref(),
                is_causal: case["tgt_is_causal"].as_bool().unwrap(),
            };
            let memory_masks = Masks {
                mask: ms[1].as_ref(),
                key_padding_mask: ms[3].as_ref(),
                is_causal: case["memory_is_causal"].as_bool().unwrap(),
            };
            let out = layer.forward_with_memory(&tgt, &memory, &tgt_masks, &memory_masks);
            let mut named = layer.state_dict();
            named.push(("tgt".into(), tgt));
            named.push(("memory".into(), memory));
            check_grads(case, &out, &named, dt);
        });
    }
}

#[test]
fn an_encoder_stack_with_a_final_norm_matches_pytorch() {
    let fx = fixture();
    for case in cases(&fx, "encoder_stack") {
        both_dtypes(|dt| {
            let cfg = config(&case["config"], dt);
            let norm = LayerNorm::new(cfg.d_model)
                .eps(case["final_norm_eps"].as_f64().unwrap())
                .to_dtype(dt);
            let enc = TransformerEncoder::new(
                cfg,
                case["num_layers"].as_u64().unwrap() as usize,
                case["final_norm"].as_bool().unwrap().then_some(norm),
            );
            enc.load_state_dict(&state(&case["state_dict"]), true)
                .unwrap();
            let src = input(&case["src"], dt);
            let (m, kpm) = (
                mask(&case["src_mask"], dt),
                mask(&case["src_key_padding_mask"], dt),
            );
            let masks = Masks {
                mask: m.as_ref(),
                key_padding_mask: kpm.as_ref(),
                is_causal: case["is_causal"].as_bool().unwrap(),
            };
            let out = enc.forward_masked(&src, &masks);
            let mut named = enc.state_dict();
            named.push(("src".into(), src));
            check_grads(case, &out, &named, dt);
        });
    }
}
