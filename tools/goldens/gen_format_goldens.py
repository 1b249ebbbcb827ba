#!/usr/bin/env python3
"""Generate model-file fixtures for tandem's import tests: PyTorch `.pt` files (torch.save) and
Keras 3 `.weights.h5` / `.keras` files, each with the framework's output on a fixed input.

Writes under crates/tandem-nn/tests/fixtures/formats/:
  seed_mlp.pt       state_dict of the seed MLP (l1..l5: 784-520-320-240-120-10)
  cnn_lesson10.pt   state_dict of PyTorchZeroToAll lesson 10's CNN (conv1, conv2, fc)
  lstm2.pt          state_dict of a 2-layer LSTM classifier (lstm, fc)
  nested.pt         {"model": state_dict, "optimizer": SGD(momentum) state_dict, "epoch": 3}
  dtypes.pt         a dict of tensors of every storage dtype, a transposed (non-contiguous)
                    tensor and two tensors sharing one storage
  torch_formats.json  inputs and outputs of the three models, the state-dict keys and shapes,
                    the contents of nested.pt and dtypes.pt
and under crates/tandem-keras/tests/fixtures/formats/:
  cnn_11_1.weights.h5, cnn_11_1.keras   tf2 lesson 11-1's CNN (model.save_weights, model.save)
  dense_bn.weights.h5, dense_bn.keras   Dense -> BatchNormalization -> Dense after 2 epochs of fit
  keras_formats.json  inputs and predict() outputs, the HDF5 dataset paths and shapes, the
                    .keras archive entries and config summary
Every file is read back (torch.load(weights_only=True), keras.models.load_model,
model.load_weights) and must give the same values. The script prints the layout of every file
(zip entries, pickle opcodes with --dis, HDF5 datasets, config.json) for whoever writes a reader.

Run by hand (see README.md next to this file); PyTorch, TensorFlow and Keras are not project
dependencies:
    /tmp/anchors-venv/bin/python tools/goldens/gen_format_goldens.py [--dis]
To check a .pt file written by another program (tandem's writer) loads in PyTorch:
    /tmp/anchors-venv/bin/python tools/goldens/gen_format_goldens.py --check FILE.pt [...]
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import pathlib
import pickle
import pickletools
import tempfile
import warnings
import zipfile

# Before TensorFlow/Keras are imported: TF backend, CPU only, plain Eigen kernels (oneDNN off,
# its results depend on the CPU's ISA), quiet logs.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from goldens_io import ROOT, tensor_json, write_json  # noqa: E402
TORCH_FIXTURES = ROOT / "crates" / "tandem-nn" / "tests" / "fixtures" / "formats"
KERAS_FIXTURES = ROOT / "crates" / "tandem-keras" / "tests" / "fixtures" / "formats"
DATA_FIXTURES = ROOT / "crates" / "tandem-data" / "tests" / "fixtures" / "npz"
MAX_BYTES = 3_500_000  # all fixtures together; seed_mlp.pt alone is 2.73 MB

# ------------------------------------------------------------------------------------- helpers
def rel(path):
    return pathlib.Path(path).relative_to(ROOT)

def report_written(path):
    print(f"wrote {rel(path)} ({path.stat().st_size / 1024:.1f} KiB)")

def any_tensor_json(t, dtype=None):
    """tensor_json for every dtype: float16/bfloat16 values go through float32 (exactly)."""
    if isinstance(t, torch.Tensor) and t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return tensor_json(t, dtype)

def flatten(obj, prefix=""):
    """(dotted key, leaf) pairs of nested dicts/lists/tuples, in order."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple, torch.Tensor)) for v in obj):
        for i, v in enumerate(obj):
            yield from flatten(v, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, obj

def same_tensor(a, b):
    """Equal dtype, shape, strides, storage offset and values (NaN-free fixtures)."""
    return (a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
            and a.storage_offset() == b.storage_offset() and torch.equal(a, b))

# ------------------------------------------------------------------------------------- .pt layout
def check_tandem_pt(path):
    """Load a .pt file written by another program as a PyTorch user would
    (`torch.load(path, weights_only=True)`, the safe unpickler) and print each entry: tensors
    with their shape, dtype, strides and storage offset, anything else with its repr. Returns
    the loaded object; raises if PyTorch cannot read the file."""
    obj = torch.load(path, weights_only=True, map_location="cpu")
    print(f"{path}: {type(obj).__name__}")
    for key, val in flatten(obj):
        if isinstance(val, torch.Tensor):
            print(f"  {key}: {tuple(val.shape)} {str(val.dtype).removeprefix('torch.')} "
                  f"stride {val.stride()} offset {val.storage_offset()}")
        else:
            print(f"  {key}: {val!r}")
    return obj

def zip_entries(path):
    """(name, stored size, compression, offset of the data) of each archive member."""
    out = []
    with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
        for info in zf.infolist():
            # local header: 30 bytes + name + extra; the data follow
            raw.seek(info.header_offset + 26)
            name_len, extra_len = np.frombuffer(raw.read(4), dtype="<u2")
            data_at = info.header_offset + 30 + int(name_len) + int(extra_len)
            kind = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}.get(
                info.compress_type, str(info.compress_type))
            out.append((info.filename, info.file_size, kind, data_at))
    return out

def describe_pt(path, dis=False):
    """Print the zip entries of a torch.save archive (and the pickle opcodes with dis=True)."""
    print(f"{rel(path)}:")
    records = {}
    with zipfile.ZipFile(path) as zf:
        for name, size, kind, data_at in zip_entries(path):
            small = zf.read(name) if size <= 64 and not name.endswith(".pkl") else None
            print(f"  {name:45s} {size:8d} B {kind}, data at {data_at} (% 64 = {data_at % 64})"
                  + (f"  {small!r}" if small is not None else ""))
            records[name] = size
        pkl = next(n for n in records if n.endswith("/data.pkl"))
        data = zf.read(pkl)
    print(f"  pickle protocol {data[1]} (opcode PROTO {data[:2]!r})")
    if dis:
        text = io.StringIO()
        pickletools.dis(data, out=text)
        print(text.getvalue())
    return records

# ------------------------------------------------------------------------------------- PyTorch models
class SeedMLP(nn.Module):
    """crates/tandem-examples/examples/seed_mnist_torch.rs's Net."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(784, 520)
        self.l2 = nn.Linear(520, 320)
        self.l3 = nn.Linear(320, 240)
        self.l4 = nn.Linear(240, 120)
        self.l5 = nn.Linear(120, 10)

    def forward(self, x):
        x = x.view(-1, 784)  # Flatten the data (n, 1, 28, 28) -> (n, 784)
        x = F.relu(self.l1(x))
        x = F.relu(self.l2(x))
        x = F.relu(self.l3(x))
        x = F.relu(self.l4(x))
        return self.l5(x)

class LessonCNN(nn.Module):
    """crates/tandem-examples/examples/torch_10_cnn_mnist.rs's Net (ends with log_softmax)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(320, 10)

    def forward(self, x):
        in_size = x.size(0)
        x = F.relu(self.mp(self.conv1(x)))
        x = F.relu(self.mp(self.conv2(x)))
        x = x.view(in_size, -1)  # flatten the tensor
        x = self.fc(x)
        return F.log_softmax(x, dim=1)

class LSTMClassifier(nn.Module):
    """A 2-layer batch-first LSTM whose last time step feeds a linear layer."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=8, hidden_size=16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        out, _ = self.lstm(x)  # [B, T, 16]
        return self.fc(out[:, -1, :])

class SmallMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.fc2 = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))

# (file stem, model class, input factory, what the input is)
TORCH_MODELS = [
    ("seed_mlp", SeedMLP, lambda: torch.rand(3, 1, 28, 28), "torch.rand(3, 1, 28, 28)"),
    ("cnn_lesson10", LessonCNN, lambda: torch.rand(2, 1, 28, 28), "torch.rand(2, 1, 28, 28)"),
    ("lstm2", LSTMClassifier, lambda: torch.randn(3, 7, 8), "torch.randn(3, 7, 8)"),
]

# ------------------------------------------------------------------------------------- .pt files
def save_pt(obj, path):
    """torch.save, then check a second save of the same object (same file name, elsewhere)
    gives the same bytes, so reruns leave committed fixtures unchanged."""
    torch.save(obj, path)
    with tempfile.TemporaryDirectory() as tmp:
        again = pathlib.Path(tmp) / path.name
        torch.save(obj, again)
        assert again.read_bytes() == path.read_bytes(), f"{path.name}: torch.save is not reproducible"
    report_written(path)

def torch_model_case(stem, cls, make_input, input_desc):
    torch.manual_seed(0)  # each model and input from seed 0, whatever the order
    model = cls().eval()
    x = make_input()
    path = TORCH_FIXTURES / f"{stem}.pt"
    save_pt(model.state_dict(), path)
    with torch.no_grad():
        out = model(x)
        fresh = cls().eval()
        fresh.load_state_dict(torch.load(path, weights_only=True))
        assert torch.equal(fresh(x), out), f"{stem}: reloaded model differs"
    state = model.state_dict()
    return {
        "file": path.name,
        "class": cls.__name__,
        "input_desc": input_desc,
        "state_dict": [[k, list(t.shape), float(t.double().sum())] for k, t in state.items()],
        "input": tensor_json(x),
        "output": tensor_json(out),
    }

def nested_case():
    """A training checkpoint: model and optimizer state dicts (after one SGD step) and an int."""
    torch.manual_seed(0)
    model = SmallMLP()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    assert all((s["momentum_buffer"] != 0).all() for s in opt.state.values()), "a dead unit"
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    path = TORCH_FIXTURES / "nested.pt"
    save_pt(ckpt, path)
    back = torch.load(path, weights_only=True)
    assert back["epoch"] == 3 and back["optimizer"]["param_groups"] == ckpt["optimizer"]["param_groups"]
    for k, t in ckpt["model"].items():
        assert same_tensor(back["model"][k], t), k
    for i, st in ckpt["optimizer"]["state"].items():
        assert same_tensor(back["optimizer"]["state"][i]["momentum_buffer"], st["momentum_buffer"]), i
    state = ckpt["optimizer"]["state"]
    return {
        "file": path.name,
        "model": {k: tensor_json(t) for k, t in ckpt["model"].items()},
        "optimizer_state": {str(i): {"momentum_buffer": tensor_json(s["momentum_buffer"])}
                            for i, s in state.items()},
        "param_groups": ckpt["optimizer"]["param_groups"],
        "epoch": 3,
    }

def dtype_tensors():
    """Small 2x3 tensors of every storage dtype (values chosen to show each type's range and
    rounding), then the layout cases. The view comes before its base on purpose: a reader sees
    the shared storage first through the view."""
    t = {
        "float32": torch.tensor([[1.5, -2.25, 0.1], [-0.0, 3.0e38, 1.0e-40]], dtype=torch.float32),
        "float64": torch.tensor([[0.1, -2.5, 1e-300], [1e300, -0.0, 3.141592653589793]], dtype=torch.float64),
        "float16": torch.tensor([[0.5, -1.5, 65504.0], [0.1, 6.0e-8, -0.0]], dtype=torch.float16),
        "bfloat16": torch.tensor([[0.5, -1.5, 3.0e38], [0.1, 1.0e-40, -0.0]], dtype=torch.bfloat16),
        "int64": torch.tensor([[0, -1, 2**40], [-(2**40), 123456789, 2**53]], dtype=torch.int64),
        "int32": torch.tensor([[0, -1, 2**31 - 1], [-(2**31), 65536, 7]], dtype=torch.int32),
        "uint8": torch.tensor([[0, 1, 127], [128, 200, 255]], dtype=torch.uint8),
        "bool": torch.tensor([[True, False, True], [False, False, True]]),
        "transposed": torch.arange(12.0).reshape(3, 4).t(),  # [4, 3], strides (1, 4)
    }
    base = torch.arange(12.0).reshape(4, 3)
    t["shared_view"] = base[1:3]  # [2, 3], storage offset 3 into base's 12 floats
    t["shared_base"] = base
    return t

def dtypes_case():
    tensors = dtype_tensors()
    path = TORCH_FIXTURES / "dtypes.pt"
    save_pt(tensors, path)
    back = torch.load(path, weights_only=True)
    assert list(back) == list(tensors)
    for k, t in tensors.items():
        assert same_tensor(back[k], t), k
    assert back["shared_view"].untyped_storage().data_ptr() == back["shared_base"].untyped_storage().data_ptr()
    assert not back["transposed"].is_contiguous()
    out = {}
    for k, t in tensors.items():
        out[k] = {**any_tensor_json(t, str(t.dtype).removeprefix("torch.")),
                  "stride": list(t.stride()), "storage_offset": t.storage_offset(),
                  "storage_numel": t.untyped_storage().nbytes() // t.element_size()}
    return {"file": path.name, "tensors": out}

def unsafe_global_case():
    """A checkpoint that a weights-only load must refuse: beside a tensor it pickles an
    `argparse.Namespace`, a global outside PyTorch's weights-only set."""
    path = TORCH_FIXTURES / "unsafe_global.pt"
    save_pt({"w": torch.ones(2), "args": argparse.Namespace(lr=0.1)}, path)
    try:
        torch.load(path, weights_only=True)
        raise AssertionError("weights_only=True accepted argparse.Namespace")
    except pickle.UnpicklingError as e:
        refused = str(e).splitlines()[0]
    # a whole model pickled with torch.save(model): its class is a global too
    whole = TORCH_FIXTURES / "whole_module.pt"
    torch.manual_seed(0)
    save_pt(SmallMLP(), whole)
    try:
        torch.load(whole, weights_only=True)
        raise AssertionError("weights_only=True accepted a pickled module")
    except pickle.UnpicklingError:
        pass
    # the same checkpoint in the legacy (pre-1.6, not zip) layout
    legacy = TORCH_FIXTURES / "unsafe_global_legacy.pt"
    torch.save({"w": torch.ones(2), "args": argparse.Namespace(lr=0.1)}, legacy,
               _use_new_zipfile_serialization=False)
    report_written(legacy)
    try:
        torch.load(legacy, weights_only=True)
        raise AssertionError("weights_only=True accepted argparse.Namespace (legacy layout)")
    except pickle.UnpicklingError:
        pass
    return {"file": path.name, "global": "argparse.Namespace", "torch_message": refused,
            "legacy_file": legacy.name,
            "whole_module": {"file": whole.name, "global": f"{SmallMLP.__module__}.SmallMLP"}}

def torch_formats(dis):
    TORCH_FIXTURES.mkdir(parents=True, exist_ok=True)
    top = {"torch_version": torch.__version__.split("+")[0]}
    for stem, cls, make_input, desc in TORCH_MODELS:
        top[stem] = torch_model_case(stem, cls, make_input, desc)
    top["nested"] = nested_case()
    top["dtypes"] = dtypes_case()
    top["unsafe_global"] = unsafe_global_case()
    write_json(TORCH_FIXTURES / "torch_formats.json", top)
    print()
    for stem in [s for s, *_ in TORCH_MODELS] + ["nested", "dtypes"]:
        path = TORCH_FIXTURES / f"{stem}.pt"
        describe_pt(path, dis=dis and stem in ("nested", "dtypes"))
        check_tandem_pt(path)
        print()

# ------------------------------------------------------------------------------------- Keras
def keras_modules():
    """TensorFlow/Keras, imported only when needed, single-threaded and deterministic."""
    import tensorflow as tf
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel("ERROR")  # predict() on several models warns about retracing
    import keras
    return tf, keras

def make_cnn(keras):
    """crates/tandem-examples/examples/tf2_11_1_cnn_mnist.rs: 'valid' convolutions, pool 2."""
    L = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(16, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(32, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model

def make_dense_bn(keras):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((20,)),
        L.Dense(16, activation="relu"),
        L.BatchNormalization(),
        L.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model

def train_dense_bn(model):
    """2 epochs of fit on seeded data (features with a non-zero mean, so the moving
    statistics move away from 0 and 1)."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((64, 20)) * 2.0 + 0.5).astype(np.float32)
    y = rng.integers(0, 3, size=64).astype(np.int64)
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    bn = model.layers[1]
    assert not np.allclose(bn.moving_mean.numpy(), 0) and not np.allclose(bn.moving_variance.numpy(), 1)

def h5_layout(path):
    """Every dataset of an HDF5 file as [path, shape, dtype], in h5py's order (alphabetical by
    name: "optimizer/vars/10" sorts before "optimizer/vars/2"); every group; the attributes of
    every object that has any."""
    datasets, groups, attrs = [], [], {}

    def visit(name, obj):
        if obj.attrs:
            attrs[name] = {k: (v.decode() if isinstance(v, bytes) else np.asarray(v).tolist())
                           for k, v in obj.attrs.items()}
        if isinstance(obj, h5py.Dataset):
            datasets.append([name, list(obj.shape), str(obj.dtype)])
        else:
            groups.append(name)

    with h5py.File(path, "r") as f:
        if f.attrs:
            attrs["/"] = {k: np.asarray(v).tolist() for k, v in f.attrs.items()}
        f.visititems(visit)
    return datasets, groups, attrs

H5_LAYOUTS = {0: "compact", 1: "contiguous", 2: "chunked", 3: "virtual"}

def h5_storage(path):
    """What a minimal HDF5 reader needs to know: the superblock version (byte 8 after the
    signature) and, per dataset, [path, layout, file offset of the data, bytes, numpy dtype
    string, compression filter]."""
    raw = pathlib.Path(path).read_bytes()
    assert raw[:8] == b"\x89HDF\r\n\x1a\n", f"{path}: not an HDF5 file (no user block expected)"
    out = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            layout = H5_LAYOUTS[obj.id.get_create_plist().get_layout()]
            offset = obj.id.get_offset() if layout == "contiguous" else None
            out.append([name, layout, offset, int(obj.id.get_storage_size()), obj.dtype.str, obj.compression])

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return {"superblock_version": raw[8], "datasets": out}

def h5_values(path):
    with h5py.File(path, "r") as f:
        out = {}
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out

def h5_layout_of_member(archive, member):
    with zipfile.ZipFile(archive) as zf, tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / member
        path.write_bytes(zf.read(member))
        return h5_layout(path)

def expected_h5_variables(keras, model):
    """Keras's own naming (saving_lib._save_container_state): a Sequential's layers are stored
    under layers/<snake_case(class name)>[_<k>], numbered per class in layer order, whatever
    the layers' names; a layer's variables are vars/<i> in the order trainable then
    non-trainable; the optimizer's are optimizer/vars/<i> in optimizer.variables order.
    Returns [h5 path, Keras variable path, shape] in that order."""
    from keras.src.utils import naming
    out, used = [], {}
    for layer in model.layers:
        base = naming.to_snake_case(type(layer).__name__)
        used[base] = used.get(base, -1) + 1
        name = base if used[base] == 0 else f"{base}_{used[base]}"
        variables = list(layer.trainable_variables) + list(layer.non_trainable_variables)
        out += [[f"layers/{name}/vars/{i}", v.path, list(v.shape)] for i, v in enumerate(variables)]
    if model.optimizer is not None:
        out += [[f"optimizer/vars/{i}", v.path, list(v.shape)]
                for i, v in enumerate(model.optimizer.variables)]
    return out

def without_object_ids(config):
    """config.json minus "shared_object_id" (an id() of a Python object, different each run)."""
    if isinstance(config, dict):
        return {k: without_object_ids(v) for k, v in config.items() if k != "shared_object_id"}
    if isinstance(config, list):
        return [without_object_ids(v) for v in config]
    return config

def keras_archive(path):
    """The .keras zip: entries, config.json and metadata.json."""
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
    entries = [[name, size, kind] for name, size, kind, _ in zip_entries(path)]
    return {
        "entries": entries,
        "config_keys": sorted(config),
        "class_name": config["class_name"],
        "config_config_keys": sorted(config["config"]),
        "layers": [[layer["class_name"], layer["config"]["name"]] for layer in config["config"]["layers"]],
        "metadata_keys": sorted(metadata),
    }, config, metadata

def keras_model_case(keras, stem, make, train, x, x_desc):
    keras.backend.clear_session()  # layer names start again from "sequential", "dense", ...
    keras.utils.set_random_seed(0)
    model = make(keras)
    if train:
        train(model)
    weights_path = KERAS_FIXTURES / f"{stem}.weights.h5"
    keras_path = KERAS_FIXTURES / f"{stem}.keras"
    model.save_weights(weights_path)
    model.save(keras_path)
    report_written(weights_path)
    report_written(keras_path)
    out = model.predict(x, verbose=0)

    datasets, groups, attrs = h5_layout(weights_path)
    values = h5_values(weights_path)
    variables = expected_h5_variables(keras, model)
    assert sorted(p for p, _, _ in variables) == sorted(values), (variables, sorted(values))
    by_path = {v.path: v for v in model.variables + (model.optimizer.variables if model.optimizer else [])}
    for h5_path, var_path, _ in variables:
        assert np.array_equal(values[h5_path], np.asarray(by_path[var_path].numpy())), h5_path

    # read both files back; the fresh model's layers are named conv2d_2, dense_2, ... (no
    # clear_session), which the HDF5 paths do not depend on
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fresh optimizer has no variables to load into
        fresh = make(keras)
        assert fresh.layers[-1].name != model.layers[-1].name
        fresh.load_weights(weights_path)
        assert np.array_equal(fresh.predict(x, verbose=0), out), f"{stem}: load_weights differs"
        loaded = keras.models.load_model(keras_path)
        assert np.array_equal(loaded.predict(x, verbose=0), out), f"{stem}: load_model differs"
    with tempfile.TemporaryDirectory() as tmp:
        again = pathlib.Path(tmp) / weights_path.name
        fresh.save_weights(again)
        assert [d for d, *_ in h5_layout(again)[0] if d.startswith("layers/")] == \
            [d for d, *_ in datasets if d.startswith("layers/")], "HDF5 paths depend on layer names"

    archive, config, metadata = keras_archive(keras_path)
    inner = h5_layout_of_member(keras_path, "model.weights.h5")[0]
    print(f"\n{rel(weights_path)}:\n  groups {groups}")
    for h5_path, var_path, shape in variables:
        dtype = next(d for p, _, d in datasets if p == h5_path)
        print(f"  {h5_path:36s} {str(shape):16s} {dtype:8s} {var_path}")
    print(f"  attributes {attrs}")
    storage = h5_storage(weights_path)
    print(f"  superblock version {storage['superblock_version']}; per dataset [path, layout, offset, bytes, dtype, filter]:")
    for row in storage["datasets"]:
        print(f"    {row}")
    print(f"{rel(keras_path)}:")
    for name, size, kind in archive["entries"]:
        print(f"  {name:25s} {size:8d} B {kind}")
    print(f"  config.json keys {archive['config_keys']}, class {archive['class_name']}, "
          f"config keys {archive['config_config_keys']}")
    print(f"  layers {archive['layers']}")
    print(f"  model.weights.h5 in the archive has the datasets of {weights_path.name}: {inner == datasets}")
    print(f"  metadata.json {json.dumps(metadata)}")
    clean = without_object_ids(config)
    print("  config.json (one layer a line):")
    for key, val in clean.items():
        if key == "config":
            for k, v in val.items():
                if k == "layers":
                    print("    config.layers:")
                    for layer in v:
                        print(f"      {json.dumps(layer)}")
                else:
                    print(f"    config.{k}: {json.dumps(v)}")
        else:
            print(f"    {key}: {json.dumps(val)}")
    return {
        "weights_file": weights_path.name,
        "keras_file": keras_path.name,
        "input_desc": x_desc,
        "input": tensor_json(x),
        "output": tensor_json(out),
        "h5_datasets": datasets,
        "h5_groups": groups,
        "h5_attrs": attrs,
        "h5_variables": variables,
        "h5_storage": storage,
        "h5_sums": [[p, float(np.sum(values[p], dtype=np.float64))] for p, _, _ in variables],
        "keras_archive": archive,
        "keras_inner_h5_same_datasets": inner == datasets,
        "config": without_object_ids(config),
    }

def keras_formats():
    tf, keras = keras_modules()
    KERAS_FIXTURES.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x_cnn = rng.random((2, 28, 28, 1), dtype=np.float32)
    x_dense = rng.standard_normal((4, 20), dtype=np.float32)
    top = {"keras_version": keras.__version__, "tensorflow_version": tf.__version__}
    top["cnn_11_1"] = keras_model_case(keras, "cnn_11_1", make_cnn, None, x_cnn,
                                       "np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)")
    top["dense_bn"] = keras_model_case(keras, "dense_bn", make_dense_bn, train_dense_bn, x_dense,
                                       "then .standard_normal((4, 20), dtype=np.float32), same generator")
    write_json(KERAS_FIXTURES / "keras_formats.json", top)

def check_tandem_keras(stem, path):
    """Loads a file written by tandem into the Keras model `stem` (`load_weights` for a
    .weights.h5, `keras.saving.load_model` for a .keras) and prints the largest difference
    between its predictions and those recorded in keras_formats.json."""
    tf, keras = keras_modules()
    gold = json.loads((KERAS_FIXTURES / "keras_formats.json").read_text())[stem]
    if str(path).endswith(".keras"):
        model = keras.saving.load_model(path)
    else:
        model = {"cnn_11_1": make_cnn, "dense_bn": make_dense_bn}[stem](keras)
        model.load_weights(path)
    x = np.array(gold["input"]["data"], dtype=np.float32).reshape(gold["input"]["shape"])
    want = np.array(gold["output"]["data"]).reshape(gold["output"]["shape"])
    diff = float(np.abs(model.predict(x, verbose=0) - want).max())
    print(f"{path}: loaded into Keras {keras.__version__} as {stem}; max |difference| from "
          f"Keras's own predictions {diff:.3g}")
    assert diff < 1e-5, f"{path}: predictions differ by {diff}"

# ------------------------------------------------------------------------------------- .npz
def npz_case():
    """`np.savez_compressed` of small arrays of every dtype tandem reads (and one it widens),
    named like Keras's mnist.npz, plus a stored `np.savez` copy; the values go in arrays.json."""
    DATA_FIXTURES.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (3, 4, 4), dtype=np.uint8),
        "y_train": np.array([5, 0, 4], dtype=np.uint8),
        "f32": rng.standard_normal((2, 3)).astype(np.float32),
        "f64": np.array([0.1, -0.0, 1e300]),
        "i64": np.array([[-(2**40), 7]], dtype=np.int64),
        "i32": np.array([-5, 2**31 - 1], dtype=np.int32),
        "i16": np.array([-300, 300], dtype=np.int16),
        "flags": np.array([True, False, True]),
        "scalar": np.float32(2.5),
    }
    np.savez_compressed(DATA_FIXTURES / "arrays.npz", **arrays)
    np.savez(DATA_FIXTURES / "arrays_stored.npz", **arrays)
    back = np.load(DATA_FIXTURES / "arrays.npz")
    assert all(np.array_equal(back[k], v) for k, v in arrays.items())
    out = {k: {"dtype": str(np.asarray(v).dtype), "shape": list(np.shape(v)),
               "data": np.asarray(v).reshape(-1).tolist()} for k, v in arrays.items()}
    out["order"] = list(arrays)
    out["numpy_version"] = np.__version__
    # a Keras-style mnist.npz of the first digits of the embedded sample (real MNIST)
    sample = ROOT / "crates" / "tandem-data" / "data" / "mnist-sample"
    def idx(name, n):
        raw = gzip.decompress((sample / name).read_bytes())
        ndim = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
        data = np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)
        return data[:n].copy()
    mini = {"x_train": idx("train-images-idx3-ubyte.gz", 3), "y_train": idx("train-labels-idx1-ubyte.gz", 3),
            "x_test": idx("t10k-images-idx3-ubyte.gz", 2), "y_test": idx("t10k-labels-idx1-ubyte.gz", 2)}
    np.savez_compressed(DATA_FIXTURES / "mnist_mini.npz", **mini)
    out["mnist_mini"] = {"y_train": mini["y_train"].tolist(), "y_test": mini["y_test"].tolist(),
                         "x_train_sum": int(mini["x_train"].astype(np.int64).sum())}
    out["sha256"] = {name: hashlib.sha256((DATA_FIXTURES / name).read_bytes()).hexdigest()
                     for name in ("arrays.npz", "arrays_stored.npz", "mnist_mini.npz")}
    write_json(DATA_FIXTURES / "arrays.json", out)
    for name in ("arrays.npz", "arrays_stored.npz", "mnist_mini.npz"):
        report_written(DATA_FIXTURES / name)

# ------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", nargs="+", metavar="FILE", help="only load these .pt files with "
                    "torch.load(weights_only=True) and print what they hold")
    ap.add_argument("--check-keras", nargs=2, action="append", metavar=("MODEL", "FILE"),
                    help="load FILE (a .weights.h5 or .keras written by another program) into "
                    "MODEL (cnn_11_1 or dense_bn) with Keras and compare its predictions on the "
                    "fixture's input with Keras's own")
    ap.add_argument("--dis", action="store_true", help="also print the pickle opcodes of "
                    "nested.pt and dtypes.pt")
    ap.add_argument("--torch-only", action="store_true", help="skip the Keras fixtures")
    args = ap.parse_args()
    if args.check or args.check_keras:
        for path in args.check or []:
            check_tandem_pt(path)
        for stem, path in args.check_keras or []:
            check_tandem_keras(stem, path)
        return
    torch.set_num_threads(1)  # reduction order independent of the machine's core count
    npz_case()
    torch_formats(args.dis)
    if not args.torch_only:
        keras_formats()
    total = sum(p.stat().st_size for d in (TORCH_FIXTURES, KERAS_FIXTURES, DATA_FIXTURES) if d.is_dir()
                for p in d.iterdir())
    print(f"fixtures {total / 1024:.1f} KiB in all")
    assert total < MAX_BYTES, f"fixtures must stay under {MAX_BYTES} bytes"

if __name__ == "__main__":
    main()
