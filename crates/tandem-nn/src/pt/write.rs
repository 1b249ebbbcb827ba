//! `torch.save` of a state dict.

use super::pickle::{state_dict_pickle, TensorRecord};
use crate::state_dict::{le_bytes, write_atomic, CheckpointError};
use std::io::Write;
use std::path::Path;
use tandem_core::Tensor;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// `torch.save(state_dict, path)`: writes `tensors` in PyTorch's zip format, which
/// `torch.load(path, weights_only=True)` reads back as an `OrderedDict` of tensors in this
/// order. Each tensor gets a storage of its own, stored (not compressed) and 64-byte aligned as
/// PyTorch aligns them. The file appears whole or not at all (temporary file, then rename).
///
/// # Errors
/// [`CheckpointError::Io`] when the file cannot be written.
pub fn save(tensors: &[(String, Tensor)], path: impl AsRef<Path>) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    // PyTorch names the archive's top folder after the file; any one name is read back.
    let archive = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty() && s.is_ascii())
        .unwrap_or("archive")
        .to_string();
    let records: Vec<TensorRecord<'_>> = tensors
        .iter()
        .enumerate()
        .map(|(i, (name, t))| TensorRecord {
            name,
            dtype: t.dtype(),
            shape: t.shape(),
            storage_key: i.to_string(),
        })
        .collect();
    let pickle = state_dict_pickle(&records);
    write_atomic(path, |file| {
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        let entry = |len: usize| {
            SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(len as u64 >= u64::from(u32::MAX))
        };
        let mut put = |name: String, bytes: &[u8], align: u16| -> std::io::Result<()> {
            zip.start_file(name, entry(bytes.len()).with_alignment(align))
                .map_err(std::io::Error::other)?;
            zip.write_all(bytes)
        };
        put(format!("{archive}/data.pkl"), &pickle, 1)?;
        put(format!("{archive}/byteorder"), b"little", 1)?;
        for (record, (_, t)) in records.iter().zip(tensors) {
            let bytes = le_bytes(&t.contiguous());
            put(format!("{archive}/data/{}", record.storage_key), &bytes, 64)?;
        }
        put(format!("{archive}/version"), b"3\n", 1)?;
        put(format!("{archive}/.data/version"), b"3\n", 1)?;
        let mut writer = zip.finish().map_err(std::io::Error::other)?;
        writer.flush()
    })
}
