#!/usr/bin/env python3
"""Generate PyTorch golden values for the tandem-core test suite.

Writes three fixtures under crates/tandem-core/tests/fixtures/:
  ops_goldens.json   forward values of small expressions
  grad_goldens.json  first- and second-order gradients of composite expressions
  seed_linreg.json   the seed post's linear regression, step by step
Run by hand (see README.md next to this file); PyTorch is not a project dependency.
"""

import torch
import torch.nn.functional as F

import goldens_io
from goldens_io import ROOT, write_json
FIXTURES = ROOT / "crates" / "tandem-core" / "tests" / "fixtures"
f32, f64, i64, i32, u8, b8 = torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8, torch.bool
DTYPES = {"float32": f32, "float64": f64, "int64": i64, "int32": i32, "uint8": u8, "bool": b8}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}

# ------------------------------------------------------------------------------------- interpreter
UNARY = ["neg", "abs", "sign", "round", "ceil", "floor", "square", "sqrt", "exp", "log",
         "log1p", "expm1", "sin", "cos", "tanh", "sigmoid", "relu", "reciprocal", "rsqrt"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le",
          "gt", "ge", "logical_and", "logical_or"]
PLAIN = UNARY + BINARY + ["logical_not", "isnan", "max", "min", "where",
                          "matmul", "mm", "bmm", "dot", "outer"]

def _all_or_dims(fn):
    """sum/mean: attribute `dims` absent means a reduction over all elements."""
    return lambda x, dims=None, keepdim=False: fn(x) if dims is None else fn(x, dims, keepdim)

def _along(fn):
    """softmax/log_softmax/cumsum/cumprod: fn(x, dim)."""
    return lambda x, dim: fn(x, dim)

OPS = {name: getattr(torch, name) for name in PLAIN}
OPS.update({name: _along(getattr(torch, name)) for name in ("softmax", "log_softmax", "cumsum", "cumprod")})
OPS.update({
    "contiguous": lambda x: x.contiguous(), "t": lambda x: x.t(),
    "clamp": lambda x, min=None, max=None: torch.clamp(x, min, max),
    "add_scalar": lambda x, value: x + value, "sub_scalar": lambda x, value: x - value,
    "rsub_scalar": lambda x, value: value - x, "mul_scalar": lambda x, value: x * value,
    "div_scalar": lambda x, value: x / value, "pow_scalar": lambda x, exponent: torch.pow(x, exponent),
    "sum": _all_or_dims(torch.sum), "mean": _all_or_dims(torch.mean),
    "logsumexp": lambda x, dims, keepdim=False: torch.logsumexp(x, dims, keepdim),
    "prod": lambda x, dim=None: torch.prod(x) if dim is None else torch.prod(x, dim),
    "max_dim": lambda x, dim, keepdim=False: torch.max(x, dim, keepdim).values,
    "max_dim_indices": lambda x, dim, keepdim=False: torch.max(x, dim, keepdim).indices,
    "min_dim": lambda x, dim, keepdim=False: torch.min(x, dim, keepdim).values,
    "argmax": lambda x, dim=None, keepdim=False: torch.argmax(x, dim, keepdim),
    "argmin": lambda x, dim=None, keepdim=False: torch.argmin(x, dim, keepdim),
    "var": lambda x, correction, dims=None, keepdim=False: torch.var(x, dims, correction=correction, keepdim=keepdim),
    "std": lambda x, correction, dims=None, keepdim=False: torch.std(x, dims, correction=correction, keepdim=keepdim),
    "reshape": lambda x, shape: x.reshape(shape), "expand": lambda x, shape: x.expand(shape),
    "transpose": lambda x, d0, d1: x.transpose(d0, d1), "permute": lambda x, dims: x.permute(dims),
    "unsqueeze": lambda x, dim: x.unsqueeze(dim),
    "squeeze": lambda x, dim=None: x.squeeze() if dim is None else x.squeeze(dim),
    "narrow": lambda x, dim, start, length: x.narrow(dim, start, length),
    "select": lambda x, dim, index: x.select(dim, index),
    "slice": lambda x, dim, start, end, step: x[(slice(None),) * (dim % x.dim()) + (slice(start, end, step),)],
    "flatten": lambda x, start, end: torch.flatten(x, start, end),
    "cat": lambda xs, dim: torch.cat(xs, dim), "stack": lambda xs, dim: torch.stack(xs, dim),
    "gather": lambda x, index, dim: torch.gather(x, dim, index),
    "index_select": lambda x, index, dim: torch.index_select(x, dim, index),
    "masked_fill": lambda x, mask, value: x.masked_fill(mask, value),
    "one_hot": lambda x, num_classes: F.one_hot(x, num_classes),
    "split_part": lambda x, size, dim, part: torch.split(x, size, dim)[part],
    "chunk_part": lambda x, chunks, dim, part: torch.chunk(x, chunks, dim)[part],
    "to": lambda x, dtype: x.to(DTYPES[dtype]),
})

def evaluate(expr, inputs):
    """Evaluate an expression ("xN" or [op, args..., {attrs}]) over a list of input tensors."""
    if isinstance(expr, str):
        return inputs[int(expr[1:])]
    name, *args = expr
    attrs = args.pop() if args and isinstance(args[-1], dict) else {}
    if name in ("cat", "stack"):  # first argument is a JSON list of expressions
        return OPS[name]([evaluate(e, inputs) for e in args[0]], **attrs)
    return OPS[name](*(evaluate(e, inputs) for e in args), **attrs)

def E(op, *args, **attrs):
    """Build an expression node; the attribute object is present only when non-empty."""
    return [op, *args] + ([attrs] if attrs else [])

def ops_used(expr):
    if not isinstance(expr, list):
        return set()
    own = {expr[0]} if isinstance(expr[0], str) and expr[0] in OPS else set()
    return own.union(*(ops_used(e) for e in expr))

# ------------------------------------------------------------------------------------- inputs
class Inp:
    """A fixture input: a contiguous base tensor, optionally used as the view base.permute(perm)."""

    def __init__(self, base, perm=None, rg=False):
        self.base, self.perm, self.rg = base, perm, rg

    def make(self):
        leaf = self.base.clone().requires_grad_(self.rg)
        return leaf.permute(*self.perm) if self.perm else leaf

    def to_json(self, grad_flag=False):
        d = tensor_json(self.base)
        d.update({"permute": list(self.perm)} if self.perm else {})
        d.update({"requires_grad": self.rg} if grad_flag else {})
        return d

def tensor_json(t, with_dtype=True):
    """The shared encoding, with the dtype's name when asked."""
    return goldens_io.tensor_json(t, DTYPE_NAMES[t.dtype] if with_dtype else None)

def U(shape, lo=-2.0, hi=2.0, dtype=f32, perm=None, rg=False):
    """Uniform values on a 1/128 grid offset by 1/256: never an integer, a .5 tie, or zero."""
    v = torch.rand(shape, dtype=f64) * (hi - lo) + lo
    return Inp(((torch.floor(v * 128) + 0.5) / 128).to(dtype), perm, rg)

def R(shape, lo, hi, dtype=i64, perm=None):
    """Random integers in [lo, hi), cast to dtype (float dtype: ties on purpose; bool: a mask)."""
    return Inp(torch.randint(lo, hi, shape).to(dtype), perm)

def T(values, dtype=f32, perm=None, rg=False):
    return Inp(torch.tensor(values, dtype=dtype), perm, rg)

# ------------------------------------------------------------------------------------- ops_goldens
OP_CASES = []

def case(name, expr, *inps):
    out = evaluate(expr, [i.make() for i in inps])
    OP_CASES.append({"name": name, "expr": expr, "inputs": [i.to_json() for i in inps], "out": tensor_json(out)})

def seed_cases():
    for name, op, a, b in [("add", "add", [1., 2.], [3., 4.]), ("subtract", "sub", [5., 6.], [2., 1.]),
                           ("multiply", "mul", [2., 3.], [4., 5.]), ("divide", "div", [10., 15.], [2., 3.]),
                           ("maximum", "maximum", [1., 2.], [3., 1.]), ("minimum", "minimum", [1., 2.], [3., 1.])]:
        case(f"seed_{name}", E(op, "x0", "x1"), T(a), T(b))
    case("seed_pow", E("pow_scalar", "x0", exponent=3), T([2., 3.]))
    for op, a in [("neg", [4., -5.]), ("abs", [-2., 3.]), ("sign", [-2., 3.]), ("round", [1.6, 2.4]),
                  ("ceil", [1.6, 2.4]), ("floor", [1.6, 2.4]), ("square", [2., 3.]), ("sqrt", [4., 9.]),
                  ("log", [2., 3., 4.])]:
        case(f"seed_{op}", E(op, "x0"), T(a))
    case("seed_cumsum", E("cumsum", "x0", dim=0), T([2., 3., 4.]))
    case("seed_cumprod", E("cumprod", "x0", dim=0), T([2., 3., 4.]))

def unary_input(op, dtype, shape, perm=None):
    if op in ("sqrt", "log", "rsqrt", "reciprocal"):
        return U(shape, 0.5, 3.0, dtype, perm)
    if op == "round":  # exact .5 ties (round half to even) followed by ordinary values
        ties = torch.tensor([-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5, -0.4, 0.6, 2.51], dtype=f64)
        extra = U((torch.Size(shape).numel() - len(ties),), -4, 4, f64).base
        return Inp(torch.cat([ties, extra]).reshape(shape).to(dtype), perm)
    return U(shape, -0.5 if op == "log1p" else -2.0, 2.0, dtype, perm)

def unary_cases():
    for op in UNARY:
        case(f"{op}_f32", E(op, "x0"), unary_input(op, f32, (3, 4)))
        case(f"{op}_f64_permuted", E(op, "x0"), unary_input(op, f64, (4, 2, 3), (1, 2, 0)))
    for dt in (i64, i32):
        for op, attrs in [("neg", {}), ("abs", {}), ("sign", {}), ("square", {}), ("clamp", dict(min=-2, max=3))]:
            case(f"{op}_{DTYPE_NAMES[dt]}", E(op, "x0", **attrs), R((3, 4), -5, 6, dt))
    case("clamp_int64_float_bound_promotes", E("clamp", "x0", min=-1.5, max=None), R((6,), -4, 4))
    case("clamp_f32_both", E("clamp", "x0", min=-0.5, max=1.0), U((3, 4)))
    case("clamp_f32_min_only", E("clamp", "x0", min=0.25, max=None), U((3, 4)))
    case("clamp_f64_max_only_perm", E("clamp", "x0", min=None, max=-0.25), U((4, 3), dtype=f64, perm=(1, 0)))
    case("logical_not_bool", E("logical_not", "x0"), R((2, 3), 0, 2, b8))
    case("logical_not_f32", E("logical_not", "x0"), R((2, 3), -1, 2, f32))
    case("logical_not_int64", E("logical_not", "x0"), R((6,), -1, 2))
    case("isnan_zero_by_zero", E("isnan", E("div", "x0", "x1")), T([0., 1., -1., 0., 2.]), T([0., 0., 0., 2., 0.]))
    case("isnan_log_negative_f64", E("isnan", E("log", "x0")), U((2, 3), -1, 1, f64))
    case("isnan_finite", E("isnan", "x0"), U((3, 2)))
    case("contiguous_f32_perm", E("contiguous", "x0"), U((2, 3, 4), perm=(2, 0, 1)))
    case("contiguous_int64_transposed", E("contiguous", "x0"), R((3, 4), -9, 9, perm=(1, 0)))

BCAST = [  # ((base shape, perm), (base shape, perm)) for the two operands
    (((3, 4), None), ((4,), None)), (((2, 1, 4), None), ((3, 1), None)),
    (((5,), None), ((), None)), (((2, 3), None), ((2, 1), None)),
    (((4, 3), (1, 0)), ((3, 4), None)), (((3, 2, 4), (1, 2, 0)), ((3, 4), (1, 0))),
]

def binary_input(op, which, shape, perm, dtype):
    if op == "pow" and which == 0 or op == "div" and which == 1:  # positive base / denominator
        return U(shape, 0.5, 3.0, dtype, perm)
    if op.startswith("logical"):  # bool operands, or floats in {-1, 0, 1} (truthiness)
        return R(shape, 0, 2, b8, perm) if dtype == f32 else R(shape, -1, 2, dtype, perm)
    if op in ("add", "sub", "mul", "div", "pow"):
        return U(shape, -2, 2, dtype, perm)
    return R(shape, -2, 3, dtype, perm)  # comparisons / maximum / minimum: ties on purpose

def binary_cases():
    for op in BINARY:
        for k, operands in enumerate(BCAST):
            inps = [binary_input(op, w, s, p, (f32, f64)[k % 2]) for w, (s, p) in enumerate(operands)]
            shapes = "_".join("x".join(map(str, i.make().shape)) or "0d" for i in inps)
            case(f"{op}_{shapes}{'_perm' if any(i.perm for i in inps) else ''}", E(op, "x0", "x1"), *inps)

def mixed_cases():
    pairs = [("f32_f64", U((2, 3)), U((3,), dtype=f64)), ("i64_f32", R((2, 3), -5, 6), U((2, 3))),
             ("i32_i64", R((2, 3), 1, 6, i32), R((3,), 1, 5)), ("u8_i64", R((2, 3), 0, 200, u8), R((2, 3), 1, 9)),
             ("i64_0d_f64", R((2, 3), -5, 6), T(1.75, f64)), ("f32_0d_f64", U((2, 3)), T(1.75, f64))]
    for op in ("add", "mul", "div"):
        for name, a, b in pairs:
            case(f"{op}_mixed_{name}", E(op, "x0", "x1"), a, b)
    case("add_mixed_bool_i64", E("add", "x0", "x1"), R((2, 3), 0, 2, b8), R((2, 3), -5, 6))
    case("div_i64_i64_true_division", E("div", "x0", "x1"), R((2, 3), -9, 10), R((2, 3), 1, 4))
    case("div_i32_i32_true_division", E("div", "x0", "x1"), R((5,), -9, 10, i32), T([3, 2, 7, 4, 6], i32))
    case("sub_mixed_f32_i64_perm", E("sub", "x0", "x1"), U((4, 3), perm=(1, 0)), R((4,), -3, 3))
    scalars = {"add_scalar": [2, 2.5], "sub_scalar": [3, 0.25], "rsub_scalar": [1, 1.5],
               "mul_scalar": [2, 2.5], "div_scalar": [2, 0.5], "pow_scalar": [3, 0.5]}
    for op, vals in scalars.items():
        pos = op == "pow_scalar"  # pow: non-negative bases only
        for v in vals:
            attrs = {"exponent" if pos else "value": v}
            case(f"{op}_float32_{type(v).__name__}", E(op, "x0", **attrs), U((2, 3), 0.5 if pos else -2, 3 if pos else 2))
            case(f"{op}_int64_{type(v).__name__}", E(op, "x0", **attrs), R((2, 3), 0 if pos else -5, 6))
    case("mul_scalar_int32_float", E("mul_scalar", "x0", value=2.5), R((4,), -5, 6, i32))
    case("mul_scalar_f64_float", E("mul_scalar", "x0", value=-1.5), U((4,), dtype=f64))
    case("pow_scalar_f64_negative", E("pow_scalar", "x0", exponent=-1.5), U((2, 3), 0.5, 3, f64))

def reduction_cases():
    x = lambda dt=f32: U((3, 4), dtype=dt)
    x3p = lambda dt=f32: U((4, 2, 3), dtype=dt, perm=(1, 2, 0))  # used shape (2, 3, 4), non-contiguous
    ties = lambda: T([[1., 3., 3., 0.], [2., 2., 1., 2.], [0., 0., 0., 0.]])
    for op in ("sum", "mean"):
        for name, inp, attrs in [("all", x(), {}), ("dim1", x(), dict(dims=[1])),
                                 ("dim0_keepdim", x(), dict(dims=[0], keepdim=True)),
                                 ("dims02_3d", U((2, 3, 4)), dict(dims=[0, 2])),
                                 ("neg_dim_keepdim_perm", x3p(), dict(dims=[-1], keepdim=True)),
                                 ("neg_dims_perm_f64", x3p(f64), dict(dims=[-1, -3]))]:
            case(f"{op}_{name}", E(op, "x0", **attrs), inp)
    for dt, lo, hi in ((i64, -5, 6), (i32, -5, 6), (b8, 0, 2), (u8, 0, 200)):  # uint8 sums exceed 255
        case(f"sum_{DTYPE_NAMES[dt]}_all", E("sum", "x0"), R((3, 4), lo, hi, dt))
        case(f"sum_{DTYPE_NAMES[dt]}_dim0", E("sum", "x0", dims=[0]), R((3, 4), lo, hi, dt))
    case("prod_all", E("prod", "x0"), U((3, 4), 0.5, 1.5))
    case("prod_dim1_f64", E("prod", "x0", dim=1), U((3, 4), -1.5, 1.5, f64))
    case("prod_int64_dim_neg_perm", E("prod", "x0", dim=-1), R((4, 3), -3, 4, perm=(1, 0)))
    for op in ("max", "min"):
        case(f"{op}_all_ties", E(op, "x0"), ties())
    case("max_all_int64", E("max", "x0"), R((5,), -9, 9))
    case("min_all_f64_perm", E("min", "x0"), x3p(f64))
    for op in ("max_dim", "max_dim_indices", "min_dim", "argmax", "argmin"):
        case(f"{op}_ties_dim1", E(op, "x0", dim=1, keepdim=False), ties())
        case(f"{op}_ties_dim0_keepdim", E(op, "x0", dim=0, keepdim=True), ties())
        case(f"{op}_perm_dim_neg", E(op, "x0", dim=-1, keepdim=False), R((4, 2, 3), 0, 3, f32, (1, 2, 0)))
    for op in ("argmax", "argmin"):
        case(f"{op}_all_ties", E(op, "x0", dim=None, keepdim=False), ties())
        case(f"{op}_all_keepdim", E(op, "x0", dim=None, keepdim=True), x())
        case(f"{op}_int64_perm", E(op, "x0", dim=-1, keepdim=False), R((4, 3), 0, 3, perm=(1, 0)))
    for op in ("var", "std"):
        case(f"{op}_all", E(op, "x0", correction=1, keepdim=False), x())
        case(f"{op}_dim1_corr0_keepdim", E(op, "x0", dims=[1], correction=0, keepdim=True), x())
        case(f"{op}_dims02_perm_f64", E(op, "x0", dims=[0, 2], correction=1, keepdim=False), x3p(f64))
        case(f"{op}_dim_neg", E(op, "x0", dims=[-2], correction=1, keepdim=False), x())
    large = [[1000., 1001., 1002.], [-1000., 0., 1000.], [3., 1., 2.]]
    for name, inp, dims, keep in [("dim1", x(), [1], False), ("dims01_keepdim_f64", x(f64), [0, 1], True),
                                  ("large", T(large), [-1], False), ("perm", x3p(), [-1], False)]:
        case(f"logsumexp_{name}", E("logsumexp", "x0", dims=dims, keepdim=keep), inp)
    for op in ("softmax", "log_softmax"):
        for d in (0, 1, -1):
            case(f"{op}_dim{d}", E(op, "x0", dim=d), x((f32, f64)[d % 2]))
            case(f"{op}_large_dim{d}", E(op, "x0", dim=d), T(large))
        case(f"{op}_perm_3d", E(op, "x0", dim=1), x3p())
    for op in ("cumsum", "cumprod"):
        for d in (0, 1):
            case(f"{op}_dim{d}", E(op, "x0", dim=d), U((3, 4), -1.5, 1.5))
        case(f"{op}_perm_f64", E(op, "x0", dim=-1), x3p(f64))
        case(f"{op}_int64", E(op, "x0", dim=1), R((3, 4), -3, 4))
    case("cumsum_int32_to_int64", E("cumsum", "x0", dim=0), R((3, 2), -3, 4, i32))
    case("cumsum_bool", E("cumsum", "x0", dim=0), R((5,), 0, 2, b8))

def view_cases():
    x = lambda: U((2, 3, 4))
    xp = lambda: U((4, 2, 3), perm=(1, 2, 0))  # used shape (2, 3, 4), non-contiguous
    for name, op, inp, attrs in [
            ("reshape_neg1", "reshape", x(), dict(shape=[4, -1])), ("reshape_perm", "reshape", xp(), dict(shape=[6, 4])),
            ("reshape_flat_perm_int64", "reshape", R((3, 4), -9, 9, perm=(1, 0)), dict(shape=[-1])),
            ("transpose_02", "transpose", x(), dict(d0=0, d1=2)),
            ("transpose_neg_perm", "transpose", xp(), dict(d0=-1, d1=0)),
            ("permute_201", "permute", x(), dict(dims=[2, 0, 1])), ("permute_of_perm", "permute", xp(), dict(dims=[1, 2, 0])),
            ("unsqueeze_1", "unsqueeze", U((3, 4)), dict(dim=1)), ("unsqueeze_neg", "unsqueeze", U((3, 4)), dict(dim=-1)),
            ("squeeze_all", "squeeze", U((2, 1, 3, 1)), dict(dim=None)),
            ("squeeze_dim1", "squeeze", U((2, 1, 3, 1)), dict(dim=1)),
            ("squeeze_noop", "squeeze", U((2, 1, 3, 1)), dict(dim=0)),
            ("expand_31", "expand", U((3, 1)), dict(shape=[3, 4])),
            ("expand_new_dim_neg1", "expand", U((3, 1)), dict(shape=[2, -1, 4])),
            ("narrow_dim1", "narrow", x(), dict(dim=1, start=1, length=2)),
            ("narrow_perm", "narrow", xp(), dict(dim=-1, start=2, length=2)),
            ("select_dim0", "select", x(), dict(dim=0, index=1)),
            ("select_neg_index_perm", "select", xp(), dict(dim=-1, index=-1)),
            ("slice_step2", "slice", U((3, 5)), dict(dim=1, start=0, end=5, step=2)),
            ("slice_perm", "slice", xp(), dict(dim=1, start=1, end=3, step=1)),
            ("slice_end_past_size", "slice", U((3, 5)), dict(dim=-1, start=1, end=10, step=3)),
            ("flatten_12", "flatten", x(), dict(start=1, end=2)),
            ("flatten_all_perm", "flatten", xp(), dict(start=0, end=-1)),
            ("t_2d", "t", U((3, 4)), {}), ("t_perm", "t", U((3, 4), perm=(1, 0)), {}), ("t_1d", "t", U((4,)), {})]:
        case(name, E(op, "x0", **attrs), inp)
    case("add_after_transpose", E("add", E("transpose", "x0", d0=0, d1=1), "x1"), U((4, 3)), U((4,)))

def copy_cases():
    idx = lambda v: T(v, i64)
    mask = lambda v: T(v, b8)
    case("cat_dim0", E("cat", ["x0", "x1"], dim=0), U((2, 3)), U((1, 3)))
    case("cat_dim1_perm", E("cat", ["x0", "x1"], dim=1), U((3, 2), perm=(1, 0)), U((2, 2)))
    case("cat_dim_neg_three", E("cat", ["x0", "x1", "x2"], dim=-1), U((2, 2, 1)), U((2, 2, 2)), U((2, 2, 1)))
    case("cat_mixed_f32_f64", E("cat", ["x0", "x1"], dim=0), U((2, 3)), U((1, 3), dtype=f64))
    case("cat_int64", E("cat", ["x0", "x1"], dim=0), R((2,), 0, 9), R((3,), 0, 9))
    for d in (0, 1, -1):
        case(f"stack_dim{d}", E("stack", ["x0", "x1"], dim=d), U((2, 3)), U((3, 2), perm=(1, 0)))
    case("gather_dim0", E("gather", "x0", "x1", dim=0), U((3, 4)), idx([[2, 0, 1, 2], [0, 0, 2, 1]]))
    case("gather_dim1", E("gather", "x0", "x1", dim=1), U((3, 4)), idx([[3, 3], [0, 1], [2, 0]]))
    case("gather_dim1_perm", E("gather", "x0", "x1", dim=1), U((4, 3), perm=(1, 0)), idx([[0], [3], [1]]))
    case("index_select_dim0_repeat", E("index_select", "x0", "x1", dim=0), U((3, 4)), idx([2, 0, 2]))
    case("index_select_dim1_repeat_perm", E("index_select", "x0", "x1", dim=1), U((4, 3), perm=(1, 0)), idx([1, 1, 3, 0]))
    case("masked_fill_bcast_mask", E("masked_fill", "x0", "x1", value=-1.5), U((3, 4)), mask([True, False, False, True]))
    case("masked_fill_int64_col_mask", E("masked_fill", "x0", "x1", value=7), R((3, 4), -5, 5),
         mask([[True], [False], [True]]))
    case("masked_fill_perm_f64", E("masked_fill", "x0", "x1", value=0.0), U((4, 3), dtype=f64, perm=(1, 0)),
         R((3, 4), 0, 2, b8))
    case("where_bcast", E("where", "x0", "x1", "x2"), mask([[True], [False], [True]]), U((3, 4)), U((4,)))
    case("where_mixed_f32_f64", E("where", "x0", "x1", "x2"), R((4,), 0, 2, b8), U((2, 4)), U((4,), dtype=f64))
    case("where_from_comparison", E("where", E("gt", "x0", "x1"), "x0", "x1"), U((3, 4)), U((4,)))
    case("one_hot_1d", E("one_hot", "x0", num_classes=4), idx([0, 2, 1, 3, 2]))
    case("one_hot_2d", E("one_hot", "x0", num_classes=5), idx([[0, 4, 1], [3, 3, 2]]))
    case("split_part_last_short", E("split_part", "x0", size=2, dim=1, part=2), U((3, 5)))
    case("split_part_dim0", E("split_part", "x0", size=2, dim=0, part=0), U((3, 5)))
    case("chunk_part_uneven", E("chunk_part", "x0", chunks=3, dim=1, part=1), U((3, 5)))
    case("chunk_part_6_into_4_gives_3", E("chunk_part", "x0", chunks=4, dim=-1, part=2), U((2, 6)))

def product_cases():
    for op, name, a, b in [
            ("matmul", "3x4_4x5", U((3, 4)), U((4, 5))), ("matmul", "batched_2x3x4_4x5", U((2, 3, 4)), U((4, 5))),
            ("matmul", "bcast_2x1x3x4_5x4x2", U((2, 1, 3, 4)), U((5, 4, 2))),
            ("matmul", "vec_mat", U((4,)), U((4, 5))), ("matmul", "mat_vec", U((3, 4)), U((4,))),
            ("matmul", "vec_vec", U((4,)), U((4,))), ("matmul", "vec_batched", U((4,)), U((2, 4, 3))),
            ("matmul", "batched_vec", U((2, 3, 4)), U((4,))),
            ("matmul", "transposed_both", U((4, 3), perm=(1, 0)), U((5, 4), perm=(1, 0))),
            ("matmul", "f64", U((3, 4), dtype=f64), U((4, 2), dtype=f64)),
            ("matmul", "f64_perm_3d", U((4, 2, 3), dtype=f64, perm=(1, 2, 0)), U((4, 2), dtype=f64)),
            ("mm", "3x4_4x2", U((3, 4)), U((4, 2))), ("mm", "perm", U((4, 3), perm=(1, 0)), U((4, 2))),
            ("bmm", "2x3x4_2x4x5", U((2, 3, 4)), U((2, 4, 5))),
            ("bmm", "perm_f64", U((2, 4, 3), dtype=f64, perm=(0, 2, 1)), U((4, 2, 2), dtype=f64, perm=(1, 0, 2))),
            ("dot", "f32", U((5,)), U((5,))), ("dot", "f64", U((5,), dtype=f64), U((5,), dtype=f64)),
            ("outer", "3_4", U((3,)), U((4,))), ("outer", "int64", R((3,), -4, 5), R((2,), -4, 5))]:
        case(f"{op}_{name}", E(op, "x0", "x1"), a, b)
    for name, target, inp in [
            ("f32_f64", "float64", U((2, 3))), ("f32_int64_truncates", "int64", U((2, 4), -4, 4)),
            ("f64_f32_rounds", "float32", T([0.1, 1 / 3, 2.0 ** -30, 123456789.123], f64)),
            ("int64_bool", "bool", R((5,), -2, 3)), ("bool_f32", "float32", R((5,), 0, 2, b8)),
            ("f32_uint8", "uint8", U((5,), 0, 250)), ("int64_int32_perm", "int32", R((3, 2), -9, 9, perm=(1, 0)))]:
        case(f"to_{name}", E("to", "x0", dtype=target), inp)

# ------------------------------------------------------------------------------------- grad_goldens
FIRST, SECOND = [], []

def grad_entry(name, expr, inps, second_order=False):
    views = [i.make() for i in inps]
    out = evaluate(expr, views)
    loss = out if out.dim() == 0 else out.sum()
    wrt = [v for v, i in zip(views, inps) if i.rg]
    per_input = lambda gs: [tensor_json(next(gs), False) if i.rg else None for i in inps]
    entry = {"name": name, "expr": expr, "inputs": [i.to_json(True) for i in inps]}
    if not second_order:
        FIRST.append({**entry, "out": tensor_json(out), "grads": per_input(iter(torch.autograd.grad(loss, wrt)))})
        return
    g = torch.autograd.grad(loss, wrt, create_graph=True)
    g2 = torch.autograd.grad(sum(gi.sum() for gi in g), wrt, allow_unused=True, materialize_grads=True)
    SECOND.append({**entry, "grads": per_input(iter(g)), "grads2": per_input(iter(g2))})

def first_order_cases():
    G = lambda shape, lo=-2.0, hi=2.0, dt=f64, perm=None: U(shape, lo, hi, dt, perm, rg=True)
    W = lambda shape: U(shape, -2, 2, f64)  # constant weights, no grad
    TG = lambda v, dt=f64: T(v, dt, rg=True)
    x0, x1, x2 = "x0", "x1", "x2"
    sq = lambda e: E("square", e)
    mw = lambda e: E("mul", e, x1)  # weight the result by the constant input x1
    gc = lambda name, expr, *inps: grad_entry(name, expr, inps)
    tie_a, tie_b = [[1., 2., 3.], [4., 0., -1.]], [[1., 5., 3.], [2., 0., 0.]]
    gc("mul_exp_bcast", E("mul", x0, E("exp", x1)), G((3, 4)), G((4,)))
    gc("mul_exp_bcast_f32", E("mul", x0, E("exp", x1)), G((3, 4), dt=f32), G((4,), dt=f32))
    gc("matmul_relu_mean", E("mean", E("relu", E("matmul", x0, x1))), G((3, 4)), G((4, 5)))
    gc("matmul_relu_mean_f32_perm", E("mean", E("relu", E("matmul", x0, x1))),
       G((4, 3), dt=f32, perm=(1, 0)), G((4, 5), dt=f32))
    gc("softmax_log_mul", mw(E("log", E("softmax", x0, dim=1))), G((3, 4)), W((3, 4)))
    gc("nll_log_softmax_gather", E("neg", E("mean", E("gather", E("log_softmax", x0, dim=1), x1, dim=1))),
       G((4, 5)), T([[1], [0], [4], [1]], i64))
    gc("where_mask_bcast", E("where", x2, sq(x0), E("sin", x1)), G((3, 4)), G((4,)), T([True, False, True, False], b8))
    gc("masked_fill_mul", mw(E("masked_fill", x0, x2, value=2.0)), G((3, 4)), G((3, 4)), T([[True], [False], [True]], b8))
    gc("maximum_ties", mw(E("maximum", x0, x2)), TG(tie_a), W((2, 3)), TG(tie_b))
    gc("minimum_ties", mw(E("minimum", x0, x2)), TG(tie_a), W((2, 3)), TG(tie_b))
    gc("max_dim_ties", mw(E("max_dim", x0, dim=1, keepdim=False)), TG([[1., 3., 3.], [2., 2., 0.]]), W((2,)))
    gc("max_dim_keepdim_dim0_ties", mw(E("max_dim", x0, dim=0, keepdim=True)), TG([[1., 3.], [1., 2.]]), W((1, 2)))
    gc("min_dim_ties", mw(E("min_dim", x0, dim=-1, keepdim=False)), TG([[0., 1., 0.], [5., 2., 4.]]), W((2,)))
    gc("max_all_ties_even", E("max", x0), TG([[3., 1., 3.], [0., 3., 2.]]))
    gc("min_all_ties_even_f32", E("min", x0), TG([[-1., 1., -1.], [0., 3., 2.]], f32))
    gc("cumsum_dim1", mw(E("cumsum", x0, dim=1)), G((3, 4)), W((3, 4)))
    gc("cumprod_dim0", mw(E("cumprod", x0, dim=0)), G((3, 4), 0.5, 1.5), W((3, 4)))
    gc("transpose_mul", mw(E("transpose", x0, d0=0, d1=1)), G((3, 4)), W((4, 3)))
    gc("permute_mul", mw(E("permute", x0, dims=[2, 0, 1])), G((2, 3, 4)), W((4, 2, 3)))
    gc("expand_mul", mw(E("expand", x0, shape=[3, 4])), G((3, 1)), W((3, 4)))
    gc("narrow_square", sq(E("narrow", x0, dim=1, start=1, length=2)), G((3, 4)))
    gc("select_mul", mw(E("select", x0, dim=0, index=1)), G((3, 4)), W((4,)))
    gc("slice_step_exp", E("exp", E("slice", x0, dim=1, start=0, end=5, step=2)), G((3, 5)))
    gc("cat_mul", E("mul", E("cat", [x0, x1], dim=0), x2), G((2, 3)), G((1, 3)), W((3, 3)))
    gc("stack_mul", E("mul", E("stack", [x0, x1], dim=1), x2), G((2, 3)), G((2, 3)), W((2, 2, 3)))
    gc("index_select_repeat", mw(E("index_select", x0, x2, dim=0)), G((3, 2)), W((4, 2)), T([0, 2, 0, 0], i64))
    gc("gather_dim0", mw(E("gather", x0, x2, dim=0)), G((3, 2)), W((2, 2)), T([[2, 2], [0, 2]], i64))
    gc("div_bcast", E("div", x0, x1), G((3, 4)), G((4,), 0.5, 3.0))
    gc("pow_tensor_exponent", E("pow", x0, x1), G((3, 4), 0.5, 3.0), G((3, 4)))
    gc("sqrt_rsqrt_reciprocal", E("add", E("sqrt", x0), E("mul", E("rsqrt", x0), E("reciprocal", x1))),
       G((2, 3), 0.5, 3.0), G((2, 3), 0.5, 3.0))
    gc("tanh_sigmoid", E("mul", E("tanh", x0), E("sigmoid", x1)), G((2, 3)), G((2, 3)))
    gc("abs_sign", E("add", E("mul", E("abs", x0), x1), E("sign", x0)), G((2, 3)), G((2, 3)))
    gc("round_floor_ceil", E("add", E("add", E("round", x0), E("floor", x0)), E("mul", E("ceil", x0), x1)),
       G((2, 3)), G((2, 3)))
    gc("clamp_both_sides", mw(E("clamp", x0, min=-0.5, max=0.5)), G((3, 4)), W((3, 4)))
    gc("var_dim1", E("var", x0, dims=[1], correction=1, keepdim=False), G((3, 4)))
    gc("std_all_corr0", E("std", x0, correction=0, keepdim=False), G((3, 4)))
    gc("var_keepdim_perm", mw(E("var", x0, dims=[0, 2], correction=1, keepdim=True)),
       G((4, 2, 3), perm=(1, 2, 0)), W((1, 3, 1)))
    gc("logsumexp_dim1", mw(E("logsumexp", x0, dims=[1], keepdim=False)), G((3, 4)), W((3,)))
    gc("logsumexp_large", E("logsumexp", x0, dims=[-1], keepdim=True), TG([[1000., 1001.], [-5., -1000.]]))
    gc("bmm_tanh", E("tanh", E("bmm", x0, x1)), G((2, 3, 4)), G((2, 4, 2)))
    gc("dot", E("dot", x0, x1), G((5,)), G((5,)))
    gc("outer_mul", E("mul", E("outer", x0, x1), x2), G((3,)), G((4,)), W((3, 4)))
    gc("sub_bcast_0d", sq(E("sub", x0, x1)), G((3, 4)), G(()))
    gc("matmul_perm_inputs", mw(E("matmul", x0, x2)), G((4, 3), perm=(1, 0)), W((2, 3, 3)), G((2, 3, 4), perm=(0, 2, 1)))
    gc("center_mean_keepdim", sq(E("sub", x0, E("mean", x0, dims=[1], keepdim=True))), G((3, 4)))
    gc("softmax_dim0_weighted", mw(E("softmax", x0, dim=0)), G((3, 4)), W((3, 4)))
    gc("log_softmax_perm_3d", mw(E("log_softmax", x0, dim=-1)), G((4, 2, 3), perm=(1, 2, 0)), W((2, 3, 4)))
    gc("prod_dim1", E("prod", x0, dim=1), G((3, 4), -1.5, 1.5))
    gc("prod_all_f32", E("prod", x0), G((2, 3), 0.5, 1.5, f32))
    gc("expm1_log1p_sin_cos", E("add", E("mul", E("expm1", x0), E("cos", x1)), E("log1p", E("sin", x1))),
       G((2, 3)), G((2, 3), 0.1, 1.5))
    gc("reshape_matmul", E("matmul", E("reshape", x0, shape=[3, -1]), x1), G((2, 6)), G((4, 2)))
    gc("flatten_unsqueeze_squeeze", mw(E("squeeze", E("unsqueeze", E("flatten", x0, start=0, end=1), dim=1), dim=1)),
       G((2, 3, 2)), W((6, 2)))
    chain = x0
    for op, v in [("add_scalar", 1), ("sub_scalar", 0.5), ("mul_scalar", 2), ("div_scalar", 4), ("rsub_scalar", 3)]:
        chain = E(op, chain, value=v)
    gc("scalar_ops_chain", E("pow_scalar", chain, exponent=2.5), G((2, 3)))
    gc("split_chunk_parts", E("add", E("split_part", x0, size=2, dim=1, part=1),
                              sq(E("chunk_part", x0, chunks=2, dim=1, part=0))), G((3, 4)))
    gc("neg_exp_log_t", E("mul", E("neg", E("log", E("exp", E("t", x0)))), x1), G((3, 2)), G((2, 3)))
    gc("maximum_bcast_f32", E("maximum", x0, x1), G((3, 4), dt=f32), G((4,), dt=f32))
    gc("where_both_branches_bcast", E("where", E("gt", x0, x1), E("mul", x0, x1), E("sub", x0, x1)), G((3, 4)), G((4,)))
    gc("mean_all_0d_out_f32", E("mean", sq(x0)), G((2, 3), dt=f32))

def second_order_cases():
    G = lambda shape, lo=-1.5, hi=1.5, perm=None: U(shape, lo, hi, f64, perm, rg=True)
    C = lambda shape: U(shape, 0.5, 2.0, f64)  # constant, no grad
    for name, expr, inps in [
            ("pow3", E("pow_scalar", "x0", exponent=3), [G((2, 3))]),
            ("sin_mul_exp", E("mul", E("sin", "x0"), E("exp", "x0")), [G((2, 3))]),
            ("tanh", E("tanh", "x0"), [G((2, 3))]),
            ("sigmoid_perm", E("sigmoid", "x0"), [G((2, 3), perm=(1, 0))]),
            # (log_)softmax grads sum to 0 along dim, so scale the logits by a constant x2 first:
            # otherwise grads2 would be pure rounding noise.
            ("log_softmax_weighted", E("mul", E("log_softmax", E("mul", "x0", "x2"), dim=1), "x1"),
             [G((2, 4)), C((2, 4)), C((2, 4))]),
            ("product_two_inputs", E("mul", "x0", "x1"), [G((2, 3)), G((2, 3))]),
            ("matmul_square", E("square", E("matmul", "x0", "x1")), [G((2, 3)), G((3, 2))]),
            ("softmax_weighted", E("mul", E("softmax", E("mul", "x0", "x2"), dim=-1), "x1"),
             [G((2, 4)), C((2, 4)), C((2, 4))]),
            ("exp_log_reciprocal", E("add", E("exp", "x0"), E("mul", E("log", "x1"), E("reciprocal", "x1"))),
             [G((3,)), G((3,), 0.5, 3.0)])]:
        grad_entry(name, expr, inps, second_order=True)

# ------------------------------------------------------------------------------------- seed_linreg
def linreg(cost_fn, steps=100, lr=0.01):
    x = torch.tensor([1., 2., 3., 4., 5.])
    y = torch.tensor([1., 2., 3., 4., 5.])
    W = torch.tensor(2.9, requires_grad=True)
    b = torch.tensor(0.5, requires_grad=True)
    log = []
    for i in range(steps):
        cost = cost_fn(W * x + b, y)
        W_grad, b_grad = torch.autograd.grad(cost, [W, b])
        with torch.no_grad():
            W -= lr * W_grad
            b -= lr * b_grad
        log.append({"i": i, "cost": cost.item(), "W": W.item(), "b": b.item()})
    with torch.no_grad():
        cost_after = cost_fn(W * x + b, y).item()
    final = {"W": W.item(), "b": b.item(), "cost": log[-1]["cost"], "cost_after": cost_after}
    return {"lr": lr, "steps": log, "final": final}

def seed_linreg():
    torch_style = linreg(lambda hyp, y: torch.mean((hyp - y) ** 2))
    tf_style = linreg(lambda hyp, y: torch.mean(torch.square(hyp - y)))
    assert torch_style == tf_style, "(h - y) ** 2 and square(h - y) formulations diverged"
    return torch_style

# ------------------------------------------------------------------------------------- output
def main():
    torch.manual_seed(0)
    for gen in (seed_cases, unary_cases, binary_cases, mixed_cases, reduction_cases, view_cases,
                copy_cases, product_cases, first_order_cases, second_order_cases):
        gen()
    for cases in (OP_CASES, FIRST, SECOND):
        assert len({c["name"] for c in cases}) == len(cases), "duplicate case names"
    missing = set(OPS) - set().union(*(ops_used(c["expr"]) for c in OP_CASES))
    assert not missing, f"ops without a forward case: {sorted(missing)}"
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(FIXTURES / "ops_goldens.json", {"cases": OP_CASES})
    write_json(FIXTURES / "grad_goldens.json", {"first_order": FIRST, "second_order": SECOND})
    write_json(FIXTURES / "seed_linreg.json", seed_linreg())
    print(f"{len(OP_CASES)} op cases, {len(FIRST)} first-order, {len(SECOND)} second-order grad cases")

if __name__ == "__main__":
    main()
