//! Helpers shared by the workspace's tests (feature `testing`): reading the JSON fixtures
//! that the golden scripts in `tools/goldens/` write, and comparing tensors with a tolerance.
//!
//! A fixture tensor is `{"shape": [...], "data": [...]}` with an optional `"dtype"`; data are
//! written as float64 (booleans as 0/1), so float32 goldens lose nothing.
//!
//! ```
//! use tandem_core::{testing, Tensor};
//! let want = serde_json::json!({"shape": [2], "data": [1.0, 2.0]});
//! testing::assert_close_json("x", &Tensor::new([1.0f32, 2.0]), &want, 1e-6);
//! ```

use crate::{DType, Tensor};
use serde_json::Value;
use std::path::Path;

/// Reads and parses a JSON fixture, panicking with the path when it cannot.
pub fn load_json(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The dtype named as numpy and PyTorch name it (`"float32"`, `"int64"`, `"bool"`, ...).
pub fn dtype_named(name: &str) -> DType {
    match name {
        "float32" => DType::Float32,
        "float64" => DType::Float64,
        "int64" => DType::Int64,
        "int32" => DType::Int32,
        "uint8" => DType::UInt8,
        "bool" => DType::Bool,
        other => panic!("unknown dtype {other}"),
    }
}

/// A fixture's `shape`.
pub fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap_or_else(|| panic!("a shape must be an array, got {v}"))
        .iter()
        .map(|d| d.as_u64().expect("a dimension") as usize)
        .collect()
}

/// A fixture's `data`, as float64 (booleans as 0 and 1; JSON has no infinities, so they are
/// written as the strings `"inf"` and `"-inf"`).
pub fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("data must be an array, got {v}"))
        .iter()
        .map(|x| match x {
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
            Value::String(s) if s == "inf" => f64::INFINITY,
            other => other.as_f64().expect("a number"),
        })
        .collect()
}

/// A fixture tensor as float64, whatever its `dtype` says.
pub fn tensor_f64(v: &Value) -> Tensor {
    Tensor::from_vec(numbers(&v["data"]), &shape(&v["shape"]))
}

/// A fixture tensor in its own `dtype` (float64 when it names none).
pub fn tensor(v: &Value) -> Tensor {
    let t = tensor_f64(v);
    match v.get("dtype").and_then(Value::as_str) {
        Some(name) => t.to_dtype(dtype_named(name)),
        None => t,
    }
}

/// Asserts that `got` has `want`'s shape and that every element is within `tol` of it,
/// relative with the same absolute floor: `|got - want| <= tol * (1 + |want|)`; NaN matches
/// NaN. The message names `what`, the element and both values.
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_close_slice(what, got, &want.to_vec::<f64>(), tol);
}

/// [`assert_close`] against a fixture tensor.
pub fn assert_close_json(what: &str, got: &Tensor, want: &Value, tol: f64) {
    assert_close(what, got, &tensor_f64(want), tol);
}

/// [`assert_close`] against plain values (the shapes are not compared).
pub fn assert_close_slice(what: &str, got: &Tensor, want: &[f64], tol: f64) {
    let g = got.to_vec::<f64>();
    assert_eq!(g.len(), want.len(), "{what}: number of elements");
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        let ok = (a - b).abs() <= tol * (1.0 + b.abs()) || (a.is_nan() && b.is_nan());
        assert!(ok, "{what}[{i}]: got {a}, want {b} (tolerance {tol})");
    }
}

/// With `TANDEM_ONNX_CHECK_DIR` set, keeps an exported ONNX file there as `NAME.onnx` with
/// its input (float32 or int64) and tandem's output as `NAME.json`, for
/// `tools/goldens/check_onnx_runtime.py` to run in onnxruntime; does nothing otherwise.
pub fn keep_for_onnxruntime(name: &str, onnx: &Path, input: &Tensor, output: &[f32]) {
    let Ok(dir) = std::env::var("TANDEM_ONNX_CHECK_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).expect("the check directory");
    std::fs::copy(onnx, dir.join(format!("{name}.onnx"))).expect("a copy of the ONNX file");
    let data = match input.dtype() {
        DType::Int64 => serde_json::json!(input.to_vec::<i64>()),
        _ => serde_json::json!(input.to_dtype(DType::Float32).to_vec::<f32>()),
    };
    let json = serde_json::json!({
        "input": {"shape": input.shape(), "data": data, "dtype": input.dtype().tf_name()},
        "output": output,
    });
    std::fs::write(dir.join(format!("{name}.json")), json.to_string()).expect("the JSON file");
}

/// `count` copies of `bytes`, each with one bit flipped at a place drawn by a xorshift
/// generator from `seed`: inputs for the tests that a corrupt file is an error, never a panic.
pub fn bit_flips(bytes: &[u8], count: usize, seed: u64) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut rng = seed.max(1);
    (0..count).map(move |_| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut bad = bytes.to_vec();
        let at = (rng as usize) % bad.len();
        bad[at] ^= 1 << (rng >> 60 & 7);
        bad
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "x[1]: got 2.09")]
    fn a_difference_beyond_the_tolerance_names_the_element() {
        let want = serde_json::json!({"shape": [2], "data": [1.0, 2.0]});
        assert_close_json("x", &Tensor::new([1.0f64, 2.1]), &want, 1e-3);
    }

    #[test]
    fn fixture_dtypes_are_applied() {
        let v = serde_json::json!({"shape": [3], "data": [0, 1, 1], "dtype": "bool"});
        assert_eq!(tensor(&v).dtype(), DType::Bool);
    }
}
