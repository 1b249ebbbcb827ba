//! Reading golden tensors written by the scripts in tools/goldens/.

use serde_json::Value;
use tandem_core::Tensor;

/// A `{"shape": [...], "data": [...]}` fixture entry as a float64 tensor.
pub fn f64_tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data: Vec<f64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    Tensor::from_vec(data, &shape)
}
