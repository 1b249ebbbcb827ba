//! `Embedding`: integer ids to dense vectors.

use super::Layer;
use tandem_core::{DType, Tensor};

/// `Embedding(input_dim, output_dim)`: a `[input_dim, output_dim]` table, initialized uniform
/// in [-0.05, 0.05] as Keras does; integer inputs of shape `[N, ...]` give `[N, ..., output_dim]`.
pub struct Embedding {
    table: Tensor,
}

impl Embedding {
    /// A table for `input_dim` ids of `output_dim` features each.
    pub fn new(input_dim: usize, output_dim: usize) -> Embedding {
        let table =
            tandem_core::uniform(&[input_dim, output_dim], -0.05, 0.05).requires_grad_(true);
        Embedding { table }
    }

    /// The `[input_dim, output_dim]` table (`layer.embeddings`).
    pub fn embeddings(&self) -> &Tensor {
        &self.table
    }
}

impl Layer for Embedding {
    fn name(&self) -> String {
        "embedding".into()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        let ids = x.to_dtype(DType::Int64).reshape(&[-1]);
        let vocab = self.table.shape()[0] as i64;
        if let Some(bad) = ids
            .to_vec::<i64>()
            .into_iter()
            .find(|&i| i < 0 || i >= vocab)
        {
            panic!("Embedding: id {bad} is outside [0, {vocab})");
        }
        let mut shape: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
        shape.push(self.table.shape()[1] as isize);
        self.table.index_select(0, &ids).reshape(&shape)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        let mut s = input_shape.to_vec();
        s.push(self.table.shape()[1]);
        s
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        vec![self.table.clone()]
    }
}
