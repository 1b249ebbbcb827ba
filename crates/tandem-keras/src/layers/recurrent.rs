//! Keras recurrent layers (`SimpleRNN`, `LSTM`, `GRU`) and `TimeDistributed`.
//!
//! Weights have Keras's shapes and gate order (`kernel` `[features, G·units]`,
//! `recurrent_kernel` `[units, G·units]`, `bias`); the computation is the engine's fused
//! recurrent op, the same one behind `nn::LSTM`. Keras's GRU orders its gates (update, reset,
//! candidate) where the op expects PyTorch's (reset, update, new), so its blocks are reordered
//! on the way in; with `reset_after=True` (Keras 3's default) the equations are PyTorch's.

use super::{Initializer, Layer, Logits};
use tandem_core::ops::recurrent::{recurrent_layer, RnnMode};
use tandem_core::{DType, Tensor};
use tandem_nn::init;

/// Which Keras layer a [`Recurrent`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SimpleRnn,
    Lstm,
    Gru,
}

/// The shared implementation of `SimpleRNN`, `LSTM` and `GRU`.
struct Recurrent {
    kind: Kind,
    mode: RnnMode,
    units: usize,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    input_shape: Option<Vec<usize>>,
    /// `[kernel, recurrent_kernel, bias]` once built.
    weights: Vec<Tensor>,
}

impl Recurrent {
    fn with_kind(kind: Kind, units: usize) -> Recurrent {
        Recurrent {
            kind,
            mode: match kind {
                Kind::SimpleRnn => RnnMode::Tanh,
                Kind::Lstm => RnnMode::Lstm,
                Kind::Gru => RnnMode::Gru,
            },
            units,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            input_shape: None,
            weights: Vec::new(),
        }
    }

    /// `activation='relu'` for a `SimpleRNN` (`'tanh'` is the default).
    fn activation(mut self, name: &str) -> Recurrent {
        self.mode = match name {
            "tanh" => RnnMode::Tanh,
            "relu" => RnnMode::Relu,
            other => panic!("SimpleRNN: activation '{other}' is not available (tanh, relu)"),
        };
        self
    }

    /// `return_sequences=True`: the output at every step, `[B, T, units]`, instead of the last.
    fn return_sequences(mut self, on: bool) -> Recurrent {
        self.return_sequences = on;
        self
    }

    /// `return_state=True`: [`call_with_states`](Self::call_with_states) also gives the final
    /// states (in a `Sequential` model only the output flows on).
    fn return_state(mut self, on: bool) -> Recurrent {
        self.return_state = on;
        self
    }

    /// `go_backwards=True`: reads the sequence from its end; with `return_sequences` the
    /// outputs come in that reversed order, as in Keras.
    fn go_backwards(mut self, on: bool) -> Recurrent {
        self.go_backwards = on;
        self
    }

    /// `input_shape=(timesteps, features)` (builds the layer right away).
    fn input_shape(mut self, shape: &[usize]) -> Recurrent {
        self.input_shape = Some(shape.to_vec());
        self.build(shape);
        self
    }

    /// Whether `return_state` was set.
    fn returns_state(&self) -> bool {
        self.return_state
    }

    /// `kernel`, `recurrent_kernel`, `bias` (`layer.weights`), once built.
    fn weights(&self) -> &[Tensor] {
        &self.weights
    }

    fn gates(&self) -> usize {
        self.mode.gates()
    }

    /// Keras's blocks in the op's gate order (the GRU's first two swap).
    fn to_op_order(&self, t: &Tensor, dim: isize) -> Tensor {
        if self.kind != Kind::Gru {
            return t.clone();
        }
        let u = self.units;
        let parts = [
            t.narrow(dim, u, u),
            t.narrow(dim, 0, u),
            t.narrow(dim, 2 * u, u),
        ];
        Tensor::cat(&[&parts[0], &parts[1], &parts[2]], dim)
    }

    /// The layer on `x` (`[B, T, F]`) from `initial_state` (zeros if none; for the LSTM
    /// `[h, c]`): the output (every step with `return_sequences`, else the last) and the
    /// final states (`[h]`, or `[h, c]` for the LSTM).
    fn run(&self, x: &Tensor, initial_state: Option<&[Tensor]>) -> (Tensor, Vec<Tensor>) {
        let name = self.name();
        assert!(self.built(), "{name} called before build");
        assert!(
            x.ndim() == 3,
            "{name}: expected input of shape (batch, timesteps, features), got {:?}",
            x.shape()
        );
        let x = super::as_float(x);
        let [kernel, recurrent, bias] = [0, 1, 2].map(|i| self.weights[i].to_dtype(x.dtype()));
        assert_eq!(
            x.shape()[2],
            kernel.shape()[0],
            "{name}: built for {} features, got input {:?}",
            kernel.shape()[0],
            x.shape()
        );
        let (b, steps, f, u) = (x.shape()[0], x.shape()[1], x.shape()[2], self.units);
        let (bias_in, bias_rec) = if self.kind == Kind::Gru {
            (
                bias.select(0, 0),
                Some(self.to_op_order(&bias.select(0, 1), 0)),
            )
        } else {
            (bias, None)
        };
        let xt = x
            .transpose(0, 1)
            .reshape(&[(steps * b) as isize, f as isize]);
        let gx = (xt.matmul(&self.to_op_order(&kernel, 1)) + self.to_op_order(&bias_in, 0))
            .reshape(&[steps as isize, b as isize, -1]);
        let w_hh = self.to_op_order(&recurrent, 1).t();
        let parts = self.mode.state_parts();
        let s0 = match initial_state {
            Some(states) => {
                assert_eq!(
                    states.len(),
                    parts,
                    "{name}: expected {parts} initial state tensor(s), got {}",
                    states.len()
                );
                let refs: Vec<&Tensor> = states.iter().collect();
                Tensor::cat(&refs, 1).to_dtype(x.dtype())
            }
            None => tandem_core::zeros(&[b, parts * u], x.dtype()),
        };
        let y = recurrent_layer(
            &gx,
            &s0,
            &w_hh,
            bias_rec.as_ref(),
            self.mode,
            self.go_backwards,
            None,
        );
        let last = y.select(0, steps as isize);
        let states: Vec<Tensor> = (0..parts).map(|i| last.narrow(1, i * u, u)).collect();
        let out = if self.return_sequences {
            let seq = y.narrow(0, 0, steps).narrow(2, 0, u);
            let seq = if self.go_backwards {
                seq.flip(&[0])
            } else {
                seq
            };
            seq.transpose(0, 1)
        } else {
            states[0].clone()
        };
        (out, states)
    }
}

macro_rules! keras_recurrent {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        pub struct $name(Recurrent);

        impl $name {
            /// The layer with `units` hidden units and Keras's defaults (returns the last
            /// output only; glorot-uniform kernel, orthogonal recurrent kernel, zero bias).
            pub fn new(units: usize) -> $name {
                $name(Recurrent::with_kind($kind, units))
            }

            /// `return_sequences=True`: the output at every step, `[B, T, units]`, instead of
            /// only the last.
            pub fn return_sequences(self, on: bool) -> $name {
                $name(self.0.return_sequences(on))
            }

            /// `return_state=True`: [`call_with_states`](Self::call_with_states) is the call
            /// that returns them (in a `Sequential` model only the output flows on).
            pub fn return_state(self, on: bool) -> $name {
                $name(self.0.return_state(on))
            }

            /// `go_backwards=True`: reads the sequence from its end; with `return_sequences`
            /// the outputs come in that reversed order, as in Keras.
            pub fn go_backwards(self, on: bool) -> $name {
                $name(self.0.go_backwards(on))
            }

            /// `input_shape=(timesteps, features)` (builds the layer right away).
            pub fn input_shape(self, shape: &[usize]) -> $name {
                $name(self.0.input_shape(shape))
            }

            /// Whether `return_state` was set.
            pub fn returns_state(&self) -> bool {
                self.0.returns_state()
            }

            /// `kernel`, `recurrent_kernel`, `bias` (`layer.weights`), once built.
            pub fn weights(&self) -> &[Tensor] {
                self.0.weights()
            }

            /// The layer on `x` (`[B, T, F]`) from `initial_state` (zeros if none; `[h, c]`
            /// for the LSTM), building it if needed: the output (every step with
            /// `return_sequences`, else the last) and the final states (`[h]`, or `[h, c]`).
            pub fn call_with_states(
                &mut self,
                x: &Tensor,
                initial_state: Option<&[Tensor]>,
            ) -> (Tensor, Vec<Tensor>) {
                if !self.0.built() {
                    self.0.build(&x.shape()[1..]);
                }
                self.0.run(x, initial_state)
            }
        }

        impl Layer for $name {
            fn name(&self) -> String {
                self.0.name()
            }
            fn build(&mut self, input_shape: &[usize]) {
                self.0.build(input_shape)
            }
            fn built(&self) -> bool {
                self.0.built()
            }
            fn declared_input_shape(&self) -> Option<Vec<usize>> {
                self.0.declared_input_shape()
            }
            fn call(&self, x: &Tensor, training: bool) -> Tensor {
                self.0.call(x, training)
            }
            fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
                self.0.output_shape(input_shape)
            }
            fn trainable_weights(&self) -> Vec<Tensor> {
                self.0.trainable_weights()
            }
        }
    };
}

keras_recurrent!(
    /// `keras.layers.SimpleRNN(units)`: `h_t = tanh(x_t · kernel + h_{t−1} · recurrent_kernel + bias)`.
    ///
    /// ```
    /// use tandem_keras::layers::{Layer, SimpleRNN};
    /// let mut rnn = SimpleRNN::new(4).return_sequences(true);
    /// assert_eq!(rnn.apply(&tandem_core::randn(&[2, 5, 3]), false).shape(), &[2, 5, 4]);
    /// ```
    SimpleRNN,
    Kind::SimpleRnn
);
keras_recurrent!(
    /// `keras.layers.LSTM(units)`: gates input, forget, cell, output; the forget gate's bias
    /// starts at 1 (`unit_forget_bias=True`).
    ///
    /// ```
    /// use tandem_keras::layers::{Layer, LSTM};
    /// let mut lstm = LSTM::new(4).return_state(true);
    /// let (out, states) = lstm.call_with_states(&tandem_core::randn(&[2, 5, 3]), None);
    /// assert_eq!(out.shape(), &[2, 4]);
    /// assert_eq!(states.len(), 2); // h and c
    /// ```
    LSTM,
    Kind::Lstm
);
keras_recurrent!(
    /// `keras.layers.GRU(units)` with Keras 3's default `reset_after=True`: gates update,
    /// reset, candidate; `bias` is `[2, 3·units]` (input and recurrent biases).
    ///
    /// ```
    /// use tandem_keras::layers::{Layer, GRU};
    /// let mut gru = GRU::new(4);
    /// assert_eq!(gru.apply(&tandem_core::randn(&[2, 5, 3]), false).shape(), &[2, 4]);
    /// ```
    GRU,
    Kind::Gru
);

impl SimpleRNN {
    /// `activation='relu'` (`'tanh'` is the default).
    pub fn activation(self, name: &str) -> SimpleRNN {
        SimpleRNN(self.0.activation(name))
    }
}

impl Layer for Recurrent {
    fn name(&self) -> String {
        match self.kind {
            Kind::SimpleRnn => "simple_rnn",
            Kind::Lstm => "lstm",
            Kind::Gru => "gru",
        }
        .into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        let f = *input_shape
            .last()
            .unwrap_or_else(|| panic!("{}: needs (timesteps, features) inputs", self.name()));
        let (u, g) = (self.units, self.gates() * self.units);
        let kernel = tandem_core::zeros(&[f, g], DType::Float32).requires_grad_(true);
        Initializer::GlorotUniform.fill(&kernel);
        let recurrent = tandem_core::zeros(&[u, g], DType::Float32).requires_grad_(true);
        init::orthogonal_(&recurrent, 1.0);
        let bias_shape = if self.kind == Kind::Gru {
            vec![2, g]
        } else {
            vec![g]
        };
        let bias = tandem_core::zeros(&bias_shape, DType::Float32);
        if self.kind == Kind::Lstm {
            // unit_forget_bias=True: the forget gate starts open.
            bias.narrow(0, u, u).fill_(1.0);
        }
        self.weights = vec![kernel, recurrent, bias.requires_grad_(true)];
    }
    fn built(&self) -> bool {
        !self.weights.is_empty()
    }
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        self.input_shape.clone()
    }
    fn call(&self, x: &Tensor, _training: bool) -> Tensor {
        self.run(x, None).0
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        if self.return_sequences {
            vec![input_shape[0], self.units]
        } else {
            vec![self.units]
        }
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        self.weights.clone()
    }
}

/// `TimeDistributed(layer)`: applies `layer` to every time step of `[B, T, ...]` inputs (as one
/// call over `B·T` samples).
///
/// ```
/// use tandem_keras::layers::{Dense, Layer, TimeDistributed};
/// let mut td = TimeDistributed::new(Dense::new(3).activation("softmax"));
/// let y = td.apply(&tandem_core::randn(&[2, 5, 4]), false);
/// assert_eq!(y.shape(), &[2, 5, 3]);
/// ```
pub struct TimeDistributed {
    inner: Box<dyn Layer>,
}

impl TimeDistributed {
    /// Wraps `layer`.
    pub fn new(layer: impl Layer + 'static) -> TimeDistributed {
        TimeDistributed {
            inner: Box::new(layer),
        }
    }
}

impl Layer for TimeDistributed {
    fn name(&self) -> String {
        "time_distributed".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        assert!(
            input_shape.len() >= 2,
            "TimeDistributed: expected inputs of at least 3 dimensions (batch, time, ...)"
        );
        self.inner.build(&input_shape[1..]);
    }
    fn built(&self) -> bool {
        self.inner.built()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.call_with_logits(x, training).0
    }
    fn call_with_logits(&self, x: &Tensor, training: bool) -> (Tensor, Option<Logits>) {
        let (b, t) = (x.shape()[0] as isize, x.shape()[1] as isize);
        let mut flat: Vec<isize> = vec![b * t];
        flat.extend(x.shape()[2..].iter().map(|&d| d as isize));
        let (y, logits) = self.inner.call_with_logits(&x.reshape(&flat), training);
        let unflat = |y: &Tensor| {
            let mut shape: Vec<isize> = vec![b, t];
            shape.extend(y.shape()[1..].iter().map(|&d| d as isize));
            y.reshape(&shape)
        };
        let logits = logits.map(|l| Logits {
            values: unflat(&l.values),
            activation: l.activation,
        });
        (unflat(&y), logits)
    }
    fn output_shape(&self, input_shape: &[usize]) -> Vec<usize> {
        let mut s = vec![input_shape[0]];
        s.extend(self.inner.output_shape(&input_shape[1..]));
        s
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        self.inner.trainable_weights()
    }
    fn non_trainable_weights(&self) -> Vec<Tensor> {
        self.inner.non_trainable_weights()
    }
    fn keras_weights(&self) -> Vec<Tensor> {
        self.inner.keras_weights()
    }
    fn regularization_loss(&self) -> Option<Tensor> {
        self.inner.regularization_loss()
    }
}
