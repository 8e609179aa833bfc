"""How long `infercarbon report` takes on a ledger of N event footprints (DuckDB).

Builds a throwaway ledger of N events (4 services, 3 regions, 3 tenants, 3 months) with the
service calculator's footprints, then times ``build_report`` and each rendering, with the
footprints stored in each ledger layout (compact: what ingest writes; general: one record
each).  Prints JSON and a table.  Usage: ``python benchmarks/report_scale.py [N ...]``
(default 10000 100000).
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from infercarbon.accounting.batch import (
    AccountingConfig,
    compute_footprints,
    footprint_batch,
    footprint_records,
)
from infercarbon.accounting.signals import SignalBook
from infercarbon.ledger import DuckDBStore
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows
from infercarbon.report import build_report, parse_period, render


def build(path: Path, n: int, layout: str) -> float:
    rng = np.random.default_rng(0)
    t0 = datetime(2026, 7, 1, tzinfo=UTC)
    start = [t0 + timedelta(seconds=float(s)) for s in rng.uniform(0, 91 * 86_400, n)]
    svc = np.array(["inspection", "chat", "ocr", "search"])[rng.integers(0, 4, n)]
    table = validate_rows(
        EVENTS,
        pa.table(
            {
                "event_id": [f"e{i:08d}" for i in range(n)],
                "start_utc": pa.array(start, pa.timestamp("us", tz="UTC")),
                "end_utc": pa.array(
                    [s + timedelta(seconds=0.2) for s in start], pa.timestamp("us", tz="UTC")
                ),
                "service": svc,
                "tenant": np.array(["acme", "globex", "initech"])[rng.integers(0, 3, n)],
                "model": np.char.add(svc, "-m"),
                "region": np.array(["DE", "FR", "PL"])[rng.integers(0, 3, n)],
                "device": np.array(["gpu0", "gpu1", "cpu"])[rng.integers(0, 3, n)],
                "energy_j": rng.lognormal(5, 1, n),
                "attribution_method": ["measured-interval"] * n,
                "outcome": np.array(["defect", "ok", "ok", "ok"])[rng.integers(0, 4, n)],
            }
        ),
    )
    store = DuckDBStore(path)
    t = time.perf_counter()
    cfg = AccountingConfig(pue=1.2, pue_source="benchmark PUE 1.2")
    store.append_events(table)
    step = 20_000
    for i in range(0, n, step):
        part = table.slice(i, step)
        fps = compute_footprints(part, cfg, SignalBook())
        if layout == "compact":
            store.append_footprint_table(footprint_batch(part, fps, cfg, computed_utc=t0))
        else:
            store.append_footprints(footprint_records(part, fps, cfg, computed_utc=t0))
    store.close()
    return time.perf_counter() - t


def main(sizes: list[int]) -> None:
    results = []
    for n, layout in itertools.product(sizes, ("compact", "general")):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "bench.duckdb"
            build_s = build(path, n, layout)
            store = DuckDBStore(path)
            t = time.perf_counter()
            rep = build_report(
                store, parse_period("2026-Q3"), generated_utc=datetime(2026, 10, 2, tzinfo=UTC)
            )
            report_s = time.perf_counter() - t
            store.close()
            times = {}
            for fmt in ("html", "csv", "json"):
                t = time.perf_counter()
                text = render(rep, fmt)
                times[f"render_{fmt}_s"] = round(time.perf_counter() - t, 4)
                times[f"{fmt}_bytes"] = len(text)
            results.append(
                {
                    "events": n,
                    "layout": layout,
                    "ledger_build_s": round(build_s, 2),
                    "build_report_s": round(report_s, 3),
                    **times,
                }
            )
    print(json.dumps(results, indent=2))
    print(
        f"{'events':>10} {'layout':>8} {'build_report_s':>15} {'html_s':>8} {'csv_s':>8} "
        f"{'json_s':>8}"
    )
    for r in results:
        print(
            f"{r['events']:>10} {r['layout']:>8} {r['build_report_s']:>15} "
            f"{r['render_html_s']:>8} "
            f"{r['render_csv_s']:>8} {r['render_json_s']:>8}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
