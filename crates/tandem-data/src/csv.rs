//! Delimited text into a 2-D tensor, like `numpy.loadtxt`.
//!
//! One row per line. Text from the comment marker to the end of a line is ignored, as are lines
//! left empty (or all whitespace) by that; fields are trimmed of whitespace. Every row must have
//! the same number of columns. Gzip files are decompressed (recognised by their magic bytes).
//! Errors name the file, the 1-based line and the 1-based column (field number):
//!
//! ```
//! use tandem_data::csv::{loadtxt_bytes, LoadTxt};
//! let text = b"# x, y\n1, 2\n3, oops\n";
//! let err = loadtxt_bytes("pairs.csv", text, &LoadTxt::default()).unwrap_err();
//! assert_eq!(err.to_string(), "pairs.csv:3:2: cannot parse 'oops' as a number");
//!
//! let t = loadtxt_bytes("pairs.csv", b"# x, y\n1, 2\n3, 4\n", &LoadTxt::default())?;
//! assert_eq!(t.shape(), &[2, 2]);
//! assert_eq!(t.to_vec::<f32>(), vec![1.0, 2.0, 3.0, 4.0]);
//! # Ok::<(), tandem_data::DataError>(())
//! ```

use crate::bytes::{maybe_gunzip, read_file};
use crate::error::{DataError, Result};
use std::path::Path;
use tandem_core::{DType, Tensor};

/// Options of [`loadtxt`], named as `numpy.loadtxt`'s.
#[derive(Clone, Debug)]
pub struct LoadTxt<'a> {
    /// The byte between fields (default `b','`).
    pub delimiter: u8,
    /// Where a comment starts; the rest of the line is ignored (default `Some("#")`).
    pub comments: Option<&'a str>,
    /// Lines to skip at the start of the file, comment lines included (default 0).
    pub skiprows: usize,
    /// Which columns to keep, 0-based, in the order given (default: all).
    pub usecols: Option<Vec<usize>>,
    /// The dtype of the result (default `Float32`). Integer dtypes accept only integer text.
    pub dtype: DType,
}

impl Default for LoadTxt<'_> {
    fn default() -> Self {
        LoadTxt {
            delimiter: b',',
            comments: Some("#"),
            skiprows: 0,
            usecols: None,
            dtype: DType::Float32,
        }
    }
}

/// Reads the delimited text file at `path` (raw or gzip) into a 2-D tensor `[rows, columns]`.
///
/// ```
/// use tandem_data::csv::{loadtxt, LoadTxt};
/// let path = std::env::temp_dir().join("tandem-data-loadtxt-doc.csv");
/// std::fs::write(&path, "1,2,3\n4,5,6\n")?;
/// let t = loadtxt(&path, LoadTxt { usecols: Some(vec![2, 0]), ..LoadTxt::default() })?;
/// assert_eq!(t.to_vec::<f32>(), vec![3.0, 1.0, 6.0, 4.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn loadtxt(path: impl AsRef<Path>, options: LoadTxt<'_>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse(&path.display().to_string(), &bytes, &options)
}

/// [`loadtxt`] on text held in memory (raw or gzip); `name` is used in error messages.
pub fn loadtxt_bytes(name: &str, bytes: &[u8], options: &LoadTxt<'_>) -> Result<Tensor> {
    let bytes = maybe_gunzip(name, bytes)?;
    parse(name, &bytes, options)
}

/// The kept part of each line, and its 1-based line number.
fn data_lines<'b>(bytes: &'b [u8], options: &LoadTxt<'_>) -> Vec<(usize, &'b [u8])> {
    let comment = options
        .comments
        .filter(|c| !c.is_empty())
        .map(str::as_bytes);
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .skip(options.skiprows)
        .filter_map(|(i, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = match comment {
                Some(c) => line
                    .windows(c.len())
                    .position(|w| w == c)
                    .map_or(line, |at| &line[..at]),
                None => line,
            };
            (!line.trim_ascii().is_empty()).then_some((i + 1, line))
        })
        .collect()
}

fn parse(file: &str, bytes: &[u8], options: &LoadTxt<'_>) -> Result<Tensor> {
    let lines = data_lines(bytes, options);
    let mut joined = Vec::with_capacity(bytes.len());
    for (_, line) in &lines {
        joined.extend_from_slice(line);
        joined.push(b'\n');
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(options.delimiter)
        .quoting(false)
        .flexible(true)
        .from_reader(joined.as_slice());

    let mut values = Values::new(options.dtype);
    let mut ncols = None;
    let mut rows = 0;
    let mut record = ::csv::ByteRecord::new();
    for &(line, _) in &lines {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| DataError::invalid("loadtxt", format!("{file}:{line}: {e}")))?;
        if !more {
            break;
        }
        let found = record.len();
        let expected = *ncols.get_or_insert(found);
        if found != expected {
            return Err(DataError::Ragged {
                file: file.to_string(),
                line,
                expected,
                found,
            });
        }
        let columns: Vec<usize> = match &options.usecols {
            Some(cols) => {
                if let Some(&bad) = cols.iter().find(|&&c| c >= found) {
                    return Err(DataError::invalid(
                        "loadtxt",
                        format!("{file}:{line}: usecols asks for column index {bad}, but rows have {found} columns"),
                    ));
                }
                cols.clone()
            }
            None => (0..found).collect(),
        };
        rows += 1;
        for c in columns {
            let field = record.get(c).unwrap_or_default();
            values.push(field).map_err(|expected| DataError::Parse {
                file: file.to_string(),
                line,
                column: c + 1,
                text: shorten(field),
                expected,
            })?;
        }
    }
    let Some(found) = ncols else {
        return Err(DataError::Empty {
            file: file.to_string(),
        });
    };
    let cols = options.usecols.as_ref().map_or(found, Vec::len);
    Ok(values.into_tensor(rows, cols))
}

/// The offending text for a message: trimmed, lossily decoded, at most 40 characters.
fn shorten(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field.trim_ascii());
    if text.chars().count() <= 40 {
        return text.into_owned();
    }
    text.chars().take(37).chain("...".chars()).collect()
}

/// Parsed values, stored in the type the result will have.
enum Values {
    Float(Vec<f64>, DType),
    Int(Vec<i64>, DType),
    Bool(Vec<bool>),
}

impl Values {
    fn new(dtype: DType) -> Values {
        match dtype {
            DType::Float32 | DType::Float64 => Values::Float(Vec::new(), dtype),
            DType::Int64 | DType::Int32 | DType::UInt8 => Values::Int(Vec::new(), dtype),
            DType::Bool => Values::Bool(Vec::new()),
        }
    }

    /// Parses one field; on failure, what was expected.
    fn push(&mut self, field: &[u8]) -> std::result::Result<(), &'static str> {
        let text = std::str::from_utf8(field.trim_ascii()).map_err(|_| "a number")?;
        match self {
            Values::Float(v, _) => v.push(text.parse::<f64>().map_err(|_| "a number")?),
            Values::Int(v, dtype) => {
                let x = text.parse::<i64>().map_err(|_| "an integer")?;
                let ok = match dtype {
                    DType::Int32 => i32::try_from(x).is_ok(),
                    DType::UInt8 => u8::try_from(x).is_ok(),
                    _ => true,
                };
                if !ok {
                    return Err(match dtype {
                        DType::Int32 => "an integer in int32 range",
                        _ => "an integer in uint8 range (0 to 255)",
                    });
                }
                v.push(x);
            }
            Values::Bool(v) => v.push(match text {
                "1" | "true" | "True" | "TRUE" => true,
                "0" | "false" | "False" | "FALSE" => false,
                _ => return Err("a boolean (0, 1, true or false)"),
            }),
        }
        Ok(())
    }

    fn into_tensor(self, rows: usize, cols: usize) -> Tensor {
        let shape = [rows, cols];
        match self {
            Values::Float(v, DType::Float64) => Tensor::from_vec(v, &shape),
            Values::Float(v, _) => {
                Tensor::from_vec(v.into_iter().map(|x| x as f32).collect(), &shape)
            }
            Values::Int(v, DType::Int32) => {
                Tensor::from_vec(v.into_iter().map(|x| x as i32).collect(), &shape)
            }
            Values::Int(v, DType::UInt8) => {
                Tensor::from_vec(v.into_iter().map(|x| x as u8).collect(), &shape)
            }
            Values::Int(v, _) => Tensor::from_vec(v, &shape),
            Values::Bool(v) => Tensor::from_vec(v, &shape),
        }
    }
}

/// Reads the rows of a CSV file with quoted text fields (raw or gzip; no header row), like
/// Python's `csv.reader`: each row's fields as strings. Errors name the file and the line.
///
/// ```
/// let path = std::env::temp_dir().join("tandem-data-read-rows-doc.csv");
/// std::fs::write(&path, "\"Adsit\",\"Czech\"\n\"O'Neal\",\"Irish\"\n")?;
/// let rows = tandem_data::csv::read_rows(&path)?;
/// assert_eq!(rows[1], ["O'Neal", "Irish"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_rows(path: impl AsRef<Path>) -> Result<Vec<Vec<String>>> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let raw = read_file(path)?;
    let bytes = maybe_gunzip(&name, &raw)?;
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_ref());
    reader
        .records()
        .map(|r| {
            r.map(|rec| rec.iter().map(str::to_string).collect())
                .map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line());
                    DataError::invalid("read_rows", format!("{name}:{line}: {e}"))
                })
        })
        .collect()
}
