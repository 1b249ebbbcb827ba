//! Bad input gives typed errors whose messages say what and where; nothing panics.

use tandem_data::csv::{loadtxt, loadtxt_bytes, LoadTxt};
use tandem_data::idx::{encode_u8, read_idx, read_idx_bytes};
use tandem_data::DataError;

const LABELS_GZ: &[u8] = include_bytes!("../data/mnist-sample/t10k-labels-idx1-ubyte.gz");

fn zoo_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/zerotoall/data-04-zoo.csv")
}

#[test]
fn truncated_gzip_is_a_gzip_error() {
    let cut = &LABELS_GZ[..LABELS_GZ.len() / 2];
    let err = read_idx_bytes("t10k-labels-idx1-ubyte.gz", cut).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("t10k-labels-idx1-ubyte.gz: corrupt gzip data"),
        "{msg}"
    );
}

#[test]
fn gzip_missing_its_trailer_is_an_error() {
    // Everything but the CRC32 + size trailer: the deflate data is complete, the stream is not.
    let cut = &LABELS_GZ[..LABELS_GZ.len() - 8];
    let err = read_idx_bytes("labels.gz", cut).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
}

#[test]
fn gzip_with_a_wrong_checksum_is_an_error() {
    let mut bad = LABELS_GZ.to_vec();
    let crc_at = bad.len() - 8;
    bad[crc_at] ^= 0xff;
    let err = read_idx_bytes("labels.gz", &bad).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
}

#[test]
fn truncated_gzip_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    std::fs::write(&path, &LABELS_GZ[..100]).unwrap();
    let msg = read_idx(&path).unwrap_err().to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = read_idx("/nonexistent/t10k-images-idx3-ubyte").unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert!(err
        .to_string()
        .starts_with("/nonexistent/t10k-images-idx3-ubyte: "));
}

#[test]
fn wrong_magic_is_reported_in_hex() {
    // A label file's magic is 0x00000801; 0x00000903 declares signed bytes in 3 dimensions.
    let err = read_idx_bytes("x.idx", &[0, 0, 9, 3, 0, 0, 0, 1]).unwrap_err();
    assert!(
        matches!(err, DataError::BadMagic { magic: 0x0903, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("x.idx: bad magic 0x00000903"),
        "{err}"
    );

    // Not an IDX file at all (a PNG signature).
    let err = read_idx_bytes("picture.png", b"\x89PNG\r\n\x1a\n").unwrap_err();
    assert!(err.to_string().contains("bad magic 0x89504e47"), "{err}");

    // Unknown type code.
    let err = read_idx_bytes("x.idx", &[0, 0, 0x42, 1, 0, 0, 0, 0]).unwrap_err();
    assert!(
        err.to_string().contains("unknown IDX type code 0x42"),
        "{err}"
    );
}

#[test]
fn header_dims_longer_than_the_data() {
    let mut bytes = vec![0, 0, 8, 3];
    for d in [60000u32, 28, 28] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend(std::iter::repeat_n(0u8, 1000));
    let err = read_idx_bytes("train-images-idx3-ubyte.gz", &bytes).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 47_040_000,
                found: 1000,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "train-images-idx3-ubyte.gz: truncated: expected 47040000 bytes of data, found 1000"
    );
}

#[test]
fn header_dims_shorter_than_the_data() {
    let mut bytes = encode_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]).unwrap();
    bytes.push(7);
    let err = read_idx_bytes("m.idx", &bytes).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TrailingData {
                expected: 6,
                found: 7,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("[2, 3]"), "{err}");
}

#[test]
fn header_itself_cut_short() {
    let err = read_idx_bytes("h.idx", &[0, 0, 8, 3, 0, 0, 0, 5]).unwrap_err();
    // 4 magic bytes + 3 dimensions of 4 bytes = 16 bytes of header.
    assert!(
        matches!(
            err,
            DataError::Truncated {
                what: "header",
                expected: 16,
                found: 8,
                ..
            }
        ),
        "{err:?}"
    );
    let err = read_idx_bytes("empty.idx", &[]).unwrap_err();
    assert!(
        matches!(err, DataError::Truncated { what: "header", .. }),
        "{err:?}"
    );
}

#[test]
fn dims_whose_product_overflows() {
    let mut bytes = vec![0, 0, 0x0e, 3];
    for _ in 0..3 {
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    let err = read_idx_bytes("huge.idx", &bytes).unwrap_err();
    assert!(matches!(err, DataError::Shape { .. }), "{err:?}");

    // Found by the fuzzer: a zero dimension makes the data empty, but the other dimensions'
    // strides still overflow.
    let mut bytes = vec![0, 0, 8, 4, 0, 0, 0, 0];
    for _ in 0..3 {
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    let err = read_idx_bytes("zero.idx", &bytes).unwrap_err();
    assert!(matches!(err, DataError::Shape { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("[0, 4294967295, 4294967295, 4294967295]"),
        "{err}"
    );

    // A zero dimension with sane others is an empty tensor.
    let t = read_idx_bytes("empty.idx", &encode_u8(&[0, 28, 28], &[]).unwrap()).unwrap();
    assert_eq!(t.shape(), &[0, 28, 28]);
}

#[test]
fn non_numeric_csv_cell_names_line_and_column() {
    let text = "# a comment\n1,2,3\n4,x,6\n";
    let err = loadtxt_bytes("t.csv", text.as_bytes(), &LoadTxt::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Parse {
                line: 3,
                column: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "t.csv:3:2: cannot parse 'x' as a number");
}

#[test]
fn non_numeric_cell_in_the_zoo_file() {
    // Line 23 of data-04-zoo.csv is a data row; break its 5th field.
    let text = std::fs::read_to_string(zoo_path()).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    assert!(!lines[22].starts_with('#'));
    let mut fields: Vec<&str> = lines[22].split(',').collect();
    fields[4] = "x";
    lines[22] = fields.join(",");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data-04-zoo.csv");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let err = loadtxt(&path, LoadTxt::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:23:5: cannot parse 'x' as a number", path.display())
    );
}

#[test]
fn ragged_csv_row() {
    let text = "1,2,3\n4,5,6\n7,8\n";
    let err = loadtxt_bytes("r.csv", text.as_bytes(), &LoadTxt::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "r.csv:3: ragged row: expected 3 columns, found 2"
    );
}

#[test]
fn ragged_row_counts_lines_across_comments_and_blanks() {
    let text = "# header\n\n1,2\n  \n# more\n3,4,5\n";
    let err = loadtxt_bytes("r.csv", text.as_bytes(), &LoadTxt::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Ragged {
                line: 6,
                expected: 2,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn integer_dtypes_reject_fractions_and_out_of_range_values() {
    let int = LoadTxt {
        dtype: tandem_core::DType::Int64,
        ..LoadTxt::default()
    };
    let err = loadtxt_bytes("i.csv", b"1,2\n3,4.5\n", &int).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Parse {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let byte = LoadTxt {
        dtype: tandem_core::DType::UInt8,
        ..LoadTxt::default()
    };
    let err = loadtxt_bytes("u.csv", b"255,256\n", &byte).unwrap_err();
    assert!(
        err.to_string()
            .contains("u.csv:1:2: cannot parse '256' as an integer in uint8 range"),
        "{err}"
    );
}

#[test]
fn csv_with_only_comments_is_empty() {
    let err = loadtxt_bytes("e.csv", b"# nothing\n\n", &LoadTxt::default()).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
}

#[test]
fn usecols_beyond_the_row_is_an_error() {
    let opts = LoadTxt {
        usecols: Some(vec![0, 5]),
        ..LoadTxt::default()
    };
    let err = loadtxt_bytes("c.csv", b"1,2\n", &opts).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument { .. }), "{err:?}");
    assert!(err.to_string().contains("c.csv:1"), "{err}");
}

#[test]
fn corrupt_gzip_csv() {
    let mut gz = LABELS_GZ.to_vec();
    gz.truncate(40);
    let err = loadtxt_bytes("d.csv.gz", &gz, &LoadTxt::default()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
}

#[test]
fn long_bad_cells_are_shortened_in_messages() {
    let cell = "y".repeat(1000);
    let err = loadtxt_bytes("l.csv", cell.as_bytes(), &LoadTxt::default()).unwrap_err();
    assert!(err.to_string().len() < 120, "{err}");
}
