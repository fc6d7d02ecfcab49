#!/usr/bin/python3
"""Train the slipway "fraud" example: three XGBoost versions on synthetic card transactions.

Everything here is deterministic: the data come from numpy with a fixed seed,
XGBoost runs single-threaded with a fixed seed, and every file is written in a
fixed format, so a retrain with the same package versions gives byte-identical
artifacts.

Run with Debian's interpreter (the packages load only there):

    /usr/bin/python3 examples/fraud/train.py [--out DIR]

Outputs (under DIR, default: this script's directory):

    holdout.csv               feature columns in model order, region, label
    v{1,2,3}/model.json       booster.save_model(...) in XGBoost's JSON format
    v{1,2,3}/reference.csv    column `score`: booster.predict(DMatrix(X, missing=nan))
    v{1,2,3}/signature.json   one named FP32 tensor of shape [-1] per feature, output `score`
    v{1,2,3}/metrics.json     holdout auc, accuracy (threshold 0.5), log_loss
    v{1,2,3}/lineage.json     data_ref, data_hash (sha256 of the training CSV bytes), params
    v{1,2,3}/card.md          model card
"""

import argparse
import hashlib
import io
import json
import math
import os
import sys

import numpy as np
import xgboost as xgb
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

SEED = 42
N_TRAIN = 20000
N_HOLDOUT = 2000
SIGNAL = 1.5

# Model input order. The gateway maps named input tensors to columns in this order.
FEATURES = [
    "amount",              # transaction amount, EUR-equivalent, log-normal
    "hour",                # local hour of day, 0-23
    "merchant_risk",       # merchant risk score 0-1; missing (NaN) for unscored merchants
    "distance_from_home",  # km from the card holder's home; missing (NaN) when no geolocation
    "tx_count_24h",        # transactions on this card in the previous 24 hours
    "is_foreign",          # 1 if the merchant country differs from the card's country
    "card_age_days",       # days since the card was issued
]
REGIONS = ["eu", "us", "apac"]  # group column for fairness checks; NOT a model input

FEATURE_DOCS = {
    "amount": "transaction amount (EUR-equivalent, log-normal, 2 decimals)",
    "hour": "local hour of the transaction, integer 0-23",
    "merchant_risk": "merchant risk score in [0, 1] (3 decimals); missing (NaN) for unscored merchants (~3%)",
    "distance_from_home": "distance from the card holder's home in km (1 decimal); missing (NaN) when no geolocation (~8%, more often abroad)",
    "tx_count_24h": "number of transactions on the card in the previous 24 hours, integer",
    "is_foreign": "1 if the merchant is in another country than the card issuer, else 0",
    "card_age_days": "days since the card was issued, integer 1-5000",
}


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def generate(rng, n):
    """Synthetic card transactions. Returns (X float32 [n, 7], region [n] str, label [n] int)."""
    region = rng.choice(len(REGIONS), size=n, p=[0.40, 0.35, 0.25])
    amount = np.round(np.exp(rng.normal(3.6, 1.1, n)), 2)
    amount = np.clip(amount, 0.5, 25000.0)
    hour_p = np.array([1, 0.7, 0.5, 0.4, 0.4, 0.6, 1.2, 2.5, 4, 5, 5.5, 6,
                       6.5, 6, 5.5, 5.5, 5.5, 6, 6, 5.5, 4.5, 3.5, 2.5, 1.6])
    hour = rng.choice(24, size=n, p=hour_p / hour_p.sum())
    merchant_risk = np.round(rng.beta(2.0, 8.0, n), 3)
    foreign_p = np.array([0.15, 0.05, 0.10])[region]
    is_foreign = (rng.random(n) < foreign_p).astype(np.int64)
    distance = np.round(np.exp(rng.normal(2.2, 1.3, n)) + is_foreign * rng.gamma(2.0, 400.0, n), 1)
    tx_count = rng.poisson(1.8, n) + rng.binomial(1, 0.05, n) * rng.poisson(6.0, n)
    card_age = np.clip(np.round(rng.exponential(800.0, n)), 1, 5000).astype(np.int64)

    night = ((hour >= 0) & (hour <= 5)).astype(np.float64)
    log_amt = np.log(amount)
    # Latent fraud score: non-linear and with interactions, so deeper trees help.
    # SIGNAL scales every effect; the intercept sets the fraud rate (about 5-6%).
    z = -8.6 + SIGNAL * (
         0.55 * np.maximum(log_amt - 4.0, 0.0) ** 1.5
         + 1.3 * night
         + 4.5 * np.maximum(merchant_risk - 0.25, 0.0)
         + 0.45 * np.log1p(distance)
         + 0.30 * np.minimum(tx_count, 8)
         + 1.0 * is_foreign
         + 1.2 * night * is_foreign
         + 1.6 * (card_age < 30)
         + 0.8 * ((tx_count >= 5) & (log_amt > 5.0))
         + np.array([0.0, 0.2, -0.1])[region]
         + rng.normal(0.0, 0.5, n))

    # Missing values: unscored merchants are riskier; foreign transactions lack geolocation more often.
    miss_risk = rng.random(n) < 0.03
    z = z + SIGNAL * 0.9 * miss_risk
    miss_dist = rng.random(n) < (0.06 + 0.14 * is_foreign)
    z = z + SIGNAL * 0.6 * miss_dist

    label = (rng.random(n) < sigmoid(z)).astype(np.int64)

    merchant_risk = np.where(miss_risk, np.nan, merchant_risk)
    distance = np.where(miss_dist, np.nan, distance)
    X = np.column_stack([amount, hour, merchant_risk, distance, tx_count, is_foreign, card_age]).astype(np.float32)
    return X, np.array(REGIONS)[region], label


def fmt_feature(v):
    """Shortest decimal that round-trips the float32 value; NaN for missing."""
    v = np.float32(v)
    if np.isnan(v):
        return "NaN"
    s = np.format_float_positional(v, unique=True, trim="-")
    return s


def fmt_float(v):
    """Full precision for a float (float32 predictions are widened exactly to float64)."""
    return repr(float(v))


def table_csv(X, region, label):
    buf = io.StringIO()
    buf.write(",".join(FEATURES + ["region", "label"]) + "\n")
    for i in range(X.shape[0]):
        buf.write(",".join([fmt_feature(v) for v in X[i]] + [region[i], str(int(label[i]))]) + "\n")
    return buf.getvalue().encode("ascii")


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_json(path, obj):
    write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("ascii"))


def signature_json(sig):
    """Compact, one tensor per line: {"inputs":[{"name":..,"datatype":"FP32","shape":[-1]},...],"outputs":[...]}."""
    def block(key):
        return "\n".join(json.dumps(t, separators=(",", ":")) + ("," if i < len(sig[key]) - 1 else "")
                         for i, t in enumerate(sig[key]))
    return ('{"inputs":[\n' + block("inputs") + '\n],"outputs":[\n' + block("outputs") + "\n]}\n").encode("ascii")


BASE_PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "tree_method": "hist",
    "nthread": 1,
    "seed": 0,
    "max_bin": 256,
}

VERSIONS = {
    "v1": {
        "summary": "baseline: 10 depth-1 trees (stumps) on 3 of the 7 inputs",
        "used_features": ["amount", "merchant_risk", "distance_from_home"],
        "params": {"max_depth": 1, "eta": 0.3, "min_child_weight": 5.0},
        "rounds": 10,
        "label_noise": 0.0,
    },
    "v2": {
        "summary": "all 7 inputs, 60 depth-4 trees",
        "used_features": FEATURES,
        "params": {"max_depth": 4, "eta": 0.1, "min_child_weight": 2.0, "subsample": 0.8, "colsample_bytree": 0.9, "lambda": 1.0},
        "rounds": 60,
        "label_noise": 0.0,
    },
    "v3": {
        "summary": "same inputs and shape as v2, trained on labels of which 40% were flipped at random (a simulated labelling bug)",
        "used_features": FEATURES,
        "params": {"max_depth": 4, "eta": 0.1, "min_child_weight": 2.0, "subsample": 0.8, "colsample_bytree": 0.9, "lambda": 1.0},
        "rounds": 60,
        "label_noise": 0.4,
    },
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    out = args.out

    rng = np.random.default_rng(SEED)
    X_tr, reg_tr, y_tr = generate(rng, N_TRAIN)
    X_ho, reg_ho, y_ho = generate(rng, N_HOLDOUT)

    train_csv = table_csv(X_tr, reg_tr, y_tr)
    holdout_csv = table_csv(X_ho, reg_ho, y_ho)
    write_bytes(os.path.join(out, "holdout.csv"), holdout_csv)
    holdout_hash = "sha256:" + hashlib.sha256(holdout_csv).hexdigest()

    print(f"xgboost {xgb.__version__}; train fraud rate {y_tr.mean():.4f}, holdout fraud rate {y_ho.mean():.4f}")
    print(f"missing: train distance {np.isnan(X_tr[:, 3]).mean():.3f} merchant_risk {np.isnan(X_tr[:, 2]).mean():.3f}; "
          f"holdout distance {np.isnan(X_ho[:, 3]).sum()} rows, merchant_risk {np.isnan(X_ho[:, 2]).sum()} rows")

    d_ho = xgb.DMatrix(X_ho, missing=np.nan, feature_names=FEATURES)
    signature = {
        "inputs": [{"name": f, "datatype": "FP32", "shape": [-1]} for f in FEATURES],
        "outputs": [{"name": "score", "datatype": "FP32", "shape": [-1]}],
    }

    results = {}
    for ver, spec in VERSIONS.items():
        y_fit = y_tr.copy()
        data_ref = f"synthetic:fraud-seed-{SEED}"
        fit_csv = train_csv
        if spec["label_noise"] > 0:
            noise_rng = np.random.default_rng(7)
            flip = noise_rng.random(N_TRAIN) < spec["label_noise"]
            y_fit = np.where(flip, 1 - y_fit, y_fit)
            data_ref += f"+label-flip-{spec['label_noise']}-seed-7"
            fit_csv = table_csv(X_tr, reg_tr, y_fit)
        # Inputs a version does not use are blanked to a constant, so the model
        # never splits on them but keeps the same 7-input schema as the others.
        X_fit = X_tr.copy()
        for j, f in enumerate(FEATURES):
            if f not in spec["used_features"]:
                X_fit[:, j] = 0.0
        d_tr = xgb.DMatrix(X_fit, label=y_fit, missing=np.nan, feature_names=FEATURES)
        params = dict(BASE_PARAMS, **spec["params"])
        booster = xgb.train(params, d_tr, num_boost_round=spec["rounds"])

        vdir = os.path.join(out, ver)
        os.makedirs(vdir, exist_ok=True)
        model_path = os.path.join(vdir, "model.json")
        booster.save_model(model_path)

        # Reference predictions from the saved file, exactly as a user would load it.
        loaded = xgb.Booster(model_file=model_path)
        loaded.set_param({"nthread": 1})
        score = loaded.predict(xgb.DMatrix(X_ho, missing=np.nan, feature_names=FEATURES))
        assert score.dtype == np.float32
        assert np.array_equal(score, booster.predict(d_ho))
        write_bytes(os.path.join(vdir, "reference.csv"),
                    ("score\n" + "".join(fmt_float(s) + "\n" for s in score)).encode("ascii"))

        s64 = score.astype(np.float64)
        metrics = {
            "auc": float(roc_auc_score(y_ho, s64)),
            "accuracy": float(accuracy_score(y_ho, (s64 >= 0.5).astype(int))),
            "log_loss": float(log_loss(y_ho, s64, labels=[0, 1])),
        }
        write_json(os.path.join(vdir, "metrics.json"), metrics)
        write_bytes(os.path.join(vdir, "signature.json"), signature_json(signature))

        per_region = {}
        for r in REGIONS:
            m = reg_ho == r
            per_region[r] = {
                "n": int(m.sum()),
                "fraud_rate": float(y_ho[m].mean()),
                "auc": float(roc_auc_score(y_ho[m], s64[m])),
                "flag_rate": float((s64[m] >= 0.5).mean()),
            }

        with open(model_path, "rb") as f:
            model_hash = "sha256:" + hashlib.sha256(f.read()).hexdigest()
        model_doc = json.load(open(model_path))
        trees = model_doc["learner"]["gradient_booster"]["model"]["trees"]
        n_nodes = sum(len(t["left_children"]) for t in trees)
        dl = [bool(v) for t in trees for i, v in enumerate(t["default_left"]) if t["left_children"][i] != -1]
        lineage = {
            "data_ref": data_ref,
            "data_hash": "sha256:" + hashlib.sha256(fit_csv).hexdigest(),
            "train_rows": N_TRAIN,
            "train_positive_rate": float(y_fit.mean()),
            "holdout_ref": "examples/fraud/holdout.csv",
            "holdout_hash": holdout_hash,
            "model_hash": model_hash,
            "framework": "xgboost",
            "framework_version": xgb.__version__,
            "params": {k: params[k] for k in sorted(params)},
            "num_boost_round": spec["rounds"],
            "used_features": spec["used_features"],
            "label_noise": spec["label_noise"],
        }
        write_json(os.path.join(vdir, "lineage.json"), lineage)

        results[ver] = metrics
        write_bytes(os.path.join(vdir, "card.md"), card(ver, spec, params, metrics, per_region, lineage,
                                                        len(trees), n_nodes).encode("utf-8"))
        print(f"{ver}: trees={len(trees)} nodes={n_nodes} splits default_left true={sum(dl)} false={len(dl) - sum(dl)} "
              f"size={os.path.getsize(model_path)}B auc={metrics['auc']:.4f} acc={metrics['accuracy']:.4f} "
              f"logloss={metrics['log_loss']:.4f}")

    if not (results["v2"]["auc"] > results["v1"]["auc"] + 0.03 and results["v3"]["auc"] < results["v2"]["auc"] - 0.03):
        print("warning: version ordering v1 < v2 > v3 on AUC is not clear", file=sys.stderr)
        sys.exit(1)


def card(ver, spec, params, metrics, per_region, lineage, n_trees, n_nodes):
    lines = []
    lines.append(f"# fraud-detector {ver}\n")
    lines.append(f"{spec['summary'].capitalize()}.\n")
    lines.append("## Intended use\n")
    lines.append("A demonstration model for slipway: scores a card transaction with the probability that it is "
                 "fraudulent (`score`, 0-1; flag at 0.5). Trained on synthetic data only; not for real decisions.\n")
    if spec["label_noise"] > 0:
        lines.append(f"**Known defect (on purpose):** {int(spec['label_noise'] * 100)}% of the training labels were "
                     "flipped at random before training, so its scores are badly calibrated and rank worse. Its inputs, "
                     "size and speed match v2: only offline quality gates and ground-truth feedback can tell them apart.\n")
    lines.append("## Training data\n")
    lines.append(f"{N_TRAIN} synthetic card transactions drawn with numpy (`default_rng({SEED})`) by `train.py`; "
                 f"the fraud label comes from a latent logistic function of the features with Gaussian noise "
                 f"(positive rate {lineage['train_positive_rate']:.1%} as trained). Missing values in "
                 "`merchant_risk` and `distance_from_home` are NaN and are handled by XGBoost's default directions.\n")
    lines.append(f"- data_ref: `{lineage['data_ref']}`")
    lines.append(f"- data_hash: `{lineage['data_hash']}` (sha256 of the training CSV bytes, same format as holdout.csv)\n")
    lines.append("## Inputs (in this order; one FP32 tensor of shape [-1] each)\n")
    for i, f in enumerate(FEATURES):
        used = "" if f in spec["used_features"] else " — *not used by this version*"
        lines.append(f"{i}. `{f}`: {FEATURE_DOCS[f]}{used}")
    lines.append("\n`region` (eu/us/apac) is kept in holdout.csv for fairness checks and is not an input.\n")
    lines.append("## Model\n")
    lines.append(f"XGBoost {xgb.__version__}, objective `binary:logistic`, {n_trees} trees, {n_nodes} nodes, "
                 f"max_depth {params['max_depth']}, eta {params['eta']}. Output `score` (FP32, shape [-1]).\n")
    lines.append(f"## Holdout metrics ({N_HOLDOUT} rows, holdout.csv)\n")
    lines.append("| metric | value |\n| --- | --- |")
    lines.append(f"| ROC AUC | {metrics['auc']:.4f} |")
    lines.append(f"| accuracy (score >= 0.5) | {metrics['accuracy']:.4f} |")
    lines.append(f"| log loss | {metrics['log_loss']:.4f} |\n")
    lines.append("By region:\n")
    lines.append("| region | rows | fraud rate | AUC | flagged |\n| --- | --- | --- | --- | --- |")
    for r, m in per_region.items():
        lines.append(f"| {r} | {m['n']} | {m['fraud_rate']:.3f} | {m['auc']:.4f} | {m['flag_rate']:.3f} |")
    lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
