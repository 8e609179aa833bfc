"""Crash safety of ``infercarbon serve``: kill -9 the server mid-ingest, restart, and check that
every event acknowledged with a 2xx is in the ledger exactly once.

Usage::

    python scripts/crash_safety.py --trials 20 [--ledger-kind duckdb|postgres] [--json]
        [--clients 4] [--batch-size 200] [--kill-window-s 2.0] [--seed 1]

Each trial, as a user would run it:

1. makes a fresh ledger (a DuckDB file in a temporary folder; with ``--ledger-kind postgres``
   a fresh schema in the database named by ``INFERCARBON_TEST_POSTGRES_DSN``, dropped after),
   creates a key with ``infercarbon keys create`` and starts ``infercarbon serve`` as a
   subprocess on a free loopback port;
2. runs ``--clients`` threads that ``POST /v1/events`` batches of events with unique ids; after
   some acknowledged batches a client re-posts the same batch at once (a shipper's retry), which
   must be answered ``inserted == 0``;
3. once ingest is flowing, waits a random time in ``[0, --kill-window-s]`` and sends SIGKILL to
   the server's process group; requests in flight then get no answer;
4. opens the ledger directly (server dead) and checks, per batch: acknowledged => all of its
   events present, each with one footprint; not acknowledged => all or none of its events
   present (never half a batch); no event twice; no event that was never sent;
5. restarts ``infercarbon serve`` on the same ledger and port and re-sends every batch that was
   not acknowledged (the retry a real shipper does): each must now be acknowledged, with
   ``inserted`` equal to the part that was not already stored;
6. stops the server (SIGTERM) and checks the ledger again: every batch's events present exactly
   once, each with exactly one footprint, and the total equal to what was sent; the API's
   ``/v1/summary`` event count is compared too, before the stop.

Exit status 0 when no trial found a violation, 1 otherwise (2 on a setup failure).  Only
loopback addresses are used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pyarrow as pa

DSN_VAR = "INFERCARBON_TEST_POSTGRES_DSN"
HOST = "127.0.0.1"


class SetupError(RuntimeError):
    """The trial could not be set up (server did not start, key not created...)."""


# ------------------------------------------------------------------------------ records
@dataclass
class Batch:
    """One batch a client posted, and what the server answered."""

    client: int
    seq: int
    ids: list[str]
    body: bytes = field(repr=False)
    status: str = "pending"  # pending -> acked | rejected | unanswered
    http_status: int | None = None
    detail: str = ""
    retried: bool = False
    present_before: int = -1  # events of this batch found after the kill, before re-sending
    resent_status: int | None = None


@dataclass
class TrialResult:
    trial: int
    ledger_kind: str
    kill_after_s: float
    batches_sent: int = 0
    batches_acked: int = 0
    batches_unanswered: int = 0
    batches_rejected: int = 0
    idempotent_retries: int = 0
    in_flight_at_kill: int = 0
    unacked_found_complete: int = 0
    unacked_found_absent: int = 0
    events_acked: int = 0
    events_after_kill: int = 0
    footprints_missing_after_kill: int = 0
    backfilled_or_resent_ok: bool = False
    events_final: int = 0
    events_expected: int = 0
    api_summary_events: int | None = None
    wall_s: float = 0.0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


# ----------------------------------------------------------------------------- checking
def check_batches(
    batches: Sequence[Batch],
    event_counts: Mapping[str, int],
    footprint_counts: Mapping[str, int],
    *,
    final: bool,
) -> list[str]:
    """Violations of crash safety in one ledger snapshot.

    ``event_counts`` / ``footprint_counts`` map each stored event id (of this trial) to how
    many event rows / footprints it has.  Before the re-send (``final=False``) a batch that was
    not acknowledged may be absent or complete, never partial, and its events may still lack a
    footprint (the server backfills at start-up); after it (``final=True``) every batch must be
    complete.  Acknowledged events must always be present once, each with one footprint.

    >>> b = Batch(client=0, seq=0, ids=["a", "b"], body=b"", status="acked")
    >>> check_batches([b], {"a": 1, "b": 1}, {"a": 1, "b": 1}, final=False)
    []
    >>> for v in check_batches([b], {"a": 1}, {"a": 1}, final=False):
    ...     print(v)
    batch c0/b0 (acked): 1 of 2 events present
    batch c0/b0 (acked): 1 event(s) without exactly one footprint, e.g. b has 0
    """
    out: list[str] = []
    sent: set[str] = set()
    for b in batches:
        name = f"batch c{b.client}/b{b.seq} ({b.status})"
        sent.update(b.ids)
        present = sum(1 for i in b.ids if i in event_counts)
        twice = [i for i in b.ids if event_counts.get(i, 0) > 1]
        if twice:
            out.append(f"{name}: {len(twice)} event(s) stored more than once, e.g. {twice[0]}")
        must_be_whole = final or b.status == "acked"
        if must_be_whole and present != len(b.ids):
            out.append(f"{name}: {present} of {len(b.ids)} events present")
        elif not must_be_whole and present not in (0, len(b.ids)):
            out.append(f"{name}: half-written, {present} of {len(b.ids)} events present")
        if must_be_whole:
            fp_bad = [i for i in b.ids if footprint_counts.get(i, 0) != 1]
            if fp_bad:
                out.append(
                    f"{name}: {len(fp_bad)} event(s) without exactly one footprint, "
                    f"e.g. {fp_bad[0]} has {footprint_counts.get(fp_bad[0], 0)}"
                )
    phantom = [i for i in event_counts if i not in sent]
    if phantom:
        out.append(f"{len(phantom)} stored event(s) that no client sent, e.g. {phantom[0]}")
    return out


def ledger_counts(ledger: str, prefix: str) -> tuple[dict[str, int], dict[str, int]]:
    """Event-row and footprint counts per event id (ids starting with ``prefix``), read with
    :func:`infercarbon.ledger.open_store` while no server holds the ledger."""
    from infercarbon.ledger import open_store

    schema = pa.schema([("event_id", pa.string()), ("n", pa.int64())])
    like = [prefix + "%"]
    with open_store(ledger) as store:
        ev = store.query_arrow(
            "SELECT event_id, COUNT(*) FROM events WHERE event_id LIKE %s GROUP BY event_id",
            like,
            schema,
        )
        fp = store.query_arrow(
            "SELECT event_id, COUNT(*) FROM all_footprints "
            "WHERE event_id LIKE %s GROUP BY event_id",
            like,
            schema,
        )
    return (
        dict(zip(ev.column(0).to_pylist(), ev.column(1).to_pylist(), strict=True)),
        dict(zip(fp.column(0).to_pylist(), fp.column(1).to_pylist(), strict=True)),
    )


# ------------------------------------------------------------------------------ server
def infercarbon_exe() -> str:
    """The ``infercarbon`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("infercarbon")
    if beside.is_file():
        return str(beside)
    found = shutil.which("infercarbon")
    if found is None:
        raise SetupError("the `infercarbon` command is not installed (pip install -e '.[test]')")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def create_key(ledger: str, tenant: str) -> str:
    proc = subprocess.run(
        [infercarbon_exe(), "keys", "create", "--tenant", tenant, "--ledger", ledger],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SetupError(
            f"infercarbon keys create failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
        )
    return proc.stdout.strip().splitlines()[-1]


class Server:
    """``infercarbon serve`` in its own process group (so SIGKILL reaches all of it)."""

    def __init__(self, ledger: str, port: int, log_path: Path) -> None:
        self.ledger = ledger
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> float:
        """Start and wait for ``/healthz``; return the seconds it took."""
        self._log = self.log_path.open("ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                infercarbon_exe(),
                "serve",
                "--ledger",
                self.ledger,
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    self._close_log()
                    raise SetupError(
                        f"infercarbon serve exited with {self.proc.returncode}: {self.log_tail()}"
                    )
                try:
                    if c.get(self.base_url + "/healthz").status_code == 200:
                        return time.perf_counter() - t0
                except httpx.TransportError:
                    pass  # not listening yet: poll again
                time.sleep(0.05)
        self.kill()
        raise SetupError(f"infercarbon serve not ready after {timeout_s:g} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server's process group and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close_log()

    def stop(self, timeout_s: float = 20.0) -> bool:
        """SIGTERM and wait; SIGKILL if it does not exit in time.  True if it exited cleanly."""
        if self.proc is None:
            return True
        clean = True
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                clean = False
                self.kill()
        self._close_log()
        return clean

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, n: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError as exc:
            return f"(no log: {exc})"


# ------------------------------------------------------------------------------ ledgers
@contextmanager
def fresh_ledger(kind: str, workdir: Path, dsn: str | None) -> Iterator[str]:
    """A new, empty ledger location: a DuckDB file, or a PostgreSQL schema (dropped after)."""
    if kind == "duckdb":
        yield str(workdir / "ledger.duckdb")
        return
    if not dsn:
        raise SetupError(f'--ledger-kind postgres needs {DSN_VAR} (eval "$(.ci/postgres.sh)")')
    import psycopg

    schema = f"crash_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


# ------------------------------------------------------------------------------ clients
def make_body(
    prefix: str, client: int, seq: int, n: int, rng: random.Random
) -> tuple[list[str], bytes]:
    ids = [f"{prefix}-c{client}-b{seq}-{i}" for i in range(n)]
    hour = rng.randrange(24)
    rows = [
        {
            "event_id": eid,
            "start_utc": f"2026-07-01T{hour:02d}:{i % 60:02d}:00Z",
            "end_utc": f"2026-07-01T{hour:02d}:{i % 60:02d}:00.250000Z",
            "service": "chat",
            "model": ("m-small", "m-large")[i % 2],
            "region": ("DE", "FR")[client % 2],
            "device": f"gpu{client}",
            "energy_j": round(rng.uniform(1.0, 500.0), 3),
            "attribution_method": "measured-interval",
            "batch_id": f"c{client}-b{seq}",
            "tokens_in": 100 + i,
            "tokens_out": 20 + i % 7,
            "outcome": "answer",
        }
        for i, eid in enumerate(ids)
    ]
    return ids, json.dumps(rows).encode()


class Ingest:
    """Client threads posting batches until told to stop or the server stops answering."""

    def __init__(
        self,
        base_url: str,
        key: str,
        prefix: str,
        *,
        clients: int,
        batch_size: int,
        retry_frac: float,
        seed: int,
        max_batches: int,
    ) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.prefix = prefix
        self.batch_size = batch_size
        self.retry_frac = retry_frac
        self.max_batches = max_batches
        self.batches: list[Batch] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.first_ack = threading.Event()
        self.violations: list[str] = []
        self.retries = 0
        self.threads = [
            threading.Thread(
                target=self._guarded,
                args=(c, seed * 1000 + c),
                name=f"crash-client-{c}",
                daemon=True,
            )
            for c in range(clients)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout_s: float = 60.0) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout_s)
            if t.is_alive():
                self.violations.append(f"client thread {t.name} did not finish")

    def in_flight(self) -> int:
        with self.lock:
            return sum(1 for b in self.batches if b.status == "pending")

    def _guarded(self, client: int, seed: int) -> None:
        try:
            self._run(client, random.Random(seed))
        except Exception as exc:  # noqa: BLE001 - recorded as a violation: the trial fails
            with self.lock:
                self.violations.append(f"client {client} crashed: {exc!r}")

    def _run(self, client: int, rng: random.Random) -> None:
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=30.0) as http:
            seq = 0
            while not self.stop.is_set() and seq < self.max_batches:
                ids, body = make_body(self.prefix, client, seq, self.batch_size, rng)
                b = Batch(client=client, seq=seq, ids=ids, body=body)
                seq += 1
                with self.lock:
                    self.batches.append(b)
                try:
                    r = http.post("/v1/events", content=body)
                except httpx.TransportError as exc:
                    b.status, b.detail = "unanswered", type(exc).__name__
                    return  # the server is gone: this shipper stops (it re-sends later)
                b.http_status = r.status_code
                if not r.is_success:
                    b.status, b.detail = "rejected", r.text[:300]
                    if r.status_code != 503:  # 503 = ledger busy, retry later; others are bugs
                        self._violate(
                            f"batch c{client}/b{b.seq}: HTTP {r.status_code} "
                            f"before the kill: {r.text[:300]}"
                        )
                    continue
                b.status = "acked"
                self._check_ack(b, r.json(), fresh=True)
                self.first_ack.set()
                if rng.random() < self.retry_frac:
                    b.retried = True
                    try:
                        r2 = http.post("/v1/events", content=body)
                    except httpx.TransportError:
                        return
                    if r2.is_success:
                        with self.lock:
                            self.retries += 1
                        self._check_ack(b, r2.json(), fresh=False)
                    elif r2.status_code != 503:
                        self._violate(
                            f"batch c{client}/b{b.seq}: retry got HTTP "
                            f"{r2.status_code}: {r2.text[:300]}"
                        )

    def _check_ack(self, b: Batch, body: Any, *, fresh: bool) -> None:
        n = len(b.ids)
        want = (n, 0) if fresh else (0, n)
        got = (body.get("inserted"), body.get("duplicates")) if isinstance(body, dict) else None
        if got != want or body.get("accepted") != n:
            what = "first post" if fresh else "idempotent retry"
            self._violate(
                f"batch c{b.client}/b{b.seq}: {what} answered {body!r}, expected "
                f"accepted={n} inserted={want[0]} duplicates={want[1]}"
            )

    def _violate(self, msg: str) -> None:
        with self.lock:
            self.violations.append(msg)


def resend(base_url: str, key: str, batches: Sequence[Batch], violations: list[str]) -> None:
    """Re-send every batch that was not acknowledged (retrying 503s), as a shipper would."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60.0) as http:
        for b in batches:
            for attempt in range(6):
                r = http.post("/v1/events", content=b.body)
                if r.status_code != 503:
                    break
                time.sleep(0.2 * (attempt + 1))
            b.resent_status = r.status_code
            name = f"batch c{b.client}/b{b.seq} ({b.status})"
            if not r.is_success:
                violations.append(f"{name}: re-send got HTTP {r.status_code}: {r.text[:300]}")
                continue
            body = r.json()
            n, had = len(b.ids), b.present_before
            want = {"accepted": n, "inserted": n - had, "duplicates": had}
            got = {k: body.get(k) for k in want}
            if got != want:
                violations.append(f"{name}: re-send answered {got}, expected {want}")


def api_event_count(base_url: str, key: str) -> int:
    r = httpx.get(
        base_url + "/v1/summary", headers={"Authorization": f"Bearer {key}"}, timeout=60.0
    )
    r.raise_for_status()
    n: int = r.json()["events"]
    return n


# -------------------------------------------------------------------------------- trial
@dataclass
class Config:
    trials: int = 20
    ledger_kind: str = "duckdb"
    clients: int = 4
    batch_size: int = 200
    kill_window_s: float = 2.0
    retry_frac: float = 0.25
    max_batches: int = 2000
    seed: int = 1
    dsn: str | None = None
    workdir: str | None = None
    keep: bool = False


def run_trial(cfg: Config, trial: int) -> TrialResult:
    rng = random.Random(cfg.seed * 7919 + trial)
    kill_after = rng.uniform(0.0, cfg.kill_window_s)
    res = TrialResult(trial=trial, ledger_kind=cfg.ledger_kind, kill_after_s=round(kill_after, 3))
    t_start = time.perf_counter()
    base = Path(cfg.workdir) if cfg.workdir else None
    tmp = Path(tempfile.mkdtemp(prefix=f"crash{trial}-", dir=base))
    prefix = f"t{trial}-{uuid.uuid4().hex[:8]}"
    try:
        with fresh_ledger(cfg.ledger_kind, tmp, cfg.dsn) as ledger:
            _trial_body(cfg, res, ledger, tmp, prefix, kill_after, trial)
    finally:
        res.wall_s = round(time.perf_counter() - t_start, 2)
        if not cfg.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return res


def _trial_body(
    cfg: Config,
    res: TrialResult,
    ledger: str,
    tmp: Path,
    prefix: str,
    kill_after: float,
    trial: int,
) -> None:
    key = create_key(ledger, tenant=f"crash{trial}")
    server = Server(ledger, free_port(), tmp / "serve.log")
    server.start()
    ingest = Ingest(
        server.base_url,
        key,
        prefix,
        clients=cfg.clients,
        batch_size=cfg.batch_size,
        retry_frac=cfg.retry_frac,
        seed=cfg.seed * 100 + trial,
        max_batches=cfg.max_batches,
    )
    try:
        ingest.start()
        if not ingest.first_ack.wait(60.0):
            res.violations.append("no batch acknowledged within 60 s")
        time.sleep(kill_after)
        res.in_flight_at_kill = ingest.in_flight()
        server.kill()
    finally:
        server.kill()
        ingest.join()
    res.violations += ingest.violations
    batches = ingest.batches
    res.idempotent_retries = ingest.retries
    res.batches_sent = len(batches)
    res.batches_acked = sum(b.status == "acked" for b in batches)
    res.batches_rejected = sum(b.status == "rejected" for b in batches)
    res.batches_unanswered = sum(b.status in ("unanswered", "pending") for b in batches)
    res.events_acked = sum(len(b.ids) for b in batches if b.status == "acked")
    res.events_expected = sum(len(b.ids) for b in batches)

    # 1. the ledger as the crash left it (no server holds it now)
    ev, fp = ledger_counts(ledger, prefix)
    res.events_after_kill = sum(ev.values())
    res.footprints_missing_after_kill = sum(1 for i in ev if fp.get(i, 0) == 0)
    res.violations += [f"after kill: {v}" for v in check_batches(batches, ev, fp, final=False)]
    unacked = [b for b in batches if b.status != "acked"]
    for b in unacked:
        b.present_before = sum(1 for i in b.ids if i in ev)
    res.unacked_found_complete = sum(b.present_before == len(b.ids) for b in unacked)
    res.unacked_found_absent = sum(b.present_before == 0 for b in unacked)

    # 2. restart on the same ledger and port; re-send what was not acknowledged
    server.start()
    try:
        before = len(res.violations)
        resend(server.base_url, key, unacked, res.violations)
        res.backfilled_or_resent_ok = len(res.violations) == before
        res.api_summary_events = api_event_count(server.base_url, key)
    finally:
        if not server.stop():
            res.violations.append("server did not exit within 20 s of SIGTERM")
    if res.api_summary_events != res.events_expected:
        res.violations.append(
            f"API /v1/summary counts {res.api_summary_events} events, "
            f"expected {res.events_expected}"
        )

    # 3. the final ledger
    ev, fp = ledger_counts(ledger, prefix)
    res.events_final = sum(ev.values())
    res.violations += [f"final: {v}" for v in check_batches(batches, ev, fp, final=True)]
    if res.events_final != res.events_expected:
        res.violations.append(
            f"final: {res.events_final} event rows, expected {res.events_expected}"
        )


def run_trials(cfg: Config, *, progress: IO[str] | None = None) -> dict[str, Any]:
    """Run ``cfg.trials`` trials; return ``{"config", "trials", "summary"}``."""
    trials: list[TrialResult] = []
    for i in range(cfg.trials):
        r = run_trial(cfg, i)
        trials.append(r)
        if progress is not None:
            progress.write(_row(r) + "\n")
            progress.flush()
    n_bad = sum(not r.ok for r in trials)
    summary = {
        "trials": len(trials),
        "trials_with_violations": n_bad,
        "violations": sum(len(r.violations) for r in trials),
        "batches_sent": sum(r.batches_sent for r in trials),
        "batches_acked": sum(r.batches_acked for r in trials),
        "batches_unacked": sum(r.batches_unanswered + r.batches_rejected for r in trials),
        "unacked_found_complete": sum(r.unacked_found_complete for r in trials),
        "unacked_found_absent": sum(r.unacked_found_absent for r in trials),
        "idempotent_retries": sum(r.idempotent_retries for r in trials),
        "events_acked": sum(r.events_acked for r in trials),
        "events_final": sum(r.events_final for r in trials),
        "events_expected": sum(r.events_expected for r in trials),
        "footprints_missing_after_kill": sum(r.footprints_missing_after_kill for r in trials),
        "trials_killed_with_requests_in_flight": sum(r.in_flight_at_kill > 0 for r in trials),
        "wall_s": round(sum(r.wall_s for r in trials), 1),
        "ok": n_bad == 0,
    }
    conf = {k: v for k, v in asdict(cfg).items() if k != "dsn"}
    return {
        "config": conf,
        "trials": [{**asdict(r), "ok": r.ok} for r in trials],
        "summary": summary,
    }


HEADER = (
    f"{'trial':>5} {'kill_s':>6} {'sent':>5} {'acked':>5} {'unack':>5} {'inflt':>5} "
    f"{'cmpl':>4} {'absnt':>5} {'retry':>5} {'ev_acked':>8} {'ev_final':>8} "
    f"{'fp_miss':>7} {'wall_s':>6}  result"
)


def _row(r: TrialResult) -> str:
    return (
        f"{r.trial:>5} {r.kill_after_s:>6.2f} {r.batches_sent:>5} {r.batches_acked:>5} "
        f"{r.batches_unanswered + r.batches_rejected:>5} {r.in_flight_at_kill:>5} "
        f"{r.unacked_found_complete:>4} {r.unacked_found_absent:>5} "
        f"{r.idempotent_retries:>5} {r.events_acked:>8} {r.events_final:>8} "
        f"{r.footprints_missing_after_kill:>7} {r.wall_s:>6.1f}  "
        + ("ok" if r.ok else "VIOLATION: " + "; ".join(r.violations[:3]))
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--ledger-kind", choices=("duckdb", "postgres"), default="duckdb")
    p.add_argument("--clients", type=int, default=4, help="client threads")
    p.add_argument("--batch-size", type=int, default=200, help="events per batch")
    p.add_argument(
        "--kill-window-s",
        type=float,
        default=2.0,
        help="SIGKILL at a uniform random time this long after the first ack",
    )
    p.add_argument(
        "--retry-frac",
        type=float,
        default=0.25,
        help="share of acknowledged batches re-posted at once (idempotency)",
    )
    p.add_argument("--max-batches", type=int, default=2000, help="per client per trial")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", help="folder for the trials' temporary folders")
    p.add_argument("--keep", action="store_true", help="keep each trial's folder (logs)")
    p.add_argument("--json", action="store_true", help="print the result as JSON only")
    a = p.parse_args(argv)
    cfg = Config(
        trials=a.trials,
        ledger_kind=a.ledger_kind,
        clients=a.clients,
        batch_size=a.batch_size,
        kill_window_s=a.kill_window_s,
        retry_frac=a.retry_frac,
        max_batches=a.max_batches,
        seed=a.seed,
        dsn=os.environ.get(DSN_VAR),
        workdir=a.workdir,
        keep=a.keep,
    )
    if not a.json:
        print(HEADER, flush=True)
    try:
        out = run_trials(cfg, progress=None if a.json else sys.stdout)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    s = out["summary"]
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"\n{s['trials']} trials ({cfg.ledger_kind}), {s['trials_with_violations']} with "
            f"violations; {s['batches_acked']} batches acknowledged, {s['batches_unacked']} "
            f"not ({s['unacked_found_complete']} found complete and "
            f"{s['unacked_found_absent']} absent after the kill, none partial"
            f"{'' if s['ok'] else ' unless listed above'}); {s['events_final']} events "
            f"stored of {s['events_expected']} sent, {s['idempotent_retries']} idempotent "
            f"retries; {s['trials_killed_with_requests_in_flight']} trials killed with "
            f"requests in flight; {s['wall_s']} s"
        )
        for t in out["trials"]:
            for v in t["violations"]:
                print(f"trial {t['trial']}: {v}")
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
