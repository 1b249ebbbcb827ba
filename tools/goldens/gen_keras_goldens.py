#!/usr/bin/env python3
"""Generate Keras 3 (TensorFlow backend, CPU) golden values for the tandem-keras test suite.

Writes under crates/tandem-keras/tests/fixtures/:
  keras_seed_init.safetensors  initial weights of the seed's Keras model (keras.utils.set_random_seed(0))
  keras_history.json           model.summary() text, total params, and History of 2 epochs of
                               fit() on 2048 MNIST-sample digits under SGD(momentum) and Adam
Run by hand (see README.md next to this file); TensorFlow/Keras are not project dependencies:
    /tmp/anchors-venv/bin/python tools/goldens/gen_keras_goldens.py
The digits are read from ../shared/data/mnist-sample (relative to the repository root).
"""
import gzip
import os

# Before TensorFlow/Keras are imported: TF backend, CPU only, plain Eigen kernels (oneDNN off,
# its results depend on the CPU's ISA), quiet logs, and a fixed console width so the rich
# table printed by model.summary() is Keras's default 88 columns whatever the terminal.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "120"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# One thread each: the reduction order is then independent of the machine's core count.
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.experimental.enable_op_determinism()

import keras  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

from goldens_io import ROOT, write_json
FIXTURES = ROOT / "crates" / "tandem-keras" / "tests" / "fixtures"
MNIST = ROOT.parent / "shared" / "data" / "mnist-sample"
N, BATCH_SIZE, EPOCHS = 2048, 64, 2
N_DENSE = 5

# (case name, optimizer factory). A fresh optimizer per run (they hold state).
CASES = [
    ("sgd", lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.5)),
    ("adam", lambda: keras.optimizers.Adam(learning_rate=1e-3)),
]

# ------------------------------------------------------------------------------------- helpers
def read_idx(path):
    """gzip-compressed IDX: big-endian magic (0x0000, dtype code 0x08 = uint8, ndim), dims, data."""
    raw = gzip.decompress(path.read_bytes())
    magic = int.from_bytes(raw[:4], "big")
    assert magic >> 8 == 0x08, f"{path.name}: not a uint8 IDX file (magic {magic:#x})"
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    assert data.size == int(np.prod(dims)), f"{path.name}: size does not match header {dims}"
    return data.reshape(dims)

def load_data():
    images = read_idx(MNIST / "train-images-idx3-ubyte.gz")[:N]
    labels = read_idx(MNIST / "train-labels-idx1-ubyte.gz")[:N]
    assert images.shape == (N, 28, 28) and labels.shape == (N,)
    return images.astype(np.float32) / np.float32(255.0), labels.astype(np.int64)

def make_model():
    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(520, activation="relu"),
        keras.layers.Dense(320, activation="relu"),
        keras.layers.Dense(240, activation="relu"),
        keras.layers.Dense(120, activation="relu"),
        keras.layers.Dense(10),
    ])

def dense_layers(model):
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(layers) == N_DENSE
    return layers

def weights_dict(model):
    """Our own keys dense_{i}.kernel ([in, out], Keras layout) / dense_{i}.bias, in layer order."""
    out = {}
    for i, layer in enumerate(dense_layers(model)):
        out[f"dense_{i}.kernel"] = np.ascontiguousarray(layer.kernel.numpy(), dtype=np.float32)
        out[f"dense_{i}.bias"] = np.ascontiguousarray(layer.bias.numpy(), dtype=np.float32)
    return out

def model_from(state):
    """A fresh model holding exactly `state` (as loaded from the safetensors file)."""
    model = make_model()
    for i, layer in enumerate(dense_layers(model)):
        layer.set_weights([state[f"dense_{i}.kernel"], state[f"dense_{i}.bias"]])
    for key, value in weights_dict(model).items():
        assert np.array_equal(value, state[key]), key
    return model

def compile_model(model, optimizer):
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])

# ------------------------------------------------------------------------------------- goldens
def seed_init():
    """Build the seed model from seed 0, save its weights; returns (summary text, total params)."""
    keras.utils.set_random_seed(0)
    model = make_model()  # the first model of the process: named "sequential", "dense", ...
    lines = []
    model.summary(print_fn=lines.append)
    summary = "".join(lines)
    path = FIXTURES / "keras_seed_init.safetensors"
    save_file(weights_dict(model), str(path))
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.1f} KiB)")
    total = int(model.count_params())
    assert total == 682_090 and "682,090" in summary, (total, summary)
    return summary, total

def run_case(state, make_optimizer, x, y):
    """fit() from the saved initial weights; History plus the final first-kernel sum."""
    keras.utils.set_random_seed(0)
    model = model_from(state)
    compile_model(model, make_optimizer())
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, verbose=0)
    hist = {k: [float(v) for v in history.history[k]] for k in ("loss", "accuracy")}
    assert set(history.history) == {"loss", "accuracy"}, history.history.keys()
    assert all(len(v) == EPOCHS for v in hist.values())
    final = weights_dict(model)
    # float64 sum of the float32 kernel (exact enough that only the weights matter)
    hist["final_dense_0_kernel_sum"] = float(np.sum(final["dense_0.kernel"], dtype=np.float64))
    return hist, final

def batch_losses(state, make_optimizer, x, y):
    """Replays the fit() run with train_on_batch, which runs the same compiled train function
    but resets the metrics first, so each call returns that one batch's loss (computed before
    the batch's update)."""
    keras.utils.set_random_seed(0)
    model = model_from(state)
    compile_model(model, make_optimizer())
    first = float(model.loss(y[:BATCH_SIZE], model(x[:BATCH_SIZE], training=False)))
    losses = []
    for _ in range(EPOCHS):
        epoch = []
        for start in range(0, N, BATCH_SIZE):
            logs = model.train_on_batch(x[start:start + BATCH_SIZE], y[start:start + BATCH_SIZE],
                                        return_dict=True)
            epoch.append(float(logs["loss"]))
        losses.append(epoch)
    assert abs(losses[0][0] - first) <= 1e-6 * abs(first), (losses[0][0], first)
    return losses, weights_dict(model)

def check_loss_averaging(name, hist, final, replay):
    """Is History's per-epoch `loss` the mean of that epoch's per-batch losses?"""
    losses, replay_final = replay
    for key in final:
        assert np.array_equal(final[key], replay_final[key]), \
            f"{name}: train_on_batch replay diverged from fit() at {key}"
    agree = True
    for epoch, (batch, logged) in enumerate(zip(losses, hist["loss"])):
        mean64 = float(np.mean(np.array(batch, dtype=np.float64)))
        # Keras's Mean metric: float32 running total += loss * batch_size, then total / count.
        total = np.float32(0.0)
        for value in batch:
            total = np.float32(total + np.float32(value) * np.float32(BATCH_SIZE))
        mean32 = float(total / np.float32(BATCH_SIZE * len(batch)))
        print(f"  {name} epoch {epoch}: history {logged!r}  float32 running mean {mean32!r}  "
              f"float64 mean {mean64!r}  (diff {logged - mean64:+.3e})  "
              f"last batch {batch[-1]!r}")
        agree &= logged == mean32 and abs(logged - mean64) <= 1e-6 * abs(mean64)
    return agree

def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    x, y = load_data()
    summary, total = seed_init()
    print(summary)
    state = load_file(str(FIXTURES / "keras_seed_init.safetensors"))  # exactly what the tests load
    assert sorted(state) == sorted(f"dense_{i}.{p}" for i in range(N_DENSE) for p in ("kernel", "bias"))
    top = {
        "data": {"source": "mnist-sample train", "n": N, "batch_size": BATCH_SIZE,
                 "scale": "x/255", "shuffle": False, "epochs": EPOCHS},
        "summary": summary,
        "total_params": total,
    }
    is_mean = True
    for name, make_optimizer in CASES:
        hist, final = run_case(state, make_optimizer, x, y)
        assert hist["loss"][-1] < hist["loss"][0], f"{name}: loss did not go down"
        top[name] = hist
        is_mean &= check_loss_averaging(name, hist, final, batch_losses(state, make_optimizer, x, y))
        print(f"  {name}: loss {hist['loss']} accuracy {hist['accuracy']}")
    top["loss_is_mean_of_batch_losses"] = bool(is_mean)
    write_json(FIXTURES / "keras_history.json", top)
    print(f"{len(CASES)} optimizer cases (TensorFlow {tf.__version__}, Keras {keras.__version__}), "
          f"loss_is_mean_of_batch_losses = {is_mean}")

if __name__ == "__main__":
    main()
