//! Preparing arrays for training: one-hot labels, pixel scaling, scikit-learn's scalers and
//! sliding windows over a time series.

use crate::error::{DataError, Result};
use crate::gather::gather_rows;
use tandem_core::{DType, Tensor};

/// One-hot float32 rows for integer class labels (`keras.utils.to_categorical`): shape
/// `labels.shape() + [num_classes]`, except that labels of shape `[N, 1]` give `[N, num_classes]`
/// as in Keras.
///
/// Errors when a label is not a whole number in `0..num_classes`.
///
/// ```
/// use tandem_core::Tensor;
/// let y = Tensor::from_vec(vec![2i64, 0], &[2]);
/// let t = tandem_data::preprocessing::to_categorical(&y, 3)?;
/// assert_eq!(t.shape(), &[2, 3]);
/// assert_eq!(t.to_vec::<f32>(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub fn to_categorical(labels: &Tensor, num_classes: usize) -> Result<Tensor> {
    let values = labels.to_vec::<f64>();
    let mut out = vec![0f32; values.len() * num_classes];
    for (i, &v) in values.iter().enumerate() {
        if !(v >= 0.0 && v.fract() == 0.0 && v < num_classes as f64) {
            return Err(DataError::invalid(
                "to_categorical",
                format!("label {v} at position {i} is not a class in 0..{num_classes}"),
            ));
        }
        out[i * num_classes + v as usize] = 1.0;
    }
    let mut shape = labels.shape().to_vec();
    if shape.len() == 2 && shape[1] == 1 {
        shape.pop();
    }
    shape.push(num_classes);
    Ok(Tensor::from_vec(out, &shape))
}

/// Pixels to float32 in `[0, 1]`: `x / 255` (what every MNIST lesson does first).
///
/// ```
/// use tandem_core::Tensor;
/// let x = Tensor::from_vec(vec![0u8, 51, 255], &[3]);
/// assert_eq!(tandem_data::preprocessing::scale_to_unit(&x).to_vec::<f32>(), vec![0.0, 0.2, 1.0]);
/// ```
pub fn scale_to_unit(x: &Tensor) -> Tensor {
    &x.to_dtype(DType::Float32) / 255.0
}

/// A 2-D tensor read as columns of f64, with the dtype results should have.
struct Table {
    values: Vec<f64>,
    cols: usize,
    dtype: DType,
}

impl Table {
    fn new(what: &'static str, x: &Tensor) -> Result<Table> {
        let [_, cols] = x.shape() else {
            return Err(DataError::Shape {
                name: what.to_string(),
                expected: "a 2-D tensor [samples, features]".into(),
                found: format!("{} {:?}", x.dtype().tf_name(), x.shape()),
            });
        };
        let dtype = match x.dtype() {
            DType::Float64 => DType::Float64,
            _ => DType::Float32,
        };
        Ok(Table {
            values: x.to_vec::<f64>(),
            cols: *cols,
            dtype,
        })
    }

    fn rows(&self) -> impl Iterator<Item = &[f64]> {
        self.values.chunks_exact(self.cols.max(1))
    }

    /// `f(value, column)` elementwise, in the result dtype.
    fn map(self, f: impl Fn(f64, usize) -> f64) -> Tensor {
        let rows = self.values.len() / self.cols.max(1);
        let out = self
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| f(v, i % self.cols));
        let shape = [rows, self.cols];
        match self.dtype {
            DType::Float64 => Tensor::from_vec(out.collect::<Vec<f64>>(), &shape),
            _ => Tensor::from_vec(out.map(|v| v as f32).collect::<Vec<f32>>(), &shape),
        }
    }
}

/// The per-column statistics of a fitted scaler.
#[derive(Clone, Debug)]
struct Fitted {
    /// MinMax: `scale_`; Standard: the mean.
    p: Vec<f64>,
    /// MinMax: `min_`; Standard: the standard deviation (1 where 0).
    q: Vec<f64>,
    /// MinMax: `data_min_`.
    lo: Vec<f64>,
    /// MinMax: `data_max_`.
    hi: Vec<f64>,
}

/// The fitted statistics, checked against `x`'s columns.
fn fitted<'a>(what: &'static str, stats: &'a Option<Fitted>, table: &Table) -> Result<&'a Fitted> {
    let f = stats
        .as_ref()
        .ok_or_else(|| DataError::invalid(what, "call fit (or fit_transform) first"))?;
    if f.p.len() != table.cols {
        return Err(DataError::invalid(
            what,
            format!(
                "fitted on {} features, but this tensor has {}",
                f.p.len(),
                table.cols
            ),
        ));
    }
    Ok(f)
}

/// A divisor of 0 becomes 1, so constant columns pass through (scikit-learn's
/// `_handle_zeros_in_scale`).
fn nonzero(v: f64) -> f64 {
    if v == 0.0 {
        1.0
    } else {
        v
    }
}

/// Scales each column to `feature_range` (default `[0, 1]`) by its minimum and maximum over the
/// fitted data (`sklearn.preprocessing.MinMaxScaler`). Float64 input stays float64; anything else
/// becomes float32. Constant columns map to the range's minimum.
///
/// ```
/// use tandem_core::Tensor;
/// use tandem_data::preprocessing::MinMaxScaler;
/// let x = Tensor::from_vec(vec![1.0f32, 10.0, 3.0, 30.0, 5.0, 20.0], &[3, 2]);
/// let mut scaler = MinMaxScaler::new();
/// let t = scaler.fit_transform(&x)?;
/// assert_eq!(t.to_vec::<f32>(), vec![0.0, 0.0, 0.5, 1.0, 1.0, 0.5]);
/// assert_eq!(scaler.inverse_transform(&t)?.to_vec::<f32>(), x.to_vec::<f32>());
/// # Ok::<(), tandem_data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct MinMaxScaler {
    feature_range: (f64, f64),
    fitted: Option<Fitted>,
}

impl Default for MinMaxScaler {
    fn default() -> Self {
        MinMaxScaler::new()
    }
}

impl MinMaxScaler {
    /// Scales to `[0, 1]`.
    pub fn new() -> MinMaxScaler {
        MinMaxScaler::with_range(0.0, 1.0)
    }

    /// Scales to `[min, max]`; `fit` errors unless `min < max`.
    pub fn with_range(min: f64, max: f64) -> MinMaxScaler {
        MinMaxScaler {
            feature_range: (min, max),
            fitted: None,
        }
    }

    /// Learns each column's minimum and maximum from the 2-D tensor `x` (NaN propagates).
    pub fn fit(&mut self, x: &Tensor) -> Result<&mut Self> {
        const WHAT: &str = "MinMaxScaler::fit";
        let (lo, hi) = self.feature_range;
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            return Err(DataError::invalid(
                WHAT,
                format!("feature_range ({lo}, {hi}) must have min < max"),
            ));
        }
        let t = Table::new(WHAT, x)?;
        let mut rows = t.rows().peekable();
        let Some(first) = rows.peek() else {
            return Err(DataError::invalid(WHAT, "cannot fit on 0 samples"));
        };
        let (mut min, mut max) = (first.to_vec(), first.to_vec());
        for row in rows {
            for (c, &v) in row.iter().enumerate() {
                min[c] = if v < min[c] || v.is_nan() { v } else { min[c] };
                max[c] = if v > max[c] || v.is_nan() { v } else { max[c] };
            }
        }
        let scale: Vec<f64> = min
            .iter()
            .zip(&max)
            .map(|(a, b)| (hi - lo) / nonzero(b - a))
            .collect();
        let offset = min.iter().zip(&scale).map(|(m, s)| lo - m * s).collect();
        self.fitted = Some(Fitted {
            p: scale,
            q: offset,
            lo: min,
            hi: max,
        });
        Ok(self)
    }

    /// Maps `x`'s columns with the fitted minima and maxima.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let t = Table::new("MinMaxScaler::transform", x)?;
        let f = fitted("MinMaxScaler::transform", &self.fitted, &t)?;
        Ok(t.map(|v, c| v * f.p[c] + f.q[c]))
    }

    /// Undoes [`transform`](MinMaxScaler::transform).
    pub fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        let t = Table::new("MinMaxScaler::inverse_transform", x)?;
        let f = fitted("MinMaxScaler::inverse_transform", &self.fitted, &t)?;
        Ok(t.map(|v, c| (v - f.q[c]) / f.p[c]))
    }

    /// [`fit`](MinMaxScaler::fit), then [`transform`](MinMaxScaler::transform).
    pub fn fit_transform(&mut self, x: &Tensor) -> Result<Tensor> {
        self.fit(x)?.transform(x)
    }

    /// Each column's minimum over the fitted data (`data_min_`), once fitted.
    pub fn data_min(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.lo.as_slice())
    }

    /// Each column's maximum over the fitted data (`data_max_`), once fitted.
    pub fn data_max(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.hi.as_slice())
    }
}

/// Standardizes each column to zero mean and unit variance over the fitted data
/// (`sklearn.preprocessing.StandardScaler`; population variance, constant columns only
/// centered). Float64 input stays float64; anything else becomes float32.
///
/// ```
/// use tandem_core::Tensor;
/// use tandem_data::preprocessing::StandardScaler;
/// let x = Tensor::from_vec(vec![1.0f64, 3.0, 5.0, 7.0], &[4, 1]);
/// let mut scaler = StandardScaler::new();
/// let z = scaler.fit_transform(&x)?;
/// assert_eq!(scaler.mean(), Some(&[4.0][..]));
/// assert_eq!(scaler.scale(), Some(&[5f64.sqrt()][..]));
/// assert!((z.to_vec::<f64>()[0] + 3.0 / 5f64.sqrt()).abs() < 1e-12);
/// # Ok::<(), tandem_data::DataError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct StandardScaler {
    fitted: Option<Fitted>,
}

impl StandardScaler {
    /// An unfitted scaler.
    pub fn new() -> StandardScaler {
        StandardScaler::default()
    }

    /// Learns each column's mean and standard deviation from the 2-D tensor `x`.
    pub fn fit(&mut self, x: &Tensor) -> Result<&mut Self> {
        const WHAT: &str = "StandardScaler::fit";
        let t = Table::new(WHAT, x)?;
        let n = t.values.len() / t.cols.max(1);
        if n == 0 {
            return Err(DataError::invalid(WHAT, "cannot fit on 0 samples"));
        }
        let mut mean = vec![0.0; t.cols];
        for row in t.rows() {
            mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; t.cols];
        for row in t.rows() {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let std: Vec<f64> = var.iter().map(|s| nonzero((s / n as f64).sqrt())).collect();
        self.fitted = Some(Fitted {
            p: mean,
            q: std,
            lo: Vec::new(),
            hi: Vec::new(),
        });
        Ok(self)
    }

    /// Standardizes `x`'s columns with the fitted statistics.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let t = Table::new("StandardScaler::transform", x)?;
        let f = fitted("StandardScaler::transform", &self.fitted, &t)?;
        Ok(t.map(|v, c| (v - f.p[c]) / f.q[c]))
    }

    /// Undoes [`transform`](StandardScaler::transform).
    pub fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        let t = Table::new("StandardScaler::inverse_transform", x)?;
        let f = fitted("StandardScaler::inverse_transform", &self.fitted, &t)?;
        Ok(t.map(|v, c| v * f.q[c] + f.p[c]))
    }

    /// [`fit`](StandardScaler::fit), then [`transform`](StandardScaler::transform).
    pub fn fit_transform(&mut self, x: &Tensor) -> Result<Tensor> {
        self.fit(x)?.transform(x)
    }

    /// Each column's mean (`mean_`), once fitted.
    pub fn mean(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.p.as_slice())
    }

    /// Each column's standard deviation, 1 where it is 0 (`scale_`), once fitted.
    pub fn scale(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.q.as_slice())
    }
}

/// Windows over a time series for sequence models (lesson 12-5): for each start `i`,
/// `x[i] = series[i .. i + window]` and `y[i] = series[i + window + horizon - 1]`.
///
/// `series` is `[T, features]` (or `[T]`, read as `[T, 1]`); the result is
/// `x: [N, window, features]`, `y: [N, features]` with `N = T - window - horizon + 1`, in
/// `series`' dtype. Take the target column with `y.narrow(1, col, 1)`. Errors when `window` or
/// `horizon` is 0 or the series is too short for one window.
///
/// ```
/// use tandem_core::Tensor;
/// let s = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[6]);
/// let (x, y) = tandem_data::preprocessing::sliding_windows(&s, 3, 1)?;
/// assert_eq!(x.shape(), &[3, 3, 1]);
/// assert_eq!(x.to_vec::<f32>(), vec![0.0, 1.0, 2.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
/// assert_eq!(y.to_vec::<f32>(), vec![3.0, 4.0, 5.0]);
/// # Ok::<(), tandem_data::DataError>(())
/// ```
pub fn sliding_windows(series: &Tensor, window: usize, horizon: usize) -> Result<(Tensor, Tensor)> {
    const WHAT: &str = "sliding_windows";
    let series = match series.ndim() {
        1 => series.reshape(&[series.shape()[0] as isize, 1]),
        2 => series.clone(),
        _ => {
            return Err(DataError::Shape {
                name: WHAT.into(),
                expected: "a series [T, features] or [T]".into(),
                found: format!("{} {:?}", series.dtype().tf_name(), series.shape()),
            })
        }
    };
    let series = series.detach().contiguous();
    let (t, features) = (series.shape()[0], series.shape()[1]);
    if window == 0 || horizon == 0 {
        return Err(DataError::invalid(
            WHAT,
            format!("window ({window}) and horizon ({horizon}) must be at least 1"),
        ));
    }
    let n = window
        .checked_add(horizon - 1)
        .and_then(|span| t.checked_sub(span))
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            DataError::invalid(
                WHAT,
                format!(
                    "a series of {t} steps is too short for window {window} and horizon {horizon}"
                ),
            )
        })?;
    let x_rows: Vec<usize> = (0..n).flat_map(|i| i..i + window).collect();
    let y_rows: Vec<usize> = (0..n).map(|i| i + window + horizon - 1).collect();
    let x =
        gather_rows(&series, &x_rows).reshape(&[n as isize, window as isize, features as isize]);
    Ok((x, gather_rows(&series, &y_rows)))
}
