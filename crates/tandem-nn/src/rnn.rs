//! Recurrent layers: `nn.RNN`, `nn.LSTM`, `nn.GRU`, with PyTorch's parameter names, gate
//! layout and initialization, so PyTorch state dicts load unchanged.
//!
//! Each layer and direction runs as one fused op
//! ([`recurrent_layer`](tandem_core::ops::recurrent::recurrent_layer)): the input projections
//! of all steps are one matrix product, each step one more.

use crate::functional as F;
use crate::init;
use crate::module::{join_name, Module, Params};
use crate::utils::rnn::PackedSequence;
use tandem_core::autograd::trace::{self, Attr};
use tandem_core::ops::recurrent::{recurrent_layer, RnnMode};
use tandem_core::{DType, Tensor};

/// What the three recurrent layers share: sizes, options and the parameters by name.
#[derive(Debug, Clone)]
pub struct RNNBase {
    mode: RnnMode,
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bias: bool,
    batch_first: bool,
    dropout: f64,
    bidirectional: bool,
    training: bool,
    /// `(name, tensor)` in PyTorch's order: per layer and direction `weight_ih_l{k}`,
    /// `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}` (`_reverse` for the backward half).
    params: Vec<(String, Tensor)>,
}

/// The result of a recurrent layer: the output sequence, the final hidden state `h_n`
/// (`[num_layers · directions, B, H]`) and, for the LSTM, the final cell state `c_n`.
struct RunOut {
    output: Tensor,
    h_n: Tensor,
    c_n: Option<Tensor>,
}

impl RNNBase {
    fn new(mode: RnnMode, input_size: usize, hidden_size: usize) -> RNNBase {
        let mut base = RNNBase {
            mode,
            input_size,
            hidden_size,
            num_layers: 1,
            bias: true,
            batch_first: false,
            dropout: 0.0,
            bidirectional: false,
            training: true,
            params: Vec::new(),
        };
        base.reset_parameters();
        base
    }

    fn directions(&self) -> usize {
        1 + self.bidirectional as usize
    }

    /// Creates the parameters with PyTorch's initialization: every weight and bias uniform in
    /// `±1/sqrt(hidden_size)`.
    fn reset_parameters(&mut self) {
        let (h, g) = (self.hidden_size, self.mode.gates() * self.hidden_size);
        let bound = if h > 0 { 1.0 / (h as f64).sqrt() } else { 0.0 };
        let mut params = Vec::new();
        for layer in 0..self.num_layers {
            let in_size = if layer == 0 {
                self.input_size
            } else {
                h * self.directions()
            };
            for dir in 0..self.directions() {
                let sfx = format!("_l{layer}{}", if dir == 1 { "_reverse" } else { "" });
                let mut shapes = vec![("weight_ih", vec![g, in_size]), ("weight_hh", vec![g, h])];
                if self.bias {
                    shapes.extend([("bias_ih", vec![g]), ("bias_hh", vec![g])]);
                }
                for (name, shape) in shapes {
                    let t = tandem_core::zeros(&shape, DType::Float32).requires_grad_(true);
                    init::uniform_(&t, -bound, bound);
                    params.push((format!("{name}{sfx}"), t));
                }
            }
        }
        self.params = params;
    }

    /// The parameter named as in PyTorch (`weight_hh_l0`, `bias_ih_l1_reverse`).
    pub fn param(&self, name: &str) -> Option<&Tensor> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Hidden units per direction.
    pub fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// Features of each input step.
    pub fn input_size(&self) -> usize {
        self.input_size
    }

    fn layer_params(&self, layer: usize, dir: usize) -> [Option<&Tensor>; 4] {
        let sfx = format!("_l{layer}{}", if dir == 1 { "_reverse" } else { "" });
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|n| self.param(&format!("{n}{sfx}")))
    }

    /// Runs all layers over `x` (`[T, B, F]`, `[B, T, F]` with `batch_first`, or unbatched
    /// `[T, F]`), from the initial states `h0` (and `c0`), each `[layers · directions, B, H]`
    /// (or `[layers · directions, H]` unbatched); zeros when not given.
    fn run(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> RunOut {
        if trace::is_tracing() {
            return self.run_for_export(x, h0, c0);
        }
        self.run_layers(x, h0, c0)
    }

    /// Inside an export trace the whole layer is one op (ONNX's `RNN`, `GRU` and `LSTM` are
    /// single ops), over the input and every parameter in PyTorch's order.
    fn run_for_export(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> RunOut {
        static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let o = tandem_core::autograd::no_grad(|| self.run_layers(x, h0, c0));
        let mut inputs: Vec<&Tensor> = vec![x];
        inputs.extend(self.params.iter().map(|(_, t)| t));
        let attrs = |which: i64| {
            let mode = match self.mode {
                RnnMode::Tanh => "tanh",
                RnnMode::Relu => "relu",
                RnnMode::Lstm => "lstm",
                RnnMode::Gru => "gru",
            };
            vec![
                ("mode", Attr::Str(mode)),
                ("hidden_size", Attr::Int(self.hidden_size as i64)),
                ("num_layers", Attr::Int(self.num_layers as i64)),
                ("directions", Attr::Int(self.directions() as i64)),
                ("bias", Attr::Int(i64::from(self.bias))),
                ("batch_first", Attr::Int(i64::from(self.batch_first))),
                (
                    "initial_state",
                    Attr::Int(i64::from(h0.is_some() || c0.is_some())),
                ),
                ("layer_id", Attr::Int(id)),
                ("which", Attr::Int(which)),
            ]
        };
        RunOut {
            output: trace::composite(o.output, "RnnExport", &inputs, attrs(0)),
            h_n: trace::composite(o.h_n, "RnnExport", &inputs, attrs(1)),
            c_n: o
                .c_n
                .map(|c| trace::composite(c, "RnnExport", &inputs, attrs(2))),
        }
    }

    fn run_layers(&self, x: &Tensor, h0: Option<&Tensor>, c0: Option<&Tensor>) -> RunOut {
        let name = self.name();
        let unbatched = x.ndim() == 2;
        assert!(
            x.ndim() == 3 || unbatched,
            "{name}: expected input to be 2-D or 3-D, got {}-D with shape {:?}",
            x.ndim(),
            x.shape()
        );
        self.check_features(x);
        let xt = if unbatched {
            x.unsqueeze(1)
        } else if self.batch_first {
            x.transpose(0, 1)
        } else {
            x.clone()
        };
        let b = xt.shape()[1];
        let lift =
            |s: Option<&Tensor>| s.map(|s| if unbatched { s.unsqueeze(1) } else { s.clone() });
        let (h0, c0) = (lift(h0), lift(c0));
        let (output, h_n, c_n) = self.layers(xt, None, b, h0.as_ref(), c0.as_ref());
        let drop_batch = |t: Tensor| if unbatched { t.squeeze(Some(1)) } else { t };
        let output = if self.batch_first && !unbatched {
            output.transpose(0, 1)
        } else {
            drop_batch(output)
        };
        RunOut {
            output,
            h_n: drop_batch(h_n),
            c_n: c_n.map(drop_batch),
        }
    }

    fn check_features(&self, x: &Tensor) {
        assert_eq!(
            *x.shape().last().unwrap(),
            self.input_size,
            "{}: input.size(-1) must be equal to input_size. Expected {}, got {} (input {:?})",
            self.name(),
            self.input_size,
            x.shape().last().unwrap(),
            x.shape()
        );
    }

    /// All layers and directions over time-major padded `[T, B, F]` input, or packed rows
    /// `[N, F]` with `batch_sizes` (sequences sorted longest first); the output comes in the
    /// same layout. Initial states are `[layers · directions, B, H]` in the rows' order.
    fn layers(
        &self,
        mut input: Tensor,
        batch_sizes: Option<&[usize]>,
        b: usize,
        h0: Option<&Tensor>,
        c0: Option<&Tensor>,
    ) -> (Tensor, Tensor, Option<Tensor>) {
        let name = self.name();
        let dt = input.dtype();
        let (h, dirs) = (self.hidden_size, self.directions());
        let states = self.num_layers * dirs;
        let check = |s: Option<&Tensor>, what: &str| {
            s.map(|s| {
                assert_eq!(
                    s.shape(),
                    [states, b, h],
                    "{name}: expected {what} of size {:?}, got {:?}",
                    [states, b, h],
                    s.shape()
                );
                s.to_dtype(dt)
            })
        };
        let (h0, c0) = (check(h0, "hidden size"), check(c0, "cell state size"));
        let (mut hs, mut cs) = (Vec::new(), Vec::new());
        for layer in 0..self.num_layers {
            let mut outs = Vec::new();
            for dir in 0..dirs {
                let [w_ih, w_hh, b_ih, b_hh] = self.layer_params(layer, dir);
                let (w_ih, w_hh) = (w_ih.expect("weight_ih"), w_hh.expect("weight_hh"));
                let feat = *input.shape().last().expect("features") as isize;
                let flat = input.reshape(&[-1, feat]);
                let gx = F::linear(&flat, &w_ih.to_dtype(dt), b_ih);
                let gx = match batch_sizes {
                    Some(_) => gx,
                    None => gx.reshape(&[input.shape()[0] as isize, b as isize, -1]),
                };
                let idx = (layer * dirs + dir) as isize;
                let zero = || tandem_core::zeros(&[b, h], dt);
                let mut s0 = h0.as_ref().map_or_else(zero, |t| t.select(0, idx));
                if self.mode == RnnMode::Lstm {
                    let c = c0.as_ref().map_or_else(zero, |t| t.select(0, idx));
                    s0 = Tensor::cat(&[&s0, &c], 1);
                }
                let y = recurrent_layer(
                    &gx,
                    &s0,
                    &w_hh.to_dtype(dt),
                    b_hh.map(|t| t.to_dtype(dt)).as_ref(),
                    self.mode,
                    dir == 1,
                    batch_sizes,
                );
                // Padded: y is [T + 1, B, K], packed: [N + B, K]; the states come last.
                let rows = y.shape()[0] - if batch_sizes.is_some() { b } else { 1 };
                outs.push(y.narrow(0, 0, rows).narrow(-1, 0, h));
                let last = y
                    .narrow(0, rows, y.shape()[0] - rows)
                    .reshape(&[b as isize, -1]);
                hs.push(last.narrow(1, 0, h));
                if self.mode == RnnMode::Lstm {
                    cs.push(last.narrow(1, h, h));
                }
            }
            input = if dirs == 1 {
                outs.swap_remove(0)
            } else {
                Tensor::cat(&[&outs[0], &outs[1]], -1)
            };
            if self.training && self.dropout > 0.0 && layer + 1 < self.num_layers {
                input = F::dropout(&input, self.dropout, true);
            }
        }
        let stack = |v: &[Tensor]| {
            let refs: Vec<&Tensor> = v.iter().collect();
            Tensor::stack(&refs, 0)
        };
        let c_n = (self.mode == RnnMode::Lstm).then(|| stack(&cs));
        (input, stack(&hs), c_n)
    }

    /// Runs over a packed batch, on its packed rows: the output is packed the same way; the
    /// initial and final states are in the batch's original row order.
    fn run_packed(
        &self,
        x: &PackedSequence,
        h0: Option<&Tensor>,
        c0: Option<&Tensor>,
    ) -> (PackedSequence, Tensor, Option<Tensor>) {
        self.check_features(&x.data);
        let index = |v: &[usize]| {
            let v: Vec<i64> = v.iter().map(|&i| i as i64).collect();
            let n = v.len();
            Tensor::from_vec(v, &[n])
        };
        let (sorted, unsorted) = (index(&x.sorted_indices), index(&x.unsorted_indices));
        let b = x.sorted_indices.len();
        let to_sorted = |s: Option<&Tensor>| s.map(|s| s.index_select(1, &sorted));
        let (h0, c0) = (to_sorted(h0), to_sorted(c0));
        let (data, h_n, c_n) = self.layers(
            x.data.clone(),
            Some(&x.batch_sizes),
            b,
            h0.as_ref(),
            c0.as_ref(),
        );
        let from_sorted = |s: Tensor| s.index_select(1, &unsorted);
        let out = PackedSequence {
            data,
            batch_sizes: x.batch_sizes.clone(),
            sorted_indices: x.sorted_indices.clone(),
            unsorted_indices: x.unsorted_indices.clone(),
        };
        (out, from_sorted(h_n), c_n.map(from_sorted))
    }

    fn name(&self) -> &'static str {
        match self.mode {
            RnnMode::Tanh | RnnMode::Relu => "RNN",
            RnnMode::Lstm => "LSTM",
            RnnMode::Gru => "GRU",
        }
    }
}

impl Params for RNNBase {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (n, t) in &self.params {
            f(&join_name(prefix, n), t);
        }
    }
    fn set_training(&mut self, on: bool) {
        self.training = on;
    }
}

macro_rules! recurrent_layer_type {
    ($(#[$doc:meta])* $name:ident, $mode:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(RNNBase);

        impl $name {
            /// A one-layer, unidirectional, time-major layer with biases.
            pub fn new(input_size: usize, hidden_size: usize) -> $name {
                $name(RNNBase::new($mode, input_size, hidden_size))
            }

            /// Stacks `n` layers, each fed the previous one's output (`num_layers=n`).
            /// Re-initializes the parameters.
            pub fn num_layers(mut self, n: usize) -> $name {
                assert!(n >= 1, "{}: num_layers must be at least 1", stringify!($name));
                self.0.num_layers = n;
                self.0.reset_parameters();
                self
            }

            /// Whether inputs and outputs are `[B, T, F]` (`batch_first=True`).
            pub fn batch_first(mut self, on: bool) -> $name {
                self.0.batch_first = on;
                self
            }

            /// Adds a second direction reading the sequence backwards; outputs concatenate
            /// both (`bidirectional=True`). Re-initializes the parameters.
            pub fn bidirectional(mut self, on: bool) -> $name {
                self.0.bidirectional = on;
                self.0.reset_parameters();
                self
            }

            /// Dropout on the outputs of every layer but the last, in training (`dropout=p`).
            pub fn dropout(mut self, p: f64) -> $name {
                assert!(
                    (0.0..=1.0).contains(&p),
                    "dropout should be a number in range [0, 1], got {p}"
                );
                self.0.dropout = p;
                self
            }

            /// Whether the layer has the bias vectors `b_ih` and `b_hh` (`bias=False`).
            /// Re-initializes the parameters.
            pub fn bias(mut self, on: bool) -> $name {
                self.0.bias = on;
                self.0.reset_parameters();
                self
            }

            /// The parameter named as in PyTorch (`weight_ih_l0`, `bias_hh_l1_reverse`).
            pub fn param(&self, name: &str) -> Option<&Tensor> {
                self.0.param(name)
            }

            /// Converts every parameter to `dtype` (`.double()` / `.float()` in PyTorch).
            pub fn to_dtype(mut self, dtype: DType) -> $name {
                for (_, t) in &mut self.0.params {
                    *t = crate::module::param_in(t, dtype);
                }
                self
            }

            /// Shared sizes and options.
            pub fn base(&self) -> &RNNBase {
                &self.0
            }
        }

        impl Params for $name {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
                self.0.visit(prefix, f)
            }
            fn set_training(&mut self, on: bool) {
                self.0.set_training(on)
            }
        }

        impl Module for $name {
            /// The output sequence from zero initial states.
            fn forward(&self, x: &Tensor) -> Tensor {
                self.0.run(x, None, None).output
            }
        }
    };
}

recurrent_layer_type!(
    /// `nn.RNN(input_size, hidden_size)`: `h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)`.
    ///
    /// ```
    /// use tandem_nn::RNN;
    /// let rnn = RNN::new(5, 5).batch_first(true);
    /// let (out, h_n) = rnn.forward_with(&tandem_core::randn(&[1, 6, 5]), None);
    /// assert_eq!(out.shape(), &[1, 6, 5]);
    /// assert_eq!(h_n.shape(), &[1, 1, 5]);
    /// ```
    RNN,
    RnnMode::Tanh
);
recurrent_layer_type!(
    /// `nn.LSTM(input_size, hidden_size)`, gates in PyTorch's order (input, forget, cell,
    /// output).
    ///
    /// ```
    /// use tandem_nn::LSTM;
    /// let lstm = LSTM::new(3, 4).num_layers(2).bidirectional(true);
    /// let (out, (h_n, c_n)) = lstm.forward_with(&tandem_core::randn(&[7, 2, 3]), None);
    /// assert_eq!(out.shape(), &[7, 2, 8]);
    /// assert_eq!(h_n.shape(), &[4, 2, 4]);
    /// assert_eq!(c_n.shape(), &[4, 2, 4]);
    /// ```
    LSTM,
    RnnMode::Lstm
);
recurrent_layer_type!(
    /// `nn.GRU(input_size, hidden_size)`, gates in PyTorch's order (reset, update, new).
    ///
    /// ```
    /// use tandem_nn::GRU;
    /// let gru = GRU::new(3, 4);
    /// let (out, h_n) = gru.forward_with(&tandem_core::randn(&[7, 2, 3]), None);
    /// assert_eq!(out.shape(), &[7, 2, 4]);
    /// assert_eq!(h_n.shape(), &[1, 2, 4]);
    /// ```
    GRU,
    RnnMode::Gru
);

impl RNN {
    /// `nonlinearity='tanh'` (the default) or `'relu'`.
    pub fn nonlinearity(mut self, name: &str) -> RNN {
        self.0.mode = match name {
            "tanh" => RnnMode::Tanh,
            "relu" => RnnMode::Relu,
            other => panic!("RNN: unknown nonlinearity '{other}' (expected 'tanh' or 'relu')"),
        };
        self
    }

    /// `rnn(x, h0)`: the output sequence and the final hidden state.
    pub fn forward_with(&self, x: &Tensor, h0: Option<&Tensor>) -> (Tensor, Tensor) {
        let o = self.0.run(x, h0, None);
        (o.output, o.h_n)
    }

    /// `rnn(packed, h0)` on a [`PackedSequence`].
    pub fn forward_packed(
        &self,
        x: &PackedSequence,
        h0: Option<&Tensor>,
    ) -> (PackedSequence, Tensor) {
        let (out, h, _) = self.0.run_packed(x, h0, None);
        (out, h)
    }
}

impl GRU {
    /// `gru(x, h0)`: the output sequence and the final hidden state.
    pub fn forward_with(&self, x: &Tensor, h0: Option<&Tensor>) -> (Tensor, Tensor) {
        let o = self.0.run(x, h0, None);
        (o.output, o.h_n)
    }

    /// `gru(packed, h0)` on a [`PackedSequence`].
    pub fn forward_packed(
        &self,
        x: &PackedSequence,
        h0: Option<&Tensor>,
    ) -> (PackedSequence, Tensor) {
        let (out, h, _) = self.0.run_packed(x, h0, None);
        (out, h)
    }
}

impl LSTM {
    /// `lstm(x, (h0, c0))`: the output sequence and the final `(h_n, c_n)`.
    pub fn forward_with(
        &self,
        x: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
    ) -> (Tensor, (Tensor, Tensor)) {
        let o = self.0.run(x, state.map(|s| s.0), state.map(|s| s.1));
        (o.output, (o.h_n, o.c_n.expect("an LSTM has a cell state")))
    }

    /// `lstm(packed, (h0, c0))` on a [`PackedSequence`].
    pub fn forward_packed(
        &self,
        x: &PackedSequence,
        state: Option<(&Tensor, &Tensor)>,
    ) -> (PackedSequence, (Tensor, Tensor)) {
        let (out, h, c) = self.0.run_packed(x, state.map(|s| s.0), state.map(|s| s.1));
        (out, (h, c.expect("an LSTM has a cell state")))
    }
}
