//! Keras's optimizers and learning-rate schedules against Keras 3 itself
//! (`fixtures/keras_api_goldens.json`, from `tools/goldens/gen_keras_api_goldens.py`): ten
//! `train_on_batch` steps of a 6-5-3 network from the same weights, and each schedule's
//! rate for steps 0..20.

use serde_json::Value;
use tandem_core::testing::{assert_close_json, load_json, tensor};
use tandem_core::Tensor;
use tandem_keras::optimizers::schedules::*;
use tandem_keras::optimizers::{self, Optimizer, OptimizerSpec};

fn fixture() -> Value {
    load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_api_goldens.json"
    ))
}

fn schedule(spec: &Value) -> LearningRate {
    let a = &spec["args"];
    let f = |k: &str| a[k].as_f64().unwrap();
    let n = |k: &str| a[k].as_u64().unwrap();
    let staircase = a.get("staircase").and_then(Value::as_bool).unwrap_or(false);
    match spec["type"].as_str().unwrap() {
        "ExponentialDecay" => ExponentialDecay::new(
            f("initial_learning_rate"),
            n("decay_steps"),
            f("decay_rate"),
        )
        .staircase(staircase)
        .into(),
        "InverseTimeDecay" => InverseTimeDecay::new(
            f("initial_learning_rate"),
            n("decay_steps"),
            f("decay_rate"),
        )
        .staircase(staircase)
        .into(),
        "PiecewiseConstantDecay" => PiecewiseConstantDecay::new(
            a["boundaries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_u64().unwrap())
                .collect(),
            a["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect(),
        )
        .into(),
        "CosineDecay" => {
            let mut s = CosineDecay::new(f("initial_learning_rate"), n("decay_steps"));
            if let Some(alpha) = a.get("alpha").and_then(Value::as_f64) {
                s = s.alpha(alpha);
            }
            if let Some(target) = a.get("warmup_target").and_then(Value::as_f64) {
                s = s.warmup(target, n("warmup_steps"));
            }
            s.into()
        }
        other => panic!("no schedule {other}"),
    }
}

fn spec(case: &Value) -> OptimizerSpec {
    let c = &case["config"];
    let h = &case["hyper"];
    let lr: LearningRate = match &case["learning_rate_schedule"] {
        Value::Null => c
            .get("learning_rate")
            .and_then(Value::as_f64)
            .unwrap_or(0.001)
            .into(),
        s => schedule(s),
    };
    let f = |k: &str| h[k].as_f64().unwrap();
    match case["optimizer"].as_str().unwrap() {
        "Adadelta" => OptimizerSpec::Adadelta {
            learning_rate: lr,
            rho: f("rho"),
            epsilon: f("epsilon"),
        },
        "Adamax" => OptimizerSpec::Adamax {
            learning_rate: lr,
            beta_1: f("beta_1"),
            beta_2: f("beta_2"),
            epsilon: f("epsilon"),
        },
        "Nadam" => OptimizerSpec::Nadam {
            learning_rate: lr,
            beta_1: f("beta_1"),
            beta_2: f("beta_2"),
            epsilon: f("epsilon"),
        },
        "Lion" => OptimizerSpec::Lion {
            learning_rate: lr,
            beta_1: f("beta_1"),
            beta_2: f("beta_2"),
        },
        "Ftrl" => OptimizerSpec::Ftrl {
            learning_rate: lr,
            learning_rate_power: f("learning_rate_power"),
            initial_accumulator_value: f("initial_accumulator_value"),
            l1_regularization_strength: f("l1_regularization_strength"),
            l2_regularization_strength: f("l2_regularization_strength"),
            l2_shrinkage_regularization_strength: f("l2_shrinkage_regularization_strength"),
            beta: f("beta"),
        },
        "AdamW" => OptimizerSpec::AdamW {
            learning_rate: lr,
            weight_decay: f("weight_decay"),
            beta_1: f("beta_1"),
            beta_2: f("beta_2"),
            epsilon: f("epsilon"),
        },
        "SGD" => optimizers::SGD(lr, f("momentum")),
        "Adam" => optimizers::Adam(lr),
        other => panic!("no optimizer {other}"),
    }
}

#[test]
fn ten_steps_of_each_keras_optimizer_match_keras() {
    let fx = fixture();
    let setup = &fx["optimizer_setup"];
    let batches: Vec<(Tensor, Tensor)> = setup["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (tensor(&b["x"]).float(), tensor(&b["y"])))
        .collect();
    let init: Vec<Tensor> = setup["init"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| tensor(&p[1]).float())
        .collect();
    for case in fx["optimizers"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let vars: Vec<Tensor> = init
            .iter()
            .map(|t| Tensor::variable(t.contiguous_copy()))
            .collect();
        let mut opt = Optimizer::new(spec(case));
        for (step, ((x, y), want)) in batches
            .iter()
            .zip(case["losses"].as_array().unwrap())
            .enumerate()
        {
            let tape = tandem_core::autograd::GradientTape::new();
            let h = (&x.matmul(&vars[0]) + &vars[1]).relu();
            let logits = &h.matmul(&vars[2]) + &vars[3];
            let loss = tandem_nn::functional::cross_entropy(&logits, y, &Default::default());
            let want = want.as_f64().unwrap();
            let got = loss.item::<f32>() as f64;
            assert!(
                (got - want).abs() < 1e-4,
                "{name} step {step}: loss {got} vs Keras {want}"
            );
            let refs: Vec<&Tensor> = vars.iter().collect();
            let grads = tape.gradient(&loss, &refs);
            opt.apply_gradients(&grads, &vars);
        }
        for ((key, want), got) in case["final"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap(), &p[1]))
            .zip(&vars)
        {
            assert_close_json(&format!("{name} {key}"), got, want, 1e-4);
        }
    }
}

#[test]
fn every_keras_name_builds_its_optimizer() {
    let fx = fixture();
    for pair in fx["optimizer_names"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap();
        let got = OptimizerSpec::from_name(name);
        match pair[1].as_str() {
            // Keras classes tandem does not have (Adafactor, Muon) are left out.
            Some("Adafactor") | Some("Muon") => assert!(got.is_err(), "{name}"),
            Some(class) => {
                let spec = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                let debug = format!("{spec:?}");
                assert!(
                    debug.starts_with(&format!("{class} ")),
                    "{name} gave {debug}"
                );
            }
            None => assert!(got.is_err(), "{name} is not a Keras name"),
        }
    }
}

#[test]
fn each_schedule_gives_kerass_rates_for_twenty_steps() {
    let fx = fixture();
    for case in fx["schedules"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let s = schedule(case);
        for (step, want) in case["values"].as_array().unwrap().iter().enumerate() {
            let want = want.as_f64().unwrap();
            let got = s.at(step as u64);
            // Keras computes in float32.
            assert!(
                (got - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "{name} step {step}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn clipnorm_and_global_clipnorm_rescale_gradients_before_the_update() {
    use tandem_keras::optimizers::{Optimizer, SGD};
    let step = |spec: tandem_keras::optimizers::OptimizerSpec| {
        let a = tandem_core::Tensor::from_vec(vec![0.0f32, 0.0], &[2]).requires_grad_(true);
        let b = tandem_core::Tensor::from_vec(vec![0.0f32], &[1]).requires_grad_(true);
        let ga = tandem_core::Tensor::from_vec(vec![3.0f32, 4.0], &[2]);
        let gb = tandem_core::Tensor::from_vec(vec![12.0f32], &[1]);
        Optimizer::new(spec).apply_gradients(&[Some(ga), Some(gb)], &[a.clone(), b.clone()]);
        (a.to_vec::<f32>(), b.to_vec::<f32>())
    };
    // SGD(1.0): p = -g. Per-variable norms are 5 and 12; the joint norm is 13.
    let (a, b) = step(SGD(1.0, 0.0).clipnorm(1.0));
    assert!((a[0] + 0.6).abs() < 1e-6 && (a[1] + 0.8).abs() < 1e-6 && (b[0] + 1.0).abs() < 1e-6);
    let (a, b) = step(SGD(1.0, 0.0).global_clipnorm(1.0));
    assert!((a[0] + 3.0 / 13.0).abs() < 1e-6 && (b[0] + 12.0 / 13.0).abs() < 1e-6);
    let (a, b) = step(SGD(1.0, 0.0).clipvalue(3.5));
    assert_eq!((a, b), (vec![-3.0, -3.5], vec![-3.5]));
    // Below the threshold nothing changes.
    let (a, _) = step(SGD(1.0, 0.0).global_clipnorm(100.0));
    assert_eq!(a, vec![-3.0, -4.0]);
}
