//! ONNX export (`torch.onnx.export`): one forward pass is traced through the engine's recorded
//! ops and written as an ONNX graph (opset 17, IR version 8) with a dynamic batch dimension,
//! the parameters as initializers, and the input and output named `input` and `output`.
//!
//! The ops of the lessons' models are covered: matrix products (`Linear`), convolutions and
//! max-pooling in either layout, average pooling, `Embedding` (as `Gather`), elementwise arithmetic (which is how `BatchNorm` in eval mode
//! and Keras's `BatchNormalization` are computed), activations, softmax and log-softmax,
//! views and reshapes (`Flatten`), slices and transposes, concatenation, and the recurrent
//! layers as ONNX's `RNN`, `GRU` and `LSTM` ops. Dropout in eval mode records nothing. Any
//! other op in the forward pass is an [`OnnxError::Unsupported`] naming it; the exporter never
//! writes a graph it cannot express.
//!
//! ```
//! use tandem_nn::{onnx, Linear, Module, ReLU, Sequential};
//! let dir = tempfile::tempdir().unwrap();
//! let mut model = Sequential::new().add(Linear::new(4, 8)).add(ReLU).add(Linear::new(8, 2));
//! let x = tandem_core::randn(&[3, 4]);
//! onnx::export(&mut model, &x, dir.path().join("m.onnx")).unwrap();
//! ```

mod convert;
pub mod proto;

use crate::module::Module;
use crate::state_dict::{write_atomic, CheckpointError};
use prost::Message;
use std::path::Path;
use tandem_core::Tensor;

/// Why a model could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The forward pass uses an op (or an option of one) that has no ONNX form here.
    #[error("cannot export to ONNX: {op} ({detail})")]
    Unsupported {
        /// The op as the engine records it (`CumsumBackward0`) or the layer.
        op: String,
        /// What is missing.
        detail: String,
    },
    /// The output does not depend on the input through recorded ops.
    #[error("cannot export to ONNX: the output does not depend on the input")]
    Disconnected,
    /// Writing the file failed.
    #[error(transparent)]
    Io(#[from] CheckpointError),
}

/// `torch.onnx.export(model, example_input, path)`: traces `model` on `example_input` in eval
/// mode (the model is left in eval mode) and writes the graph to `path`, atomically. The
/// first dimension of the input and output is the dynamic batch dimension.
///
/// # Errors
/// [`OnnxError::Unsupported`] naming the first op that has no ONNX form; [`OnnxError::Io`]
/// when the file cannot be written.
pub fn export(
    model: &mut impl Module,
    example_input: &Tensor,
    path: impl AsRef<Path>,
) -> Result<(), OnnxError> {
    model.eval();
    let names = model.state_dict();
    let bytes = export_fn(|x| model.forward(x), example_input, &names)?;
    write(path.as_ref(), &bytes)
}

/// Traces `forward` on `example_input` and returns the ONNX model's bytes; `names` gives
/// parameter tensors their initializer names (`l1.weight`). For models outside the `Module`
/// trait, such as Keras's.
///
/// # Errors
/// As [`export`], without the file.
pub fn export_fn(
    forward: impl Fn(&Tensor) -> Tensor,
    example_input: &Tensor,
    names: &[(String, Tensor)],
) -> Result<Vec<u8>, OnnxError> {
    use tandem_core::autograd::trace;
    // A float input is traced through its gradient; integer indices (an embedding's) as the
    // trace's root.
    let run = |x: &Tensor| {
        if x.dtype().is_float() {
            let input = x.detach().requires_grad_(true);
            let output = trace::trace(|| forward(&input));
            (input, output)
        } else {
            let input = x.detach();
            let output = trace::trace_from(&input, || forward(&input));
            (input, output)
        }
    };
    if example_input.ndim() == 0 {
        return Err(OnnxError::Unsupported {
            op: "input".into(),
            detail: "the example input needs a batch dimension".into(),
        });
    }
    let (input, output) = run(example_input);
    // The same pass on one row more tells the batch axis of every value apart.
    let longer = Tensor::cat(&[example_input, &example_input.narrow(0, 0, 1)], 0);
    let (twin_input, twin_output) = run(&longer);
    let model = convert::Converter::new(&input, names).run(&output, &twin_input, &twin_output)?;
    Ok(model.encode_to_vec())
}

/// Writes an exported model's bytes to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), OnnxError> {
    Ok(write_atomic(path, |f| std::io::Write::write_all(f, bytes))?)
}
