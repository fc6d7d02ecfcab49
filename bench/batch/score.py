#!/usr/bin/python3
"""The Python peer of bench/batch: score a fraud CSV with XGBoost itself.

Reads the CSV with pandas, predicts with xgboost.Booster loaded from the
same model.json slipway loads, writes one `line,score` row per input row,
and prints its timings as JSON. Model loading is outside the timing, as it
is for slipway.

    /usr/bin/python3 bench/batch/score.py MODEL.json IN.csv OUT.csv
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb

FEATURES = ["amount", "hour", "merchant_risk", "distance_from_home",
            "tx_count_24h", "is_foreign", "card_age_days"]


def main(model, inp, outp):
    booster = xgb.Booster()
    booster.load_model(model)
    t0 = time.perf_counter()
    df = pd.read_csv(inp, usecols=FEATURES, dtype=np.float32)
    x = df[FEATURES].to_numpy(dtype=np.float32)
    t1 = time.perf_counter()
    pred = booster.inplace_predict(x)
    t2 = time.perf_counter()
    pd.DataFrame({"line": np.arange(2, len(pred) + 2), "score": pred}).to_csv(outp, index=False)
    t3 = time.perf_counter()
    print(json.dumps({"rows": int(len(pred)), "read_s": t1 - t0, "predict_s": t2 - t1,
                      "write_s": t3 - t2, "total_s": t3 - t0, "xgboost": xgb.__version__}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
