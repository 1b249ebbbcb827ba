//! NumPy `.npz` archives (`np.savez`, `np.savez_compressed`): a zip of `.npy` files, one array
//! each, as Keras's `mnist.npz` is. The zip goes through the `zip` crate, each array's header
//! and data through `npyz`.
//!
//! ```no_run
//! // np.load("mnist.npz")["x_train"]
//! let arrays = tandem_data::npz::read_npz("mnist.npz")?;
//! let x_train = &arrays.iter().find(|(k, _)| k == "x_train").unwrap().1;
//! assert_eq!(x_train.shape(), &[60000, 28, 28]);
//! # Ok::<(), tandem_data::DataError>(())
//! ```

use crate::error::{DataError, Result};
use npyz::{DType, TypeChar};
use std::io::{Cursor, Read};
use std::path::Path;
use tandem_core::Tensor;

fn invalid(name: &str, what: impl std::fmt::Display) -> DataError {
    DataError::Npz {
        name: name.to_string(),
        problem: what.to_string(),
    }
}

/// Every array of the `.npz` file at `path`, by name (the entry name without `.npy`), in the
/// archive's order.
///
/// # Errors
/// [`DataError::Io`] when the file cannot be read; [`DataError::Npz`] naming the file and
/// the entry when the zip or an array is corrupt, truncated, or of a dtype tandem does not have
/// (bool, uint8, int32, int64, float32, float64 load; narrower integers widen).
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_npz_bytes(&path.display().to_string(), &bytes)
}

/// [`read_npz`] of in-memory bytes; `name` is used in messages.
pub fn read_npz_bytes(name: &str, bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| invalid(name, e))?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| invalid(name, e))?;
        let entry_name = entry.name().map_err(|e| invalid(name, e))?.to_string();
        let Some(array) = entry_name.strip_suffix(".npy") else {
            continue;
        };
        let what = format!("{name}[{entry_name}]");
        // The declared size bounds what is read, so a forged header cannot ask for more.
        let mut data = Vec::with_capacity(entry.size().min(1 << 30) as usize);
        entry
            .read_to_end(&mut data)
            .map_err(|e| invalid(&what, e))?;
        out.push((array.to_string(), read_npy_bytes(&what, &data)?));
    }
    Ok(out)
}

/// One `.npy` array from its bytes.
pub fn read_npy_bytes(name: &str, bytes: &[u8]) -> Result<Tensor> {
    let npy = npyz::NpyFile::new(bytes).map_err(|e| invalid(name, e))?;
    if npy.order() == npyz::Order::Fortran {
        return Err(invalid(name, "Fortran-ordered arrays are not supported"));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let count: usize = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| invalid(name, "the shape overflows"))?;
    let DType::Plain(ty) = npy.dtype() else {
        return Err(invalid(
            name,
            format!("dtype {} is not a plain number type", npy.dtype().descr()),
        ));
    };
    if count.saturating_mul(ty.size_field() as usize) > bytes.len() {
        return Err(invalid(
            name,
            format!(
                "{count} elements of {ty} need more than the {} bytes present",
                bytes.len()
            ),
        ));
    }
    let err = |e: std::io::Error| invalid(name, e);
    Ok(match (ty.type_char(), ty.size_field()) {
        (TypeChar::Bool, 1) => Tensor::from_vec(npy.into_vec::<bool>().map_err(err)?, &shape),
        (TypeChar::Uint, 1) => Tensor::from_vec(npy.into_vec::<u8>().map_err(err)?, &shape),
        (TypeChar::Int, 1) => widen(npy.into_vec::<i8>().map_err(err)?, &shape),
        (TypeChar::Int, 2) => widen(npy.into_vec::<i16>().map_err(err)?, &shape),
        (TypeChar::Uint, 2) => widen(npy.into_vec::<u16>().map_err(err)?, &shape),
        (TypeChar::Int, 4) => Tensor::from_vec(npy.into_vec::<i32>().map_err(err)?, &shape),
        (TypeChar::Uint, 4) => Tensor::from_vec(
            npy.into_vec::<u32>()
                .map_err(err)?
                .into_iter()
                .map(i64::from)
                .collect::<Vec<i64>>(),
            &shape,
        ),
        (TypeChar::Int, 8) => Tensor::from_vec(npy.into_vec::<i64>().map_err(err)?, &shape),
        (TypeChar::Float, 4) => Tensor::from_vec(npy.into_vec::<f32>().map_err(err)?, &shape),
        (TypeChar::Float, 8) => Tensor::from_vec(npy.into_vec::<f64>().map_err(err)?, &shape),
        _ => return Err(invalid(name, format!("dtype {ty} has no tandem dtype"))),
    })
}

fn widen<T: Into<i32>>(v: Vec<T>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v.into_iter().map(Into::into).collect::<Vec<i32>>(), shape)
}
