//! Reverse-mode traversal: topological order, gradient accumulation, graph freeing.

use super::mode::GradModeGuard;
use super::node::{BackwardFn, Grads, Node, SliceRegion};
use crate::storage::Shared;
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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

    fn drain(self) -> SmallVec<[(usize, V); 16]> {
        match self {
            KeyMap::Small(items) => items,
            KeyMap::Large(map) => map.into_iter().collect(),
        }
    }
}

/// Attaches a backward function to a freshly computed output if any input needs a gradient.
/// `backward` returns the gradients as a `Vec` or, without allocating, as [`Grads`].
pub(crate) fn attach<R: Into<Grads>>(
    out: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    backward: impl Fn(&Tensor, &[bool]) -> R + Send + Sync + 'static,
) -> Tensor {
    attach_node(
        out,
        name,
        inputs,
        Box::new(move |g, n| backward(g, n).into()),
        None,
    )
}

/// [`attach`] for a basic slice of `input` at `region`, whose gradient the engine may add
/// straight into the input's (see [`Node::slice`]).
pub(crate) fn attach_slice(
    out: Tensor,
    input: &Tensor,
    region: SliceRegion,
    backward: impl Fn(&Tensor, &[bool]) -> Grads + Send + Sync + 'static,
) -> Tensor {
    attach_node(
        out,
        "SliceBackward0",
        &[input],
        Box::new(backward),
        Some(region),
    )
}

fn attach_node(
    out: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    f: BackwardFn,
    slice: Option<SliceRegion>,
) -> Tensor {
    let needs: smallvec::SmallVec<[bool; 2]> = inputs
        .iter()
        .map(|t| super::mode::input_needs_grad(t))
        .collect();
    let node = Node {
        name,
        inputs: inputs.iter().map(|t| (*t).clone()).collect(),
        rebased_fns: inputs
            .iter()
            .any(|t| t.0.rebased.load(std::sync::atomic::Ordering::Acquire))
            .then(|| inputs.iter().map(|t| t.grad_fn()).collect()),
        needs,
        backward: parking_lot::Mutex::new(Some(f)),
        traced: std::sync::OnceLock::new(),
        slice,
    };
    super::trace::on_attach(&node, &out);
    out.with_grad_fn(Shared::new(node))
}

/// Whether an op over `inputs` records (grad mode on and some input needs a gradient).
#[inline]
pub fn should_record(inputs: &[&Tensor]) -> bool {
    (super::mode::is_grad_enabled() && inputs.iter().any(|t| super::mode::input_needs_grad(t)))
        || super::trace::from_root(inputs)
}

/// The key of a node in one backward pass (leaves are keyed by their tensor).
fn node_key(n: &Node) -> usize {
    n as *const Node as usize
}

/// Nodes reachable from `roots` (whose recorded ops are `root_fns`), in reverse topological
/// order (outputs first), each with the tensor it was reached through. Borrows from the graph:
/// `root_fns` keeps every node alive.
fn topo_order<'a>(
    roots: &[&'a Tensor],
    root_fns: &'a [Option<Cow<'a, Shared<Node>>>],
) -> SmallVec<[(&'a Tensor, &'a Node); 16]> {
    let mut order: SmallVec<[(&'a Tensor, &'a Node); 16]> = SmallVec::new();
    let mut seen: KeyMap<()> = KeyMap::new();
    // iterative post-order DFS: (tensor, its node, next child index)
    let mut stack: SmallVec<[(&'a Tensor, &'a Node, usize); 16]> = SmallVec::new();
    for (&r, f) in roots.iter().zip(root_fns) {
        if let Some(n) = f {
            if seen.insert_new(node_key(n), ()) {
                stack.push((r, n, 0));
            }
        }
        while let Some((t, node, i)) = stack.pop() {
            if i < node.inputs.len() {
                stack.push((t, node, i + 1));
                if let (true, Some(c)) = (node.needs[i], node.input_fn(i).map(|n| &**n)) {
                    if seen.insert_new(node_key(c), ()) {
                        stack.push((&node.inputs[i], c, 0));
                    }
                }
            } else {
                order.push((t, node));
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
        Some(prev) => sum_into(prev, &g),
        None => {
            map.insert_new(key, g);
        }
    }
}

/// Whether `t` is a gradient this pass may overwrite: no other handle or view shares its
/// buffer, it is contiguous, and no graph is being recorded (`create_graph` off).
fn owned_buffer(t: &Tensor) -> bool {
    !super::mode::is_grad_enabled()
        && Shared::is_unique(&t.0)
        && Shared::is_unique(&t.0.storage)
        && t.is_contiguous()
        && t.dtype().is_float()
        && t.grad_fn().is_none()
}

/// `*prev += g`: in `prev`'s own buffer when [`owned_buffer`] allows, else a new sum.
fn sum_into(prev: &mut Tensor, g: &Tensor) {
    if owned_buffer(prev) && prev.shape() == g.shape() && prev.dtype() == g.dtype() {
        crate::ops::index::add_into(prev, g);
    } else {
        *prev = &*prev + g;
    }
}

/// A slice node's gradient `g` added straight into the region of the gradient already
/// gathered for its input, when that one may be overwritten; false (nothing done) otherwise.
fn add_to_region(prev: &Tensor, region: SliceRegion, g: &Tensor) -> bool {
    if !owned_buffer(prev) || prev.dtype() != g.dtype() {
        return false;
    }
    let SliceRegion {
        dim,
        start,
        end,
        step,
    } = region;
    let view = prev.slice(dim as isize, start as isize, end as isize, step);
    if view.shape() != g.shape() {
        return false;
    }
    crate::ops::index::add_into(&view, g);
    true
}

/// A leaf's gradient while edges into it are still to be visited.
struct PendingLeaf {
    edges: usize,
    sum: Option<Tensor>,
}

fn pending_edge(leaves: &mut KeyMap<PendingLeaf>, leaf: &Tensor) {
    match leaves.get_mut(leaf.key()) {
        Some(p) => p.edges += 1,
        None => {
            leaves.insert_new(
                leaf.key(),
                PendingLeaf {
                    edges: 1,
                    sum: None,
                },
            );
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
    let root_fns: SmallVec<[Option<Cow<'_, Shared<Node>>>; 2]> =
        roots.iter().map(|r| r.grad_fn_ref()).collect();
    let order = topo_order(roots, &root_fns);
    let mut grads: KeyMap<Tensor> = KeyMap::new();
    for ((r, f), s) in roots.iter().zip(&root_fns).zip(seeds) {
        let key = f.as_deref().map_or_else(|| r.key(), |n| node_key(n));
        add_grad(&mut grads, key, s);
    }
    let targets: &[&Tensor] = match sink {
        Sink::Collect(t) => t,
        Sink::Accumulate => &[],
    };
    // Non-leaf targets are matched by their recorded op, leaves by identity.
    let target_nodes: SmallVec<[Option<usize>; 4]> = targets
        .iter()
        .map(|t| t.grad_fn().map(|n| node_key(&n)))
        .collect();
    let accumulate = matches!(sink, Sink::Accumulate);
    let mut collected: Vec<Option<Tensor>> = vec![None; targets.len()];

    let record = |i: usize, g: &Tensor, collected: &mut Vec<Option<Tensor>>| match &mut collected[i]
    {
        Some(prev) => sum_into(prev, g),
        slot => *slot = Some(g.clone()),
    };

    // A leaf's gradient is complete once every edge into it has been visited: it is then
    // accumulated at once (and its post-accumulate hooks run) while the rest of the graph is
    // still being differentiated, as PyTorch's AccumulateGrad nodes do.
    // Only leaves whose gradient goes somewhere are counted (and summed): those `.grad`
    // accumulates into, or the leaf targets of `autograd::grad` / `tape.gradient`.
    let is_leaf_target =
        |i: usize, leaf: &Tensor| target_nodes[i].is_none() && targets[i].same(leaf);
    let wanted = |leaf: &Tensor| {
        if accumulate {
            leaf.requires_grad_flag()
        } else {
            (0..targets.len()).any(|i| is_leaf_target(i, leaf))
        }
    };
    let mut leaves: KeyMap<PendingLeaf> = KeyMap::new();
    for &(_, node) in &order {
        for (input, input_fn, need) in node.edges() {
            if need && input_fn.is_none() && wanted(input) {
                pending_edge(&mut leaves, input);
            }
        }
    }
    // Roots that are leaves themselves take their seed last.
    for (&r, f) in roots.iter().zip(&root_fns) {
        if f.is_none() && r.is_leaf() && wanted(r) {
            pending_edge(&mut leaves, r);
        }
    }
    let finish_leaf = |leaf: &Tensor, g: Tensor, collected: &mut Vec<Option<Tensor>>| {
        if !accumulate {
            // The last target naming this leaf takes the gradient itself, the others a handle.
            let last = (0..targets.len()).rev().find(|&i| is_leaf_target(i, leaf));
            for i in 0..last.unwrap_or(0) {
                if is_leaf_target(i, leaf) {
                    record(i, &g, collected);
                }
            }
            if let Some(i) = last {
                match &mut collected[i] {
                    Some(prev) => sum_into(prev, &g),
                    slot => *slot = Some(g),
                }
            }
            return;
        }
        if leaf.requires_grad_flag() {
            leaf.accumulate_grad(&g, create_graph);
            leaf.run_post_accumulate_grad_hooks();
        }
    };
    let mut arrive = |leaf: &Tensor, g: Option<Tensor>, collected: &mut Vec<Option<Tensor>>| {
        let key = leaf.key();
        // A leaf nobody wants the gradient of.
        let Some(entry) = leaves.get_mut(key) else {
            return;
        };
        if let Some(g) = g {
            match &mut entry.sum {
                Some(prev) => sum_into(prev, &g),
                slot => *slot = Some(g),
            }
        }
        entry.edges -= 1;
        if entry.edges == 0 {
            if let Some(g) = leaves.remove(key).and_then(|done| done.sum) {
                finish_leaf(leaf, g, collected);
            }
        }
    };

    for &(t, node) in &order {
        let key = node_key(node);
        let Some(g) = grads.remove(key) else {
            // No gradient reached this node: its edges into leaves carry nothing.
            for (input, input_fn, need) in node.edges() {
                if need && input_fn.is_none() {
                    arrive(input, None, &mut collected);
                }
            }
            continue;
        };
        for (i, tn) in target_nodes.iter().enumerate() {
            if *tn == Some(key) {
                record(i, &g, &mut collected);
            }
        }
        if accumulate && t.retains_grad() && t.grad_fn().is_some_and(|n| node_key(&n) == key) {
            t.accumulate_grad(&g, create_graph);
        }
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
        // A slice whose input already has a gradient to add into: no zero-filled copy.
        if let (Some(region), false) = (node.slice, create_graph) {
            let added = node
                .input_fn(0)
                .filter(|_| node.needs[0])
                .and_then(|input_fn| grads.get_mut(node_key(input_fn)))
                .is_some_and(|prev| add_to_region(prev, region, &g));
            if added {
                if !retain_graph {
                    node.backward.lock().take();
                }
                continue;
            }
        }
        let input_grads = if retain_graph {
            let guard = node.backward.lock();
            let f = guard.as_ref().unwrap_or_else(|| freed());
            f(&g, &node.needs)
        } else {
            // Taking the function out frees what it saved once it has run.
            let f = node.backward.lock().take().unwrap_or_else(|| freed());
            f(&g, &node.needs)
        };
        let mut input_grads = input_grads.into_iter();
        for (input, input_fn, need) in node.edges() {
            let ig = input_grads.next().flatten();
            if !need {
                continue;
            }
            if let Some(ig) = &ig {
                debug_assert_eq!(
                    ig.shape(),
                    input.shape(),
                    "{}: gradient shape mismatch",
                    node.name
                );
            }
            match input_fn {
                Some(n) => {
                    if let Some(ig) = ig {
                        add_grad(&mut grads, node_key(n), ig)
                    }
                }
                None => arrive(input, ig, &mut collected),
            }
        }
    }
    // Roots that are leaves themselves.
    for (k, g) in grads.drain() {
        for &r in roots {
            if r.key() == k && r.is_leaf() {
                arrive(r, Some(g.clone()), &mut collected);
            }
        }
    }
    collected
}
