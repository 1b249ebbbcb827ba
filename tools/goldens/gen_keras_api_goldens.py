#!/usr/bin/env python3
"""Generate Keras 3 (TensorFlow backend, CPU) golden values for tandem-keras's wider API:
optimizers, learning-rate schedules, layers, preprocessing layers and a functional model.

Writes crates/tandem-keras/tests/fixtures/keras_api_goldens.json with the keys
  keras_version, tensorflow_version
  optimizer_setup     the MLP (initial weights, Keras layouts), 10 batches and the teacher
  optimizers          10 train_on_batch steps per optimizer: losses and final weights
  optimizer_names     strings tried with keras.optimizers.get() and the class each gives
  optimizer_notes     the update equations, quoted from Keras's source (see README.md)
  schedules           LearningRateSchedule values at steps 0..20
  layers              outputs and gradients of (out * r).sum() (tf.GradientTape)
  preprocessing       Normalization, CategoryEncoding, StringLookup, TextVectorization
  spatial_dropout     SpatialDropout2D's inference output and its training-mode structure
  functional_summary  model.summary() text, layer names and output shapes of a two-input model
Every case is also checked against a re-implementation in the script (ref_* / *_step below),
which is where the documented rules come from. Differentiable layers run in float64
(dtype="float64") on float32-representable inputs, weights and upstream gradients (checked).
Run by hand (see README.md next to this file); TensorFlow/Keras are not project dependencies:
    /tmp/anchors-venv/bin/python tools/goldens/gen_keras_api_goldens.py
"""
import json
import math
import os

# Before TensorFlow/Keras are imported: TF backend, CPU only, plain Eigen kernels (oneDNN off),
# quiet logs, and a fixed console width so model.summary() does not depend on the terminal.
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

from goldens_io import ROOT, check_close, tensor_json, write_json  # noqa: E402
FIXTURES = ROOT / "crates" / "tandem-keras" / "tests" / "fixtures"
OUT = FIXTURES / "keras_api_goldens.json"
MAX_BYTES = 400 * 1024
N_STEPS, BATCH, N_IN, N_HIDDEN, N_OUT = 10, 8, 6, 5, 3
SCHEDULE_STEPS = list(range(21))
WEIGHT_NAMES = ["dense_0.kernel", "dense_0.bias", "dense_1.kernel", "dense_1.bias"]


# ------------------------------------------------------------------------------------- helpers
def f32(rng, shape, kind="normal"):
    """float32 draws, N(0, 1) or U(-0.5, 0.5) (rand - 0.5 is exact in float32)."""
    if kind == "normal":
        return rng.standard_normal(shape, dtype=np.float32)
    return rng.random(shape, dtype=np.float32) - np.float32(0.5)


def named(names, tensors):
    return [[n, tensor_json(t)] for n, t in zip(names, tensors)]


def string_json(a):
    """A string tensor as {"shape", "data": [str], "dtype": "string"}."""
    a = np.asarray(a.numpy() if hasattr(a, "numpy") else a, dtype=object)
    data = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in a.reshape(-1)]
    return {"data": data, "shape": list(a.shape), "dtype": "string"}


def assert_f32_exact(where, arr):
    a = np.asarray(arr, dtype=np.float64)
    assert np.array_equal(a.astype(np.float32).astype(np.float64), a), f"{where} is not float32"


def as_f32_list(values):
    out = []
    for v in values:
        v = np.asarray(v)
        assert v.dtype == np.float32, (v.dtype, v)
        out.append(float(v))
    return out


# ================================================================================== optimizers
# The update equations below are written from keras/src/optimizers/{adadelta,adamax,nadam,lion,
# ftrl,adam,adamw,sgd}.py and base_optimizer.py (Keras 3.15.1), in float64, and each Keras step
# is checked against them (same starting weights, slots and gradients). `t = iterations + 1`.
OPTIMIZER_NOTES = {
    "order": "optimizer.apply(grads): grads = clip(grads) (no clipping configured here); then "
             "_apply_weight_decay(vars) [only if weight_decay is not None: "
             "`variable.assign_sub(variable * wd * lr)` for every trainable variable, biases "
             "included, unless excluded with exclude_from_weight_decay; lr = self.learning_rate, "
             "i.e. schedule(iterations) before the increment]; then update_step(grad, var, lr) per "
             "variable with lr = self.learning_rate (schedule(iterations), iterations counting "
             "from 0); then `self._iterations.assign_add(1)`. So step k (0-based) uses "
             "lr = schedule(k) and t = k + 1 in the bias corrections.",
    "adadelta": "acc_g = rho*acc_g + (1-rho)*g^2; delta = -(sqrt(acc_dx + eps) * g) / "
                "sqrt(acc_g + eps); acc_dx = rho*acc_dx + (1-rho)*delta^2; p += lr*delta. "
                "eps inside both square roots; acc_g uses the new g, acc_dx is updated after "
                "delta is computed (from the old acc_dx). Slots start at 0. No step count.",
    "adamax": "m += (g - m)*(1-b1); u = max(b2*u, |g|); p -= lr*m / ((1 - b1^t) * (u + eps)). "
              "eps is added to u (not scaled by the bias correction). Slots start at 0.",
    "nadam": "Per step, before any variable is updated: u_product *= b1 * (1 - 0.5*0.96^t) "
             "(one float32 variable shared by all parameters, starts at 1.0, so u_product_t = "
             "prod_{s=1..t} u_s). Per variable: u_t = b1*(1 - 0.5*0.96^t), u_t1 = b1*(1 - "
             "0.5*0.96^(t+1)), u_product_t1 = u_product_t * u_t1; m += (g - m)*(1-b1); "
             "v += (g^2 - v)*(1-b2); m_hat = u_t1*m/(1 - u_product_t1) + (1 - u_t)*g/(1 - "
             "u_product_t); v_hat = v/(1 - b2^t); p -= m_hat*lr / (sqrt(v_hat) + eps). eps is "
             "added after the bias correction of v (unlike Adam).",
    "lion": "p -= lr * sign(b1*m + (1-b1)*g); then m = b2*m + (1-b2)*g. sign(0) = 0. m starts at 0.",
    "ftrl": "lr_power = learning_rate_power (default -0.5); l2' = l2 + beta/(2*lr); "
            "g_s = g + 2*l2_shrinkage*p; n_new = n + g^2 (plain g, not g_s); "
            "z += g_s - ((n_new^(-lr_power) - n^(-lr_power)) / lr) * p; "
            "q = n_new^(-lr_power)/lr + 2*l2'; p = (clip(z, -l1, l1) - z) / q; n = n_new. "
            "n (accumulator) starts at initial_accumulator_value (default 0.1), z (linear) at 0. "
            "Note the factor 2 on l2' and on l2_shrinkage. With l1 = 0, p = -z/q.",
    "adam": "m += (g - m)*(1-b1); v += (g^2 - v)*(1-b2); alpha = lr*sqrt(1 - b2^t)/(1 - b1^t); "
            "p -= m*alpha / (sqrt(v) + eps) (eps added to the uncorrected sqrt(v)).",
    "adamw": "Adam (exactly as above) preceded, in the same step, by the decoupled decay "
             "p -= p * weight_decay * lr applied to every trainable variable (kernels and biases) "
             "before the moments are updated; the gradient is not modified. Defaults "
             "weight_decay=0.004, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7.",
    "sgd": "momentum 0: p -= lr*g (lr = schedule(iterations)).",
    "get": "keras.optimizers.get(str) lowercases the string and looks it up in "
           "{cls.__name__.lower(): cls}, so any capitalisation of the class name works "
           "('adadelta', 'Adadelta', 'ADADELTA', 'adamw', 'AdamW', ...); Lamb is not registered.",
}

OPTIMIZER_SLOTS = {
    "Adadelta": ["accumulated_grad", "accumulated_delta_var"],
    "Adamax": ["momentum", "norm"],
    "Nadam": ["momentum", "velocity"],
    "Lion": ["momentum"],
    "Ftrl": ["accumulator", "linear"],
    "AdamW": ["momentum", "velocity"],
    "Adam": ["momentum", "velocity"],
    "SGD": [],
}

# (name, class name, config as passed (Keras argument names), schedule (type, args) or None)
OPTIMIZER_CASES = [
    ("adadelta", "Adadelta", {"learning_rate": 1.0, "rho": 0.95, "epsilon": 1e-7}, None),
    ("adadelta_default", "Adadelta", {}, None),
    ("adamax", "Adamax", {"learning_rate": 0.02}, None),
    ("nadam", "Nadam", {"learning_rate": 0.01}, None),
    ("lion", "Lion", {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99}, None),
    ("lion_lr_high", "Lion", {"learning_rate": 0.01}, None),
    ("ftrl", "Ftrl", {"learning_rate": 0.1}, None),
    ("ftrl_l1_l2", "Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
                            "l2_regularization_strength": 0.01,
                            "l2_shrinkage_regularization_strength": 0.01, "beta": 0.1,
                            "learning_rate_power": -0.5, "initial_accumulator_value": 0.1}, None),
    ("adamw", "AdamW", {"learning_rate": 0.01, "weight_decay": 0.004}, None),
    ("sgd_exponential_decay", "SGD", {},
     ("ExponentialDecay", {"initial_learning_rate": 0.5, "decay_steps": 3, "decay_rate": 0.5})),
    ("adam_piecewise", "Adam", {},
     ("PiecewiseConstantDecay", {"boundaries": [3, 6], "values": [0.05, 0.01, 0.002]})),
]

# Hyper-parameters read back from get_config() (defaults filled in), per class.
HYPER = {
    "Adadelta": ["rho", "epsilon"],
    "Adamax": ["beta_1", "beta_2", "epsilon"],
    "Nadam": ["beta_1", "beta_2", "epsilon"],
    "Lion": ["beta_1", "beta_2"],
    "Ftrl": ["learning_rate_power", "initial_accumulator_value", "l1_regularization_strength",
             "l2_regularization_strength", "l2_shrinkage_regularization_strength", "beta"],
    "AdamW": ["beta_1", "beta_2", "epsilon", "amsgrad", "weight_decay"],
    "Adam": ["beta_1", "beta_2", "epsilon", "amsgrad"],
    "SGD": ["momentum", "nesterov"],
}


def make_mlp():
    return keras.Sequential([keras.Input((N_IN,)), keras.layers.Dense(N_HIDDEN, activation="relu"),
                             keras.layers.Dense(N_OUT)])


def mlp_weights(model):
    return [np.asarray(v.numpy(), dtype=np.float32) for v in model.trainable_variables]


def ref_step(cls, h, w, g, slots, t, lr, u_product):
    """One update of one variable, float64. `slots` is a list (OPTIMIZER_SLOTS order);
    returns (new w, new slots). `u_product` (Nadam) is prod_{s<=t} u_s."""
    w, g = w.astype(np.float64), g.astype(np.float64)
    s = [x.astype(np.float64) for x in slots]
    if h.get("weight_decay") is not None:
        w = w - w * h["weight_decay"] * lr
    if cls == "Adadelta":
        rho, eps = h["rho"], h["epsilon"]
        acc_g = rho * s[0] + (1 - rho) * g * g
        delta = -np.sqrt(s[1] + eps) * g / np.sqrt(acc_g + eps)
        acc_dx = rho * s[1] + (1 - rho) * delta * delta
        return w + lr * delta, [acc_g, acc_dx]
    if cls == "Adamax":
        b1, b2, eps = h["beta_1"], h["beta_2"], h["epsilon"]
        m = s[0] + (g - s[0]) * (1 - b1)
        u = np.maximum(b2 * s[1], np.abs(g))
        return w - lr * m / ((1 - b1 ** t) * (u + eps)), [m, u]
    if cls == "Nadam":
        b1, b2, eps = h["beta_1"], h["beta_2"], h["epsilon"]
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        up_t1 = u_product * u_t1
        m = s[0] + (g - s[0]) * (1 - b1)
        v = s[1] + (g * g - s[1]) * (1 - b2)
        m_hat = u_t1 * m / (1 - up_t1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - b2 ** t)
        return w - m_hat * lr / (np.sqrt(v_hat) + eps), [m, v]
    if cls == "Lion":
        b1, b2 = h["beta_1"], h["beta_2"]
        w = w - lr * np.sign(b1 * s[0] + (1 - b1) * g)
        return w, [b2 * s[0] + (1 - b2) * g]
    if cls == "Ftrl":
        p = -h["learning_rate_power"]
        l1 = h["l1_regularization_strength"]
        l2 = h["l2_regularization_strength"] + h["beta"] / (2 * lr)
        gs = g + 2 * h["l2_shrinkage_regularization_strength"] * w
        n, z = s
        n_new = n + g * g
        z = z + gs - (n_new ** p - n ** p) / lr * w
        q = n_new ** p / lr + 2 * l2
        return (np.clip(z, -l1, l1) - z) / q, [n_new, z]
    if cls in ("Adam", "AdamW"):
        b1, b2, eps = h["beta_1"], h["beta_2"], h["epsilon"]
        m = s[0] + (g - s[0]) * (1 - b1)
        v = s[1] + (g * g - s[1]) * (1 - b2)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - m * alpha / (np.sqrt(v) + eps), [m, v]
    if cls == "SGD":
        assert h["momentum"] == 0
        return w - lr * g, []
    raise AssertionError(cls)


def optimizer_slots(opt, cls, n_vars):
    """Keras's slot variables as [var][slot] numpy arrays (variables are created var-major)."""
    names = OPTIMIZER_SLOTS[cls]
    found = [v for v in opt.variables if any(v.name.endswith("_" + s) for s in names)]
    assert len(found) == n_vars * len(names), [v.name for v in opt.variables]
    out = []
    for i in range(n_vars):
        row = found[i * len(names):(i + 1) * len(names)]
        for v, s in zip(row, names):
            assert v.name.endswith("_" + s), (v.name, s)
        out.append([np.asarray(v.numpy()) for v in row])
    return out


def make_optimizer(cls, config, schedule):
    kw = dict(config)
    if schedule is not None:
        kw["learning_rate"] = getattr(keras.optimizers.schedules, schedule[0])(**schedule[1])
    return getattr(keras.optimizers, cls)(**kw)


def optimizer_case(name, cls, config, schedule, init, batches):
    model = make_mlp()
    model.set_weights(init)
    for a, b in zip(mlp_weights(model), init):
        assert np.array_equal(a, b), name
    opt = make_optimizer(cls, config, schedule)
    assert type(opt).__name__ == cls
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=opt, loss=loss_fn)
    full = opt.get_config()
    h = {k: full[k] for k in HYPER[cls]}
    h["weight_decay"] = full.get("weight_decay")
    sched = opt._learning_rate if schedule is not None else None
    losses, lrs = [], []
    slots = None
    u_product = 1.0
    for k, (x, y) in enumerate(batches):
        before = mlp_weights(model)
        assert int(opt.iterations.numpy()) == k
        lr_t = opt.learning_rate  # schedule(iterations) or the variable
        lr = float(np.asarray(lr_t.numpy() if hasattr(lr_t, "numpy") else lr_t, dtype=np.float32))
        if sched is not None:
            assert lr == float(np.float32(sched(np.int64(k)).numpy())), (name, k)
        lrs.append(lr)
        with tf.GradientTape() as tape:
            ref_loss = loss_fn(y, model(x, training=True))
        grads = [gr.numpy() for gr in tape.gradient(ref_loss, model.trainable_variables)]
        if k > 0:
            slots = optimizer_slots(opt, cls, len(before))
        else:
            slots = [[np.zeros_like(w) if not (cls == "Ftrl" and s == "accumulator")
                      else np.full_like(w, h["initial_accumulator_value"])
                      for s in OPTIMIZER_SLOTS[cls]] for w in before]
        t = k + 1
        if cls == "Nadam":
            u_product *= h["beta_1"] * (1 - 0.5 * 0.96 ** t)
        want = [ref_step(cls, h, w, g, s, t, lr, u_product)
                for w, g, s in zip(before, grads, slots)]
        logs = model.train_on_batch(x, y, return_dict=True)
        loss = float(np.float32(logs["loss"]))
        assert abs(loss - float(ref_loss)) <= 1e-6 * (1 + abs(loss)), (name, k, loss, float(ref_loss))
        losses.append(loss)
        after = mlp_weights(model)
        after_slots = optimizer_slots(opt, cls, len(before))
        for i, ((w_ref, s_ref), w_k, s_k) in enumerate(zip(want, after, after_slots)):
            check_close(f"{name} step {k} {WEIGHT_NAMES[i]}", w_k, w_ref, tol=2e-6)
            for j, (a, b) in enumerate(zip(s_k, s_ref)):
                check_close(f"{name} step {k} {WEIGHT_NAMES[i]} slot {j}", a, b, tol=2e-6)
        if cls == "Nadam":
            check_close(f"{name} u_product", opt._u_product.numpy(), u_product, tol=1e-6)
    assert int(opt.iterations.numpy()) == N_STEPS
    assert all(math.isfinite(v) for v in losses), name
    case = {"name": name, "optimizer": cls, "config": config,
            "learning_rate_schedule": None if schedule is None else
            {"type": schedule[0], "args": schedule[1]},
            "hyper": h, "lr_per_step": lrs, "losses": losses,
            "final": named(WEIGHT_NAMES, mlp_weights(model))}
    print(f"  {name}: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    return case


def optimizer_goldens(rng):
    keras.utils.set_random_seed(0)
    init = [f32(rng, s, "uniform") for s in [(N_IN, N_HIDDEN), (N_HIDDEN,), (N_HIDDEN, N_OUT), (N_OUT,)]]
    teacher = f32(rng, (N_IN, N_OUT))
    batches = []
    for _ in range(N_STEPS):
        x = f32(rng, (BATCH, N_IN))
        scores = x.astype(np.float64) @ teacher.astype(np.float64)
        top2 = np.sort(scores, axis=1)[:, -2:]
        assert np.all(top2[:, 1] - top2[:, 0] > 1e-6), "teacher tie"
        batches.append((x, np.argmax(scores, axis=1).astype(np.int64)))
    setup = {
        "model": "Sequential([Input((6,)), Dense(5, activation='relu'), Dense(3)])",
        "loss": "SparseCategoricalCrossentropy(from_logits=True) (batch mean)",
        "init": named(WEIGHT_NAMES, init),
        "teacher": tensor_json(teacher),
        "batches": [{"x": tensor_json(x), "y": tensor_json(y, "int64")} for x, y in batches],
    }
    cases = [optimizer_case(n, c, cfg, s, init, batches) for n, c, cfg, s in OPTIMIZER_CASES]
    names = []
    for s in ["adadelta", "Adadelta", "ADADELTA", "adamax", "Adamax", "nadam", "Nadam", "lion",
              "Lion", "ftrl", "Ftrl", "adamw", "AdamW", "adam", "Adam", "sgd", "SGD", "rmsprop",
              "RMSprop", "adagrad", "Adagrad", "adafactor", "muon", "lamb", "adam_w", "nesterov"]:
        try:
            names.append([s, type(keras.optimizers.get(s)).__name__])
        except ValueError:
            names.append([s, None])
    return setup, cases, names


# =================================================================================== schedules
SCHEDULE_CASES = [
    ("exponential", "ExponentialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5}),
    ("exponential_staircase", "ExponentialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5, "staircase": True}),
    ("piecewise", "PiecewiseConstantDecay", {"boundaries": [3, 7], "values": [1.0, 0.5, 0.1]}),
    ("cosine", "CosineDecay", {"initial_learning_rate": 1.0, "decay_steps": 10}),
    ("cosine_alpha", "CosineDecay", {"initial_learning_rate": 1.0, "decay_steps": 10, "alpha": 0.1}),
    ("cosine_warmup", "CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10,
                                      "warmup_target": 1.0, "warmup_steps": 5}),
    ("inverse_time", "InverseTimeDecay",
     {"initial_learning_rate": 0.5, "decay_steps": 2, "decay_rate": 1.0}),
    ("inverse_time_staircase", "InverseTimeDecay",
     {"initial_learning_rate": 0.5, "decay_steps": 2, "decay_rate": 1.0, "staircase": True}),
]


def ref_schedule(typ, a, step):
    """float64 formulas (from keras/src/optimizers/schedules/learning_rate_schedule.py)."""
    if typ == "ExponentialDecay":
        p = step / a["decay_steps"]
        p = math.floor(p) if a.get("staircase") else p
        return a["initial_learning_rate"] * a["decay_rate"] ** p
    if typ == "InverseTimeDecay":
        p = step / a["decay_steps"]
        p = math.floor(p) if a.get("staircase") else p
        return a["initial_learning_rate"] / (1 + a["decay_rate"] * p)
    if typ == "PiecewiseConstantDecay":
        for b, v in zip(a["boundaries"], a["values"]):
            if step <= b:  # values[i] while step <= boundaries[i]
                return v
        return a["values"][-1]
    if typ == "CosineDecay":
        alpha, ds = a.get("alpha", 0.0), a["decay_steps"]
        target, ws = a.get("warmup_target"), a.get("warmup_steps", 0)
        if target is None:
            frac = min(step, ds) / ds
            return a["initial_learning_rate"] * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * frac)) + alpha)
        step = min(step, ds + ws)
        if step < ws:
            return (target - a["initial_learning_rate"]) * step / ws + a["initial_learning_rate"]
        frac = (step - ws) / ds
        return target * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * frac)) + alpha)
    raise AssertionError(typ)


def schedule_goldens():
    cases = []
    for name, typ, args in SCHEDULE_CASES:
        sched = getattr(keras.optimizers.schedules, typ)(**args)
        # The optimizer calls schedule(self.iterations), an int64 variable.
        values = as_f32_list([np.asarray(sched(tf.constant(s, tf.int64))) for s in SCHEDULE_STEPS])
        for s, v in zip(SCHEDULE_STEPS, values):
            want = ref_schedule(typ, args, s)
            assert abs(v - want) <= 1e-6 * (1 + abs(want)), (name, s, v, want)
        cases.append({"name": name, "type": typ, "args": args, "values": values})
    return cases


# ====================================================================================== layers
def ref_pad_same(n, k, s, d=1):
    """TF "SAME": out = ceil(n / s), total = max((out-1)*s + (k-1)*d + 1 - n, 0),
    before = total // 2 (the extra one goes after)."""
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def ref_conv2d(x, k, b, strides, padding, activation):
    """Sum over kernel taps of strided input slices times the tap's [C, O] matrix."""
    kh, kw = k.shape[0], k.shape[1]
    (sh, sw), (_, h, w, _) = strides, x.shape
    if padding == "same":
        (t, bo), (le, ri) = ref_pad_same(h, kh, sh), ref_pad_same(w, kw, sw)
        x = tf.pad(x, [[0, 0], [t, bo], [le, ri], [0, 0]])
    oh, ow = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    acc = b
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
            acc = acc + tf.einsum("nhwc,co->nhwo", patch, k[i, j])
    return tf.nn.relu(acc) if activation == "relu" else acc


def ref_conv1d(x, k, b, strides, padding, dilation):
    kk = k.shape[0]
    n = x.shape[1]
    if padding == "valid":
        lo = hi = 0
    elif padding == "causal":
        lo, hi = (kk - 1) * dilation, 0
    else:
        lo, hi = ref_pad_same(n, kk, strides, dilation)
    xp = tf.pad(x, [[0, 0], [lo, hi], [0, 0]])
    span = (kk - 1) * dilation + 1
    n_out = (xp.shape[1] - span) // strides + 1
    outs = []
    for t in range(n_out):
        acc = b
        for a in range(kk):
            acc = acc + xp[:, t * strides + a * dilation] @ k[a]
        outs.append(acc)
    return tf.stack(outs, axis=1)


def ref_conv2d_transpose(x, k, b, strides, padding):
    """Scatter form: full[i*s + a] += x[i] @ k[a].T, full size (n-1)*s + k; "valid" keeps
    max((n-1)*s + k, n*s) (zeros after when k < s), "same" keeps n*s starting at
    max(k - s, 0) // 2."""
    nb, h, w, _ = x.shape
    kh, kw, f, _ = k.shape
    sh, sw = strides
    fh, fw = (h - 1) * sh + kh, (w - 1) * sw + kw
    grid = [[None] * fw for _ in range(fh)]
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for c in range(kw):
                    term = x[:, i, j] @ tf.transpose(k[a, c])
                    r, q = i * sh + a, j * sw + c
                    grid[r][q] = term if grid[r][q] is None else grid[r][q] + term
    zero = tf.zeros((nb, f), x.dtype)
    full = tf.stack([tf.stack([g if g is not None else zero for g in row], axis=1) for row in grid], axis=1)
    if padding == "valid":
        oh, ow = max(fh, h * sh), max(fw, w * sw)
        full = tf.pad(full, [[0, 0], [0, oh - fh], [0, ow - fw], [0, 0]])
        return full + b
    oh0, ow0 = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return full[:, oh0:oh0 + h * sh, ow0:ow0 + w * sw] + b


def ref_pool2d(x, pool, strides, padding, op):
    """Windows clipped to the input; "same" uses TF's split (extra padding after). Average
    divides by the number of real (non-padded) elements in the window."""
    n, h, w, c = x.shape
    (ph, pw), (sh, sw) = pool, strides
    if padding == "valid":
        (th, _), (tw, _) = (0, 0), (0, 0)
        oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    else:
        (th, _), (tw, _) = ref_pad_same(h, ph, sh), ref_pad_same(w, pw, sw)
        oh, ow = -(-h // sh), -(-w // sw)
    rows = []
    for i in range(oh):
        cols = []
        for j in range(ow):
            r0, c0 = i * sh - th, j * sw - tw
            win = x[:, max(r0, 0):min(r0 + ph, h), max(c0, 0):min(c0 + pw, w)]
            cols.append(tf.reduce_mean(win, axis=[1, 2]) if op == "avg" else tf.reduce_max(win, axis=[1, 2]))
        rows.append(tf.stack(cols, axis=1))
    return tf.stack(rows, axis=1)


def ref_bilinear(x, fh, fw):
    """tf.image.resize bilinear (half-pixel centres): src = (dst + 0.5) / factor - 0.5,
    lo = max(floor(src), 0), hi = min(ceil(src), n - 1), frac = src - floor(src)."""
    def axis_weights(n, factor):
        idx = []
        for o in range(n * factor):
            src = (o + 0.5) / factor - 0.5
            fl = math.floor(src)
            idx.append((max(fl, 0), min(math.ceil(src), n - 1), src - fl))
        return idx
    _, h, w, _ = x.shape
    rows = []
    for lo, hi, fr in axis_weights(h, fh):
        r = x[:, lo] * (1 - fr) + x[:, hi] * fr
        cols = [r[:, a] * (1 - fc) + r[:, b] * fc for a, b, fc in axis_weights(w, fw)]
        rows.append(tf.stack(cols, axis=1))
    return tf.stack(rows, axis=1)


# (name, class, config, input shapes, dtype, ref(inputs, weights) -> out, has_weights)
def layer_specs():
    def conv_t(cfg):
        return lambda xs, ws: ref_conv2d_transpose(xs[0], ws[0], ws[1], cfg["strides"], cfg["padding"])

    def conv1(cfg):
        return lambda xs, ws: ref_conv1d(xs[0], ws[0], ws[1], cfg.get("strides", 1), cfg["padding"],
                                         cfg.get("dilation_rate", 1))

    def conv2(cfg):
        return lambda xs, ws: ref_conv2d(xs[0], ws[0], ws[1], cfg.get("strides", [1, 1]),
                                         cfg["padding"], cfg.get("activation"))

    c2_relu = {"filters": 4, "kernel_size": [3, 3], "padding": "valid", "activation": "relu"}
    c2_same = {"filters": 3, "kernel_size": [3, 2], "strides": [2, 2], "padding": "same"}
    ct_same = {"filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"}
    ct_valid = {"filters": 4, "kernel_size": [2, 3], "strides": [2, 1], "padding": "valid"}
    c1_valid = {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "valid"}
    c1_same = {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}
    c1_same_dil = {"filters": 4, "kernel_size": 3, "padding": "same", "dilation_rate": 2}
    c1_causal = {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}
    ap2 = {"pool_size": [2, 2]}
    ap3 = {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}
    return [
        ("conv2d_transpose_k3_s2_same", "Conv2DTranspose", ct_same, [(2, 3, 3, 2)], "float64", conv_t(ct_same)),
        ("conv2d_transpose_k2x3_s2x1_valid", "Conv2DTranspose", ct_valid, [(2, 3, 2, 3)], "float64", conv_t(ct_valid)),
        ("upsampling2d_nearest_2", "UpSampling2D", {"size": [2, 2]}, [(2, 2, 3, 2)], "float64",
         lambda xs, ws: tf.repeat(tf.repeat(xs[0], 2, axis=1), 2, axis=2)),
        # bilinear resizing runs in float32 inside tf.image.resize whatever the layer dtype.
        ("upsampling2d_bilinear_2x3", "UpSampling2D", {"size": [2, 3], "interpolation": "bilinear"},
         [(2, 3, 2, 2)], "float32", lambda xs, ws: ref_bilinear(xs[0], 2, 3)),
        ("conv1d_valid_s2", "Conv1D", c1_valid, [(2, 8, 3)], "float64", conv1(c1_valid)),
        ("conv1d_same_s2", "Conv1D", c1_same, [(2, 8, 3)], "float64", conv1(c1_same)),
        ("conv1d_same_d2", "Conv1D", c1_same_dil, [(2, 7, 3)], "float64", conv1(c1_same_dil)),
        ("conv1d_causal_d2", "Conv1D", c1_causal, [(2, 7, 3)], "float64", conv1(c1_causal)),
        ("average_pooling2d_2", "AveragePooling2D", ap2, [(2, 5, 4, 3)], "float64",
         lambda xs, ws: ref_pool2d(xs[0], (2, 2), (2, 2), "valid", "avg")),
        ("average_pooling2d_3_s2_same", "AveragePooling2D", ap3, [(2, 6, 5, 2)], "float64",
         lambda xs, ws: ref_pool2d(xs[0], (3, 3), (2, 2), "same", "avg")),
        ("max_pooling2d_2", "MaxPooling2D", {"pool_size": [2, 2]}, [(2, 5, 4, 3)], "float64",
         lambda xs, ws: ref_pool2d(xs[0], (2, 2), (2, 2), "valid", "max")),
        ("global_average_pooling2d", "GlobalAveragePooling2D", {}, [(2, 3, 4, 5)], "float64",
         lambda xs, ws: tf.reduce_mean(xs[0], axis=[1, 2])),
        ("global_max_pooling2d", "GlobalMaxPooling2D", {}, [(2, 3, 4, 5)], "float64",
         lambda xs, ws: tf.reduce_max(xs[0], axis=[1, 2])),
        ("zero_padding2d", "ZeroPadding2D", {"padding": [[1, 2], [3, 0]]}, [(2, 2, 3, 2)], "float64",
         lambda xs, ws: tf.pad(xs[0], [[0, 0], [1, 2], [3, 0], [0, 0]])),
        # backend.cast(python float, "float64") goes through a float32 tensor: the scale is
        # float32(1/255) even in a float64 layer.
        ("rescaling", "Rescaling", {"scale": 1 / 255, "offset": -0.5}, [(2, 3, 2, 2)], "float64",
         lambda xs, ws: xs[0] * float(np.float32(1 / 255)) + (-0.5)),
        ("rescaling_f32", "Rescaling", {"scale": 1 / 255, "offset": -0.5}, [(2, 3, 2, 2)], "float32",
         lambda xs, ws: xs[0] * np.float32(1 / 255) + np.float32(-0.5)),
        ("concatenate", "Concatenate", {"axis": -1}, [(2, 3), (2, 3)], "float64",
         lambda xs, ws: tf.concat(xs, axis=-1)),
        ("add", "Add", {}, [(2, 3), (2, 3)], "float64", lambda xs, ws: xs[0] + xs[1]),
        ("multiply", "Multiply", {}, [(2, 3), (2, 3)], "float64", lambda xs, ws: xs[0] * xs[1]),
        ("average", "Average", {}, [(2, 3), (2, 3)], "float64", lambda xs, ws: (xs[0] + xs[1]) / 2),
        ("conv2d_k3_valid_relu", "Conv2D", c2_relu, [(2, 6, 5, 3)], "float64", conv2(c2_relu)),
        # stride 2 over 6 rows and 5 columns: TensorFlow pads (0, 1) rows and (0, 1) columns.
        ("conv2d_k3x2_s2_same", "Conv2D", c2_same, [(2, 6, 5, 2)], "float64", conv2(c2_same)),
    ]


def keras_config(cfg):
    """Lists in the JSON config become tuples for Keras (nested for ZeroPadding2D)."""
    return {k: (tuple(tuple(e) if isinstance(e, list) else e for e in v) if isinstance(v, list) else v)
            for k, v in cfg.items()}


def layer_case(rng, name, cls, cfg, shapes, dtype, ref):
    np_dt = np.float64 if dtype == "float64" else np.float32
    layer = getattr(keras.layers, cls)(dtype=dtype, **keras_config(cfg))
    multi = len(shapes) > 1
    layer.build(list(shapes) if multi else shapes[0])
    if cls == "Rescaling":  # pixel values 0..255
        xs_np = [rng.integers(0, 256, s).astype(np.float32) for s in shapes]
    else:
        xs_np = [f32(rng, s) for s in shapes]
    if cls in ("MaxPooling2D", "GlobalMaxPooling2D"):
        assert all(len(np.unique(v)) == v.size for v in xs_np), name  # no ties
    w_names = [w.name for w in layer.weights]
    w_vals = [f32(rng, tuple(w.shape), "uniform") for w in layer.weights]
    if w_vals:
        layer.set_weights([v.astype(np_dt) for v in w_vals])
    xs = [tf.constant(v.astype(np_dt)) for v in xs_np]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        out = layer(xs if multi else xs[0])
        r = tf.constant(f32(rng, tuple(out.shape)).astype(np_dt))
        loss = tf.reduce_sum(out * r)
    assert out.dtype == np_dt, (name, out.dtype)
    gs = tape.gradient(loss, xs + list(layer.trainable_weights))
    assert all(g is not None for g in gs), name
    # reference
    ref_w = [tf.Variable(v.astype(np_dt)) for v in w_vals]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        w_out = ref(xs, ref_w)
        w_loss = tf.reduce_sum(w_out * r)
    w_gs = tape.gradient(w_loss, xs + ref_w)
    tol = 1e-12 if dtype == "float64" else 2e-6
    check_close(f"{name}.out", out.numpy(), w_out.numpy(), tol)
    for i, (g, wg) in enumerate(zip(gs, w_gs)):
        check_close(f"{name}.grad[{i}]", g.numpy(), wg.numpy(), tol)
    for v in xs_np + w_vals + [r.numpy()]:
        assert_f32_exact(name, v)
    n_in = len(xs)
    return {"name": name, "layer": cls, "config": cfg, "dtype": dtype,
            "inputs": [tensor_json(v) for v in xs_np],
            "weights": named(w_names, w_vals),
            "r": tensor_json(r.numpy()), "out": tensor_json(out.numpy()),
            "grad_inputs": [tensor_json(g.numpy()) for g in gs[:n_in]],
            "grads": named(w_names, [g.numpy() for g in gs[n_in:]])}


def layer_goldens(rng):
    cases = [layer_case(rng, *spec) for spec in layer_specs()]
    # A float64 UpSampling2D(interpolation="bilinear") gives float64 tensors holding exactly the
    # float32 result (tf.image.resize computes bilinear resizing in float32).
    case = next(c for c in cases if c["name"] == "upsampling2d_bilinear_2x3")
    x = np.array(case["inputs"][0]["data"], np.float64).reshape(case["inputs"][0]["shape"])
    out64 = keras.layers.UpSampling2D((2, 3), interpolation="bilinear", dtype="float64")(x)
    assert out64.dtype == tf.float64
    assert np.array_equal(out64.numpy(), np.array(case["out"]["data"]).reshape(out64.shape)), \
        "float64 bilinear UpSampling2D no longer matches the float32 result"
    return cases


# =============================================================================== preprocessing
STRIP_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def normalization_case(rng, name, axis, shape):
    data = f32(rng, shape) * np.float32(2) + np.float32(1)
    kw = {} if axis == -1 else {"axis": axis}
    layer = keras.layers.Normalization(**kw)
    layer.adapt(data)
    mean, var = np.asarray(layer.mean), np.asarray(layer.variance)
    x = f32(rng, (3,) + shape[1:])
    out = layer(x).numpy()
    # adapt() on a numpy array: np.mean / np.var (ddof 0) in float32 over the non-kept axes.
    red = tuple(range(len(shape) - 1)) if axis == -1 else None
    want_mean = np.mean(data, axis=red, dtype=np.float64)
    want_var = np.var(data, axis=red, dtype=np.float64)
    check_close(f"{name}.mean", mean.reshape(-1), np.reshape(want_mean, -1), 1e-6)
    check_close(f"{name}.var", var.reshape(-1), np.reshape(want_var, -1), 1e-6)
    ref = (x.astype(np.float64) - mean) / np.maximum(np.sqrt(var.astype(np.float64)), 1e-7)
    check_close(f"{name}.out", out, ref, 1e-6)
    return {"name": name, "layer": "Normalization", "config": {"axis": axis},
            "adapt_data": tensor_json(data), "mean": tensor_json(mean), "variance": tensor_json(var),
            "inputs": [tensor_json(x)], "out": tensor_json(out)}


def category_encoding_cases():
    cases = []
    for mode, inp in [("one_hot", np.array([0, 3, 4, 1])),
                      ("one_hot", np.array([[1], [3]])),
                      ("one_hot", np.array([[1, 2], [3, 4]])),
                      ("multi_hot", np.array([0, 3, 4, 1, 3])),
                      ("multi_hot", np.array([[1, 1, 3], [4, 0, 0]])),
                      ("count", np.array([0, 3, 4, 1, 3])),
                      ("count", np.array([[1, 1, 3, 1], [4, 0, 0, 2]]))]:
        layer = keras.layers.CategoryEncoding(num_tokens=5, output_mode=mode)
        out = np.asarray(layer(inp))
        assert out.dtype == np.float32
        flat = inp.reshape(-1, inp.shape[-1]) if inp.ndim > 1 else inp.reshape(1, -1)
        if mode == "one_hot":
            want = np.eye(5, dtype=np.float32)[inp]
            if inp.ndim == 2 and inp.shape[-1] == 1:
                want = want[:, 0]
        else:
            want = np.zeros((flat.shape[0], 5), np.float32)
            for i, row in enumerate(flat):
                for tok in row:
                    want[i, tok] = 1 if mode == "multi_hot" else want[i, tok] + 1
            if inp.ndim == 1:
                want = want[0]
        assert out.shape == want.shape and np.array_equal(out, want), (mode, inp.shape, out, want)
        cases.append({"name": f"category_encoding_{mode}_{'x'.join(map(str, inp.shape))}",
                      "layer": "CategoryEncoding", "config": {"num_tokens": 5, "output_mode": mode},
                      "inputs": [tensor_json(inp.astype(np.int64), "int64")],
                      "out": tensor_json(out, "float32")})
    return cases


def string_lookup_cases():
    vocab = ["cat", "dog", "bird", "fish"]
    layer = keras.layers.StringLookup(vocabulary=vocab)
    got_vocab = layer.get_vocabulary()
    assert got_vocab == ["[UNK]"] + vocab, got_vocab
    cases = []
    for name, words in [("string_lookup_known", [["cat", "fish", "dog"], ["bird", "bird", "cat"]]),
                        ("string_lookup_unknown", [["cat", "zebra", "Dog"], ["", "fish", "[UNK]"]])]:
        out = np.asarray(layer(tf.constant(words)))
        want = np.array([[vocab.index(w) + 1 if w in vocab else 0 for w in row] for row in words])
        assert out.dtype == np.int64 and np.array_equal(out, want), (name, out)
        cases.append({"name": name, "layer": "StringLookup",
                      "config": {"vocabulary": vocab, "num_oov_indices": 1, "mask_token": None,
                                 "invert": False},
                      "vocabulary": got_vocab, "vocabulary_size": int(layer.vocabulary_size()),
                      "inputs": [string_json(np.array(words, dtype=object))],
                      "out": tensor_json(out, "int64")})
    inv = keras.layers.StringLookup(vocabulary=vocab, invert=True)
    ids = np.array([[0, 1, 4], [2, 3, 0]], dtype=np.int64)
    out = inv(ids)
    want = [[got_vocab[i] for i in row] for row in ids]
    assert string_json(out)["data"] == sum(want, []), out
    cases.append({"name": "string_lookup_invert", "layer": "StringLookup",
                  "config": {"vocabulary": vocab, "num_oov_indices": 1, "mask_token": None,
                             "invert": True},
                  "vocabulary": inv.get_vocabulary(), "vocabulary_size": int(inv.vocabulary_size()),
                  "inputs": [tensor_json(ids, "int64")], "out": string_json(out)})
    return cases


def text_vectorization_case():
    import re
    from collections import Counter
    corpus = ["The cat sat on the mat.", "A dog? A DOG! The dog barked...",
              "Cats, dogs & birds: the best pets.", "Don't feed the cat-dog!"]
    inputs = ["The DOG sat on a cat.", "Zebras eat the mat, don't they?",
              "a a a a a a a a the end"]
    layer = keras.layers.TextVectorization(output_mode="int", output_sequence_length=6)
    layer.adapt(corpus)
    vocab = layer.get_vocabulary()
    out = np.asarray(layer(tf.constant(inputs)))

    # reference: lowercase, strip the regex's characters, split on whitespace; vocabulary by
    # count descending, ties by token descending (np.lexsort((tokens, counts))[::-1]).
    def tokens(s):
        return re.sub(STRIP_REGEX, "", s.lower()).split()
    counts = Counter(t for s in corpus for t in tokens(s))
    want_vocab = ["", "[UNK]"] + sorted(counts, key=lambda t: (counts[t], t), reverse=True)
    assert vocab == want_vocab, (vocab, want_vocab)
    index = {t: i for i, t in enumerate(vocab)}
    want = np.zeros((len(inputs), 6), np.int64)
    for i, s in enumerate(inputs):
        ids = [index.get(t, 1) for t in tokens(s)][:6]
        want[i, :len(ids)] = ids
    assert out.dtype == np.int64 and np.array_equal(out, want), (out, want)
    return {"name": "text_vectorization_int_len6", "layer": "TextVectorization",
            "config": {"standardize": "lower_and_strip_punctuation", "split": "whitespace",
                       "output_mode": "int", "output_sequence_length": 6},
            "strip_regex": STRIP_REGEX, "adapt_data": corpus, "vocabulary": vocab,
            "token_counts": {t: counts[t] for t in vocab[2:]},
            "inputs": [string_json(np.array(inputs, dtype=object))], "out": tensor_json(out, "int64")}


def preprocessing_goldens(rng):
    return ([normalization_case(rng, "normalization_axis_none", None, (8, 3)),
             normalization_case(rng, "normalization_axis_last_2d", -1, (10, 3)),
             normalization_case(rng, "normalization_axis_last_4d", -1, (4, 2, 2, 3))]
            + category_encoding_cases() + string_lookup_cases() + [text_vectorization_case()])


def spatial_dropout_golden(rng):
    rate, seed = 0.5, 1234
    layer = keras.layers.SpatialDropout2D(rate, seed=seed)
    small = f32(rng, (2, 3, 3, 4))
    inf = np.asarray(layer(small, training=False))
    assert np.array_equal(inf, small)
    shape = (16, 4, 4, 64)
    ones = np.ones(shape, np.float32)
    tr = np.asarray(layer(ones, training=True))
    per_channel = tr.reshape(shape[0], -1, shape[3])
    first = per_channel[:, :1, :]
    assert np.all(per_channel == first), "SpatialDropout2D did not drop whole channels"
    kept_values = set(np.unique(first).tolist())
    assert kept_values <= {0.0, 2.0}, kept_values
    frac = float(np.mean(first == 0))
    assert 0.4 < frac < 0.6, frac
    return {"layer": "SpatialDropout2D", "config": {"rate": rate, "seed": seed},
            "inference_input": tensor_json(small), "inference_out": tensor_json(inf),
            "training_input_shape": list(shape), "training_input": "ones",
            "noise_shape": "[batch, 1, 1, channels]", "whole_channels": True,
            "kept_value": 1 / (1 - rate), "zeroed_channel_fraction": frac,
            "n_channel_draws": shape[0] * shape[3]}


# ================================================================================== functional
def build_two_halves():
    L = keras.layers
    left = keras.Input((28, 14), name="left")
    right = keras.Input((28, 14), name="right")
    a = L.Dense(64, activation="relu", name="left_dense")(L.Flatten(name="left_flat")(left))
    b = L.Dense(64, activation="relu", name="right_dense")(L.Flatten(name="right_flat")(right))
    h = L.Concatenate(name="merge")([a, b])
    h = L.Dense(64, activation="relu", name="shared")(h)
    digit = L.Dense(10, activation="softmax", name="digit")(h)
    large = L.Dense(1, activation="sigmoid", name="large")(h)
    return keras.Model(inputs=[left, right], outputs=[digit, large], name="two_halves")


def functional_golden():
    keras.utils.set_random_seed(0)
    model = build_two_halves()
    lines = []
    model.summary(print_fn=lines.append)
    summary = "".join(lines)
    total = int(model.count_params())
    want_total = 2 * (28 * 14 * 64 + 64) + (128 * 64 + 64) + (64 * 10 + 10) + (64 + 1)
    assert total == want_total == 59_275 and "59,275" in summary, (total, summary)
    layers = []
    for layer in model.layers:
        out = layer.output
        shape = [list(o.shape) for o in out] if isinstance(out, (list, tuple)) else list(out.shape)
        layers.append({"name": layer.name, "class": type(layer).__name__, "output_shape": shape,
                       "params": int(layer.count_params())})
    return {"summary": summary, "total_params": total,
            "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
            "layer_names": [layer.name for layer in model.layers], "layers": layers,
            "input_names": [t.name for t in model.inputs],
            "output_names": list(model.output_names),
            "output_shapes": [list(o.shape) for o in model.outputs]}


# ======================================================================================== main
def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)  # every value comes from this generator (float32 draws)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    functional = functional_golden()  # first: its layer names must not depend on earlier models
    print(functional["summary"])
    setup, optimizers, names = optimizer_goldens(rng)
    schedules = schedule_goldens()
    layers = layer_goldens(rng)
    preprocessing = preprocessing_goldens(rng)
    dropout = spatial_dropout_golden(rng)
    for group in (optimizers, schedules, layers, preprocessing):
        assert len({c["name"] for c in group}) == len(group), "duplicate case names"
    top = {"keras_version": keras.__version__, "tensorflow_version": tf.__version__,
           "optimizer_notes": OPTIMIZER_NOTES, "optimizer_names": names,
           "optimizer_setup": setup, "optimizers": optimizers, "schedules": schedules,
           "layers": layers, "preprocessing": preprocessing, "spatial_dropout": dropout,
           "functional_summary": functional}
    write_json(OUT, top)
    assert OUT.stat().st_size < MAX_BYTES, f"{OUT.name} must stay under {MAX_BYTES // 1024} KiB"
    json.loads(OUT.read_text(encoding="utf-8"))
    for key in ("optimizers", "schedules", "layers", "preprocessing"):
        print(f"{key}: {len(top[key])} cases: " + ", ".join(c["name"] for c in top[key]))
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}")


if __name__ == "__main__":
    main()
