"""Memory after 1 M metered inferences: the Meter's buffers are preallocated, so traced
Python allocations and RSS stay flat however many inferences run.

    python benchmarks/bench_memory.py [--inferences 1000000] [--capacity 65536]
"""

from __future__ import annotations

import argparse
import json
import tracemalloc
import warnings

import psutil

from infercarbon.errors import FallbackWarning
from infercarbon.instrument import Meter
from infercarbon.provenance import Figure
from infercarbon.telemetry import ConstantSource


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inferences", type=int, default=1_000_000)
    ap.add_argument("--capacity", type=int, default=1 << 16)
    args = ap.parse_args()
    proc = psutil.Process()
    meter = Meter(
        "GB",
        sensor=ConstantSource(Figure(50.0, "w", source="bench", label="user")),
        market_intensity_g_per_kwh=100.0,
        capacity=args.capacity,
    )
    inference = meter.inference
    # warm up: one pass over the ring (interning, span objects, allocator pools)
    for _ in range(args.capacity):
        with inference(model="wl01", tenant="acme"):
            pass
    rss0 = proc.memory_info().rss
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    checkpoints = []
    step = args.inferences // 4
    for k in range(4):
        for _ in range(step):
            with inference(model="wl01", tenant="acme"):
                pass
        cur, peak = tracemalloc.get_traced_memory()
        checkpoints.append(
            {
                "inferences": (k + 1) * step,
                "traced_current_bytes": cur,
                "traced_peak_bytes": peak,
                "rss_growth_bytes": proc.memory_info().rss - rss0,
            }
        )
    snap1 = tracemalloc.take_snapshot()
    growth = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    tracemalloc.stop()
    meter.stop()
    doc = {
        "benchmark": "memory after N inferences",
        "inferences": args.inferences,
        "capacity": args.capacity,
        "buffer_bytes": meter.nbytes,
        "traced_growth_bytes": growth,
        "rss_growth_bytes": proc.memory_info().rss - rss0,
        "checkpoints": checkpoints,
        # after the first quarter, further inferences must not grow traced memory
        "growth_after_first_quarter_bytes": checkpoints[-1]["traced_current_bytes"]
        - checkpoints[0]["traced_current_bytes"],
        "bounded": checkpoints[-1]["traced_current_bytes"] - checkpoints[0]["traced_current_bytes"]
        < 65_536,
    }
    print(json.dumps(doc, indent=2))
    print(f"\n{'inferences':>12s} {'traced KiB':>11s} {'RSS growth KiB':>15s}")
    for c in checkpoints:
        print(
            f"{c['inferences']:12d} {c['traced_current_bytes'] / 1024:11.1f} "
            f"{c['rss_growth_bytes'] / 1024:15.1f}"
        )
    print(
        f"preallocated buffers: {meter.nbytes / 2**20:.1f} MiB for {args.capacity} slots; "
        f"traced growth over the run: {growth} bytes"
    )


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        main()
