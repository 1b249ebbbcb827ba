//! Metrics for `compile(metrics=[...])`, accumulated over an epoch.

use crate::error::{unknown, KerasError};
use crate::losses::Loss;
use tandem_core::{DType, Tensor};

/// A metric and its running totals.
#[derive(Clone, Debug)]
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    kind: Kind,
    total: f64,
    count: f64,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    SparseAccuracy,
    CategoricalAccuracy,
    BinaryAccuracy {
        threshold: f64,
    },
    Mse,
    Mae,
    /// True positives over predicted positives (prediction > 0.5), over all elements.
    Precision,
    /// True positives over actual positives.
    Recall,
}

const NAMES: [&str; 7] = [
    "accuracy",
    "acc",
    "mse",
    "mae",
    "binary_accuracy",
    "precision",
    "recall",
];

impl Metric {
    /// Resolves a name; "accuracy" picks sparse, categorical or binary accuracy from the loss,
    /// as Keras does.
    pub(crate) fn from_name(name: &str, loss: Loss) -> Result<Metric, KerasError> {
        let kind = match name {
            "accuracy" | "acc" => match loss {
                Loss::SparseCategoricalCrossentropy { .. } => Kind::SparseAccuracy,
                Loss::CategoricalCrossentropy { .. } => Kind::CategoricalAccuracy,
                Loss::BinaryCrossentropy { from_logits } => Kind::BinaryAccuracy {
                    threshold: if from_logits { 0.0 } else { 0.5 },
                },
                _ => Kind::BinaryAccuracy { threshold: 0.5 },
            },
            "binary_accuracy" => Kind::BinaryAccuracy { threshold: 0.5 },
            "mse" | "mean_squared_error" => Kind::Mse,
            "mae" | "mean_absolute_error" => Kind::Mae,
            "precision" => Kind::Precision,
            "recall" => Kind::Recall,
            other => return Err(unknown("metric", other, &NAMES)),
        };
        let name = match kind {
            Kind::Mse => "mse",
            Kind::Mae => "mae",
            Kind::Precision => "precision",
            Kind::Recall => "recall",
            _ => "accuracy",
        };
        Ok(Metric {
            name,
            kind,
            total: 0.0,
            count: 0.0,
        })
    }

    /// The running totals, to be summed over workers.
    pub(crate) fn totals_mut(&mut self) -> [&mut f64; 2] {
        [&mut self.total, &mut self.count]
    }

    pub(crate) fn reset(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
    }

    pub(crate) fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) {
        if let Kind::Precision | Kind::Recall = self.kind {
            // Keras's Precision/Recall: every element a binary decision at threshold 0.5.
            let shape: Vec<isize> = y_pred.shape().iter().map(|&d| d as isize).collect();
            let pred = y_pred.gt(0.5);
            let truth = y_true.to_dtype(DType::Float32).reshape(&shape).gt(0.5);
            let count = |t: &Tensor| t.to_dtype(DType::Int64).sum().item::<i64>() as f64;
            self.total += count(&pred.logical_and(&truth));
            self.count += count(if matches!(self.kind, Kind::Precision) {
                &pred
            } else {
                &truth
            });
            return;
        }
        let n = y_pred.shape().first().copied().unwrap_or(1) as f64;
        let v = match self.kind {
            Kind::SparseAccuracy => {
                let pred = y_pred.argmax(Some(-1), false);
                pred.eq(y_true.to_dtype(DType::Int64).reshape(&[-1]))
                    .float()
                    .mean()
                    .item::<f32>() as f64
            }
            Kind::CategoricalAccuracy => y_pred
                .argmax(Some(-1), false)
                .eq(y_true.argmax(Some(-1), false))
                .float()
                .mean()
                .item::<f32>() as f64,
            Kind::BinaryAccuracy { threshold } => {
                let pred = y_pred.gt(threshold).float();
                pred.eq(y_true
                    .to_dtype(DType::Float32)
                    .reshape(&pred.shape().iter().map(|&d| d as isize).collect::<Vec<_>>()))
                    .float()
                    .mean()
                    .item::<f32>() as f64
            }
            Kind::Mse => (y_pred - &y_true.to_dtype(y_pred.dtype()))
                .square()
                .mean()
                .item::<f32>() as f64,
            Kind::Mae => (y_pred - &y_true.to_dtype(y_pred.dtype()))
                .abs()
                .mean()
                .item::<f32>() as f64,
            Kind::Precision | Kind::Recall => unreachable!("counted above"),
        };
        self.total += v * n;
        self.count += n;
    }

    pub(crate) fn result(&self) -> f64 {
        if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        }
    }
}
