"""Bounded loopback load test of ``infercarbon serve`` (DuckDB ledger): sustained batched ingest.

Usage::

    python benchmarks/bench_service_load.py [--duration-s 20] [--max-requests 2000]
        [--batch-size 1750] [--clients 1] [--processes] [--server-cpus 0,1]
        [--profile-batches 5] [--json-out PATH]

The defaults are the configuration the target (>= 50k events/s at p99 < 50 ms) is judged
at: one shipper sending 1,750-event batches back to back.  By Little's law N clients with
B-event batches at R events/s wait N x B / R per request on average, so 2 clients x 2,000
events at 50k/s cannot have a p99 under 50 ms (80 ms mean); more clients only queue.

Starts ``infercarbon serve --ledger <tmp>/ledger.duckdb --host 127.0.0.1 --port <free>`` as a
subprocess (optionally pinned to ``--server-cpus`` with taskset semantics via psutil), creates a
key with ``infercarbon keys create``, then ``--clients`` client threads (or processes with
``--processes``) each ``POST /v1/events`` batches of ``--batch-size`` events with unique ids
through one keep-alive httpx client, back to back, until ``--duration-s`` has passed or
``--max-requests`` requests were sent.  Request bodies are built by substituting a unique id
prefix into one pre-serialised batch (bytes.replace), so the clients spend little CPU.

Reported: events/s acknowledged (events inserted / wall time of the run), request latency
p50/p95/p99/max, non-2xx answers, and the server's RSS and CPU sampled every
``--sample-s`` with psutil (RSS at start/end/max and the slope of a least-squares line over the
second half, to show whether memory stays flat).  With ``--profile-batches N`` the same
batches are also pushed N times through the service's ingest function in this process under
cProfile, and the time is split into JSON decoding, event validation, footprint arithmetic,
footprint records (canonical inputs text and hashes: ``ledger.compact._hashes``; the rest of
``footprint_batch``), the ledger transaction (its checks and staging, the inserts, the commit),
metrics, and the rest.

Only loopback addresses are used.  Prints JSON, then a table.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing as mp
import os
import pstats
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

HOST = "127.0.0.1"
MARK = b"QQQQQQQQQQ"  # 10-byte placeholder replaced by a unique prefix per request
TARGET_EVENTS_PER_S = 50_000
TARGET_P99_S = 0.050


def template(batch_size: int) -> bytes:
    """One batch of events as JSON bytes, ids ``QQQQQQQQQQ-<i>``."""
    rows = []
    for i in range(batch_size):
        s = i % 3600
        rows.append(
            {
                "event_id": f"{MARK.decode()}-{i}",
                "start_utc": f"2026-07-01T{s // 3600 + 10:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z",
                "end_utc": f"2026-07-01T{s // 3600 + 10:02d}:{s // 60 % 60:02d}:{s % 60:02d}.3Z",
                "service": ("chat", "search", "vision")[i % 3],
                "model": ("llama-3-8b", "resnet-50")[i % 2],
                "region": ("DE", "FR", "PL")[i % 3],
                "device": f"gpu{i % 8}",
                "energy_j": round(12.5 + (i % 100) * 0.37, 3),
                "attribution_method": "measured-interval",
                "batch_id": f"b{i // 16}",
                "tokens_in": 200 + i % 50,
                "tokens_out": 40 + i % 30,
                "payload_bytes": 4096,
                "outcome": "answer",
            }
        )
    return json.dumps(rows).encode()


def exe() -> str:
    beside = Path(sys.executable).with_name("infercarbon")
    found = str(beside) if beside.is_file() else shutil.which("infercarbon")
    if not found:
        sys.exit("error: the `infercarbon` command is not installed")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------------------------- clients
def client_loop(
    base_url: str, key: str, tmpl: bytes, client: int, deadline: float, budget: Any, lock: Any
) -> dict[str, Any]:
    """Post batches until the deadline or the shared request budget is spent."""
    lat: list[float] = []
    inserted = 0
    errors: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60.0) as http:
        seq = 0
        while time.monotonic() < deadline:
            with lock:
                if budget.value <= 0:
                    break
                budget.value -= 1
            body = tmpl.replace(MARK, f"{client:02d}{seq:08d}".encode())
            seq += 1
            t0 = time.perf_counter()
            try:
                r = http.post("/v1/events", content=body)
            except httpx.TransportError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            lat.append(time.perf_counter() - t0)
            if r.is_success:
                inserted += int(r.json()["inserted"])
            else:
                errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
    return {"latencies_s": lat, "inserted": inserted, "errors": errors}


def _proc_entry(q: Any, *args: Any) -> None:
    q.put(client_loop(*args))


class Sampler(threading.Thread):
    """RSS [bytes] and CPU [%] of the server process every ``every_s``."""

    def __init__(self, pid: int, every_s: float) -> None:
        super().__init__(daemon=True)
        self.p = psutil.Process(pid)
        self.every_s = every_s
        self.samples: list[tuple[float, int, float]] = []
        self.halt = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        self.p.cpu_percent(None)
        while not self.halt.wait(self.every_s):
            try:
                rss = self.p.memory_info().rss
                cpu = self.p.cpu_percent(None)
            except psutil.NoSuchProcess:
                return
            self.samples.append((time.monotonic() - self.t0, int(rss), float(cpu)))


def rss_summary(samples: list[tuple[float, int, float]]) -> dict[str, Any]:
    if len(samples) < 4:
        return {"samples": len(samples)}
    t = np.array([s[0] for s in samples])
    rss_mb = np.array([s[1] for s in samples]) / 2**20
    cpu = np.array([s[2] for s in samples])
    half = t >= t[len(t) // 2]
    slope_mb_per_s = float(np.polyfit(t[half], rss_mb[half], 1)[0]) if half.sum() >= 2 else None
    return {
        "samples": len(samples),
        "rss_start_mb": round(float(rss_mb[0]), 1),
        "rss_end_mb": round(float(rss_mb[-1]), 1),
        "rss_max_mb": round(float(rss_mb.max()), 1),
        "rss_second_half_slope_mb_per_min": (
            round(slope_mb_per_s * 60, 2) if slope_mb_per_s is not None else None
        ),
        "server_cpu_mean_pct": round(float(cpu.mean()), 1),
        "series": [
            {"t_s": round(float(a), 2), "rss_mb": round(float(b), 1), "cpu_pct": round(float(c), 1)}
            for a, b, c in zip(t, rss_mb, cpu, strict=True)
        ],
    }


# ------------------------------------------------------------------------------- profile
def profile_ingest(
    tmpl: bytes, batches: int, workdir: Path, profiles: str | None = None
) -> dict[str, Any]:
    """cProfile the service's ingest path in-process on ``batches`` fresh batches."""
    from datetime import UTC, datetime

    from infercarbon.ledger import open_store
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, authenticate, create_key
    from infercarbon.service.ingest import ingest
    from infercarbon.service.prepare import decode

    store = open_store(str(workdir / "profile.duckdb"))
    keys = MemoryKeyStore()
    secret, _ = create_key(keys, tenant="bench", admin=False, clock=lambda: 0.0)
    config = None
    if profiles:
        from infercarbon.accounting.batch import AccountingConfig
        from infercarbon.accounting.profiles import load_profiles

        config = AccountingConfig(profiles=load_profiles(profiles))
    app = create_app(store, clock=lambda: datetime.now(UTC), keys=keys, config=config)
    state = app.state.infercarbon
    principal = authenticate(keys, f"Bearer {secret}")
    bodies = [tmpl.replace(MARK, f"PR{i:08d}".encode()) for i in range(batches + 1)]
    ingest(state, principal, decode(bodies[0]))  # warm-up (imports, caches)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for body in bodies[1:]:
        ingest(state, principal, decode(body))  # the service's own decoder (orjson)
    prof.disable()
    wall = time.perf_counter() - t0
    store.close()
    st = pstats.Stats(prof)
    raw: dict[Any, Any] = st.stats  # type: ignore[attr-defined]

    def cum(name: str, file_part: str = "", caller: str | None = None) -> float:
        """Cumulative time in ``name`` (a function of a file matching ``file_part``); with
        ``caller``, only the calls made by a function of that name."""
        total = 0.0
        for k, v in raw.items():
            if k[2] == name and file_part in k[0]:
                total += (
                    v[3]
                    if caller is None
                    else sum(c[3] for ck, c in v[4].items() if ck[2] == caller)
                )
        return total

    # the ingest path (service.ingest.ingest): decode, validate the events, compute the footprints
    # (arithmetic, then the columnar records: canonical JSON and hashes), one ledger
    # transaction (validation of the tables it is given, the inserts, the commit), metrics
    ledger_tx = cum("append_events_with_footprints", "ledger")
    insert = cum("_insert", "duckdb_store") + cum("_insert_new_returning", "duckdb_store")
    commit = cum("_tx", "duckdb_store") + cum("_tx", "postgres_store")
    parts = {
        "json_decode": cum("decode", "service/prepare"),
        "validate_events": cum("validate_rows", "ledger", caller="prepare"),
        "compute_footprints": cum("compute_footprints", "accounting/batch"),
        "footprint_json_hash": cum("_hashes", "ledger/compact"),
        "footprint_other": max(
            cum("footprint_batch", "accounting/batch") - cum("_hashes", "ledger/compact"), 0.0
        ),
        "ledger_checks": max(ledger_tx - insert - commit, 0.0),
        "ledger_insert": insert,
        "ledger_commit": commit,
        "metrics_observe": cum("observe", "metrics"),
    }
    total = cum("ingest", "service/ingest") + parts["json_decode"]
    parts["other"] = max(total - sum(parts.values()), 0.0)
    n = batches * tmpl.count(MARK)
    top = sorted(raw.items(), key=lambda kv: -kv[1][3])
    top_rows = [
        {
            "function": f"{Path(k[0]).name}:{k[1]}:{k[2]}",
            "cum_s": round(v[3], 4),
            "self_s": round(v[2], 4),
            "calls": v[1],
        }
        for k, v in top[:25]
    ]
    return {
        "batches": batches,
        "events": n,
        "wall_s": round(wall, 3),
        "events_per_s_in_process": round(n / wall),
        "profiled_total_s": round(total, 4),
        "breakdown_s": {k: round(v, 4) for k, v in parts.items()},
        "breakdown_frac": {k: round(v / total, 3) for k, v in parts.items()} if total else {},
        "top_cumulative": top_rows,
    }


# ---------------------------------------------------------------------------------- main
def command(src: str | None) -> tuple[list[str], dict[str, str]]:
    """The ``infercarbon`` command line and environment: the installed one, or the code of
    ``src`` (a checkout's ``src`` folder, e.g. a git worktree of an earlier commit) run by
    this interpreter."""
    if src is None:
        return [exe()], dict(os.environ)
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
    return [sys.executable, "-m", "infercarbon.cli.main"], env


def run(
    a: argparse.Namespace, src: str | None = None, profiles: str | None = None
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    ledger = str(work / "ledger.duckdb")
    cmd, env = command(src)
    key = subprocess.run(
        [*cmd, "keys", "create", "--tenant", "bench", "--ledger", ledger],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()
    port = free_port()
    log = (work / "serve.log").open("wb")
    extra = ["--profiles", profiles] if profiles else []
    server = subprocess.Popen(
        [
            *cmd,
            "serve",
            "--ledger",
            ledger,
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    base = f"http://{HOST}:{port}"
    try:
        if a.server_cpus:
            psutil.Process(server.pid).cpu_affinity([int(c) for c in a.server_cpus.split(",")])
        for _ in range(600):
            try:
                if httpx.get(base + "/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start: " + (work / "serve.log").read_text())
        tmpl = template(a.batch_size)
        # warm-up: first requests pay imports and caches
        client_loop(
            base, key, tmpl, 99, time.monotonic() + 30, mp.Value("i", a.warmup), threading.Lock()
        )
        sampler = Sampler(server.pid, a.sample_s)
        sampler.start()
        deadline = time.monotonic() + a.duration_s
        results: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        me = psutil.Process()
        cpu0 = me.cpu_times()
        server_cpu0 = psutil.Process(server.pid).cpu_times()
        if a.processes:
            ctx = mp.get_context("spawn")
            budget = ctx.Value("i", a.max_requests)
            lock = ctx.Lock()
            q = ctx.Queue()
            procs = [
                ctx.Process(
                    target=_proc_entry, args=(q, base, key, tmpl, c, deadline, budget, lock)
                )
                for c in range(a.clients)
            ]
            for p in procs:
                p.start()
            results = [q.get() for _ in procs]
            for p in procs:
                p.join()
        else:
            budget = mp.Value("i", a.max_requests)
            tlock = threading.Lock()
            out: list[dict[str, Any]] = [{} for _ in range(a.clients)]

            def work_(c: int) -> None:
                out[c] = client_loop(base, key, tmpl, c, deadline, budget, tlock)

            threads = [threading.Thread(target=work_, args=(c,)) for c in range(a.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            results = out
        wall = time.perf_counter() - t0
        cpu1 = me.cpu_times()
        server_cpu1 = psutil.Process(server.pid).cpu_times()
        # CPU seconds the load generator and the server used during the run: on a machine
        # this small the client competes with the server for the same cores
        cpu_s = {
            "client": round(
                sum(
                    getattr(cpu1, f) - getattr(cpu0, f)
                    for f in ("user", "system", "children_user", "children_system")
                ),
                2,
            ),
            "server": round(
                (server_cpu1.user - server_cpu0.user) + (server_cpu1.system - server_cpu0.system), 2
            ),
        }
        time.sleep(a.sample_s * 2)  # a few samples after the load stops
        sampler.halt.set()
        sampler.join()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()
    lat = np.array([x for r in results for x in r["latencies_s"]])
    inserted = sum(r["inserted"] for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    pct = np.percentile(lat, [50, 95, 99]) if len(lat) else np.full(3, np.nan)
    res: dict[str, Any] = {
        "config": {
            "duration_s": a.duration_s,
            "max_requests": a.max_requests,
            "batch_size": a.batch_size,
            "clients": a.clients,
            "client_kind": "processes" if a.processes else "threads",
            "server_cpus": a.server_cpus or "unpinned",
            "machine_cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg(),
        },
        "requests": len(lat),
        "events_inserted": inserted,
        "wall_s": round(wall, 2),
        "cpu_s": cpu_s,
        "server_cpu_us_per_event": (
            round(cpu_s["server"] / inserted * 1e6, 2) if inserted else None
        ),
        "events_per_s": round(inserted / wall) if wall else 0,
        "requests_per_s": round(len(lat) / wall, 2) if wall else 0,
        "latency_s": {
            "p50": round(float(pct[0]), 4),
            "p95": round(float(pct[1]), 4),
            "p99": round(float(pct[2]), 4),
            "max": round(float(lat.max()), 4) if len(lat) else None,
        },
        "errors": errors,
        "server": rss_summary(sampler.samples),
        "target": {"events_per_s": TARGET_EVENTS_PER_S, "p99_s": TARGET_P99_S},
    }
    res["target"]["met"] = bool(
        res["events_per_s"] >= TARGET_EVENTS_PER_S and res["latency_s"]["p99"] < TARGET_P99_S
    )
    if a.profile_batches:
        res["profile"] = profile_ingest(template(a.batch_size), a.profile_batches, work, profiles)
    shutil.rmtree(work, ignore_errors=True)
    return res


def table(r: dict[str, Any]) -> str:
    c, lat, s = r["config"], r["latency_s"], r["server"]
    lines = [
        f"{'batch':>6} {'clients':>8} {'requests':>8} {'events':>9} {'wall_s':>7} "
        f"{'events/s':>9} {'p50_ms':>7} {'p95_ms':>7} {'p99_ms':>7} {'rss0_MB':>8} "
        f"{'rss1_MB':>8} {'rssmax':>7} {'MB/min':>7} {'cpu%':>6} errors",
        f"{c['batch_size']:>6} {str(c['clients']) + c['client_kind'][0]:>8} {r['requests']:>8} "
        f"{r['events_inserted']:>9} {r['wall_s']:>7} {r['events_per_s']:>9} "
        f"{lat['p50'] * 1e3:>7.1f} {lat['p95'] * 1e3:>7.1f} {lat['p99'] * 1e3:>7.1f} "
        f"{s.get('rss_start_mb', 0):>8} {s.get('rss_end_mb', 0):>8} {s.get('rss_max_mb', 0):>7} "
        f"{s.get('rss_second_half_slope_mb_per_min', 0):>7} "
        f"{s.get('server_cpu_mean_pct', 0):>6} {r['errors'] or '-'}",
        f"CPU during the run: server {r['cpu_s']['server']} s "
        f"({r['server_cpu_us_per_event']} us/event), load generator {r['cpu_s']['client']} s",
        f"target >= {TARGET_EVENTS_PER_S} events/s at p99 < {TARGET_P99_S * 1e3:g} ms: "
        + ("met" if r["target"]["met"] else "NOT met"),
    ]
    if "profile" in r:
        p = r["profile"]
        lines.append(
            f"in-process ingest: {p['events_per_s_in_process']} events/s over "
            f"{p['batches']} batches; share of time:"
        )
        lines += [f"  {k:<22} {v * 100:5.1f} %" for k, v in p["breakdown_frac"].items()]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description="Loopback load test of infercarbon serve")
    p.add_argument("--duration-s", type=float, default=20.0)
    p.add_argument("--max-requests", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=1750)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--processes", action="store_true", help="client processes, not threads")
    p.add_argument("--server-cpus", help="pin the server to these CPUs, e.g. 0,1")
    p.add_argument("--warmup", type=int, default=3, help="requests before the timed run")
    p.add_argument("--sample-s", type=float, default=0.5)
    p.add_argument("--profile-batches", type=int, default=0)
    p.add_argument("--json-out", help="also write the JSON here")
    p.add_argument(
        "--profiles",
        default=str(Path(__file__).with_name("bench_profiles.toml")),
        help="deployment profiles for the server (default: every device of the "
        "load has a profile, so every event gets all its line items)",
    )
    p.add_argument(
        "--baseline-src",
        help="also run the same load, first, against the code "
        "of this src folder (e.g. `git worktree add /tmp/base <rev>` then "
        "/tmp/base/src), and report both and their ratio",
    )
    a = p.parse_args()
    if not 1 <= a.clients <= 16 or a.duration_s > 600 or a.max_requests > 100_000:
        sys.exit(
            "error: keep the load bounded (clients 1-16, duration <= 600 s, max-requests <= 100000)"
        )
    if a.baseline_src:
        base = run(a, src=a.baseline_src)
        r = run(a, profiles=a.profiles)
        both = {
            "baseline": base,
            "current": r,
            "baseline_src": a.baseline_src,
            "current_over_baseline_events_per_s": round(r["events_per_s"] / base["events_per_s"], 3)
            if base["events_per_s"]
            else None,
        }
        text = json.dumps(both, indent=2)
        if a.json_out:
            Path(a.json_out).write_text(text)
        print(text)
        print("baseline:\n" + table(base))
        print("current:\n" + table(r))
        return
    r = run(a, profiles=a.profiles)
    text = json.dumps(r, indent=2)
    if a.json_out:
        Path(a.json_out).write_text(text)
    print(text)
    print(table(r))


if __name__ == "__main__":
    main()
