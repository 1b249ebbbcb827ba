//! Arbitrary bytes into `loadtxt` under a few option sets: an error or a 2-D tensor, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_core::DType;
use tandem_data::csv::{loadtxt_bytes, LoadTxt};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let dtype = [
        DType::Float32,
        DType::Float64,
        DType::Int64,
        DType::Int32,
        DType::UInt8,
        DType::Bool,
    ][usize::from(selector % 6)];
    let options = LoadTxt {
        delimiter: if selector & 0x80 != 0 { b';' } else { b',' },
        comments: if selector & 0x40 != 0 {
            None
        } else {
            Some("#")
        },
        skiprows: usize::from((selector >> 3) & 0x3),
        usecols: (selector & 0x20 != 0).then(|| vec![0]),
        dtype,
    };
    if let Ok(t) = loadtxt_bytes("fuzz.csv", text, &options) {
        assert_eq!(t.ndim(), 2);
        assert_eq!(t.dtype(), dtype);
    }
});
