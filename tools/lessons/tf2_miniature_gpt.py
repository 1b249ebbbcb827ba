#!/usr/bin/env python3
"""Lesson tf2_miniature_gpt: a miniature GPT on Shakespeare, by character (Keras 3, TensorFlow).

keras.io's "Text generation with a miniature GPT" adapted as the tandem lesson is: the same
subclassed `TokenAndPositionEmbedding` and `TransformerBlock` layers (LayerNormalization epsilon
1e-6, dropout 0.1), the block's self-attention made causal with `use_causal_mask=True` (keras.io
builds the same lower-triangular mask by hand), then `Dense(vocab)` giving the next character's
logits at every position; maxlen 64, embed_dim 128, 2 heads, feed-forward 128; Adam(1e-3) and
`SparseCategoricalCrossentropy(from_logits=True)`, batch 64. The model has the logits as its only
output (keras.io also returns the block's output, with loss None).

Data: crates/tandem-data/data/zerotoall/shakespeare.txt.gz (1,115,394 characters). The
vocabulary is the sorted distinct characters of the text (65); the first 90% of the text gives
the training windows, the rest the validation windows: non-overlapping windows of 64 inputs,
the targets being the inputs shifted by one (window w covers ids[64 w : 64 w + 65]).
Prints each epoch's loss, validation loss and wall time, `final val loss: <x>`, then 300
characters generated after "ROMEO:" with keras.io's TextGenerator sampling: the context padded
with 0 to 64 characters, the logits read at the last real position, the 10 likeliest characters
kept (`ops.top_k`), softmax, `np.random.choice`. When the text is longer than 64 characters the
context is its last 64 (keras.io's callback keeps the first 64).

    /tmp/anchors-venv/bin/python tools/lessons/tf2_miniature_gpt.py --seed 0 --epochs 3
"""
import argparse
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

TEXT = (pathlib.Path(__file__).resolve().parents[2] / "crates" / "tandem-data" / "data"
        / "zerotoall" / "shakespeare.txt.gz")
MAXLEN = 64  # Max sequence size
EMBED_DIM = 128  # Embedding size for each token
NUM_HEADS = 2  # Number of attention heads
FEED_FORWARD_DIM = 128  # Hidden layer size in feed forward network
PROMPT, GENERATE, TOP_K = "ROMEO:", 300, 10


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads, embed_dim)
        self.ffn = keras.Sequential(
            [
                layers.Dense(ff_dim, activation="relu"),
                layers.Dense(embed_dim),
            ]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attention_output = self.att(inputs, inputs, use_causal_mask=True)
        attention_output = self.dropout1(attention_output)
        out1 = self.layernorm1(inputs + attention_output)
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
        positions = ops.arange(0, maxlen, 1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def windows(ids):
    """Non-overlapping windows of MAXLEN + 1 ids: inputs and the inputs shifted by one."""
    n = (len(ids) - 1) // MAXLEN
    x = ids[:n * MAXLEN].reshape(n, MAXLEN)
    y = ids[1:n * MAXLEN + 1].reshape(n, MAXLEN)
    return x, y


def sample_from(logits):
    logits, indices = ops.top_k(logits, k=TOP_K, sorted=True)
    indices = np.asarray(indices).astype("int32")
    preds = keras.activations.softmax(ops.expand_dims(logits, 0))[0]
    preds = np.asarray(preds).astype("float32")
    return np.random.choice(indices, p=preds)


def generate(model, start_tokens):
    tokens = list(start_tokens)
    for _ in range(GENERATE):
        context = tokens[-MAXLEN:]
        sample_index = len(context) - 1
        x = np.array([context + [0] * (MAXLEN - len(context))])
        y = model.predict(x, verbose=0)
        tokens.append(int(sample_from(y[0][sample_index])))
    return tokens


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        print(f"epoch {epoch + 1}: loss {logs['loss']:.4f} val_loss {logs['val_loss']:.4f} "
              f"time {seconds:.2f}s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)

    text = gzip.decompress(TEXT.read_bytes()).decode("utf-8")
    vocab = sorted(set(text))
    char_to_id = {c: i for i, c in enumerate(vocab)}
    ids = np.array([char_to_id[c] for c in text], dtype="int64")
    split = len(ids) * 9 // 10
    x_train, y_train = windows(ids[:split])
    x_val, y_val = windows(ids[split:])
    print(f"{len(x_train)} training and {len(x_val)} validation windows, "
          f"vocabulary of {len(vocab)}")

    inputs = layers.Input(shape=(MAXLEN,), dtype="int32")
    x = TokenAndPositionEmbedding(MAXLEN, len(vocab), EMBED_DIM)(inputs)
    x = TransformerBlock(EMBED_DIM, NUM_HEADS, FEED_FORWARD_DIM)(x)
    outputs = layers.Dense(len(vocab))(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    print(f"{model.count_params()} parameters")
    model.compile(keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs,
                        validation_data=(x_val, y_val), verbose=0, callbacks=[EpochTimer()])
    print(f"training time: {time.perf_counter() - start:.2f}s "
          f"({int(model.optimizer.iterations)} steps)")
    print(f"final val loss: {history.history['val_loss'][-1]:.4f}")

    start = time.perf_counter()
    tokens = generate(model, [char_to_id[c] for c in PROMPT])
    print(f"generated text ({time.perf_counter() - start:.1f}s):")
    print("".join(vocab[i] for i in tokens))


if __name__ == "__main__":
    main()
