"""Benchmark the marginal-emissions cores (not a test): prints JSON, then a table.

    python benchmarks/bench_marginal.py [--repeat 7]

* regression: 30,000 hourly intervals, decile / hour-season / both bins, HC1 errors
  (target < 0.2 s), and the moving-block bootstrap (200 replicates) for reference;
* merit order: 35,000 15-minute intervals x ~1,700 units (target < 1 s), on a stack with
  the ERCOT inventory's size (units resampled from the bundled ERCOT thermal fleet);
* back-test: the ERCOT calibration on the bundled 2019-2022 hourly mix.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from collections.abc import Callable
from functools import partial

import numpy as np

from infercarbon.grid.marginal.backtest import calibrate_merit_order
from infercarbon.grid.marginal.calendar import to_local
from infercarbon.grid.marginal.ercot_compare import ercot_hourly
from infercarbon.grid.marginal.inventory import build_region_stack, default_fuel_co2, load_inventory
from infercarbon.grid.marginal.merit_order import build_stack, dispatch
from infercarbon.grid.marginal.regression import regress_mef


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    results: list[dict[str, object]] = []

    n = 30_000
    t = np.datetime64("2019-01-01T00", "s") + np.arange(n) * np.timedelta64(3600, "s")
    load = 4.5e7 + 1e7 * np.sin(np.arange(n) * 2 * np.pi / 24) + rng.normal(0, 1e6, n)
    e = np.cumsum(np.r_[0, 450 * np.diff(load)]) + rng.normal(0, 1e8, n) + 2e10
    for bins in ("decile", "hour-season", "both"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = best_of(partial(regress_mef, t, load, e, bins=bins), args.repeat)
        results.append(
            {"case": f"regression {bins} hc1", "size": f"{n} h", "seconds": s, "target_s": 0.2}
        )
    s = best_of(
        lambda: regress_mef(
            t, load, e, bins="decile", ci="bootstrap", rng=np.random.default_rng(1), n_boot=200
        ),
        1,
    )
    results.append(
        {
            "case": "regression decile block-bootstrap x200",
            "size": f"{n} h",
            "seconds": s,
            "target_s": None,
        }
    )

    inv = load_inventory("ERCOT")
    co2 = default_fuel_co2("ERCOT")
    base, _ = build_region_stack(inv, year=2022, season="summer", co2=co2)
    k = 1700
    pick = rng.integers(0, len(base), k)
    scale = base.total_mw / base.capacity_mw[pick].sum()
    stack_args = dict(
        unit_id=[f"u{i}" for i in range(k)],
        fuel=list(base.fuel[pick]),
        technology=list(base.technology[pick]),
        capacity_mw=base.capacity_mw[pick] * scale,
        rate_g_per_kwh=base.rate_g_per_kwh[pick],
        rate_low_g_per_kwh=base.rate_low_g_per_kwh[pick],
        rate_high_g_per_kwh=base.rate_high_g_per_kwh[pick],
        heat_rate_mmbtu_per_mwh=base.rate_g_per_kwh[pick] / 100.0,
        fuel_price_per_mmbtu=rng.uniform(2, 6, k),
        vom_per_mwh=rng.uniform(2, 6, k),
        ramp_frac_per_min=base.ramp_frac_per_min[pick],
    )
    m = 35_000
    resid = 40_000 + 15_000 * np.sin(np.arange(m) * 2 * np.pi / 96) + rng.normal(0, 500, m)
    s_build = best_of(lambda: build_stack(**stack_args), args.repeat)
    stack = build_stack(**stack_args)
    s_disp = best_of(lambda: dispatch(stack, resid, interval_s=900), args.repeat)
    results.append(
        {
            "case": "merit order: build+sort stack",
            "size": f"{k} units",
            "seconds": s_build,
            "target_s": None,
        }
    )
    results.append(
        {"case": "merit order: dispatch", "size": f"{m} x {k}", "seconds": s_disp, "target_s": 1.0}
    )
    results.append(
        {
            "case": "merit order: build + dispatch",
            "size": f"{m} x {k}",
            "seconds": s_build + s_disp,
            "target_s": 1.0,
        }
    )

    th, fuels, mwh = ercot_hourly()
    from infercarbon.grid import factors

    rates, _, _, _ = factors.fuel_rates(fuels, "direct", region="ERCOT")
    t0 = time.perf_counter()
    rep = calibrate_merit_order(
        th,
        mwh,
        fuels,
        rates,
        inventory=inv,
        co2=co2,
        interval_s=3600,
        time_local=to_local(th, "America/Chicago"),
    )
    results.append(
        {
            "case": "ERCOT back-test + calibration",
            "size": f"{len(th)} h",
            "seconds": time.perf_counter() - t0,
            "target_s": None,
        }
    )

    doc = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "results": results,
        "backtest": rep.to_dict(),
    }
    print(json.dumps(doc, indent=2))
    print()
    print(f"{'case':44s} {'size':>14s} {'seconds':>9s} {'target':>7s}")
    for r in results:
        tgt = "" if r["target_s"] is None else f"{r['target_s']:.1f}"
        print(f"{r['case']:44s} {r['size']:>14s} {r['seconds']:9.4f} {tgt:>7s}")
    print()
    for when in ("before", "after"):
        for part in ("train", "test"):
            x = doc["backtest"][when][part]  # type: ignore[index]
            print(
                f"back-test {when:6s} {part:5s}: emissions bias {x['emissions_bias_frac']:+.1%} "
                f"MAPE {x['emissions_mape_frac']:.1%}; intensity bias "
                f"{x['intensity_bias_frac']:+.1%} MAPE {x['intensity_mape_frac']:.1%}"
            )


if __name__ == "__main__":
    main()
