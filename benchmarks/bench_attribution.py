"""Attribution throughput: 10 M synthetic overlapping inferences (Poisson arrivals,
exponential durations, ~2 concurrent on average) over a 10 Hz counter trace.

Events are inference intervals (each has two boundaries).  Reports the cold first call and
the median of warm repeats, per idle policy and with token weights, plus the conservation
residual.

    python benchmarks/bench_attribution.py [--events 10000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from infercarbon.attribution import attribute


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n = args.events
    rng = np.random.default_rng(1)
    start = np.cumsum(rng.exponential(1e-3, n))
    end = start + rng.exponential(2e-3, n)
    t = np.linspace(0.0, float(end.max()) + 1.0, int(end.max() * 10) + 2)
    c = np.concatenate(([0.0], np.cumsum(rng.uniform(5.0, 50.0, t.size - 1))))
    tokens = rng.integers(1, 2000, n)
    tenant = rng.integers(0, 4, n)
    cases = {
        "time split, 30-70": {"idle_policy": "30-70"},
        "time split, none": {"idle_policy": "none"},
        "token weights, tenancy": {
            "idle_policy": "tenancy",
            "weight": tokens,
            "tenant": tenant,
            "tenancy_shares": [0.4, 0.3, 0.2, 0.1],
        },
    }
    results = {}
    for name, kw in cases.items():
        times = []
        for _ in range(args.repeats + 1):
            t0 = time.perf_counter()
            res = attribute(t, cumulative_j=c, start_s=start, end_s=end, **kw)
            times.append(time.perf_counter() - t0)
        warm = statistics.median(times[1:])
        results[name] = {
            "cold_s": times[0],
            "warm_median_s": warm,
            "events_per_s": n / warm,
            "cold_events_per_s": n / times[0],
            "conservation_residual_rel": res.conservation_residual_j / res.total_j,
        }
    doc = {
        "benchmark": "attribution throughput",
        "events": n,
        "readings": int(t.size),
        "results": results,
        "target_events_per_s": 5e6,
        "meets_target": all(r["events_per_s"] >= 5e6 for r in results.values()),
    }
    print(json.dumps(doc, indent=2))
    print(f"\n{'case':28s} {'cold s':>8s} {'warm s':>8s} {'M events/s':>11s} {'residual':>10s}")
    for name, r in results.items():
        print(
            f"{name:28s} {r['cold_s']:8.2f} {r['warm_median_s']:8.2f} "
            f"{r['events_per_s'] / 1e6:11.2f} {r['conservation_residual_rel']:10.1e}"
        )


if __name__ == "__main__":
    main()
