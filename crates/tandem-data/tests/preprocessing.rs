//! to_categorical, scale_to_unit, the scalers and sliding windows.

use tandem_core::{DType, Tensor};
use tandem_data::preprocessing::{
    scale_to_unit, sliding_windows, to_categorical, MinMaxScaler, StandardScaler,
};

/// A 2-D float32 table with columns on different scales (and one constant column).
fn table() -> Tensor {
    let rows = 40;
    let x: Vec<f32> = (0..rows)
        .flat_map(|i| {
            let t = i as f32;
            [
                t * 3.0 - 7.0,
                (t * 0.7).sin() * 1000.0,
                5.0,
                (t * t) / 100.0,
            ]
        })
        .collect();
    Tensor::from_vec(x, &[rows, 4])
}

fn column(t: &Tensor, c: usize) -> Vec<f64> {
    t.narrow(1, c, 1).to_vec::<f64>()
}

#[test]
fn to_categorical_one_hot_rows() {
    let y = Tensor::from_vec(vec![3i64, 0, 9, 3], &[4]);
    let t = to_categorical(&y, 10).unwrap();
    assert_eq!(t.shape(), &[4, 10]);
    assert_eq!(t.dtype(), DType::Float32);
    let v = t.to_vec::<f32>();
    for (row, &label) in v.chunks_exact(10).zip(&[3usize, 0, 9, 3]) {
        assert_eq!(row.iter().sum::<f32>(), 1.0);
        assert_eq!(row[label], 1.0);
    }
    // Keras squeezes a trailing 1.
    let col = Tensor::from_vec(vec![1u8, 2], &[2, 1]);
    assert_eq!(to_categorical(&col, 3).unwrap().shape(), &[2, 3]);
    // Labels as floats work if whole.
    let f = Tensor::from_vec(vec![2.0f32], &[1]);
    assert_eq!(
        to_categorical(&f, 3).unwrap().to_vec::<f32>(),
        vec![0.0, 0.0, 1.0]
    );
}

#[test]
fn to_categorical_rejects_labels_outside_the_classes() {
    for bad in [vec![0i64, 10], vec![-1]] {
        let n = bad.len();
        let err = to_categorical(&Tensor::from_vec(bad, &[n]), 10).unwrap_err();
        assert!(
            err.to_string().starts_with("to_categorical: label"),
            "{err}"
        );
    }
    let err = to_categorical(&Tensor::from_vec(vec![0.5f32], &[1]), 2).unwrap_err();
    assert!(err.to_string().contains("0.5"), "{err}");
}

#[test]
fn scale_to_unit_maps_bytes_to_0_1() {
    let x = Tensor::from_vec(vec![0u8, 1, 128, 255], &[2, 2]);
    let s = scale_to_unit(&x);
    assert_eq!(s.dtype(), DType::Float32);
    assert_eq!(s.shape(), &[2, 2]);
    assert_eq!(
        s.to_vec::<f32>(),
        vec![0.0, 1.0 / 255.0, 128.0 / 255.0, 1.0]
    );
}

#[test]
fn min_max_scaler_spans_the_range_and_round_trips() {
    let x = table();
    let mut scaler = MinMaxScaler::new();
    let t = scaler.fit_transform(&x).unwrap();
    assert_eq!(t.shape(), x.shape());
    assert_eq!(t.dtype(), DType::Float32);
    for c in [0, 1, 3] {
        let col = column(&t, c);
        let (lo, hi) = col
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(
            lo.abs() < 1e-6 && (hi - 1.0).abs() < 1e-6,
            "column {c}: [{lo}, {hi}]"
        );
    }
    // A constant column goes to the bottom of the range.
    assert!(column(&t, 2).iter().all(|&v| v == 0.0));
    assert_eq!(scaler.data_min().unwrap()[0], -7.0);
    assert_eq!(scaler.data_max().unwrap()[0], 39.0 * 3.0 - 7.0);
    let back = scaler.inverse_transform(&t).unwrap();
    for (a, b) in back.to_vec::<f32>().iter().zip(x.to_vec::<f32>()) {
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn min_max_scaler_with_range_and_new_data() {
    let fit = Tensor::from_vec(vec![0.0f64, 10.0], &[2, 1]);
    let mut scaler = MinMaxScaler::with_range(-1.0, 1.0);
    scaler.fit(&fit).unwrap();
    let t = scaler
        .transform(&Tensor::from_vec(vec![5.0f64, 20.0], &[2, 1]))
        .unwrap();
    assert_eq!(t.dtype(), DType::Float64);
    assert_eq!(t.to_vec::<f64>(), vec![0.0, 3.0]);
    assert!(MinMaxScaler::with_range(1.0, 1.0).fit(&fit).is_err());
}

#[test]
fn standard_scaler_standardizes_and_round_trips() {
    let x = table().to_dtype(DType::Float64);
    let mut scaler = StandardScaler::new();
    let z = scaler.fit_transform(&x).unwrap();
    assert_eq!(z.dtype(), DType::Float64);
    for c in [0, 1, 3] {
        let col = column(&z, c);
        let n = col.len() as f64;
        let mean = col.iter().sum::<f64>() / n;
        let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        assert!(mean.abs() < 1e-12, "column {c} mean {mean}");
        assert!((var - 1.0).abs() < 1e-12, "column {c} variance {var}");
    }
    assert!(column(&z, 2).iter().all(|&v| v == 0.0));
    // Column 0 is 3i - 7 for i in 0..40: mean 3 * 19.5 - 7, population std 3 * sqrt((40^2 - 1) / 12).
    assert!((scaler.mean().unwrap()[0] - 51.5).abs() < 1e-12);
    assert!((scaler.scale().unwrap()[0] - 3.0 * (1599.0f64 / 12.0).sqrt()).abs() < 1e-9);
    let back = scaler.inverse_transform(&z).unwrap().to_vec::<f64>();
    for (a, b) in back.iter().zip(x.to_vec::<f64>()) {
        assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn scalers_report_misuse() {
    let x = table();
    let err = StandardScaler::new().transform(&x).unwrap_err();
    assert!(err.to_string().contains("fit"), "{err}");
    let mut s = MinMaxScaler::new();
    s.fit(&x).unwrap();
    let err = s.transform(&x.narrow(1, 0, 3)).unwrap_err();
    assert!(
        err.to_string()
            .contains("fitted on 4 features, but this tensor has 3"),
        "{err}"
    );
    let err = s
        .fit(&Tensor::from_vec(vec![1.0f32, 2.0], &[2]))
        .unwrap_err();
    assert!(err.to_string().contains("2-D"), "{err}");
    let empty = Tensor::from_vec(Vec::<f32>::new(), &[0, 3]);
    assert!(StandardScaler::new().fit(&empty).is_err());
    assert!(MinMaxScaler::new().fit(&empty).is_err());
}

#[test]
fn sliding_windows_over_a_multivariate_series() {
    // 10 steps, 2 features: row t = [t, 100 + t].
    let s: Vec<i64> = (0..10).flat_map(|t| [t, 100 + t]).collect();
    let series = Tensor::from_vec(s, &[10, 2]);
    let (x, y) = sliding_windows(&series, 4, 1).unwrap();
    assert_eq!(x.shape(), &[6, 4, 2]); // 10 - 4 - 1 + 1
    assert_eq!(y.shape(), &[6, 2]);
    assert_eq!(x.dtype(), DType::Int64);
    let xv = x.to_vec::<i64>();
    let yv = y.to_vec::<i64>();
    for i in 0..6 {
        for k in 0..4 {
            let t = (i + k) as i64;
            assert_eq!(xv[(i * 4 + k) * 2..(i * 4 + k) * 2 + 2], [t, 100 + t]);
        }
        let t = (i + 4) as i64;
        assert_eq!(yv[i * 2..i * 2 + 2], [t, 100 + t]);
    }
    // Three steps ahead.
    let (x3, y3) = sliding_windows(&series, 4, 3).unwrap();
    assert_eq!(x3.shape(), &[4, 4, 2]);
    assert_eq!(y3.narrow(1, 0, 1).to_vec::<i64>(), vec![6, 7, 8, 9]);
}

#[test]
fn sliding_windows_errors() {
    let series = Tensor::from_vec(vec![1.0f32; 5], &[5]);
    assert!(sliding_windows(&series, 5, 1).is_err());
    assert!(sliding_windows(&series, 4, 1).is_ok());
    assert!(sliding_windows(&series, 0, 1).is_err());
    assert!(sliding_windows(&series, 2, 0).is_err());
    assert!(sliding_windows(&Tensor::from_vec(vec![1.0f32; 8], &[2, 2, 2]), 1, 1).is_err());
}
