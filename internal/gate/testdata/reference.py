#!/usr/bin/python3
"""Reference values for the gate package's metrics, from scikit-learn.

Run with Debian's interpreter (python3-sklearn, python3-numpy):

    /usr/bin/python3 internal/gate/testdata/reference.py

It reads the example holdouts and the frameworks' own predictions
(examples/*/v*/reference.csv), plus a seeded regression case and a case
with tied scores, and writes reference.json beside this script. The Go
tests compute the same metrics from the same inputs and must agree to
1e-9.

Definitions that scikit-learn leaves open, and that gate uses:
  * precision, recall, F1 and ROC AUC of a multiclass model are macro
    averages (AUC one class against the rest);
  * the expected calibration error uses calibration_curve's ten uniform
    bins: the row-weighted mean over non-empty bins of
    |share of hits - mean confidence|, where for a binary model the hit is
    label == 1 and the confidence its score, and for a multiclass model the
    hit is a correct top class and the confidence its probability;
  * fairness: the metric per group, the demographic parity difference
    (max - min share predicted positive) and the equal opportunity
    difference (max - min true-positive rate) across groups;
  * the chance gap: scipy.stats.permutation_test of the metric's gap
    (max - min across groups) with the rows dealt into groups of the same
    sizes at random, one-sided ("greater"); its p-value, and the 95th
    percentile of the gaps it drew (numpy's linear interpolation). Both
    are Monte Carlo estimates, so the Go test allows for their error.
"""
import csv
import json
import os

import numpy as np
from scipy.stats import permutation_test
from sklearn.calibration import calibration_curve
from sklearn.metrics import (accuracy_score, f1_score, log_loss,
                             mean_absolute_error, mean_squared_error,
                             precision_score, r2_score, recall_score,
                             roc_auc_score)

HERE = os.path.dirname(os.path.abspath(__file__))
EX = os.path.join(HERE, "..", "..", "..", "examples")


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def column(path, name, conv=str):
    header, rows = read_csv(path)
    i = header.index(name)
    return [conv(r[i]) for r in rows]


def ece(hit, conf):
    hit = np.asarray(hit, dtype=float)
    conf = np.asarray(conf, dtype=float)
    prob_true, prob_pred = calibration_curve(hit, conf, n_bins=10, strategy="uniform")
    bins = np.linspace(0.0, 1.0, 11)
    counts = np.bincount(np.searchsorted(bins[1:-1], conf), minlength=11)
    counts = counts[counts != 0]
    return float(np.sum(counts / len(conf) * np.abs(prob_true - prob_pred)))


def binary(y, score, threshold=0.5):
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    pred = (score >= threshold).astype(int)
    return {
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        "auc": roc_auc_score(y, score),
        "log-loss": log_loss(y, score),
        "calibration-error": ece(y == 1, score),
    }


def multiclass(y, probs):
    y = np.asarray(y, dtype=int)
    probs = np.asarray(probs, dtype=float)
    pred = probs.argmax(axis=1)
    return {
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred, average="macro", zero_division=0),
        "recall": recall_score(y, pred, average="macro", zero_division=0),
        "f1": f1_score(y, pred, average="macro", zero_division=0),
        "auc": roc_auc_score(y, probs, multi_class="ovr", average="macro"),
        "log-loss": log_loss(y, probs),
        "calibration-error": ece(pred == y, probs.max(axis=1)),
    }


def regression(truth, pred):
    return {
        "mae": mean_absolute_error(truth, pred),
        "rmse": float(np.sqrt(mean_squared_error(truth, pred))),
        "r2": r2_score(truth, pred),
    }


def fairness(y, score, groups, metric, threshold=0.5):
    y = np.asarray(y, dtype=int)
    pred = (np.asarray(score) >= threshold).astype(int)
    groups = np.asarray(groups)
    per, rates, tprs = {}, [], []
    for g in sorted(set(groups)):
        m = groups == g
        per[g] = binary(y[m], np.asarray(score)[m], threshold)[metric]
        rates.append(pred[m].mean())
        tprs.append(recall_score(y[m], pred[m], zero_division=0))
    vals = list(per.values())
    score = np.asarray(score, dtype=float)

    def gap(*samples):
        got = [binary(y[rows], score[rows], threshold)[metric] for rows in samples]
        return max(got) - min(got)

    rows = [np.flatnonzero(groups == g) for g in sorted(set(groups))]
    chance = permutation_test(rows, gap, permutation_type="independent", vectorized=False,
                              n_resamples=CHANCE_RESAMPLES, alternative="greater", random_state=11)
    return {
        "metric": metric,
        "groups": per,
        "metric_gap": max(vals) - min(vals),
        "parity_difference": float(max(rates) - min(rates)),
        "opportunity_difference": float(max(tprs) - min(tprs)),
        "chance_gap": float(np.quantile(chance.null_distribution, 0.95)),
        "chance_p_value": float(chance.pvalue),
        "chance_resamples": CHANCE_RESAMPLES,
    }


CHANCE_RESAMPLES = 10000


def main():
    out = {}
    holdout = os.path.join(EX, "fraud", "holdout.csv")
    y = column(holdout, "label", int)
    region = column(holdout, "region")
    for v in ("v1", "v2", "v3"):
        score = column(os.path.join(EX, "fraud", v, "reference.csv"), "score", float)
        out["fraud-" + v] = {"metrics": binary(y, score), "fairness": fairness(y, score, region, "recall")}
    out["fraud-v2-threshold-0.3"] = {"metrics": binary(y, column(os.path.join(EX, "fraud", "v2", "reference.csv"), "score", float), 0.3)}

    dy = column(os.path.join(EX, "digits", "holdout.csv"), "label", int)
    for v in ("v1", "v2"):
        _, rows = read_csv(os.path.join(EX, "digits", v, "reference.csv"))
        probs = [[float(x) for x in r] for r in rows]
        out["digits-" + v] = {"metrics": multiclass(dy, probs)}

    # Scores with ties, and a group with one class only.
    ty = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1]
    ts = [0.1, 0.5, 0.5, 0.9, 0.5, 0.3, 0.3, 0.7, 0.1, 0.9, 0.0, 1.0]
    out["ties"] = {"labels": ty, "scores": ts, "metrics": binary(ty, ts)}

    rng = np.random.default_rng(7)
    truth = np.round(rng.normal(50, 10, 200), 3)
    pred = np.round(truth + rng.normal(0, 4, 200), 3)
    out["regression"] = {"truth": truth.tolist(), "pred": pred.tolist(), "metrics": regression(truth, pred)}

    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
