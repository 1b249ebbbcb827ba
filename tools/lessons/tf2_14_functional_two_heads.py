#!/usr/bin/env python3
"""Lesson tf2_14: the functional API with two inputs and two outputs (Keras 3, TensorFlow backend).

Each MNIST digit is cut into its left half (columns 0..13) and right half (columns 14..27),
which enter the model as two separate inputs. Each half goes through its own Flatten + Dense(64),
the two codes are concatenated and pass through a shared Dense(64), and two heads read that:
`digit` (softmax over the 10 classes) and `large` (sigmoid: is the digit >= 5?).

    left  (28, 14) -> Flatten -> Dense(64, relu) --+
                                                   +-> Concatenate -> Dense(64, relu) -> digit (10, softmax)
    right (28, 14) -> Flatten -> Dense(64, relu) --+                                 -> large (1, sigmoid)

Losses and metrics are given per output name: sparse categorical cross-entropy for `digit`,
binary cross-entropy for `large` with weight 0.5, accuracy for both. The script prints the exact
keys of `history.history`, the per-epoch values and wall time, what `evaluate` returns (a list:
loss, digit_loss, large_loss, digit_accuracy, large_accuracy, although `model.metrics_names` is
['loss', 'compile_metrics', 'digit_loss', 'large_loss']; and the same as a dict), and `digit accuracy: <x>` /
`large accuracy: <x>` on the test digits. Finally it saves the weights to a `.weights.h5` file,
builds a fresh model, loads them and checks that the predictions are identical.

Data: the MNIST sample in ../shared/data/mnist-sample (relative to the repository root; IDX files,
gzip-compressed), 8000 training and 2000 test digits, pixels scaled by 1/255.

    /tmp/anchors-venv/bin/python tools/lessons/tf2_14_functional_two_heads.py --seed 0
"""
import argparse
import gzip
import os
import pathlib
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

MNIST = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist-sample"
N_TRAIN, N_TEST = 8000, 2000
BATCH_SIZE, EPOCHS = 64, 3


def read_idx(path):
    """gzip-compressed IDX: big-endian magic (0x0000, dtype 0x08 = uint8, ndim), dims, data."""
    raw = gzip.decompress(path.read_bytes())
    magic = int.from_bytes(raw[:4], "big")
    assert magic >> 8 == 0x08, f"{path.name}: not a uint8 IDX file"
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split, n):
    """({"left", "right"} halves, {"digit", "large"} targets)."""
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(MNIST / f"{prefix}-images-idx3-ubyte.gz")[:n].astype("float32") / 255.0
    y = read_idx(MNIST / f"{prefix}-labels-idx1-ubyte.gz")[:n].astype("int64")
    assert x.shape == (n, 28, 28) and y.shape == (n,)
    inputs = {"left": x[:, :, :14], "right": x[:, :, 14:]}
    targets = {"digit": y, "large": (y >= 5).astype("float32")}
    return inputs, targets


def build_model():
    left = keras.Input((28, 14), name="left")
    right = keras.Input((28, 14), name="right")
    a = layers.Dense(64, activation="relu", name="left_dense")(layers.Flatten(name="left_flat")(left))
    b = layers.Dense(64, activation="relu", name="right_dense")(layers.Flatten(name="right_flat")(right))
    h = layers.Concatenate(name="merge")([a, b])
    h = layers.Dense(64, activation="relu", name="shared")(h)
    digit = layers.Dense(10, activation="softmax", name="digit")(h)
    large = layers.Dense(1, activation="sigmoid", name="large")(h)
    return keras.Model(inputs=[left, right], outputs=[digit, large], name="two_halves")


def compile_model(model):
    model.compile(optimizer="adam",
                  loss={"digit": "sparse_categorical_crossentropy", "large": "binary_crossentropy"},
                  loss_weights={"digit": 1.0, "large": 0.5},
                  metrics={"digit": ["accuracy"], "large": ["accuracy"]})


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        values = " ".join(f"{k} {v:.4f}" for k, v in sorted(logs.items()))
        print(f"epoch {epoch + 1}: {values} time {seconds:.2f}s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)

    x_train, y_train = load("train", N_TRAIN)
    x_test, y_test = load("test", N_TEST)

    model = build_model()
    compile_model(model)
    model.summary()
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0,
                        callbacks=[EpochTimer()])
    print(f"training time: {time.perf_counter() - start:.2f}s")
    print(f"history keys: {sorted(history.history)}")

    result = model.evaluate(x_test, y_test, verbose=0)
    print(f"metrics_names: {model.metrics_names}")
    print(f"evaluate() returns: {result}")
    as_dict = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(f"evaluate(return_dict=True): {as_dict}")
    # metrics_names lists 'compile_metrics' for all compiled metrics together, so name the
    # list's entries by matching them with the dict.
    order = [next((k for k, v in as_dict.items() if v == r), "?") for r in result]
    print(f"evaluate() list order: {order}")
    print(f"digit accuracy: {as_dict['digit_accuracy']:.4f}")
    print(f"large accuracy: {as_dict['large_accuracy']:.4f}")

    # Save the weights, rebuild the same architecture, load them back and compare predictions.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "two_halves.weights.h5")
        model.save_weights(path)
        restored = build_model()
        restored.load_weights(path)
    before = model.predict(x_test, verbose=0)
    after = restored.predict(x_test, verbose=0)
    same = all(np.array_equal(p, q) for p, q in zip(before, after))
    print(f"predictions after save_weights/load_weights identical: {same}")
    if not same:
        raise SystemExit("restored model predicts differently")


if __name__ == "__main__":
    main()
