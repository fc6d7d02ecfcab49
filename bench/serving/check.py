"""Checks, before the load test, that slipway and the peer answer the same
requests the same way: the same response fields and the same float32 score
for each of the first N holdout rows (missing values included).

    /usr/bin/python3 bench/serving/check.py CSV ROWS URL...

Exits non-zero, naming the first difference, if they disagree.
"""

import http.client
import json
import math
import sys
import urllib.parse

import numpy as np

FEATURES = ["amount", "hour", "merchant_risk", "distance_from_home",
            "tx_count_24h", "is_foreign", "card_age_days"]
PATH = "/v2/models/fraud/infer"
FIELDS = {"model_name", "model_version", "id", "outputs"}


def value(field):
    return None if field == "" or field.lower() == "nan" else float(field)


def body(row):
    return json.dumps({"inputs": [
        {"name": f, "datatype": "FP32", "shape": [1], "data": [value(row[i])]}
        for i, f in enumerate(FEATURES)
    ]})


def main():
    csv, n, urls = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    with open(csv) as f:
        header = f.readline().strip().split(",")
        assert header[:len(FEATURES)] == FEATURES, header
        rows = [line.strip().split(",") for line in f if line.strip()][:n]
    conns = []
    for u in urls:
        p = urllib.parse.urlsplit(u)
        conns.append(http.client.HTTPConnection(p.hostname, p.port, timeout=10))
    for i, row in enumerate(rows):
        scores = []
        for u, c in zip(urls, conns):
            c.request("POST", PATH, body(row), {"Content-Type": "application/json"})
            r = c.getresponse()
            raw = r.read()
            if r.status != 200:
                sys.exit(f"{u}: row {i + 1}: status {r.status}: {raw[:300]!r}")
            resp = json.loads(raw)
            if set(resp) != FIELDS:
                sys.exit(f"{u}: response fields {sorted(resp)}, want {sorted(FIELDS)}")
            out = resp["outputs"]
            if len(out) != 1 or out[0]["name"] != "score" or out[0]["shape"] != [1] or out[0]["datatype"] != "FP32":
                sys.exit(f"{u}: outputs {out}, want one FP32 score of shape [1]")
            if resp["model_name"] != "fraud" or resp["model_version"] != "2.0.0" or not resp["id"]:
                sys.exit(f"{u}: answered as {resp['model_name']}@{resp['model_version']} id {resp['id']!r}")
            scores.append(np.float32(out[0]["data"][0]))
        if any(s != scores[0] and not (math.isnan(s) and math.isnan(scores[0])) for s in scores):
            sys.exit(f"row {i + 1} {row}: scores differ: " + ", ".join(f"{u}={s!r}" for u, s in zip(urls, scores)))
    print(f"check: {len(rows)} rows, identical float32 scores from {len(urls)} servers")


if __name__ == "__main__":
    main()
