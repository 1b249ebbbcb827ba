//! Printing: PyTorch's `tensor([-4.,  5.])` by default, TensorFlow's
//! `tf.Tensor([-4.  5.], shape=(2,), dtype=float32)` on request.

use crate::dtype::DType;
use crate::tensor::Tensor;
use std::fmt;

const LINE_WIDTH: usize = 80;
const SUMMARIZE_OVER: usize = 1000;
const EDGE_ITEMS: usize = 3;

/// Python's `'{:.4e}'` (two-digit signed exponent).
fn sci(v: f64, prec: usize) -> String {
    let s = format!("{v:.prec$e}");
    let (mant, exp) = s.split_once('e').expect("exponent");
    let e: i32 = exp.parse().expect("int exponent");
    format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// PyTorch's element formatter, chosen from all values as `torch._tensor_str._Formatter` does.
fn torch_formatter(vals: &[f64], dtype: DType) -> Box<dyn Fn(f64) -> String> {
    match dtype {
        DType::Bool => Box::new(|v| {
            if v != 0.0 {
                "True".into()
            } else {
                "False".into()
            }
        }),
        d if !d.is_float() => Box::new(|v| format!("{}", v as i64)),
        _ => {
            let finite: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite()).collect();
            let nz: Vec<f64> = finite
                .iter()
                .map(|v| v.abs())
                .filter(|&v| v != 0.0)
                .collect();
            let int_mode = finite.iter().all(|v| v.fract() == 0.0);
            let (mx, mn) = (
                nz.iter().copied().fold(0.0f64, f64::max),
                nz.iter().copied().fold(f64::INFINITY, f64::min),
            );
            let ratio_big = !nz.is_empty() && mx / mn > 1000.0;
            let special = |v: f64| -> Option<String> {
                if v.is_nan() {
                    Some("nan".into())
                } else if v.is_infinite() {
                    Some(if v > 0.0 { "inf".into() } else { "-inf".into() })
                } else {
                    None
                }
            };
            if int_mode {
                if !nz.is_empty() && (ratio_big || mx > 1e8) {
                    Box::new(move |v| special(v).unwrap_or_else(|| sci(v, 4)))
                } else {
                    Box::new(move |v| special(v).unwrap_or_else(|| format!("{v:.0}.")))
                }
            } else if !nz.is_empty() && (ratio_big || mx > 1e8 || mn < 1e-4) {
                Box::new(move |v| special(v).unwrap_or_else(|| sci(v, 4)))
            } else {
                Box::new(move |v| special(v).unwrap_or_else(|| format!("{v:.4}")))
            }
        }
    }
}

/// The row-major values and, when summarizing, which indices of each dim are shown.
fn shown(t: &Tensor) -> (Vec<f64>, bool) {
    (t.to_vec::<f64>(), t.numel() > SUMMARIZE_OVER)
}

fn index_list(size: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && size > 2 * EDGE_ITEMS {
        let mut v: Vec<Option<usize>> = (0..EDGE_ITEMS).map(Some).collect();
        v.push(None);
        v.extend((size - EDGE_ITEMS..size).map(Some));
        v
    } else {
        (0..size).map(Some).collect()
    }
}

fn torch_body(
    shape: &[usize],
    vals: &[f64],
    fmt: &dyn Fn(f64) -> String,
    width: usize,
    indent: usize,
    summarize: bool,
) -> String {
    if shape.len() == 1 {
        let items: Vec<String> = index_list(shape[0], summarize)
            .into_iter()
            .map(|i| match i {
                Some(i) => format!("{:>width$}", fmt(vals[i])),
                None => "...".to_string(),
            })
            .collect();
        let per_line = ((LINE_WIDTH.saturating_sub(indent)) / (width + 2)).max(1);
        let lines: Vec<String> = items.chunks(per_line).map(|c| c.join(", ")).collect();
        return format!(
            "[{}]",
            lines.join(&format!(",\n{}", " ".repeat(indent + 1)))
        );
    }
    let inner: usize = shape[1..].iter().product();
    let sep = format!(
        ",{}{}",
        "\n".repeat(shape.len() - 1),
        " ".repeat(indent + 1)
    );
    let parts: Vec<String> = index_list(shape[0], summarize)
        .into_iter()
        .map(|i| match i {
            Some(i) => torch_body(
                &shape[1..],
                &vals[i * inner..(i + 1) * inner],
                fmt,
                width,
                indent + 1,
                summarize,
            ),
            None => "...".to_string(),
        })
        .collect();
    format!("[{}]", parts.join(&sep))
}

impl fmt::Display for Tensor {
    /// PyTorch's format: `tensor([-4.,  5.])`, `tensor(2.9000, requires_grad=True)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (vals, summarize) = shown(self);
        let fmt_el = torch_formatter(&vals, self.dtype());
        let width = vals.iter().map(|&v| fmt_el(v).len()).max().unwrap_or(0);
        let body = if self.ndim() == 0 {
            fmt_el(vals[0])
        } else if self.numel() == 0 {
            "[]".to_string()
        } else {
            torch_body(
                self.shape(),
                &vals,
                &*fmt_el,
                width,
                "tensor(".len(),
                summarize,
            )
        };
        write!(f, "tensor({body}")?;
        if self.numel() == 0 && self.ndim() != 1 {
            write!(f, ", size={:?}", self.shape())?;
        }
        if !matches!(self.dtype(), DType::Float32 | DType::Int64 | DType::Bool) {
            write!(f, ", dtype={}", self.dtype().torch_name())?;
        }
        if let Some(name) = self.grad_fn_name() {
            write!(f, ", grad_fn=<{name}>")?;
        } else if self.requires_grad() {
            write!(f, ", requires_grad=True")?;
        }
        write!(f, ")")
    }
}

/// NumPy's element strings (as `str(np.array(...))` prints them), padded to align.
fn numpy_items(vals: &[f64], dtype: DType) -> Vec<String> {
    match dtype {
        DType::Bool => vals
            .iter()
            .map(|&v| format!("{:>5}", if v != 0.0 { "True" } else { "False" }))
            .collect(),
        d if !d.is_float() => {
            let s: Vec<String> = vals.iter().map(|&v| format!("{}", v as i64)).collect();
            let w = s.iter().map(|x| x.len()).max().unwrap_or(0);
            s.into_iter().map(|x| format!("{x:>w$}")).collect()
        }
        d => {
            let finite: Vec<f64> = vals
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .map(f64::abs)
                .filter(|&v| v != 0.0)
                .collect();
            let (mx, mn) = (
                finite.iter().copied().fold(0.0f64, f64::max),
                finite.iter().copied().fold(f64::INFINITY, f64::min),
            );
            let sci_mode = !finite.is_empty() && (mx >= 1e8 || mn < 1e-4 || mx / mn > 1e3);
            let raw: Vec<String> = vals
                .iter()
                .map(|&v| {
                    if v.is_nan() {
                        "nan".into()
                    } else if v.is_infinite() {
                        if v > 0.0 {
                            "inf".into()
                        } else {
                            "-inf".into()
                        }
                    } else if sci_mode {
                        let s = if d == DType::Float32 {
                            format!("{:e}", v as f32)
                        } else {
                            format!("{v:e}")
                        };
                        let (m, e) = s.split_once('e').expect("exp");
                        let m = if m.contains('.') {
                            m.to_string()
                        } else {
                            format!("{m}.")
                        };
                        let e: i32 = e.parse().expect("exp");
                        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
                    } else {
                        let s = if d == DType::Float32 {
                            format!("{}", v as f32)
                        } else {
                            format!("{v}")
                        };
                        let s = if let Some((i, frac)) = s.split_once('.') {
                            let frac = if frac.len() > 8 {
                                format!("{:.8}", v)
                                    .split_once('.')
                                    .map(|x| x.1.trim_end_matches('0').to_string())
                                    .unwrap_or_default()
                            } else {
                                frac.to_string()
                            };
                            format!("{i}.{frac}")
                        } else {
                            format!("{s}.")
                        };
                        if s.ends_with(".0") {
                            s[..s.len() - 1].to_string()
                        } else {
                            s
                        }
                    }
                })
                .collect();
            let int_w = raw
                .iter()
                .map(|s| s.split('.').next().map_or(s.len(), str::len))
                .max()
                .unwrap_or(0);
            let frac_w = raw
                .iter()
                .map(|s| s.split_once('.').map_or(0, |x| x.1.len()))
                .max()
                .unwrap_or(0);
            raw.into_iter()
                .map(|s| {
                    let (i, fr) = s
                        .split_once('.')
                        .map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
                    match fr {
                        Some(fr) => format!("{i:>int_w$}.{fr:<frac_w$}"),
                        None => format!("{i:>w$}", w = int_w + frac_w + 1),
                    }
                })
                .collect()
        }
    }
}

fn numpy_body(shape: &[usize], items: &[String], indent: usize) -> String {
    if shape.len() == 1 {
        return format!("[{}]", items.join(" "));
    }
    let inner: usize = shape[1..].iter().product();
    let sep = format!("{}{}", "\n".repeat(shape.len() - 1), " ".repeat(indent + 1));
    let parts: Vec<String> = (0..shape[0])
        .map(|i| numpy_body(&shape[1..], &items[i * inner..(i + 1) * inner], indent + 1))
        .collect();
    format!("[{}]", parts.join(&sep))
}

impl Tensor {
    /// TensorFlow's format: `tf.Tensor([-4.  5.], shape=(2,), dtype=float32)`.
    pub fn to_tf_string(&self) -> String {
        let vals = self.to_vec::<f64>();
        let shape = match self.ndim() {
            1 => format!("({},)", self.shape()[0]),
            _ => format!(
                "({})",
                self.shape()
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let body = if self.ndim() == 0 {
            let v = vals[0];
            match self.dtype() {
                DType::Bool => (if v != 0.0 { "True" } else { "False" }).to_string(),
                d if !d.is_float() => format!("{}", v as i64),
                DType::Float32 => format!("{:?}", v as f32),
                _ => format!("{v:?}"),
            }
        } else {
            let items = numpy_items(&vals, self.dtype());
            let b = numpy_body(self.shape(), &items, 0);
            if self.ndim() > 1 {
                format!("\n{b}")
            } else {
                b
            }
        };
        format!(
            "tf.Tensor({body}, shape={shape}, dtype={})",
            self.dtype().tf_name()
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn torch_format_matches_pytorch() {
        assert_eq!(Tensor::new([-4.0, 5.0]).to_string(), "tensor([-4.,  5.])");
        assert_eq!(
            Tensor::new([2.0, 6.0, 24.0]).to_string(),
            "tensor([ 2.,  6., 24.])"
        );
        assert_eq!(
            Tensor::new([0.5, 1.25]).to_string(),
            "tensor([0.5000, 1.2500])"
        );
        assert_eq!(Tensor::new(3.0).to_string(), "tensor(3.)");
        assert_eq!(Tensor::new([1, 2]).to_string(), "tensor([1, 2])");
        assert_eq!(
            Tensor::new([[1.0, 2.0], [3.0, 4.0]]).to_string(),
            "tensor([[1., 2.],\n        [3., 4.]])"
        );
        assert_eq!(
            Tensor::new(2.9).requires_grad_(true).to_string(),
            "tensor(2.9000, requires_grad=True)"
        );
        assert_eq!(
            Tensor::new([1e-5, 1.0]).to_string(),
            "tensor([1.0000e-05, 1.0000e+00])"
        );
        assert_eq!(
            Tensor::from_vec(vec![1.5f64], &[1]).to_string(),
            "tensor([1.5000], dtype=torch.float64)"
        );
        assert_eq!(
            Tensor::new([true, false]).to_string(),
            "tensor([ True, False])"
        );
    }

    #[test]
    fn tf_format_matches_tensorflow() {
        assert_eq!(
            Tensor::new([-4.0, 5.0]).to_tf_string(),
            "tf.Tensor([-4.  5.], shape=(2,), dtype=float32)"
        );
        assert_eq!(
            Tensor::new(3.0).to_tf_string(),
            "tf.Tensor(3.0, shape=(), dtype=float32)"
        );
        assert_eq!(
            Tensor::new([0.5, 0.25]).to_tf_string(),
            "tf.Tensor([0.5  0.25], shape=(2,), dtype=float32)"
        );
        assert_eq!(
            Tensor::new([[1.0, 2.0], [3.0, 4.0]]).to_tf_string(),
            "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)"
        );
        assert_eq!(
            Tensor::new_with_dtype([1, 2, 3], crate::DType::Int32).to_tf_string(),
            "tf.Tensor([1 2 3], shape=(3,), dtype=int32)"
        );
    }
}
