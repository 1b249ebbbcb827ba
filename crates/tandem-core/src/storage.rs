//! Shared element storage with a version counter for autograd's in-place checks, and a small
//! per-thread cache of float32 buffers.
//!
//! A training step or an eager loop allocates the same result sizes over and over; glibc serves
//! allocations above 1 KiB from its bins rather than its per-thread cache, which costs about as
//! much as an elementwise kernel over a thousand elements. Freed float32 buffers of moderate
//! size are therefore kept (a few per thread) and handed back to the next kernel that asks for
//! exactly that many elements.

use crate::dtype::{Buffer, Element};
use parking_lot::RwLock;
use std::any::TypeId;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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

impl Drop for Storage {
    fn drop(&mut self) {
        if let Buffer::F32(v) = self.data.get_mut() {
            recycle_f32(std::mem::take(v));
        }
    }
}

/// A thread-safe reference-counted pointer: `std::sync::Arc` without weak references, whose
/// last handle frees the value without an atomic read-modify-write.
///
/// Tensors, their storages and their graph nodes live behind these. An eager step makes and
/// drops a dozen of each, and most are dropped by their only handle. On the machines we measure,
/// a locked decrement costs 25–30 cycles, more than the rest of a small op's bookkeeping per
/// handle. A plain load that reads a count of one proves the handle is the last (no other
/// handle exists to clone it from), so the value can be freed at once.
pub(crate) struct Shared<T> {
    ptr: NonNull<SharedInner<T>>,
    _owns: PhantomData<SharedInner<T>>,
}

struct SharedInner<T> {
    count: AtomicUsize,
    value: T,
}

// SAFETY: as for `std::sync::Arc`: handles on several threads share `&T` (so `T: Sync`), and the
// last one may drop `T` on any thread (so `T: Send`).
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// A new value with one handle.
    #[inline]
    pub(crate) fn new(value: T) -> Self {
        let inner = Box::new(SharedInner {
            count: AtomicUsize::new(1),
            value,
        });
        Shared {
            ptr: NonNull::from(Box::leak(inner)),
            _owns: PhantomData,
        }
    }

    #[inline]
    fn inner(&self) -> &SharedInner<T> {
        // SAFETY: the allocation lives as long as any handle, and this is one.
        unsafe { self.ptr.as_ref() }
    }

    /// Whether this is the only handle. Acquire: whatever the other handles' threads did
    /// before dropping them is visible after a `true`.
    #[inline]
    pub(crate) fn is_unique(this: &Self) -> bool {
        this.inner().count.load(Ordering::Acquire) == 1
    }

    /// The value, mutably, when this is the only handle.
    #[inline]
    pub(crate) fn get_mut(this: &mut Self) -> Option<&mut T> {
        if Shared::is_unique(this) {
            // SAFETY: no other handle exists, and `&mut this` excludes borrows through this one;
            // no new handle can appear while the borrow lasts.
            Some(unsafe { &mut (*this.ptr.as_ptr()).value })
        } else {
            None
        }
    }

    /// Whether two handles point to the same value.
    #[inline]
    pub(crate) fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }

    /// The address of the value (stable while any handle lives).
    #[inline]
    pub(crate) fn as_ptr(this: &Self) -> *const T {
        &this.inner().value
    }
}

impl<T> Clone for Shared<T> {
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed, as `Arc`: a new handle is made from an existing one, which already keeps
        // the value alive; no other memory needs ordering.
        let old = self.inner().count.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            std::process::abort();
        }
        Shared {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Drop for Shared<T> {
    #[inline]
    fn drop(&mut self) {
        let count = &self.inner().count;
        // A count of one read through a live handle is final: only a handle can make another.
        // Otherwise decrement; the handle that takes the count to zero frees, after an acquire
        // fence that orders the other handles' releases before it.
        if count.load(Ordering::Acquire) != 1 {
            if count.fetch_sub(1, Ordering::Release) != 1 {
                return;
            }
            std::sync::atomic::fence(Ordering::Acquire);
        }
        // SAFETY: this was the last handle; the allocation came from `Box::new` in `new`.
        unsafe { drop(Box::from_raw(self.ptr.as_ptr())) }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// Buffers kept per thread, and the sizes (in elements) worth keeping: small ones come from
/// the allocator's fast path anyway, large ones would hold too much memory.
const CACHED: usize = 16;
const MIN_ELEMENTS: usize = 256;
const MAX_ELEMENTS: usize = 1 << 16;

thread_local! {
    static FREE_F32: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

fn recycle_f32(v: Vec<f32>) {
    let cap = v.capacity();
    if !(MIN_ELEMENTS..=MAX_ELEMENTS).contains(&cap) {
        return;
    }
    // `try_with`: during thread teardown the cache may be gone; the buffer is then freed.
    let _ = FREE_F32.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if cache.len() == CACHED {
                cache.remove(0);
            }
            cache.push(v);
        }
    });
}

/// An empty vector for a kernel's result of `n` elements: for float32, a buffer of exactly
/// that capacity freed recently on this thread when there is one; otherwise a new allocation.
pub(crate) fn result_vec<T: Element>(n: usize) -> Vec<T> {
    if TypeId::of::<T>() != TypeId::of::<f32>() {
        return Vec::with_capacity(n);
    }
    // SAFETY: `T` is `f32` (checked above), so this is the identity conversion.
    unsafe { std::mem::transmute::<Vec<f32>, Vec<T>>(vec_f32(n)) }
}

fn vec_f32(n: usize) -> Vec<f32> {
    if (MIN_ELEMENTS..=MAX_ELEMENTS).contains(&n) {
        let reused = FREE_F32
            .try_with(|cache| {
                let mut cache = cache.try_borrow_mut().ok()?;
                let i = cache.iter().rposition(|v| v.capacity() == n)?;
                let mut v = cache.swap_remove(i);
                v.clear();
                Some(v)
            })
            .ok()
            .flatten();
        if let Some(v) = reused {
            return v;
        }
    }
    Vec::with_capacity(n)
}

/// mimalloc as a program's global allocator: the `tandem` crate installs it (its default
/// `mimalloc` feature), and a program of its own can too.
///
/// Two things differ from calling mimalloc's aligned entry points for every request, as a
/// plain binding does:
/// - Requests aligned to at most a machine word (a tensor's handle, its storage, its `f32`
///   elements) take `mi_malloc`, which serves them from the thread's free list without the
///   alignment checks: an eager step makes dozens of such allocations.
/// - Freed memory stays with the process (mimalloc's `purge_delay` of −1) unless the
///   `MIMALLOC_PURGE_DELAY` environment variable says otherwise. With mimalloc's default of one
///   second, a training loop's buffers that happen to be free when the purge runs are handed
///   back to the kernel, and the next step faults them in again and has them zeroed: about
///   80 page faults per iteration of the GPT benchmark, some 8,000 over the MLP benchmark's
///   three epochs.
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: tandem_core::Mimalloc = tandem_core::Mimalloc;
///
/// let v = vec![1.0f32; 1000];
/// assert_eq!(v.iter().sum::<f32>(), 1000.0);
/// ```
#[cfg(feature = "mimalloc")]
pub struct Mimalloc;

#[cfg(feature = "mimalloc")]
impl Mimalloc {
    /// How many milliseconds mimalloc waits before it hands freed memory back to the kernel
    /// (−1: never). Once this allocator has served a block, −1 unless `MIMALLOC_PURGE_DELAY`
    /// set another value.
    ///
    /// ```
    /// let _warm = vec![0u8; 64];
    /// let delay = tandem_core::Mimalloc::purge_delay_ms();
    /// assert!(delay >= -1);
    /// ```
    pub fn purge_delay_ms() -> i64 {
        mimalloc_impl::purge_delay_ms()
    }
}

#[cfg(feature = "mimalloc")]
mod mimalloc_impl {
    use super::Mimalloc;
    use libmimalloc_sys as mi;
    use std::alloc::{GlobalAlloc, Layout};
    use std::ffi::c_void;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Every mimalloc block is aligned to a machine word at least.
    const WORD: usize = std::mem::size_of::<usize>();

    /// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, which the binding does
    /// not name).
    const PURGE_DELAY: mi::mi_option_t = 15;

    static TUNED: AtomicBool = AtomicBool::new(false);

    // `c_long` is 64 bits here but 32 on some targets.
    #[allow(clippy::useless_conversion)]
    pub(super) fn purge_delay_ms() -> i64 {
        // SAFETY: reads one of mimalloc's option values.
        i64::from(unsafe { mi::mi_option_get(PURGE_DELAY) })
    }

    /// Sets the purge delay once, before the first block is handed out; `mi_option_set_default`
    /// leaves a value that came from the environment in place.
    #[inline]
    fn tune() {
        if !TUNED.load(Ordering::Relaxed) {
            TUNED.store(true, Ordering::Relaxed);
            // SAFETY: sets one of mimalloc's option values; it allocates nothing.
            unsafe { mi::mi_option_set_default(PURGE_DELAY, -1) };
        }
    }

    /// A new block for `layout` from `plain` (word-aligned requests) or `aligned`: mimalloc's
    /// `malloc`/`malloc_aligned` pair or its zeroing `zalloc` pair.
    #[inline]
    fn block(
        layout: Layout,
        plain: unsafe extern "C" fn(usize) -> *mut c_void,
        aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
    ) -> *mut u8 {
        tune();
        // SAFETY: plain FFI calls that take a size (and an alignment, a power of two as
        // `Layout` guarantees); a null return is passed on as allocation failure.
        unsafe {
            if layout.align() <= WORD {
                plain(layout.size()).cast()
            } else {
                aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    // SAFETY: every block comes from mimalloc with at least the requested alignment (word
    // alignment is mimalloc's minimum; larger ones go through its aligned entry points), and
    // blocks are returned to it alone.
    unsafe impl GlobalAlloc for Mimalloc {
        #[inline]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            block(layout, mi::mi_malloc, mi::mi_malloc_aligned)
        }

        #[inline]
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            block(layout, mi::mi_zalloc, mi::mi_zalloc_aligned)
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            // SAFETY: the caller passes a block this allocator returned.
            unsafe { mi::mi_free(ptr.cast::<c_void>()) }
        }

        #[inline]
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: the caller passes a block this allocator returned with `layout`; the new
            // block keeps its alignment.
            unsafe {
                if layout.align() <= WORD {
                    mi::mi_realloc(ptr.cast(), new_size).cast()
                } else {
                    mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_buffer_is_handed_back_for_the_same_size_only() {
        let v: Vec<f32> = vec![1.0; 1000];
        let ptr = v.as_ptr();
        drop(Storage::new(Buffer::F32(v)));
        let other = vec_f32(999);
        assert_ne!(other.as_ptr(), ptr);
        let again = vec_f32(1000);
        assert_eq!(again.as_ptr(), ptr);
        assert!(again.is_empty() && again.capacity() == 1000);
        // Taken once: the next request gets fresh memory.
        let fresh = vec_f32(1000);
        assert_ne!(fresh.as_ptr(), ptr);
    }

    #[test]
    fn the_cache_holds_a_bounded_number_of_buffers() {
        for _ in 0..100 {
            drop(Storage::new(Buffer::F32(Vec::with_capacity(4096))));
        }
        let held = FREE_F32.with(|c| c.borrow().len());
        assert!(held <= CACHED, "{held} buffers cached");
        let tiny = Storage::new(Buffer::F32(vec![0.0; 8]));
        drop(tiny);
        assert!(FREE_F32.with(|c| c.borrow().iter().all(|v| v.capacity() >= MIN_ELEMENTS)));
    }

    /// Counts its drops, to show a shared value is dropped once, by the last handle.
    struct Counted(std::sync::Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_shared_value_is_dropped_once_by_its_last_handle_on_any_thread() {
        for threads in [1, 2, 8] {
            let drops = std::sync::Arc::new(AtomicUsize::new(0));
            let first = Shared::new(Counted(drops.clone()));
            let handles: Vec<Shared<Counted>> = (0..threads * 100).map(|_| first.clone()).collect();
            assert!(!Shared::is_unique(&first));
            let mut chunks: Vec<Vec<Shared<Counted>>> = (0..threads).map(|_| Vec::new()).collect();
            for (i, h) in handles.into_iter().enumerate() {
                chunks[i % threads].push(h);
            }
            std::thread::scope(|s| {
                for chunk in chunks {
                    s.spawn(move || {
                        for h in chunk {
                            let again = h.clone();
                            drop(h);
                            drop(again);
                        }
                    });
                }
            });
            assert_eq!(
                drops.load(Ordering::SeqCst),
                0,
                "dropped while a handle lives"
            );
            let mut last = first;
            assert!(Shared::is_unique(&last));
            assert!(Shared::get_mut(&mut last).is_some());
            drop(last);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }
    }

    #[test]
    fn a_shared_value_is_not_mutable_while_another_handle_lives() {
        let mut a = Shared::new(vec![1, 2]);
        let b = a.clone();
        assert!(Shared::ptr_eq(&a, &b));
        assert_eq!(Shared::as_ptr(&a), Shared::as_ptr(&b));
        assert!(Shared::get_mut(&mut a).is_none());
        drop(b);
        Shared::get_mut(&mut a).expect("unique").push(3);
        assert_eq!(*a, vec![1, 2, 3]);
        assert!(!Shared::ptr_eq(&a, &Shared::new(vec![1, 2, 3])));
    }
}
