#!/usr/bin/env python3
"""Generate PyTorch golden values for more tandem-nn layers.

Writes crates/tandem-nn/tests/fixtures/layer_goldens.json, one case list:
  ConvTranspose2d (stride/padding/output_padding; groups/dilation without bias), Upsample
  (nearest, bilinear with and without align_corners), MaxPool1d, AvgPool1d (count_include_pad
  both ways), Unflatten, PixelShuffle, Bilinear, Softplus (both sides of the threshold), Mish,
  Hardswish (all three pieces), SiLU
Each case: forward output and the gradients of (out * r).sum() with respect to the input(s)
and every parameter. The modules run in float64; every input and parameter is a float32 value
written exactly, so a float32 test can load them bit for bit. Every case is also checked against
a direct float64 re-implementation (`ref_*`).
Run by hand (see README.md next to this file); PyTorch is not a project dependency:
    /tmp/anchors-venv/bin/python tools/goldens/gen_layer_goldens.py
"""
import itertools
import json
import math

import torch
import torch.nn as nn

from goldens_io import ROOT, check_close, opt_json, tensor_json, write_json
FIXTURES = ROOT / "crates" / "tandem-nn" / "tests" / "fixtures"
OUT = FIXTURES / "layer_goldens.json"
f32, f64 = torch.float32, torch.float64
MAX_BYTES = 512 * 1024

# ------------------------------------------------------------------------------------- helpers
def randn(*shape, scale=1.0):
    """float32 normal draws (times a power-of-two scale, still exact), as float64."""
    return (torch.randn(*shape, dtype=f32) * scale).to(f64)

def distinct(*shape):
    """Tie-free values for max pooling: a random permutation of (k + 0.5) / 16, never 0."""
    n = math.prod(shape)
    v = (torch.randperm(n).to(f64) - n // 2 + 0.5) / 16
    assert v.to(f32).to(f64).equal(v) and v.unique().numel() == n
    return v.reshape(shape)

def named_json(pairs):
    return [[name, tensor_json(t)] for name, t in pairs]

def leaf(t):
    return None if t is None else t.detach().clone().requires_grad_(True)

def is_f32(t):
    return t.to(f32).to(f64).equal(t)

# ------------------------------------------------------------------------------------- references
def ref_conv_transpose2d(x, w, b, stride, padding, output_padding, dilation, groups):
    """Scatter form: input pixel (i, j) adds x * w[:, :, kh, kw] at output (i*s - p + kh*d, j*s - p + kw*d).
    Weight layout [C_in, C_out/groups, kH, kW]. Output size (n-1)*s - 2p + d*(k-1) + output_padding + 1."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    ow = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    cg = c // groups
    # a buffer wide enough for every tap before cropping the padding
    full = torch.zeros(n, og * groups, oh + 2 * padding[0] + stride[0], ow + 2 * padding[1] + stride[1], dtype=f64)
    for g in range(groups):
        xs, ws = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg]
        for i, j in itertools.product(range(kh), range(kw)):
            r0, c0 = i * dilation[0], j * dilation[1]
            contrib = torch.einsum("nchw,co->nohw", xs, ws[:, :, i, j])
            rows = slice(r0, r0 + stride[0] * (h - 1) + 1, stride[0])
            cols = slice(c0, c0 + stride[1] * (wd - 1) + 1, stride[1])
            full[:, g * og:(g + 1) * og, rows, cols] = full[:, g * og:(g + 1) * og, rows, cols] + contrib
    out = full[:, :, padding[0]:padding[0] + oh, padding[1]:padding[1] + ow]
    return out if b is None else out + b.view(1, -1, 1, 1)

def ref_upsample(x, size, mode, align_corners):
    """Per axis: nearest reads src = floor(dst * in / out); bilinear (align_corners=False) reads
    src = max((dst + 0.5) * in / out - 0.5, 0), with align_corners=True src = dst * (in-1)/(out-1);
    then blends floor(src) and min(floor(src) + 1, in - 1) by the fraction."""
    def axis(t, dim, n_out):
        n_in = t.shape[dim]
        if mode == "nearest":
            idx = torch.tensor([min(math.floor(d * n_in / n_out), n_in - 1) for d in range(n_out)])
            return t.index_select(dim, idx)
        if align_corners:
            src = [d * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0 for d in range(n_out)]
        else:
            src = [max((d + 0.5) * n_in / n_out - 0.5, 0.0) for d in range(n_out)]
        i0 = torch.tensor([min(math.floor(s), n_in - 1) for s in src])
        i1 = torch.clamp(i0 + 1, max=n_in - 1)
        lam = torch.tensor([s - math.floor(s) for s in src], dtype=f64)
        shape = [1] * t.dim()
        shape[dim] = n_out
        lam = lam.view(shape)
        return t.index_select(dim, i0) * (1 - lam) + t.index_select(dim, i1) * lam
    return axis(axis(x, 2, size[0]), 3, size[1])

def ref_pool1d(x, kernel, stride, padding, kind, count_include_pad=True):
    """Windows [i*s - p, i*s - p + k) clipped to the input; max ignores padding (-inf);
    avg divides by k with count_include_pad (here no window overhangs the right padding), else
    by the clipped size."""
    n = x.shape[-1]
    out_n = (n + 2 * padding - kernel) // stride + 1
    cols = []
    for i in range(out_n):
        a, b = i * stride - padding, i * stride - padding + kernel
        assert b <= n + padding
        win = x[..., max(a, 0):min(b, n)]
        if kind == "max":
            cols.append(win.max(dim=-1).values)
        else:
            cols.append(win.sum(dim=-1) / (kernel if count_include_pad else win.shape[-1]))
    return torch.stack(cols, dim=-1)

def ref_pixel_shuffle(x, r):
    """out[n, c, h*r + i, w*r + j] = x[n, c*r*r + i*r + j, h, w]."""
    n, c, h, w = x.shape
    oc = c // (r * r)
    return x.view(n, oc, r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, oc, h * r, w * r)

def ref_bilinear(x1, x2, w, b):
    """out[n, o] = sum_ij x1[n, i] * w[o, i, j] * x2[n, j] + b[o]."""
    out = torch.zeros(x1.shape[0], w.shape[0], dtype=f64)
    for o in range(w.shape[0]):
        out[:, o] = ((x1 @ w[o]) * x2).sum(dim=1)
    return out + b

def ref_softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta * x > threshold."""
    return torch.where(x * beta > threshold, x, torch.log1p(torch.exp(x * beta)) / beta)

def ref_mish(x):
    return x * torch.tanh(torch.log1p(torch.exp(x)))

def ref_hardswish(x):
    """0 for x <= -3, x for x >= 3, x (x + 3) / 6 between."""
    return torch.where(x <= -3, torch.zeros_like(x), torch.where(x >= 3, x, x * (x + 3) / 6))

def ref_silu(x):
    return x / (1 + torch.exp(-x))

# ------------------------------------------------------------------------------------- cases
def layer_case(name, module, args, x, ref, x2=None, param_scale=0.5):
    """Build nn.<module>(**args) in float64, overwrite its parameters with float32 N(0, 1) draws
    (weights times param_scale), and record forward and gradients of (out * r).sum()."""
    m = getattr(nn, module)(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}).double()
    with torch.no_grad():
        for pname, p in m.named_parameters():
            p.copy_(randn(*p.shape, scale=param_scale if pname == "weight" else 1.0))
    names = [n for n, _ in m.named_parameters()]
    params = [p for _, p in m.named_parameters()]
    xl, x2l = leaf(x), leaf(x2)
    out = m(xl) if x2 is None else m(xl, x2l)
    r = randn(*out.shape)
    inputs = [t for t in (xl, x2l) if t is not None]
    gs = torch.autograd.grad((out * r).sum(), inputs + params)
    grad_x = gs[0]
    grad_x2 = gs[1] if x2 is not None else None
    grads = gs[len(inputs):]
    # reference: the same values through ref(x[, x2], *params), gradients by autograd on it
    rx, rx2 = leaf(x), leaf(x2)
    rp = [leaf(p) for p in params]
    want = ref(rx, *rp) if x2 is None else ref(rx, rx2, *rp)
    r_inputs = [t for t in (rx, rx2) if t is not None]
    want_gs = torch.autograd.grad((want * r).sum(), r_inputs + rp)
    check_close(f"{name}.out", out.detach(), want.detach())
    for i, (g, wg) in enumerate(zip(gs, want_gs)):
        check_close(f"{name}.grad[{i}]", g, wg)
    for t in [x, x2, r, *params]:
        assert t is None or is_f32(t.detach()), f"{name}: an input is not float32"
    return {"name": name, "module": module, "args": args,
            "x": tensor_json(x), "x2": opt_json(x2), "params": named_json(zip(names, params)),
            "out": tensor_json(out), "r": tensor_json(r),
            "grad_x": tensor_json(grad_x), "grad_x2": opt_json(grad_x2), "grads": named_json(zip(names, grads))}

def conv_transpose_cases():
    def ct(name, x_shape, args):
        a = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1, **args}
        pair = lambda v: [v, v] if isinstance(v, int) else v
        ref = lambda x, w, b=None: ref_conv_transpose2d(x, w, b, pair(a["stride"]), pair(a["padding"]),
                                                        pair(a["output_padding"]), pair(a["dilation"]), a["groups"])
        return layer_case(name, "ConvTranspose2d", args, randn(*x_shape), ref)
    return [
        ct("conv_transpose2d_k3_s2_p1_op1", (2, 3, 4, 5),
           {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}),
        ct("conv_transpose2d_groups3_k2_dilation2_no_bias", (2, 3, 4, 3),
           {"in_channels": 3, "out_channels": 6, "kernel_size": 2, "stride": 1, "dilation": 2, "groups": 3,
            "bias": False}),
    ]

def upsample_cases():
    def up(name, x_shape, args):
        n_in = x_shape[2:]
        size = args.get("size") or [int(s * args["scale_factor"]) for s in n_in]
        ref = lambda x: ref_upsample(x, size, args["mode"], args.get("align_corners", False))
        return layer_case(name, "Upsample", args, randn(*x_shape), ref)
    return [
        up("upsample_nearest_scale2", (2, 3, 3, 4), {"scale_factor": 2.0, "mode": "nearest"}),
        up("upsample_nearest_size_5x7", (2, 2, 3, 4), {"size": [5, 7], "mode": "nearest"}),
        up("upsample_bilinear_scale2", (2, 3, 3, 4), {"scale_factor": 2.0, "mode": "bilinear", "align_corners": False}),
        up("upsample_bilinear_size_5x7_align_corners", (2, 2, 3, 4),
           {"size": [5, 7], "mode": "bilinear", "align_corners": True}),
    ]

def pool1d_cases():
    k, s, p = 3, 2, 1
    return [
        layer_case("max_pool1d_k3_s2_p1", "MaxPool1d", {"kernel_size": k, "stride": s, "padding": p},
                   distinct(2, 3, 9), lambda x: ref_pool1d(x, k, s, p, "max")),
        layer_case("avg_pool1d_k3_s2_p1_include_pad", "AvgPool1d",
                   {"kernel_size": k, "stride": s, "padding": p, "count_include_pad": True},
                   randn(2, 3, 9), lambda x: ref_pool1d(x, k, s, p, "avg", True)),
        layer_case("avg_pool1d_k3_s2_p1_exclude_pad", "AvgPool1d",
                   {"kernel_size": k, "stride": s, "padding": p, "count_include_pad": False},
                   randn(2, 3, 9), lambda x: ref_pool1d(x, k, s, p, "avg", False)),
    ]

def shape_cases():
    return [
        layer_case("unflatten_dim1_2x3", "Unflatten", {"dim": 1, "unflattened_size": [2, 3]},
                   randn(2, 6, 4), lambda x: x.reshape(2, 2, 3, 4)),
        layer_case("pixel_shuffle_2", "PixelShuffle", {"upscale_factor": 2},
                   randn(2, 8, 3, 2), lambda x: ref_pixel_shuffle(x, 2)),
    ]

def bilinear_cases():
    return [layer_case("bilinear_3_4_5", "Bilinear", {"in1_features": 3, "in2_features": 4, "out_features": 5},
                       randn(6, 3), ref_bilinear, x2=randn(6, 4))]

def activation_cases():
    # Softplus default: threshold 20 on beta*x, so add a few values past it (exact in float32).
    x = torch.cat([randn(2, 5, scale=2.0), torch.tensor([[20.5, 25.0, -25.0, 19.5, 0.0]], dtype=f64)])
    assert (x > 20).sum() == 2 and (x == 20).sum() == 0
    cases = [layer_case("softplus_default", "Softplus", {}, x, ref_softplus)]
    # beta 2, threshold 1: linear where 2x > 1, i.e. x > 0.5
    x = randn(3, 5, scale=2.0)
    assert (2 * x > 1).sum() >= 3 and (2 * x <= 1).sum() >= 3 and (2 * x == 1).sum() == 0
    cases.append(layer_case("softplus_beta2_threshold1", "Softplus", {"beta": 2.0, "threshold": 1.0}, x,
                            lambda t: ref_softplus(t, 2.0, 1.0)))
    cases.append(layer_case("mish", "Mish", {}, randn(3, 5, scale=2.0), ref_mish))
    # Hardswish: below -3, between, above 3, none within 1/16 of +-3
    x = randn(4, 5, scale=4.0)
    assert (x < -3).sum() >= 2 and (x > 3).sum() >= 2 and ((x > -3) & (x < 3)).sum() >= 5, x
    assert ((x.abs() - 3).abs() > 1 / 16).all()
    cases.append(layer_case("hardswish", "Hardswish", {}, x, ref_hardswish))
    cases.append(layer_case("silu", "SiLU", {}, randn(3, 5, scale=2.0), ref_silu))
    return cases

# ------------------------------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # reduction order independent of the machine's core count
    cases = []
    for gen in (conv_transpose_cases, upsample_cases, pool1d_cases, shape_cases, bilinear_cases, activation_cases):
        cases += gen()
    assert len({c["name"] for c in cases}) == len(cases), "duplicate case names"
    top = {"torch_version": torch.__version__, "cases": cases}
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(OUT, top)
    assert OUT.stat().st_size < MAX_BYTES, "layer_goldens.json must stay under 512 KiB"
    json.loads(OUT.read_text())
    print(f"{len(cases)} layer cases: " + ", ".join(c["name"] for c in cases))

if __name__ == "__main__":
    main()
