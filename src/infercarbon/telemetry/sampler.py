"""Sampler: (t_ns, cumulative_j) readings of one energy source in a bounded ring buffer.

Two modes:

``"thread"``
    One background daemon thread reads the source every ``period_s``.  Required for
    power-polling sources (``needs_polling``: the source integrates power between reads, so it
    must be read periodically) and useful for counters that wrap (RAPL) or when the
    attribution wants a time series finer than the event boundaries.
``"boundary"``
    No thread.  The caller calls :meth:`Sampler.sample` at event boundaries (counter sources
    only: NVML total energy, RAPL, amd_energy, the CPU model, replay, constant).

Memory is bounded: readings go into a preallocated ring buffer of ``capacity`` entries; when
it is full the oldest reading is overwritten and :attr:`Sampler.dropped` counts it.
Timestamps come from the injected ``clock`` (integer nanoseconds); the thread's sleeping uses
real time.  A read error in the thread is kept and re-raised (as :class:`SensorError`) by the
next :meth:`readings`, :meth:`sample` or :meth:`stop`; it is never swallowed.

>>> from infercarbon.telemetry.replay import ReplaySource
>>> now = [0]
>>> clock = lambda: now[0]
>>> src = ReplaySource.from_power([0.0, 10.0], [5.0, 5.0], clock=clock)
>>> s = Sampler(src, clock=clock, mode="boundary", capacity=4)
>>> _ = s.sample(); now[0] = 2_000_000_000; _ = s.sample()
>>> t, e = s.readings()
>>> t.tolist(), e.tolist()
([0, 2000000000], [0.0, 10.0])
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Literal

import numpy as np
import numpy.typing as npt

from infercarbon.errors import ConfigurationError, InputError, SensorError
from infercarbon.telemetry.base import EnergySource, default_clock
from infercarbon.timeutil import MonotonicClockNs

__all__ = ["Sampler", "SamplerMode"]

SamplerMode = Literal["thread", "boundary"]


class Sampler:
    """Bounded (t_ns, cumulative_j) readings of one :class:`EnergySource`.

    Parameters
    ----------
    source : EnergySource
        What to read.
    clock : callable returning int, optional
        Timestamps [ns]; default :func:`time.monotonic_ns`.  Use the same clock as the events
        that will be attributed.
    period_s : float
        Sampling period in thread mode [s] (> 0).
    capacity : int
        Ring-buffer size (>= 2 readings).
    mode : {"thread", "boundary"}
        See the module docstring.  ``"boundary"`` is refused for power-polling sources.
    """

    def __init__(
        self,
        source: EnergySource,
        *,
        clock: MonotonicClockNs = default_clock,
        period_s: float = 0.1,
        capacity: int = 65_536,
        mode: SamplerMode = "thread",
    ) -> None:
        if not period_s > 0:
            raise InputError(f"must be > 0 s, got {period_s!r}", field="period_s")
        if capacity < 2:
            raise InputError(f"must be >= 2 readings, got {capacity!r}", field="capacity")
        if mode not in ("thread", "boundary"):
            raise InputError(f"must be 'thread' or 'boundary', got {mode!r}", field="mode")
        if mode == "boundary" and source.needs_polling:
            raise ConfigurationError(
                f"source {source.name!r} integrates polled power and must be read periodically; "
                "use mode='thread'"
            )
        self.source = source
        self.clock = clock
        self.period_s = float(period_s)
        self.capacity = int(capacity)
        self.mode: SamplerMode = mode
        self._t_ns = np.zeros(self.capacity, dtype=np.int64)
        self._e_j = np.zeros(self.capacity, dtype=np.float64)
        self._written = 0  # total readings ever written
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: SensorError | None = None
        self._active = False

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def count(self) -> int:
        """Readings currently held (<= capacity)."""
        return min(self._written, self.capacity)

    @property
    def dropped(self) -> int:
        """Readings overwritten because the ring buffer was full."""
        return max(0, self._written - self.capacity)

    # --------------------------------------------------------------- reading
    def sample(self) -> tuple[int, float]:
        """Read the source now, store and return ``(t_ns, cumulative_j)``."""
        self._raise_pending()
        with self._lock:
            # under the lock so stored readings are time-ordered; the timestamp is the
            # midpoint of the clock before and after the read
            t0_ns = int(self.clock())
            energy_j = float(self.source.read_energy_j())
            t_ns = (t0_ns + int(self.clock())) // 2
            i = self._written % self.capacity
            self._t_ns[i] = t_ns
            self._e_j[i] = energy_j
            self._written += 1
        return t_ns, energy_j

    def readings(
        self, start_ns: int | None = None, end_ns: int | None = None, *, strict: bool = False
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Readings covering ``[start_ns, end_ns]``, oldest first (copies).

        The result includes the last reading at or before ``start_ns`` and the first at or
        after ``end_ns`` when they are held, so the window is bracketed for interpolation.

        Parameters
        ----------
        start_ns, end_ns : int, optional
            Window bounds [ns, sampler clock]; ``None`` means unbounded.
        strict : bool
            Raise :class:`SensorError` when the held readings do not bracket the window
            (e.g. the ring buffer already overwrote its start).

        Returns
        -------
        t_ns : ndarray of int64
        cumulative_j : ndarray of float64
        """
        self._raise_pending()
        with self._lock:
            n = self.count
            start = self._written - n
            idx = (np.arange(start, self._written) % self.capacity) if n else np.empty(0, int)
            t = self._t_ns[idx].copy()
            e = self._e_j[idx].copy()
        lo, hi = 0, len(t)
        if start_ns is not None:
            lo = max(0, int(np.searchsorted(t, start_ns, side="right")) - 1)
        if end_ns is not None:
            hi = min(len(t), int(np.searchsorted(t, end_ns, side="left")) + 1)
        t, e = t[lo:hi], e[lo:hi]
        if strict:
            ok = len(t) >= 2 or (len(t) == 1 and start_ns == end_ns)
            if ok and start_ns is not None:
                ok = bool(t[0] <= start_ns)
            if ok and end_ns is not None:
                ok = bool(t[-1] >= end_ns)
            if not ok:
                held = f"[{t[0]}, {t[-1]}]" if len(t) else "none"
                raise SensorError(
                    f"sampler readings {held} do not bracket the window "
                    f"[{start_ns}, {end_ns}] ns (capacity {self.capacity}, "
                    f"dropped {self.dropped}); sample more often or enlarge the buffer"
                )
        return t, e

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Sampler:
        """Take a first reading; in thread mode start the one background thread."""
        if self.running:
            raise ConfigurationError("sampler already running")
        self._stop.clear()
        self.sample()
        self._active = True
        if self.mode == "thread":
            self._thread = threading.Thread(
                target=self._run, name=f"infercarbon-sampler-{self.source.name}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and take a last reading; re-raise a thread error.  Idempotent."""
        if not self._active:
            return
        self._active = False
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join()
        self._raise_pending()
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.sample()
            except SensorError as exc:
                self._error = exc
                return

    def _raise_pending(self) -> None:
        err, self._error = self._error, None
        if err is not None:
            raise SensorError(f"sampler thread stopped: {err}") from err

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
