//! `tf.keras.losses`: as functions (per sample) and as objects for `compile`.

use crate::error::{unknown, KerasError};
use tandem_core::{DType, Tensor};

const EPSILON: f64 = 1e-7;

/// `mean_squared_error(y_true, y_pred)` over the last axis.
pub fn mean_squared_error(y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    (y_pred - &y_true.to_dtype(y_pred.dtype()))
        .square()
        .mean_dims(&[-1], false)
}

/// `mean_absolute_error(y_true, y_pred)` over the last axis.
pub fn mean_absolute_error(y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    (y_pred - &y_true.to_dtype(y_pred.dtype()))
        .abs()
        .mean_dims(&[-1], false)
}

/// `binary_crossentropy(y_true, y_pred, from_logits)` over the last axis.
pub fn binary_crossentropy(y_true: &Tensor, y_pred: &Tensor, from_logits: bool) -> Tensor {
    let y = y_true.to_dtype(y_pred.dtype());
    let per = if from_logits {
        tandem_nn::functional::binary_cross_entropy_with_logits(
            y_pred,
            &y,
            None,
            tandem_nn::functional::Reduction::None,
        )
    } else {
        let p = y_pred.clamp(Some(EPSILON), Some(1.0 - EPSILON));
        -(&(&y * &p.log()) + &(&(1.0 - &y) * &(1.0 - &p).log()))
    };
    per.mean_dims(&[-1], false)
}

/// `categorical_crossentropy(y_true, y_pred, from_logits)`: one-hot targets, one loss per
/// sample (the seed's `tf.keras.losses.categorical_crossentropy(..., from_logits=True)`).
pub fn categorical_crossentropy(y_true: &Tensor, y_pred: &Tensor, from_logits: bool) -> Tensor {
    let y = y_true.to_dtype(y_pred.dtype());
    let logp = if from_logits {
        y_pred.log_softmax(-1)
    } else {
        let p = y_pred / &y_pred.sum_dims(&[-1], true);
        p.clamp(Some(EPSILON), Some(1.0 - EPSILON)).log()
    };
    -(&y * &logp).sum_dims(&[-1], false)
}

/// `sparse_categorical_crossentropy(y_true, y_pred, from_logits)`: integer class targets.
pub fn sparse_categorical_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
) -> Tensor {
    let c = *y_pred.shape().last().expect("class axis");
    let onehot = y_true
        .to_dtype(DType::Int64)
        .reshape(&[-1])
        .one_hot(c)
        .to_dtype(y_pred.dtype());
    categorical_crossentropy(&onehot, &y_pred.reshape(&[-1, c as isize]), from_logits)
}

/// A loss for `compile`: by Keras name or as an object with options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `'mse'`, `'mean_squared_error'`, `MeanSquaredError()`.
    MeanSquaredError,
    /// `'mae'`, `'mean_absolute_error'`.
    MeanAbsoluteError,
    /// `'binary_crossentropy'`, `BinaryCrossentropy(from_logits)`.
    BinaryCrossentropy {
        /// Whether predictions are logits.
        from_logits: bool,
    },
    /// `'categorical_crossentropy'`, `CategoricalCrossentropy(from_logits)`.
    CategoricalCrossentropy {
        /// Whether predictions are logits.
        from_logits: bool,
    },
    /// `'sparse_categorical_crossentropy'`, `SparseCategoricalCrossentropy(from_logits)`.
    SparseCategoricalCrossentropy {
        /// Whether predictions are logits.
        from_logits: bool,
    },
}

/// `SparseCategoricalCrossentropy(from_logits=...)`, the seed's loss.
#[allow(non_snake_case)]
pub fn SparseCategoricalCrossentropy(from_logits: bool) -> Loss {
    Loss::SparseCategoricalCrossentropy { from_logits }
}

/// `CategoricalCrossentropy(from_logits=...)`.
#[allow(non_snake_case)]
pub fn CategoricalCrossentropy(from_logits: bool) -> Loss {
    Loss::CategoricalCrossentropy { from_logits }
}

/// `BinaryCrossentropy(from_logits=...)`.
#[allow(non_snake_case)]
pub fn BinaryCrossentropy(from_logits: bool) -> Loss {
    Loss::BinaryCrossentropy { from_logits }
}

const NAMES: [&str; 7] = [
    "mse",
    "mean_squared_error",
    "mae",
    "mean_absolute_error",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
];

impl Loss {
    /// The loss with Keras name `name`.
    pub fn from_name(name: &str) -> Result<Loss, KerasError> {
        Ok(match name {
            "mse" | "mean_squared_error" => Loss::MeanSquaredError,
            "mae" | "mean_absolute_error" => Loss::MeanAbsoluteError,
            "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits: false },
            "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits: false },
            "sparse_categorical_crossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits: false }
            }
            other => return Err(unknown("loss", other, &NAMES)),
        })
    }

    /// Mean loss over the batch, from the logits of the model's final softmax (categorical
    /// losses) or sigmoid (binary cross-entropy) when they are given, as Keras does inside
    /// `fit` and `evaluate`: `log(softmax(z))` computed as `log_softmax(z)` keeps gradients
    /// where the probabilities saturate.
    pub fn compute_with_logits(
        &self,
        y_true: &Tensor,
        y_pred: &Tensor,
        logits: Option<&crate::layers::Logits>,
    ) -> Tensor {
        use crate::layers::Activation::{Sigmoid, Softmax};
        let from = |want| logits.filter(|l| l.activation == want).map(|l| &l.values);
        match (*self, from(Softmax), from(Sigmoid)) {
            (Loss::CategoricalCrossentropy { from_logits: false }, Some(z), _) => {
                Loss::CategoricalCrossentropy { from_logits: true }.compute(y_true, z)
            }
            (Loss::SparseCategoricalCrossentropy { from_logits: false }, Some(z), _) => {
                Loss::SparseCategoricalCrossentropy { from_logits: true }.compute(y_true, z)
            }
            (Loss::BinaryCrossentropy { from_logits: false }, _, Some(z)) => {
                Loss::BinaryCrossentropy { from_logits: true }.compute(y_true, z)
            }
            _ => self.compute(y_true, y_pred),
        }
    }

    /// Mean loss over the batch.
    pub fn compute(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
        match *self {
            Loss::MeanSquaredError => mean_squared_error(y_true, y_pred).mean(),
            Loss::MeanAbsoluteError => mean_absolute_error(y_true, y_pred).mean(),
            Loss::BinaryCrossentropy { from_logits } => {
                binary_crossentropy(y_true, y_pred, from_logits).mean()
            }
            Loss::CategoricalCrossentropy { from_logits } => {
                categorical_crossentropy(y_true, y_pred, from_logits).mean()
            }
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                if from_logits && y_pred.ndim() == 2 {
                    // the fused, stable log-softmax + NLL of the nn crate
                    tandem_nn::functional::cross_entropy(
                        y_pred,
                        &y_true.to_dtype(DType::Int64).reshape(&[-1]),
                        &Default::default(),
                    )
                } else {
                    sparse_categorical_crossentropy(y_true, y_pred, from_logits).mean()
                }
            }
        }
    }
}

/// Loss names and objects both convert for `compile`.
pub trait IntoLoss {
    /// The loss, or an error naming the valid names.
    fn into_loss(self) -> Result<Loss, KerasError>;
}
impl IntoLoss for &str {
    fn into_loss(self) -> Result<Loss, KerasError> {
        Loss::from_name(self)
    }
}
impl IntoLoss for Loss {
    fn into_loss(self) -> Result<Loss, KerasError> {
        Ok(self)
    }
}
