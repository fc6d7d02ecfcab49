"""The peer slipway is benchmarked against: the same XGBoost model behind
FastAPI + uvicorn, the way a Python team would serve it.

It answers the Open Inference Protocol v2 request slipway answers,

    POST /v2/models/{model}/infer
    {"id": "...", "inputs": [{"name": "amount", "datatype": "FP32", "shape": [1], "data": [26.75]}, ...]}

with the same response shape (model_name, model_version, id, outputs), and
computes the score with xgboost.Booster.predict on a DMatrix of the rows
(missing=nan), like XGBoost's own documentation does.

Run it with Debian's interpreter (Debian's python3-* packages load only
there), from the repository root:

    PEER_MODEL=examples/fraud/v2/model.json PEER_VERSION=2.0.0 \
        /usr/bin/python3 -m uvicorn --app-dir bench/serving peer:app \
        --host 127.0.0.1 --port 8000 --workers 2 --no-access-log \
        --loop uvloop --http httptools

Choices that favour the peer, so the comparison is fair:
- the request is a pydantic model (idiomatic FastAPI, and it validates the
  body the way slipway does), the endpoint is `async def` so it runs on the
  event loop without a thread-pool hop;
- each worker's Booster uses one thread (nthread=1): parallelism comes from
  the uvicorn workers, and OpenMP threads fighting over two cores only cost;
- uvloop and httptools, the fast uvicorn event loop and HTTP parser.
"""

import os

# One OpenMP thread per worker process: parallelism comes from the uvicorn
# workers, and OpenMP threads of two processes spinning on two cores make
# every request wait (measured: under 200 req/s without this).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import secrets
from typing import Any, Dict, List, Optional, Union

import numpy as np
import xgboost as xgb
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL_PATH = os.environ.get("PEER_MODEL", "examples/fraud/v2/model.json")
MODEL_NAME = os.environ.get("PEER_NAME", "fraud")
MODEL_VERSION = os.environ.get("PEER_VERSION", "2.0.0")

booster = xgb.Booster(model_file=MODEL_PATH)
booster.set_param({"nthread": 1})
FEATURES: List[str] = list(booster.feature_names or [])


class RequestInput(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    parameters: Optional[Dict[str, Any]] = None
    data: List[Optional[Union[float, int, bool]]]


class InferenceRequest(BaseModel):
    id: Optional[str] = None
    parameters: Optional[Dict[str, Any]] = None
    inputs: List[RequestInput]


app = FastAPI()


@app.get("/v2/health/ready")
async def ready() -> Dict[str, bool]:
    return {"ready": True}


@app.post("/v2/models/{model}/infer")
async def infer(model: str, req: InferenceRequest) -> Dict[str, Any]:
    if model != MODEL_NAME:
        raise HTTPException(status_code=404, detail=f"model {model!r} not found")
    by_name = {t.name: t for t in req.inputs}
    missing = [f for f in FEATURES if f not in by_name]
    if missing:
        raise HTTPException(status_code=400, detail=f"missing inputs {missing}")
    rows = len(by_name[FEATURES[0]].data)
    x = np.empty((rows, len(FEATURES)), dtype=np.float32)
    for j, f in enumerate(FEATURES):
        col = by_name[f].data
        if len(col) != rows:
            raise HTTPException(status_code=400, detail=f"input {f!r}: {len(col)} values, want {rows}")
        x[:, j] = [np.nan if v is None else v for v in col]
    dm = xgb.DMatrix(x, missing=np.nan, feature_names=FEATURES, nthread=1)
    scores = booster.predict(dm)
    return {
        "model_name": model,
        "model_version": MODEL_VERSION,
        "id": req.id or secrets.token_hex(16),
        "outputs": [
            {"name": "score", "shape": [rows], "datatype": "FP32", "data": scores.tolist()},
        ],
    }
