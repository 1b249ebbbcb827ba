#!/usr/bin/env python3
"""Lesson tf2_transformer_text_classification: a Transformer block on names (Keras 3, TensorFlow).

keras.io's "Text classification with Transformer" (the Keras 3 version: the subclassed
`TransformerBlock` and `TokenAndPositionEmbedding` layers as written there, LayerNormalization
epsilon 1e-6, dropout 0.1, then GlobalAveragePooling1D, Dropout(0.1), Dense(20, relu),
Dropout(0.1) and a softmax), embed_dim 32, num_heads 2, ff_dim 32, Adam, sparse categorical
cross-entropy, batch 32. Instead of the IMDB reviews it reads the names data of the tandem
lesson: which of 18 languages a surname comes from.

Data: crates/tandem-data/data/zerotoall/names_train.csv.gz (13,374 names) and names_test.csv.gz
(6,700 names, the validation set), rows `"name","language"`. Each name is encoded as the Rust
lesson does: its bytes (ASCII code % 128), padded with 0 at the end or truncated to 20; the label
is the language's index in the sorted list of distinct training languages.
Prints each epoch's loss, accuracy, validation loss and accuracy and wall time, then
`validation accuracy: <x>` from model.evaluate on the test names (batch 256).

    /tmp/anchors-venv/bin/python tools/lessons/tf2_transformer_text_classification.py --seed 0
"""
import argparse
import csv
import gzip
import os
import pathlib
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(1)

DATA = pathlib.Path(__file__).resolve().parents[2] / "crates" / "tandem-data" / "data" / "zerotoall"
MAXLEN = 20  # characters kept of each name
VOCAB_SIZE = 128  # ASCII codes; 0 pads


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def read_rows(name):
    with gzip.open(DATA / name, "rt", newline="") as f:
        return [row for row in csv.reader(f) if row]


def encode(rows, languages):
    """Names as padded ASCII codes [N, MAXLEN] (int64), and each name's language index."""
    index = {lang: i for i, lang in enumerate(languages)}
    codes = np.zeros((len(rows), MAXLEN), dtype="int64")
    labels = np.empty(len(rows), dtype="int64")
    for i, (name, language) in enumerate(rows):
        data = name.encode("utf-8")[:MAXLEN]
        codes[i, :len(data)] = [b % VOCAB_SIZE for b in data]
        labels[i] = index[language]
    return codes, labels


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        print(f"epoch {epoch + 1}: loss {logs['loss']:.4f} accuracy {logs['accuracy']:.4f} "
              f"val_loss {logs['val_loss']:.4f} val_accuracy {logs['val_accuracy']:.4f} "
              f"time {seconds:.2f}s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)

    train = read_rows("names_train.csv.gz")
    test = read_rows("names_test.csv.gz")
    languages = sorted({language for _, language in train})
    x_train, y_train = encode(train, languages)
    x_val, y_val = encode(test, languages)
    print(f"{len(x_train)} training names")
    print(f"{len(x_val)} validation names")
    print(f"{len(languages)} languages")

    embed_dim = 32  # Embedding size for each token
    num_heads = 2  # Number of attention heads
    ff_dim = 32  # Hidden layer size in feed forward network inside transformer

    inputs = layers.Input(shape=(MAXLEN,))
    embedding_layer = TokenAndPositionEmbedding(MAXLEN, VOCAB_SIZE, embed_dim)
    x = embedding_layer(inputs)
    transformer_block = TransformerBlock(embed_dim, num_heads, ff_dim)
    x = transformer_block(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(len(languages), activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    print(f"{model.count_params()} parameters")

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs,
              validation_data=(x_val, y_val), verbose=0, callbacks=[EpochTimer()])
    print(f"training time: {time.perf_counter() - start:.2f}s "
          f"({int(model.optimizer.iterations)} steps)")
    loss, accuracy = model.evaluate(x_val, y_val, batch_size=256, verbose=0)
    print(f"validation loss: {loss:.4f}")
    print(f"validation accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
