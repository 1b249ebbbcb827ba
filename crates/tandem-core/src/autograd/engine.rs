//! Reverse-mode traversal: topological order, gradient accumulation, graph freeing.

use super::mode::GradModeGuard;
use super::node::{BackwardFn, Node};
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use triomphe::Arc;

/// Hasher for pointer keys: they are already unique, so a multiply is enough.
#[derive(Default)]
pub(crate) struct PtrHasher(u64);
impl Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("PtrHasher only hashes usize keys")
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
type PtrMap<V> = HashMap<usize, V, BuildHasherDefault<PtrHasher>>;

/// Below this many entries a linear scan beats hashing.
const SMALL: usize = 32;

/// A map from tensor identities to values for one backward pass: a linear scan over an inline
/// array for the few nodes of a typical graph, a hash map once it grows past [`SMALL`].
enum KeyMap<V> {
    Small(SmallVec<[(usize, V); 16]>),
    Large(PtrMap<V>),
}

impl<V> KeyMap<V> {
    fn new() -> Self {
        KeyMap::Small(SmallVec::new())
    }

    /// Inserts `v` under `k` unless present; returns whether it was inserted.
    fn insert_new(&mut self, k: usize, v: V) -> bool {
        match self {
            KeyMap::Small(items) => {
                if items.iter().any(|(key, _)| *key == k) {
                    return false;
                }
                if items.len() < SMALL {
                    items.push((k, v));
                    return true;
                }
                let mut map: PtrMap<V> = items.drain(..).collect();
                map.insert(k, v);
                *self = KeyMap::Large(map);
                true
            }
            KeyMap::Large(map) => match map.entry(k) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(v);
                    true
                }
            },
        }
    }

    fn get_mut(&mut self, k: usize) -> Option<&mut V> {
        match self {
            KeyMap::Small(items) => items.iter_mut().find(|(key, _)| *key == k).map(|(_, v)| v),
            KeyMap::Large(map) => map.get_mut(&k),
        }
    }

    fn remove(&mut self, k: usize) -> Option<V> {
        match self {
            KeyMap::Small(items) => {
                let i = items.iter().position(|(key, _)| *key == k)?;
                Some(items.swap_remove(i).1)
            }
            KeyMap::Large(map) => map.remove(&k),
        }
    }

    fn drain(self) -> Vec<(usize, V)> {
        match self {
            KeyMap::Small(items) => items.into_vec(),
            KeyMap::Large(map) => map.into_iter().collect(),
        }
    }
}

/// Attaches a backward function to a freshly computed output if any input needs a gradient.
pub(crate) fn attach(
    out: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    backward: impl Fn(&Tensor, &[bool]) -> Vec<Option<Tensor>> + Send + Sync + 'static,
) -> Tensor {
    let needs: smallvec::SmallVec<[bool; 2]> = inputs
        .iter()
        .map(|t| super::mode::input_needs_grad(t))
        .collect();
    let f: BackwardFn = Box::new(backward);
    let node = Node {
        name,
        inputs: inputs.iter().map(|t| (*t).clone()).collect(),
        needs,
        backward: parking_lot::Mutex::new(Some(f)),
    };
    out.with_grad_fn(Arc::new(node))
}

/// Whether an op over `inputs` records (grad mode on and some input needs a gradient).
#[inline]
pub fn should_record(inputs: &[&Tensor]) -> bool {
    super::mode::is_grad_enabled() && inputs.iter().any(|t| super::mode::input_needs_grad(t))
}

/// Non-leaf tensors reachable from `roots`, in reverse topological order (outputs first).
/// Borrows from the graph: every node is kept alive by the roots.
fn topo_order<'a>(roots: &[&'a Tensor]) -> SmallVec<[&'a Tensor; 16]> {
    let mut order: SmallVec<[&'a Tensor; 16]> = SmallVec::new();
    let mut seen: KeyMap<()> = KeyMap::new();
    // iterative post-order DFS: (tensor, next child index)
    let mut stack: SmallVec<[(&'a Tensor, usize); 16]> = SmallVec::new();
    for &r in roots {
        if r.0.grad_fn.is_some() && seen.insert_new(r.key(), ()) {
            stack.push((r, 0));
        }
        while let Some((t, i)) = stack.pop() {
            let node = t.0.grad_fn.as_ref().expect("non-leaf");
            if i < node.inputs.len() {
                let child = &node.inputs[i];
                stack.push((t, i + 1));
                if node.needs[i] && child.0.grad_fn.is_some() && seen.insert_new(child.key(), ()) {
                    stack.push((child, 0));
                }
            } else {
                order.push(t);
            }
        }
    }
    order.reverse();
    order
}

/// What to do with the gradients that reach leaves.
pub(crate) enum Sink<'a> {
    /// `backward()`: accumulate into `.grad` of leaves that require grad (and retained non-leaves).
    Accumulate,
    /// `autograd::grad` / `tape.gradient`: return the gradients of these tensors only.
    Collect(&'a [&'a Tensor]),
}

fn add_grad(map: &mut KeyMap<Tensor>, key: usize, g: Tensor) {
    match map.get_mut(key) {
        Some(prev) => *prev = &*prev + &g,
        None => {
            map.insert_new(key, g);
        }
    }
}

/// Runs reverse mode from `roots` seeded with `seeds`. Returns one entry per `Collect` target.
pub(crate) fn run_backward(
    roots: &[&Tensor],
    seeds: Vec<Tensor>,
    sink: Sink<'_>,
    retain_graph: bool,
    create_graph: bool,
) -> Vec<Option<Tensor>> {
    let _mode = GradModeGuard::new(create_graph);
    let order = topo_order(roots);
    let mut grads: KeyMap<Tensor> = KeyMap::new();
    for (r, s) in roots.iter().zip(seeds) {
        add_grad(&mut grads, r.key(), s);
    }
    let targets: &[&Tensor] = match sink {
        Sink::Collect(t) => t,
        Sink::Accumulate => &[],
    };
    let accumulate = matches!(sink, Sink::Accumulate);
    let mut collected: Vec<Option<Tensor>> = vec![None; targets.len()];
    let mut leaf_grads: SmallVec<[(&Tensor, Tensor); 4]> = SmallVec::new();

    let record_target = |t: &Tensor, g: &Tensor, collected: &mut Vec<Option<Tensor>>| {
        for (i, target) in targets.iter().enumerate() {
            if target.same(t) {
                collected[i] = Some(match collected[i].take() {
                    Some(prev) => &prev + g,
                    None => g.clone(),
                });
            }
        }
    };

    for &t in &order {
        let Some(g) = grads.remove(t.key()) else {
            continue;
        };
        record_target(t, &g, &mut collected);
        if accumulate && t.retains_grad() {
            t.accumulate_grad(&g, create_graph);
        }
        let node = t.0.grad_fn.as_ref().expect("non-leaf");
        let freed = || -> ! {
            panic!(
                "Trying to backward through the graph a second time (or directly access saved \
                 tensors after they have already been freed). Saved intermediate values of the \
                 graph are freed when you call backward() or autograd::grad(). Specify \
                 retain_graph=true if you need to backward through the graph a second time \
                 (node {}).",
                node.name
            )
        };
        let input_grads = if retain_graph {
            let guard = node.backward.lock();
            let f = guard.as_ref().unwrap_or_else(|| freed());
            f(&g, &node.needs)
        } else {
            // Taking the function out frees what it saved once it has run.
            let f = node.backward.lock().take().unwrap_or_else(|| freed());
            f(&g, &node.needs)
        };
        for ((input, need), ig) in node.inputs.iter().zip(&node.needs).zip(input_grads) {
            let Some(ig) = ig else { continue };
            if !*need {
                continue;
            }
            debug_assert_eq!(
                ig.shape(),
                input.shape(),
                "{}: gradient shape mismatch",
                node.name
            );
            if input.0.grad_fn.is_some() {
                add_grad(&mut grads, input.key(), ig);
            } else {
                leaf_grads.push((input, ig));
            }
        }
    }
    // Roots that are leaves themselves.
    for (k, g) in grads.drain() {
        for &r in roots {
            if r.key() == k && r.0.grad_fn.is_none() {
                leaf_grads.push((r, g.clone()));
            }
        }
    }
    for (leaf, g) in leaf_grads {
        record_target(leaf, &g, &mut collected);
        if accumulate && leaf.requires_grad_flag() {
            leaf.accumulate_grad(&g, create_graph);
        }
    }
    collected
}
