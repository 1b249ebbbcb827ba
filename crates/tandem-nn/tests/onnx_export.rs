//! ONNX export: the exported files load in `tract-onnx` (an independent ONNX runtime in pure
//! Rust) and give tandem's outputs within 1e-5 at two batch sizes; an op without an ONNX form
//! is an error naming it.

use std::path::Path;
use tandem_core::Tensor;
use tandem_nn::functional as F;
use tandem_nn::*;

mod common;
use common::SeedMlp;
use tandem_core::testing::keep_for_onnxruntime;
use tract_onnx::prelude::*;

/// Runs the ONNX file at `path` on `x` with tract and returns the output. tract plans its
/// recurrent ops for a known batch size, so for those the input's shape is given to it first
/// (`concrete`); the other models run with the file's symbolic batch dimension.
fn run_tract_with(path: &Path, x: &Tensor, concrete: bool) -> Vec<f32> {
    let mut model = tract_onnx::onnx().model_for_path(path).unwrap();
    if concrete {
        model = model
            .with_input_fact(0, f32::fact(x.shape()).into())
            .unwrap();
    }
    let model = model.into_optimized().unwrap().into_runnable().unwrap();
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

/// The file's input and output have a symbolic first dimension and static others.
fn assert_dynamic_batch(path: &Path) {
    use prost::Message;
    use tandem_nn::onnx::proto::{tensor_shape_proto::dimension::Value, type_proto, ModelProto};
    let model = ModelProto::decode(std::fs::read(path).unwrap().as_slice()).unwrap();
    let graph = model.graph.unwrap();
    assert_eq!(model.opset_import[0].version, 17);
    for v in graph.input.iter().chain(&graph.output) {
        let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().unwrap().value.clone()
        else {
            panic!("{}: not a tensor", v.name)
        };
        let dims = t.shape.unwrap().dim;
        assert_eq!(
            dims[0].value,
            Some(Value::DimParam("batch".into())),
            "{}",
            v.name
        );
        assert!(dims[1..]
            .iter()
            .all(|d| matches!(d.value, Some(Value::DimValue(_)))));
    }
}

/// Exports `model` traced on a batch of 3, then checks tract's outputs against tandem's on
/// batches of 3 and 5.
fn check(name: &str, model: &mut impl Module, sample: &[usize], concrete: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.onnx"));
    let shape = |b: usize| [&[b][..], sample].concat();
    onnx::export(model, &tandem_core::rand(&shape(3)), &path).unwrap();
    assert_dynamic_batch(&path);
    for b in [3, 5] {
        let x = tandem_core::rand(&shape(b));
        let want = tandem_core::autograd::no_grad(|| model.forward(&x));
        let got = run_tract_with(&path, &x, concrete);
        keep_for_onnxruntime(&format!("{name}_b{b}"), &path, &x, &want.to_vec::<f32>());
        assert_eq!(got.len(), want.numel(), "{name}: batch {b}");
        for (i, (g, w)) in got.iter().zip(want.to_vec::<f32>()).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5,
                "{name}: batch {b}, element {i}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn seed_mlp_exports_and_runs_in_tract() {
    let mut m = SeedMlp::seed();
    check("seed_mlp", &mut m, &[1, 28, 28], false);
}

#[derive(Module)]
struct LessonCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    mp: MaxPool2d,
    bn: BatchNorm2d,
    drop: Dropout,
    fc: Linear,
}

impl Module for LessonCnn {
    fn forward(&self, x: &Tensor) -> Tensor {
        let n = x.size()[0] as isize;
        let x = F::relu(&self.mp.forward(&self.conv1.forward(x)));
        let x = F::relu(&self.mp.forward(&self.bn.forward(&self.conv2.forward(&x))));
        let x = self.drop.forward(&x.view(&[n, -1]));
        F::log_softmax(&self.fc.forward(&x), 1)
    }
}

#[test]
fn lesson_cnn_with_batchnorm_and_dropout_exports_and_runs_in_tract() {
    let mut m = LessonCnn {
        conv1: Conv2d::new(1, 10, 5),
        conv2: Conv2d::new(10, 20, 5),
        mp: MaxPool2d::new(2),
        bn: BatchNorm2d::new(20),
        drop: Dropout::new(0.5),
        fc: Linear::new(320, 10),
    };
    // running statistics that are not the initial ones
    m.train();
    for _ in 0..3 {
        m.forward(&tandem_core::randn(&[8, 1, 28, 28]));
    }
    check("lesson_cnn", &mut m, &[1, 28, 28], false);
}

#[derive(Module)]
struct SeqClassifier<R: Module> {
    rnn: R,
    fc: Linear,
}

impl Module for SeqClassifier<LSTM> {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (out, _) = self.rnn.forward_with(x, None);
        self.fc.forward(&out.select(1, -1))
    }
}

impl Module for SeqClassifier<GRU> {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (_, h_n) = self.rnn.forward_with(x, None);
        self.fc.forward(&h_n.select(0, -1))
    }
}

#[test]
fn two_layer_lstm_classifier_exports_as_onnx_lstm() {
    let mut m = SeqClassifier {
        rnn: LSTM::new(8, 16).num_layers(2).batch_first(true),
        fc: Linear::new(16, 5),
    };
    check("lstm", &mut m, &[7, 8], true);
}

#[test]
fn gru_exports_as_onnx_gru_with_its_final_state() {
    let m = SeqClassifier {
        rnn: GRU::new(6, 12),
        fc: Linear::new(12, 3),
    };
    // time-major input [T, B, F]: the batch is the second dimension here, so check by hand
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gru.onnx");
    let bytes = onnx::export_fn(
        |x| m.forward(&x.transpose(0, 1)),
        &tandem_core::rand(&[3, 9, 6]),
        &m.state_dict(),
    )
    .unwrap();
    onnx::write(&path, &bytes).unwrap();
    assert_dynamic_batch(&path);
    for b in [3, 5] {
        let x = tandem_core::rand(&[b, 9, 6]);
        let want = tandem_core::autograd::no_grad(|| m.forward(&x.transpose(0, 1)));
        let got = run_tract_with(&path, &x, true);
        keep_for_onnxruntime(&format!("gru_b{b}"), &path, &x, &want.to_vec::<f32>());
        for (g, w) in got.iter().zip(want.to_vec::<f32>()) {
            assert!((g - w).abs() <= 1e-5, "gru batch {b}: {g} vs {w}");
        }
    }
}

#[derive(Module)]
struct WithCumsum {
    fc: Linear,
}

impl Module for WithCumsum {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.fc.forward(x).cumsum(1)
    }
}

#[test]
fn an_op_without_an_onnx_form_is_an_error_naming_it() {
    let mut m = WithCumsum {
        fc: Linear::new(4, 3),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.onnx");
    match onnx::export(&mut m, &tandem_core::rand(&[2, 4]), &path) {
        Err(onnx::OnnxError::Unsupported { op, .. }) => assert_eq!(op, "CumsumBackward0"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(
        !path.exists(),
        "no file is written for a graph that cannot be expressed"
    );
}

#[derive(Module)]
struct CharRnn {
    embed: Embedding,
    rnn: RNN,
    fc: Linear,
}

impl Module for CharRnn {
    fn forward(&self, x: &Tensor) -> Tensor {
        let (out, _) = self.rnn.forward_with(&self.embed.forward(x), None);
        self.fc.forward(&out)
    }
}

#[test]
fn embedding_exports_as_gather_and_rnn_as_onnx_rnn() {
    let mut m = CharRnn {
        embed: Embedding::new(20, 8),
        rnn: RNN::new(8, 10).batch_first(true),
        fc: Linear::new(10, 20),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("char_rnn.onnx");
    let ids = |b: usize| {
        let v: Vec<i64> = (0..b * 6).map(|i| ((i * 7 + b) % 20) as i64).collect();
        Tensor::from_vec(v, &[b, 6])
    };
    onnx::export(&mut m, &ids(3), &path).unwrap();
    for b in [3, 5] {
        let x = ids(b);
        let want = tandem_core::autograd::no_grad(|| m.forward(&x)).to_vec::<f32>();
        let model = tract_onnx::onnx()
            .model_for_path(&path)
            .unwrap()
            .with_input_fact(0, i64::fact([b, 6]).into())
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let input = tract_ndarray::ArrayD::from_shape_vec(vec![b, 6], x.to_vec::<i64>()).unwrap();
        let out = model
            .run(tvec!(tract_onnx::prelude::Tensor::from(input).into()))
            .unwrap();
        let got: Vec<f32> = out[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5, "char rnn batch {b}: {g} vs {w}");
        }
        keep_for_onnxruntime(&format!("char_rnn_b{b}"), &path, &x, &want);
    }
}

#[derive(Module)]
struct Centered {
    fc: Linear,
}

impl Module for Centered {
    fn forward(&self, x: &Tensor) -> Tensor {
        // the mean is taken outside the recorded ops: its value depends on the input
        let mean = x.detach().mean();
        self.fc.forward(&(x - &mean))
    }
}

#[derive(Module)]
struct FlattenAll {
    fc: Linear,
}

impl Module for FlattenAll {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.fc.forward(x).view(&[-1]).relu()
    }
}

#[test]
fn values_computed_off_the_graph_are_refused_and_batch_merging_reshapes_stay_dynamic() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Centered {
        fc: Linear::new(4, 3),
    };
    match onnx::export(
        &mut m,
        &tandem_core::rand(&[2, 4]),
        dir.path().join("c.onnx"),
    ) {
        Err(onnx::OnnxError::Unsupported { detail, .. }) => {
            assert!(detail.contains("outside the recorded ops"), "{detail}")
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    // [B, 3] -> [B * 3]: the target must be -1, not a copy of B
    let mut f = FlattenAll {
        fc: Linear::new(4, 3),
    };
    let path = dir.path().join("f.onnx");
    onnx::export(&mut f, &tandem_core::rand(&[2, 4]), &path).unwrap();
    for b in [2, 5] {
        let x = tandem_core::rand(&[b, 4]);
        let want = tandem_core::autograd::no_grad(|| f.forward(&x)).to_vec::<f32>();
        let got = run_tract_with(&path, &x, true);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5);
        }
    }
}

#[derive(Module)]
struct InceptionBranch {
    conv: Conv2d,
}

impl Module for InceptionBranch {
    fn forward(&self, x: &Tensor) -> Tensor {
        // lesson 11's pooling branch: F.avg_pool2d(x, 3, stride=1, padding=1), then a 1x1 conv
        let args = tandem_core::ops::pool::Pool2dArgs {
            kernel: (3, 3),
            stride: (1, 1),
            padding: (1, 1),
            ceil_mode: false,
        };
        let pooled = F::avg_pool2d(x, args, true);
        Tensor::cat(&[&self.conv.forward(&pooled), &pooled], 1)
    }
}

#[test]
fn average_pooling_and_concatenation_export() {
    let mut m = InceptionBranch {
        conv: Conv2d::new(3, 4, 1),
    };
    check("inception_branch", &mut m, &[3, 6, 6], false);
}
