"""Runs ONNX files exported by tandem in onnxruntime and compares with tandem's outputs.

The ONNX export tests keep each exported file with an input and tandem's output when
TANDEM_ONNX_CHECK_DIR is set:

    TANDEM_ONNX_CHECK_DIR=/tmp/onnx-check cargo test -p tandem-nn -p tandem-keras --test onnx_export
    /tmp/anchors-venv/bin/pip install onnx onnxruntime numpy
    /tmp/anchors-venv/bin/python tools/goldens/check_onnx_runtime.py /tmp/onnx-check

For every NAME.onnx: `onnx.checker.check_model` (full check), then onnxruntime's CPU provider on
NAME.json's input; prints the largest difference from tandem's output and fails above 1e-5.
"""
import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(folder):
    files = sorted(pathlib.Path(folder).glob("*.onnx"))
    assert files, f"no .onnx files in {folder}"
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    worst = 0.0
    for path in files:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        case = json.loads(path.with_suffix(".json").read_text())
        dtype = np.int64 if case["input"].get("dtype") == "int64" else np.float32
        x = np.array(case["input"]["data"], dtype=dtype).reshape(case["input"]["shape"])
        want = np.array(case["output"], dtype=np.float32)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"input": x})[0].reshape(-1)
        diff = float(np.abs(got - want).max())
        worst = max(worst, diff)
        opset = model.opset_import[0].version
        print(f"{path.name}: opset {opset}, input {list(x.shape)}, max |onnxruntime - tandem| {diff:.3g}")
    assert worst <= 1e-5, f"largest difference {worst}"


if __name__ == "__main__":
    main(sys.argv[1])
