"""Helpers for the anchor scripts in this folder: arguments, Fashion-MNIST, RESULT lines.

The scripts time PyTorch and Keras on the programs tandem's benchmark examples run, with the
same protocol (a fresh seeded model, about 20 warm-up steps, weights and optimizer state reset,
one timed shuffled epoch, test accuracy afterwards). Run them from a virtualenv outside the
project: `pip install numpy torch tensorflow-cpu keras`.
"""
import argparse
import gzip
import os
import struct
import time

import numpy as np


def parse_args(doc):
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist",
                   help="directory with the Fashion-MNIST IDX .gz files")
    p.add_argument("--reps", type=int, default=1, help="timed epochs (the median is reported)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def _idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = struct.unpack(">I", data[:4])[0]
    if got != magic:
        raise ValueError(f"{path}: magic {got:#x}, expected {magic:#x}")
    dims = struct.unpack(">" + "I" * (got & 0xFF), data[4:4 + 4 * (got & 0xFF)])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def fashion_mnist(data_dir):
    """(x_train, y_train, x_test, y_test): x float32 in [0, 1], (N, 28, 28); y int64."""
    out = []
    for split in ("train", "t10k"):
        x = _idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"), 0x803)
        y = _idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"), 0x801)
        out += [x.astype(np.float32) / np.float32(255), y.astype(np.int64)]
    return tuple(out)


def timed(fn):
    """(seconds, fn()) by the wall clock."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def result(bench, framework, value, unit):
    print(f"RESULT bench={bench} framework={framework} value={value:.6g} unit={unit}", flush=True)


def info(msg):
    print(f"# {msg}", flush=True)
