"""Energy of requests seen from outside the server: the accounting behind ``infercarbon proxy``.

A metering proxy sees each request's start and end and its tokens, never the server's code.
This module turns those into inference events with energy, off the request path:

:class:`RequestRecord`
    One request: wall-clock start/end [s], tokens (and where they came from), model, tenant,
    outcome, W3C trace context.  The proxy creates it at the request's start and updates it
    while a stream runs (tokens counted so far), so an unfinished request already has a weight.
:class:`ReadingsLog`
    Cumulative device energy readings ``(t_s, cumulative_j)`` on the wall clock, filled by a
    :class:`SensorPoller` thread: either an :class:`~infercarbon.telemetry.base.EnergySource`
    read every ``period_s``, or a source that knows its own sample times (``readings_between``:
    the Prometheus source returns the scrapes' own timestamps).
:class:`RequestAccountant`
    ``tick()`` closes a window ``[cut_prev, cut]`` where ``cut`` is the newest reading, and
    splits the window's measured energy over every request that overlaps it with the
    attribution engine (:func:`infercarbon.attribution.attribute`), weighted by tokens (input
    plus output; an unfinished stream weighs its tokens so far) and time (the engine's
    elementary slices).  A request's energy is the sum over the windows it overlapped; it is
    emitted once it has ended and a reading after its end has arrived.  Idle energy (slices with
    no request in flight) is not attributed (policy ``none``): it is counted in
    ``stats["unattributed_idle_j"]``, and the ledger's footprints add the profile's idle line.
    Without a sensor it uses the LLM estimator
    (:func:`infercarbon.estimators.llm.estimate_llm_arrays`) per request, at the concurrency the
    proxy saw, and labels the energy ``modelled``.
:class:`EventRecorder`
    One background thread calling ``tick`` and handing events to a sink (a ledger writer or the
    :class:`~infercarbon.instrument.shipper.EventShipper`).

No Python loop per event does arithmetic: each window is one call of the engine over arrays;
building the event dicts is the only per-event work, and it happens off the request path.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from infercarbon.attribution import attribute
from infercarbon.errors import ConfigurationError, InputError, SensorError
from infercarbon.estimators.llm import estimate_llm_arrays
from infercarbon.telemetry.base import EnergySource, energy_band
from infercarbon.timeutil import EpochClockS, format_utc

__all__ = [
    "EventRecorder",
    "LlmServing",
    "ReadingsLog",
    "RequestAccountant",
    "RequestRecord",
    "SensorPoller",
    "TimedReadings",
]

#: token sources an event may state (a stream without ``usage``: completion tokens counted
#: from its chunks, prompt tokens estimated from the request's text)
TOKEN_SOURCES = (
    "usage",
    "counted-stream-chunks",
    "counted-stream-chunks; prompt estimated from request text",
    "none",
)


class RequestRecord:
    """One proxied request (mutable while it runs; read by the accountant's thread)."""

    __slots__ = (
        "concurrency",
        "end_s",
        "energy_j",
        "event_id",
        "model",
        "outcome",
        "parent_span_id",
        "payload_bytes",
        "prompt_tokens_estimate",
        "start_s",
        "tenant",
        "token_source",
        "tokens_in",
        "tokens_out",
        "trace_id",
    )

    def __init__(
        self,
        start_s: float,
        *,
        model: str,
        tenant: str,
        concurrency: int = 1,
        trace_id: str | None = None,
        parent_span_id: str | None = None,
        event_id: str | None = None,
    ) -> None:
        self.event_id = event_id or uuid.uuid4().hex
        self.start_s = start_s
        self.end_s = math.nan
        self.model = model
        self.tenant = tenant
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.token_source = "none"
        #: the prompt's tokens estimated from the request's text (used when the answer
        #: reports no ``usage``)
        self.prompt_tokens_estimate: int | None = None
        self.payload_bytes = 0
        self.outcome = "ok"
        self.concurrency = concurrency
        self.trace_id = trace_id
        self.parent_span_id = parent_span_id
        self.energy_j = 0.0

    @property
    def weight(self) -> int:
        """Tokens so far (input + output), at least 1: the request's share of a busy slice."""
        return max(1, (self.tokens_in or 0) + (self.tokens_out or 0))


# ------------------------------------------------------------------------------- readings
@runtime_checkable
class TimedReadings(Protocol):
    """A source that returns readings with their own timestamps (e.g. Prometheus scrapes)."""

    def readings_between(self, start_s: float, end_s: float) -> tuple[list[float], list[float]]:
        """Readings ``(t_s, cumulative_j)`` with ``start_s < t_s <= end_s`` (Unix s)."""
        ...


class ReadingsLog:
    """Cumulative energy readings on the wall clock, thread-safe, time-ordered, bounded."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 2:
            raise InputError(f"must be >= 2 readings, got {capacity!r}", field="capacity")
        self.capacity = capacity
        self._t: list[float] = []
        self._c: list[float] = []
        self._lock = threading.Lock()

    def add(self, t_s: float, cumulative_j: float) -> None:
        """Append one reading; an older or equal timestamp is ignored (already known)."""
        with self._lock:
            if self._t and t_s <= self._t[-1]:
                return
            if self._c and cumulative_j < self._c[-1]:
                raise SensorError(
                    f"cumulative energy went backwards ({self._c[-1]} J -> "
                    f"{cumulative_j} J at t={t_s}): unwrap or reset the counter"
                )
            self._t.append(t_s)
            self._c.append(cumulative_j)
            if len(self._t) > self.capacity:
                del self._t[: len(self._t) - self.capacity]
                del self._c[: len(self._c) - self.capacity]

    def latest_t(self) -> float | None:
        with self._lock:
            return self._t[-1] if self._t else None

    def first_t(self) -> float | None:
        with self._lock:
            return self._t[0] if self._t else None

    def recent_power_w(self) -> float | None:
        """Mean power over the two newest readings [W]; None before two readings."""
        with self._lock:
            if len(self._t) < 2:
                return None
            return (self._c[-1] - self._c[-2]) / (self._t[-1] - self._t[-2])

    def window(self, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Readings over ``[start_s, end_s]`` with both ends interpolated (linear between
        readings); the caller keeps both ends inside the log's span."""
        with self._lock:
            i = bisect.bisect_right(self._t, start_s)
            j = bisect.bisect_left(self._t, end_s)
            t = np.asarray(self._t[max(0, i - 1) : j + 1], dtype=np.float64)
            c = np.asarray(self._c[max(0, i - 1) : j + 1], dtype=np.float64)
        inner = (t > start_s) & (t < end_s)
        ends = np.interp([start_s, end_s], t, c)
        return (
            np.concatenate(([start_s], t[inner], [end_s])),
            np.concatenate(([ends[0]], c[inner], [ends[1]])),
        )


class SensorPoller:
    """One daemon thread filling a :class:`ReadingsLog` every ``period_s``.

    An :class:`EnergySource` is read and stamped with the wall clock (midpoint of the read);
    a :class:`TimedReadings` source is asked for the readings since the newest one held.  A
    read error is counted (``errors``) and kept (``last_error``), never turned into a zero.
    """

    def __init__(
        self,
        source: EnergySource | TimedReadings,
        log: ReadingsLog,
        *,
        period_s: float = 1.0,
        clock: EpochClockS = time.time,
        lookback_s: float = 300.0,
    ) -> None:
        if not period_s > 0:
            raise InputError(f"must be > 0 s, got {period_s!r}", field="period_s")
        self.source = source
        self.log = log
        self.period_s = float(period_s)
        self.clock = clock
        self.lookback_s = lookback_s
        self.errors = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="infercarbon-proxy-sensor", daemon=True
        )

    def poll_once(self) -> None:
        """One poll (the thread's body; tests call it directly)."""
        try:
            if isinstance(self.source, TimedReadings):
                now = self.clock()
                since = self.log.latest_t()
                t, c = self.source.readings_between(
                    since if since is not None else now - self.lookback_s, now
                )
                for ti, ci in zip(t, c, strict=True):
                    self.log.add(ti, ci)
            else:
                t0 = self.clock()
                e = self.source.read_energy_j()
                self.log.add(0.5 * (t0 + self.clock()), e)
        except SensorError as exc:
            self.errors += 1
            self.last_error = str(exc)

    def start(self) -> SensorPoller:
        self.poll_once()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.poll_once()


# ------------------------------------------------------------------------------ accounting
@dataclass(frozen=True)
class LlmServing:
    """What the LLM estimator needs when nothing is measured: model size and hardware."""

    params_b: float
    gpu: str
    gpus: int = 1
    active_params_b: float | None = None
    precision: str = "bf16"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.params_b) and self.params_b > 0):
            raise InputError(
                f"must be > 0 billion parameters, got {self.params_b!r}", field="model_params_b"
            )
        if self.gpus < 1:
            raise InputError(f"must be >= 1, got {self.gpus!r}", field="gpus")


class RequestAccountant:
    """Turns :class:`RequestRecord` s into ledger events with energy (see the module doc).

    Parameters
    ----------
    labels : dict
        ``service``, ``region``, ``device`` of every event.
    log : ReadingsLog, optional
        Measured device energy; exactly one of ``log`` (with ``source_name``/``method``/
        ``label`` of the sensor) and ``llm`` is given.
    llm : LlmServing, optional
        The estimator's inputs when nothing is measured.
    max_hold_s : float
        Longest a finished request waits for a reading after its end [s]; after that it is
        emitted with the energy attributed so far and a note in its method
        (``stats["held_too_long"]``).
    """

    def __init__(
        self,
        labels: dict[str, str],
        *,
        log: ReadingsLog | None = None,
        sensor: tuple[str, str, str] | None = None,
        llm: LlmServing | None = None,
        max_hold_s: float = 120.0,
        clock: EpochClockS = time.time,
    ) -> None:
        if (log is None) == (llm is None):
            raise ConfigurationError(
                "give a sensor's readings log or the LLM estimator's "
                "inputs (--gpu, --model-params-b), exactly one"
            )
        if log is not None and sensor is None:
            raise ConfigurationError("a readings log needs the sensor's (name, method, label)")
        self.labels = labels
        self.log = log
        self.llm = llm
        self.max_hold_s = max_hold_s
        self.clock = clock
        if sensor is not None:
            name, method, label = sensor
            self.band = energy_band(f"{name}:{method}")
            self.method = f"proxy-tokens-time: {name}:{method} ({label})"
        else:
            self.band = energy_band("modelled")
            self.method = "proxy-llm-estimator: llm-estimator:modelled (modelled)"
        self._lock = threading.Lock()
        self._open: dict[str, RequestRecord] = {}  # started, not yet emitted
        self._cut: float | None = None
        self.stats: dict[str, float] = {
            "windows": 0,
            "attributed_j": 0.0,
            "unattributed_idle_j": 0.0,
            "emitted": 0,
            "held_too_long": 0,
            "dropped_unmeasured": 0,
        }

    # -- request side (the proxy's event loop) -------------------------------------------
    def start(self, rec: RequestRecord) -> None:
        with self._lock:
            self._open[rec.event_id] = rec

    def discard(self, rec: RequestRecord) -> None:
        """Forget a request that ran no inference (the upstream was not reached)."""
        with self._lock:
            self._open.pop(rec.event_id, None)

    def inflight(self) -> int:
        with self._lock:
            return sum(1 for r in self._open.values() if math.isnan(r.end_s))

    # -- background side ------------------------------------------------------------------
    def tick(self) -> list[dict[str, Any]]:
        """Attribute what can be attributed now; the events of the requests now complete."""
        if self.llm is not None:
            return self._tick_modelled()
        return self._tick_measured()

    def _tick_measured(self) -> list[dict[str, Any]]:
        assert self.log is not None
        latest = self.log.latest_t()
        if latest is None:  # no reading yet: nothing can be measured; do not hold forever
            now = self.clock()
            with self._lock:
                stale = [
                    k
                    for k, r in self._open.items()
                    if not math.isnan(r.end_s) and now - r.end_s > self.max_hold_s
                ]
                for k in stale:
                    del self._open[k]
            self.stats["dropped_unmeasured"] += len(stale)
            return []
        if self._cut is None:
            first = self.log.first_t()
            self._cut = first if first is not None else latest
        with self._lock:
            recs = list(self._open.values())
        a, b = self._cut, latest
        if b > a and recs:
            live = [r for r in recs if r.start_s < b and (math.isnan(r.end_s) or r.end_s > a)]
            if live:
                t, c = self.log.window(a, b)
                start = np.fromiter((r.start_s for r in live), np.float64, len(live))
                end = np.fromiter(
                    (b if math.isnan(r.end_s) else min(r.end_s, b) for r in live),
                    np.float64,
                    len(live),
                )
                start = np.clip(start, a, b)
                w = np.fromiter((r.weight for r in live), np.int64, len(live))
                res = attribute(
                    t, cumulative_j=c, start_s=start, end_s=end, weight=w, idle_policy="none"
                )
                for r, e in zip(live, res.active_j.tolist(), strict=True):
                    r.energy_j += e
                self.stats["attributed_j"] += float(res.active_j.sum())
                self.stats["unattributed_idle_j"] += res.unattributed_idle_j
            else:
                t, c = self.log.window(a, b)
                self.stats["unattributed_idle_j"] += float(c[-1] - c[0])
            self.stats["windows"] += 1
        elif b > a:
            t, c = self.log.window(a, b)
            self.stats["unattributed_idle_j"] += float(c[-1] - c[0])
        self._cut = max(a, b)
        now = self.clock()
        done = [
            r
            for r in recs
            if not math.isnan(r.end_s) and (r.end_s <= self._cut or now - r.end_s > self.max_hold_s)
        ]
        late = {r.event_id for r in done if r.end_s > self._cut}
        self.stats["held_too_long"] += len(late)
        return self._emit(done, late)

    def _tick_modelled(self) -> list[dict[str, Any]]:
        assert self.llm is not None
        with self._lock:
            done = [r for r in self._open.values() if not math.isnan(r.end_s)]
        if not done:
            return []
        llm = self.llm
        out = np.fromiter((max(1, r.tokens_out or 0) for r in done), np.float64, len(done))
        inp = np.fromiter((r.tokens_in or 0 for r in done), np.float64, len(done))
        batch = np.fromiter((max(1, r.concurrency) for r in done), np.float64, len(done))
        est = estimate_llm_arrays(
            llm.params_b,
            llm.active_params_b or llm.params_b,
            llm.gpu,
            llm.gpus,
            batch,
            out,
            inp,
            llm.precision,
        )
        for r, e in zip(done, est.gpu_energy_j.tolist(), strict=True):
            r.energy_j = e
        lo = (est.gpu_energy_low_j / np.maximum(est.gpu_energy_j, 1e-300)).tolist()
        hi = (est.gpu_energy_high_j / np.maximum(est.gpu_energy_j, 1e-300)).tolist()
        return self._emit(done, set(), bands=(lo, hi))

    def _emit(
        self,
        done: Sequence[RequestRecord],
        late: set[str],
        bands: tuple[list[float], list[float]] | None = None,
    ) -> list[dict[str, Any]]:
        if not done:
            return []
        with self._lock:
            for r in done:
                self._open.pop(r.event_id, None)
        events = []
        for k, r in enumerate(done):
            lo_f, hi_f = (
                (bands[0][k], bands[1][k])
                if bands is not None
                else (self.band.low_frac, self.band.high_frac)
            )
            method = f"{self.method}; tokens: {r.token_source}"
            if r.event_id in late:
                method += "; no reading after the request's end within max_hold_s"
            ev: dict[str, Any] = {
                "event_id": r.event_id,
                **self.labels,
                "tenant": r.tenant,
                "model": r.model,
                "start_utc": _iso(r.start_s),
                "end_utc": _iso(r.end_s),
                "energy_j": r.energy_j,
                "energy_low_j": r.energy_j * lo_f,
                "energy_high_j": r.energy_j * hi_f,
                "attribution_method": method,
                "payload_bytes": r.payload_bytes,
                "outcome": r.outcome,
            }
            if r.tokens_in is not None:
                ev["tokens_in"] = r.tokens_in
            if r.tokens_out is not None:
                ev["tokens_out"] = r.tokens_out
            if r.trace_id is not None:
                ev["trace_id"] = r.trace_id
                if r.parent_span_id is not None:
                    ev["parent_span_id"] = r.parent_span_id
            events.append(ev)
        self.stats["emitted"] += len(events)
        return events


class EventRecorder:
    """One daemon thread: every ``period_s`` ``accountant.tick()`` and hand the events to
    ``sink`` (errors are counted and kept in ``last_error``; the events are then lost, and
    ``stats["lost"]`` says how many)."""

    def __init__(
        self,
        accountant: RequestAccountant,
        sink: Callable[[list[dict[str, Any]]], None],
        *,
        period_s: float = 0.5,
    ) -> None:
        self.accountant = accountant
        self.sink = sink
        self.period_s = period_s
        self.stats: dict[str, int] = {"recorded": 0, "lost": 0, "errors": 0}
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name="infercarbon-proxy-recorder", daemon=True
        )

    def flush(self) -> int:
        """One tick now; the number of events handed to the sink."""
        from infercarbon.errors import InfercarbonError

        with self._lock:
            try:
                events = self.accountant.tick()
            except InfercarbonError as exc:
                self.stats["errors"] += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                return 0
            if not events:
                return 0
            try:
                self.sink(events)
            except InfercarbonError as exc:
                self.stats["errors"] += 1
                self.stats["lost"] += len(events)
                self.last_error = f"{type(exc).__name__}: {exc}"
                return 0
            self.stats["recorded"] += len(events)
            return len(events)

    def start(self) -> EventRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10.0)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.flush()


def _iso(t: float) -> str:
    import datetime as dt

    return format_utc(dt.datetime.fromtimestamp(t, tz=dt.UTC))
