//! `loadtxt` on the course's data files, checked against a naive reading of the same text.

use std::path::PathBuf;
use tandem_core::{DType, Tensor};
use tandem_data::csv::{loadtxt, LoadTxt};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/zerotoall")
        .join(name)
}

/// The file's non-comment lines split on commas and parsed with `str::parse`.
fn naive(name: &str) -> Vec<Vec<f64>> {
    std::fs::read_to_string(data(name))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split(',')
                .map(|f| f.trim().parse::<f64>().unwrap())
                .collect()
        })
        .collect()
}

fn check_against_naive(name: &str, rows: usize, cols: usize) -> Tensor {
    let t = loadtxt(data(name), LoadTxt::default()).unwrap();
    assert_eq!(t.shape(), &[rows, cols], "{name}");
    assert_eq!(t.dtype(), DType::Float32);
    let expected: Vec<f32> = naive(name)
        .into_iter()
        .flatten()
        .map(|v| v as f32)
        .collect();
    assert_eq!(t.to_vec::<f32>(), expected, "{name}");
    t
}

#[test]
fn zoo_is_101_by_17() {
    let t = check_against_naive("data-04-zoo.csv", 101, 17);
    // The first data row (line 20 of the file) and the class column of the last.
    let first: Vec<f32> = t.narrow(0, 0, 1).to_vec();
    assert_eq!(
        first,
        vec![1., 0., 0., 1., 0., 0., 1., 1., 1., 1., 0., 0., 4., 0., 0., 1., 0.]
    );
    let classes: Vec<i64> = t.narrow(1, 16, 1).to_vec();
    assert!(classes.iter().all(|c| (0..7).contains(c)));
}

#[test]
fn zoo_as_int64_with_usecols() {
    let opts = LoadTxt {
        usecols: Some(vec![16, 12]),
        dtype: DType::Int64,
        ..LoadTxt::default()
    };
    let t = loadtxt(data("data-04-zoo.csv"), opts).unwrap();
    assert_eq!(t.shape(), &[101, 2]);
    assert_eq!(t.dtype(), DType::Int64);
    let rows = naive("data-04-zoo.csv");
    let expected: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r[16] as i64, r[12] as i64])
        .collect();
    assert_eq!(t.to_vec::<i64>(), expected);
}

#[test]
fn test_score_without_final_newline() {
    check_against_naive("data-01-test-score.csv", 25, 4);
}

#[test]
fn diabetes_plain_and_gzip_agree() {
    let plain = check_against_naive("data-03-diabetes.csv", 759, 9);
    let gz = loadtxt(data("diabetes.csv.gz"), LoadTxt::default()).unwrap();
    assert_eq!(gz.shape(), plain.shape());
    assert_eq!(gz.to_vec::<f32>(), plain.to_vec::<f32>());
    let f64s = loadtxt(
        data("data-03-diabetes.csv"),
        LoadTxt {
            dtype: DType::Float64,
            ..LoadTxt::default()
        },
    )
    .unwrap();
    let expected: Vec<f64> = naive("data-03-diabetes.csv")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(f64s.to_vec::<f64>(), expected);
}

#[test]
fn stock_reversed_as_lesson_12_5_does() {
    // CRLF line ends and two comment lines at the top.
    let xy = check_against_naive("data-02-stock_daily.csv", 732, 5);
    // xy = xy[::-1]
    let rev = Tensor::from_vec((0..732i64).rev().collect(), &[732]);
    let xy = xy.index_select(0, &rev);
    let naive = naive("data-02-stock_daily.csv");
    let first: Vec<f32> = xy.narrow(0, 0, 1).to_vec();
    let last: Vec<f32> = xy.narrow(0, 731, 1).to_vec();
    assert_eq!(
        first,
        naive[731].iter().map(|&v| v as f32).collect::<Vec<_>>()
    );
    assert_eq!(last, naive[0].iter().map(|&v| v as f32).collect::<Vec<_>>());
    // The last line of the file: 568.00257,568.00257,552.922516,13100,558.46255
    assert_eq!(
        first,
        [568.00257f64, 568.00257, 552.922516, 13100.0, 558.46255].map(|v| v as f32)
    );
}

#[test]
fn skiprows_counts_comment_lines() {
    // Skipping the two comment lines and one data line of the stock file.
    let opts = LoadTxt {
        skiprows: 3,
        ..LoadTxt::default()
    };
    let t = loadtxt(data("data-02-stock_daily.csv"), opts).unwrap();
    assert_eq!(t.shape(), &[731, 5]);
    let without_comments = LoadTxt {
        skiprows: 2,
        comments: None,
        ..LoadTxt::default()
    };
    assert_eq!(
        loadtxt(data("data-02-stock_daily.csv"), without_comments)
            .unwrap()
            .shape(),
        &[732, 5]
    );
}

#[test]
fn stock_windows_as_lesson_12_5() {
    // xy = xy[::-1]; xy = MinMaxScaler(xy); x = xy; y = xy[:, [-1]]; windows of 7 days.
    let xy = loadtxt(data("data-02-stock_daily.csv"), LoadTxt::default()).unwrap();
    let rev = Tensor::from_vec((0..732i64).rev().collect(), &[732]);
    let xy = xy.index_select(0, &rev);
    let mut scaler = tandem_data::preprocessing::MinMaxScaler::new();
    let xy = scaler.fit_transform(&xy).unwrap();
    let (x, y) = tandem_data::preprocessing::sliding_windows(&xy, 7, 1).unwrap();
    let y = y.narrow(1, 4, 1);
    assert_eq!(x.shape(), &[725, 7, 5]); // 732 - 7 windows
    assert_eq!(y.shape(), &[725, 1]);
    // Window i holds rows i..i+7; its target is the close of row i+7.
    let rows = xy.to_vec::<f32>();
    assert_eq!(x.narrow(0, 10, 1).to_vec::<f32>(), rows[10 * 5..17 * 5]);
    assert_eq!(y.to_vec::<f32>()[10], rows[17 * 5 + 4]);
}
