//! One step of a recurrent layer: `nn.RNNCell`, `nn.LSTMCell`, `nn.GRUCell`, for programs
//! that loop over time themselves.

use crate::functional as F;
use crate::init;
use crate::module::Module;
use tandem_core::ops::recurrent::{recurrent_layer, RnnMode};
use tandem_core::{DType, Tensor};

/// The four tensors of a cell, PyTorch's names and initialization (uniform `±1/sqrt(H)`).
fn cell_params(
    input_size: usize,
    hidden_size: usize,
    mode: RnnMode,
    bias: bool,
) -> (Tensor, Tensor, Option<Tensor>, Option<Tensor>) {
    let g = mode.gates() * hidden_size;
    let bound = if hidden_size > 0 {
        1.0 / (hidden_size as f64).sqrt()
    } else {
        0.0
    };
    let make = |shape: &[usize]| {
        let t = tandem_core::zeros(shape, DType::Float32).requires_grad_(true);
        init::uniform_(&t, -bound, bound);
        t
    };
    let (w_ih, w_hh) = (make(&[g, input_size]), make(&[g, hidden_size]));
    let (b_ih, b_hh) = if bias {
        (Some(make(&[g])), Some(make(&[g])))
    } else {
        (None, None)
    };
    (w_ih, w_hh, b_ih, b_hh)
}

/// One step: `x` is `[B, I]` (or `[I]`), the state `[B, K·H]`; returns the new state.
#[allow(clippy::too_many_arguments)]
fn step(
    name: &str,
    mode: RnnMode,
    x: &Tensor,
    state: &[Option<&Tensor>],
    w_ih: &Tensor,
    w_hh: &Tensor,
    b_ih: Option<&Tensor>,
    b_hh: Option<&Tensor>,
) -> Vec<Tensor> {
    let unbatched = x.ndim() == 1;
    let x = if unbatched { x.unsqueeze(0) } else { x.clone() };
    let (b, h, input) = (x.shape()[0], w_hh.shape()[1], w_ih.shape()[1]);
    assert!(
        x.ndim() == 2 && x.shape()[1] == input,
        "{name}: expected input of shape [B, {input}] or [{input}], got {:?}",
        x.shape()
    );
    let dt = x.dtype();
    let parts: Vec<Tensor> = state
        .iter()
        .map(|s| match s {
            Some(s) => {
                let s = if unbatched {
                    s.unsqueeze(0)
                } else {
                    (*s).clone()
                };
                assert_eq!(
                    s.shape(),
                    [b, h],
                    "{name}: expected a state of shape [{b}, {h}], got {:?}",
                    s.shape()
                );
                s.to_dtype(dt)
            }
            None => tandem_core::zeros(&[b, h], dt),
        })
        .collect();
    let refs: Vec<&Tensor> = parts.iter().collect();
    let s0 = Tensor::cat(&refs, 1);
    let gx = F::linear(&x, &w_ih.to_dtype(dt), b_ih).unsqueeze(0);
    let y = recurrent_layer(
        &gx,
        &s0,
        &w_hh.to_dtype(dt),
        b_hh.map(|t| t.to_dtype(dt)).as_ref(),
        mode,
        false,
        None,
    )
    .select(0, 1);
    (0..state.len())
        .map(|i| {
            let part = y.narrow(1, i * h, h);
            if unbatched {
                part.squeeze(Some(0))
            } else {
                part
            }
        })
        .collect()
}

macro_rules! cell_type {
    ($(#[$doc:meta])* $name:ident, $mode:expr) => {
        $(#[$doc])*
        #[derive(crate::Module, Debug, Clone)]
        pub struct $name {
            /// `[G·H, I]`.
            pub weight_ih: Tensor,
            /// `[G·H, H]`.
            pub weight_hh: Tensor,
            /// `[G·H]`, if used.
            pub bias_ih: Option<Tensor>,
            /// `[G·H]`, if used.
            pub bias_hh: Option<Tensor>,
            #[module(skip)]
            mode: RnnMode,
        }

        impl $name {
            /// A cell with biases.
            pub fn new(input_size: usize, hidden_size: usize) -> $name {
                $name::with_bias(input_size, hidden_size, true)
            }

            /// `bias=False` leaves out `bias_ih` and `bias_hh`.
            pub fn with_bias(input_size: usize, hidden_size: usize, bias: bool) -> $name {
                let (weight_ih, weight_hh, bias_ih, bias_hh) =
                    cell_params(input_size, hidden_size, $mode, bias);
                $name { weight_ih, weight_hh, bias_ih, bias_hh, mode: $mode }
            }

            fn run(&self, x: &Tensor, state: &[Option<&Tensor>]) -> Vec<Tensor> {
                step(
                    stringify!($name),
                    self.mode,
                    x,
                    state,
                    &self.weight_ih,
                    &self.weight_hh,
                    self.bias_ih.as_ref(),
                    self.bias_hh.as_ref(),
                )
            }
        }
    };
}

cell_type!(
    /// `nn.RNNCell(input_size, hidden_size)`: `h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`.
    ///
    /// ```
    /// use tandem_nn::RNNCell;
    /// let cell = RNNCell::new(4, 2);
    /// let h = cell.forward_cell(&tandem_core::randn(&[3, 4]), None);
    /// let h = cell.forward_cell(&tandem_core::randn(&[3, 4]), Some(&h));
    /// assert_eq!(h.shape(), &[3, 2]);
    /// ```
    RNNCell,
    RnnMode::Tanh
);
cell_type!(
    /// `nn.LSTMCell(input_size, hidden_size)`.
    ///
    /// ```
    /// use tandem_nn::LSTMCell;
    /// let cell = LSTMCell::new(4, 2);
    /// let (h, c) = cell.forward_cell(&tandem_core::randn(&[3, 4]), None);
    /// assert_eq!((h.shape(), c.shape()), (&[3, 2][..], &[3, 2][..]));
    /// ```
    LSTMCell,
    RnnMode::Lstm
);
cell_type!(
    /// `nn.GRUCell(input_size, hidden_size)`.
    ///
    /// ```
    /// use tandem_nn::GRUCell;
    /// let cell = GRUCell::new(4, 2);
    /// assert_eq!(cell.forward_cell(&tandem_core::randn(&[3, 4]), None).shape(), &[3, 2]);
    /// ```
    GRUCell,
    RnnMode::Gru
);

impl RNNCell {
    /// `nonlinearity='tanh'` (the default) or `'relu'`.
    pub fn nonlinearity(mut self, name: &str) -> RNNCell {
        self.mode = match name {
            "tanh" => RnnMode::Tanh,
            "relu" => RnnMode::Relu,
            other => panic!("RNNCell: unknown nonlinearity '{other}' (expected 'tanh' or 'relu')"),
        };
        self
    }

    /// `cell(x, h)`: the next hidden state (from zeros when `h` is `None`).
    pub fn forward_cell(&self, x: &Tensor, h: Option<&Tensor>) -> Tensor {
        self.run(x, &[h]).swap_remove(0)
    }
}

impl GRUCell {
    /// `cell(x, h)`: the next hidden state (from zeros when `h` is `None`).
    pub fn forward_cell(&self, x: &Tensor, h: Option<&Tensor>) -> Tensor {
        self.run(x, &[h]).swap_remove(0)
    }
}

impl LSTMCell {
    /// `cell(x, (h, c))`: the next `(h, c)` (from zeros when the state is `None`).
    pub fn forward_cell(&self, x: &Tensor, state: Option<(&Tensor, &Tensor)>) -> (Tensor, Tensor) {
        let mut v = self.run(x, &[state.map(|s| s.0), state.map(|s| s.1)]);
        let c = v.pop().expect("c");
        (v.pop().expect("h"), c)
    }
}

impl Module for RNNCell {
    /// The hidden state after one step from zeros.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_cell(x, None)
    }
}

impl Module for GRUCell {
    /// The hidden state after one step from zeros.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_cell(x, None)
    }
}

impl Module for LSTMCell {
    /// The hidden state `h` after one step from zeros.
    fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_cell(x, None).0
    }
}
