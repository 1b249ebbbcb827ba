//! PyTorch `.pt` checkpoints written by `torch.save` (fixtures from
//! `tools/goldens/gen_format_goldens.py`, PyTorch 2.15) load into tandem's modules and give
//! PyTorch's outputs; what `pt::save` writes reads back; bad files are typed errors.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tandem_core::testing::{assert_close_json, bit_flips, load_json, numbers, shape, tensor};
use tandem_core::{DType, Tensor};
use tandem_nn::functional as F;
use tandem_nn::*;

mod common;
use common::SeedMlp;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

fn goldens() -> Value {
    load_json(fixture("torch_formats.json"))
}

#[derive(Module)]
struct Lesson10Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    mp: MaxPool2d,
    fc: Linear,
}

impl Module for Lesson10Cnn {
    fn forward(&self, x: &Tensor) -> Tensor {
        let n = x.size()[0] as isize;
        let x = F::relu(&self.mp.forward(&self.conv1.forward(x)));
        let x = F::relu(&self.mp.forward(&self.conv2.forward(&x)));
        F::log_softmax(&self.fc.forward(&x.view(&[n, -1])), 1)
    }
}

#[derive(Module)]
struct LstmClassifier {
    lstm: LSTM,
    fc: Linear,
}

impl Module for LstmClassifier {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (out, _) = self.lstm.forward_with(x, None);
        let steps = out.size()[1];
        self.fc.forward(&out.select(1, steps as isize - 1))
    }
}

/// Loads `case`'s file strictly into `model` and checks PyTorch's output on its input.
fn check_model(model: &impl Module, case: &str) {
    let g = &goldens()[case];
    let state = pt::load(fixture(g["file"].as_str().unwrap())).unwrap();
    let want_keys: Vec<&str> = g["state_dict"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[0].as_str().unwrap())
        .collect();
    let mut got_keys: Vec<&str> = state.keys().collect();
    let mut sorted_want = want_keys.clone();
    got_keys.sort();
    sorted_want.sort();
    assert_eq!(got_keys, sorted_want, "{case}: keys");
    for e in g["state_dict"].as_array().unwrap() {
        let t = &state[e[0].as_str().unwrap()];
        assert_eq!(t.shape(), shape(&e[1]).as_slice());
        let sum: f64 = t.to_vec::<f32>().iter().map(|&v| f64::from(v)).sum();
        assert!(
            (sum - e[2].as_f64().unwrap()).abs() < 1e-3,
            "{case}: sum of {}",
            e[0]
        );
    }
    let report = model.load_state_dict(&state, true).unwrap();
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    let x = tensor(&g["input"]).to_dtype(DType::Float32);
    let out = tandem_core::autograd::no_grad(|| model.forward(&x));
    assert_close_json(case, &out, &g["output"], 1e-5);
}

#[test]
fn seed_mlp_from_torch_save_gives_pytorchs_outputs() {
    check_model(&SeedMlp::seed(), "seed_mlp");
}

#[test]
fn lesson10_cnn_from_torch_save_gives_pytorchs_outputs() {
    let model = Lesson10Cnn {
        conv1: Conv2d::new(1, 10, 5),
        conv2: Conv2d::new(10, 20, 5),
        mp: MaxPool2d::new(2),
        fc: Linear::new(320, 10),
    };
    check_model(&model, "cnn_lesson10");
}

#[test]
fn two_layer_lstm_from_torch_save_gives_pytorchs_outputs() {
    let model = LstmClassifier {
        lstm: LSTM::new(8, 16).num_layers(2).batch_first(true),
        fc: Linear::new(16, 5),
    };
    check_model(&model, "lstm2");
}

#[derive(Module)]
struct Small {
    fc1: Linear,
    fc2: Linear,
}

impl Module for Small {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.fc2.forward(&F::relu(&self.fc1.forward(x)))
    }
}

fn small() -> Small {
    Small {
        fc1: Linear::new(4, 3),
        fc2: Linear::new(3, 2),
    }
}

#[test]
fn nested_checkpoint_loads_by_key_and_flattened() {
    let g = &goldens()["nested"];
    let path = fixture("nested.pt");
    // ckpt = torch.load(path); model.load_state_dict(ckpt["model"])
    let ckpt = pt::load(&path).unwrap();
    let model = small();
    model.load_state_dict(&ckpt.sub("model"), true).unwrap();
    for (k, want) in g["model"].as_object().unwrap() {
        let got = &model
            .state_dict()
            .into_iter()
            .find(|(n, _)| n == k)
            .unwrap()
            .1;
        assert_close_json(k, got, want, 1e-7);
    }
    // the optimizer's momentum buffers come along, keyed by parameter index; the epoch does not
    for (i, s) in g["optimizer_state"].as_object().unwrap() {
        let got = &ckpt[format!("optimizer.state.{i}.momentum_buffer").as_str()];
        assert_close_json(i, got, &s["momentum_buffer"], 1e-7);
    }
    assert!(ckpt.get("epoch").is_none());
    // torch.load(path)["model"] read directly
    let only = pt::load_key(&path, "model").unwrap();
    let keys: Vec<&str> = only.keys().collect();
    assert_eq!(keys, ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]);
    assert!(matches!(
        pt::load_key(&path, "scheduler"),
        Err(CheckpointError::Format { .. })
    ));
}

#[test]
fn every_storage_dtype_and_layout_reads_exactly() {
    let g = &goldens()["dtypes"]["tensors"];
    let state = pt::load(fixture("dtypes.pt")).unwrap();
    for (name, want) in g.as_object().unwrap() {
        let got = &state[name.as_str()];
        assert_eq!(got.shape(), shape(&want["shape"]).as_slice(), "{name}");
        let expect_dtype = match want["dtype"].as_str().unwrap() {
            // tandem has no half types: both widen to float32, exactly
            "float16" | "bfloat16" | "float32" => DType::Float32,
            "float64" => DType::Float64,
            "int64" => DType::Int64,
            "int32" => DType::Int32,
            "uint8" => DType::UInt8,
            "bool" => DType::Bool,
            other => panic!("unexpected dtype {other}"),
        };
        assert_eq!(got.dtype(), expect_dtype, "{name}");
        let values: Vec<f64> = match expect_dtype {
            DType::Float32 => got.to_vec::<f32>().into_iter().map(f64::from).collect(),
            DType::Float64 => got.to_vec::<f64>(),
            DType::Int64 => got.to_vec::<i64>().into_iter().map(|v| v as f64).collect(),
            DType::Int32 => got.to_vec::<i32>().into_iter().map(f64::from).collect(),
            DType::UInt8 => got.to_vec::<u8>().into_iter().map(f64::from).collect(),
            DType::Bool => got
                .to_vec::<bool>()
                .into_iter()
                .map(|b| f64::from(u8::from(b)))
                .collect(),
        };
        let want_values: Vec<f64> = match &want["data"] {
            Value::Array(a) if a.iter().all(Value::is_boolean) => a
                .iter()
                .map(|b| f64::from(u8::from(b.as_bool().unwrap())))
                .collect(),
            v => numbers(v),
        };
        // bit-exact, -0.0 included; the fixture writes a float32 as a float64 that casts back
        // to its bits, so float32 results compare as float32
        let bits = |v: &[f64]| {
            v.iter()
                .map(|&x| match expect_dtype {
                    DType::Float32 => u64::from((x as f32).to_bits()),
                    _ => x.to_bits(),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&values), bits(&want_values), "{name}");
    }
}

#[test]
fn save_then_load_round_trips_every_dtype_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("round.pt");
    let big = tandem_core::randn(&[70, 1000]); // over 65,535 elements: a 4-byte int in the pickle
    let entries: Vec<(String, Tensor)> = vec![
        ("b.weight".into(), big.clone()),
        (
            "a.f64".into(),
            Tensor::from_vec(vec![0.1f64, -0.0, 1e300], &[3]),
        ),
        (
            "a.i64".into(),
            Tensor::from_vec(vec![i64::MIN, 7, 1 << 40], &[3, 1]),
        ),
        ("a.i32".into(), Tensor::from_vec(vec![-5i32, 9], &[2])),
        ("a.u8".into(), Tensor::from_vec(vec![0u8, 255], &[1, 2])),
        ("a.flag".into(), Tensor::from_vec(vec![true, false], &[2])),
        ("a.scalar".into(), Tensor::from_vec(vec![2.5f32], &[])),
        ("a.transposed".into(), big.t()),
    ];
    pt::save(&entries, &path).unwrap();
    let back = pt::load(&path).unwrap();
    assert_eq!(back.len(), entries.len());
    for (k, t) in &entries {
        let b = &back[k.as_str()];
        assert_eq!(b.dtype(), t.dtype(), "{k}");
        assert_eq!(b.shape(), t.shape(), "{k}");
        assert!(b.eq(t).all(), "{k}");
    }
    // no temporary file left beside it
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn strict_and_lenient_loads_report_keys_as_pytorch_does() {
    let state = pt::load(fixture("nested.pt")).unwrap().sub("model");
    let mut partial = state.clone().into_vec();
    partial.retain(|(k, _)| k != "fc2.bias");
    partial.push((
        "fc3.weight".into(),
        tandem_core::zeros(&[1], DType::Float32),
    ));
    let model = small();
    let err = model.load_state_dict(&partial, true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("missing key(s): fc2.bias"), "{msg}");
    assert!(msg.contains("unexpected key(s): fc3.weight"), "{msg}");
    let report = model.load_state_dict(&partial, false).unwrap();
    assert_eq!(report.missing, ["fc2.bias"]);
    assert_eq!(report.unexpected, ["fc3.weight"]);
    // the keys both have were copied
    assert_eq!(
        model.fc1.weight.to_vec::<f32>(),
        state["fc1.weight"].to_vec::<f32>()
    );
    // a wrong shape is an error even without strict, and copies nothing
    let wrong = vec![(
        "fc1.weight".to_string(),
        tandem_core::zeros(&[4, 3], DType::Float32),
    )];
    let before = model.fc1.weight.to_vec::<f32>();
    assert!(matches!(
        model.load_state_dict(&wrong, false),
        Err(CheckpointError::Mismatch { .. })
    ));
    assert_eq!(model.fc1.weight.to_vec::<f32>(), before);
}

#[test]
fn a_global_outside_the_weights_only_set_is_refused_by_name() {
    let g = &goldens()["unsafe_global"];
    match pt::load(fixture(g["file"].as_str().unwrap())) {
        Err(CheckpointError::UnsafeGlobal { global, .. }) => {
            assert_eq!(global, g["global"].as_str().unwrap())
        }
        other => panic!("expected UnsafeGlobal, got {other:?}"),
    }
    // the legacy (not zip) layout is checked through the values the reader makes
    match pt::load(fixture(g["legacy_file"].as_str().unwrap())) {
        Err(CheckpointError::UnsafeGlobal { global, .. }) => {
            assert_eq!(global, g["global"].as_str().unwrap())
        }
        other => panic!("expected UnsafeGlobal, got {other:?}"),
    }
    // torch.save(model): the model's own class is a global PyTorch's weights-only load refuses
    let whole = &g["whole_module"];
    match pt::load(fixture(whole["file"].as_str().unwrap())) {
        Err(CheckpointError::UnsafeGlobal { global, .. }) => {
            assert_eq!(global, whole["global"].as_str().unwrap())
        }
        other => panic!("expected UnsafeGlobal, got {other:?}"),
    }
}

#[test]
fn truncated_and_corrupted_files_are_typed_errors() {
    let bytes = std::fs::read(fixture("cnn_lesson10.pt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.pt");
    assert!(matches!(
        pt::load(dir.path().join("absent.pt")),
        Err(CheckpointError::Io { .. })
    ));
    for cut in [0, 10, 100, bytes.len() / 2, bytes.len() - 30] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(
            matches!(pt::load(&path), Err(CheckpointError::Format { .. })),
            "truncated at {cut}"
        );
    }
    // flip one bit at a time over the pickle and the headers: an error or a state dict, never
    // a panic; the stored crc32 catches flips inside a storage
    for bad in bit_flips(&bytes, 200, 0x9e3779b97f4a7c15) {
        std::fs::write(&path, &bad).unwrap();
        let _ = pt::load(&path);
    }
}
