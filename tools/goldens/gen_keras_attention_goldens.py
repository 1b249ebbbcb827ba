#!/usr/bin/env python3
"""Generate Keras 3 (TensorFlow backend, CPU) golden values for tandem-keras's attention layers.

Writes crates/tandem-keras/tests/fixtures/attention_goldens.json. Layers are built with
dtype="float64"; every input, weight and cotangent `r` is a float32 value written exactly
(float32 N(0, 1) draws times powers of two), so a float32 test can load them bit for bit.
For every case loss = sum(out * r) and the gradients come from tf.GradientTape with respect to
the inputs and every weight. Each case is also checked (forward and every gradient, to 1e-12)
against a float64 numpy re-implementation with a hand-written backward pass (`ref_*` below).
Run by hand (see README.md next to this file); TensorFlow/Keras are not project dependencies:
    /tmp/anchors-venv/bin/python tools/goldens/gen_keras_attention_goldens.py
np.random.default_rng(0), one thread: reruns give byte-identical files.

Tensors are `{"data": [row-major], "shape": [...]}`; masks add `"dtype": "bool"` (data
true/false).

Top-level keys:
- "keras_version", "tensorflow_version".
- "mha": keras.layers.MultiHeadAttention(num_heads, key_dim, value_dim, use_bias,
  output_shape=None), called as layer(query, value, key=key, attention_mask=...,
  use_causal_mask=..., return_attention_scores=True, training=False). Fields: "name",
  "config", "weights" ([path, tensor] in layer.weights order, the path without the layer's own
  name), "self_attention", "query", "value", "key", "attention_mask", "use_causal_mask", "out",
  "scores", "r", "grads" ({"query", "value", "key", then every weight path}).
  With E = query's last dim, E_k = key's, E_v = value's, H heads (key absent: key = value):
    query/kernel [E, H, key_dim], query/bias [H, key_dim], key/kernel [E_k, H, key_dim],
    key/bias [H, key_dim], value/kernel [E_v, H, value_dim], value/bias [H, value_dim],
    attention_output/kernel [H, value_dim, E], attention_output/bias [E]
  (use_bias=False drops the four biases; the kernels keep their order). Computation:
    Q[b,t,h,d] = sum_e query[b,t,e] query/kernel[e,h,d] + query/bias[h,d]   (K, V alike)
    Q = Q * (1 / sqrt(key_dim))                    (the query is scaled, before the product)
    scores[b,h,t,s] = sum_d Q[b,t,h,d] K[b,s,h,d]
    allowed = attention_mask[b,t,s] (True = attend) AND causal[t,s] (s <= t, when
              use_causal_mask; the [T, S] lower triangle, top-left aligned)
    P = softmax over s of where(allowed, scores, -1e9), then where(allowed, P, 0)
        (masked scores are REPLACED by -1e9, not added; the zeroing only matters for a fully
        masked row, which would give all zeros; no case has one)
    C[b,t,h,d] = sum_s P[b,h,t,s] V[b,s,h,d]
    out[b,t,o] = sum_{h,d} C[b,t,h,d] attention_output/kernel[h,d,o] + attention_output/bias[o]
  "scores" is P ([B, H, T, S]); it is not in the loss. Self-attention cases are called as
  layer(x, x) (same tensor for query and value, key omitted): the file stores x under "query"
  with "value": null and "self_attention": true, and grads["query"] is the total gradient of x.
  key null means the key was omitted (key = value). Keras masks attached to the inputs
  (`_keras_mask`) would be ANDed in as well ([B, T, 1] query mask, [B, 1, S] value/key masks);
  none is used here.
- "layer_norm": keras.layers.LayerNormalization(axis=-1, epsilon): (x - mean) /
  sqrt(var + epsilon) * gamma + beta with the biased variance; epsilon defaults to 1e-3
  (not PyTorch's 1e-5). Fields "name", "epsilon", "x", "gamma", "beta", "out", "r", "grads"
  ({"x", "gamma", "beta"}). Weights are "gamma" then "beta".
- "global_average_pooling_1d": keras.layers.GlobalAveragePooling1D() on x [B, steps, C]:
  the mean over steps -> [B, C]; with mask= [B, steps] (bool, True = keep) the sum of the kept
  steps divided by their count (masked steps get zero gradient). Fields "name", "x", "mask"
  (null or bool tensor), "out", "r", "grads" ({"x"}).
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
OUT = FIXTURES / "attention_goldens.json"
MAX_BYTES = 300 * 1024
LARGE_NEGATIVE = -1e9  # keras/src/layers/activations/softmax.py, _large_negative_number

# ------------------------------------------------------------------------------------- helpers
def randn(rng, shape, scale=1.0, nonzero=False):
    """float32 N(0, 1) draws times a power-of-two scale (exact), as float64."""
    v = rng.standard_normal(shape, dtype=np.float32).astype(np.float64) * scale
    if nonzero:
        assert (v != 0).all()
    return v

def is_f32(a):
    a = np.asarray(a, dtype=np.float64)
    return np.array_equal(a.astype(np.float32).astype(np.float64), a)

def bool_json(m):
    if m is None:
        return None
    d = tensor_json(np.asarray(m, dtype=bool), "bool")
    d["data"] = [bool(v) for v in d["data"]]
    return d

def opt_json(a):
    return None if a is None else tensor_json(a)

def keep_one_per_row(rng, m):
    """At least one True in every row of the last dim."""
    m = m.copy()
    rows = m.reshape(-1, m.shape[-1])
    for i in range(rows.shape[0]):
        if not rows[i].any():
            rows[i, rng.integers(m.shape[-1])] = True
    return rows.reshape(m.shape)

def tape_grads(fn, inputs, weights, r):
    """fn(*input tensors) -> (out, extra). Gradients of sum(out * r) w.r.t. inputs + weights."""
    xs = [tf.constant(x) for x in inputs]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        out, extra = fn(*xs)
        loss = tf.reduce_sum(out * tf.constant(r))
    gs = tape.gradient(loss, xs + list(weights))
    return [g.numpy() for g in gs]

# ------------------------------------------------------------------------------------- references
def ref_softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

def ref_mha(xq, xk, xv, w, allowed, r):
    """Forward and hand-written backward. w: path -> array (biases may be absent); allowed:
    bool [B, T, S] or None. Returns out, scores, grads {xq, xk, xv, path...}."""
    key_dim = w["query/kernel"].shape[-1]
    c = 1.0 / np.sqrt(float(key_dim))
    bias = lambda p: w.get(p, 0.0)
    Q = np.einsum("bte,ehd->bthd", xq, w["query/kernel"]) + bias("query/bias")
    K = np.einsum("bse,ehd->bshd", xk, w["key/kernel"]) + bias("key/bias")
    V = np.einsum("bse,ehd->bshd", xv, w["value/kernel"]) + bias("value/bias")
    Qs = Q * c
    S = np.einsum("bthd,bshd->bhts", Qs, K)
    m = np.ones(S.shape, dtype=bool) if allowed is None else np.broadcast_to(allowed[:, None], S.shape)
    P0 = ref_softmax(np.where(m, S, LARGE_NEGATIVE))
    P = np.where(m, P0, 0.0)
    C = np.einsum("bhts,bshd->bthd", P, V)
    out = np.einsum("bthd,hdo->bto", C, w["attention_output/kernel"]) + bias("attention_output/bias")
    # backward of sum(out * r)
    g = {"attention_output/kernel": np.einsum("bthd,bto->hdo", C, r), "attention_output/bias": r.sum(axis=(0, 1))}
    dC = np.einsum("bto,hdo->bthd", r, w["attention_output/kernel"])
    dP = np.where(m, np.einsum("bthd,bshd->bhts", dC, V), 0.0)
    dV = np.einsum("bhts,bthd->bshd", P, dC)
    dS = np.where(m, P0 * (dP - (dP * P0).sum(axis=-1, keepdims=True)), 0.0)
    dQ = np.einsum("bhts,bshd->bthd", dS, K) * c
    dK = np.einsum("bhts,bthd->bshd", dS, Qs)
    for name, x, d in (("query", xq, dQ), ("key", xk, dK), ("value", xv, dV)):
        g[f"{name}/kernel"] = np.einsum("bte,bthd->ehd", x, d)
        g[f"{name}/bias"] = d.sum(axis=(0, 1))
        g[f"x_{name}"] = np.einsum("bthd,ehd->bte", d, w[f"{name}/kernel"])
    return out, P, g

def ref_layer_norm(x, gamma, beta, eps, r):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv
    out = xhat * gamma + beta
    gx = r * gamma
    dx = inv * (gx - gx.mean(axis=-1, keepdims=True) - xhat * (gx * xhat).mean(axis=-1, keepdims=True))
    return out, {"x": dx, "gamma": (r * xhat).sum(axis=(0, 1)), "beta": r.sum(axis=(0, 1))}

def ref_gap1d(x, mask, r):
    keep = np.ones(x.shape[:2], dtype=bool) if mask is None else mask
    k = keep[..., None].astype(np.float64)
    count = k.sum(axis=1)
    return (x * k).sum(axis=1) / count, {"x": k * (r / count)[:, None, :]}

# ------------------------------------------------------------------------------------- cases
def mha_case(rng, name, B=2, T=5, E=8, S=None, heads=2, key_dim=4, value_dim=None, use_bias=True,
             self_attention=False, key_features=None, value_features=None, attention_mask=None,
             use_causal_mask=False):
    layer = keras.layers.MultiHeadAttention(heads, key_dim, value_dim=value_dim, use_bias=use_bias,
                                            output_shape=None, name="mha", dtype="float64")
    S = T if S is None else S
    query = randn(rng, (B, T, E))
    value = None if self_attention else randn(rng, (B, S, value_features or E))
    key = None if key_features is None else randn(rng, (B, S, key_features))
    v_shape = query.shape if self_attention else value.shape
    layer.build(query.shape, v_shape, None if key is None else key.shape)
    paths = [wt.path.removeprefix("mha/") for wt in layer.weights]
    want_paths = ["query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel", "value/bias",
                  "attention_output/kernel", "attention_output/bias"]
    assert paths == [p for p in want_paths if use_bias or not p.endswith("bias")], paths
    values = {}
    for p, wt in zip(paths, layer.weights):
        values[p] = randn(rng, tuple(wt.shape), scale=1.0 if p.endswith("bias") else 0.5, nonzero=True)
        wt.assign(values[p])

    def call(*xs):
        q = xs[0]
        v = q if self_attention else xs[1]
        k = xs[2] if key is not None else None
        return layer(q, v, key=k, attention_mask=None if attention_mask is None else tf.constant(attention_mask),
                     use_causal_mask=use_causal_mask, return_attention_scores=True, training=False)

    inputs = [query] + ([] if self_attention else [value]) + ([] if key is None else [key])
    out, scores = (t.numpy() for t in call(*(tf.constant(x) for x in inputs)))
    r = randn(rng, out.shape)
    gs = tape_grads(call, inputs, layer.weights, r)
    in_names = ["query"] + ([] if self_attention else ["value"]) + ([] if key is None else ["key"])
    grads = dict(zip(in_names + paths, gs))
    # reference
    allowed = None if attention_mask is None else attention_mask
    if use_causal_mask:
        causal = np.tril(np.ones((T, S), dtype=bool))[None]
        allowed = causal if allowed is None else (allowed & causal)
    if allowed is not None:
        assert np.broadcast_to(allowed, (B, T, S)).any(axis=-1).all(), f"{name}: a fully masked row"
    xq = query
    xv = query if self_attention else value
    xk = xv if key is None else key
    want, want_scores, wg = ref_mha(xq, xk, xv, values, allowed, r)
    check_close(f"{name}.out", out, want)
    check_close(f"{name}.scores", scores, want_scores)
    want_in = {"query": wg["x_query"], "key": wg["x_key"], "value": wg["x_value"]}
    if key is None:  # key = value: both uses land on value
        want_in["value"] = want_in["value"] + want_in.pop("key")
    if self_attention:  # value = query
        want_in["query"] = want_in["query"] + want_in.pop("value")
    for n in in_names:
        check_close(f"{name}.grad.{n}", grads[n], want_in[n])
    for p in paths:
        check_close(f"{name}.grad.{p}", grads[p], wg[p])
    for a in [query, value, key, r, *values.values()]:
        assert a is None or is_f32(a), name
    config = {"num_heads": heads, "key_dim": key_dim, "value_dim": value_dim or key_dim, "use_bias": use_bias,
              "output_shape": None}
    return {"name": name, "config": config, "weights": [[p, tensor_json(values[p])] for p in paths],
            "self_attention": self_attention, "query": tensor_json(query), "value": opt_json(value),
            "key": opt_json(key), "attention_mask": bool_json(attention_mask), "use_causal_mask": use_causal_mask,
            "out": tensor_json(out), "scores": tensor_json(scores), "r": tensor_json(r),
            "grads": {**{n: opt_json(grads.get(n)) for n in ("query", "value", "key")},
                      **{p: tensor_json(grads[p]) for p in paths}}}

def mha_cases(rng):
    B, T = 2, 5
    mask = keep_one_per_row(rng, rng.random((B, T, T)) < 0.6)
    assert not mask.all()
    mask2 = keep_one_per_row(rng, rng.random((B, T, T)) < 0.7)
    mask2[:, :, 0] = True  # every query keeps key 0, so AND with the causal mask leaves a key
    return [
        mha_case(rng, "mha_self_attention", self_attention=True),
        mha_case(rng, "mha_self_attention_mask", self_attention=True, attention_mask=mask),
        mha_case(rng, "mha_self_causal", self_attention=True, use_causal_mask=True),
        mha_case(rng, "mha_self_causal_and_attention_mask", self_attention=True, attention_mask=mask2,
                 use_causal_mask=True),
        mha_case(rng, "mha_cross_key_given_s6_value_dim3", S=6, value_dim=3, key_features=6, value_features=4),
        mha_case(rng, "mha_cross_no_bias", S=6, use_bias=False),
    ]

def layer_norm_case(rng, name, x, epsilon=None):
    kw = {} if epsilon is None else {"epsilon": epsilon}
    layer = keras.layers.LayerNormalization(axis=-1, dtype="float64", **kw)
    layer.build(x.shape)
    assert [w.path.split("/")[-1] for w in layer.weights] == ["gamma", "beta"]
    gamma = (1 + randn(rng, x.shape[-1:], scale=0.25)).astype(np.float32).astype(np.float64)
    beta = randn(rng, x.shape[-1:], scale=0.5, nonzero=True)
    assert is_f32(gamma)
    layer.weights[0].assign(gamma)
    layer.weights[1].assign(beta)
    out = layer(tf.constant(x)).numpy()
    r = randn(rng, out.shape)
    gs = tape_grads(lambda t: (layer(t), None), [x], layer.weights, r)
    want, wg = ref_layer_norm(x, gamma, beta, layer.epsilon, r)
    check_close(f"{name}.out", out, want)
    for n, g in zip(("x", "gamma", "beta"), gs):
        check_close(f"{name}.grad.{n}", g, wg[n])
    return {"name": name, "epsilon": layer.epsilon, "x": tensor_json(x), "gamma": tensor_json(gamma),
            "beta": tensor_json(beta), "out": tensor_json(out), "r": tensor_json(r),
            "grads": dict(zip(("x", "gamma", "beta"), (tensor_json(g) for g in gs)))}

def layer_norm_cases(rng):
    return [layer_norm_case(rng, "layer_norm_default_eps", randn(rng, (2, 3, 8), scale=2.0)),
            # small spread, so epsilon matters
            layer_norm_case(rng, "layer_norm_eps_1e-5_small_spread", randn(rng, (2, 3, 8), scale=1 / 16),
                            epsilon=1e-5),
            layer_norm_case(rng, "layer_norm_default_eps_small_spread", randn(rng, (2, 3, 8), scale=1 / 16))]

def gap1d_case(rng, name, x, mask=None):
    layer = keras.layers.GlobalAveragePooling1D(dtype="float64")
    kw = {} if mask is None else {"mask": tf.constant(mask)}
    out = layer(tf.constant(x), **kw).numpy()
    r = randn(rng, out.shape)
    (g,) = tape_grads(lambda t: (layer(t, **kw), None), [x], [], r)
    want, wg = ref_gap1d(x, mask, r)
    check_close(f"{name}.out", out, want)
    check_close(f"{name}.grad.x", g, wg["x"])
    return {"name": name, "x": tensor_json(x), "mask": bool_json(mask), "out": tensor_json(out),
            "r": tensor_json(r), "grads": {"x": tensor_json(g)}}

def gap1d_cases(rng):
    mask = np.array([[True, True, False, True, False], [True, True, True, True, True]])
    return [gap1d_case(rng, "gap1d", randn(rng, (2, 5, 3))),
            gap1d_case(rng, "gap1d_mask", randn(rng, (2, 5, 3)), mask)]

# ------------------------------------------------------------------------------------- main
def main():
    rng = np.random.default_rng(0)
    top = {"keras_version": keras.__version__, "tensorflow_version": tf.__version__,
           "mha": mha_cases(rng), "layer_norm": layer_norm_cases(rng), "global_average_pooling_1d": gap1d_cases(rng)}
    for key, val in top.items():
        if isinstance(val, list):
            names = [c["name"] for c in val]
            assert len(set(names)) == len(names), f"duplicate case names in {key}"
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(OUT, top)
    assert OUT.stat().st_size < MAX_BYTES, "attention_goldens.json must stay under 300 KiB"
    json.loads(OUT.read_text())
    for key, val in top.items():
        if isinstance(val, list):
            print(f"{key} ({len(val)}): " + ", ".join(c["name"] for c in val))

if __name__ == "__main__":
    main()
