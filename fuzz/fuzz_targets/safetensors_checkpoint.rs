//! Loading a safetensors checkpoint from arbitrary bytes: tensors or a typed error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!(
        "tandem-fuzz-{}.safetensors",
        std::process::id()
    ));
    std::fs::write(&path, data).expect("temp file");
    let _ = tandem_nn::load_safetensors(&path);
});
