"""Per-inference overhead of ``with meter.inference(...)``, side by side in one run with
the CPython floor (a context manager + a perf_counter_ns pair) and, when installed,
CodeCarbon's ``start_task``/``stop_task`` (``pip install 'infercarbon[bench]'``).

Each variant wraps the same empty call; the added time is the median over repeats of
(variant - uninstrumented) per call.  Prints a JSON document and a readable table.

    python benchmarks/bench_overhead.py [--calls 200000] [--repeats 9]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from time import perf_counter_ns

from infercarbon.errors import FallbackWarning
from infercarbon.instrument import Meter
from infercarbon.provenance import Figure
from infercarbon.telemetry import ConstantSource


def bare() -> None:
    return None


class Floor:
    __slots__ = ("t0",)

    def __enter__(self) -> Floor:
        self.t0 = perf_counter_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        perf_counter_ns()


def per_call_ns(fn, calls: int, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn(calls)
        out.append((time.perf_counter_ns() - t0) / calls)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--codecarbon-calls", type=int, default=200)
    args = ap.parse_args()

    # a real sampler thread runs during the measurement, as in production
    meter = Meter(
        "GB",
        sensor=ConstantSource(Figure(50.0, "w", source="bench", label="user")),
        market_intensity_g_per_kwh=100.0,
        capacity=1 << 16,
        period_s=0.1,
    )
    inference = meter.inference

    def base(n: int) -> None:
        for _ in range(n):
            bare()

    def floor(n: int) -> None:
        for _ in range(n):
            with Floor():
                bare()

    def metered(n: int) -> None:
        for _ in range(n):
            with meter.inference(model="wl01", tenant="acme"):
                bare()

    def metered_bound(n: int) -> None:
        for _ in range(n):
            with inference(model="wl01", tenant="acme"):
                bare()

    def metered_tokens(n: int) -> None:
        for _ in range(n):
            with inference(model="llm", tenant="acme", tokens_in=100, tokens_out=50):
                bare()

    variants = {
        "uninstrumented": base,
        "cpython_floor": floor,
        "meter.inference": metered,
        "meter.inference (bound)": metered_bound,
        "meter.inference + tokens": metered_tokens,
    }
    # interleave repeats so that machine noise hits every variant alike
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            samples[name] += per_call_ns(fn, args.calls, 1)
    base_ns = statistics.median(samples["uninstrumented"])
    results: dict[str, dict[str, object]] = {
        name: {
            "median_per_call_ns": statistics.median(v),
            "added_ns": statistics.median(v) - base_ns,
        }
        for name, v in samples.items()
    }
    meter.stop()

    cc: dict[str, object]
    cc_added_ns: float | None = None
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        cc = {"skipped": "codecarbon not installed (pip install 'infercarbon[bench]')"}
    else:
        import logging

        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tracker = OfflineEmissionsTracker(
                country_iso_code="GBR", save_to_file=False, log_level="error", measure_power_secs=1
            )
            tracker.start()
            times = []
            for _ in range(args.codecarbon_calls):
                t0 = time.perf_counter_ns()
                tracker.start_task("bench")
                bare()
                tracker.stop_task()
                times.append(time.perf_counter_ns() - t0)
            tracker.stop()
        med = statistics.median(times)
        cc_added_ns = med - base_ns
        cc = {"median_per_call_ns": med, "added_ns": cc_added_ns, "calls": args.codecarbon_calls}
    results["codecarbon start_task/stop_task"] = cc

    added = statistics.median(samples["meter.inference"]) - base_ns
    floor_added = statistics.median(samples["cpython_floor"]) - base_ns
    doc = {
        "benchmark": "per-inference overhead",
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "calls_per_repeat": args.calls,
        "repeats": args.repeats,
        "results": results,
        "meter_added_ns": added,
        "ratio_meter_to_floor": added / floor_added,
        "target_added_ns": 500.0,
        "meets_target": added <= 500.0,
    }
    if cc_added_ns is not None:
        doc["ratio_codecarbon_to_meter"] = cc_added_ns / added
    print(json.dumps(doc, indent=2))
    print(f"\n{'variant':36s} {'per call ns':>12s} {'added ns':>10s}")
    for name, r in results.items():
        if "added_ns" in r:
            print(f"{name:36s} {r['median_per_call_ns']:12.1f} {r['added_ns']:10.1f}")
        else:
            print(f"{name:36s} {'-':>12s} {'-':>10s}  ({r['skipped']})")
    print(
        f"\nmeter / floor: {doc['ratio_meter_to_floor']:.2f}x"
        + (
            f"; codecarbon / meter: {doc['ratio_codecarbon_to_meter']:.0f}x"
            if "ratio_codecarbon_to_meter" in doc
            else ""
        )
    )


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        main()
