#!/usr/bin/python3
"""Train the slipway "digits" example: a small PyTorch MLP on scikit-learn's bundled
8x8 digits, exported to a single-file ONNX model with a softmax output.

Deterministic: fixed seeds, one CPU thread, deterministic algorithms, fixed split.

    /usr/bin/python3 examples/digits/train.py [--out DIR]

Outputs (under DIR, default: this script's directory):

    holdout.csv              p0..p63 (raw pixel intensities 0-16), label; the 25% test split
    v{1,2}/model.onnx        input `input` FP32 [batch,64] (raw 0-16 pixels; the model scales them),
                             output `probabilities` FP32 [batch,10]
    v{1,2}/reference.csv     prob0..prob9 computed by torch (float32) on holdout.csv;
                             cross-checked against an independent numpy evaluation of the ONNX graph
    v{1,2}/signature.json, metrics.json, lineage.json, card.md
"""

import argparse
import hashlib
import io
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SPLIT_SEED = 42
OPSET = 13

VERSIONS = {
    "v1": {"hidden": 8, "epochs": 10, "lr": 0.003, "batch": 64, "seed": 1,
           "summary": "64 -> 8 -> 10 MLP, 10 epochs"},
    "v2": {"hidden": 32, "epochs": 40, "lr": 0.003, "batch": 32, "seed": 2,
           "summary": "64 -> 32 -> 10 MLP, 40 epochs"},
}


class Scale(torch.nn.Module):
    """Raw pixel intensities 0-16 -> 0-1, inside the model so callers send raw pixels."""

    def forward(self, x):
        return x / 16.0


def build(hidden):
    return torch.nn.Sequential(
        Scale(),
        torch.nn.Linear(64, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 10),
    )


def fmt_float(v):
    return repr(float(v))


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_json(path, obj):
    write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("ascii"))


def table_csv(X, y):
    buf = io.StringIO()
    buf.write(",".join([f"p{i}" for i in range(64)] + ["label"]) + "\n")
    for i in range(X.shape[0]):
        buf.write(",".join([str(int(v)) for v in X[i]] + [str(int(y[i]))]) + "\n")
    return buf.getvalue().encode("ascii")


def numpy_eval(model_path, x):
    """Independent evaluation of the exported graph with numpy (float32), for the ops it contains."""
    m = onnx.load(model_path)
    env = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    env[m.graph.input[0].name] = x.astype(np.float32)
    for node in m.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[n] for n in node.input]
        if node.op_type == "Constant":
            out = numpy_helper.to_array(a["value"])
        elif node.op_type == "Div":
            out = (ins[0] / ins[1]).astype(np.float32)
        elif node.op_type == "Mul":
            out = (ins[0] * ins[1]).astype(np.float32)
        elif node.op_type == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            out = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2:
                out = out + a.get("beta", 1.0) * ins[2]
            out = out.astype(np.float32)
        elif node.op_type == "MatMul":
            out = (ins[0] @ ins[1]).astype(np.float32)
        elif node.op_type == "Add":
            out = (ins[0] + ins[1]).astype(np.float32)
        elif node.op_type == "Relu":
            out = np.maximum(ins[0], np.float32(0))
        elif node.op_type == "Softmax":
            ax = a.get("axis", -1)
            e = np.exp(ins[0] - ins[0].max(axis=ax, keepdims=True))
            out = (e / e.sum(axis=ax, keepdims=True)).astype(np.float32)
        else:
            raise SystemExit(f"numpy_eval: unsupported op {node.op_type}")
        env[node.output[0]] = out
    return env[m.graph.output[0].name]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    out = args.out

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    digits = load_digits()
    X = digits.data.astype(np.float32)  # 1797 x 64, integer intensities 0-16
    y = digits.target.astype(np.int64)
    X_tr, X_ho, y_tr, y_ho = train_test_split(X, y, test_size=0.25, random_state=SPLIT_SEED, stratify=y)

    train_csv = table_csv(X_tr, y_tr)
    holdout_csv = table_csv(X_ho, y_ho)
    write_bytes(os.path.join(out, "holdout.csv"), holdout_csv)
    data_hash = "sha256:" + hashlib.sha256(train_csv).hexdigest()
    holdout_hash = "sha256:" + hashlib.sha256(holdout_csv).hexdigest()
    print(f"torch {torch.__version__}, onnx {onnx.__version__}; train {len(y_tr)} rows, holdout {len(y_ho)} rows")

    xt = torch.from_numpy(X_tr)
    yt = torch.from_numpy(y_tr)
    xh = torch.from_numpy(X_ho)

    signature = {
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}],
    }

    for ver, spec in VERSIONS.items():
        torch.manual_seed(spec["seed"])
        net = build(spec["hidden"])
        opt = torch.optim.Adam(net.parameters(), lr=spec["lr"])
        gen = torch.Generator().manual_seed(spec["seed"])
        lossf = torch.nn.CrossEntropyLoss()
        net.train()
        for _ in range(spec["epochs"]):
            perm = torch.randperm(len(yt), generator=gen)
            for i in range(0, len(perm), spec["batch"]):
                idx = perm[i:i + spec["batch"]]
                opt.zero_grad()
                loss = lossf(net(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        net.eval()
        model = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()

        vdir = os.path.join(out, ver)
        os.makedirs(vdir, exist_ok=True)
        model_path = os.path.join(vdir, "model.onnx")
        dummy = torch.zeros(1, 64, dtype=torch.float32)
        export_kwargs = dict(
            input_names=["input"], output_names=["probabilities"],
            dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True, export_params=True,
        )
        bio = io.BytesIO()
        try:
            torch.onnx.export(model, dummy, bio, dynamo=False, **export_kwargs)
        except TypeError:  # torch < 2.5 has no `dynamo` argument (TorchScript exporter only)
            bio = io.BytesIO()
            torch.onnx.export(model, dummy, bio, **export_kwargs)
        m = onnx.load_from_string(bio.getvalue())
        m.producer_name, m.producer_version = "pytorch", torch.__version__
        m.doc_string = f"slipway example digits {ver}: {spec['summary']}"
        onnx.checker.check_model(m, full_check=True)
        assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer)
        write_bytes(model_path, m.SerializeToString())

        with torch.no_grad():
            probs = model(xh).numpy()
        assert probs.dtype == np.float32
        check = numpy_eval(model_path, X_ho)
        max_diff = float(np.abs(check - probs).max())
        if max_diff > 1e-5:
            raise SystemExit(f"{ver}: ONNX graph (numpy) and torch disagree by {max_diff}")

        buf = io.StringIO()
        buf.write(",".join(f"prob{k}" for k in range(10)) + "\n")
        for row in probs:
            buf.write(",".join(fmt_float(v) for v in row) + "\n")
        write_bytes(os.path.join(vdir, "reference.csv"), buf.getvalue().encode("ascii"))

        pred = probs.argmax(axis=1)
        p64 = probs.astype(np.float64)
        metrics = {
            "accuracy": float((pred == y_ho).mean()),
            "log_loss": float(-np.mean(np.log(np.clip(p64[np.arange(len(y_ho)), y_ho], 1e-15, 1.0)))),
        }
        write_json(os.path.join(vdir, "metrics.json"), metrics)
        write_bytes(os.path.join(vdir, "signature.json"),
                    (json.dumps(signature, separators=(",", ":")) + "\n").encode("ascii"))
        with open(model_path, "rb") as f:
            model_hash = "sha256:" + hashlib.sha256(f.read()).hexdigest()
        ops = [n.op_type for n in m.graph.node]
        lineage = {
            "data_ref": f"sklearn:load_digits+train_test_split(test_size=0.25,random_state={SPLIT_SEED},stratify=y)/train",
            "data_hash": data_hash,
            "train_rows": int(len(y_tr)),
            "holdout_ref": "examples/digits/holdout.csv",
            "holdout_hash": holdout_hash,
            "model_hash": model_hash,
            "framework": "pytorch",
            "framework_version": torch.__version__,
            "onnx_version": onnx.__version__,
            "opset": OPSET,
            "ir_version": int(m.ir_version),
            "hyperparameters": {k: spec[k] for k in ("hidden", "epochs", "lr", "batch", "seed")},
            "reference": "torch float32 forward pass (onnx.reference is not in onnx "
                         f"{onnx.__version__}); checked against a numpy evaluation of the ONNX graph, max abs diff {max_diff:.3g}",
        }
        write_json(os.path.join(vdir, "lineage.json"), lineage)
        write_bytes(os.path.join(vdir, "card.md"), card(ver, spec, metrics, lineage, ops, len(y_tr), len(y_ho)).encode("utf-8"))
        print(f"{ver}: ops={ops} ir={m.ir_version} opset={m.opset_import[0].version} size={os.path.getsize(model_path)}B "
              f"accuracy={metrics['accuracy']:.4f} log_loss={metrics['log_loss']:.4f} onnx-vs-torch max diff={max_diff:.3g}")


def card(ver, spec, metrics, lineage, ops, n_train, n_holdout):
    return f"""# digits {ver}

{spec['summary']}: classifies an 8x8 grey-scale image of a hand-written digit (0-9).

## Intended use

A demonstration model for slipway's ONNX runtime and rollouts. Not for real use.

## Training data

scikit-learn's bundled `load_digits` (1797 images, UCI optical digits), split with
`train_test_split(test_size=0.25, random_state={SPLIT_SEED}, stratify=y)`: {n_train} rows for
training, {n_holdout} rows in holdout.csv.

- data_ref: `{lineage['data_ref']}`
- data_hash: `{lineage['data_hash']}` (sha256 of the training rows as CSV, same format as holdout.csv)

## Inputs and outputs

- `input`: FP32 `[batch, 64]`, the 64 pixels row by row (holdout.csv columns p0..p63), raw
  intensities 0-16; the model divides by 16 itself.
- `probabilities`: FP32 `[batch, 10]`, softmax over the digits 0-9 (the predicted class is the argmax).

## Model

PyTorch {lineage['framework_version']} MLP 64 -> {spec['hidden']} -> 10 with ReLU, Adam lr {spec['lr']},
batch {spec['batch']}, {spec['epochs']} epochs, seed {spec['seed']}. Exported with `torch.onnx.export`
(TorchScript exporter), opset {lineage['opset']}, IR version {lineage['ir_version']}, a single file
without external data. Graph: {' -> '.join(ops)}.

## Holdout metrics ({n_holdout} rows)

| metric | value |
| --- | --- |
| accuracy | {metrics['accuracy']:.4f} |
| log loss | {metrics['log_loss']:.4f} |

reference.csv holds the probabilities from torch's float32 forward pass; an independent numpy
evaluation of the ONNX graph agrees within {float(lineage['reference'].rsplit(' ', 1)[1]):.1g}.
"""


if __name__ == "__main__":
    main()
