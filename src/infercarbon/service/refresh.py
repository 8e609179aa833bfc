"""Keep grid signals fresh in the ledger: a scheduler for ``infercarbon serve --update``.

:class:`Refresher` holds update specs (:class:`~infercarbon.grid.updates.UpdateSpec`) and runs
each of them every ``interval_s`` seconds on one daemon thread: fetch (the injected ``fetch``
callable), keep the intervals that are new or changed
(:func:`~infercarbon.grid.updates.only_changed`), append them in one call.  A spec that fails
(no key, no network, a refused payload) is recorded in :meth:`Refresher.status` and logged
once per distinct error; the other specs and the service carry on.  A missing key cannot
appear while the process runs (keys are read at start-up), so such a spec is switched off
after its first attempt.  Nothing here imports a web framework; clock, store factory and
fetcher are arguments.

:func:`write_intensity` is the one write path, shared with ``infercarbon grid update``.

>>> parse_interval_s("15m"), parse_interval_s("90s"), parse_interval_s("1.5h")
(900.0, 90.0, 5400.0)
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InfercarbonError, InputError, MissingCredentialsError
from infercarbon.grid.updates import UpdateSpec, only_changed
from infercarbon.ledger import Store
from infercarbon.timeutil import WallClockUtc

__all__ = [
    "DEFAULT_INTERVAL_S",
    "MIN_INTERVAL_S",
    "Fetch",
    "IntensityWrite",
    "Refresher",
    "Sleep",
    "parse_interval_s",
    "rows_summary",
    "write_intensity",
]

#: ``--refresh`` when only ``--update`` is given [s].
DEFAULT_INTERVAL_S: Final = 900.0
#: The shortest refresh interval accepted [s]: providers meter their APIs.
MIN_INTERVAL_S: Final = 60.0

Sleep = Callable[[float], object]
#: ``fetch(spec, now_utc, sleep)`` -> intensity rows; ``sleep`` returns early on stop, so a
#: fetcher that waits between retries should wait with it.
Fetch = Callable[[UpdateSpec, datetime, Sleep], pa.Table]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh])\s*$", re.IGNORECASE)
_UNIT_S: Final = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_interval_s(text: str, *, field: str = "--refresh") -> float:
    """A duration such as ``90s``, ``15m`` or ``1.5h`` in seconds (at least
    :data:`MIN_INTERVAL_S`)."""
    m = _DURATION.match(str(text))
    if m is None:
        raise InputError(
            f"{text!r} is not a duration: use a number and s, m or h, e.g. 15m, 90s, 1h",
            field=field,
        )
    seconds = float(m.group(1)) * _UNIT_S[m.group(2).lower()]
    if not math.isfinite(seconds) or seconds < MIN_INTERVAL_S:
        raise InputError(
            f"{text!r} is shorter than {MIN_INTERVAL_S:.0f}s; providers meter "
            "their APIs, refresh every minute at most",
            field=field,
        )
    return seconds


# ------------------------------------------------------------------------------ write
@dataclass(frozen=True, slots=True)
class IntensityWrite:
    """What one write did: rows offered, rows appended, rows already stored unchanged, and
    the rows appended (the ``intensity`` layout)."""

    received: int
    written: int
    unchanged: int
    table: pa.Table


def write_intensity(store: Store, rows: pa.Table) -> IntensityWrite:
    """Append the intervals of ``rows`` that are new or changed, in one append.

    The ledger keeps every retrieval (``retrieved_utc`` is part of the key); an interval whose
    latest stored retrieval has the same value, range, status, method, marginal unit and
    confidence level is not stored again, so a refresh that brings nothing new writes
    nothing.
    """
    if rows.num_rows == 0:
        return IntensityWrite(0, 0, 0, rows)
    stored: list[pa.Table] = []
    pairs = rows.group_by(["region", "kind"]).aggregate(
        [("interval_start_utc", "min"), ("interval_start_utc", "max")]
    )
    for region, kind, first, last in zip(
        *(pairs.column(i).to_pylist() for i in range(4)), strict=True
    ):
        got = store.intensity(region=region, kind=kind, start_utc=first, end_utc=last + _ONE_US)
        stored.append(got.select([c for c in rows.column_names if c in got.column_names]))
    have = pa.concat_tables(stored, promote_options="permissive") if stored else rows.slice(0, 0)
    new = only_changed(rows, have)
    if new.num_rows:
        store.append_intensity(new)
    return IntensityWrite(rows.num_rows, new.num_rows, rows.num_rows - new.num_rows, new)


_ONE_US: Final = timedelta(microseconds=1)


# -------------------------------------------------------------------------- refresher
@dataclass
class _State:
    spec: UpdateSpec
    runs: int = 0
    last_run_utc: datetime | None = None
    last_success_utc: datetime | None = None
    rows_written: int = 0
    rows_written_total: int = 0
    last_error: str | None = None
    disabled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.spec.source,
            "region": self.spec.region,
            "kind": self.spec.kind,
            "runs": self.runs,
            "last_run_utc": self.last_run_utc,
            "last_success_utc": self.last_success_utc,
            "rows_written": self.rows_written,
            "rows_written_total": self.rows_written_total,
            "last_error": self.last_error,
            "disabled": self.disabled,
        }


class Refresher:
    """Runs update specs every ``interval_s`` seconds on one daemon thread.

    Parameters
    ----------
    specs : sequence of UpdateSpec
        What to keep fresh (duplicates are refused).
    fetch : callable
        ``fetch(spec, now_utc, sleep)`` -> intensity rows (e.g. over
        :func:`infercarbon.grid.update_sources.fetch_update`); raises on failure.
    store_factory : callable
        Returns a context manager giving the ledger store for one write (e.g.
        ``lambda: contextlib.nullcontext(store)`` to share the service's open store, or
        ``lambda: open_store(url)`` to open and close one per run).
    clock : callable
        The current time, timezone-aware UTC.
    interval_s : float
        Seconds between the starts of two rounds [s].
    on_update : callable, optional
        Called with the rows appended (``intensity`` layout) after each write that stored
        something, e.g. to tell the service that new intervals arrived.
    logger : logging.Logger, optional
        Where failures and recoveries are logged (default ``infercarbon.refresh``).
    """

    def __init__(
        self,
        specs: Sequence[UpdateSpec],
        *,
        fetch: Fetch,
        store_factory: Callable[[], AbstractContextManager[Store]],
        clock: WallClockUtc,
        interval_s: float = DEFAULT_INTERVAL_S,
        on_update: Callable[[pa.Table], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        labels = [s.label for s in specs]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise InputError(f"{dupes[0]} is given twice", field="--update")
        if not (
            isinstance(interval_s, int | float) and math.isfinite(interval_s) and interval_s > 0
        ):
            raise InputError("must be a positive number of seconds", field="interval_s")
        self._states = {s.label: _State(s) for s in specs}
        self._fetch = fetch
        self._store_factory = store_factory
        self._clock = clock
        self.interval_s = float(interval_s)
        self._on_update = on_update
        self._log = logger or logging.getLogger("infercarbon.refresh")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    # ------------------------------------------------------------------ running
    def run_once(self) -> dict[str, dict[str, Any]]:
        """Run every enabled spec once, now, in this thread; return :meth:`status`."""
        for state in list(self._states.values()):
            if self._stop.is_set():
                break
            if not state.disabled:
                self._run(state)
        with self._lock:
            self.rounds += 1
        return self.status()

    def _run(self, state: _State) -> None:
        now = self._clock()
        spec = state.spec
        try:
            rows = self._fetch(spec, now, self._stop.wait)
            with self._store_factory() as store:
                result = write_intensity(store, rows)
        except MissingCredentialsError as exc:
            self._failed(state, now, exc, disable=True)
            return
        except InfercarbonError as exc:  # no network, refused payload, ledger refusal
            self._failed(state, now, exc, disable=False)
            return
        # a bug must not end the thread unseen: it is logged with its traceback and recorded
        except Exception as exc:  # noqa: BLE001
            self._log.exception("grid refresh %s failed unexpectedly", spec.label)
            self._failed(state, now, exc, disable=False, logged=True)
            return
        with self._lock:
            recovered = state.last_error is not None
            state.runs += 1
            state.last_run_utc = state.last_success_utc = now
            state.rows_written = result.written
            state.rows_written_total += result.written
            state.last_error = None
        if recovered:
            self._log.info("grid refresh %s: recovered", spec.label)
        if result.written and self._on_update is not None:
            self._on_update(result.table)

    def _failed(
        self,
        state: _State,
        now: datetime,
        exc: BaseException,
        *,
        disable: bool,
        logged: bool = False,
    ) -> None:
        message = f"{type(exc).__name__}: {exc}"
        with self._lock:
            repeat = state.last_error == message
            state.runs += 1
            state.last_run_utc = now
            state.rows_written = 0
            state.last_error = message
            state.disabled = state.disabled or disable
        if not repeat and not logged:
            self._log.warning(
                "grid refresh %s failed%s: %s",
                state.spec.label,
                " (switched off until restart)" if disable else "",
                message,
            )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Start the daemon thread (first round at once)."""
        if self._thread is not None and self._thread.is_alive():
            raise InputError("the refresher is already running", field="start")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="infercarbon-refresh", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Ask the thread to stop and join it; True when it has ended within ``timeout_s``.

        A wait between rounds (or between retries, for a fetcher that sleeps with the given
        ``sleep``) ends at once; a request in flight ends at its own timeout.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> dict[str, dict[str, Any]]:
        """Per spec (``source:region:kind``): runs, last run and success times, rows written
        last time and in all, the last error (None after a success), and whether the spec is
        switched off (a missing key)."""
        with self._lock:
            return {label: s.as_dict() for label, s in self._states.items()}


def rows_summary(table: pa.Table) -> str:
    """``N intervals, FIRST..LAST`` of an intensity table (for logs and the CLI)."""
    if table.num_rows == 0:
        return "0 intervals"
    lo, hi = pc.min_max(table.column("interval_start_utc")).values()
    return f"{table.num_rows} intervals, {lo.as_py():%Y-%m-%dT%H:%MZ}..{hi.as_py():%Y-%m-%dT%H:%MZ}"
