"""Time and peak memory of ``infercarbon report --catalog`` on a lake of N events.

Builds a throwaway DuckDB ledger of N events over ``--days`` days from 2026-07-01 (4
services, 3 regions, 3 tenants) with the service calculator's compact footprints, exports it
into a lake (``lake export``: the ``ledger_*`` Iceberg tables, SQLite catalog, ``file://``
warehouse), then runs ``infercarbon report --catalog`` in a fresh process for one day and for
the whole span, and ``report --ledger`` on the DuckDB ledger for the same periods; each
process's wall time and peak RSS (``ru_maxrss`` of the child) are printed as JSON.

Usage: ``python benchmarks/bench_lake_report.py --events 1000000 --days 30 --dir /tmp/x``
(the directory is kept: rerun with ``--reuse`` to time the reports again).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def build_ledger(path: Path, n: int, days: int) -> float:
    """A ledger of ``n`` events with compact footprints; returns the seconds it took."""
    from infercarbon.accounting.batch import AccountingConfig, compute_footprints, footprint_batch
    from infercarbon.accounting.signals import SignalBook
    from infercarbon.ledger import DuckDBStore
    from infercarbon.ledger.schema import EVENTS
    from infercarbon.ledger.validation import validate_rows

    rng = np.random.default_rng(0)
    start_us = np.sort(rng.integers(0, days * 86_400 * 10**6, n)) + int(T0.timestamp() * 1e6)
    svc = np.array(["inspection", "chat", "ocr", "search"])[rng.integers(0, 4, n)]
    cfg = AccountingConfig(pue=1.2, pue_source="benchmark PUE 1.2")
    store = DuckDBStore(path)
    t = time.perf_counter()
    step = 50_000
    try:
        for i in range(0, n, step):
            j = min(n, i + step)
            m = j - i
            s = pa.array(start_us[i:j], pa.int64()).cast(TS)
            part = validate_rows(
                EVENTS,
                pa.table(
                    {
                        "event_id": [f"e{k:08d}" for k in range(i, j)],
                        "start_utc": s,
                        "end_utc": pa.array(start_us[i:j] + 200_000, pa.int64()).cast(TS),
                        "service": svc[i:j],
                        "tenant": np.array(["acme", "globex", "initech"])[rng.integers(0, 3, m)],
                        "model": np.char.add(svc[i:j], "-m"),
                        "region": np.array(["DE", "FR", "PL"])[rng.integers(0, 3, m)],
                        "device": np.array(["gpu0", "gpu1", "cpu"])[rng.integers(0, 3, m)],
                        "energy_j": rng.lognormal(5, 1, m),
                        "attribution_method": ["measured-interval"] * m,
                        "outcome": np.array(["defect", "ok", "ok", "ok"])[rng.integers(0, 4, m)],
                    }
                ),
            )
            store.append_events(part)
            fps = compute_footprints(part, cfg, SignalBook())
            store.append_footprint_table(footprint_batch(part, fps, cfg, computed_utc=T0))
    finally:
        store.close()
    return time.perf_counter() - t


def export(ledger: Path, lake: Path) -> float:
    from infercarbon.ledger import open_store
    from infercarbon.ledger.lake import open_lake
    from infercarbon.ledger.lake_snapshot import export_ledger

    t = time.perf_counter()
    store = open_store(str(ledger))
    lk = open_lake(lake)
    try:
        export_ledger(store, lk, clock=lambda: datetime.now(UTC))
    finally:
        store.close()
        lk.close()
    return time.perf_counter() - t


def timed(args: list[str]) -> dict[str, Any]:
    """Wall time and peak RSS of one ``infercarbon`` process (its ``VmHWM``: the high-water
    mark of its own address space since exec, not the forking parent's)."""
    code = (
        "import sys; from infercarbon.cli.main import main; rc = main(sys.argv[1:]); "
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]; "
        "print(hwm.split()[1], file=sys.stderr); sys.exit(rc)"
    )
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    rss_kib = int(out.stderr.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(rss_kib / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--reuse", action="store_true", help="time the reports of an earlier build")
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    ledger, lake = a.dir / "ledger.duckdb", a.dir / "lake"
    out: dict[str, Any] = {"events": a.events, "days": a.days, "cpus": os.cpu_count()}
    if not a.reuse:
        out["ledger_build_s"] = round(build_ledger(ledger, a.events, a.days), 1)
        out["lake_export_s"] = round(export(ledger, lake), 1)
    out["cli_start"] = timed(["lake", "--help"])  # imports and the interpreter alone
    day = T0.date().isoformat()
    span = f"{day}..{(T0 + timedelta(days=a.days - 1)).date().isoformat()}"
    for label, period in (("one_day", day), ("whole_span", span)):
        for source, flag in (
            ("catalog", ["--catalog", str(lake)]),
            ("ledger", ["--ledger", str(ledger)]),
        ):
            args = ["report", *flag, "--period", period, "--format", "json", "--out", os.devnull]
            out[f"{source}_{label}"] = timed(args)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
