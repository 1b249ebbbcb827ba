//! `torch::load` on arbitrary bytes: a `.pt` file's zip container and pickle must give a state
//! dict or a typed error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The reader works on files; each fuzzing process reuses one.
    let path = std::env::temp_dir().join(format!("tandem-fuzz-{}.pt", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    let _ = tandem_nn::pt::load(&path);
});
