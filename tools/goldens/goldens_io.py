"""What every golden script shares: the repository root, the fixture writer, the tensor
encoding the Rust tests read (`tandem_core::testing`), and the closeness check used to test a
reference implementation against the framework before its values are written."""

import json
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def as_array(t):
    """A torch tensor, TensorFlow tensor or array-like as a numpy array (its own dtype)."""
    if hasattr(t, "detach"):
        t = t.detach().cpu().numpy()
    elif hasattr(t, "numpy"):
        t = t.numpy()
    return np.asarray(t)


def tensor_json(t, dtype=None):
    """`{"shape", "data"}` (and `"dtype"` when given): row-major data, float32 values written
    as the exactly equal float64."""
    a = as_array(t)
    d = {"data": a.reshape(-1).tolist(), "shape": list(a.shape)}
    return {**d, "dtype": dtype} if dtype is not None else d


def opt_json(t):
    return None if t is None else tensor_json(t)


def check_close(name, got, want, tol=1e-12):
    """Both absent, or equal shapes and max |got - want| <= tol * (1 + max |want|)."""
    if got is None or want is None:
        assert got is None and want is None, name
        return
    got, want = as_array(got).astype(np.float64), as_array(want).astype(np.float64)
    err = np.abs(got - want).max() if got.size else 0.0
    assert got.shape == want.shape and err <= tol * (1 + np.abs(want).max()), (name, got.shape, want.shape, err)


def write_json(path, top):
    """One list item (or one top-level key) per line for readable diffs, UTF-8; NaN and
    infinities are rejected since they are not JSON."""
    parts = []
    for key, val in top.items():
        if isinstance(val, list):
            body = ",\n".join("    " + json.dumps(v, allow_nan=False, ensure_ascii=False) for v in val)
            parts.append(f'  "{key}": [\n{body}\n  ]')
        else:
            parts.append(f'  "{key}": {json.dumps(val, allow_nan=False, ensure_ascii=False)}')
    path = pathlib.Path(path)
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.1f} KiB)")
