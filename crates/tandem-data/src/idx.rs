//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic `00 00 <type> <ndim>`, then `ndim` big-endian `u32` sizes, then
//! the elements row-major and big-endian. Gzip input is recognised by its magic bytes `1f 8b`,
//! whatever the file is called.
//!
//! | type code | element  | tensor dtype |
//! |-----------|----------|--------------|
//! | `0x08`    | `u8`     | `UInt8`      |
//! | `0x0B`    | `i16`    | `Int32`      |
//! | `0x0C`    | `i32`    | `Int32`      |
//! | `0x0D`    | `f32`    | `Float32`    |
//! | `0x0E`    | `f64`    | `Float64`    |
//!
//! (`0x09`, signed bytes, is rejected: no tensor dtype holds it without surprising the caller.)
//!
//! ```
//! use tandem_core::DType;
//! // 2 x 3 unsigned bytes.
//! let bytes = [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
//! let t = tandem_data::idx::read_idx_bytes("example.idx", &bytes)?;
//! assert_eq!(t.shape(), &[2, 3]);
//! assert_eq!(t.dtype(), DType::UInt8);
//! assert_eq!(t.to_vec::<u8>(), vec![1, 2, 3, 4, 5, 6]);
//! # Ok::<(), tandem_data::DataError>(())
//! ```

use crate::bytes::{maybe_gunzip, read_file};
use crate::error::{DataError, Result};
use std::path::Path;
use tandem_core::Tensor;

/// Reads the IDX file at `path` (raw or gzip) into a tensor of the stored shape.
///
/// Errors name the file: unreadable file, corrupt gzip, bad magic, a header or data shorter than
/// the header promises, or data longer than its dimensions account for.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse(&path.display().to_string(), &bytes)
}

/// Reads IDX data held in memory (raw or gzip); `name` is used in error messages.
pub fn read_idx_bytes(name: &str, bytes: &[u8]) -> Result<Tensor> {
    let bytes = maybe_gunzip(name, bytes)?;
    parse(name, &bytes)
}

/// The element types of the IDX format.
#[derive(Clone, Copy)]
enum Elem {
    U8,
    I16,
    I32,
    F32,
    F64,
}

impl Elem {
    fn from_code(name: &str, magic: u32) -> Result<Elem> {
        let code = (magic >> 8) as u8;
        let bad = |problem: String| DataError::BadMagic {
            name: name.to_string(),
            magic,
            problem,
        };
        if magic >> 16 != 0 {
            return Err(bad(
                "an IDX file starts with two zero bytes (is this an IDX file?)".into(),
            ));
        }
        match code {
            0x08 => Ok(Elem::U8),
            0x0B => Ok(Elem::I16),
            0x0C => Ok(Elem::I32),
            0x0D => Ok(Elem::F32),
            0x0E => Ok(Elem::F64),
            0x09 => Err(bad(
                "IDX type code 0x09 (int8) is not supported".into(),
            )),
            other => Err(bad(format!(
                "unknown IDX type code 0x{other:02x} (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)"
            ))),
        }
    }

    fn size(self) -> usize {
        match self {
            Elem::U8 => 1,
            Elem::I16 => 2,
            Elem::I32 | Elem::F32 => 4,
            Elem::F64 => 8,
        }
    }
}

fn parse(name: &str, bytes: &[u8]) -> Result<Tensor> {
    let truncated = |what, expected, found| DataError::Truncated {
        name: name.to_string(),
        what,
        expected,
        found,
    };
    let Some(magic) = bytes.first_chunk::<4>() else {
        return Err(truncated("header", 4, bytes.len()));
    };
    let magic = u32::from_be_bytes(*magic);
    let elem = Elem::from_code(name, magic)?;
    let ndim = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndim;
    let Some(header) = bytes.get(4..header_len) else {
        return Err(truncated("header", header_len, bytes.len()));
    };
    let dims: Vec<usize> = header
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let data = &bytes[header_len..];
    // Every dimension (a zero one counted as 1, as strides do) must multiply without overflow,
    // even when a zero dimension makes the data empty.
    dims.iter()
        .try_fold(elem.size(), |acc, &d| acc.checked_mul(d.max(1)))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| DataError::Shape {
            name: name.to_string(),
            expected: "header dims whose product fits in memory".into(),
            found: format!("{dims:?}"),
        })?;
    let expected = elem.size() * dims.iter().product::<usize>();
    if data.len() < expected {
        return Err(truncated("data", expected, data.len()));
    }
    if data.len() > expected {
        return Err(DataError::TrailingData {
            name: name.to_string(),
            dims,
            expected,
            found: data.len(),
        });
    }
    Ok(decode(elem, data, &dims))
}

fn decode(elem: Elem, data: &[u8], dims: &[usize]) -> Tensor {
    match elem {
        Elem::U8 => Tensor::from_vec(data.to_vec(), dims),
        Elem::I16 => Tensor::from_vec(
            data.chunks_exact(2)
                .map(|c| i32::from(i16::from_be_bytes([c[0], c[1]])))
                .collect::<Vec<i32>>(),
            dims,
        ),
        Elem::I32 => Tensor::from_vec(
            data.chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<i32>>(),
            dims,
        ),
        Elem::F32 => Tensor::from_vec(
            data.chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<f32>>(),
            dims,
        ),
        Elem::F64 => Tensor::from_vec(
            data.chunks_exact(8)
                .map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect::<Vec<f64>>(),
            dims,
        ),
    }
}

/// Encodes a `u8` array as raw IDX bytes (type `0x08`): the inverse of [`read_idx_bytes`] for
/// uint8 data. Useful for writing test fixtures and caching converted datasets.
///
/// Returns `None` when there are more than 255 dimensions, a dimension does not fit in `u32`,
/// or `data.len()` is not the product of `dims`.
///
/// ```
/// let bytes = tandem_data::idx::encode_u8(&[2, 2], &[1, 2, 3, 4]).unwrap();
/// let t = tandem_data::idx::read_idx_bytes("roundtrip", &bytes)?;
/// assert_eq!(t.shape(), &[2, 2]);
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub fn encode_u8(dims: &[usize], data: &[u8]) -> Option<Vec<u8>> {
    let ndim = u8::try_from(dims.len()).ok()?;
    if dims.iter().product::<usize>() != data.len() {
        return None;
    }
    let mut out = vec![0, 0, 0x08, ndim];
    for &d in dims {
        out.extend_from_slice(&u32::try_from(d).ok()?.to_be_bytes());
    }
    out.extend_from_slice(data);
    Some(out)
}
