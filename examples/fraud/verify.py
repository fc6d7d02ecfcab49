#!/usr/bin/python3
"""Recompute reference.csv from model.json and holdout.csv without XGBoost.

Documents the exact semantics a reader of XGBoost's JSON format (such as slipway's
Go runtime) has to follow to reproduce booster.predict bit for bit:

  - features are float32; missing values are written as `NaN` in holdout.csv
  - at an inner node: NaN -> default_left ? left : right; else x < split_condition -> left
    (strictly less, compared in float32), otherwise right
  - a leaf's value is its split_conditions entry
  - margin = float32 sum, in tree order, starting from the base margin
    (base_score 0.5 -> logit 0), of the float32 leaf values
  - score = 1 / (1 + exp(-margin)) evaluated in float32 (C expf; float32(exp64(x)) agrees
    except for rare 1-ulp cases)

Uses only the standard library and numpy.

    /usr/bin/python3 examples/fraud/verify.py [DIR]
"""

import csv
import json
import math
import os
import sys

import numpy as np


def load_holdout(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    nfeat = header.index("region")
    X = np.array([[np.float32(v) for v in r[:nfeat]] for r in rows[1:]], dtype=np.float32)
    return header[:nfeat], X


def margins(model, X):
    learner = model["learner"]
    base = float(learner["learner_model_param"]["base_score"])
    base_margin = np.float32(math.log(base / (1.0 - base)))
    trees = learner["gradient_booster"]["model"]["trees"]
    conv = [(t["left_children"], t["right_children"], t["split_indices"],
             [np.float32(c) for c in t["split_conditions"]], t["default_left"]) for t in trees]
    out = np.empty(len(X), dtype=np.float32)
    for i, x in enumerate(X):
        s = base_margin
        for left, right, idx, cond, dleft in conv:
            n = 0
            while left[n] != -1:
                v = x[idx[n]]
                if np.isnan(v):
                    n = left[n] if dleft[n] else right[n]
                else:
                    n = left[n] if v < cond[n] else right[n]
            s = np.float32(s + cond[n])
        out[i] = s
    return out


def main():
    here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    names, X = load_holdout(os.path.join(here, "holdout.csv"))
    ok = True
    for ver in sorted(d for d in os.listdir(here) if d.startswith("v") and os.path.isdir(os.path.join(here, d))):
        with open(os.path.join(here, ver, "model.json")) as f:
            model = json.load(f)
        assert model["learner"]["feature_names"] == names, "holdout columns must be in model order"
        with open(os.path.join(here, ver, "reference.csv")) as f:
            ref = np.array([float(r[0]) for r in list(csv.reader(f))[1:]])
        m = margins(model, X)
        e = np.exp(-m.astype(np.float64)).astype(np.float32)
        score = np.float32(1) / (np.float32(1) + e)
        exact = float((score.astype(np.float64) == ref).mean())
        diff = float(np.abs(score.astype(np.float64) - ref).max())
        print(f"{ver}: {len(ref)} rows, bit-exact {exact:.2%}, max abs diff {diff:.3g}")
        ok = ok and diff <= 1.2e-7 and exact >= 0.99
    if not ok:
        sys.exit("verify: reference.csv does not follow from model.json")


if __name__ == "__main__":
    main()
