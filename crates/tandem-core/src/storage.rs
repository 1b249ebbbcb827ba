//! Shared element storage with a version counter for autograd's in-place checks.

use crate::dtype::Buffer;
use parking_lot::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The memory behind one or more tensors (views share it).
#[derive(Debug)]
pub(crate) struct Storage {
    pub(crate) data: RwLock<Buffer>,
    version: AtomicU64,
}

impl Storage {
    pub(crate) fn new(buf: Buffer) -> Self {
        Storage {
            data: RwLock::new(buf),
            version: AtomicU64::new(0),
        }
    }

    /// How many in-place writes the storage has seen.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    pub(crate) fn bump_version(&self) {
        self.version.fetch_add(1, Ordering::Relaxed);
    }
}
