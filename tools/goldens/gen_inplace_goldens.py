#!/usr/bin/env python3
"""Generate PyTorch golden values for tandem-core's in-place operations under autograd.

Writes crates/tandem-core/tests/fixtures/inplace_goldens.json:
  programs        small float32 programs that modify an intermediate in place (add_, mul_,
                  relu_, clamp_, masked_fill_, copy_, index_copy_, sub_, div_, chains), with the
                  final value and the gradients of the loss with respect to every leaf
  version_errors  programs whose backward PyTorch refuses because a tensor saved for the
                  backward pass was modified in place, with the start of the error message
Every program is also checked against a float64 re-implementation with out-of-place ops.
Run by hand (see README.md next to this file); PyTorch is not a project dependency:
    /tmp/anchors-venv/bin/python tools/goldens/gen_inplace_goldens.py
"""
import inspect
import json
import re

import torch

from goldens_io import ROOT, check_close, tensor_json, write_json
FIXTURES = ROOT / "crates" / "tandem-core" / "tests" / "fixtures"
OUT = FIXTURES / "inplace_goldens.json"
f32, f64 = torch.float32, torch.float64
NAMES = ("x", "w", "r", "mask", "idx", "w2")  # every program takes the inputs in this order
GRAD_INPUTS = ("x", "w", "w2")                # the leaves that require grad

# ------------------------------------------------------------------------------------- programs
# Each program returns (y, loss). Its body (the lines before `return`) is written to the fixture.
def add_scalar(x, w, r, mask, idx, w2):
    y = x * 2
    y.add_(1)
    loss = (y * y).sum()
    return y, loss

def add_tensor(x, w, r, mask, idx, w2):
    y = x.sin()
    y.add_(w)
    loss = (y * y).sum()
    return y, loss

def mul_tensor(x, w, r, mask, idx, w2):
    y = x + 1
    y.mul_(w)
    loss = (y * y).sum()
    return y, loss

def relu_(x, w, r, mask, idx, w2):
    y = x * 3 - 1
    y.relu_()
    loss = (y * y).sum()
    return y, loss

def clamp_(x, w, r, mask, idx, w2):
    y = x * 2
    y.clamp_(-0.5, 0.5)
    loss = (y * w).sum()
    return y, loss

def masked_fill_(x, w, r, mask, idx, w2):
    y = x * w
    y.masked_fill_(mask, 0.0)
    loss = (y * r).sum()
    return y, loss

def copy_(x, w, r, mask, idx, w2):
    y = x * 2
    y.copy_(w * 3)
    loss = (y * y).sum()
    return y, loss

def index_copy_(x, w, r, mask, idx, w2):
    y = x * 2
    y.index_copy_(0, idx, w2)
    loss = (y * r).sum()
    return y, loss

def chain(x, w, r, mask, idx, w2):
    y = x * w
    y.mul_(2).add_(x).relu_()
    loss = (y * y).sum()
    return y, loss

def sub_div(x, w, r, mask, idx, w2):
    y = x.sin()
    z = y * 2
    y.sub_(0.5)
    y.div_(w)
    loss = (y * r).sum() + z.sum()
    return y, loss

PROGRAMS = [add_scalar, add_tensor, mul_tensor, relu_, clamp_, masked_fill_, copy_, index_copy_, chain, sub_div]

# The same programs with out-of-place ops, evaluated in float64.
REFERENCE = {
    "add_scalar": lambda x, w, r, mask, idx, w2: x * 2 + 1,
    "add_tensor": lambda x, w, r, mask, idx, w2: x.sin() + w,
    "mul_tensor": lambda x, w, r, mask, idx, w2: (x + 1) * w,
    "relu_": lambda x, w, r, mask, idx, w2: torch.relu(x * 3 - 1),
    "clamp_": lambda x, w, r, mask, idx, w2: torch.clamp(x * 2, -0.5, 0.5),
    "masked_fill_": lambda x, w, r, mask, idx, w2: torch.where(mask, torch.zeros_like(x), x * w),
    "copy_": lambda x, w, r, mask, idx, w2: w * 3 + 0 * x,
    "index_copy_": lambda x, w, r, mask, idx, w2: torch.cat([w2[0:1], x[1:2] * 2, w2[1:2]]),
    "chain": lambda x, w, r, mask, idx, w2: torch.relu(x * w * 2 + x),
    "sub_div": lambda x, w, r, mask, idx, w2: (x.sin() - 0.5) / w,
}
REF_LOSS = {  # loss as a function of the reference y (and the inputs)
    "add_scalar": lambda y, i: (y * y).sum(), "add_tensor": lambda y, i: (y * y).sum(),
    "mul_tensor": lambda y, i: (y * y).sum(), "relu_": lambda y, i: (y * y).sum(),
    "clamp_": lambda y, i: (y * i["w"]).sum(), "masked_fill_": lambda y, i: (y * i["r"]).sum(),
    "copy_": lambda y, i: (y * y).sum(), "index_copy_": lambda y, i: (y * i["r"]).sum(),
    "chain": lambda y, i: (y * y).sum(), "sub_div": lambda y, i: (y * i["r"]).sum() + (i["x"].sin() * 2).sum(),
}

def source(fn):
    """The program's body (the lines between `def` and `return`), joined with '; '."""
    lines = [l.strip() for l in inspect.getsource(fn).splitlines()[1:]]
    return "; ".join(l for l in lines if l and not l.startswith("return"))

# Programs PyTorch refuses at backward: a tensor saved for backward was modified in place.
def saved_then_modified(x):
    y = x * 2
    z = y * y
    y.add_(1)
    z.sum().backward()

def exp_output_modified(x):
    y = x.exp()
    y.add_(1)
    y.sum().backward()

def tanh_output_modified(x):
    y = x.tanh()
    z = y * 2
    y.sub_(0.5)
    (y.sum() + z.sum()).backward()

VERSION_ERRORS = [saved_then_modified, exp_output_modified, tanh_output_modified]
ERROR_PREFIX = "one of the variables needed for gradient computation has been modified by an inplace operation"

# ------------------------------------------------------------------------------------- inputs
def make_inputs():
    x, w, r = (torch.randn(3, 4, dtype=f32) for _ in range(3))
    mask = torch.rand(3, 4) < 0.5
    idx = torch.tensor([0, 2], dtype=torch.int64)
    w2 = torch.randn(2, 4, dtype=f32)
    # keep away from the kinks and the division by ~0 the programs would otherwise touch
    assert mask.any() and (~mask).any()
    assert ((x * 3 - 1).abs() > 1e-3).all() and (((x * 2).abs() - 0.5).abs() > 1e-3).all()
    assert (w.abs() > 0.05).all(), "sub_div divides by w"
    return dict(zip(NAMES, (x, w, r, mask, idx, w2)))

def leaves(inputs, dtype):
    """Fresh leaves (float inputs cast to dtype; x, w, w2 require grad)."""
    out = {}
    for k, v in inputs.items():
        v = v.to(dtype) if v.is_floating_point() else v.clone()
        out[k] = v.requires_grad_(True) if k in GRAD_INPUTS else v
    return out

def input_json(name, t):
    dtype = {f32: "float32", torch.bool: "bool", torch.int64: "int64"}[t.dtype]
    return {**tensor_json(t, dtype), "requires_grad": name in GRAD_INPUTS}

# ------------------------------------------------------------------------------------- cases
def program_case(fn, inputs):
    name = fn.__name__
    ins = leaves(inputs, f32)
    y, loss = fn(*(ins[k] for k in NAMES))
    assert y.dtype == f32 and y._version > 0, f"{name}: y must have been modified in place"
    live = [ins[k] for k in GRAD_INPUTS]
    gs = torch.autograd.grad(loss, live, allow_unused=True)
    grads = dict(zip(GRAD_INPUTS, gs))
    # float64 out-of-place reference (same graph topology, no in-place ops)
    ref = leaves(inputs, f64)
    ry = REFERENCE[name](*(ref[k] for k in NAMES))
    rloss = REF_LOSS[name](ry, ref)
    rgs = torch.autograd.grad(rloss, [ref[k] for k in GRAD_INPUTS], allow_unused=True)
    check_close(f"{name}.out", y.detach(), ry.detach(), tol=1e-6)
    check_close(f"{name}.loss", loss.detach(), rloss.detach(), tol=1e-6)
    for k, g, rg in zip(GRAD_INPUTS, gs, rgs):
        if name == "copy_" and k == "x":
            assert g is not None and not g.any(), "copy_: x gets a zero gradient (not None)"
            assert rg is not None and not rg.any()
            continue
        check_close(f"{name}.grad_{k}", g, rg, tol=1e-6)  # None exactly when the reference's is
    return {"name": name, "program": source(fn), "out": tensor_json(y),
            "loss": loss.item(), "grads": {k: (None if g is None else tensor_json(g)) for k, g in grads.items()}}

def check_index_copy_matches_indexing(inputs, case):
    """y.index_copy_(0, idx, w2) and y[idx] = w2 give the same value and gradients."""
    ins = leaves(inputs, f32)
    y = ins["x"] * 2
    y[ins["idx"]] = ins["w2"]
    loss = (y * ins["r"]).sum()
    gx, gw2 = torch.autograd.grad(loss, [ins["x"], ins["w2"]])
    assert tensor_json(y) == case["out"] and loss.item() == case["loss"]
    assert tensor_json(gx) == case["grads"]["x"] and tensor_json(gw2) == case["grads"]["w2"]

def version_error_case(fn, inputs):
    x = inputs["x"].clone().requires_grad_(True)
    try:
        fn(x)
    except RuntimeError as e:
        msg = str(e)
    else:
        raise AssertionError(f"{fn.__name__}: PyTorch accepted the backward")
    assert msg.startswith(ERROR_PREFIX), (fn.__name__, msg)
    message = msg.split(" Hint:")[0]
    return {"name": fn.__name__, "program": source(fn), "error_prefix": ERROR_PREFIX, "message": message}

# ------------------------------------------------------------------------------------- main
def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    inputs = make_inputs()
    programs = [program_case(fn, inputs) for fn in PROGRAMS]
    by = {c["name"]: c for c in programs}
    check_index_copy_matches_indexing(inputs, by["index_copy_"])
    # null exactly for the leaves a program never touches
    for c in programs:
        src = c["program"]
        for k in GRAD_INPUTS:
            used = re.search(rf"\b{k}\b", src) is not None
            assert (c["grads"][k] is None) == (not used), (c["name"], k)
    errors = [version_error_case(fn, inputs) for fn in VERSION_ERRORS]
    for c in programs + errors:
        assert c["name"] == c["name"].strip() and c["program"], c["name"]
    assert len({c["name"] for c in programs + errors}) == len(programs) + len(errors), "duplicate names"
    top = {"torch_version": torch.__version__,
           "inputs": {k: input_json(k, v) for k, v in inputs.items()},
           "programs": programs, "version_errors": errors}
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(OUT, top)
    json.loads(OUT.read_text())
    print(f"{len(programs)} programs, {len(errors)} version errors")

if __name__ == "__main__":
    main()
