//! Shape-only layers: `Input` and `Reshape`.

use super::Layer;
use tandem_core::Tensor;

/// `keras.Input(shape)`: declares the per-sample input shape of a `Sequential` so that it is
/// built at once; computes nothing and does not appear in `summary()`.
pub struct Input {
    shape: Vec<usize>,
}

impl Input {
    /// Inputs of `shape` (without the batch dimension).
    pub fn new(shape: &[usize]) -> Input {
        Input {
            shape: shape.to_vec(),
        }
    }
}

impl Layer for Input {
    fn name(&self) -> String {
        "input_layer".into()
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        Some(self.shape.clone())
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        x.clone()
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        input_shape.to_vec()
    }
    fn is_input(&self) -> bool {
        true
    }
}

/// `Reshape(target_shape)`: each sample to `target_shape` (one entry may be -1).
pub struct Reshape {
    target: Vec<isize>,
}

impl Reshape {
    /// Reshapes samples to `target_shape`.
    pub fn new(target_shape: &[isize]) -> Reshape {
        assert!(
            target_shape.iter().filter(|&&d| d == -1).count() <= 1,
            "Reshape: at most one dimension of {target_shape:?} may be -1"
        );
        Reshape {
            target: target_shape.to_vec(),
        }
    }
}

impl Layer for Reshape {
    fn name(&self) -> String {
        "reshape".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let mut shape = vec![x.shape()[0] as isize];
        shape.extend(&self.target);
        x.reshape(&shape)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        let n: usize = input_shape.iter().product();
        let known: usize = self
            .target
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        self.target
            .iter()
            .map(|&d| if d < 0 { n / known.max(1) } else { d as usize })
            .collect()
    }
}
