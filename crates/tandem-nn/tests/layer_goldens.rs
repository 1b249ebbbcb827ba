//! The layers of the PyTorch examples users port next, against PyTorch in float64
//! (`fixtures/layer_goldens.json`, from `tools/goldens/gen_layer_goldens.py`): outputs and the
//! gradients of `(out * r).sum()` with respect to the input(s) and every parameter.

use serde_json::Value;
use tandem_core::testing::{assert_close_json, load_json, tensor_f64};
use tandem_core::{autograd, Tensor};
use tandem_nn::functional as F;
use tandem_nn::*;

fn pair(v: &Value, key: &str, default: usize) -> (usize, usize) {
    match v.get(key) {
        Some(Value::Array(a)) => (
            a[0].as_u64().unwrap() as usize,
            a[1].as_u64().unwrap() as usize,
        ),
        Some(n) => {
            let n = n.as_u64().unwrap() as usize;
            (n, n)
        }
        None => (default, default),
    }
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// The case's module applied to its inputs, with the parameters (float64) it was given.
fn apply(case: &Value, x: &Tensor, x2: Option<&Tensor>, params: &[Tensor]) -> Tensor {
    let a = &case["args"];
    let u = |k: &str, d: usize| a.get(k).and_then(Value::as_u64).map_or(d, |v| v as usize);
    match case["module"].as_str().unwrap() {
        "ConvTranspose2d" => F::conv_transpose2d(
            x,
            &params[0],
            params.get(1),
            pair(a, "stride", 1),
            pair(a, "padding", 0),
            pair(a, "output_padding", 0),
            u("groups", 1),
            pair(a, "dilation", 1),
        ),
        "Upsample" => {
            let mode = match a["mode"].as_str().unwrap() {
                "nearest" => F::InterpolationMode::Nearest,
                _ => F::InterpolationMode::Bilinear {
                    align_corners: a
                        .get("align_corners")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                },
            };
            let size = a.get("size").map(|_| pair(a, "size", 0));
            F::interpolate(x, size, num(a, "scale_factor"), mode)
        }
        "MaxPool1d" => {
            MaxPool1d::with_options(u("kernel_size", 1), u("stride", 1), u("padding", 0)).forward(x)
        }
        "AvgPool1d" => AvgPool1d::with_options(
            u("kernel_size", 1),
            u("stride", 1),
            u("padding", 0),
            a["count_include_pad"].as_bool().unwrap(),
        )
        .forward(x),
        "Unflatten" => {
            let sizes: Vec<usize> = a["unflattened_size"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            Unflatten::new(a["dim"].as_i64().unwrap() as isize, &sizes).forward(x)
        }
        "PixelShuffle" => PixelShuffle(u("upscale_factor", 1)).forward(x),
        "Bilinear" => Bilinear {
            weight: params[0].clone(),
            bias: params.get(1).cloned(),
        }
        .forward2(x, x2.unwrap()),
        "Softplus" => Softplus {
            beta: num(a, "beta").unwrap_or(1.0),
            threshold: num(a, "threshold").unwrap_or(20.0),
        }
        .forward(x),
        "Mish" => Mish.forward(x),
        "Hardswish" => Hardswish.forward(x),
        "SiLU" => SiLU.forward(x),
        other => panic!("no module {other}"),
    }
}

#[test]
fn new_layers_match_pytorch_outputs_and_gradients() {
    let fx = load_json(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/layer_goldens.json"
    ));
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 17);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let x = tensor_f64(&case["x"]).requires_grad_(true);
        let x2 = (!case["x2"].is_null()).then(|| tensor_f64(&case["x2"]).requires_grad_(true));
        let params: Vec<Tensor> = case["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| tensor_f64(&p[1]).requires_grad_(true))
            .collect();
        let out = apply(case, &x, x2.as_ref(), &params);
        assert_close_json(&format!("{name} out"), &out, &case["out"], 1e-10);
        let r = tensor_f64(&case["r"]);
        let mut wrt: Vec<&Tensor> = vec![&x];
        wrt.extend(x2.as_ref());
        wrt.extend(params.iter());
        let grads = autograd::grad(&(&out * &r).sum(), &wrt);
        assert_close_json(&format!("{name} grad_x"), &grads[0], &case["grad_x"], 1e-10);
        let mut k = 1;
        if x2.is_some() {
            assert_close_json(
                &format!("{name} grad_x2"),
                &grads[1],
                &case["grad_x2"],
                1e-10,
            );
            k = 2;
        }
        for (i, g) in case["grads"].as_array().unwrap().iter().enumerate() {
            let pname = g[0].as_str().unwrap();
            assert_close_json(&format!("{name} grad {pname}"), &grads[k + i], &g[1], 1e-10);
        }
    }
}

#[test]
fn modules_have_pytorchs_parameter_shapes() {
    let up = ConvTranspose2d::new(3, 6, 3);
    assert_eq!(up.weight.shape(), &[3, 6, 3, 3]);
    assert_eq!(up.bias.as_ref().unwrap().shape(), &[6]);
    let grouped = ConvTranspose2d::with_options(4, 6, (2, 3), 2, false);
    assert_eq!(grouped.weight.shape(), &[4, 3, 2, 3]);
    let y = ConvTranspose2d::new(2, 4, 3)
        .stride(2)
        .padding(1)
        .output_padding(1)
        .forward(&tandem_core::rand(&[1, 2, 5, 7]));
    assert_eq!(y.shape(), &[1, 4, 10, 14]);
    let b = Bilinear::new(3, 4, 5);
    assert_eq!(b.weight.shape(), &[5, 3, 4]);
    let mut names = Vec::new();
    b.visit("", &mut |n, _| names.push(n.to_string()));
    assert_eq!(names, ["weight", "bias"]);
}

/// A float64 input of `shape` with distinct values in about (-1, 1).
fn input(shape: &[usize], seed: u64) -> Tensor {
    tandem_core::manual_seed(seed);
    (tandem_core::rand(shape).double() * 2.0 - 1.0).requires_grad_(true)
}

#[test]
fn the_new_ops_pass_gradcheck() {
    use tandem_core::autograd::gradcheck;
    let check = |name: &str, f: &dyn Fn(&[Tensor]) -> Tensor, xs: &[Tensor]| {
        gradcheck(f, xs, 1e-6, 1e-7, 1e-5).unwrap_or_else(|e| panic!("{name}: {e}"));
    };
    check(
        "conv_transpose2d",
        &|t| F::conv_transpose2d(&t[0], &t[1], Some(&t[2]), (2, 1), (1, 0), (1, 0), 2, (1, 2)),
        &[
            input(&[1, 4, 3, 3], 1),
            input(&[4, 1, 3, 2], 2),
            input(&[2], 3),
        ],
    );
    check(
        "interpolate bilinear",
        &|t| {
            F::interpolate(
                &t[0],
                Some((5, 3)),
                None,
                F::InterpolationMode::Bilinear {
                    align_corners: false,
                },
            )
        },
        &[input(&[1, 2, 3, 4], 4)],
    );
    check(
        "pad",
        &|t| t[0].pad(&[1, 2, 0, 3], 0.5),
        &[input(&[2, 3, 2], 5)],
    );
    check(
        "index_copy",
        &|t| t[0].index_copy(1, &Tensor::from_vec(vec![2i64, 0], &[2]), &t[1]),
        &[input(&[2, 3], 6), input(&[2, 2], 7)],
    );
    check(
        "softplus",
        &|t| F::softplus(&t[0], 2.0, 1.0),
        &[input(&[7], 8)],
    );
    check("mish", &|t| F::mish(&t[0]), &[input(&[7], 9)]);
    check(
        "pixel_shuffle",
        &|t| F::pixel_shuffle(&t[0], 2),
        &[input(&[1, 4, 2, 3], 10)],
    );
    check(
        "bilinear",
        &|t| {
            Bilinear {
                weight: t[2].clone(),
                bias: None,
            }
            .forward2(&t[0], &t[1])
        },
        &[
            input(&[2, 3], 11),
            input(&[2, 2], 12),
            input(&[4, 3, 2], 13),
        ],
    );
}
