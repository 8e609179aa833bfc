"""A FastAPI inference service metered by infercarbon (docs/tutorials/fastapi.md).

Every HTTP request under /predict becomes one inference event with its energy, shipped in
the background to a running ``infercarbon serve``; a request that sends
``Prefer: carbon-disclosure`` gets a ``Carbon-Emissions`` response header.

Run (with ``infercarbon serve`` on port 8000 and a key from ``infercarbon keys create``)::

    INFERCARBON_KEY=ic_... uvicorn metered_app:app --port 8001
"""

from __future__ import annotations

import atexit
import os
import time

import httpx
from fastapi import FastAPI

from infercarbon.service.middleware import EventShipper, MeteringMiddleware, RegionDiscloser
from infercarbon.telemetry.detect import detect

api = FastAPI()


@api.post("/predict")
def predict(values: list[float]) -> dict[str, float]:
    """The model: here a stand-in that does some arithmetic."""
    return {"score": sum(v * v for v in values) / max(1, len(values))}


# the energy of this machine's CPU (RAPL where readable, else the CPU power model)
energy, _ = detect("auto-cpu")
shipper = EventShipper(
    httpx.Client(base_url=os.environ.get("INFERCARBON_URL", "http://127.0.0.1:8000")),
    api_key=os.environ["INFERCARBON_KEY"],
    spool_path="infercarbon-spool.jsonl",  # events wait here while the service is down
)
atexit.register(shipper.close)  # flush what is queued when the process ends

app = MeteringMiddleware(
    api, shipper=shipper, energy=energy, clock=time.time,
    service="scoring", tenant="plant-a", model="demo-scorer", region="GB",
    device=energy.name, paths=("/predict",),
    disclosure=RegionDiscloser("GB"),
)
