//! Convolution, pooling and BatchNorm2d against PyTorch: forward values and the gradients of
//! `(out * r).sum()`, from `fixtures/conv_goldens.json` (tools/goldens/gen_conv_goldens.py).
//! Each case runs in float64 (to 1e-10) and in float32 (to 1e-4, as the issue asks).

use serde_json::Value;
use tandem_core::ops::conv::{conv1d, conv2d, Conv2dArgs};
use tandem_core::ops::pool::{adaptive_avg_pool2d, avg_pool2d, max_pool2d, Pool2dArgs};
use tandem_core::testing;
use tandem_core::{DType, Tensor};
use tandem_nn::{BatchNorm2d, Module, Params};

fn cases(key: &str) -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conv_goldens.json"
    );
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all[key].as_array().unwrap().clone()
}

fn tensor(v: &Value, dt: DType) -> Tensor {
    testing::tensor_f64(v).to_dtype(dt)
}

fn pair(v: &Value) -> (usize, usize) {
    let a = v.as_array().unwrap();
    let n = |i: usize| a[i].as_u64().unwrap() as usize;
    if a.len() == 1 {
        (n(0), n(0))
    } else {
        (n(0), n(1))
    }
}

const PRECISIONS: [(DType, f64); 2] = [(DType::Float64, 1e-10), (DType::Float32, 1e-4)];

#[test]
fn conv2d_and_conv1d_match_pytorch_forward_and_backward() {
    for key in [
        "conv2d",
        "conv1d",
        "conv2d_valid_stride_1",
        "conv1d_valid_stride_1",
    ] {
        for c in cases(key) {
            for (dt, tol) in PRECISIONS {
                let name = format!("{key} {} {dt}", c["name"].as_str().unwrap());
                let x = tensor(&c["x"], dt).requires_grad_(true);
                let w = tensor(&c["w"], dt).requires_grad_(true);
                let b = (!c["b"].is_null()).then(|| tensor(&c["b"], dt).requires_grad_(true));
                let (stride, padding, dilation) = (
                    pair(&c["stride"]),
                    pair(&c["padding"]),
                    pair(&c["dilation"]),
                );
                let groups = c["groups"].as_u64().unwrap() as usize;
                let out = if key.starts_with("conv2d") {
                    let args = Conv2dArgs {
                        stride,
                        padding,
                        dilation,
                        groups,
                    };
                    conv2d(&x, &w, b.as_ref(), args)
                } else {
                    conv1d(&x, &w, b.as_ref(), stride.0, padding.0, dilation.0, groups)
                };
                testing::assert_close_json(&format!("{name} out"), &out, &c["out"], tol);
                (&out * &tensor(&c["r"], dt)).sum().backward();
                testing::assert_close_json(
                    &format!("{name} grad_x"),
                    &x.grad().unwrap(),
                    &c["grad_x"],
                    tol,
                );
                testing::assert_close_json(
                    &format!("{name} grad_w"),
                    &w.grad().unwrap(),
                    &c["grad_w"],
                    tol,
                );
                if let Some(b) = b {
                    testing::assert_close_json(
                        &format!("{name} grad_b"),
                        &b.grad().unwrap(),
                        &c["grad_b"],
                        tol,
                    );
                }
            }
        }
    }
}

#[test]
fn pooling_matches_pytorch_forward_and_backward() {
    for key in ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"] {
        for c in cases(key) {
            for (dt, tol) in PRECISIONS {
                let name = format!("{key} {} {dt}", c["name"].as_str().unwrap());
                let x = tensor(&c["x"], dt).requires_grad_(true);
                let out = if key == "adaptive_avg_pool2d" {
                    adaptive_avg_pool2d(&x, pair(&c["output_size"]))
                } else {
                    let args = Pool2dArgs {
                        kernel: pair(&c["kernel"]),
                        stride: pair(&c["stride"]),
                        padding: pair(&c["padding"]),
                        ceil_mode: c["ceil_mode"].as_bool().unwrap(),
                    };
                    if key == "max_pool2d" {
                        max_pool2d(&x, args)
                    } else {
                        avg_pool2d(&x, args, c["count_include_pad"].as_bool().unwrap())
                    }
                };
                testing::assert_close_json(&format!("{name} out"), &out, &c["out"], tol);
                (&out * &tensor(&c["r"], dt)).sum().backward();
                testing::assert_close_json(
                    &format!("{name} grad_x"),
                    &x.grad().unwrap(),
                    &c["grad_x"],
                    tol,
                );
            }
        }
    }
}

#[test]
fn batch_norm2d_matches_pytorch_in_training_and_evaluation() {
    for c in cases("batch_norm2d") {
        let name = c["name"].as_str().unwrap().to_string();
        let c_dim = c["weight"]["shape"][0].as_u64().unwrap() as usize;
        let mut bn = BatchNorm2d::new(c_dim);
        bn.weight = tensor(&c["weight"], DType::Float32).requires_grad_(true);
        bn.bias = tensor(&c["bias"], DType::Float32).requires_grad_(true);
        bn.running_mean = tensor(&c["running_mean_in"], DType::Float32);
        bn.running_var = tensor(&c["running_var_in"], DType::Float32);
        bn.set_training(c["training"].as_bool().unwrap());
        let x = tensor(&c["x"], DType::Float32).requires_grad_(true);
        let out = bn.forward(&x);
        testing::assert_close_json(&format!("{name} out"), &out, &c["out"], 1e-4);
        testing::assert_close_json(
            &format!("{name} running_mean"),
            &bn.running_mean,
            &c["running_mean_out"],
            1e-5,
        );
        testing::assert_close_json(
            &format!("{name} running_var"),
            &bn.running_var,
            &c["running_var_out"],
            1e-5,
        );
        (&out * &tensor(&c["r"], DType::Float32)).sum().backward();
        testing::assert_close_json(
            &format!("{name} grad_x"),
            &x.grad().unwrap(),
            &c["grad_x"],
            1e-4,
        );
        testing::assert_close_json(
            &format!("{name} grad_w"),
            &bn.weight.grad().unwrap(),
            &c["grad_weight"],
            1e-4,
        );
        testing::assert_close_json(
            &format!("{name} grad_b"),
            &bn.bias.grad().unwrap(),
            &c["grad_bias"],
            1e-4,
        );
    }
}
