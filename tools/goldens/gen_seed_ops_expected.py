"""Prints the seed's section-1 results as PyTorch and TensorFlow print them, in the layout of
`crates/tandem/examples/seed_ops.rs`, to make `crates/tandem/examples/expected/seed_ops.txt`.

Run by hand (needs torch and tensorflow, never a test dependency):
    /tmp/anchors-venv/bin/python tools/goldens/gen_seed_ops_expected.py \
        > crates/tandem/examples/expected/seed_ops.txt
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

print("# PyTorch idiom")
x = torch.tensor([2.0, 3.0, 4.0])
torch_results = [
    ("add", torch.add(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))),
    ("subtract", torch.subtract(torch.tensor([5.0, 6.0]), torch.tensor([2.0, 1.0]))),
    ("multiply", torch.multiply(torch.tensor([2.0, 3.0]), torch.tensor([4.0, 5.0]))),
    ("divide", torch.divide(torch.tensor([10.0, 15.0]), torch.tensor([2.0, 3.0]))),
    ("pow", torch.pow(torch.tensor([2.0, 3.0]), 3)),
    ("neg", torch.neg(torch.tensor([4.0, -5.0]))),
    ("abs", torch.abs(torch.tensor([-2.0, 3.0]))),
    ("sign", torch.sign(torch.tensor([-2.0, 3.0]))),
    ("round", torch.round(torch.tensor([1.6, 2.4]))),
    ("ceil", torch.ceil(torch.tensor([1.6, 2.4]))),
    ("floor", torch.floor(torch.tensor([1.6, 2.4]))),
    ("square", torch.square(torch.tensor([2.0, 3.0]))),
    ("sqrt", torch.sqrt(torch.tensor([4.0, 9.0]))),
    ("maximum", torch.maximum(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 1.0]))),
    ("minimum", torch.minimum(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 1.0]))),
    ("cumsum", torch.cumsum(x, dim=0)),
    ("cumprod", torch.cumprod(x, dim=0)),
    ("log", torch.log(x)),
]
for name, t in torch_results:
    print(f"{name}: {t!s}")
print(torch.tensor(3.0, dtype=torch.float32))
print(torch.tensor([3.0, 4.0], dtype=torch.float32))

print("# TensorFlow idiom")
x = tf.constant([2.0, 3.0, 4.0])
tf_results = [
    ("add", tf.math.add(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]))),
    ("subtract", tf.math.subtract(tf.constant([5.0, 6.0]), tf.constant([2.0, 1.0]))),
    ("multiply", tf.math.multiply(tf.constant([2.0, 3.0]), tf.constant([4.0, 5.0]))),
    ("divide", tf.math.divide(tf.constant([10.0, 15.0]), tf.constant([2.0, 3.0]))),
    ("pow", tf.math.pow(tf.constant([2.0, 3.0]), 3)),
    ("negative", tf.math.negative(tf.constant([4.0, -5.0]))),
    ("abs", tf.math.abs(tf.constant([-2.0, 3.0]))),
    ("sign", tf.math.sign(tf.constant([-2.0, 3.0]))),
    ("round", tf.math.round(tf.constant([1.6, 2.4]))),
    ("ceil", tf.math.ceil(tf.constant([1.6, 2.4]))),
    ("floor", tf.math.floor(tf.constant([1.6, 2.4]))),
    ("square", tf.math.square(tf.constant([2.0, 3.0]))),
    ("sqrt", tf.math.sqrt(tf.constant([4.0, 9.0]))),
    ("maximum", tf.math.maximum(tf.constant([1.0, 2.0]), tf.constant([3.0, 1.0]))),
    ("minimum", tf.math.minimum(tf.constant([1.0, 2.0]), tf.constant([3.0, 1.0]))),
    ("cumsum", tf.math.cumsum(x, 0)),
    ("cumprod", tf.math.cumprod(x, 0)),
    ("log", tf.math.log(x)),
]
for name, t in tf_results:
    print(f"{name}: {t!s}")
print(tf.constant(3.0, tf.float32))
print(tf.constant([1.0, 3.0]))
