#!/usr/bin/env python3
"""Lesson tf2_13: a learning-rate schedule (Keras 3, TensorFlow backend).

keras.io's "Simple MNIST convnet" trained with Adam whose learning rate follows
`ExponentialDecay(1e-3, decay_steps=63, decay_rate=0.7)`: with 8000 training images and batches
of 128 there are 63 steps per epoch (the last batch holds 64 images), so the rate is multiplied
by 0.7 over each epoch, continuously (staircase=False): lr(step) = 1e-3 * 0.7 ** (step / 63),
where `step` is the optimizer's iteration count before the update (0 for the first batch).

Data: the MNIST sample in ../shared/data/mnist-sample (relative to the repository root; IDX files,
gzip-compressed), 8000 training and 2000 test digits, pixels scaled by 1/255, shape (28, 28, 1).
Prints each epoch's loss, accuracy and wall time, the learning rate at the end of each epoch,
and `final test accuracy: <x>` from model.evaluate on the 2000 test digits.

    /tmp/anchors-venv/bin/python tools/lessons/tf2_13_lr_schedule.py --seed 0
"""
import argparse
import gzip
import os
import pathlib
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

MNIST = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist-sample"
N_TRAIN, N_TEST = 8000, 2000
BATCH_SIZE, EPOCHS = 128, 3


def read_idx(path):
    """gzip-compressed IDX: big-endian magic (0x0000, dtype 0x08 = uint8, ndim), dims, data."""
    raw = gzip.decompress(path.read_bytes())
    magic = int.from_bytes(raw[:4], "big")
    assert magic >> 8 == 0x08, f"{path.name}: not a uint8 IDX file"
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split, n):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(MNIST / f"{prefix}-images-idx3-ubyte.gz")[:n]
    y = read_idx(MNIST / f"{prefix}-labels-idx1-ubyte.gz")[:n]
    assert x.shape == (n, 28, 28) and y.shape == (n,)
    return (x.astype("float32") / 255.0)[..., None], y.astype("int64")


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        lr = float(self.model.optimizer.learning_rate)  # schedule(iterations) after the epoch
        print(f"epoch {epoch + 1}: loss {logs['loss']:.4f} accuracy {logs['accuracy']:.4f} "
              f"time {seconds:.2f}s next lr {lr:.6g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)

    x_train, y_train = load("train", N_TRAIN)
    x_test, y_test = load("test", N_TEST)

    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=1e-3, decay_steps=63, decay_rate=0.7)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=0,
              callbacks=[EpochTimer()])
    print(f"training time: {time.perf_counter() - start:.2f}s "
          f"({int(model.optimizer.iterations)} steps)")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss: {loss:.4f}")
    print(f"final test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
