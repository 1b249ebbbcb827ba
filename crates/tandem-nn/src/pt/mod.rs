//! PyTorch checkpoints: `torch.load` / `torch.save` of state dicts in PyTorch's zip format
//! (PyTorch ≥ 1.6: a pickle, `data.pkl`, plus one stored entry per tensor storage).
//!
//! Reading goes through the `pytorch-reader` crate, which parses the pickle without running
//! any of it and gathers strided storages into contiguous bytes; on top of it, a load follows
//! `torch.load(..., weights_only=True)`: a pickle that names any Python global outside the
//! weights-only set (an `argparse.Namespace`, a numpy scalar, `os.system`) is refused with
//! [`CheckpointError::UnsafeGlobal`] naming it. Writing emits the same small pickle program
//! `torch.save` writes for a state dict (an `OrderedDict` of `_rebuild_tensor_v2` calls) into
//! a zip of stored, 64-byte aligned entries, atomically.
//!
//! ```
//! use tandem_nn::{pt, Linear, Module};
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("m.pt");
//! let a = Linear::new(4, 3);
//! pt::save(&a.state_dict(), &path).unwrap();          // torch.save(a.state_dict(), "m.pt")
//! let b = Linear::new(4, 3);
//! b.load_state_dict(&pt::load(&path).unwrap(), true).unwrap();
//! assert_eq!(a.weight.to_vec::<f32>(), b.weight.to_vec::<f32>());
//! ```

mod globals;
mod pickle;
mod read;

pub use read::{load, load_key};
pub use write::save;

mod write;

use tandem_core::Tensor;

/// A state dict: tensors by dotted name (`l1.weight`), in order (`OrderedDict` in PyTorch).
///
/// What [`load`] returns and what [`Module::load_state_dict`](crate::Module::load_state_dict)
/// takes. It derefs to `[(String, Tensor)]`, the type `Module::state_dict()` returns, so both
/// pass to [`save`] and to `load_state_dict` alike.
#[derive(Clone, Debug, Default)]
pub struct StateDict(Vec<(String, Tensor)>);

impl StateDict {
    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The tensor named `key`.
    pub fn get(&self, key: &str) -> Option<&Tensor> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// The entries under `prefix.`, with the prefix taken off: `ckpt.sub("model")` is
    /// Python's `ckpt["model"]` for a checkpoint saved as `{"model": model.state_dict(), ...}`.
    pub fn sub(&self, prefix: &str) -> StateDict {
        let head = format!("{prefix}.");
        StateDict(
            self.0
                .iter()
                .filter_map(|(k, t)| Some((k.strip_prefix(&head)?.to_string(), t.clone())))
                .collect(),
        )
    }

    /// The entries, as `Module::state_dict()` returns them.
    pub fn into_vec(self) -> Vec<(String, Tensor)> {
        self.0
    }
}

impl std::ops::Deref for StateDict {
    type Target = [(String, Tensor)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<Vec<(String, Tensor)>> for StateDict {
    fn from(entries: Vec<(String, Tensor)>) -> Self {
        StateDict(entries)
    }
}

impl std::ops::Index<&str> for StateDict {
    type Output = Tensor;
    /// `state_dict["l1.weight"]`; panics naming the key when there is none.
    fn index(&self, key: &str) -> &Tensor {
        self.get(key)
            .unwrap_or_else(|| panic!("state dict has no key '{key}'"))
    }
}

/// Orders dotted names as PyTorch's module registration usually does: segment by segment,
/// numbers by value (`layers.2` before `layers.10`).
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    _ => x.cmp(y),
                };
                if ord.is_ne() {
                    return ord;
                }
            }
        }
    }
}
