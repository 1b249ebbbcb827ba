//! `model.export(path, format="onnx")`: the model's inference pass as an ONNX graph.

use super::Model;
use crate::error::KerasError;
use crate::layers::{as_float, Layer};
use std::path::Path;
use tandem_core::Tensor;
use tandem_nn::onnx::{self, OnnxError};

impl<L: Layer> Model<L> {
    /// Writes the model's inference pass (`training=False`: Dropout off, BatchNormalization
    /// on its moving statistics) as ONNX (opset 17) to `path`, traced on `example_input`,
    /// whose first dimension becomes the dynamic batch dimension. Keras writes the same file
    /// with `model.export(path, format="onnx")`.
    ///
    /// ```
    /// use tandem_keras::{layers::Dense, Sequential};
    /// let dir = tempfile::tempdir().unwrap();
    /// let model = Sequential::new(vec![Box::new(Dense::new(2).activation("softmax").input_dim(4))]);
    /// model.export_onnx(&tandem_core::rand(&[1, 4]), dir.path().join("m.onnx")).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`OnnxError::Unsupported`] naming an op without an ONNX form, or a write error.
    pub fn export_onnx(
        &self,
        example_input: &Tensor,
        path: impl AsRef<Path>,
    ) -> Result<(), OnnxError> {
        let layers = match self.net.sublayers() {
            subs if subs.is_empty() => vec![&self.net as &dyn Layer],
            subs => subs,
        };
        let mut names = Vec::new();
        for layer in layers {
            let mut weights = layer.trainable_weights();
            weights.extend(layer.non_trainable_weights());
            for (i, w) in weights.into_iter().enumerate() {
                names.push((format!("{}_{}/{i}", layer.name(), names.len()), w));
            }
        }
        let bytes = onnx::export_fn(
            |x| self.net.call(&as_float(x), false),
            example_input,
            &names,
        )?;
        onnx::write(path.as_ref(), &bytes)
    }
}

impl From<OnnxError> for KerasError {
    fn from(e: OnnxError) -> Self {
        KerasError::Export(e.to_string())
    }
}
