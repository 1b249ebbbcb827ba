//! `.npz` reading on arbitrary bytes: arrays or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tandem_data::npz::read_npz_bytes("fuzz.npz", data);
});
