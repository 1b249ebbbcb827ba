//! Reading files whole, decompressing gzip when the content starts with its magic bytes.

use crate::error::{DataError, Result};
use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::Path;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` start like a gzip stream.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// `bytes` decompressed when they are gzip, else borrowed as they are.
pub(crate) fn maybe_gunzip<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(gzip_size_hint(bytes));
    MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            name: name.to_string(),
            source,
        })?;
    Ok(std::borrow::Cow::Owned(out))
}

/// The whole content of `path`, decompressed when it is gzip.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !is_gzip(&raw) {
        return Ok(raw);
    }
    Ok(maybe_gunzip(&path.display().to_string(), &raw)?.into_owned())
}

/// The uncompressed size recorded in a gzip trailer (ISIZE, modulo 2^32), capped so a corrupt
/// trailer cannot make us reserve more than deflate's best ratio (1032:1) allows, nor more than
/// 64 MiB up front.
fn gzip_size_hint(bytes: &[u8]) -> usize {
    let cap = (64usize << 20).min(bytes.len().saturating_mul(1032));
    match bytes.len().checked_sub(4).and_then(|at| bytes.get(at..)) {
        Some(t) if bytes.len() >= 18 => {
            (u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize).min(cap)
        }
        _ => 0,
    }
}
