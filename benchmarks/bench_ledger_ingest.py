"""Ledger ingest rate: events/s appended in batches, DuckDB file and (optionally) PostgreSQL.

Usage::

    python benchmarks/bench_ledger_ingest.py [--events 200000] [--batch 10000]
        [--postgres-dsn postgresql://...]

Each batch is a list of dicts as the service receives them (decoded JSON, ISO 8601 times),
so the rate includes validation, in-batch de-duplication, staging and the idempotent insert.
A second pass re-sends every batch (all duplicates) to time the idempotent path.  Prints
JSON, then a table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infercarbon.ledger import open_store, rollup_events

T0 = datetime(2026, 7, 1, tzinfo=UTC)


def make_batch(lo: int, n: int, prefix: str) -> list[dict[str, Any]]:
    out = []
    for i in range(lo, lo + n):
        start = T0 + timedelta(milliseconds=37 * i)
        out.append(
            {
                "event_id": f"{prefix}-{i}",
                "start_utc": start.isoformat(),
                "end_utc": (start + timedelta(milliseconds=120)).isoformat(),
                "service": ("chat", "search", "vision")[i % 3],
                "tenant": f"t{i % 7}",
                "model": ("llama-3-8b", "resnet-50")[i % 2],
                "region": ("DE", "FR", "PL")[i % 3],
                "device": f"gpu{i % 8}",
                "energy_j": 12.5 + (i % 100) * 0.37,
                "attribution_method": "measured-interval",
                "batch_id": f"b{i // 16}",
                "tokens_in": 200 + i % 50,
                "tokens_out": 40 + i % 30,
                "payload_bytes": 4096,
                "outcome": "answer",
            }
        )
    return out


def run(url: str, events: int, batch: int) -> dict[str, Any]:
    prefix = uuid.uuid4().hex[:8]
    batches = [make_batch(lo, min(batch, events - lo), prefix) for lo in range(0, events, batch)]
    with open_store(url) as store:
        lat = []
        t0 = time.perf_counter()
        for b in batches:
            t = time.perf_counter()
            store.append_events(b)
            lat.append(time.perf_counter() - t)
        fresh_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for b in batches:
            r = store.append_events(b)
            assert r.inserted == 0
        dup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        roll = rollup_events(store, by=["service", "model"], period="hour")
        rollup_s = time.perf_counter() - t0
        lat.sort()
        return {
            "store": store.dialect,
            "events": events,
            "batch": batch,
            "events_per_s": events / fresh_s,
            "duplicate_events_per_s": events / dup_s,
            "batch_p50_s": lat[len(lat) // 2],
            "batch_max_s": lat[-1],
            "rollup_s": rollup_s,
            "rollup_rows": roll.num_rows,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--postgres-dsn", default=None)
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as d:
        results.append(run(str(Path(d) / "bench.duckdb"), a.events, a.batch))
    if a.postgres_dsn:
        results.append(run(a.postgres_dsn, a.events, a.batch))
    print(json.dumps(results, indent=2))
    print(
        f"{'store':8} {'events':>8} {'batch':>6} {'new ev/s':>10} {'dup ev/s':>10} "
        f"{'p50 batch s':>11} {'rollup s':>9}"
    )
    for r in results:
        print(
            f"{r['store']:8} {r['events']:>8} {r['batch']:>6} {r['events_per_s']:>10.0f} "
            f"{r['duplicate_events_per_s']:>10.0f} {r['batch_p50_s']:>11.3f} "
            f"{r['rollup_s']:>9.3f}"
        )


if __name__ == "__main__":
    main()
