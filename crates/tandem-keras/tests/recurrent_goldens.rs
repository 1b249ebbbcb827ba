//! Keras 3's SimpleRNN, LSTM and GRU (reset_after=True) against Keras itself: outputs, final
//! states and the gradients of `(out * r_out).sum()` for the input and every weight, from
//! `fixtures/keras_rnn_goldens.json` (tools/goldens/gen_keras_rnn_goldens.py). Float64 inputs
//! check the equations to 1e-10 (weight gradients to 1e-6: the weights are float32
//! variables); float32 runs check to 1e-4. Also: TimeDistributed and a recurrent model's
//! summary.

use serde_json::Value;
use tandem_core::testing;
use tandem_core::{autograd, DType, Tensor};
use tandem_keras::layers::{Dense, Layer, SimpleRNN, TimeDistributed, GRU, LSTM};
use tandem_keras::Sequential;

fn run_case(c: &Value, dt: DType, tol: f64, weight_tol: f64) {
    let name = format!("{} {dt}", c["name"].as_str().unwrap());
    let units = c["units"].as_u64().unwrap() as usize;
    let (seq, state) = (
        c["return_sequences"].as_bool().unwrap(),
        c["return_state"].as_bool().unwrap(),
    );
    let x = testing::tensor_f64(&c["x"])
        .to_dtype(dt)
        .requires_grad_(true);
    let input_shape = &x.shape()[1..];
    macro_rules! go {
        ($l:expr) => {{
            let mut l = $l
                .return_sequences(seq)
                .return_state(state)
                .input_shape(input_shape);
            let want = c["weights"].as_array().unwrap();
            assert_eq!(l.weights().len(), want.len(), "{name}: weight count");
            autograd::no_grad(|| {
                for (w, v) in l.weights().iter().zip(want) {
                    w.copy_(&testing::tensor_f64(&v[1]).to_dtype(DType::Float32));
                }
            });
            let (out, states) = l.call_with_states(&x, None);
            (out, states, l.weights().to_vec())
        }};
    }
    let (out, states, weights) = match c["layer"].as_str().unwrap() {
        "SimpleRNN" => go!(SimpleRNN::new(units)),
        "LSTM" => go!(LSTM::new(units)),
        "GRU" => go!(GRU::new(units)),
        other => panic!("unknown layer {other}"),
    };
    testing::assert_close_json(&format!("{name} out"), &out, &c["out"], tol);
    let want_states = c["states"].as_array().unwrap();
    if state {
        assert_eq!(states.len(), want_states.len(), "{name}: states");
        for (i, (s, w)) in states.iter().zip(want_states).enumerate() {
            testing::assert_close_json(&format!("{name} state {i}"), s, w, tol);
        }
    }
    (&out * &testing::tensor_f64(&c["r_out"]).to_dtype(dt))
        .sum()
        .backward();
    testing::assert_close_json(
        &format!("{name} grad_x"),
        &x.grad().unwrap(),
        &c["grad_x"],
        tol,
    );
    for (w, g) in weights.iter().zip(c["grads"].as_array().unwrap()) {
        let what = format!("{name} grad {}", g[0].as_str().unwrap());
        testing::assert_close_json(&what, &w.grad().unwrap(), &g[1], weight_tol);
    }
}

#[test]
fn simple_rnn_lstm_gru_match_keras() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_rnn_goldens.json"
    );
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut ran = 0;
    for c in all["layers"].as_array().unwrap() {
        // reset_after=False (Keras 2's GRU) is not offered; Keras 3 defaults to True.
        if c["reset_after"] == Value::Bool(false) {
            continue;
        }
        run_case(c, DType::Float64, 1e-10, 1e-6);
        run_case(c, DType::Float32, 1e-4, 1e-4);
        ran += 1;
    }
    assert_eq!(ran, 6);
}

#[test]
fn time_distributed_dense_applies_the_same_dense_at_every_step() {
    let mut td = TimeDistributed::new(Dense::new(2));
    let x = tandem_core::randn(&[3, 4, 5]);
    let y = td.apply(&x, false);
    assert_eq!(y.shape(), &[3, 4, 2]);
    let w = td.trainable_weights();
    // Step t of sample b is Dense(x[b, t]) = x[b, t] · kernel + bias.
    let want = x.matmul(&w[0].t()) + &w[1];
    let (a, b) = (y.to_vec::<f32>(), want.to_vec::<f32>());
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-6));
}

#[test]
fn recurrent_summary_shows_keras_class_names_shapes_and_counts() {
    let m = Sequential::new(vec![
        Box::new(LSTM::new(5).return_sequences(true).input_shape(&[15, 10])),
        Box::new(TimeDistributed::new(Dense::new(10).activation("softmax"))),
    ]);
    let s = m.summary();
    let row = |name: &str| s.lines().find(|l| l.contains(name)).unwrap().to_string();
    // Keras: LSTM params = 4 * (units * (features + units) + units) = 4 * (5 * 15 + 5) = 320.
    assert!(row("lstm (LSTM)").contains("(None, 15, 5)"), "{s}");
    assert!(row("lstm (LSTM)").contains("320"), "{s}");
    assert!(
        row("time_distributed (TimeDistributed)").contains("(None, 15, 10)"),
        "{s}"
    );
    assert!(
        row("time_distributed (TimeDistributed)").contains("60"),
        "{s}"
    );
    let gru = GRU::new(4).input_shape(&[7, 3]);
    // reset_after=True: 3 * (units * (features + units) + 2 * units) = 3 * (28 + 8) = 108.
    let n: usize = gru.weights().iter().map(Tensor::numel).sum();
    assert_eq!(n, 108);
}
