//! The Keras layers users port next, against Keras 3 (`fixtures/keras_api_goldens.json`):
//! outputs and the gradients of `(out * r).sum()` for the spatial layers, and the outputs of the
//! preprocessing layers after `adapt`. Keras computed in float64 (bilinear upsampling in
//! float32); tandem's layers run in float32 here, so the tolerance is float32's.

use serde_json::Value;
use tandem_core::testing::{assert_close_json, load_json, tensor};
use tandem_core::{autograd, DType};
use tandem_keras::layers::*;

fn fixture() -> Value {
    load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_api_goldens.json"
    ))
}

fn size2(v: &Value) -> (usize, usize) {
    match v {
        Value::Array(a) => (
            a[0].as_u64().unwrap() as usize,
            a[1].as_u64().unwrap() as usize,
        ),
        n => {
            let n = n.as_u64().unwrap() as usize;
            (n, n)
        }
    }
}

fn layer(case: &Value) -> Option<Box<dyn Layer>> {
    let c = &case["config"];
    let padding = c.get("padding").and_then(Value::as_str).unwrap_or("valid");
    Some(match case["layer"].as_str().unwrap() {
        "Conv2DTranspose" => Box::new(
            Conv2DTranspose::new(
                c["filters"].as_u64().unwrap() as usize,
                size2(&c["kernel_size"]),
            )
            .strides(size2(&c["strides"]))
            .padding(padding),
        ),
        "Conv2D" => {
            let l = Conv2D::new(
                c["filters"].as_u64().unwrap() as usize,
                size2(&c["kernel_size"]),
            )
            .strides(c.get("strides").map_or((1, 1), size2))
            .padding(padding);
            Box::new(match c.get("activation").and_then(Value::as_str) {
                Some(a) => l.activation(a),
                None => l,
            })
        }
        "Conv1D" => Box::new(
            Conv1D::new(
                c["filters"].as_u64().unwrap() as usize,
                c["kernel_size"].as_u64().unwrap() as usize,
            )
            .strides(c.get("strides").map_or(1, |s| s.as_u64().unwrap() as usize))
            .dilation_rate(
                c.get("dilation_rate")
                    .map_or(1, |s| s.as_u64().unwrap() as usize),
            )
            .padding(padding),
        ),
        "UpSampling2D" => Box::new(
            UpSampling2D::new(size2(&c["size"])).interpolation(
                c.get("interpolation")
                    .and_then(Value::as_str)
                    .unwrap_or("nearest"),
            ),
        ),
        "AveragePooling2D" => {
            let mut l = AveragePooling2D::new(size2(&c["pool_size"])).padding(padding);
            if let Some(s) = c.get("strides") {
                l = l.strides(size2(s));
            }
            Box::new(l)
        }
        "MaxPooling2D" => Box::new(MaxPooling2D::new(size2(&c["pool_size"]))),
        "GlobalAveragePooling2D" => Box::new(GlobalAveragePooling2D::new()),
        "GlobalMaxPooling2D" => Box::new(GlobalMaxPooling2D::new()),
        "ZeroPadding2D" => {
            let p = &c["padding"];
            Box::new(ZeroPadding2D::new((size2(&p[0]), size2(&p[1]))))
        }
        "Rescaling" => Box::new(
            Rescaling::new(c["scale"].as_f64().unwrap()).offset(c["offset"].as_f64().unwrap()),
        ),
        _ => return None,
    })
}

#[test]
fn spatial_layers_match_keras_outputs_and_gradients() {
    let fx = fixture();
    let mut checked = 0;
    for case in fx["layers"].as_array().unwrap() {
        let Some(mut l) = layer(case) else { continue };
        let name = case["name"].as_str().unwrap();
        let x = tensor(&case["inputs"][0]).float().requires_grad_(true);
        l.build(&x.shape()[1..]);
        let weights = l.trainable_weights();
        let want_w = case["weights"].as_array().unwrap();
        assert_eq!(weights.len(), want_w.len(), "{name}: weights");
        autograd::no_grad(|| {
            for (w, v) in weights.iter().zip(want_w) {
                assert_eq!(
                    w.shape(),
                    tensor(&v[1]).shape(),
                    "{name}: {} has Keras's layout",
                    v[0]
                );
                w.detach().copy_(&tensor(&v[1]).float());
            }
        });
        let out = l.call(&x, false);
        assert_eq!(
            l.output_shape(&x.shape()[1..]),
            out.shape()[1..],
            "{name}: output_shape"
        );
        assert_close_json(&format!("{name} out"), &out, &case["out"], 1e-5);
        let r = tensor(&case["r"]).float();
        let mut wrt = vec![&x];
        wrt.extend(weights.iter());
        let grads = autograd::grad(&(&out * &r).sum(), &wrt);
        assert_close_json(
            &format!("{name} grad x"),
            &grads[0],
            &case["grad_inputs"][0],
            1e-5,
        );
        for (i, g) in case["grads"].as_array().unwrap().iter().enumerate() {
            assert_close_json(&format!("{name} grad {}", g[0]), &grads[1 + i], &g[1], 1e-5);
        }
        checked += 1;
    }
    assert_eq!(checked, 18, "every spatial case ran");
}

fn strings(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn preprocessing_layers_match_keras() {
    let fx = fixture();
    for case in fx["preprocessing"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let c = &case["config"];
        match case["layer"].as_str().unwrap() {
            "Normalization" => {
                let axis = c["axis"].as_i64().map(|a| a as isize);
                let mut l = Normalization::new().axis(axis);
                l.adapt(&tensor(&case["adapt_data"]).float());
                let (m, v) = l.mean_and_variance().unwrap();
                assert_close_json(&format!("{name} mean"), m, &case["mean"], 1e-5);
                assert_close_json(&format!("{name} variance"), v, &case["variance"], 1e-5);
                let out = l.call(&tensor(&case["inputs"][0]).float(), false);
                assert_close_json(&format!("{name} out"), &out, &case["out"], 1e-5);
            }
            "CategoryEncoding" => {
                let l = CategoryEncoding::new(c["num_tokens"].as_u64().unwrap() as usize)
                    .output_mode(c["output_mode"].as_str().unwrap());
                let x = tensor(&case["inputs"][0]);
                let out = l.call(&x, false);
                assert_close_json(&format!("{name} out"), &out, &case["out"], 0.0);
                assert_eq!(
                    l.output_shape(x.shape()),
                    tensor(&case["out"]).shape(),
                    "{name} shape"
                );
            }
            "StringLookup" => {
                let vocab: Vec<String> = c["vocabulary"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect();
                let refs: Vec<&str> = vocab.iter().map(String::as_str).collect();
                let l = StringLookup::new(&refs);
                let want_vocab: Vec<&str> = case["vocabulary"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                assert_eq!(l.get_vocabulary(), want_vocab, "{name}");
                if c["invert"].as_bool().unwrap() {
                    let got = l.invert(&tensor(&case["inputs"][0]));
                    assert_eq!(got, strings(&case["out"]), "{name}");
                } else {
                    let words = strings(&case["inputs"][0]);
                    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                    let shape: Vec<isize> = tensor(&case["out"])
                        .shape()
                        .iter()
                        .map(|&d| d as isize)
                        .collect();
                    assert_close_json(
                        &format!("{name} ids"),
                        &l.call(&refs).reshape(&shape),
                        &case["out"],
                        0.0,
                    );
                }
            }
            "TextVectorization" => {
                let mut l = TextVectorization::new()
                    .output_sequence_length(c["output_sequence_length"].as_u64().unwrap() as usize);
                let data: Vec<&str> = case["adapt_data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                l.adapt(&data);
                let want: Vec<&str> = case["vocabulary"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                assert_eq!(l.get_vocabulary(), want, "{name}");
                let texts = strings(&case["inputs"][0]);
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let out = l.call(&refs);
                assert_close_json(&format!("{name} ids"), &out, &case["out"], 0.0);
            }
            other => panic!("no layer {other}"),
        }
    }
}

#[test]
fn spatial_dropout_drops_whole_channels_in_training_only() {
    let fx = fixture();
    let sd = &fx["spatial_dropout"];
    let rate = sd["config"]["rate"].as_f64().unwrap();
    let l = SpatialDropout2D(rate);
    let x = tensor(&sd["inference_input"]).float();
    assert_close_json("inference", &l.call(&x, false), &sd["inference_out"], 1e-7);
    tandem_core::manual_seed(7);
    let shape: Vec<usize> = sd["training_input_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let ones = tandem_core::ones(&shape, DType::Float32);
    let y = l.call(&ones, true);
    let kept = sd["kept_value"].as_f64().unwrap() as f32;
    // Every (sample, channel) is all zeros or all `1 / (1 - rate)`, as in Keras.
    let (n, c) = (shape[0], shape[shape.len() - 1]);
    let per = y.reshape(&[n as isize, -1, c as isize]);
    let lo = per.amin(1, false).to_vec::<f32>();
    let hi = per.amax(1, false).to_vec::<f32>();
    let mut zeroed = 0;
    for (a, b) in lo.iter().zip(&hi) {
        assert_eq!(a, b, "a channel is dropped whole or kept whole");
        assert!(*a == 0.0 || (*a - kept).abs() < 1e-6, "{a}");
        zeroed += (*a == 0.0) as usize;
    }
    let frac = zeroed as f64 / lo.len() as f64;
    // Keras zeroed 0.494 of its draws; a binomial with p = 0.5 over these many channels
    // stays within 0.1 of it except with negligible probability.
    assert!(
        (frac - rate).abs() < 0.1,
        "zeroed fraction {frac} over {} channels",
        lo.len()
    );
}
