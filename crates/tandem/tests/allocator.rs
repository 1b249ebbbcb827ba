//! A program that uses tandem allocates from mimalloc (the default `mimalloc` feature).

#![cfg(feature = "mimalloc")]

use tandem::torch;

#[test]
fn tensors_and_boxes_come_from_mimalloc() {
    let boxed = Box::new([0u8; 64]);
    let t = torch::ones(&[1000]);
    let data = t.with_slice::<f32, _>(|s| s.as_ptr());
    for p in [boxed.as_ptr(), data.cast()] {
        // SAFETY: `mi_is_in_heap_region` only compares the address with mimalloc's regions;
        // it reads nothing behind it.
        let ours = unsafe { libmimalloc_sys::mi_is_in_heap_region(p.cast()) };
        assert!(ours, "{p:?} was not allocated by mimalloc");
    }
    let foreign = [0u8; 16];
    // SAFETY: as above; a stack address is never in mimalloc's heap.
    assert!(!unsafe { libmimalloc_sys::mi_is_in_heap_region(foreign.as_ptr().cast()) });
}

#[test]
fn freed_memory_stays_with_the_process_unless_the_environment_says_otherwise() {
    let t = torch::ones(&[1 << 20]);
    drop(t);
    let delay = tandem_core::Mimalloc::purge_delay_ms();
    match std::env::var("MIMALLOC_PURGE_DELAY") {
        Ok(v) => assert_eq!(delay.to_string(), v.trim()),
        Err(_) => assert_eq!(delay, -1, "freed memory would go back to the kernel"),
    }
}
