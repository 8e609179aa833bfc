"""Queries at scale on a served ledger: the dashboard's reads while ingest continues.

Usage::

    python benchmarks/bench_query_scale.py [--events 10000000] [--ledger PATH|postgresql://...]
        [--repeat 20] [--ingest-batches 200] [--ingest-batch-size 500]
        [--memory-limit 1GB] [--json-out PATH]

1. Fills the ledger with ``--events`` events through the service's own ingest path
   (``prepare`` + one transaction per 1,750-event batch, every event under the deployment
   profile of ``bench_profiles.toml``: all line items and ranges), in process, unless it
   already holds that many (``--reuse``, the default when the file exists).
2. Starts ``infercarbon serve`` on it (loopback, ``--ledger-memory-limit``) with an admin key.
3. Times, ``--repeat`` times each: ``/v1/summary``, the dashboard's first load (``/`` and the
   API calls its scripts make on load, as the page makes them: whoami, summary,
   events?limit=200, footprints by service and hour, heatmap, methodology, traces, regions
   and the programme panel's drivers and runs at once over a browser's 6 connections, then
   rebound: :data:`FIRST_LOAD`), the same calls one after another on one connection
   (``dashboard_calls_one_by_one``: their total, reported, not a target) and
   ``/v1/events?limit=100``; meanwhile
   one client posts ``--ingest-batches`` batches of ``--ingest-batch-size`` new events back
   to back and their latency is recorded.  The default batch is what the library's own
   shipper sends (``EventShipper(batch_size=...)``'s default, 500 events); the service-load
   benchmark judges 1,750-event batches for throughput, and ``--ingest-batch-size 1750``
   runs that size here.
4. Samples the server's RSS throughout; sends SIGTERM and lists any DuckDB temporary files
   left beside the ledger.

Targets (issue: "the service: read while it writes, query at scale"): each read p95 < 300 ms,
ingest p99 < 100 ms while they run, RSS <= memory limit + 300 MB, no temp files after SIGTERM.
Loopback only.  Prints JSON, then a table.
"""

from __future__ import annotations

import argparse
import inspect
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from queue import Queue
from typing import Any

import httpx
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).parent))
# a sibling script, importable once its folder is on sys.path (above); mypy sees it as
# benchmarks.bench_service_load
from bench_service_load import MARK, free_port, template  # type: ignore[import-not-found]

from infercarbon.instrument.shipper import EventShipper

HOST = "127.0.0.1"
PROFILES = str(Path(__file__).with_name("bench_profiles.toml"))
TARGET_READ_P95_S = 0.300
TARGET_INGEST_P99_S = 0.100
#: What the library's shipper sends per batch by default (EventShipper's batch_size).
SHIPPER_BATCH = int(inspect.signature(EventShipper).parameters["batch_size"].default)


def fill(ledger: str, events: int, span_hours: float = 168.0) -> dict[str, Any]:
    """Append ``events`` events (1,750 a batch, three tenants) through prepare + commit,
    as a fleet's shippers would: each batch holds the requests of the moment it covers,
    batches moving forward through ``span_hours`` from 2026-06-01 (the load's own events
    are dated 2026-07-01, after them)."""
    from infercarbon.accounting.batch import AccountingConfig
    from infercarbon.accounting.profiles import load_profiles
    from infercarbon.accounting.signals import SignalBook
    from infercarbon.ledger import open_store
    from infercarbon.ledger.schema import EVENTS
    from infercarbon.ledger.validation import ValidatedRows
    from infercarbon.service.prepare import Sender, decode, prepare

    cfg = AccountingConfig(profiles=load_profiles(PROFILES))
    body = template(1750)
    sender = Sender("bench", "fill", True)
    store = open_store(ledger)
    t0 = time.perf_counter()
    try:
        have = store.count("events")
        batches = max(0, (events - have + 1749) // 1750)
        step_us = int(span_hours * 3.6e9 / max(1, (events + 1749) // 1750))
        t0_us = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1e6)
        for i in range(batches):
            rows = decode(body.replace(MARK, f"f{have + i:09d}".encode()))
            base_us = t0_us + (have // 1750 + i) * step_us
            for j, r in enumerate(rows):
                r["tenant"] = ("acme", "beta", "gamma")[i % 3]
                s_us = base_us + j * step_us // 1750
                r["start_utc"] = datetime.fromtimestamp(s_us / 1e6, UTC).isoformat()
                r["end_utc"] = datetime.fromtimestamp((s_us + 300_000) / 1e6, UTC).isoformat()
            p = prepare(
                rows,
                sender,
                max_batch=20_000,
                config=cfg,
                book=SignalBook(),
                computed_utc=datetime.now(UTC),
            )
            assert p is not None
            store.append_events_with_footprints(ValidatedRows(EVENTS.name, p.events), p.footprints)
        total = store.count("events")
    finally:
        store.close()
    return {"events": total, "added": batches * 1750, "fill_s": round(time.perf_counter() - t0, 1)}


def _pct(xs: list[float], q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 4) if xs else None


def run(a: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    ledger = a.ledger or str(work / "ledger.duckdb")
    filled = fill(ledger, a.events, a.span_hours)
    exe = [sys.executable, "-m", "infercarbon.cli.main"]
    key = subprocess.run(
        [*exe, "keys", "create", "--tenant", "ops", "--admin", "--ledger", ledger],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shipper = subprocess.run(
        [*exe, "keys", "create", "--tenant", "acme", "--ledger", ledger],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [
            *exe,
            "serve",
            "--ledger",
            ledger,
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--profiles",
            PROFILES,
            "--ledger-memory-limit",
            a.memory_limit,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://{HOST}:{port}"
    proc = psutil.Process(server.pid)
    rss: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                rss.append(proc.memory_info().rss / 2**20)
            except psutil.Error:
                return
            stop.wait(0.25)

    try:
        for _ in range(1200):
            try:
                if httpx.get(base + "/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start: " + (work / "serve.log").read_text())
        threading.Thread(target=sample, daemon=True).start()
        auth = {"Authorization": f"Bearer {key}"}
        ingest_lat: list[float] = []
        ingest_errors = 0

        def ingest() -> None:
            nonlocal ingest_errors
            tmpl = template(a.ingest_batch_size)
            run = f"{time.time_ns() % 10**12:012d}"  # new ids every run: never a resend
            with httpx.Client(
                base_url=base, timeout=120.0, headers={"Authorization": f"Bearer {shipper}"}
            ) as c:
                for i in range(a.ingest_batches):
                    if stop.is_set():
                        return
                    body = tmpl.replace(MARK, f"q{run}-{i:06d}".encode())
                    t = time.perf_counter()
                    r = c.post(
                        "/v1/events", content=body, headers={"content-type": "application/json"}
                    )
                    ingest_lat.append(time.perf_counter() - t)
                    ingest_errors += r.status_code >= 400

        reads: dict[str, list[float]] = {
            "summary": [],
            "dashboard_first_load": [],
            "events_limit_100": [],
            "dashboard_calls_one_by_one": [],
        }
        errors = 0
        ing = threading.Thread(target=ingest, daemon=True)
        ing.start()
        # a browser's connections to the page's host (HTTP/1.1: 6 per host)
        pool = [
            httpx.Client(base_url=base, headers=auth, timeout=600.0) for _ in range(BROWSER_CONNS)
        ]
        with ThreadPoolExecutor(BROWSER_CONNS) as ex:
            c = pool[0]
            for _ in range(a.repeat):
                for name, paths in (
                    ("summary", ["/v1/summary"]),
                    ("events_limit_100", ["/v1/events?limit=100"]),
                    ("dashboard_calls_one_by_one", [p for wave in FIRST_LOAD for p in wave]),
                ):
                    t = time.perf_counter()
                    for p in paths:
                        errors += c.get(p).status_code >= 400
                    reads[name].append(time.perf_counter() - t)
                t = time.perf_counter()
                errors += page_load(ex, pool)
                reads["dashboard_first_load"].append(time.perf_counter() - t)
        for c in pool:
            c.close()
        ing.join(timeout=600)
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
        folder = Path(ledger).parent if not ledger.startswith("postgres") else None
        leftovers = (
            [
                str(p)
                for p in folder.iterdir()
                if p.name.endswith((".tmp", ".wal.tmp")) or p.name.startswith("duckdb_temp")
            ]
            if folder
            else []
        )
        tmpdir = Path(ledger + ".tmp")
        if folder and tmpdir.exists():
            leftovers += [str(p) for p in tmpdir.rglob("*")]
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
    limit_mb = (
        float(a.memory_limit.upper().removesuffix("GB")) * 1024
        if a.memory_limit.upper().endswith("GB")
        else None
    )
    res: dict[str, Any] = {
        "ledger": "postgresql" if ledger.startswith("postgres") else "duckdb",
        "fill": filled,
        "reads_s": {
            k: {"p50": _pct(v, 50), "p95": _pct(v, 95), "n": len(v)} for k, v in reads.items()
        },
        "read_errors": errors,
        "ingest_s": {
            "p50": _pct(ingest_lat, 50),
            "p99": _pct(ingest_lat, 99),
            "batches": len(ingest_lat),
            "batch_events": a.ingest_batch_size,
            "errors": ingest_errors,
        },
        "rss_mb": {"max": round(max(rss), 1) if rss else None, "limit_mb": limit_mb},
        "temp_files_after_sigterm": leftovers,
    }
    met = {
        k: (v["p95"] is not None and v["p95"] < TARGET_READ_P95_S)
        for k, v in res["reads_s"].items()
        if k != "dashboard_calls_one_by_one"  # reported beside the page load, not a target
    }
    met["ingest_p99"] = (
        bool(ingest_lat) and not ingest_errors and res["ingest_s"]["p99"] < TARGET_INGEST_P99_S
    )
    if limit_mb and rss:
        met["rss"] = max(rss) <= limit_mb + 300
    met["no_temp_files"] = not leftovers
    res["targets_met"] = met
    return res


#: The dashboard's first load as the page makes it: the page, then every call its scripts
#: start at once on load (app.js's Promise.all, its regions list, programme.js's two
#: panels), then what app.js asks once the first group has answered (the rebound panel).
FIRST_LOAD: tuple[tuple[str, ...], ...] = (
    ("/",),
    (
        "/v1/whoami",
        "/v1/summary",
        "/v1/footprints?group=service&period=hour",
        "/v1/events?limit=200",
        "/v1/intensity/heatmap",
        "/v1/methodology",
        "/v1/traces",
        "/v1/regions",
        "/v1/programme/drivers",
        "/v1/runs?limit=1",
    ),
    ("/v1/rebound",),
)
BROWSER_CONNS = 6


def page_load(ex: ThreadPoolExecutor, pool: list[httpx.Client]) -> int:
    """Load the dashboard as a browser does (:data:`FIRST_LOAD`, over ``pool``'s
    connections, at most one request on each at a time); the errors seen."""
    free: Queue[httpx.Client] = Queue()
    for c in pool:
        free.put(c)

    def get(path: str) -> int:
        c = free.get()
        try:
            return int(c.get(path).status_code >= 400)
        finally:
            free.put(c)

    errors = 0
    for wave in FIRST_LOAD:
        errors += sum(ex.map(get, wave))
    return errors


def table(r: dict[str, Any]) -> str:
    lines = [
        f"{r['fill']['events']:,} events in the {r['ledger']} ledger "
        f"(added {r['fill']['added']:,} in {r['fill']['fill_s']} s)",
        f"{'read':<28}{'p50 s':>10}{'p95 s':>10}  target p95 < {TARGET_READ_P95_S} s",
    ]
    for k, v in r["reads_s"].items():
        verdict = r["targets_met"].get(k)
        lines.append(
            f"{k:<28}{v['p50']!s:>10}{v['p95']!s:>10}  "
            f"{'(reported)' if verdict is None else 'met' if verdict else 'NOT met'}"
        )
    i = r["ingest_s"]
    lines.append(
        f"ingest while reading: {i['batches']} batches of "
        f"{i.get('batch_events', 1750)} events, p50 {i['p50']} s, "
        f"p99 {i['p99']} s (target < {TARGET_INGEST_P99_S} s: "
        f"{'met' if r['targets_met']['ingest_p99'] else 'NOT met'})"
    )
    lines.append(
        f"server RSS max {r['rss_mb']['max']} MB (ledger memory limit "
        f"{r['rss_mb']['limit_mb']} MB + 300)"
    )
    lines.append(f"temp files after SIGTERM: {r['temp_files_after_sigterm'] or 'none'}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description="Queries at scale on a served ledger")
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--ledger", help="DuckDB file (kept and reused) or postgresql:// URL")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--ingest-batches", type=int, default=200)
    p.add_argument(
        "--ingest-batch-size",
        type=int,
        default=SHIPPER_BATCH,
        help="events per ingest batch (default: the EventShipper's default)",
    )
    p.add_argument("--memory-limit", default="1GB")
    p.add_argument(
        "--span-hours",
        type=float,
        default=168.0,
        help="the filled events' times move forward through this many hours",
    )
    p.add_argument("--json-out")
    a = p.parse_args()
    if not 1 <= a.ingest_batch_size <= 100_000:
        sys.exit("error: --ingest-batch-size must be 1..100000")
    if a.events > 50_000_000 or a.repeat > 1000 or a.ingest_batches > 10_000:
        sys.exit("error: keep it bounded (events <= 50M, repeat <= 1000, batches <= 10000)")
    r = run(a)
    text = json.dumps(r, indent=2)
    if a.json_out:
        Path(a.json_out).write_text(text)
    print(text)
    print(table(r))


if __name__ == "__main__":
    main()
