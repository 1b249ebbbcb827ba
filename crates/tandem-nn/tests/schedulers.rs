//! Every learning-rate scheduler against PyTorch: the rate right after construction and after
//! each of 15 `step()` calls (and the momentum `OneCycleLR` cycles), from
//! `fixtures/sched_goldens.json`.

use serde_json::Value;
use tandem_core::testing::load_json;
use tandem_core::Tensor;
use tandem_nn::optim::lr_scheduler::*;
use tandem_nn::optim::{self, Optimizer};

type Sched = Box<dyn LrScheduler + Send>;

fn arg(spec: &Value, key: &str) -> Option<f64> {
    spec["args"].get(key).and_then(Value::as_f64)
}

fn usize_arg(spec: &Value, key: &str) -> Option<usize> {
    spec["args"]
        .get(key)
        .and_then(Value::as_u64)
        .map(|v| v as usize)
}

fn milestones(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_u64().unwrap() as usize)
        .collect()
}

/// Builds a scheduler from its spec, with PyTorch's defaults for absent arguments.
fn build(spec: &Value, opt: &mut dyn Optimizer) -> Sched {
    let f = |k: &str| arg(spec, k);
    let n = |k: &str| usize_arg(spec, k);
    match spec["type"].as_str().unwrap() {
        "LambdaLR" => match spec["lambda"].as_str().unwrap() {
            "inv_linear" => Box::new(LambdaLR::new(opt, |e| 1.0 / (1.0 + e as f64))),
            "pow95" => Box::new(LambdaLR::new(opt, |e| 0.95f64.powi(e as i32))),
            other => panic!("no lambda {other}"),
        },
        "LinearLR" => Box::new(LinearLR::new(
            opt,
            f("start_factor").unwrap_or(1.0 / 3.0),
            f("end_factor").unwrap_or(1.0),
            n("total_iters").unwrap_or(5),
        )),
        "ConstantLR" => Box::new(ConstantLR::new(
            opt,
            f("factor").unwrap_or(1.0 / 3.0),
            n("total_iters").unwrap_or(5),
        )),
        "OneCycleLR" => {
            let d = OneCycleLRConfig::default();
            let strategy = match spec["args"].get("anneal_strategy").and_then(Value::as_str) {
                Some("linear") => AnnealStrategy::Linear,
                _ => AnnealStrategy::Cos,
            };
            let config = OneCycleLRConfig {
                pct_start: f("pct_start").unwrap_or(d.pct_start),
                anneal_strategy: strategy,
                div_factor: f("div_factor").unwrap_or(d.div_factor),
                final_div_factor: f("final_div_factor").unwrap_or(d.final_div_factor),
                three_phase: spec["args"]
                    .get("three_phase")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                ..d
            };
            Box::new(OneCycleLR::new(
                opt,
                f("max_lr").unwrap(),
                n("total_steps").unwrap(),
                config,
            ))
        }
        "CosineAnnealingWarmRestarts" => Box::new(CosineAnnealingWarmRestarts::new(
            opt,
            n("T_0").unwrap(),
            n("T_mult").unwrap_or(1),
            f("eta_min").unwrap_or(0.0),
        )),
        "StepLR" => Box::new(StepLR::new(
            opt,
            n("step_size").unwrap(),
            f("gamma").unwrap_or(0.1),
        )),
        "MultiStepLR" => Box::new(MultiStepLR::new(
            opt,
            milestones(&spec["args"]["milestones"]),
            f("gamma").unwrap_or(0.1),
        )),
        "ExponentialLR" => Box::new(ExponentialLR::new(opt, f("gamma").unwrap())),
        "CosineAnnealingLR" => Box::new(CosineAnnealingLR::new(
            opt,
            n("T_max").unwrap(),
            f("eta_min").unwrap_or(0.0),
        )),
        "SequentialLR" => {
            let subs: Vec<Sched> = spec["schedulers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| build(s, opt))
                .collect();
            Box::new(SequentialLR::new(
                opt,
                subs,
                milestones(&spec["args"]["milestones"]),
            ))
        }
        "ChainedScheduler" => {
            let subs: Vec<Sched> = spec["schedulers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| build(s, opt))
                .collect();
            Box::new(ChainedScheduler::new(opt, subs))
        }
        other => panic!("no scheduler {other}"),
    }
}

fn optimizer(spec: &Value) -> Box<dyn Optimizer> {
    let p = vec![Tensor::new([1.0f32]).requires_grad_(true)];
    let lr = spec["args"]["lr"].as_f64().unwrap();
    match spec["type"].as_str().unwrap() {
        "SGD" => Box::new(optim::SGD::new(
            p,
            lr,
            spec["args"]["momentum"].as_f64().unwrap(),
        )),
        "Adam" => Box::new(optim::Adam::new(p, lr)),
        other => panic!("no optimizer {other}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

#[test]
fn every_scheduler_follows_pytorch_for_fifteen_steps() {
    let fx = load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sched_goldens.json"
    ));
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 18);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut opt = optimizer(&case["optimizer"]);
        let mut sched = build(&case["scheduler"], opt.as_mut());
        let want_lr: Vec<f64> = case["lrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let want_m: Option<Vec<f64>> = case
            .get("momentum")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| v.as_f64().unwrap()).collect());
        for (step, want) in want_lr.iter().enumerate() {
            if step > 0 {
                sched.step(opt.as_mut());
            }
            assert!(
                close(opt.lr(), *want),
                "{name} step {step}: lr {} vs PyTorch {want}",
                opt.lr()
            );
            assert!(
                close(sched.get_last_lr(), *want),
                "{name} step {step}: get_last_lr"
            );
            if let Some(m) = &want_m {
                let got = opt.momentum().unwrap();
                assert!(
                    close(got, m[step]),
                    "{name} step {step}: momentum {got} vs {}",
                    m[step]
                );
            }
        }
    }
}
