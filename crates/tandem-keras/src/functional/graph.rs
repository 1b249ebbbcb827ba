//! The graph a functional model runs: its layer calls in order, from the inputs to the outputs.

use super::{KerasTensor, SymNode, SymOp};
use crate::error::KerasError;
use crate::layers::{Layer, Logits};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tandem_core::Tensor;

/// One row of a functional model's `summary()`.
#[doc(hidden)]
pub struct FunctionalRow {
    pub(crate) name: String,
    pub(crate) base: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) params: (usize, usize),
    pub(crate) connected: Vec<String>,
}

/// The layer calls between a functional model's inputs and outputs (a [`Layer`] with several
/// inputs and outputs).
pub struct Graph {
    nodes: Vec<Arc<SymNode>>,
    names: Vec<String>,
    /// For each node, the positions of its inputs in `nodes`.
    args: Vec<Vec<usize>>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

impl Graph {
    /// Collects the calls that lead from `inputs` to `outputs`; every path back from an output
    /// must end at one of `inputs`.
    pub(crate) fn new(
        inputs: &[&KerasTensor],
        outputs: &[&KerasTensor],
    ) -> Result<Graph, KerasError> {
        let bad = |reason: String| KerasError::Argument {
            name: "Model(inputs, outputs)",
            reason,
        };
        if inputs.is_empty() || outputs.is_empty() {
            return Err(bad("a model needs at least one input and one output".into()));
        }
        for x in inputs {
            if !matches!(x.0.op, SymOp::Input) {
                return Err(bad(
                    "every model input must come from keras::Input(...)".into()
                ));
            }
        }
        // Every node reachable from the outputs, by id.
        let mut all: HashMap<usize, Arc<SymNode>> = HashMap::new();
        let mut stack: Vec<Arc<SymNode>> = outputs.iter().map(|o| o.0.clone()).collect();
        while let Some(n) = stack.pop() {
            if all.contains_key(&n.id) {
                continue;
            }
            for x in n.inputs() {
                stack.push(x.0.clone());
            }
            all.insert(n.id, n);
        }
        for n in all.values() {
            if matches!(n.op, SymOp::Input) && !inputs.iter().any(|x| x.0.id == n.id) {
                return Err(bad(format!(
                    "graph disconnected: cannot obtain a value for input '{}' of shape {:?}; pass it in `inputs`",
                    n.name.clone().unwrap_or_else(|| "input_layer".into()),
                    n.shape
                )));
            }
        }
        // Keras's layer order: by depth from the outputs (deepest first), then creation order.
        let mut ids: Vec<usize> = all.keys().copied().collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut depth: HashMap<usize, usize> = outputs.iter().map(|o| (o.0.id, 0)).collect();
        for id in &ids {
            let d = *depth.entry(*id).or_insert(0);
            for x in all[id].inputs() {
                let e = depth.entry(x.0.id).or_insert(0);
                *e = (*e).max(d + 1);
            }
        }
        ids.sort_unstable_by_key(|id| (std::cmp::Reverse(depth[id]), *id));
        let pos: HashMap<usize, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let nodes: Vec<Arc<SymNode>> = ids.iter().map(|id| all[id].clone()).collect();
        let args = nodes
            .iter()
            .map(|n| n.inputs().iter().map(|x| pos[&x.0.id]).collect())
            .collect();
        // Unnamed layers get Keras's `dense`, `dense_1`, ... in order.
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let names: Vec<String> = nodes
            .iter()
            .map(|n| {
                n.name.clone().unwrap_or_else(|| {
                    let base = n.base_name();
                    let k = counts.entry(base.clone()).or_insert(0);
                    *k += 1;
                    if *k == 1 {
                        base
                    } else {
                        format!("{base}_{}", *k - 1)
                    }
                })
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for n in &names {
            if !seen.insert(n) {
                return Err(bad(format!("the name \"{n}\" is used {} times in the model; all layer names should be unique", names.iter().filter(|m| *m == n).count())));
            }
        }
        Ok(Graph {
            inputs: inputs.iter().map(|x| pos[&x.0.id]).collect(),
            outputs: outputs.iter().map(|o| pos[&o.0.id]).collect(),
            nodes,
            names,
            args,
        })
    }

    fn layers(&self) -> impl Iterator<Item = &dyn Layer> {
        self.nodes.iter().filter_map(|n| match &n.op {
            SymOp::Layer(l, _) => Some(l.as_ref()),
            _ => None,
        })
    }

    /// The names of the model's inputs, in order.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().map(|&i| self.names[i].clone()).collect()
    }

    /// The per-sample shapes of the model's inputs.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs
            .iter()
            .map(|&i| self.nodes[i].shape.clone())
            .collect()
    }

    pub(crate) fn rows(&self) -> Vec<FunctionalRow> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let params = match &n.op {
                    SymOp::Layer(l, _) => (
                        l.trainable_weights().iter().map(Tensor::numel).sum(),
                        l.non_trainable_weights().iter().map(Tensor::numel).sum(),
                    ),
                    _ => (0, 0),
                };
                FunctionalRow {
                    name: self.names[i].clone(),
                    base: n.base_name(),
                    shape: n.shape.clone(),
                    params,
                    connected: self.args[i]
                        .iter()
                        .map(|&a| format!("{}[0][0]", self.names[a]))
                        .collect(),
                }
            })
            .collect()
    }
}

impl Layer for Graph {
    fn name(&self) -> String {
        "functional".into()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.call_with_logits(x, training).0
    }
    fn call_with_logits(&self, x: &Tensor, training: bool) -> (Tensor, Option<Logits>) {
        self.call_all(std::slice::from_ref(x), training)
            .swap_remove(0)
    }
    fn output_shape(&self, _input_shape: &[usize]) -> Vec<usize> {
        self.nodes[self.outputs[0]].shape.clone()
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        Some(self.nodes[self.inputs[0]].shape.clone())
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        self.layers().flat_map(|l| l.trainable_weights()).collect()
    }
    fn non_trainable_weights(&self) -> Vec<Tensor> {
        self.layers()
            .flat_map(|l| l.non_trainable_weights())
            .collect()
    }
    fn regularization_loss(&self) -> Option<Tensor> {
        self.layers()
            .filter_map(|l| l.regularization_loss())
            .reduce(|a, b| &a + &b)
    }
    fn sublayers(&self) -> Vec<&dyn Layer> {
        self.layers().collect()
    }
    fn input_count(&self) -> usize {
        self.inputs.len()
    }
    fn output_names(&self) -> Vec<String> {
        self.outputs
            .iter()
            .map(|&i| self.names[i].clone())
            .collect()
    }
    fn call_all(&self, xs: &[Tensor], training: bool) -> Vec<(Tensor, Option<Logits>)> {
        assert_eq!(
            xs.len(),
            self.inputs.len(),
            "the model expects {} inputs ({}), got {}",
            self.inputs.len(),
            self.input_names().join(", "),
            xs.len()
        );
        let mut values: Vec<Option<Tensor>> = vec![None; self.nodes.len()];
        let mut logits: Vec<Option<Logits>> = vec![None; self.nodes.len()];
        for (&i, x) in self.inputs.iter().zip(xs) {
            let want = &self.nodes[i].shape;
            assert_eq!(
                &x.shape()[1..],
                want.as_slice(),
                "input '{}': expected per-sample shape {want:?}, got {:?}",
                self.names[i],
                &x.shape()[1..]
            );
            values[i] = Some(crate::layers::as_float(x));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let arg = |k: usize| values[self.args[i][k]].as_ref().expect("topological order");
            match &n.op {
                SymOp::Input => {}
                SymOp::Layer(l, _) => {
                    let (v, lg) = if self.outputs.contains(&i) {
                        l.call_with_logits(arg(0), training)
                    } else {
                        (l.call(arg(0), training), None)
                    };
                    values[i] = Some(v);
                    logits[i] = lg;
                }
                SymOp::Merge(m, _) => {
                    let xs: Vec<Tensor> = (0..self.args[i].len()).map(|k| arg(k).clone()).collect();
                    values[i] = Some(m.call(&xs));
                }
            }
        }
        self.outputs
            .iter()
            .map(|&o| (values[o].clone().expect("computed"), logits[o].clone()))
            .collect()
    }
    fn functional_rows(&self) -> Option<Vec<FunctionalRow>> {
        Some(self.rows())
    }
}
