//! Losses, optimizers and checkpoints against PyTorch (`tools/goldens/gen_nn_goldens.py`).

use serde_json::Value;
use tandem_core::testing;
use tandem_core::{DType, Tensor};
use tandem_nn::functional::{self as F, CrossEntropyOptions, Reduction};
use tandem_nn::optim::{self, Optimizer};
use tandem_nn::{Linear, Module, ReLU, Sequential};

mod common;
use common::SeedMlp;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn tensor(v: &Value) -> Tensor {
    let t = testing::tensor_f64(v);
    match v.get("dtype").and_then(Value::as_str) {
        Some("int64") => t.to_dtype(DType::Int64),
        _ => t.to_dtype(DType::Float32),
    }
}

fn reduction(o: &Value) -> Reduction {
    match o["reduction"].as_str().unwrap() {
        "sum" => Reduction::Sum,
        "none" => Reduction::None,
        _ => Reduction::Mean,
    }
}

#[test]
fn every_loss_matches_pytorch_value_and_gradient() {
    let fx = json("loss_goldens.json");
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let o = &case["options"];
        let input = tensor(&case["input"]).requires_grad_(true);
        let target = tensor(&case["target"]);
        let weight = case.get("weight").map(tensor);
        let r = reduction(o);
        let ce_opts = || CrossEntropyOptions {
            weight: weight.clone(),
            ignore_index: o
                .get("ignore_index")
                .and_then(Value::as_i64)
                .unwrap_or(-100),
            label_smoothing: o
                .get("label_smoothing")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            reduction: r,
        };
        let loss = match case["loss"].as_str().unwrap() {
            "cross_entropy" => F::cross_entropy(&input, &target, &ce_opts()),
            "nll_loss" => F::nll_loss(&input, &target, &ce_opts()),
            "mse_loss" => F::mse_loss(&input, &target, r),
            "l1_loss" => F::l1_loss(&input, &target, r),
            "binary_cross_entropy" => F::binary_cross_entropy(&input, &target, weight.as_ref(), r),
            "binary_cross_entropy_with_logits" => {
                let pw = o.get("pos_weight").map(tensor);
                F::binary_cross_entropy_with_logits(&input, &target, pw.as_ref(), r)
            }
            "huber_loss" => F::huber_loss(&input, &target, o["delta"].as_f64().unwrap(), r),
            "smooth_l1_loss" => F::smooth_l1_loss(&input, &target, o["beta"].as_f64().unwrap(), r),
            other => panic!("unknown loss {other}"),
        };
        testing::assert_close(
            &format!("{name} value"),
            &loss,
            &tensor(&case["value"]),
            1e-5,
        );
        let g = tandem_core::autograd::grad(&loss.sum(), &[&input]);
        testing::assert_close(&format!("{name} grad"), &g[0], &tensor(&case["grad"]), 1e-5);
    }
}

fn mlp() -> Sequential {
    Sequential::new()
        .add(Linear::new(6, 5))
        .add(ReLU)
        .add(Linear::new(5, 3))
}

fn optimizer(kind: &str, c: &Value, params: Vec<Tensor>) -> Box<dyn Optimizer> {
    let f = |k: &str| c[k].as_f64().unwrap();
    let betas = || {
        (
            c["betas"][0].as_f64().unwrap(),
            c["betas"][1].as_f64().unwrap(),
        )
    };
    let adam = || optim::AdamConfig {
        lr: f("lr"),
        betas: betas(),
        eps: f("eps"),
        weight_decay: f("weight_decay"),
    };
    match kind {
        "SGD" => Box::new(optim::SGD::with_config(
            params,
            optim::SgdConfig {
                lr: f("lr"),
                momentum: f("momentum"),
                dampening: f("dampening"),
                weight_decay: f("weight_decay"),
                nesterov: c["nesterov"].as_bool().unwrap(),
            },
        )),
        "Adam" => Box::new(optim::Adam::with_config(params, adam())),
        "AdamW" => Box::new(optim::AdamW::with_config(params, adam())),
        "RMSprop" => Box::new(optim::RMSprop::with_config(
            params,
            optim::RMSpropConfig {
                lr: f("lr"),
                alpha: f("alpha"),
                eps: f("eps"),
                weight_decay: f("weight_decay"),
                momentum: f("momentum"),
                centered: c["centered"].as_bool().unwrap(),
            },
        )),
        "Adagrad" => Box::new(optim::Adagrad::with_config(
            params,
            optim::AdagradConfig {
                lr: f("lr"),
                lr_decay: f("lr_decay"),
                weight_decay: f("weight_decay"),
                initial_accumulator_value: f("initial_accumulator_value"),
                eps: f("eps"),
            },
        )),
        "Adadelta" => Box::new(optim::Adadelta::with_config(
            params,
            optim::AdadeltaConfig {
                lr: f("lr"),
                rho: f("rho"),
                eps: f("eps"),
                weight_decay: f("weight_decay"),
            },
        )),
        "Adamax" => Box::new(optim::Adamax::with_config(params, adam())),
        "NAdam" => Box::new(optim::NAdam::with_config(
            params,
            optim::NAdamConfig {
                lr: f("lr"),
                betas: betas(),
                eps: f("eps"),
                weight_decay: f("weight_decay"),
                momentum_decay: f("momentum_decay"),
                decoupled_weight_decay: c["decoupled_weight_decay"].as_bool().unwrap(),
            },
        )),
        "RAdam" => Box::new(optim::RAdam::with_config(
            params,
            optim::RAdamConfig {
                lr: f("lr"),
                betas: betas(),
                eps: f("eps"),
                weight_decay: f("weight_decay"),
                decoupled_weight_decay: c["decoupled_weight_decay"].as_bool().unwrap(),
            },
        )),
        other => panic!("unknown optimizer {other}"),
    }
}

#[test]
fn ten_optimizer_steps_match_pytorch() {
    let fx = json("optim_goldens.json");
    let batches: Vec<(Tensor, Tensor)> = fx["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let x: Vec<f64> = b["x"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let y: Vec<i64> = b["y"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            (
                Tensor::from_vec(x, &[8, 6]).float(),
                Tensor::from_vec(y, &[8]),
            )
        })
        .collect();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let model = mlp();
        model.load(fixture("mlp_init.safetensors"), true).unwrap();
        let mut opt = optimizer(
            case["optimizer"].as_str().unwrap(),
            &case["config"],
            model.parameters(),
        );
        for (step, ((x, y), want)) in batches
            .iter()
            .zip(case["losses"].as_array().unwrap())
            .enumerate()
        {
            opt.zero_grad();
            let loss = F::cross_entropy(&model.forward(x), y, &Default::default());
            let want = want.as_f64().unwrap();
            assert!(
                (loss.item::<f32>() as f64 - want).abs() < 1e-4,
                "{name} step {step}: loss {} vs PyTorch {want}",
                loss.item::<f32>()
            );
            loss.backward();
            opt.step();
        }
        for (key, t) in model.state_dict() {
            testing::assert_close(
                &format!("{name} {key}"),
                &t,
                &tensor(&case["final"][&key]),
                1e-4,
            );
        }
    }
}

#[test]
fn a_pytorch_state_dict_loads_and_gives_pytorch_logits() {
    let net = SeedMlp::new([784, 32, 24, 16, 12, 10]);
    let report = net
        .load(fixture("interop_state_dict.safetensors"), true)
        .unwrap();
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    let fx = json("interop.json");
    let logits = tandem_core::autograd::no_grad(|| net.forward(&tensor(&fx["input"])));
    testing::assert_close("logits", &logits, &tensor(&fx["logits"]), 1e-5);
}

#[test]
fn checkpoints_round_trip_and_mismatches_are_reported() {
    let dir = std::env::temp_dir().join(format!("tandem-nn-ckpt-{}", std::process::id()));
    let path = dir.join("model.safetensors");
    let a = mlp();
    a.save(&path).unwrap();
    assert!(
        std::fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("tmp")),
        "temporary file left behind"
    );
    let b = mlp();
    b.load(&path, true).unwrap();
    for ((ka, ta), (kb, tb)) in a.state_dict().iter().zip(b.state_dict()) {
        assert_eq!(ka, &kb);
        assert_eq!(ta.to_vec::<f32>(), tb.to_vec::<f32>());
    }
    // a model with a different layer size: a clear shape error naming the key
    let wrong = Sequential::new()
        .add(Linear::new(6, 4))
        .add(ReLU)
        .add(Linear::new(4, 3));
    let err = wrong.load(&path, true).unwrap_err().to_string();
    assert!(err.contains("size mismatch for 0.weight"), "{err}");
    // extra layer: unexpected and missing keys; non-strict loading reports them instead
    let bigger = Sequential::new()
        .add(Linear::new(6, 5))
        .add(ReLU)
        .add(Linear::new(5, 3))
        .add(Linear::new(3, 2));
    let err = bigger.load(&path, true).unwrap_err().to_string();
    assert!(err.contains("missing key(s): 3.weight, 3.bias"), "{err}");
    let report = bigger.load(&path, false).unwrap();
    assert_eq!(report.missing, vec!["3.weight", "3.bias"]);
    // a corrupt file is an error, not a panic
    std::fs::write(&path, b"not safetensors").unwrap();
    assert!(mlp()
        .load(&path, true)
        .unwrap_err()
        .to_string()
        .contains("not a valid safetensors file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn default_initializers_follow_pytorch_bounds() {
    let fx = json("init_stats.json");
    tandem_core::manual_seed(3);
    let l = Linear::new(784, 520);
    let bound = fx["linear_784_520"]["weight_bound"].as_f64().unwrap();
    let w = l.weight.to_vec::<f32>();
    assert!(w.iter().all(|v| (v.abs() as f64) <= bound));
    let max = w.iter().fold(0.0f32, |a, v| a.max(v.abs())) as f64;
    assert!(
        max > 0.99 * bound,
        "uniform draws should reach near the bound"
    );
    let std = (w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
    let want = fx["linear_784_520"]["weight_std"].as_f64().unwrap();
    assert!((std - want).abs() < 0.01 * want, "std {std} vs {want}");
    let t = tandem_core::zeros(&[300, 200], DType::Float32);
    tandem_nn::init::kaiming_normal_(&t, 0.0, tandem_nn::init::FanMode::FanIn, "relu");
    let v = t.to_vec::<f32>();
    let std = (v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    assert!((std - 0.1).abs() < 0.003, "kaiming std {std}");
    tandem_nn::init::xavier_uniform_(&t, 1.0);
    let b = fx["xavier_uniform_300_200"]["bound"].as_f64().unwrap();
    assert!(t.to_vec::<f32>().iter().all(|x| (x.abs() as f64) <= b));
}
