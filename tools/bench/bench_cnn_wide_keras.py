"""The 32/64-filter CNN in Keras 3 on TensorFlow (NHWC): Conv2D(32,3,relu) Conv2D(64,3,relu)
MaxPooling2D(2) Flatten Dense(10); SparseCategoricalCrossentropy(from_logits=True);
Adam(1e-3); fit(batch_size=128, epochs=1, validation_split=0.1, shuffle=True) over the 60,000
Fashion-MNIST training images. Pairs with `bench_cnn --idiom keras --model wide` (bench
cnn_wide_keras_fit_epoch_time)."""
import os

import anchors

args = anchors.parse_args(__doc__)
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(args.threads)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras  # noqa: E402

anchors.info(f"tensorflow {tf.__version__} keras {keras.__version__}")
xtr, ytr, xte, yte = anchors.fashion_mnist(args.data_dir)
xtr, xte = xtr[..., None], xte[..., None]
B = 128
nwarm = 20 * B + len(xtr) % B


def make_model():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])


def compile_model(model):
    opt = keras.optimizers.Adam(1e-3)
    model.compile(optimizer=opt, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return opt


def reset_optimizer(opt):
    """Zero the optimizer's iterations and slots (keeping its traced step, unlike a recompile)."""
    for v in opt.variables:
        if "learning_rate" not in (getattr(v, "path", None) or v.name):
            v.assign(v.numpy() * 0)


times = []
for rep in range(args.reps):
    keras.utils.set_random_seed(args.seed)
    model = make_model()
    init = [w.copy() for w in model.get_weights()]
    opt = compile_model(model)
    model.fit(xtr[:nwarm], ytr[:nwarm], batch_size=B, epochs=1, verbose=0, shuffle=False)

    def epoch():
        model.set_weights(init)
        reset_optimizer(opt)
        return model.fit(xtr, ytr, batch_size=B, epochs=1, verbose=0, shuffle=True,
                         validation_split=0.1)

    t, hist = anchors.timed(epoch)
    acc = float((model.predict(xte, batch_size=1000, verbose=0).argmax(1) == yte).mean())
    anchors.info(f"rep {rep}: epoch {t:.3f}s val_acc={hist.history['val_accuracy'][-1]:.4f} "
                 f"test_acc={acc:.4f}")
    times.append(t)
times.sort()
anchors.result("cnn_wide_keras_fit_epoch_time", "keras3-tf", times[len(times) // 2], "s")
anchors.result("cnn_wide_keras_fit_test_acc", "keras3-tf", acc, "fraction")
