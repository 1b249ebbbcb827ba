#!/usr/bin/env python3
"""Generate PyTorch golden values for tandem-nn's recurrent layers (RNN, LSTM, GRU and their cells).

Writes crates/tandem-nn/tests/fixtures/rnn_goldens.json with three case lists:
  modules   nn.RNN (tanh/relu), nn.LSTM, nn.GRU: forward (out, h_n, c_n) + grads of x, h0, c0 and
            every parameter, over num_layers / bias / batch_first / bidirectional, h0 given or not
  packed    the same modules run on pack_padded_sequence(x, lengths, batch_first=True,
            enforce_sorted=False) with unsorted lengths, padded back with pad_packed_sequence
  cells     nn.RNNCell (tanh/relu), nn.LSTMCell, nn.GRUCell: one step + grads
Every gradient is of (out * r_out).sum() + (h_n * r_h).sum() [+ (c_n * r_c).sum() for LSTM]
(cells: (h1 * r_h).sum() [+ (c1 * r_c).sum()]) for random upstream gradients r_*.
Computed in float64; every input (x, h0, c0, parameters, r_*) is a float32-representable number,
so a float32 test can load the inputs exactly. Each case is also checked against a direct float64
re-implementation of PyTorch's cell equations (ref_* below), forward and gradients.
Run by hand (see README.md next to this file); PyTorch is not a project dependency:
    /tmp/anchors-venv/bin/python tools/goldens/gen_rnn_goldens.py
"""
import json

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from goldens_io import ROOT, check_close, opt_json, tensor_json, write_json
FIXTURES = ROOT / "crates" / "tandem-nn" / "tests" / "fixtures"
OUT = FIXTURES / "rnn_goldens.json"
f32, f64 = torch.float32, torch.float64
MAX_BYTES = 600 * 1024

# ------------------------------------------------------------------------------------- helpers
def named_json(pairs):
    return [[name, tensor_json(t)] for name, t in pairs]

def randn(*shape, scale=1.0):
    """float32 normal draws (times a power-of-two scale, still exact), as float64."""
    return (torch.randn(*shape, dtype=f32) * scale).to(f64)

def uniform(*shape):
    """float32 U(-0.5, 0.5) draws (rand - 0.5 is exact in float32), as float64."""
    return (torch.rand(*shape, dtype=f32) - 0.5).to(f64)

def leaf(t):
    return None if t is None else t.clone().requires_grad_(True)

INPUT_FIELDS = ("x", "h0", "c0", "r_out", "r_h", "r_c")

def check_inputs_f32(key, cases):
    """Every input (and upstream gradient r_*) must be a float32 value, so f32 tests load it exactly."""
    for case in cases:
        fields = [(f, case.get(f)) for f in INPUT_FIELDS] + [(f"params.{n}", t) for n, t in case["params"]]
        for field, val in fields:
            if val is not None:
                data = torch.tensor(val["data"], dtype=f64)
                assert data.to(f32).to(f64).equal(data), f"{key}/{case['name']}: {field} is not float32"

# ------------------------------------------------------------------------------------- references
def gates_count(mode):
    return {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}[mode]

def ref_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of PyTorch's cell equations. Gate blocks (rows of w_ih/w_hh, entries of b_*):
    LSTM (i, f, g, o), GRU (r, z, n). Returns (h', c') (c' None except for LSTM)."""
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if mode in ("RNN_TANH", "RNN_RELU"):
        pre = gi + gh
        return (torch.tanh(pre) if mode == "RNN_TANH" else torch.relu(pre)), None
    if mode == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, dim=-1)
        c1 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c1), c1
    # GRU: the reset gate multiplies the recurrent projection *including* b_hn
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h, None

def ref_rnn(mode, x, h0, c0, params, num_layers, bidirectional, lengths=None):
    """x time-major [T, B, I]; h0/c0 [L*D, B, H] (zeros when None); params a name -> tensor dict.
    With lengths, batch element b only runs steps t < lengths[b] (the reverse direction starts
    at lengths[b] - 1), its outputs are 0 past its length and h_n is its last real state."""
    T, B, _ = x.shape
    D = 2 if bidirectional else 1
    H = params["weight_hh_l0"].shape[1]
    zeros = torch.zeros(num_layers * D, B, H, dtype=f64)
    h0 = zeros if h0 is None else h0
    c0 = zeros if (c0 is None and mode == "LSTM") else c0
    lengths = torch.full((B,), T) if lengths is None else torch.tensor(lengths)
    layer_in, h_n, c_n = x, [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            sfx = f"l{layer}" + ("_reverse" if d == 1 else "")
            p = [params.get(f"{k}_{sfx}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            k = layer * D + d
            h, c = h0[k], (c0[k] if mode == "LSTM" else None)
            out = [None] * T
            for t in (range(T) if d == 0 else reversed(range(T))):
                live = (t < lengths).to(f64).unsqueeze(1)
                h1, c1 = ref_cell(mode, layer_in[t], h, c, *p)
                h = live * h1 + (1 - live) * h
                if c is not None:
                    c = live * c1 + (1 - live) * c
                out[t] = live * h1
            outs.append(torch.stack(out))
            h_n.append(h)
            c_n.append(c)
        layer_in = torch.cat(outs, dim=-1)
    return layer_in, torch.stack(h_n), (torch.stack(c_n) if mode == "LSTM" else None)

# ------------------------------------------------------------------------------------- cases
def make_module(mode, input_size, hidden_size, num_layers, bias, batch_first, bidirectional):
    kw = dict(num_layers=num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
              dropout=0.0)
    if mode.startswith("RNN_"):
        m = nn.RNN(input_size, hidden_size, nonlinearity=mode[4:].lower(), **kw)
    else:
        m = {"LSTM": nn.LSTM, "GRU": nn.GRU}[mode](input_size, hidden_size, **kw)
    m = m.double()
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.copy_(uniform(*p.shape))
    return m

def rnn_case(name, mode, T, B, I, H, num_layers=1, bias=True, batch_first=False, bidirectional=False,
             with_h0=False, lengths=None):
    D = 2 if bidirectional else 1
    lstm = mode == "LSTM"
    m = make_module(mode, I, H, num_layers, bias, batch_first, bidirectional)
    x = randn(*((B, T, I) if batch_first else (T, B, I)))
    # packed cases keep random (non-zero) values past each length: they must not leak anywhere
    assert lengths is None or (batch_first and max(lengths) == T)
    h0 = randn(num_layers * D, B, H, scale=0.5) if with_h0 else None
    c0 = randn(num_layers * D, B, H, scale=0.5) if (with_h0 and lstm) else None
    xl, h0l, c0l = leaf(x), leaf(h0), leaf(c0)
    state = None if h0 is None else ((h0l, c0l) if lstm else h0l)
    if lengths is None:
        out, hs = m(xl, state)
    else:
        packed = pack_padded_sequence(xl, lengths, batch_first=True, enforce_sorted=False)
        out_p, hs = m(packed, state)
        out, _ = pad_packed_sequence(out_p, batch_first=True, total_length=T)
    h_n, c_n = hs if lstm else (hs, None)
    r_out, r_h = randn(*out.shape), randn(*h_n.shape)
    r_c = randn(*c_n.shape) if lstm else None
    loss = (out * r_out).sum() + (h_n * r_h).sum() + ((c_n * r_c).sum() if lstm else 0)
    names = [n for n, _ in m.named_parameters()]
    params = [p for _, p in m.named_parameters()]
    inputs = [t for t in (xl, h0l, c0l) if t is not None]
    gs = torch.autograd.grad(loss, inputs + params)
    g_in = iter(gs[:len(inputs)])
    grad_x = next(g_in)
    grad_h0 = next(g_in) if h0 is not None else None
    grad_c0 = next(g_in) if c0 is not None else None
    grads = gs[len(inputs):]

    # reference: same inputs, direct equations, time-major
    rp = {n: leaf(p.detach()) for n, p in zip(names, params)}
    rx, rh0, rc0 = leaf(x), leaf(h0), leaf(c0)
    rx_tm = rx.transpose(0, 1) if batch_first else rx
    w_out, w_h, w_c = ref_rnn(mode, rx_tm, rh0, rc0, rp, num_layers, bidirectional, lengths)
    if batch_first:
        w_out = w_out.transpose(0, 1)
    w_loss = (w_out * r_out).sum() + (w_h * r_h).sum() + ((w_c * r_c).sum() if lstm else 0)
    r_inputs = [t for t in (rx, rh0, rc0) if t is not None]
    w_gs = torch.autograd.grad(w_loss, r_inputs + [rp[n] for n in names])
    check_close(f"{name}.out", out.detach(), w_out.detach())
    check_close(f"{name}.h_n", h_n.detach(), w_h.detach())
    check_close(f"{name}.c_n", None if c_n is None else c_n.detach(), None if w_c is None else w_c.detach())
    for i, (g, w) in enumerate(zip(gs, w_gs)):
        check_close(f"{name}.grad[{i}]", g, w)
    if lengths is not None:
        for b, n in enumerate(lengths):
            assert out[b, n:].eq(0).all() and grad_x[b, n:].eq(0).all(), name

    case = {"name": name, "mode": mode, "input_size": I, "hidden_size": H, "num_layers": num_layers,
            "bias": bias, "batch_first": batch_first, "bidirectional": bidirectional}
    if lengths is not None:
        case["lengths"] = list(lengths)
    case.update({
        "x": tensor_json(x), "h0": opt_json(h0), "c0": opt_json(c0),
        "params": named_json(zip(names, params)),
        "r_out": tensor_json(r_out), "r_h": tensor_json(r_h), "r_c": opt_json(r_c),
        "out": tensor_json(out), "h_n": tensor_json(h_n), "c_n": opt_json(c_n),
        "grad_x": tensor_json(grad_x), "grad_h0": opt_json(grad_h0), "grad_c0": opt_json(grad_c0),
        "grads": named_json(zip(names, grads)),
    })
    return case

def module_cases():
    cases = []
    for mode in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"):
        tag = mode.lower()
        cases.append(rnn_case(f"{tag}_1layer_uni_seq_first_no_h0", mode, T=4, B=3, I=3, H=4))
        cases.append(rnn_case(f"{tag}_2layer_bidir_batch_first_h0", mode, T=4, B=2, I=3, H=3,
                              num_layers=2, batch_first=True, bidirectional=True, with_h0=True))
    cases += [
        rnn_case("gru_no_bias_1layer_bidir_seq_first_h0", "GRU", T=4, B=2, I=3, H=3,
                 bias=False, bidirectional=True, with_h0=True),
        rnn_case("lstm_no_bias_2layer_uni_batch_first_no_h0", "LSTM", T=4, B=2, I=3, H=3,
                 num_layers=2, bias=False, batch_first=True),
        rnn_case("lstm_2layer_uni_seq_first_h0", "LSTM", T=5, B=2, I=4, H=3, num_layers=2, with_h0=True),
    ]
    return cases

def packed_cases():
    lengths = [3, 5, 2]  # unsorted; 5 == T
    return [
        rnn_case("gru_1layer_uni_packed", "GRU", T=5, B=3, I=3, H=3, batch_first=True, lengths=lengths),
        rnn_case("lstm_1layer_bidir_packed", "LSTM", T=5, B=3, I=3, H=3, batch_first=True,
                 bidirectional=True, lengths=lengths),
        rnn_case("rnn_tanh_2layer_bidir_packed_h0", "RNN_TANH", T=5, B=3, I=3, H=3, num_layers=2,
                 batch_first=True, bidirectional=True, with_h0=True, lengths=lengths),
    ]

CELL_MODE = {"RNNCell_tanh": "RNN_TANH", "RNNCell_relu": "RNN_RELU", "LSTMCell": "LSTM", "GRUCell": "GRU"}

def cell_case(name, mode, B, I, H, bias=True):
    lstm = mode == "LSTMCell"
    if mode.startswith("RNNCell_"):
        m = nn.RNNCell(I, H, bias=bias, nonlinearity=mode[8:])
    else:
        m = {"LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell}[mode](I, H, bias=bias)
    m = m.double()
    with torch.no_grad():
        for _, p in m.named_parameters():
            p.copy_(uniform(*p.shape))
    x, h0 = randn(B, I), randn(B, H, scale=0.5)
    c0 = randn(B, H, scale=0.5) if lstm else None
    xl, h0l, c0l = leaf(x), leaf(h0), leaf(c0)
    if lstm:
        h1, c1 = m(xl, (h0l, c0l))
    else:
        h1, c1 = m(xl, h0l), None
    r_h = randn(*h1.shape)
    r_c = randn(*c1.shape) if lstm else None
    loss = (h1 * r_h).sum() + ((c1 * r_c).sum() if lstm else 0)
    names = [n for n, _ in m.named_parameters()]
    params = [p for _, p in m.named_parameters()]
    inputs = [t for t in (xl, h0l, c0l) if t is not None]
    gs = torch.autograd.grad(loss, inputs + params)

    pd = dict(zip(names, (leaf(p.detach()) for p in params)))
    rx, rh0, rc0 = leaf(x), leaf(h0), leaf(c0)
    w_h, w_c = ref_cell(CELL_MODE[mode], rx, rh0, rc0, pd["weight_ih"], pd["weight_hh"],
                        pd.get("bias_ih"), pd.get("bias_hh"))
    w_loss = (w_h * r_h).sum() + ((w_c * r_c).sum() if lstm else 0)
    w_gs = torch.autograd.grad(w_loss, [t for t in (rx, rh0, rc0) if t is not None] + [pd[n] for n in names])
    check_close(f"{name}.h1", h1.detach(), w_h.detach())
    check_close(f"{name}.c1", None if c1 is None else c1.detach(), None if w_c is None else w_c.detach())
    for i, (g, w) in enumerate(zip(gs, w_gs)):
        check_close(f"{name}.grad[{i}]", g, w)
    return {"name": name, "mode": mode, "input_size": I, "hidden_size": H, "bias": bias,
            "x": tensor_json(x), "h0": tensor_json(h0), "c0": opt_json(c0),
            "params": named_json(zip(names, params)),
            "r_h": tensor_json(r_h), "r_c": opt_json(r_c),
            "h1": tensor_json(h1), "c1": opt_json(c1),
            "grad_x": tensor_json(gs[0]), "grad_h0": tensor_json(gs[1]),
            "grad_c0": opt_json(gs[2] if lstm else None),
            "grads": named_json(zip(names, gs[len(inputs):]))}

def cells_cases():
    return [
        cell_case("rnn_cell_tanh", "RNNCell_tanh", B=3, I=3, H=4),
        cell_case("rnn_cell_relu", "RNNCell_relu", B=3, I=3, H=4),
        cell_case("lstm_cell", "LSTMCell", B=3, I=3, H=4),
        cell_case("gru_cell", "GRUCell", B=3, I=3, H=4),
        cell_case("gru_cell_no_bias", "GRUCell", B=3, I=3, H=4, bias=False),
    ]

# ------------------------------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # reduction order independent of the machine's core count
    FIXTURES.mkdir(parents=True, exist_ok=True)
    top = {"torch_version": torch.__version__}
    for key, gen in [("modules", module_cases), ("packed", packed_cases), ("cells", cells_cases)]:
        cases = gen()
        assert len({c["name"] for c in cases}) == len(cases), f"{key}: duplicate case names"
        check_inputs_f32(key, cases)
        top[key] = cases
    write_json(OUT, top)
    assert OUT.stat().st_size < MAX_BYTES, "rnn_goldens.json must stay under 600 KiB"
    json.loads(OUT.read_text())
    for key in ("modules", "packed", "cells"):
        print(f"{key}: " + ", ".join(c["name"] for c in top[key]))
    print(", ".join(f"{len(v)} {k}" for k, v in top.items() if isinstance(v, list)) + " cases")

if __name__ == "__main__":
    main()
