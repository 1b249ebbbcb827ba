//! Keras 3 `.weights.h5` files (fixtures written by Keras 3.15.1 through
//! `tools/goldens/gen_format_goldens.py`) load into tandem's Keras models and give Keras's
//! predictions; what `save_weights` writes has Keras's layout and reads back; bad files are
//! typed errors.

use serde_json::Value;
use tandem_core::testing::{assert_close_json, bit_flips, load_json, tensor};
use tandem_core::DType;
use tandem_keras::layers::{BatchNormalization, Dense};
use tandem_keras::{self as keras, KerasError, Sequential};
use tandem_nn::CheckpointError;

mod common;
use common::{cnn_11_1 as cnn, format_fixture as fixture};

fn goldens() -> Value {
    load_json(fixture("keras_formats.json"))
}

/// Dense(16, relu) - BatchNormalization - Dense(3, softmax) on 20 features.
fn dense_bn() -> Sequential {
    let mut m = keras::Sequential::new(vec![
        Box::new(Dense::new(16).activation("relu").input_dim(20)),
        Box::new(BatchNormalization::new()),
        Box::new(Dense::new(3).activation("softmax")),
    ]);
    m.predict(&tandem_core::zeros(&[1, 20], DType::Float32));
    m
}

fn check_predictions(model: &mut Sequential, case: &str) {
    let g = &goldens()[case];
    let x = tensor(&g["input"]).to_dtype(DType::Float32);
    assert_close_json(case, &model.predict(&x), &g["output"], 1e-5);
}

#[test]
fn keras_cnn_weights_h5_gives_keras_predictions() {
    let mut m = cnn();
    m.load_weights(fixture("cnn_11_1.weights.h5")).unwrap();
    check_predictions(&mut m, "cnn_11_1");
}

#[test]
fn keras_dense_batchnorm_weights_h5_gives_keras_predictions() {
    let mut m = dense_bn();
    m.load_weights(fixture("dense_bn.weights.h5")).unwrap();
    check_predictions(&mut m, "dense_bn");
}

#[test]
fn save_weights_h5_has_keras_layout_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.weights.h5");
    let source = dense_bn();
    source.load_weights(fixture("dense_bn.weights.h5")).unwrap();
    source.save_weights(&path).unwrap();
    // every layer dataset Keras writes, with its shape (the optimizer's are not model weights)
    let file = hdf5_pure::File::open(&path).unwrap();
    for entry in goldens()["dense_bn"]["h5_datasets"].as_array().unwrap() {
        let key = entry[0].as_str().unwrap();
        if key.starts_with("optimizer/") {
            continue;
        }
        let shape: Vec<u64> = entry[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        assert_eq!(file.dataset(key).unwrap().shape().unwrap(), shape, "{key}");
    }
    for (group, attrs) in goldens()["dense_bn"]["h5_attrs"].as_object().unwrap() {
        if group.starts_with("optimizer") {
            continue;
        }
        let name = file.group(group).unwrap().attrs().unwrap()["name"].clone();
        assert!(
            format!("{name:?}").contains(attrs["name"].as_str().unwrap()),
            "{group}: {name:?}"
        );
    }
    let mut back = dense_bn();
    back.load_weights(&path).unwrap();
    check_predictions(&mut back, "dense_bn");
}

#[test]
fn a_model_that_does_not_match_the_file_is_a_typed_error_and_keeps_its_weights() {
    let mut m = keras::Sequential::new(vec![
        Box::new(Dense::new(8).input_dim(20)),
        Box::new(Dense::new(3)),
    ]);
    m.predict(&tandem_core::zeros(&[1, 20], DType::Float32));
    let before: Vec<Vec<f32>> = m.weights().iter().map(|w| w.to_vec::<f32>()).collect();
    match m.load_weights(fixture("dense_bn.weights.h5")) {
        Err(KerasError::Checkpoint(CheckpointError::Mismatch { mismatched, .. })) => {
            assert_eq!(mismatched[0].0, "layers/dense/vars/0");
            assert_eq!(mismatched[0].1, [20, 16]);
            assert_eq!(mismatched[0].2, [20, 8]);
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    let after: Vec<Vec<f32>> = m.weights().iter().map(|w| w.to_vec::<f32>()).collect();
    assert_eq!(before, after);
}

#[test]
fn truncated_and_corrupted_h5_files_are_typed_errors() {
    let bytes = std::fs::read(fixture("dense_bn.weights.h5")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.weights.h5");
    let m = dense_bn();
    for cut in [0, 8, 100, 1000, bytes.len() / 2] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(
            matches!(
                m.load_weights(&path),
                Err(KerasError::Checkpoint(CheckpointError::Format { .. }))
                    | Err(KerasError::Checkpoint(CheckpointError::Mismatch { .. }))
            ),
            "truncated at {cut}"
        );
    }
    for bad in bit_flips(&bytes, 200, 0x2545f4914f6cdd1d) {
        std::fs::write(&path, &bad).unwrap();
        let _ = m.load_weights(&path); // an error or a load, never a panic
    }
}

#[test]
fn keras_archives_from_keras_load_with_architecture_and_weights() {
    for case in ["cnn_11_1", "dense_bn"] {
        let mut m = keras::saving::load_model(fixture(&format!("{case}.keras"))).unwrap();
        let names: Vec<String> = m.summary().lines().map(str::to_string).collect();
        assert!(names.iter().any(|l| l.contains(if case == "dense_bn" {
            "batch_normalization"
        } else {
            "max_pooling2d_1"
        })));
        check_predictions(&mut m, case);
    }
}

#[test]
fn a_saved_archive_loads_back_and_keeps_keras_layout() {
    let dir = tempfile::tempdir().unwrap();
    for case in ["cnn_11_1", "dense_bn"] {
        let path = dir.path().join(format!("{case}.keras"));
        let source = if case == "cnn_11_1" {
            cnn()
        } else {
            dense_bn()
        };
        source
            .load_weights(fixture(&format!("{case}.weights.h5")))
            .unwrap();
        source.save(&path).unwrap();
        let mut back = keras::saving::load_model(&path).unwrap();
        check_predictions(&mut back, case);
        // the archive holds the three entries Keras writes, the config with Keras's classes
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
        for want in ["metadata.json", "config.json", "model.weights.h5"] {
            assert!(names.iter().any(|n| n == want), "{names:?}");
        }
        let config: Value = serde_json::from_reader(zip.by_name("config.json").unwrap()).unwrap();
        let classes: Vec<&str> = config["config"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["class_name"].as_str().unwrap())
            .collect();
        let g = goldens();
        let want: Vec<&str> = g[case]["keras_archive"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l[0].as_str().unwrap())
            .collect();
        assert_eq!(classes, want);
    }
}

#[test]
fn archives_tandem_cannot_represent_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // a layer class tandem does not have
    let bytes = std::fs::read(fixture("dense_bn.keras")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut config: Value = serde_json::from_reader(zip.by_name("config.json").unwrap()).unwrap();
    config["config"]["layers"][2]["class_name"] = "LayerNormalization".into();
    let path = dir.path().join("other.keras");
    {
        let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for name in ["metadata.json", "model.weights.h5"] {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut zip.by_name(name).unwrap(), &mut data).unwrap();
            out.start_file(name, opts).unwrap();
            std::io::Write::write_all(&mut out, &data).unwrap();
        }
        out.start_file("config.json", opts).unwrap();
        std::io::Write::write_all(&mut out, config.to_string().as_bytes()).unwrap();
        out.finish().unwrap();
    }
    match keras::saving::load_model(&path) {
        Err(KerasError::Archive { reason, .. }) => {
            assert!(reason.contains("LayerNormalization"), "{reason}")
        }
        other => panic!("expected an archive error, got {:?}", other.map(|_| ())),
    }
    // truncated archives
    let bytes = std::fs::read(fixture("cnn_11_1.keras")).unwrap();
    for cut in [0, 30, bytes.len() / 2, bytes.len() - 10] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(
            keras::saving::load_model(&path).is_err(),
            "truncated at {cut}"
        );
    }
    // bit flips anywhere (zip headers, config.json, the HDF5 inside): an error or a model,
    // never a panic
    for bad in bit_flips(&bytes, 200, 0x9e3779b97f4a7c15) {
        std::fs::write(&path, &bad).unwrap();
        let _ = keras::saving::load_model(&path);
    }
}
