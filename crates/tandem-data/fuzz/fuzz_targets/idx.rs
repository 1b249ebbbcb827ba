//! Arbitrary bytes (raw or gzip) into the IDX reader: an error or a tensor whose size matches
//! its header, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = tandem_data::idx::read_idx_bytes("fuzz.idx", data) {
        assert_eq!(t.numel(), t.shape().iter().product::<usize>());
    }
});
