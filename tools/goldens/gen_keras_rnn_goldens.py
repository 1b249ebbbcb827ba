#!/usr/bin/env python3
"""Generate Keras 3 (TensorFlow backend, CPU) golden values for tandem-keras's recurrent layers.

Writes crates/tandem-keras/tests/fixtures/keras_rnn_goldens.json:
  layers            keras.layers.SimpleRNN / LSTM / GRU (default activations tanh / sigmoid):
                    main output, returned states, and grads of x and of every weight
  gate_order_note   the gate layout and GRU equations, as read from Keras's source
Every gradient is of (out * r_out).sum() for a random upstream gradient r_out of the main output's
shape (the returned states are not in the loss), taken with tf.GradientTape.
Computed in float64 (dtype="float64" on each layer); every input (x, weights, r_out) is a
float32-representable number, so a float32 test can load the inputs exactly. Each case is also
checked against a direct float64 re-implementation of the cell equations (ref_* below, written
from keras/src/layers/rnn/{simple_rnn,lstm,gru}.py), forward and gradients.
Run by hand (see README.md next to this file); TensorFlow/Keras are not project dependencies:
    /tmp/anchors-venv/bin/python tools/goldens/gen_keras_rnn_goldens.py
"""
import json
import os

# Before TensorFlow/Keras are imported: TF backend, CPU only, plain Eigen kernels, quiet logs.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.experimental.enable_op_determinism()

import keras  # noqa: E402

from goldens_io import ROOT, check_close, tensor_json, write_json
FIXTURES = ROOT / "crates" / "tandem-keras" / "tests" / "fixtures"
OUT = FIXTURES / "keras_rnn_goldens.json"
MAX_BYTES = 600 * 1024
B, T, F, UNITS = 2, 4, 3, 3
WEIGHT_NAMES = ["kernel", "recurrent_kernel", "bias"]

GATE_ORDER_NOTE = (
    "Read from Keras 3.15.1, keras/src/layers/rnn/lstm.py and gru.py (implementation=2, the default; "
    "implementation=1 computes the same thing per gate). Gate blocks are consecutive column blocks "
    "of width `units` along the last axis of kernel [F, G*units], recurrent_kernel [units, G*units] "
    "and bias. "
    "LSTM: order (i, f, c, o). `z = ops.matmul(inputs, self.kernel)`; "
    "`z = ops.add(z, ops.matmul(h_tm1, self.recurrent_kernel))`; `z = ops.add(z, self.bias)`; "
    "`z = ops.split(z, 4, axis=1)`; `z0, z1, z2, z3 = z`; `i = self.recurrent_activation(z0)`; "
    "`f = self.recurrent_activation(z1)`; `c = f * c_tm1 + i * self.activation(z2)`; "
    "`o = self.recurrent_activation(z3)`; `h = o * self.activation(c)`; states [h, c]. "
    "(Same order as PyTorch's (i, f, g, o); one bias instead of PyTorch's bias_ih + bias_hh.) "
    "GRU: order (z, r, h) (`x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)`), unlike PyTorch's (r, z, n). "
    "reset_after=True (default): bias shape (2, 3*units); "
    "`input_bias, recurrent_bias = (ops.squeeze(e, axis=0) for e in ops.split(self.bias, self.bias.shape[0], axis=0))`, "
    "i.e. input_bias = bias[0], recurrent_bias = bias[1]; "
    "`matrix_x = ops.matmul(inputs, self.kernel)`; `matrix_x = ops.add(matrix_x, input_bias)`; "
    "`x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)`; "
    "`matrix_inner = ops.matmul(h_tm1, self.recurrent_kernel)`; `matrix_inner += recurrent_bias`; "
    "`recurrent_z = matrix_inner[:, : self.units]`; `recurrent_r = matrix_inner[:, self.units : self.units * 2]`; "
    "`recurrent_h = matrix_inner[:, self.units * 2 :]`; "
    "`z = self.recurrent_activation(x_z + recurrent_z)`; `r = self.recurrent_activation(x_r + recurrent_r)`; "
    "`recurrent_h = r * recurrent_h`; `hh = self.activation(x_h + recurrent_h)`; "
    "`h = z * h_tm1 + (1 - z) * hh`. "
    "So hh = tanh(x@K_h + bias[0][2u:] + r * (h_tm1@R_h + bias[1][2u:])): bias row 0 is the input "
    "bias (b_iz, b_ir, b_ih), row 1 the recurrent bias (b_hz, b_hr, b_hh), and r multiplies the "
    "recurrent bias of the candidate too (this is PyTorch's GRU formula with the gate blocks "
    "reordered: PyTorch (r, z, n) = Keras (r, z, h) blocks 1, 0, 2; h' = (1 - z) * n + z * h in both). "
    "reset_after=False: bias shape (3*units,), used as the input bias only; "
    "`matrix_inner = ops.matmul(h_tm1, self.recurrent_kernel[:, : 2 * self.units])`; "
    "`recurrent_h = ops.matmul(r * h_tm1, self.recurrent_kernel[:, 2 * self.units :])`; "
    "`hh = self.activation(x_h + recurrent_h)`; `h = z * h_tm1 + (1 - z) * hh`. "
    "SimpleRNN (simple_rnn.py): `h = ops.matmul(sequence, self.kernel)`; `h = ops.add(h, self.bias)`; "
    "`output = h + ops.matmul(prev_output, self.recurrent_kernel)`; `output = self.activation(output)`. "
    "Defaults: activation='tanh', recurrent_activation='sigmoid' (the exact logistic, not hard_sigmoid); "
    "initial state zeros; return_sequences=False returns the last step's h."
)

# ------------------------------------------------------------------------------------- helpers
def f32_values(rng, shape, kind):
    """float32 draws (normal, or U(-0.5, 0.5) with rand - 0.5 exact in float32), as float64."""
    if kind == "normal":
        v = rng.standard_normal(shape, dtype=np.float32)
    else:
        v = rng.random(shape, dtype=np.float32) - np.float32(0.5)
    return v.astype(np.float64)

def check_inputs_f32(cases):
    """Every input (and upstream gradient r_out) must be a float32 value, so f32 tests load it exactly."""
    for case in cases:
        fields = [("x", case["x"]), ("r_out", case["r_out"])] + [(f"weights.{n}", t) for n, t in case["weights"]]
        for field, val in fields:
            data = np.array(val["data"], dtype=np.float64)
            assert np.array_equal(data.astype(np.float32).astype(np.float64), data), \
                f"{case['name']}: {field} is not float32"

# ------------------------------------------------------------------------------------- reference
def ref_layer(layer, x, kernel, rkernel, bias, return_sequences, reset_after):
    """The cell equations (see GATE_ORDER_NOTE) in plain float64 TF ops, unrolled over time from
    zero initial states. Returns (main output, [states])."""
    u = rkernel.shape[0]
    h = tf.zeros((x.shape[0], u), tf.float64)
    c = tf.zeros((x.shape[0], u), tf.float64)
    sig = tf.sigmoid
    outs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        if layer == "SimpleRNN":
            h = tf.tanh(xt @ kernel + bias + h @ rkernel)
        elif layer == "LSTM":
            zz = xt @ kernel + h @ rkernel + bias
            i, f, g, o = (zz[:, k * u:(k + 1) * u] for k in range(4))
            c = sig(f) * c + sig(i) * tf.tanh(g)
            h = sig(o) * tf.tanh(c)
        else:  # GRU, blocks (z, r, h)
            blk = lambda m, k: m[..., k * u:(k + 1) * u]
            if reset_after:
                mx = xt @ kernel + bias[0]
                mi = h @ rkernel + bias[1]
                z, r = sig(blk(mx, 0) + blk(mi, 0)), sig(blk(mx, 1) + blk(mi, 1))
                hh = tf.tanh(blk(mx, 2) + r * blk(mi, 2))
            else:
                mx = xt @ kernel + bias
                z = sig(blk(mx, 0) + h @ blk(rkernel, 0))
                r = sig(blk(mx, 1) + h @ blk(rkernel, 1))
                hh = tf.tanh(blk(mx, 2) + (r * h) @ blk(rkernel, 2))
            h = z * h + (1 - z) * hh
        outs.append(h)
    out = tf.stack(outs, axis=1) if return_sequences else h
    return out, ([h, c] if layer == "LSTM" else [h])

# ------------------------------------------------------------------------------------- cases
def layer_case(rng, name, layer, return_sequences, return_state, reset_after=True):
    kw = dict(return_sequences=return_sequences, return_state=return_state, dtype="float64")
    if layer == "GRU":
        kw["reset_after"] = reset_after
    lyr = getattr(keras.layers, layer)(UNITS, **kw)
    lyr.build((B, T, F))
    assert [w.name for w in lyr.weights] == WEIGHT_NAMES, [w.name for w in lyr.weights]
    values = [f32_values(rng, tuple(w.shape), "uniform") for w in lyr.weights]
    lyr.set_weights(values)
    for w, v in zip(lyr.weights, values):
        assert np.array_equal(np.asarray(w.numpy(), dtype=np.float64), v), (name, w.name)
        assert w.dtype == "float64", (name, w.dtype)
    x = tf.constant(f32_values(rng, (B, T, F), "normal"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        res = lyr(x)
        out, states = (res[0], list(res[1:])) if return_state else (res, [])
        r_out = tf.constant(f32_values(rng, tuple(out.shape), "normal"))
        loss = tf.reduce_sum(out * r_out)
    assert out.dtype == tf.float64
    gs = tape.gradient(loss, [x] + list(lyr.trainable_weights))
    assert all(g is not None for g in gs), name

    # reference: same values as fresh tf.Variables
    ref_vars = [tf.Variable(v) for v in values]
    with tf.GradientTape() as tape:
        tape.watch(x)
        w_out, w_states = ref_layer(layer, x, *ref_vars, return_sequences, reset_after)
        w_loss = tf.reduce_sum(w_out * r_out)
    w_gs = tape.gradient(w_loss, [x] + ref_vars)
    check_close(f"{name}.out", out.numpy(), w_out.numpy())
    if return_state:
        assert len(states) == len(w_states), name
        for i, (s, w) in enumerate(zip(states, w_states)):
            check_close(f"{name}.state[{i}]", s.numpy(), w.numpy())
    for i, (g, w) in enumerate(zip(gs, w_gs)):
        check_close(f"{name}.grad[{i}]", g.numpy(), w.numpy())

    case = {"name": name, "layer": layer, "units": UNITS, "return_sequences": return_sequences,
            "return_state": return_state}
    if layer == "GRU":
        case["reset_after"] = reset_after
    case.update({
        "x": tensor_json(x.numpy()),
        "weights": [[n, tensor_json(v)] for n, v in zip(WEIGHT_NAMES, values)],
        "r_out": tensor_json(r_out.numpy()),
        "out": tensor_json(out.numpy()),
        "states": [tensor_json(s.numpy()) for s in states],
        "grad_x": tensor_json(gs[0].numpy()),
        "grads": [[n, tensor_json(g.numpy())] for n, g in zip(WEIGHT_NAMES, gs[1:])],
    })
    return case

def layer_cases(rng):
    cases = []
    for layer, tag in (("SimpleRNN", "simple_rnn"), ("LSTM", "lstm"), ("GRU", "gru")):
        cases.append(layer_case(rng, f"{tag}_seq_state", layer, True, True))
        cases.append(layer_case(rng, f"{tag}_last", layer, False, False))
    cases.append(layer_case(rng, "gru_reset_before_seq_state", "GRU", True, True, reset_after=False))
    return cases

# ------------------------------------------------------------------------------------- main
def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)  # all values come from this generator (float32 draws)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    cases = layer_cases(rng)
    assert len({c["name"] for c in cases}) == len(cases), "duplicate case names"
    check_inputs_f32(cases)
    top = {"keras_version": keras.__version__, "tensorflow_version": tf.__version__,
           "gate_order_note": GATE_ORDER_NOTE, "layers": cases}
    write_json(OUT, top)
    assert OUT.stat().st_size < MAX_BYTES, "keras_rnn_goldens.json must stay under 600 KiB"
    json.loads(OUT.read_text())
    print("layers: " + ", ".join(c["name"] for c in cases))
    print(f"{len(cases)} layers cases")

if __name__ == "__main__":
    main()
