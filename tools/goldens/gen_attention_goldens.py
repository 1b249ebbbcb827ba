#!/usr/bin/env python3
"""Generate PyTorch golden values for tandem-nn's attention building blocks.

Writes crates/tandem-nn/tests/fixtures/attention_goldens.json. Everything is computed in float64;
every input, parameter and cotangent `r` is a float32 value written exactly (float32 N(0, 1)
draws times powers of two, rounded to multiples of 1/32 to keep the file small), so a float32
test can load them bit for bit. For every case
loss = (out * r).sum() and the gradients are torch.autograd.grad(loss, inputs + parameters);
attention weights returned by nn.MultiheadAttention are never part of the loss. Each case is
also checked (forward and every gradient, to 1e-12) against a direct float64 re-implementation
(`ref_*` below, built from elementwise ops, matmul and an explicit max-shifted softmax).
Run by hand (see README.md next to this file); PyTorch is not a project dependency:
    /tmp/anchors-venv/bin/python tools/goldens/gen_attention_goldens.py
torch.manual_seed(0), one CPU thread: reruns give byte-identical files.

Tensors are `{"data": [row-major], "shape": [...]}`; inputs add `"dtype"` ("float64" or
"bool"; booleans are written as true/false) and, for a non-contiguous operand, `"permute"`:
build the contiguous tensor from data/shape, then use `x.permute(perm)`; its gradient has the
permuted shape. JSON has no infinities, so in a float mask an entry equal to -inf is written
as the string "-inf" (every other entry is a number); no other tensor holds a non-finite value.

Top-level keys:
- "torch_version".
- "ops": {"name", "op", "args", "inputs": {name: tensor}, "out", "r", "grads": {name: tensor
  or null}} (null for bool inputs). Ops: erf; gelu (approximate "none": x/2 (1 + erf(x/sqrt 2)),
  "tanh": x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))); triu/tril (keep element (i, j) of the
  last two dims when j - i >= k, resp. j - i <= k, else 0; a leading batch dim is carried along);
  baddbmm (beta * input + alpha * batch1 @ batch2, input broadcast to [B, n, p]); masked_fill
  (x where mask is false, value where true; the mask broadcasts to x's shape, x's shape is
  kept); softmax (along `dim` of a permuted, non-contiguous view).
- "sdpa": torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p=0,
  is_causal, scale): softmax(q @ k^T * scale + M) @ v with scale = 1/sqrt(E) when null
  (E = q.shape[-1]; v's last dim Ev may differ). A bool attn_mask marks the positions that
  TAKE PART (True = attend; False becomes -inf); a float attn_mask is ADDED to the scores. The
  mask broadcasts against [..., L, S]. is_causal=True (no attn_mask then) uses
  torch.ones(L, S).tril(): query i attends to keys j <= i, aligned top-left, also when L != S
  (with L=3, S=6 query 0 sees key 0 only; keys 3..5 are seen by no query). No case has a
  fully masked row (PyTorch gives NaN there).
- "layer_norm": nn.LayerNorm(normalized_shape, eps, elementwise_affine, bias): over the last
  len(normalized_shape) dims, (x - mean) / sqrt(var + eps) with the biased (divide by n)
  variance, then * weight + bias (weight/bias have shape normalized_shape). "params" lists
  [name, tensor] in state-dict order (weight, then bias); grads of absent params are null.
- "mha": nn.MultiheadAttention(embed_dim, num_heads, dropout=0, bias, kdim, vdim,
  batch_first), train mode (the fused fast path is never taken while gradients are recorded).
  State dict (parameter order): in_proj_weight [3E, E] (rows q, k, v) when kdim == vdim ==
  embed_dim, else q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim]; then
  in_proj_bias [3E] (one packed bias in both layouts; chunks q, k, v), out_proj.weight [E, E],
  out_proj.bias [E]; bias=False drops in_proj_bias AND out_proj.bias. Projections are
  x @ W^T + b. Heads split the projected E features into H consecutive blocks of E/H; scores
  are (q_h * sqrt(1/D)) @ k_h^T with D = E/H. Masks are the OPPOSITE of SDPA's bool
  convention: in attn_mask and key_padding_mask True = NOT allowed (becomes -inf); float masks
  are added. attn_mask is [L, S] (shared by every batch and head) or [N*H, L, S] (index
  n*H + h, batch-major). key_padding_mask is [N, S] (True = padding key, ignored by every
  query). Both are turned into float masks and ADDED: mask[n, h] = attn_mask(+ -inf) +
  key_padding_mask[n] broadcast over queries. Shapes: inputs [L, N, E] (seq first) or
  [N, L, E] with batch_first; the output follows the input layout. need_weights=True returns
  the softmax weights, always batch first: [N, L, S] averaged over heads (mean) when
  average_attn_weights, else [N, H, L, S]; need_weights=False returns None (weights null here)
  and routes through SDPA (same values). When query, key and value are the same tensor object
  ("self_attention": true) the file stores only "query" ("key"/"value" null) and its gradient
  is the sum over the three uses (grads "key"/"value" null).
- "encoder_layer": nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0,
  activation, layer_norm_eps, batch_first, norm_first, bias), train mode. With x = src:
  norm_first=False: x = norm1(x + SA(x)); x = norm2(x + FF(x)); norm_first=True:
  x = x + SA(norm1(x)); x = x + FF(norm2(x)). SA(y) = self_attn(y, y, y, attn_mask=src_mask,
  key_padding_mask=src_key_padding_mask, need_weights=False)[0]; FF(y) =
  linear2(act(linear1(y))), act relu or exact (erf) gelu. Masks follow MHA's convention (bool
  True = not allowed). Padded query positions still get ordinary (nonzero) outputs in this
  path. is_causal=True is only a hint that src_mask is the causal mask (without a padding
  mask PyTorch then drops the mask and asks SDPA for is_causal, giving the same values).
  State dict: self_attn.{in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias},
  linear1.weight [F, d], linear1.bias [F], linear2.weight [d, F], linear2.bias [d],
  norm1.weight/bias, norm2.weight/bias.
- "decoder_layer": nn.TransformerDecoderLayer, same options. norm_first=False:
  x = norm1(x + SA(x)); x = norm2(x + CA(x, memory)); x = norm3(x + FF(x)); norm_first=True:
  x = x + SA(norm1(x)); x = x + CA(norm2(x), memory); x = x + FF(norm3(x)). SA uses tgt_mask
  and tgt_key_padding_mask, CA = multihead_attn(x, memory, memory, attn_mask=memory_mask,
  key_padding_mask=memory_key_padding_mask) (memory itself is not normalized). State dict:
  self_attn.*, multihead_attn.* (same names), linear1/2, norm1/2/3.
- "encoder_stack": nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(d),
  enable_nested_tensor=False): layers.0.*, layers.1.* (each an encoder layer's names), then
  norm.weight, norm.bias; the layers run in order with the same masks, then the final norm.
The "config" / "args" objects use PyTorch's argument names. eps and scale values are the
float64 numbers PyTorch used (1e-5 and 0.3 are not float32 values).
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from goldens_io import ROOT, check_close, tensor_json, write_json
FIXTURES = ROOT / "crates" / "tandem-nn" / "tests" / "fixtures"
OUT = FIXTURES / "attention_goldens.json"
f32, f64 = torch.float32, torch.float64
MAX_BYTES = 400 * 1024
NEG_INF = float("-inf")

# ------------------------------------------------------------------------------------- helpers
GRID = 32

def randn(*shape, scale=1.0, nonzero=False):
    """float32 N(0, 1) draws times a power-of-two scale, rounded to multiples of 1/GRID, as
    float64: exact in float32 and short in JSON (with full float32 mantissas the file would
    not fit its size cap). nonzero: a draw that rounds to 0 becomes 1/GRID."""
    v = torch.round(torch.randn(*shape, dtype=f32) * (scale * GRID)).to(f64)
    if nonzero:
        v = torch.where(v == 0, torch.ones_like(v), v)
    return v / GRID + 0.0  # + 0.0 turns -0.0 into 0.0

def rand_bool(*shape, p_true=0.5):
    return torch.rand(*shape, dtype=f32) < p_true

def is_f32(t):
    t = t.detach()
    fin = t[torch.isfinite(t)]
    return fin.to(f32).to(f64).equal(fin)

def leaf(t):
    return None if t is None else t.detach().clone().requires_grad_(True)

def in_json(t, perm=None):
    """An input: float64 or bool, with the permutation to apply when it is a view."""
    d = tensor_json(t, "bool" if t.dtype == torch.bool else "float64")
    if t.dtype == torch.bool:
        d["data"] = [bool(v) for v in d["data"]]
    if perm is not None:
        d["permute"] = list(perm)
    return d

def mask_json(m):
    """A bool or float mask; -inf in a float mask is written as the string "-inf"."""
    if m is None:
        return None
    d = in_json(m)
    if m.dtype != torch.bool:
        assert not torch.isnan(m).any() and not (m == float("inf")).any()
        d["data"] = ["-inf" if v == NEG_INF else v for v in d["data"]]
    return d

def grads_json(names, gs):
    return {n: (None if g is None else tensor_json(g)) for n, g in zip(names, gs)}

def named_json(pairs):
    return [[name, tensor_json(t)] for name, t in pairs]

def check_grads(name, names, got, want):
    for n, g, w in zip(names, got, want):
        check_close(f"{name}.grad.{n}", g, w)

def redraw(module):
    """Overwrite every parameter with float32-exact values (see randn): LayerNorm weights
    1 + N(0, 1)/4, other weights N(0, 1) / 2 (/ 4 when fan-in >= 16), biases N(0, 1) / 2;
    none is zero."""
    with torch.no_grad():
        for pname, p in module.named_parameters():
            if is_norm_param(pname) and pname.endswith("weight"):
                p.copy_(1 + randn(*p.shape, scale=0.25))
            elif pname.endswith("bias"):
                p.copy_(randn(*p.shape, scale=0.5, nonzero=True))
            else:
                p.copy_(randn(*p.shape, scale=0.5 if p.shape[-1] < 16 else 0.25, nonzero=True))
            assert is_f32(p) and (p != 0).all(), pname

def is_norm_param(pname):
    """norm1.weight, layers.0.norm2.bias, norm.weight, ... (a LayerNorm's parameter)."""
    parts = pname.split(".")
    return len(parts) >= 2 and parts[-2].startswith("norm")

# ------------------------------------------------------------------------------------- references
class RefErf(torch.autograd.Function):
    """erf from math.erf element by element; derivative 2/sqrt(pi) exp(-x^2)."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        flat = [math.erf(v) for v in x.detach().reshape(-1).tolist()]
        return torch.tensor(flat, dtype=f64).reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * torch.exp(-x * x)

def ref_gelu(x, approximate):
    if approximate == "none":
        return 0.5 * x * (1 + RefErf.apply(x / math.sqrt(2.0)))
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

def ref_tri(x, k, upper):
    n, m = x.shape[-2:]
    i = torch.arange(n).view(n, 1)
    j = torch.arange(m).view(1, m)
    keep = (j - i >= k) if upper else (j - i <= k)
    return x * keep.to(f64)

def ref_softmax(s, dim):
    """exp(s - max) / sum, max taken over the finite entries; -inf entries give exactly 0."""
    m = s.detach().amax(dim=dim, keepdim=True)
    e = torch.exp(s - m)
    return e / e.sum(dim=dim, keepdim=True)

def add_mask(s, mask):
    """Scores plus a mask: bool True -> -inf (MHA convention, pass ~mask for SDPA's), float added."""
    if mask is None:
        return s
    if mask.dtype == torch.bool:
        return s.masked_fill(mask, NEG_INF)
    return s + mask

def ref_sdpa(q, k, v, attn_mask, is_causal, scale):
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    sc = 1 / math.sqrt(E) if scale is None else scale
    s = torch.matmul(q, k.transpose(-2, -1)) * sc
    if is_causal:
        s = add_mask(s, ~torch.ones(L, S, dtype=torch.bool).tril())
    if attn_mask is not None:
        s = add_mask(s, ~attn_mask if attn_mask.dtype == torch.bool else attn_mask)
    return torch.matmul(ref_softmax(s, -1), v)

def ref_layer_norm(x, nshape, eps, weight, bias):
    dims = tuple(range(-len(nshape), 0))
    mu = x.mean(dim=dims, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mu) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y

def ref_linear(x, w, b):
    y = torch.matmul(x, w.transpose(0, 1))
    return y if b is None else y + b

def ref_mha(query, key, value, p, num_heads, batch_first, key_padding_mask, attn_mask, average=True):
    """p: state-dict name -> tensor. Returns (out in the input layout, weights [N, H, L, S] or
    averaged [N, L, S])."""
    if not batch_first:
        query, key, value = (t.transpose(0, 1) for t in (query, key, value))
    N, L, E = query.shape
    S = key.shape[1]
    H, D = num_heads, E // num_heads
    if "in_proj_weight" in p:
        wq, wk, wv = p["in_proj_weight"][:E], p["in_proj_weight"][E:2 * E], p["in_proj_weight"][2 * E:]
    else:
        wq, wk, wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    b = p.get("in_proj_bias")
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    heads = lambda t, n: t.reshape(N, n, H, D).transpose(1, 2)  # [N, H, n, D]
    q = heads(ref_linear(query, wq, bq), L)
    k = heads(ref_linear(key, wk, bk), S)
    v = heads(ref_linear(value, wv, bv), S)
    s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(D)
    if attn_mask is not None:
        s = add_mask(s, attn_mask if attn_mask.dim() == 2 else attn_mask.reshape(N, H, L, S))
    if key_padding_mask is not None:
        s = add_mask(s, key_padding_mask.reshape(N, 1, 1, S))
    w = ref_softmax(s, -1)
    o = torch.matmul(w, v).transpose(1, 2).reshape(N, L, E)
    out = ref_linear(o, p["out_proj.weight"], p.get("out_proj.bias"))
    if not batch_first:
        out = out.transpose(0, 1)
    return out, (w.mean(dim=1) if average else w)

def sub(p, prefix):
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}

def ref_ff(x, p, activation):
    h = ref_linear(x, p["linear1.weight"], p["linear1.bias"])
    assert (h != 0).all(), "a hidden unit sits on relu's kink"
    h = torch.clamp_min(h, 0) if activation == "relu" else ref_gelu(h, "none")
    return ref_linear(h, p["linear2.weight"], p["linear2.bias"])

def ref_encoder_layer(x, p, cfg, src_mask, kpm):
    ln = lambda y, n: ref_layer_norm(y, [cfg["d_model"]], cfg["layer_norm_eps"], p[f"{n}.weight"], p[f"{n}.bias"])
    sa = lambda y: ref_mha(y, y, y, sub(p, "self_attn."), cfg["nhead"], cfg["batch_first"], kpm, src_mask)[0]
    ff = lambda y: ref_ff(y, p, cfg["activation"])
    if cfg["norm_first"]:
        x = x + sa(ln(x, "norm1"))
        return x + ff(ln(x, "norm2"))
    x = ln(x + sa(x), "norm1")
    return ln(x + ff(x), "norm2")

def ref_decoder_layer(x, mem, p, cfg, tgt_mask, memory_mask, tgt_kpm, mem_kpm):
    ln = lambda y, n: ref_layer_norm(y, [cfg["d_model"]], cfg["layer_norm_eps"], p[f"{n}.weight"], p[f"{n}.bias"])
    sa = lambda y: ref_mha(y, y, y, sub(p, "self_attn."), cfg["nhead"], cfg["batch_first"], tgt_kpm, tgt_mask)[0]
    ca = lambda y: ref_mha(y, mem, mem, sub(p, "multihead_attn."), cfg["nhead"], cfg["batch_first"],
                           mem_kpm, memory_mask)[0]
    ff = lambda y: ref_ff(y, p, cfg["activation"])
    if cfg["norm_first"]:
        x = x + sa(ln(x, "norm1"))
        x = x + ca(ln(x, "norm2"))
        return x + ff(ln(x, "norm3"))
    x = ln(x + sa(x), "norm1")
    x = ln(x + ca(x), "norm2")
    return ln(x + ff(x), "norm3")

# ------------------------------------------------------------------------------------- ops
def op_case(name, op, args, inputs, fn, ref):
    """inputs: name -> (contiguous tensor, permutation or None). fn/ref take the used tensors
    (permuted views) as keyword arguments."""
    names = list(inputs)
    used, used_ref = {}, {}
    for n, (t, perm) in inputs.items():
        assert t.dtype == torch.bool or is_f32(t), f"{name}.{n} is not float32"
        for d in (used, used_ref):
            u = t if t.dtype == torch.bool else leaf(t)
            d[n] = u if perm is None else u.permute(perm)
            if perm is not None and u.requires_grad:
                d[n] = d[n].detach().requires_grad_(True)  # a non-contiguous leaf
    out = fn(**used)
    r = randn(*out.shape)
    diff = [n for n in names if used[n].dtype != torch.bool]
    gs = torch.autograd.grad((out * r).sum(), [used[n] for n in diff])
    want = ref(**used_ref)
    want_gs = torch.autograd.grad((want * r).sum(), [used_ref[n] for n in diff])
    check_close(f"{name}.out", out.detach(), want.detach())
    check_grads(name, diff, gs, want_gs)
    g = dict(zip(diff, gs))
    for n in diff:
        assert g[n].shape == used[n].shape
    return {"name": name, "op": op, "args": args,
            "inputs": {n: in_json(t, perm) for n, (t, perm) in inputs.items()},
            "out": tensor_json(out), "r": tensor_json(r),
            "grads": {n: (tensor_json(g[n]) if n in g else None) for n in names}}

def erf_gelu_cases():
    x = torch.tensor([-4.0, -2.0078125, -2.0, -1.9921875, -1.0, -0.5078125, -0.5, 0.0,
                      0.4921875, 0.5, 1.0, 1.9921875, 2.0, 2.0078125, 4.0], dtype=f64).reshape(3, 5)
    cases = [op_case("erf", "erf", {}, {"x": (x, None)}, lambda x: torch.erf(x), lambda x: RefErf.apply(x))]
    for approx in ("none", "tanh"):
        xg = torch.cat([randn(2, 5, scale=2.0), torch.tensor([[-3.0, -0.5, 0.0, 0.5, 3.0]], dtype=f64)])
        cases.append(op_case(f"gelu_{approx}", "gelu", {"approximate": approx}, {"x": (xg, None)},
                             lambda x, a=approx: F.gelu(x, approximate=a),
                             lambda x, a=approx: ref_gelu(x, a)))
    return cases

def tri_cases():
    cases = []
    for shape in ((4, 5), (2, 3, 4)):
        for op in ("triu", "tril"):
            for k in (-1, 0, 2):
                tag = "x".join(map(str, shape))
                cases.append(op_case(f"{op}_{tag}_diag{k}", op, {"diagonal": k}, {"x": (randn(*shape), None)},
                                     lambda x, op=op, k=k: getattr(torch, op)(x, diagonal=k),
                                     lambda x, op=op, k=k: ref_tri(x, k, op == "triu")))
    return cases

def baddbmm_cases():
    def bmm(name, inp_shape, beta, alpha, transposed=False):
        b1 = randn(2, 4, 3) if transposed else randn(2, 3, 4)
        inputs = {"input": (randn(*inp_shape), None), "batch1": (b1, [0, 2, 1] if transposed else None),
                  "batch2": (randn(2, 4, 5), None)}
        return op_case(name, "baddbmm", {"beta": beta, "alpha": alpha}, inputs,
                       lambda input, batch1, batch2: torch.baddbmm(input, batch1, batch2, beta=beta, alpha=alpha),
                       lambda input, batch1, batch2: beta * input + alpha * torch.einsum("bij,bjk->bik", batch1, batch2))
    return [bmm("baddbmm_beta1_alpha1", (2, 3, 5), 1.0, 1.0),
            bmm("baddbmm_beta0.5_alpha2", (2, 3, 5), 0.5, 2.0),
            bmm("baddbmm_broadcast_input_5", (5,), 0.5, 2.0),
            bmm("baddbmm_batch1_transposed_view", (2, 3, 5), 1.0, 1.0, transposed=True)]

def masked_fill_cases():
    cases = []
    for mshape in ((4,), (3, 1), (2, 1, 4)):
        m = rand_bool(*mshape)
        m.view(-1)[0], m.view(-1)[-1] = True, False  # both values present
        tag = "x".join(map(str, mshape))
        cases.append(op_case(f"masked_fill_mask_{tag}", "masked_fill", {"value": -1.5},
                             {"x": (randn(2, 3, 4), None), "mask": (m, None)},
                             lambda x, mask: x.masked_fill(mask, -1.5),
                             lambda x, mask: torch.where(mask, torch.full_like(x, -1.5), x)))
    return cases

def softmax_cases():
    cases = []
    for d in (0, 1, -1):
        x = randn(3, 4, 5, scale=2.0)
        cases.append(op_case(f"softmax_permuted_dim{d}", "softmax", {"dim": d}, {"x": (x, [2, 0, 1])},
                             lambda x, d=d: torch.softmax(x, dim=d), lambda x, d=d: ref_softmax(x, d)))
    return cases

# ------------------------------------------------------------------------------------- sdpa
def sdpa_case(name, q, k, v, attn_mask=None, is_causal=False, scale=None):
    for t in (q, k, v):
        assert is_f32(t)
    if attn_mask is not None:
        full = torch.broadcast_to(attn_mask, q.shape[:-2] + (q.shape[-2], k.shape[-2]))
        ok = full.any(-1) if full.dtype == torch.bool else torch.isfinite(full).any(-1)
        assert ok.all(), f"{name}: a fully masked row"
        assert is_f32(attn_mask) if attn_mask.dtype != torch.bool else True
    ql, kl, vl = leaf(q), leaf(k), leaf(v)
    out = F.scaled_dot_product_attention(ql, kl, vl, attn_mask=attn_mask, dropout_p=0.0,
                                         is_causal=is_causal, scale=scale)
    r = randn(*out.shape)
    gs = torch.autograd.grad((out * r).sum(), [ql, kl, vl])
    rq, rk, rv = leaf(q), leaf(k), leaf(v)
    want = ref_sdpa(rq, rk, rv, attn_mask, is_causal, scale)
    want_gs = torch.autograd.grad((want * r).sum(), [rq, rk, rv])
    check_close(f"{name}.out", out.detach(), want.detach())
    check_grads(name, "qkv", gs, want_gs)
    assert torch.isfinite(out).all()
    return {"name": name, "q": tensor_json(q), "k": tensor_json(k), "v": tensor_json(v),
            "attn_mask": mask_json(attn_mask), "is_causal": is_causal, "scale": scale,
            "out": tensor_json(out), "r": tensor_json(r), "grads": grads_json("qkv", gs)}

def keep_one_per_row(m):
    """A bool mask (True = attend) with at least one True in every row of the last dim."""
    m = m.clone()
    rows = m.reshape(-1, m.shape[-1])
    for i in range(rows.shape[0]):
        if not rows[i].any():
            rows[i, int(torch.randint(0, m.shape[-1], (1,)))] = True
    return rows.reshape(m.shape)

def sdpa_cases():
    B, H = 2, 2
    cases = [sdpa_case("sdpa_4d_no_mask", randn(B, H, 5, 4), randn(B, H, 5, 4), randn(B, H, 5, 4))]
    cases.append(sdpa_case("sdpa_causal_6x6", randn(B, H, 6, 4), randn(B, H, 6, 4), randn(B, H, 6, 4),
                           is_causal=True))
    cases.append(sdpa_case("sdpa_causal_l3_s6_top_left", randn(B, H, 3, 4), randn(B, H, 6, 4),
                           randn(B, H, 6, 4), is_causal=True))
    m = keep_one_per_row(rand_bool(5, 7, p_true=0.6))
    assert not m.all()
    cases.append(sdpa_case("sdpa_bool_mask_5x7", randn(B, H, 5, 4), randn(B, H, 7, 4), randn(B, H, 7, 4),
                           attn_mask=m))
    m = keep_one_per_row(rand_bool(B, 1, 5, 7, p_true=0.5))
    cases.append(sdpa_case("sdpa_bool_mask_2x1x5x7", randn(B, H, 5, 4), randn(B, H, 7, 4),
                           randn(B, H, 7, 4), attn_mask=m))
    fm = randn(B, H, 5, 7, scale=0.5)
    fm = fm.masked_fill(~keep_one_per_row(rand_bool(B, H, 5, 7, p_true=0.7)), NEG_INF)
    assert (fm == NEG_INF).sum() >= 5 and torch.isfinite(fm).sum() >= 30
    cases.append(sdpa_case("sdpa_float_mask_2x2x5x7", randn(B, H, 5, 4), randn(B, H, 7, 4),
                           randn(B, H, 7, 4), attn_mask=fm))
    cases.append(sdpa_case("sdpa_scale_0.3", randn(B, H, 4, 4), randn(B, H, 4, 4), randn(B, H, 4, 4),
                           scale=0.3))
    cases.append(sdpa_case("sdpa_3d_e4_ev6", randn(3, 5, 4), randn(3, 4, 4), randn(3, 4, 6)))
    cases.append(sdpa_case("sdpa_large_values", randn(B, H, 4, 4, scale=4.0), randn(B, H, 4, 4, scale=4.0),
                           randn(B, H, 4, 4)))
    return cases

# ------------------------------------------------------------------------------------- layer norm
def layer_norm_case(name, x, nshape, eps=1e-5, affine=True, bias=True):
    m = nn.LayerNorm(nshape, eps=eps, elementwise_affine=affine, bias=bias, dtype=f64)
    with torch.no_grad():
        for pname, p in m.named_parameters():
            p.copy_(1 + randn(*p.shape, scale=0.25) if pname == "weight"
                    else randn(*p.shape, scale=0.5, nonzero=True))
    names = [n for n, _ in m.named_parameters()]
    params = [p for _, p in m.named_parameters()]
    xl = leaf(x)
    out = m(xl)
    r = randn(*out.shape)
    gs = torch.autograd.grad((out * r).sum(), [xl] + params)
    rx, rp = leaf(x), {n: leaf(p) for n, p in zip(names, params)}
    want = ref_layer_norm(rx, nshape, eps, rp.get("weight"), rp.get("bias"))
    want_gs = torch.autograd.grad((want * r).sum(), [rx] + list(rp.values()))
    check_close(f"{name}.out", out.detach(), want.detach())
    check_grads(name, ["x"] + names, gs, want_gs)
    assert is_f32(x) and all(is_f32(p) for p in params)
    g = dict(zip(["x"] + names, gs))
    return {"name": name, "normalized_shape": list(nshape), "eps": eps, "elementwise_affine": affine,
            "bias": bias, "x": tensor_json(x), "params": named_json(zip(names, params)),
            "out": tensor_json(out), "r": tensor_json(r),
            "grads": {n: (tensor_json(g[n]) if n in g else None) for n in ("x", "weight", "bias")}}

def layer_norm_cases():
    return [layer_norm_case("layer_norm_last_dim_8", randn(2, 3, 8, scale=2.0), [8]),
            layer_norm_case("layer_norm_last_two_dims_3x8", randn(2, 3, 8), [3, 8]),
            layer_norm_case("layer_norm_no_affine", randn(2, 3, 8), [8], affine=False),
            layer_norm_case("layer_norm_no_bias", randn(2, 3, 8), [8], bias=False),
            # small spread, so eps matters
            layer_norm_case("layer_norm_eps_1e-3", randn(2, 3, 8, scale=1 / 16), [8], eps=1e-3)]

# ------------------------------------------------------------------------------------- mha
def module_grads(name, module, inputs, run, ref):
    """inputs: name -> tensor or None (None: not stored / the same object as another).
    run(module, leaves) -> (out, extra); ref(leaves, params) -> (out, extra).
    Returns out, extra, r, grads dict (inputs then params in state-dict order)."""
    pnames = [n for n, _ in module.named_parameters()]
    params = [p for _, p in module.named_parameters()]
    in_names = [n for n, t in inputs.items() if t is not None]
    leaves = {n: leaf(inputs[n]) for n in in_names}
    out, extra = run(module, leaves)
    r = randn(*out.shape)
    gs = torch.autograd.grad((out * r).sum(), [leaves[n] for n in in_names] + params)
    rl = {n: leaf(inputs[n]) for n in in_names}
    rp = {n: leaf(p) for n, p in zip(pnames, params)}
    want, want_extra = ref(rl, rp)
    want_gs = torch.autograd.grad((want * r).sum(), [rl[n] for n in in_names] + list(rp.values()))
    check_close(f"{name}.out", out.detach(), want.detach())
    check_close(f"{name}.extra", None if extra is None else extra.detach(),
                None if extra is None else want_extra.detach())
    check_grads(name, in_names + pnames, gs, want_gs)
    for n in in_names:
        assert is_f32(inputs[n]), f"{name}.{n}"
    assert torch.isfinite(out).all()
    g = dict(zip(in_names + pnames, gs))
    grads = {n: (tensor_json(g[n]) if n in g else None) for n in inputs}
    grads.update({n: tensor_json(g[n]) for n in pnames})
    return out, extra, r, grads

def mha_case(name, E=8, H=2, L=5, S=None, N=2, bias=True, batch_first=False, kdim=None, vdim=None,
             self_attention=False, key_padding_mask=None, attn_mask=None, need_weights=True, average=True):
    S = L if S is None else S
    m = nn.MultiheadAttention(E, H, dropout=0.0, bias=bias, kdim=kdim, vdim=vdim, batch_first=batch_first,
                              dtype=f64)
    m.train()
    redraw(m)
    shape = lambda n, e: (N, n, e) if batch_first else (n, N, e)
    query = randn(*shape(L, E))
    key = None if self_attention else randn(*shape(S, kdim or E))
    value = None if self_attention else randn(*shape(S, vdim or E))
    for msk in (key_padding_mask, attn_mask):
        if msk is not None and msk.dtype != torch.bool:
            assert is_f32(msk)

    def run(mod, lv):
        q = lv["query"]
        k, v = (q, q) if self_attention else (lv["key"], lv["value"])
        return mod(q, k, v, key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
                   average_attn_weights=average)

    def ref(lv, p):
        q = lv["query"]
        k, v = (q, q) if self_attention else (lv["key"], lv["value"])
        out, w = ref_mha(q, k, v, p, H, batch_first, key_padding_mask, attn_mask, average)
        return out, (w if need_weights else None)

    out, weights, r, grads = module_grads(name, m, {"query": query, "key": key, "value": value}, run, ref)
    config = {"embed_dim": E, "num_heads": H, "bias": bias, "batch_first": batch_first, "kdim": kdim or E,
              "vdim": vdim or E, "add_zero_attn": False, "add_bias_kv": False}
    return {"name": name, "config": config, "state_dict": named_json(m.named_parameters()),
            "self_attention": self_attention, "query": tensor_json(query),
            "key": None if key is None else tensor_json(key), "value": None if value is None else tensor_json(value),
            "key_padding_mask": mask_json(key_padding_mask), "attn_mask": mask_json(attn_mask),
            "need_weights": need_weights, "average_attn_weights": average, "out": tensor_json(out),
            "weights": None if weights is None else tensor_json(weights), "r": tensor_json(r), "grads": grads}

def padding_mask(N, S, pad_last):
    """[N, S] bool, True = padding: batch row n pads its last pad_last[n] keys."""
    m = torch.zeros(N, S, dtype=torch.bool)
    for n, k in enumerate(pad_last):
        if k:
            m[n, S - k:] = True
    assert (~m).any(-1).all()
    return m

def causal_not_allowed(L, S=None):
    """MHA convention: True above the diagonal (key j > query i is not allowed)."""
    return torch.ones(L, L if S is None else S, dtype=torch.bool).triu(1)

def mha_cases():
    N, H, L = 2, 2, 5
    cases = [mha_case("mha_self_seq_first_key_padding", self_attention=True,
                      key_padding_mask=padding_mask(N, L, [0, 2]), need_weights=True, average=True),
             # causal bool mask and a padding mask together (merged by adding their -inf masks)
             mha_case("mha_self_batch_first_causal_and_key_padding_per_head_weights", batch_first=True,
                      self_attention=True, attn_mask=causal_not_allowed(L), key_padding_mask=padding_mask(N, L, [1, 0]),
                      need_weights=True, average=False),
             mha_case("mha_cross_kdim6_vdim3", L=4, S=7, batch_first=True, kdim=6, vdim=3, need_weights=False),
             mha_case("mha_no_bias_e4", E=4, L=4, S=5, bias=False, need_weights=True, average=True)]
    fm = randn(N * H, 4, 6, scale=0.5)
    fm = fm.masked_fill(~keep_one_per_row(rand_bool(N * H, 4, 6, p_true=0.7)), NEG_INF)
    assert (fm == NEG_INF).any()
    cases.append(mha_case("mha_float_mask_3d_e4", E=4, L=4, S=6, batch_first=True, attn_mask=fm, need_weights=False))
    return cases

# ------------------------------------------------------------------------------------- transformer layers
D_MODEL, NHEAD, DIM_FF = 8, 2, 16

def layer_config(activation, norm_first, batch_first, eps=1e-5):
    return {"d_model": D_MODEL, "nhead": NHEAD, "dim_feedforward": DIM_FF, "activation": activation,
            "norm_first": norm_first, "batch_first": batch_first, "layer_norm_eps": eps, "bias": True}

def make_encoder_layer(cfg):
    m = nn.TransformerEncoderLayer(cfg["d_model"], cfg["nhead"], cfg["dim_feedforward"], dropout=0.0,
                                   activation=cfg["activation"], layer_norm_eps=cfg["layer_norm_eps"],
                                   batch_first=cfg["batch_first"], norm_first=cfg["norm_first"],
                                   bias=cfg["bias"], dtype=f64)
    return m

def encoder_case(name, cfg, L=5, N=2, src_mask=None, kpm=None, is_causal=False):
    m = make_encoder_layer(cfg)
    m.train()
    redraw(m)
    src = randn(*((N, L, D_MODEL) if cfg["batch_first"] else (L, N, D_MODEL)))
    run = lambda mod, lv: (mod(lv["src"], src_mask=src_mask, src_key_padding_mask=kpm, is_causal=is_causal), None)
    ref = lambda lv, p: (ref_encoder_layer(lv["src"], p, cfg, src_mask, kpm), None)
    out, _, r, grads = module_grads(name, m, {"src": src}, run, ref)
    return {"name": name, "config": cfg, "state_dict": named_json(m.named_parameters()), "src": tensor_json(src),
            "src_mask": mask_json(src_mask), "src_key_padding_mask": mask_json(kpm), "is_causal": is_causal,
            "out": tensor_json(out), "r": tensor_json(r), "grads": grads}

def encoder_cases():
    L, N = 5, 2
    return [encoder_case("encoder_post_norm_relu_batch_first", layer_config("relu", False, True)),
            encoder_case("encoder_pre_norm_gelu_causal", layer_config("gelu", True, True),
                         src_mask=causal_not_allowed(L), is_causal=True),
            encoder_case("encoder_post_norm_key_padding_seq_first", layer_config("relu", False, False),
                         kpm=padding_mask(N, L, [2, 0]))]

def decoder_case(name, cfg, T=4, S=6, N=2, tgt_mask=None, memory_mask=None, tgt_kpm=None, mem_kpm=None,
                 tgt_is_causal=False):
    m = nn.TransformerDecoderLayer(cfg["d_model"], cfg["nhead"], cfg["dim_feedforward"], dropout=0.0,
                                   activation=cfg["activation"], layer_norm_eps=cfg["layer_norm_eps"],
                                   batch_first=cfg["batch_first"], norm_first=cfg["norm_first"],
                                   bias=cfg["bias"], dtype=f64)
    m.train()
    redraw(m)
    shape = lambda n: (N, n, D_MODEL) if cfg["batch_first"] else (n, N, D_MODEL)
    tgt, memory = randn(*shape(T)), randn(*shape(S))

    def run(mod, lv):
        return mod(lv["tgt"], lv["memory"], tgt_mask=tgt_mask, memory_mask=memory_mask,
                   tgt_key_padding_mask=tgt_kpm, memory_key_padding_mask=mem_kpm, tgt_is_causal=tgt_is_causal), None

    ref = lambda lv, p: (ref_decoder_layer(lv["tgt"], lv["memory"], p, cfg, tgt_mask, memory_mask, tgt_kpm,
                                           mem_kpm), None)
    out, _, r, grads = module_grads(name, m, {"tgt": tgt, "memory": memory}, run, ref)
    return {"name": name, "config": cfg, "state_dict": named_json(m.named_parameters()),
            "tgt": tensor_json(tgt), "memory": tensor_json(memory), "tgt_mask": mask_json(tgt_mask),
            "memory_mask": mask_json(memory_mask), "tgt_key_padding_mask": mask_json(tgt_kpm),
            "memory_key_padding_mask": mask_json(mem_kpm), "tgt_is_causal": tgt_is_causal,
            "memory_is_causal": False, "out": tensor_json(out), "r": tensor_json(r), "grads": grads}

def decoder_cases():
    T, S, N = 4, 6, 2
    # the float causal mask PyTorch's generate_square_subsequent_mask builds: 0 on and below
    # the diagonal, -inf above
    fmask = nn.Transformer.generate_square_subsequent_mask(T, dtype=f64)
    assert fmask.equal(torch.zeros(T, T, dtype=f64).masked_fill(causal_not_allowed(T), NEG_INF))
    return [decoder_case("decoder_post_norm_relu_causal_float_mask", layer_config("relu", False, True),
                         tgt_mask=fmask, tgt_is_causal=True),
            decoder_case("decoder_pre_norm_gelu_memory_padding", layer_config("gelu", True, False),
                         mem_kpm=padding_mask(N, S, [0, 3]))]

def encoder_stack_cases():
    name, L, N = "encoder_stack_2_layers_final_norm_key_padding", 4, 2
    cfg = layer_config("relu", False, True)
    m = nn.TransformerEncoder(make_encoder_layer(cfg), num_layers=2, norm=nn.LayerNorm(D_MODEL, dtype=f64),
                              enable_nested_tensor=False)
    m.train()
    redraw(m)
    kpm = padding_mask(N, L, [1, 0])
    src = randn(N, L, D_MODEL)

    def ref(lv, p):
        x = lv["src"]
        for i in range(2):
            x = ref_encoder_layer(x, sub(p, f"layers.{i}."), cfg, None, kpm)
        return ref_layer_norm(x, [D_MODEL], 1e-5, p["norm.weight"], p["norm.bias"]), None

    out, _, r, grads = module_grads(name, m, {"src": src},
                                    lambda mod, lv: (mod(lv["src"], src_key_padding_mask=kpm), None), ref)
    return [{"name": name, "config": cfg, "num_layers": 2, "final_norm": True, "final_norm_eps": 1e-5,
             "state_dict": named_json(m.named_parameters()), "src": tensor_json(src), "src_mask": None,
             "src_key_padding_mask": mask_json(kpm), "is_causal": False, "out": tensor_json(out),
             "r": tensor_json(r), "grads": grads}]

# ------------------------------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # reduction order independent of the machine's core count
    ops = []
    for gen in (erf_gelu_cases, tri_cases, baddbmm_cases, masked_fill_cases, softmax_cases):
        ops += gen()
    top = {"torch_version": torch.__version__, "ops": ops, "sdpa": sdpa_cases(),
           "layer_norm": layer_norm_cases(), "mha": mha_cases(), "encoder_layer": encoder_cases(),
           "decoder_layer": decoder_cases(), "encoder_stack": encoder_stack_cases()}
    for key, val in top.items():
        if isinstance(val, list):
            names = [c["name"] for c in val]
            assert len(set(names)) == len(names), f"duplicate case names in {key}"
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(OUT, top)
    assert OUT.stat().st_size < MAX_BYTES, "attention_goldens.json must stay under 400 KiB"
    json.loads(OUT.read_text())
    for key, val in top.items():
        if isinstance(val, list):
            print(f"{key} ({len(val)}): " + ", ".join(c["name"] for c in val))

if __name__ == "__main__":
    main()
