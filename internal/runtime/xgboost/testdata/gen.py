#!/usr/bin/python3
"""Regenerate the conformance fixtures for package xgboost.

Run from this directory with Debian's python3-xgboost (1.7.x) installed:

    /usr/bin/python3 gen.py

For every case it writes <case>/model.json (Booster.save_model), <case>/input.csv
(float32 feature rows, "nan" for missing) and <case>/reference.csv (xgboost's own
Booster.predict output, one row per input row, '%.17g').

Everything is seeded, so rerunning with the same xgboost version reproduces the
files byte for byte.
"""

import json
import os

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))


def features(rng, rows, cols, missing=0.0):
    """Standard-normal float32 features with a share of NaNs."""
    x = rng.normal(size=(rows, cols)).astype(np.float32)
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return x


def trees(booster):
    gbm = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    if gbm["name"] == "dart":
        gbm = gbm["gbtree"]
    return gbm["model"]["trees"]


def split_points(booster):
    """(feature, threshold) of every split, so inputs can sit exactly on them."""
    points = []
    for tree in trees(booster):
        for nid, left in enumerate(tree["left_children"]):
            if left != -1:
                points.append((tree["split_indices"][nid], tree["split_conditions"][nid]))
    return points


def eval_rows(rng, booster, cols, rows=60):
    """Random rows with missing values, plus rows whose values equal split
    thresholds exactly (to pin down the < comparison) and an all-NaN row."""
    x = features(rng, rows, cols, missing=0.15)
    on_split = rng.normal(size=(len(split_points(booster)), cols)).astype(np.float32)
    for i, (feature, threshold) in enumerate(split_points(booster)):
        on_split[i, feature] = np.float32(threshold)
    x = np.vstack([x, on_split[:40], np.full((1, cols), np.nan, dtype=np.float32)])
    return x


def write_case(name, booster, x):
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    booster.save_model(os.path.join(out, "model.json"))
    dtest = xgb.DMatrix(x, missing=np.nan, feature_names=booster.feature_names)
    pred = booster.predict(dtest)
    pred = pred.reshape(len(x), -1)
    with open(os.path.join(out, "input.csv"), "w") as f:
        for row in x:
            f.write(",".join("nan" if np.isnan(v) else "%.9g" % v for v in row) + "\n")
    with open(os.path.join(out, "reference.csv"), "w") as f:
        for row in pred:
            f.write(",".join("%.17g" % float(v) for v in row) + "\n")


def train(params, x, y, rounds, **dmatrix_args):
    params = dict(params, seed=0, nthread=1)
    dtrain = xgb.DMatrix(x, label=y, missing=np.nan, **dmatrix_args)
    return xgb.train(params, dtrain, num_boost_round=rounds)


def default_left_values(booster):
    seen = set()
    for tree in trees(booster):
        for nid, left in enumerate(tree["left_children"]):
            if left != -1:
                seen.add(tree["default_left"][nid])
    return seen


def main():
    rng = np.random.default_rng(20240601)

    # binary:logistic trained on data with missing values, so the trees learn
    # both default directions.
    x = features(rng, 400, 6, missing=0.25)
    logit = np.nan_to_num(x[:, 0]) - 2 * np.nan_to_num(x[:, 1], nan=1.5) + np.isnan(x[:, 2])
    y = (logit + 0.3 * rng.normal(size=len(x)) > 0).astype(np.float32)
    b = train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3}, x, y, 20)
    assert default_left_values(b) == {0, 1}, default_left_values(b)
    write_case("binary_missing", b, eval_rows(rng, b, 6))

    # reg:squarederror.
    x = features(rng, 300, 5, missing=0.1)
    y = 3 * np.nan_to_num(x[:, 0]) + np.sin(np.nan_to_num(x[:, 1])) * 5 + 10
    b = train({"objective": "reg:squarederror", "max_depth": 3, "eta": 0.2}, x, y, 25)
    write_case("regression", b, eval_rows(rng, b, 5))

    # reg:logistic with targets in [0, 1].
    y = 1 / (1 + np.exp(-np.nan_to_num(x[:, 0]) * 2))
    b = train({"objective": "reg:logistic", "max_depth": 3}, x, y, 10)
    write_case("reg_logistic", b, eval_rows(rng, b, 5))

    # multi:softprob and multi:softmax, three classes.
    x = features(rng, 300, 4, missing=0.1)
    y = np.digitize(np.nan_to_num(x[:, 0]) + 0.5 * np.nan_to_num(x[:, 3]), [-0.5, 0.5])
    for objective in ("multi:softprob", "multi:softmax"):
        b = train({"objective": objective, "num_class": 3, "max_depth": 3}, x, y, 8)
        write_case(objective.replace("multi:", ""), b, eval_rows(rng, b, 4))

    # binary:logistic with base_score given in probability space; the margin
    # starts from logit(0.27).
    x = features(rng, 300, 4, missing=0.1)
    y = (np.nan_to_num(x[:, 0]) > 0.6).astype(np.float32)
    b = train({"objective": "binary:logistic", "base_score": 0.27, "max_depth": 2}, x, y, 6)
    write_case("base_score", b, eval_rows(rng, b, 4))

    # Regression with an explicit base_score far from the data's mean.
    y = 2 * np.nan_to_num(x[:, 1])
    b = train({"objective": "reg:squarederror", "base_score": -7.25, "max_depth": 2}, x, y, 4)
    write_case("base_score_regression", b, eval_rows(rng, b, 4))

    # A single stump.
    y = (np.nan_to_num(x[:, 1]) > 0).astype(np.float32)
    b = train({"objective": "binary:logistic", "max_depth": 1}, x, y, 1)
    write_case("stump", b, eval_rows(rng, b, 4))

    # Feature names travel in the model file.
    names = ["age", "income", "tenure_days", "score"]
    y = (np.nan_to_num(x[:, 2]) + np.nan_to_num(x[:, 3]) > 0).astype(np.float32)
    b = train({"objective": "binary:logistic", "max_depth": 3}, x, y, 5, feature_names=names)
    write_case("feature_names", b, eval_rows(rng, b, 4))

    # Boosted random forest: several trees per round and group.
    y = np.digitize(np.nan_to_num(x[:, 0]), [-0.3, 0.4])
    b = train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2,
               "num_parallel_tree": 3, "subsample": 0.8, "colsample_bynode": 0.8}, x, y, 3)
    write_case("forest", b, eval_rows(rng, b, 4))

    # DART: tree outputs are scaled by weight_drop at prediction time.
    y = 3 * np.nan_to_num(x[:, 0]) - np.nan_to_num(x[:, 1])
    b = train({"booster": "dart", "objective": "reg:squarederror", "max_depth": 2,
               "rate_drop": 0.4, "skip_drop": 0.0}, x, y, 8)
    model = json.loads(b.save_raw("json"))
    assert any(w != 1 for w in model["learner"]["gradient_booster"]["weight_drop"])
    write_case("dart", b, eval_rows(rng, b, 4))


if __name__ == "__main__":
    main()
