#!/usr/bin/env python3
"""Generate PyTorch golden values for tandem-nn's convolution, pooling and batch-norm tests.

Writes crates/tandem-nn/tests/fixtures/conv_goldens.json with one key per op:
  conv2d, conv1d                 forward + grads of x, w, b under stride/padding/dilation/groups
  conv2d_valid_stride_1,         the same at stride 1 without padding: several images, groups,
  conv1d_valid_stride_1          dilation
  max_pool2d, avg_pool2d         forward + grad of x (kernel, stride, padding, ceil_mode,
                                 count_include_pad); max-pool inputs are tie-free
  adaptive_avg_pool2d            forward + grad of x
  batch_norm2d                   training- and eval-mode forward, running stats, grads
Every gradient is of (out * r).sum() for a random upstream gradient r of out's shape.
Computed in float64; every input (x, w, b, r, running stats) is a float32-representable
number, so a float32 test can load the inputs exactly.
Run by hand (see README.md next to this file); PyTorch is not a project dependency:
    /tmp/anchors-venv/bin/python tools/goldens/gen_conv_goldens.py
"""
import itertools
import json
import math

import torch
import torch.nn.functional as F

from goldens_io import ROOT, check_close, opt_json, tensor_json, write_json
FIXTURES = ROOT / "crates" / "tandem-nn" / "tests" / "fixtures"
OUT = FIXTURES / "conv_goldens.json"
f32, f64 = torch.float32, torch.float64
MAX_BYTES = 1536 * 1024

# ------------------------------------------------------------------------------------- helpers
def randn(*shape, scale=1.0):
    """float32 normal draws (times a power-of-two scale, still exact), as float64."""
    return (torch.randn(*shape, dtype=f32) * scale).to(f64)

def distinct(*shape):
    """Tie-free values for max pooling: a random permutation of (k + 0.5) / 16 around 0,
    k = -n/2 .. n/2 - 1 (exact in float32 for these sizes, never 0)."""
    n = math.prod(shape)
    v = (torch.randperm(n).to(f64) - n // 2 + 0.5) / 16
    assert v.to(f32).to(f64).equal(v) and v.unique().numel() == n
    return v.reshape(shape)

def grads(out, inputs, r):
    """d (out * r).sum() / d input for each input (None stays None)."""
    live = [t for t in inputs if t is not None]
    gs = iter(torch.autograd.grad((out * r).sum(), live))
    return [None if t is None else next(gs) for t in inputs]

def leaf(t):
    return None if t is None else t.clone().requires_grad_(True)

INPUT_FIELDS = ("x", "w", "b", "r", "weight", "bias", "running_mean_in", "running_var_in")

def check_inputs_f32(key, cases):
    """Every input (and upstream gradient r) must be a float32 value, so f32 tests load it exactly."""
    for case in cases:
        for field in INPUT_FIELDS:
            if case.get(field) is not None:
                data = torch.tensor(case[field]["data"], dtype=f64)
                assert data.to(f32).to(f64).equal(data), f"{key}/{case['name']}: {field} is not float32"

# ------------------------------------------------------------------------------------- output sizes
def conv_out(size, k, s, p, d):
    """Convolution (and floor-mode pooling): floor((size + 2p - d(k-1) - 1) / s) + 1."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1

def pool_out(size, k, s, p, ceil_mode):
    """PyTorch's pooling_output_shape (dilation 1): with ceil_mode, round the division up, then
    drop the last window if it would start in the right padding (or beyond): (out-1)*s >= size+p."""
    num = size + 2 * p - (k - 1) - 1
    out = (num + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out

# ------------------------------------------------------------------------------------- references
def ref_conv2d(x, w, b, stride, padding, dilation, groups):
    """Direct float64 convolution: zero-pad, then sum over taps of strided slices."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = conv_out(h, kh, stride[0], padding[0], dilation[0])
    ow = conv_out(wd, kw, stride[1], padding[1], dilation[1])
    xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    og = o // groups
    out = torch.zeros(n, o, oh, ow, dtype=f64)
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        ws = w[g * og:(g + 1) * og]
        for i, j in itertools.product(range(kh), range(kw)):
            r0, c0 = i * dilation[0], j * dilation[1]
            patch = xs[:, :, r0:r0 + stride[0] * (oh - 1) + 1:stride[0], c0:c0 + stride[1] * (ow - 1) + 1:stride[1]]
            out[:, g * og:(g + 1) * og] += torch.einsum("nchw,oc->nohw", patch, ws[:, :, i, j])
    return out if b is None else out + b.view(1, -1, 1, 1)

def windows(size, k, s, p, out):
    """(start, end) of each pooling window in padded coordinates minus p, end capped at size + p
    (PyTorch's avg_pool2d: hend = min(hstart + k, size + p))."""
    return [(i * s - p, min(i * s - p + k, size + p)) for i in range(out)]

def ref_max_pool2d(x, r, kernel, stride, padding, ceil_mode):
    n, c, h, w = x.shape
    oh, ow = (pool_out(h, kernel[0], stride[0], padding[0], ceil_mode),
              pool_out(w, kernel[1], stride[1], padding[1], ceil_mode))
    out = torch.empty(n, c, oh, ow, dtype=f64)
    gx = torch.zeros_like(x)
    for (i, (h0, h1)), (j, (w0, w1)) in itertools.product(enumerate(windows(h, kernel[0], stride[0], padding[0], oh)),
                                                          enumerate(windows(w, kernel[1], stride[1], padding[1], ow))):
        h0, h1, w0, w1 = max(h0, 0), min(h1, h), max(w0, 0), min(w1, w)  # padding never wins (-inf)
        assert h1 > h0 and w1 > w0, "every window must hold an input element"
        win = x[:, :, h0:h1, w0:w1].reshape(n, c, -1)
        val, idx = win.max(dim=2)
        out[:, :, i, j] = val
        for a, b in itertools.product(range(n), range(c)):
            k = idx[a, b].item()
            gx[a, b, h0 + k // (w1 - w0), w0 + k % (w1 - w0)] += r[a, b, i, j]
    return out, gx

def ref_avg_pool2d(x, r, kernel, stride, padding, ceil_mode, count_include_pad):
    """Divisor: with count_include_pad, the window clipped to [-p, size + p) (padding counts,
    the ceil_mode overhang past the right padding does not); without it, the window clipped
    to the input [0, size)."""
    n, c, h, w = x.shape
    oh, ow = (pool_out(h, kernel[0], stride[0], padding[0], ceil_mode),
              pool_out(w, kernel[1], stride[1], padding[1], ceil_mode))
    out = torch.empty(n, c, oh, ow, dtype=f64)
    gx = torch.zeros_like(x)
    for (i, (h0, h1)), (j, (w0, w1)) in itertools.product(enumerate(windows(h, kernel[0], stride[0], padding[0], oh)),
                                                          enumerate(windows(w, kernel[1], stride[1], padding[1], ow))):
        padded_count = (h1 - h0) * (w1 - w0)
        h0, h1, w0, w1 = max(h0, 0), min(h1, h), max(w0, 0), min(w1, w)
        div = padded_count if count_include_pad else (h1 - h0) * (w1 - w0)
        out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(dim=(2, 3)) / div
        gx[:, :, h0:h1, w0:w1] += (r[:, :, i, j] / div)[:, :, None, None]
    return out, gx

def adaptive_windows(size, out):
    """Window i covers [floor(i*size/out), ceil((i+1)*size/out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]

def ref_adaptive_avg_pool2d(x, r, output_size):
    n, c, h, w = x.shape
    out = torch.empty(n, c, *output_size, dtype=f64)
    gx = torch.zeros_like(x)
    for (i, (h0, h1)), (j, (w0, w1)) in itertools.product(enumerate(adaptive_windows(h, output_size[0])),
                                                          enumerate(adaptive_windows(w, output_size[1]))):
        div = (h1 - h0) * (w1 - w0)
        out[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(dim=(2, 3)) / div
        gx[:, :, h0:h1, w0:w1] += (r[:, :, i, j] / div)[:, :, None, None]
    return out, gx

def ref_batch_norm_train(x, rm, rv, weight, bias, r, momentum, eps):
    """Normalize with the biased batch variance; the running variance gets the unbiased one."""
    dims, m = (0, 2, 3), x.numel() // x.shape[1]
    bc = lambda t: t.view(1, -1, 1, 1)
    mean = x.mean(dim=dims)
    var = ((x - bc(mean)) ** 2).mean(dim=dims)
    inv = 1 / torch.sqrt(var + eps)
    xhat = (x - bc(mean)) * bc(inv)
    out = xhat * bc(weight) + bc(bias)
    rm_out = (1 - momentum) * rm + momentum * mean
    rv_out = (1 - momentum) * rv + momentum * var * m / (m - 1)
    gb = r.sum(dim=dims)
    gw = (r * xhat).sum(dim=dims)
    gx = bc(weight * inv) * (r - bc(gb / m) - xhat * bc(gw / m))
    return out, rm_out, rv_out, gx, gw, gb

# ------------------------------------------------------------------------------------- cases
def conv_case(name, dims, x_shape, w_shape, bias=True, stride=1, padding=0, dilation=1, groups=1):
    tup = lambda v: [v] * dims if isinstance(v, int) else list(v)
    stride, padding, dilation = tup(stride), tup(padding), tup(dilation)
    x, w = randn(*x_shape), randn(*w_shape, scale=0.5)
    b = randn(w_shape[0]) if bias else None
    xl, wl, bl = leaf(x), leaf(w), leaf(b)
    conv = F.conv2d if dims == 2 else F.conv1d
    out = conv(xl, wl, bl, stride=stride, padding=padding, dilation=dilation, groups=groups)
    r = randn(*out.shape)
    gx, gw, gb = grads(out, [xl, wl, bl], r)
    # the 1-d case is the 2-d one with a unit height
    lift = (lambda t: t) if dims == 2 else (lambda t: None if t is None else t.unsqueeze(-2))
    lift_arg = (lambda v: v) if dims == 2 else (lambda v: [1] + v)
    want = ref_conv2d(lift(x), lift(w), b, lift_arg(stride), [0] + padding if dims == 1 else padding,
                      lift_arg(dilation), groups)
    check_close(name, lift(out.detach()), want)
    sizes = [conv_out(x_shape[2 + d], w_shape[2 + d], stride[d], padding[d], dilation[d]) for d in range(dims)]
    assert list(out.shape) == [x_shape[0], w_shape[0], *sizes], (name, out.shape)
    return {"name": name, "x": tensor_json(x), "w": tensor_json(w), "b": opt_json(b),
            "stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
            "out": tensor_json(out), "r": tensor_json(r), "grad_x": tensor_json(gx),
            "grad_w": tensor_json(gw), "grad_b": opt_json(gb)}

def conv2d_cases():
    c = lambda name, *a, **k: conv_case(name, 2, *a, **k)
    return [
        c("plain_3x3", (2, 3, 6, 6), (4, 3, 3, 3)),
        c("padding_1", (2, 3, 5, 5), (4, 3, 3, 3), padding=1),
        c("stride_2", (2, 3, 7, 7), (4, 3, 3, 3), stride=2),
        c("kernel_2x3_stride_2_1_padding_1_0", (2, 3, 6, 5), (4, 3, 2, 3), stride=(2, 1), padding=(1, 0)),
        c("dilation_2_padding_1", (2, 3, 7, 7), (4, 3, 3, 3), padding=1, dilation=2),
        c("groups_2", (2, 4, 6, 6), (6, 2, 3, 3), padding=1, groups=2),
        c("depthwise", (2, 4, 6, 6), (4, 1, 3, 3), padding=1, groups=4),
        c("kernel_1x1", (2, 5, 4, 4), (3, 5, 1, 1)),
        c("no_bias", (2, 3, 5, 5), (2, 3, 3, 3), bias=False, padding=1),
        # 8x7 with k=3, s=3: out 2x2; the last 2 rows / 1 column of x are never read (grad 0)
        c("size_not_multiple_of_stride", (2, 2, 8, 7), (3, 2, 3, 3), stride=3),
        c("mixed_groups_stride_dilation_padding", (2, 4, 7, 8), (4, 2, 2, 3), stride=(2, 1),
          padding=(0, 2), dilation=(1, 2), groups=2),
    ]

def conv1d_cases():
    c = lambda name, *a, **k: conv_case(name, 1, *a, **k)
    return [
        c("padding_1", (2, 3, 10), (4, 3, 3), padding=1),
        c("stride_2_no_bias", (2, 3, 9), (4, 3, 3), bias=False, stride=2),
        c("dilation_2_padding_2", (2, 3, 10), (4, 3, 3), padding=2, dilation=2),
        c("groups_2", (2, 4, 8), (6, 2, 3), padding=1, groups=2),
    ]

def valid_stride_1_cases():
    """Stride 1 without padding, where every window row lies inside its input row: the layout
    PyTorch users' CNNs mostly have. Several images per product, groups and dilation."""
    c2 = lambda name, *a, **k: conv_case(name, 2, *a, **k)
    return [
        c2("batch_of_11", (11, 2, 7, 9), (3, 2, 3, 3)),
        c2("dilation_2_1_groups_2", (3, 4, 9, 8), (6, 2, 3, 2), dilation=(2, 1), groups=2),
        c2("kernel_2x4_no_bias", (5, 3, 6, 10), (4, 3, 2, 4), bias=False),
    ]

def valid_stride_1_conv1d_cases():
    c = lambda name, *a, **k: conv_case(name, 1, *a, **k)
    return [c("kernel_3_batch_of_5", (5, 2, 12), (4, 2, 3))]

def max_pool_case(name, x_shape, kernel, stride, padding=(0, 0), ceil_mode=False):
    x = distinct(*x_shape)
    xl = leaf(x)
    out = F.max_pool2d(xl, kernel, stride, padding, ceil_mode=ceil_mode)
    r = randn(*out.shape)
    (gx,) = grads(out, [xl], r)
    want_out, want_gx = ref_max_pool2d(x, r, kernel, stride, padding, ceil_mode)
    assert out.detach().equal(want_out), name
    check_close(name, gx, want_gx)
    return {"name": name, "x": tensor_json(x), "kernel": list(kernel), "stride": list(stride),
            "padding": list(padding), "ceil_mode": ceil_mode, "out": tensor_json(out),
            "r": tensor_json(r), "grad_x": tensor_json(gx)}

def max_pool2d_cases():
    return [
        max_pool_case("k2_s2", (2, 3, 6, 6), (2, 2), (2, 2)),
        max_pool_case("k3_s2_p1", (2, 3, 7, 7), (3, 3), (2, 2), (1, 1)),
        # 7 wide, k2 s2: floor gives 3, ceil gives 4 (the last window holds only column 6)
        max_pool_case("ceil_mode_k2_s2_odd_7x7", (2, 3, 7, 7), (2, 2), (2, 2), ceil_mode=True),
        # 6 wide, k3 s2 p1: floor 3, ceil 4 (last window = column 5 + right padding)
        max_pool_case("ceil_mode_k3_s2_p1_6x6", (2, 2, 6, 6), (3, 3), (2, 2), (1, 1), ceil_mode=True),
        # 5 wide, k2 s2 p1: ceil would give 4, but window 3 starts at 6 - 1 = 5 = size: dropped, 3
        max_pool_case("ceil_mode_k2_s2_p1_5x5_last_dropped", (2, 2, 5, 5), (2, 2), (2, 2), (1, 1), ceil_mode=True),
        max_pool_case("k3_s1", (2, 2, 5, 5), (3, 3), (1, 1)),
        max_pool_case("non_square_k2x3_s1x2_p0x1", (2, 2, 5, 6), (2, 3), (1, 2), (0, 1)),
    ]

def avg_pool_case(name, x_shape, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    x = randn(*x_shape)
    xl = leaf(x)
    out = F.avg_pool2d(xl, kernel, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    r = randn(*out.shape)
    (gx,) = grads(out, [xl], r)
    want_out, want_gx = ref_avg_pool2d(x, r, kernel, stride, padding, ceil_mode, count_include_pad)
    check_close(name, out.detach(), want_out)
    check_close(name, gx, want_gx)
    return {"name": name, "x": tensor_json(x), "kernel": list(kernel), "stride": list(stride),
            "padding": list(padding), "ceil_mode": ceil_mode, "count_include_pad": count_include_pad,
            "out": tensor_json(out), "r": tensor_json(r), "grad_x": tensor_json(gx)}

def avg_pool2d_cases():
    return [
        avg_pool_case("k2_s2", (2, 3, 6, 6), (2, 2), (2, 2)),
        avg_pool_case("k3_s2_p1_include_pad", (2, 3, 7, 7), (3, 3), (2, 2), (1, 1), count_include_pad=True),
        avg_pool_case("k3_s2_p1_exclude_pad", (2, 3, 7, 7), (3, 3), (2, 2), (1, 1), count_include_pad=False),
        # last window overhangs the input (no padding): divided by the 1 or 2 real elements
        avg_pool_case("ceil_mode_k2_s2_odd_7x7", (2, 3, 7, 7), (2, 2), (2, 2), ceil_mode=True),
        # last window = column 5 + 1 padding + 1 overhang: include_pad divides by 2 per axis
        avg_pool_case("ceil_mode_k3_s2_p1_6x6_include_pad", (2, 2, 6, 6), (3, 3), (2, 2), (1, 1),
                      ceil_mode=True, count_include_pad=True),
        avg_pool_case("ceil_mode_k3_s2_p1_6x6_exclude_pad", (2, 2, 6, 6), (3, 3), (2, 2), (1, 1),
                      ceil_mode=True, count_include_pad=False),
        avg_pool_case("non_square_k3x2_s2x1_p1x0", (2, 2, 6, 5), (3, 2), (2, 1), (1, 0)),
    ]

def adaptive_case(name, x_shape, output_size):
    x = randn(*x_shape)
    xl = leaf(x)
    out = F.adaptive_avg_pool2d(xl, output_size)
    r = randn(*out.shape)
    (gx,) = grads(out, [xl], r)
    want_out, want_gx = ref_adaptive_avg_pool2d(x, r, output_size)
    check_close(name, out.detach(), want_out)
    check_close(name, gx, want_gx)
    return {"name": name, "x": tensor_json(x), "output_size": list(output_size), "out": tensor_json(out),
            "r": tensor_json(r), "grad_x": tensor_json(gx)}

def adaptive_avg_pool2d_cases():
    return [
        adaptive_case("global_1x1_from_5x5", (2, 3, 5, 5), (1, 1)),
        adaptive_case("2x2_from_5x5", (2, 3, 5, 5), (2, 2)),
        adaptive_case("3x2_from_7x6", (2, 3, 7, 6), (3, 2)),
        adaptive_case("4x4_from_8x8_exact", (2, 2, 8, 8), (4, 4)),
        adaptive_case("5x4_from_3x3_upsampling", (2, 2, 3, 3), (5, 4)),
    ]

def batch_norm_case(name, x_shape, training, momentum=0.1, eps=1e-5):
    c = x_shape[1]
    # a per-channel offset, so the means are not ~0 (sums taken in float32: still exact inputs)
    x = (torch.randn(*x_shape, dtype=f32) + torch.randn(1, c, 1, 1, dtype=f32)).to(f64)
    weight, bias = (1 + torch.randn(c, dtype=f32) / 4).to(f64), randn(c, scale=0.5)
    rm_in, rv_in = randn(c, scale=0.5), (0.5 + torch.rand(c, dtype=f32)).to(f64)
    rm, rv = rm_in.clone(), rv_in.clone()  # F.batch_norm updates them in place
    xl, wl, bl = leaf(x), leaf(weight), leaf(bias)
    out = F.batch_norm(xl, rm, rv, wl, bl, training=training, momentum=momentum, eps=eps)
    r = randn(*out.shape)
    gx, gw, gb = grads(out, [xl, wl, bl], r)
    if training:
        want = ref_batch_norm_train(x, rm_in, rv_in, weight, bias, r, momentum, eps)
    else:
        bc = lambda t: t.view(1, -1, 1, 1)
        inv = 1 / torch.sqrt(rv_in + eps)
        xhat = (x - bc(rm_in)) * bc(inv)
        want = (xhat * bc(weight) + bc(bias), rm_in, rv_in, r * bc(weight * inv),
                (r * xhat).sum(dim=(0, 2, 3)), r.sum(dim=(0, 2, 3)))
        assert rm.equal(rm_in) and rv.equal(rv_in)
    for got, w, what in zip((out.detach(), rm, rv, gx, gw, gb), want, ("out", "rm", "rv", "gx", "gw", "gb")):
        check_close(f"{name}.{what}", got, w)
    return {"name": name, "training": training, "momentum": momentum, "eps": eps,
            "x": tensor_json(x), "weight": tensor_json(weight), "bias": tensor_json(bias),
            "running_mean_in": tensor_json(rm_in), "running_var_in": tensor_json(rv_in),
            "out": tensor_json(out), "running_mean_out": tensor_json(rm), "running_var_out": tensor_json(rv),
            "r": tensor_json(r), "grad_x": tensor_json(gx), "grad_weight": tensor_json(gw),
            "grad_bias": tensor_json(gb)}

def batch_norm2d_cases():
    return [
        batch_norm_case("train_2x3x4x4", (2, 3, 4, 4), training=True),
        batch_norm_case("train_2x4x5x3", (2, 4, 5, 3), training=True),
        batch_norm_case("eval_2x3x4x4", (2, 3, 4, 4), training=False),
    ]

# ------------------------------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # reduction order independent of the machine's core count
    FIXTURES.mkdir(parents=True, exist_ok=True)
    top = {"torch_version": torch.__version__}
    for key, gen in [("conv2d", conv2d_cases), ("conv1d", conv1d_cases), ("max_pool2d", max_pool2d_cases),
                     ("avg_pool2d", avg_pool2d_cases), ("adaptive_avg_pool2d", adaptive_avg_pool2d_cases),
                     ("batch_norm2d", batch_norm2d_cases),
                     # drawn last, so that the cases above keep their random inputs
                     ("conv2d_valid_stride_1", valid_stride_1_cases),
                     ("conv1d_valid_stride_1", valid_stride_1_conv1d_cases)]:
        cases = gen()
        assert len({c["name"] for c in cases}) == len(cases), f"{key}: duplicate case names"
        check_inputs_f32(key, cases)
        top[key] = cases
    write_json(OUT, top)
    assert OUT.stat().st_size < MAX_BYTES, "conv_goldens.json must stay under 1.5 MiB"
    json.loads(OUT.read_text())
    print(", ".join(f"{len(v)} {k}" for k, v in top.items() if isinstance(v, list)) + " cases")

if __name__ == "__main__":
    main()
