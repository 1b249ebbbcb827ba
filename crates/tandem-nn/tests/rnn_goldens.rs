//! RNN, LSTM, GRU (stacked, bidirectional, batch-first, packed) and their cells against
//! PyTorch: outputs, final states and the gradients of
//! `(out * r_out).sum() + (h_n * r_h).sum() (+ (c_n * r_c).sum())` with respect to the input,
//! the initial states and every parameter, from `fixtures/rnn_goldens.json`
//! (tools/goldens/gen_rnn_goldens.py). Each case runs in float64 (to 1e-10) and float32 (1e-4).

use serde_json::Value;
use tandem_core::testing;
use tandem_core::{DType, Tensor};
use tandem_nn::utils::rnn::{pack_padded_sequence, pad_packed_sequence};
use tandem_nn::{GRUCell, LSTMCell, Module, RNNCell, GRU, LSTM, RNN};

fn cases(key: &str) -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rnn_goldens.json"
    );
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all[key].as_array().unwrap().clone()
}

fn tensor(v: &Value, dt: DType) -> Tensor {
    testing::tensor_f64(v).to_dtype(dt)
}

fn opt(v: &Value, dt: DType) -> Option<Tensor> {
    (!v.is_null()).then(|| tensor(v, dt).requires_grad_(true))
}

const PRECISIONS: [(DType, f64); 2] = [(DType::Float64, 1e-10), (DType::Float32, 1e-4)];

/// The parameters of a case as (name, tensor) pairs.
fn named(v: &Value, dt: DType) -> Vec<(String, Tensor)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), tensor(&p[1], dt)))
        .collect()
}

/// Builds the layer a case describes, with the case's parameter values.
enum Layer {
    Rnn(RNN),
    Lstm(LSTM),
    Gru(GRU),
}

macro_rules! configure {
    ($l:expr, $c:expr, $dt:expr) => {
        $l.num_layers($c["num_layers"].as_u64().unwrap() as usize)
            .bias($c["bias"].as_bool().unwrap())
            .bidirectional($c["bidirectional"].as_bool().unwrap())
            .batch_first($c["batch_first"].as_bool().unwrap())
            .to_dtype($dt)
    };
}

fn layer(c: &Value, dt: DType) -> Layer {
    let (i, h) = (
        c["input_size"].as_u64().unwrap() as usize,
        c["hidden_size"].as_u64().unwrap() as usize,
    );
    let l = match c["mode"].as_str().unwrap() {
        "RNN_TANH" => Layer::Rnn(configure!(RNN::new(i, h), c, dt)),
        "RNN_RELU" => Layer::Rnn(configure!(RNN::new(i, h).nonlinearity("relu"), c, dt)),
        "LSTM" => Layer::Lstm(configure!(LSTM::new(i, h), c, dt)),
        "GRU" => Layer::Gru(configure!(GRU::new(i, h), c, dt)),
        m => panic!("unknown mode {m}"),
    };
    let ours = l.module().named_parameters();
    let want = named(&c["params"], dt);
    let names: Vec<&String> = ours.iter().map(|(n, _)| n).collect();
    let want_names: Vec<&String> = want.iter().map(|(n, _)| n).collect();
    assert_eq!(names, want_names, "{}: parameter names", c["name"]);
    tandem_core::autograd::no_grad(|| {
        for ((_, p), (_, v)) in ours.iter().zip(&want) {
            p.copy_(v);
        }
    });
    l
}

impl Layer {
    fn module(&self) -> &dyn Module {
        match self {
            Layer::Rnn(m) => m,
            Layer::Lstm(m) => m,
            Layer::Gru(m) => m,
        }
    }
}

/// Checks out, h_n, c_n and all gradients of one case (padded or packed).
fn check(c: &Value, packed: bool) {
    for (dt, tol) in PRECISIONS {
        let name = format!("{} {dt}", c["name"].as_str().unwrap());
        let l = layer(c, dt);
        let x = tensor(&c["x"], dt).requires_grad_(true);
        let (h0, c0) = (opt(&c["h0"], dt), opt(&c["c0"], dt));
        let batch_first = c["batch_first"].as_bool().unwrap();
        let lengths: Vec<usize> = c["lengths"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_u64().unwrap() as usize).collect())
            .unwrap_or_default();
        let steps = x.shape()[if batch_first { 1 } else { 0 }];
        let (out, h_n, c_n) = if packed {
            let p = pack_padded_sequence(&x, &lengths, batch_first, false);
            let (po, h, cn) = match &l {
                Layer::Rnn(m) => {
                    let (o, h) = m.forward_packed(&p, h0.as_ref());
                    (o, h, None)
                }
                Layer::Gru(m) => {
                    let (o, h) = m.forward_packed(&p, h0.as_ref());
                    (o, h, None)
                }
                Layer::Lstm(m) => {
                    let s = h0.as_ref().zip(c0.as_ref());
                    let (o, (h, cn)) = m.forward_packed(&p, s);
                    (o, h, Some(cn))
                }
            };
            let (o, lens) = pad_packed_sequence(&po, batch_first, 0.0, Some(steps));
            assert_eq!(lens, lengths, "{name}: lengths");
            (o, h, cn)
        } else {
            match &l {
                Layer::Rnn(m) => {
                    let (o, h) = m.forward_with(&x, h0.as_ref());
                    (o, h, None)
                }
                Layer::Gru(m) => {
                    let (o, h) = m.forward_with(&x, h0.as_ref());
                    (o, h, None)
                }
                Layer::Lstm(m) => {
                    let (o, (h, cn)) = m.forward_with(&x, h0.as_ref().zip(c0.as_ref()));
                    (o, h, Some(cn))
                }
            }
        };
        testing::assert_close_json(&format!("{name} out"), &out, &c["out"], tol);
        testing::assert_close_json(&format!("{name} h_n"), &h_n, &c["h_n"], tol);
        let base = (&out * &tensor(&c["r_out"], dt)).sum() + (&h_n * &tensor(&c["r_h"], dt)).sum();
        let loss = match &c_n {
            Some(cn) => {
                testing::assert_close_json(&format!("{name} c_n"), cn, &c["c_n"], tol);
                base + (cn * &tensor(&c["r_c"], dt)).sum()
            }
            None => base,
        };
        loss.backward();
        testing::assert_close_json(
            &format!("{name} grad_x"),
            &x.grad().unwrap(),
            &c["grad_x"],
            tol,
        );
        if let Some(h0) = &h0 {
            testing::assert_close_json(
                &format!("{name} grad_h0"),
                &h0.grad().unwrap(),
                &c["grad_h0"],
                tol,
            );
        }
        if let Some(c0) = &c0 {
            testing::assert_close_json(
                &format!("{name} grad_c0"),
                &c0.grad().unwrap(),
                &c["grad_c0"],
                tol,
            );
        }
        let grads = c["grads"].as_array().unwrap();
        for ((n, p), g) in l.module().named_parameters().iter().zip(grads) {
            assert_eq!(n, g[0].as_str().unwrap());
            testing::assert_close_json(&format!("{name} grad {n}"), &p.grad().unwrap(), &g[1], tol);
        }
    }
}

#[test]
fn rnn_lstm_gru_match_pytorch_stacked_bidirectional_batch_first() {
    let all = cases("modules");
    assert!(all.len() >= 11);
    for c in &all {
        check(c, false);
    }
}

#[test]
fn packed_sequences_match_pytorch_outputs_final_states_and_gradients() {
    let all = cases("packed");
    assert!(all.len() >= 3);
    for c in &all {
        check(c, true);
    }
}

#[test]
fn cells_match_pytorch() {
    for c in cases("cells") {
        for (dt, tol) in PRECISIONS {
            let name = format!("{} {dt}", c["name"].as_str().unwrap());
            let (i, h) = (
                c["input_size"].as_u64().unwrap() as usize,
                c["hidden_size"].as_u64().unwrap() as usize,
            );
            let bias = c["bias"].as_bool().unwrap();
            let params = named(&c["params"], dt);
            let get = |n: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, t)| t.clone().requires_grad_(true))
            };
            let x = tensor(&c["x"], dt).requires_grad_(true);
            let h0 = tensor(&c["h0"], dt).requires_grad_(true);
            let c0 = opt(&c["c0"], dt);
            macro_rules! fill {
                ($cell:expr) => {{
                    let mut cell = $cell;
                    cell.weight_ih = get("weight_ih").unwrap();
                    cell.weight_hh = get("weight_hh").unwrap();
                    cell.bias_ih = get("bias_ih");
                    cell.bias_hh = get("bias_hh");
                    cell
                }};
            }
            let (h1, c1, module): (Tensor, Option<Tensor>, Box<dyn Module>) =
                match c["mode"].as_str().unwrap() {
                    m @ ("RNNCell_tanh" | "RNNCell_relu") => {
                        let nl = if m == "RNNCell_relu" { "relu" } else { "tanh" };
                        let cell = fill!(RNNCell::with_bias(i, h, bias).nonlinearity(nl));
                        (cell.forward_cell(&x, Some(&h0)), None, Box::new(cell))
                    }
                    "GRUCell" => {
                        let cell = fill!(GRUCell::with_bias(i, h, bias));
                        (cell.forward_cell(&x, Some(&h0)), None, Box::new(cell))
                    }
                    "LSTMCell" => {
                        let cell = fill!(LSTMCell::with_bias(i, h, bias));
                        let (h1, c1) = cell.forward_cell(&x, Some((&h0, c0.as_ref().unwrap())));
                        (h1, Some(c1), Box::new(cell))
                    }
                    m => panic!("unknown cell {m}"),
                };
            testing::assert_close_json(&format!("{name} h1"), &h1, &c["h1"], tol);
            let base = (&h1 * &tensor(&c["r_h"], dt)).sum();
            let loss = match &c1 {
                Some(c1) => {
                    testing::assert_close_json(&format!("{name} c1"), c1, &c["c1"], tol);
                    base + (c1 * &tensor(&c["r_c"], dt)).sum()
                }
                None => base,
            };
            loss.backward();
            testing::assert_close_json(
                &format!("{name} grad_x"),
                &x.grad().unwrap(),
                &c["grad_x"],
                tol,
            );
            testing::assert_close_json(
                &format!("{name} grad_h0"),
                &h0.grad().unwrap(),
                &c["grad_h0"],
                tol,
            );
            if let Some(c0) = &c0 {
                testing::assert_close_json(
                    &format!("{name} grad_c0"),
                    &c0.grad().unwrap(),
                    &c["grad_c0"],
                    tol,
                );
            }
            let grads = c["grads"].as_array().unwrap();
            let ours = module.named_parameters();
            assert_eq!(ours.len(), grads.len(), "{name}: parameter count");
            for ((n, p), g) in ours.iter().zip(grads) {
                assert_eq!(n, g[0].as_str().unwrap());
                testing::assert_close_json(
                    &format!("{name} grad {n}"),
                    &p.grad().unwrap(),
                    &g[1],
                    tol,
                );
            }
        }
    }
}

#[test]
fn wrong_input_size_names_the_layer_and_sizes() {
    let lstm = LSTM::new(3, 4);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lstm.forward(&tandem_core::randn(&[5, 2, 7]))
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("LSTM") && msg.contains("Expected 3, got 7"),
        "{msg}"
    );
}

#[test]
fn unbatched_input_gives_the_batch_of_one_without_its_batch_dimension() {
    // PyTorch accepts [T, F] and returns [T, H] and [layers, H]; the values are those of the
    // same sequence as a batch of one.
    tandem_core::manual_seed(2);
    let x = tandem_core::randn(&[5, 3]);
    let gru = GRU::new(3, 4).num_layers(2);
    let (out, h) = gru.forward_with(&x, None);
    let (out1, h1) = gru.forward_with(&x.unsqueeze(1), None);
    assert_eq!((out.shape(), h.shape()), (&[5, 4][..], &[2, 4][..]));
    assert_eq!(out.to_vec::<f32>(), out1.to_vec::<f32>());
    assert_eq!(h.to_vec::<f32>(), h1.to_vec::<f32>());
    let lstm = LSTM::new(3, 4);
    let (out, (h, c)) = lstm.forward_with(&x, None);
    assert_eq!(
        (out.shape(), h.shape(), c.shape()),
        (&[5, 4][..], &[1, 4][..], &[1, 4][..])
    );
}
