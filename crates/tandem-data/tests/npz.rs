//! `.npz` archives written by NumPy (`tools/goldens/gen_format_goldens.py`): every array with
//! its dtype, shape and values, compressed or stored; Keras's `mnist.npz` layout loads as
//! MNIST; corrupt archives are typed errors.

use serde_json::Value;
use std::path::{Path, PathBuf};
use tandem_core::testing::bit_flips;
use tandem_core::DType;
use tandem_data::{npz, DataError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npz")
        .join(name)
}

fn goldens() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("arrays.json")).unwrap()).unwrap()
}

fn values(t: &tandem_core::Tensor) -> Vec<f64> {
    match t.dtype() {
        DType::Float32 => t.to_vec::<f32>().into_iter().map(f64::from).collect(),
        DType::Float64 => t.to_vec::<f64>(),
        DType::Int64 => t.to_vec::<i64>().into_iter().map(|v| v as f64).collect(),
        DType::Int32 => t.to_vec::<i32>().into_iter().map(f64::from).collect(),
        DType::UInt8 => t.to_vec::<u8>().into_iter().map(f64::from).collect(),
        DType::Bool => t
            .to_vec::<bool>()
            .into_iter()
            .map(|b| f64::from(u8::from(b)))
            .collect(),
    }
}

#[test]
fn numpy_archives_read_with_dtypes_shapes_and_values() {
    let g = goldens();
    for file in ["arrays.npz", "arrays_stored.npz"] {
        let arrays = npz::read_npz(fixture(file)).unwrap();
        let names: Vec<&str> = arrays.iter().map(|(k, _)| k.as_str()).collect();
        let order: Vec<&str> = g["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names, order, "{file}");
        for (name, t) in &arrays {
            let want = &g[name.as_str()];
            let dtype = match want["dtype"].as_str().unwrap() {
                "uint8" => DType::UInt8,
                "float32" => DType::Float32,
                "float64" => DType::Float64,
                "int64" => DType::Int64,
                "int32" | "int16" => DType::Int32, // int16 widens
                "bool" => DType::Bool,
                other => panic!("{other}"),
            };
            assert_eq!(t.dtype(), dtype, "{file}[{name}]");
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(t.shape(), shape.as_slice(), "{file}[{name}]");
            let expect: Vec<f64> = want["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    v.as_f64()
                        .unwrap_or_else(|| f64::from(u8::from(v.as_bool().unwrap())))
                })
                .collect();
            let got = values(t);
            for (a, b) in got.iter().zip(&expect) {
                // float32 values were written as the float64 equal to them
                assert_eq!(a.to_bits(), b.to_bits(), "{file}[{name}]: {a} vs {b}");
            }
        }
    }
}

#[test]
fn a_keras_mnist_npz_loads_as_mnist() {
    let g = &goldens()["mnist_mini"];
    let loaded = tandem_data::mnist::load_npz(fixture("mnist_mini.npz")).unwrap();
    assert_eq!(loaded.x_train.shape(), &[3, 28, 28]);
    assert_eq!(loaded.x_test.shape(), &[2, 28, 28]);
    let labels = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect()
    };
    assert_eq!(loaded.y_train.to_vec::<i64>(), labels(&g["y_train"]));
    assert_eq!(loaded.y_test.to_vec::<i64>(), labels(&g["y_test"]));
    let sum: i64 = loaded
        .x_train
        .to_vec::<u8>()
        .iter()
        .map(|&v| i64::from(v))
        .sum();
    assert_eq!(sum, g["x_train_sum"].as_i64().unwrap());
    // the same digits as the embedded sample's first ones
    let sample = tandem_data::mnist::sample();
    assert_eq!(
        loaded.x_train.to_vec::<u8>(),
        sample.x_train.narrow(0, 0, 3).contiguous().to_vec::<u8>()
    );
    // an archive without the four arrays is an error naming what is missing
    match tandem_data::mnist::load_npz(fixture("arrays.npz")) {
        Err(e @ DataError::Npz { .. }) => assert!(e.to_string().contains("x_test"), "{e}"),
        Err(e @ DataError::Shape { .. }) => assert!(e.to_string().contains("x_train"), "{e}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn truncated_and_corrupted_archives_are_typed_errors() {
    for file in ["arrays.npz", "arrays_stored.npz"] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        for cut in [0, 10, 100, bytes.len() / 2, bytes.len() - 5] {
            assert!(
                matches!(
                    npz::read_npz_bytes(file, &bytes[..cut]),
                    Err(DataError::Npz { .. })
                ),
                "{file} cut at {cut}"
            );
        }
        for bad in bit_flips(&bytes, 300, 0x853c49e6748fea9b) {
            let _ = npz::read_npz_bytes(file, &bad); // an error or arrays, never a panic
        }
    }
}
