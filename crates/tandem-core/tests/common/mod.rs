//! The expression language of the golden fixtures (see `tools/goldens/README.md`), evaluated
//! with tandem, and JSON <-> tensor helpers.
#![allow(dead_code)]

use serde_json::Value;
use tandem_core::testing::{self, dtype_named as dtype_of, numbers, shape as shape_of};
use tandem_core::{DType, Tensor};

pub fn load(name: &str) -> Value {
    testing::load_json(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// Asserts `got` has `shape` and matches `want` within `rtol` (relative, with the same
/// absolute floor).
pub fn assert_close(case: &str, got: &Tensor, want: &[f64], shape: &[usize], rtol: f64) {
    assert_eq!(got.shape(), shape, "{case}: shape");
    testing::assert_close_slice(case, got, want, rtol);
}

/// Builds an input tensor: data in `shape`, then the optional `permute` view.
pub fn input(v: &Value) -> Tensor {
    let shape = shape_of(&v["shape"]);
    let dtype = dtype_of(v["dtype"].as_str().expect("dtype"));
    let vals = numbers(&v["data"]);
    let t = Tensor::from_vec(vals, &shape).to_dtype(dtype);
    let t = match v.get("permute") {
        Some(p) => {
            let perm: Vec<isize> = p
                .as_array()
                .expect("perm")
                .iter()
                .map(|d| d.as_i64().unwrap() as isize)
                .collect();
            t.permute(&perm)
        }
        None => t,
    };
    if v.get("requires_grad").and_then(Value::as_bool) == Some(true) {
        t.requires_grad_(true)
    } else {
        t
    }
}

/// Expected values, shape and dtype of an `out` object.
pub fn expected(v: &Value) -> (Vec<f64>, Vec<usize>, Option<DType>) {
    (
        numbers(&v["data"]),
        shape_of(&v["shape"]),
        v.get("dtype").and_then(Value::as_str).map(dtype_of),
    )
}

fn attr<'a>(attrs: Option<&'a Value>, key: &str) -> &'a Value {
    attrs.and_then(|a| a.get(key)).unwrap_or(&Value::Null)
}

fn int(v: &Value) -> isize {
    v.as_i64()
        .unwrap_or_else(|| panic!("expected an int, got {v}")) as isize
}

fn ints(v: &Value) -> Vec<isize> {
    v.as_array()
        .map(|a| a.iter().map(int).collect())
        .unwrap_or_default()
}

fn opt_f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn scalar(v: &Value) -> tandem_core::Operand {
    if v.is_i64() {
        tandem_core::Operand::from(v.as_i64().unwrap())
    } else {
        tandem_core::Operand::from(v.as_f64().expect("number"))
    }
}

/// Evaluates an expression over `inputs`.
pub fn eval(e: &Value, inputs: &[Tensor]) -> Tensor {
    if let Some(name) = e.as_str() {
        let i: usize = name.trim_start_matches('x').parse().expect("input ref");
        return inputs[i].clone();
    }
    let items = e.as_array().expect("expression list");
    let op = items[0].as_str().expect("op name");
    let attrs = items.last().filter(|v| v.is_object());
    let args: Vec<&Value> = items[1..].iter().filter(|v| !v.is_object()).collect();
    let a = |i: usize| eval(args[i], inputs);
    let list = |i: usize| -> Vec<Tensor> {
        args[i]
            .as_array()
            .expect("list")
            .iter()
            .map(|x| eval(x, inputs))
            .collect()
    };
    let dims = || ints(attr(attrs, "dims"));
    let keepdim = || attr(attrs, "keepdim").as_bool().unwrap_or(false);
    let dim = || int(attr(attrs, "dim"));
    match op {
        "neg" => a(0).neg(),
        "abs" => a(0).abs(),
        "sign" => a(0).sign(),
        "round" => a(0).round(),
        "ceil" => a(0).ceil(),
        "floor" => a(0).floor(),
        "square" => a(0).square(),
        "sqrt" => a(0).sqrt(),
        "exp" => a(0).exp(),
        "log" => a(0).log(),
        "log1p" => a(0).log1p(),
        "expm1" => a(0).expm1(),
        "sin" => a(0).sin(),
        "cos" => a(0).cos(),
        "tanh" => a(0).tanh(),
        "sigmoid" => a(0).sigmoid(),
        "relu" => a(0).relu(),
        "reciprocal" => a(0).reciprocal(),
        "rsqrt" => a(0).rsqrt(),
        "logical_not" => a(0).logical_not(),
        "isnan" => a(0).isnan(),
        "contiguous" => a(0).contiguous(),
        "clamp" => {
            // A Python float bound promotes an integer tensor to float32; tandem's clamp keeps
            // the dtype, so the caller converts first (as a Rust user writes `.float()`).
            let (lo, hi) = (attr(attrs, "min"), attr(attrs, "max"));
            let x = a(0);
            let float_bound = lo.is_f64() || hi.is_f64();
            let x = if float_bound && !x.dtype().is_float() {
                x.float()
            } else {
                x
            };
            x.clamp(opt_f(lo), opt_f(hi))
        }
        "add" => a(0).add(a(1)),
        "sub" => a(0).sub(a(1)),
        "mul" => a(0).mul(a(1)),
        "div" => a(0).div(a(1)),
        "pow" => a(0).pow(a(1)),
        "maximum" => a(0).maximum(a(1)),
        "minimum" => a(0).minimum(a(1)),
        "eq" => a(0).eq(a(1)),
        "ne" => a(0).ne(a(1)),
        "lt" => a(0).lt(a(1)),
        "le" => a(0).le(a(1)),
        "gt" => a(0).gt(a(1)),
        "ge" => a(0).ge(a(1)),
        "logical_and" => a(0).logical_and(&a(1)),
        "logical_or" => a(0).logical_or(&a(1)),
        "add_scalar" => a(0).add(scalar(attr(attrs, "value"))),
        "sub_scalar" => a(0).sub(scalar(attr(attrs, "value"))),
        "rsub_scalar" => match attr(attrs, "value") {
            v if v.is_i64() => v.as_i64().unwrap() - &a(0),
            v => v.as_f64().unwrap() - &a(0),
        },
        "mul_scalar" => a(0).mul(scalar(attr(attrs, "value"))),
        "div_scalar" => a(0).div(scalar(attr(attrs, "value"))),
        "pow_scalar" => a(0).pow(scalar(attr(attrs, "exponent"))),
        "sum" => a(0).sum_dims(&dims(), keepdim()),
        "mean" => a(0).mean_dims(&dims(), keepdim()),
        "prod" => match attr(attrs, "dim") {
            Value::Null => a(0).prod(),
            d => a(0).prod_dims(&[int(d)], keepdim()),
        },
        "max" => a(0).max(),
        "min" => a(0).min(),
        "max_dim" => a(0).max_dim(dim(), keepdim()).0,
        "max_dim_indices" => a(0).max_dim(dim(), keepdim()).1,
        "min_dim" => a(0).min_dim(dim(), keepdim()).0,
        "argmax" => a(0).argmax(attr(attrs, "dim").as_i64().map(|d| d as isize), keepdim()),
        "argmin" => a(0).argmin(attr(attrs, "dim").as_i64().map(|d| d as isize), keepdim()),
        "var" => a(0).var_dims(&dims(), int(attr(attrs, "correction")) as usize, keepdim()),
        "std" => a(0).std_dims(&dims(), int(attr(attrs, "correction")) as usize, keepdim()),
        "logsumexp" => a(0).logsumexp(&dims(), keepdim()),
        "softmax" => a(0).softmax(dim()),
        "log_softmax" => a(0).log_softmax(dim()),
        "cumsum" => a(0).cumsum(dim()),
        "cumprod" => a(0).cumprod(dim()),
        "reshape" => a(0).reshape(&ints(attr(attrs, "shape"))),
        "transpose" => a(0).transpose(int(attr(attrs, "d0")), int(attr(attrs, "d1"))),
        "permute" => a(0).permute(&dims()),
        "unsqueeze" => a(0).unsqueeze(dim()),
        "squeeze" => a(0).squeeze(attr(attrs, "dim").as_i64().map(|d| d as isize)),
        "expand" => a(0).expand(&ints(attr(attrs, "shape"))),
        "narrow" => a(0).narrow(
            dim(),
            int(attr(attrs, "start")) as usize,
            int(attr(attrs, "length")) as usize,
        ),
        "select" => a(0).select(dim(), int(attr(attrs, "index"))),
        "slice" => a(0).slice(
            dim(),
            int(attr(attrs, "start")),
            int(attr(attrs, "end")),
            int(attr(attrs, "step")) as usize,
        ),
        "flatten" => a(0).flatten(int(attr(attrs, "start")), int(attr(attrs, "end"))),
        "t" => a(0).t(),
        "cat" => {
            let ts = list(0);
            Tensor::cat(&ts.iter().collect::<Vec<_>>(), dim())
        }
        "stack" => {
            let ts = list(0);
            Tensor::stack(&ts.iter().collect::<Vec<_>>(), dim())
        }
        "gather" => a(0).gather(dim(), &a(1)),
        "index_select" => a(0).index_select(dim(), &a(1)),
        "masked_fill" => a(0).masked_fill(&a(1), attr(attrs, "value").as_f64().expect("value")),
        "where" => Tensor::where_(&a(0), &a(1), &a(2)),
        "one_hot" => a(0).one_hot(int(attr(attrs, "num_classes")) as usize),
        "split_part" => a(0).split(int(attr(attrs, "size")) as usize, dim())
            [int(attr(attrs, "part")) as usize]
            .clone(),
        "chunk_part" => a(0).chunk(int(attr(attrs, "chunks")) as usize, dim())
            [int(attr(attrs, "part")) as usize]
            .clone(),
        "matmul" => a(0).matmul(&a(1)),
        "mm" => a(0).mm(&a(1)),
        "bmm" => a(0).bmm(&a(1)),
        "dot" => a(0).dot(&a(1)),
        "outer" => a(0).outer(&a(1)),
        "to" => a(0).to_dtype(dtype_of(attr(attrs, "dtype").as_str().expect("dtype"))),
        other => panic!("unknown op {other}"),
    }
}

/// Whether any op of the expression accumulates (reductions, products, scans, softmax).
pub fn accumulates(e: &Value) -> bool {
    const ACC: [&str; 17] = [
        "sum",
        "mean",
        "prod",
        "var",
        "std",
        "logsumexp",
        "softmax",
        "log_softmax",
        "cumsum",
        "cumprod",
        "matmul",
        "mm",
        "bmm",
        "dot",
        "max",
        "min",
        "pow",
    ];
    match e {
        Value::Array(items) => items
            .iter()
            .any(|v| matches!(v, Value::String(s) if ACC.contains(&s.as_str())) || accumulates(v)),
        _ => false,
    }
}

/// The seed's linear regression, PyTorch idiom: (cost, W, b) after each step.
pub fn seed_torch(steps: usize) -> Vec<(f32, f32, f32)> {
    let x = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let y = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let mut w = Tensor::new(2.9).requires_grad_(true);
    let mut b = Tensor::new(0.5).requires_grad_(true);
    let mut out = Vec::new();
    for _ in 0..steps {
        let hyp = &w * &x + &b;
        let cost = (&hyp - &y).pow(2).mean();
        let g = tandem_core::autograd::grad(&cost, &[&w, &b]);
        tandem_core::autograd::no_grad(|| {
            w -= 0.01 * &g[0];
            b -= 0.01 * &g[1];
        });
        out.push((cost.item(), w.item(), b.item()));
    }
    out
}

/// The seed's linear regression, TensorFlow idiom: (cost, W, b) after each step.
pub fn seed_tf(steps: usize) -> Vec<(f32, f32, f32)> {
    let x = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let y = Tensor::new([1.0, 2.0, 3.0, 4.0, 5.0]);
    let w = Tensor::variable(2.9);
    let b = Tensor::variable(0.5);
    let mut out = Vec::new();
    for _ in 0..steps {
        let tape = tandem_core::autograd::GradientTape::new();
        let hyp = &w * &x + &b;
        let cost = (&hyp - &y).square().mean();
        let g = tape.gradient(&cost, &[&w, &b]);
        w.assign_sub(&(0.01 * g[0].as_ref().unwrap()));
        b.assign_sub(&(0.01 * g[1].as_ref().unwrap()));
        out.push((cost.item(), w.item(), b.item()));
    }
    out
}
