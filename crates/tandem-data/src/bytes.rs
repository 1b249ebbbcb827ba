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

/// The whole text file at `path` (raw or gzip) as a `String`: Python's
/// `gzip.open(path, 'rt').read()`, or `open(path).read()` for a plain file.
///
/// # Errors
///
/// [`DataError::Io`] when the file cannot be read, [`DataError::Gzip`] for a corrupt gzip
/// stream, and [`DataError::InvalidArgument`] when the text is not UTF-8 (naming the file and
/// the byte offset).
///
/// ```
/// let path = std::env::temp_dir().join("tandem-data-read-text-doc.txt");
/// std::fs::write(&path, "First Citizen:\nBefore we proceed any further, hear me speak.\n")?;
/// let text = tandem_data::read_text(&path)?;
/// assert_eq!(text.lines().nth(1), Some("Before we proceed any further, hear me speak."));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_text(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    String::from_utf8(read_file(path)?).map_err(|e| {
        DataError::invalid(
            "read_text",
            format!(
                "{}: not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn read_text_reads_gzip_and_plain_files_alike() {
        let dir = tempfile::tempdir().unwrap();
        let text = "All:\nSpeak, speak.\n";
        let plain = dir.path().join("lines.txt");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("lines.txt.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read_text(&plain).unwrap(), text);
        assert_eq!(read_text(&gz).unwrap(), text);
    }

    #[test]
    fn read_text_rejects_bytes_that_are_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.txt");
        std::fs::write(&path, b"caf\xe9\n").unwrap();
        let err = read_text(&path).unwrap_err().to_string();
        assert!(
            err.ends_with("latin1.txt: not UTF-8 text (invalid byte at offset 3)"),
            "{err}"
        );
    }
}
