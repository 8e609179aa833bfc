"""Replay source: a recorded trace played back against an injected clock (a test double).

A trace is either cumulative energy ``(t_s, energy_j)`` or power ``(t_s, power_w)``; the
time axis is seconds since the start of the recording.  The source's origin is the clock's
value when it is constructed (or ``origin_ns``); a read at clock time ``t`` returns the
trace's cumulative energy at ``t - origin``, linearly interpolated between recorded points.
A power trace is integrated with the trapezoidal rule at its points.  Reading before the
trace starts or after it ends raises :class:`SensorError`: there is no silent extrapolation.

CSV files have a header and the columns ``t_s`` and either ``energy_j`` or ``power_w``.

>>> now = [0]
>>> src = ReplaySource.from_power([0.0, 1.0, 2.0], [10.0, 10.0, 30.0], clock=lambda: now[0])
>>> now[0] = 2_000_000_000
>>> src.read_energy_j()
30.0
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.errors import InputError, ParseError, SensorError
from infercarbon.telemetry.base import ACCURACY_CLASSES, default_clock
from infercarbon.timeutil import MonotonicClockNs
from infercarbon.units import NS_PER_S

__all__ = ["ReplaySource", "load_trace_csv"]


def _check_trace(t_s: npt.NDArray[np.float64], values: npt.NDArray[np.float64], what: str) -> None:
    if t_s.ndim != 1 or values.shape != t_s.shape:
        raise InputError(f"t_s and {what} must be 1-D and of equal length", field=what)
    if len(t_s) < 2:
        raise InputError("a trace needs at least two points", field="t_s")
    if not (np.all(np.isfinite(t_s)) and np.all(np.isfinite(values))):
        raise InputError("trace contains NaN or infinite values", field=what)
    if np.any(np.diff(t_s) <= 0):
        raise InputError("times must be strictly increasing", field="t_s")
    if what == "energy_j" and np.any(np.diff(values) < 0):
        raise InputError("cumulative energy must be non-decreasing", field="energy_j")
    if what == "power_w" and np.any(values < 0):
        raise InputError("power must be >= 0", field="power_w")


class ReplaySource:
    """Play back a recorded cumulative-energy trace.

    Parameters
    ----------
    t_s : sequence of float
        Times since the start of the recording [s], strictly increasing.
    energy_j : sequence of float
        Cumulative energy at those times [J], non-decreasing.
    clock : callable returning int [ns]
    origin_ns : int, optional
        Clock value that corresponds to ``t_s = 0``; default: the clock at construction.
    label, method : str
        Provenance of the recording (default ``measured`` / ``measured-counter``).
    trace_source : str
        Where the trace came from (a file name, a device); shown by :meth:`describe`.
    """

    name = "replay"
    needs_polling = False

    def __init__(
        self,
        t_s: Sequence[float] | npt.NDArray[np.float64],
        energy_j: Sequence[float] | npt.NDArray[np.float64],
        *,
        clock: MonotonicClockNs = default_clock,
        origin_ns: int | None = None,
        label: str = "measured",
        method: str = "measured-counter",
        trace_source: str = "in-memory trace",
    ) -> None:
        t = np.asarray(t_s, dtype=np.float64)
        e = np.asarray(energy_j, dtype=np.float64)
        _check_trace(t, e, "energy_j")
        if label not in ("measured", "modelled", "illustrative"):
            raise InputError(
                f"must be measured, modelled or illustrative, got {label!r}", field="label"
            )
        if method not in ACCURACY_CLASSES:
            raise InputError(f"must be one of {', '.join(ACCURACY_CLASSES)}", field="method")
        self._t_s, self._e_j = t, e
        self.clock = clock
        self.origin_ns = int(clock()) if origin_ns is None else int(origin_ns)
        self.label = label
        self.method = method
        self.accuracy_class = f"replay of {ACCURACY_CLASSES[method]}"
        self.trace_source = trace_source
        self._closed = False

    @classmethod
    def from_power(
        cls,
        t_s: Sequence[float] | npt.NDArray[np.float64],
        power_w: Sequence[float] | npt.NDArray[np.float64],
        **kwargs: Any,
    ) -> ReplaySource:
        """A replay of a power trace, integrated with the trapezoidal rule."""
        t = np.asarray(t_s, dtype=np.float64)
        p = np.asarray(power_w, dtype=np.float64)
        _check_trace(t, p, "power_w")
        e = np.concatenate(([0.0], np.cumsum(np.diff(t) * (p[1:] + p[:-1]) / 2.0)))
        kwargs.setdefault("method", "measured-power-polling")
        return cls(t, e, **kwargs)

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: Any) -> ReplaySource:
        """Load a ``t_s,energy_j`` or ``t_s,power_w`` CSV (see :func:`load_trace_csv`)."""
        column, t, v = load_trace_csv(path)
        kwargs.setdefault("trace_source", str(path))
        if column == "power_w":
            return cls.from_power(t, v, **kwargs)
        return cls(t, v, **kwargs)

    @property
    def duration_s(self) -> float:
        return float(self._t_s[-1] - self._t_s[0])

    def read_energy_j(self) -> float:
        if self._closed:
            raise SensorError("replay source is closed")
        t = (int(self.clock()) - self.origin_ns) / NS_PER_S
        if t < self._t_s[0] or t > self._t_s[-1]:
            raise SensorError(
                f"replay trace {self.trace_source} covers t = {self._t_s[0]:g} .. "
                f"{self._t_s[-1]:g} s; read at t = {t:g} s is outside it"
            )
        return float(np.interp(t, self._t_s, self._e_j))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "accuracy_class": self.accuracy_class,
            "label": self.label,
            "devices": [self.trace_source],
            "model": "linear interpolation of the recorded cumulative energy",
            "points": len(self._t_s),
            "duration_s": self.duration_s,
            "caveats": ["a recorded trace, not a live sensor"],
        }

    def close(self) -> None:
        self._closed = True


def load_trace_csv(
    path: str | Path,
) -> tuple[str, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Read a trace CSV; return ``(column, t_s, values)`` with column ``energy_j`|``power_w``.

    Raises
    ------
    ParseError
        Missing columns or a non-numeric cell (names file, row and column).
    """
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise ParseError(f"cannot read trace: {exc.strerror}", path=str(p)) from exc
    if not rows:
        raise ParseError("empty file; expected a header t_s,energy_j or t_s,power_w", path=str(p))
    header = [h.strip() for h in rows[0]]
    if "t_s" not in header:
        raise ParseError("header lacks column t_s", path=str(p), row=1, column="t_s")
    column = next((c for c in ("energy_j", "power_w") if c in header), None)
    if column is None:
        raise ParseError(
            "header needs a column energy_j or power_w", path=str(p), row=1, column="energy_j"
        )
    it, iv = header.index("t_s"), header.index(column)
    t_list: list[float] = []
    v_list: list[float] = []
    for rownum, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        for idx, name, out in ((it, "t_s", t_list), (iv, column, v_list)):
            try:
                value = float(row[idx])
            except (IndexError, ValueError) as exc:
                cell = row[idx] if idx < len(row) else ""
                raise ParseError(
                    f"{cell!r} is not a number", path=str(p), row=rownum, column=name
                ) from exc
            if not math.isfinite(value):
                raise ParseError(f"{value!r} is not finite", path=str(p), row=rownum, column=name)
            out.append(value)
    return column, np.asarray(t_list, dtype=np.float64), np.asarray(v_list, dtype=np.float64)
