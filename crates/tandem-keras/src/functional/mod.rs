//! The functional API: `keras.Input(shape)` returns a symbolic tensor, layers called on
//! symbolic tensors record a graph, and `keras::Model::new(inputs, outputs)` turns the graph
//! between them into a model that trains like a `Sequential`.
//!
//! ```
//! use tandem_keras::layers::{Concatenate, Dense, LayerCall, MergeCall};
//! use tandem_keras::{Input, Model};
//! let a = Input(&[4]).named("a");
//! let b = Input(&[3]).named("b");
//! let h = Concatenate::new().on_all(&[&a, &b]);
//! let out = Dense::new(1).activation("sigmoid").named("score").on(&h);
//! let model = Model::new(&[&a, &b], &[&out]).unwrap();
//! assert_eq!(model.weights().len(), 2);
//! assert!(model.summary().contains("score (Dense)"));
//! ```

pub(crate) mod graph;

pub use graph::Graph;

use crate::layers::{Layer, Merge};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Creation order of symbolic tensors (ties in the model's layer order follow it).
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A symbolic tensor: the per-sample shape of a value in a functional graph and the layer call
/// that makes it (`KerasTensor`).
#[derive(Clone)]
pub struct KerasTensor(pub(crate) Arc<SymNode>);

pub(crate) struct SymNode {
    pub(crate) id: usize,
    pub(crate) name: Option<String>,
    pub(crate) shape: Vec<usize>,
    pub(crate) op: SymOp,
}

pub(crate) enum SymOp {
    Input,
    Layer(Box<dyn Layer>, KerasTensor),
    Merge(Box<dyn Merge>, Vec<KerasTensor>),
}

impl SymNode {
    pub(crate) fn inputs(&self) -> Vec<&KerasTensor> {
        match &self.op {
            SymOp::Input => Vec::new(),
            SymOp::Layer(_, x) => vec![x],
            SymOp::Merge(_, xs) => xs.iter().collect(),
        }
    }

    /// The snake-case class name (`dense`, `input_layer`, `concatenate`).
    pub(crate) fn base_name(&self) -> String {
        match &self.op {
            SymOp::Input => "input_layer".into(),
            SymOp::Layer(l, _) => l.name(),
            SymOp::Merge(m, _) => m.name(),
        }
    }
}

fn node(name: Option<String>, shape: Vec<usize>, op: SymOp) -> KerasTensor {
    KerasTensor(Arc::new(SymNode {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        name,
        shape,
        op,
    }))
}

/// `keras.Input(shape)`: a symbolic input of per-sample `shape` (without the batch axis).
#[allow(non_snake_case)]
pub fn Input(shape: &[usize]) -> KerasTensor {
    node(None, shape.to_vec(), SymOp::Input)
}

impl KerasTensor {
    /// `Input(shape, name="left")`: names an input (before it is used).
    pub fn named(self, name: &str) -> KerasTensor {
        match Arc::try_unwrap(self.0) {
            Ok(mut n) => {
                n.name = Some(name.to_string());
                KerasTensor(Arc::new(n))
            }
            Err(_) => panic!("Input: name '{name}' must be given before the input is used"),
        }
    }

    /// The per-sample shape (`tensor.shape[1:]`).
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }
}

/// Calling a layer on symbolic tensors (Keras's `layer(x)`), and naming it (`name=...`).
pub trait LayerCall: Layer + Sized + 'static {
    /// `layer(x)`: builds the layer for `x`'s shape and records the call.
    fn on(mut self, x: &KerasTensor) -> KerasTensor {
        let shape = x.shape().to_vec();
        if !self.built() {
            self.build(&shape);
        }
        let out = self.output_shape(&shape);
        let name = self.given_name();
        node(name, out, SymOp::Layer(Box::new(self), x.clone()))
    }

    /// `name="left_dense"`: the name `summary()` shows and the model's outputs are known by.
    fn named(self, name: &str) -> Named<Self> {
        Named {
            inner: self,
            name: name.to_string(),
        }
    }
}

impl<L: Layer + 'static> LayerCall for L {}

/// Calling a merge layer on a list of symbolic tensors (`Concatenate()([a, b])`).
pub trait MergeCall: Merge + Sized + 'static {
    /// `layer([a, b, ...])`.
    fn on_all(self, xs: &[&KerasTensor]) -> KerasTensor {
        self.on_all_named(xs, None)
    }

    /// `layer([a, b], name=...)`.
    fn on_all_named(self, xs: &[&KerasTensor], name: Option<&str>) -> KerasTensor {
        let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.shape().to_vec()).collect();
        let out = self.output_shape(&shapes);
        let inputs = xs.iter().map(|&x| x.clone()).collect();
        node(
            name.map(str::to_string),
            out,
            SymOp::Merge(Box::new(self), inputs),
        )
    }
}

impl<M: Merge + 'static> MergeCall for M {}

/// A layer with a name of its own (what `named` returns).
pub struct Named<L> {
    inner: L,
    name: String,
}

impl<L: Layer> Layer for Named<L> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn given_name(&self) -> Option<String> {
        Some(self.name.clone())
    }
    fn build(&mut self, input_shape: &[usize]) {
        self.inner.build(input_shape)
    }
    fn built(&self) -> bool {
        self.inner.built()
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        self.inner.declared_input_shape()
    }
    fn call(&self, x: &tandem_core::Tensor, training: bool) -> tandem_core::Tensor {
        self.inner.call(x, training)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        self.inner.output_shape(input_shape)
    }
    fn trainable_weights(&self) -> Vec<tandem_core::Tensor> {
        self.inner.trainable_weights()
    }
    fn non_trainable_weights(&self) -> Vec<tandem_core::Tensor> {
        self.inner.non_trainable_weights()
    }
    fn regularization_loss(&self) -> Option<tandem_core::Tensor> {
        self.inner.regularization_loss()
    }
    fn sublayers(&self) -> Vec<&dyn Layer> {
        self.inner.sublayers()
    }
    fn is_input(&self) -> bool {
        self.inner.is_input()
    }
    fn call_with_logits(
        &self,
        x: &tandem_core::Tensor,
        training: bool,
    ) -> (tandem_core::Tensor, Option<crate::layers::Logits>) {
        self.inner.call_with_logits(x, training)
    }
}
