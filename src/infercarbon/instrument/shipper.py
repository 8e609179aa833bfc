"""Ship metered inference events to the ledger service in the background.

:class:`EventShipper`: a bounded in-memory queue and one background thread that posts events
in batches to the ledger service's ``POST /v1/events`` over an injected
:class:`httpx.Client`.  ``submit`` never blocks: when the queue is full the event is counted
in ``stats["dropped"]`` (never silently lost).  When the service is down (connection error,
timeout or 5xx) a batch is appended to a spool file (JSON lines, fsynced) and replayed, oldest
first, once the service answers again.  Re-sending is safe: ingest is idempotent on the event
id.  A batch the service refuses (4xx) is written to ``<spool>.rejected`` with the answer, not
retried forever.  It is the client side of the service and imports no web framework; the
ASGI middleware (:mod:`infercarbon.service.middleware`) and any other producer use it.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from infercarbon.errors import ConfigurationError

__all__ = ["EventShipper"]


class EventShipper:
    """Batching, spooling, non-blocking event shipper (one background thread).

    Parameters
    ----------
    client : httpx.Client
        Client whose ``base_url`` is the ledger service (its transport may be a mock).
    api_key : str
        A tenant key (``ic_...``) sent as ``Authorization: Bearer``.
    spool_path : path
        File for batches that could not be delivered.
    batch_size : int
        Most events per POST.
    flush_interval_s : float
        Longest an event waits in memory before its batch is sent [s].
    max_queue : int
        Bound of the in-memory queue.
    retry_interval_s : float
        How often the spool is retried while the service is down [s].
    """

    def __init__(
        self,
        client: httpx.Client,
        api_key: str,
        spool_path: str | os.PathLike[str],
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.5,
        max_queue: int = 100_000,
        retry_interval_s: float = 2.0,
    ) -> None:
        if batch_size < 1 or max_queue < 1:
            raise ConfigurationError("batch_size and max_queue must be >= 1")
        self.client = client
        self.api_key = api_key
        self.spool_path = Path(spool_path)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        self._q: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._lock = threading.Lock()
        self.stats: dict[str, int] = {
            "submitted": 0,
            "dropped": 0,
            "shipped": 0,
            "spooled": 0,
            "replayed": 0,
            "rejected": 0,
        }
        self.last_error: str | None = None
        self._next_retry = 0.0
        self._thread = threading.Thread(target=self._run, name="infercarbon-shipper", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ producer side
    def submit(self, event: dict[str, Any]) -> bool:
        """Queue one event; never blocks.  False (and counted) when the queue is full."""
        try:
            self._q.put_nowait(event)
        except queue.Full:
            with self._lock:
                self.stats["dropped"] += 1
            return False
        with self._lock:
            self.stats["submitted"] += 1
        self._idle.clear()
        return True

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the queue is drained (delivered or spooled); True if it was."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._q.empty() and self._idle.wait(0.02) and self._q.empty():
                return True
        return False

    def close(self, timeout_s: float = 10.0) -> None:
        """Drain, then stop the thread (undelivered events stay in the spool)."""
        self.flush(timeout_s)
        self._stop.set()
        self._thread.join(timeout_s)

    def spooled_events(self) -> int:
        """Events waiting in the spool file."""
        if not self.spool_path.exists():
            return 0
        with self.spool_path.open(encoding="utf-8") as fh:
            return sum(len(json.loads(line)) for line in fh if line.strip())

    # ------------------------------------------------------------------ consumer side
    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._collect()
            if batch:
                self._deliver(batch)
            else:
                self._idle.set()
            if self.spool_path.exists() and time.monotonic() >= self._next_retry:
                self._replay()

    def _collect(self) -> list[dict[str, Any]]:
        try:
            first = self._q.get(timeout=self.flush_interval_s)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.flush_interval_s
        while len(batch) < self.batch_size:
            try:
                batch.append(self._q.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _post(self, batch: list[dict[str, Any]]) -> str:
        """'ok', 'down' (retry later) or 'rejected'."""
        try:
            r = self.client.post(
                "/v1/events", json=batch, headers={"Authorization": f"Bearer {self.api_key}"}
            )
        except httpx.HTTPError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return "down"
        if r.status_code >= 500:
            self.last_error = f"HTTP {r.status_code}"
            return "down"
        if r.status_code >= 400:
            self.last_error = f"HTTP {r.status_code}: {r.text[:500]}"
            self._append(
                self.spool_path.with_name(self.spool_path.name + ".rejected"),
                {"status": r.status_code, "answer": r.text[:10_000], "events": batch},
            )
            with self._lock:
                self.stats["rejected"] += len(batch)
            return "rejected"
        return "ok"

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        if self.spool_path.exists():  # keep order: older spooled events go first
            self._spool(batch)
            return
        result = self._post(batch)
        if result == "down":
            self._spool(batch)
            self._next_retry = time.monotonic() + self.retry_interval_s
        elif result == "ok":
            with self._lock:
                self.stats["shipped"] += len(batch)

    @staticmethod
    def _append(path: Path, doc: Any) -> None:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _spool(self, batch: list[dict[str, Any]]) -> None:
        self._append(self.spool_path, batch)
        with self._lock:
            self.stats["spooled"] += len(batch)

    def _replay(self) -> None:
        """Send spooled batches oldest first; stop at the first failure and keep the rest."""
        with self.spool_path.open(encoding="utf-8") as fh:
            lines = [ln for ln in fh.read().splitlines() if ln.strip()]
        done = 0
        for line in lines:
            batch = json.loads(line)
            result = self._post(batch)
            if result == "down":
                break
            done += 1
            if result == "ok":
                with self._lock:
                    self.stats["replayed"] += len(batch)
        if done == len(lines):
            self.spool_path.unlink()
        else:
            if done:
                tmp = self.spool_path.with_name(self.spool_path.name + ".tmp")
                tmp.write_text("".join(ln + "\n" for ln in lines[done:]), encoding="utf-8")
                os.replace(tmp, self.spool_path)
            self._next_retry = time.monotonic() + self.retry_interval_s
