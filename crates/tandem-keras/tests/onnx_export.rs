//! Keras models exported to ONNX run in `tract-onnx` and give `predict`'s outputs within 1e-5
//! at two batch sizes: the channels-last CNN of lesson 11-1 and a Dense model with
//! BatchNormalization and Dropout, with the weights Keras 3 wrote.

use std::path::Path;
use tandem_core::testing::keep_for_onnxruntime;
use tandem_core::{DType, Tensor};
use tandem_keras::layers::{BatchNormalization, Dense, Dropout};
use tandem_keras::Sequential;
use tract_onnx::prelude::*;

mod common;
use common::{cnn_11_1, format_fixture as fixture};

fn run_tract(path: &Path, x: &Tensor) -> Vec<f32> {
    let model = tract_onnx::onnx()
        .model_for_path(path)
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let input = tract_ndarray::ArrayD::from_shape_vec(x.shape(), x.to_vec::<f32>()).unwrap();
    let out = model
        .run(tvec!(tract_onnx::prelude::Tensor::from(input).into()))
        .unwrap();
    out[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}

fn check(name: &str, model: &mut Sequential, sample: &[usize]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.onnx"));
    let shape = |b: usize| [&[b][..], sample].concat();
    model
        .export_onnx(&tandem_core::rand(&shape(2)), &path)
        .unwrap();
    for b in [2, 4] {
        let x = tandem_core::rand(&shape(b));
        let want = model.predict(&x).to_vec::<f32>();
        let got = run_tract(&path, &x);
        keep_for_onnxruntime(&format!("keras_{name}_b{b}"), &path, &x, &want);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5, "{name}, batch {b}: {g} vs {w}");
        }
    }
}

#[test]
fn keras_cnn_exports_channels_last_and_runs_in_tract() {
    let mut m = cnn_11_1();
    m.load_weights(fixture("cnn_11_1.weights.h5")).unwrap();
    check("cnn_11_1", &mut m, &[28, 28, 1]);
}

#[test]
fn keras_dense_batchnorm_dropout_exports_in_inference_mode() {
    let mut m = Sequential::new(vec![
        Box::new(Dense::new(16).activation("relu").input_dim(20)),
        Box::new(BatchNormalization::new()),
        Box::new(Dropout::new(0.5)),
        Box::new(Dense::new(3).activation("softmax")),
    ]);
    m.predict(&tandem_core::zeros(&[1, 20], DType::Float32));
    // the fixture's weights, layer by layer (Dropout has none)
    let file = Sequential::new(vec![
        Box::new(Dense::new(16).activation("relu").input_dim(20)),
        Box::new(BatchNormalization::new()),
        Box::new(Dense::new(3).activation("softmax")),
    ]);
    file.load_weights(fixture("dense_bn.weights.h5")).unwrap();
    for (dst, src) in m.weights().iter().zip(file.weights()) {
        tandem_core::autograd::no_grad(|| {
            dst.detach().copy_(&src);
        });
    }
    check("dense_bn", &mut m, &[20]);
}
