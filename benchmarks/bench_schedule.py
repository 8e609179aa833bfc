"""Back-test carbon-aware scheduling on the bundled ERCOT years (not a test).

    python benchmarks/bench_schedule.py [--signal location|marginal] [--every-h 7]

Prints JSON (one row per job size x flexibility window: mean saving with the profile,
with perfect foresight and with the naive persistence forecast) and the Markdown table of
``docs/decisions.md``.  See :mod:`infercarbon.decisions.backtest`.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

from infercarbon.decisions.backtest import schedule_backtest
from infercarbon.decisions.signals import PROFILE_TZ, bundled_series
from infercarbon.errors import DataQualityWarning

DURATIONS_H = (1, 2, 4, 8)
FLEX_H = (3, 6, 12, 24)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--signal", default="location", choices=("location", "marginal"))
    ap.add_argument("--every-h", type=int, default=7)
    ap.add_argument("--energy-kwh", type=float, default=10.0)
    args = ap.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        s = bundled_series("ERCOT", args.signal)
    assert s is not None
    t0 = time.perf_counter()
    rows = schedule_backtest(
        s, durations_h=DURATIONS_H, flex_h=FLEX_H, tz=PROFILE_TZ["ERCOT"], every_h=args.every_h
    )
    elapsed = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "signal": args.signal,
                "series": s.provenance.source,
                "elapsed_s": round(elapsed, 3),
                "rows": [r.to_dict() for r in rows],
            },
            indent=1,
        )
    )
    e = args.energy_kwh
    print(
        f"\n| job (h) | flexibility (h) | jobs | baseline g/kWh | profile | perfect | naive | "
        f"profile, g for {e:g} kWh | profile loses (share of jobs) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        sf = r.saving_frac
        print(
            f"| {r.duration_h} | {r.flex_h} | {r.jobs} | {r.baseline_g_per_kwh:.0f} | "
            f"{sf['profile']:.1%} | {sf['perfect']:.1%} | {sf['naive']:.1%} | "
            f"{sf['profile'] * r.baseline_g_per_kwh * e:.0f} | "
            f"{r.loss_share_frac['profile']:.1%} |"
        )


if __name__ == "__main__":
    main()
