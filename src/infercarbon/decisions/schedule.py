"""Carbon-aware scheduling: the start window(s) of deferrable work that minimise emissions.

A job uses ``energy_kwh`` spread evenly over ``duration``; it may start at ``earliest`` and must
end by ``deadline``.  Its emissions for a start ``s`` are ``energy_kwh x mean intensity over
[s, s + duration)`` (the time-weighted mean of the step signal, which is the energy-weighted
mean at constant power).  The signal over the window comes from
:func:`infercarbon.decisions.signals.window_signal` (forecast, bundled hours, or the hour x
season profile, and it says which).

One chunk: the mean over a sliding window of a step series is piecewise linear in the start,
so its minimum lies at a start or an end aligned with a step boundary, or at ``earliest`` or
``deadline - duration``; those candidates are evaluated at once
(:meth:`~infercarbon.grid.signal.IntensitySeries.integrate` over arrays) and the lowest is
chosen (ties: the earliest start).

``chunks = N > 1``: the job may be split into N equal, non-overlapping pieces (``energy/N``
over ``duration/N`` each), starting on the grid ``earliest + k x step``.  The exact optimum is a
dynamic programme whose every level is one ``numpy.minimum.accumulate`` over the candidate
starts.

Ranges.  ``low_g``/``high_g`` are the energy times the window's mean low/high intensity.  The
saving's range: when every step comes from one bundled series (one set of fuel factors, whose
errors are the same in every hour), both sides are evaluated at the same bound and the
extremes taken; otherwise (forecast, profile) the worst case
``[baseline_low - chosen_high, baseline_high - chosen_low]``.

>>> import numpy as np
>>> r = schedule(ScheduleRequest(region="ERCOT", energy_kwh=10.0, duration_s=7200,
...     earliest_utc=np.datetime64("2021-07-15T12:00"),
...     deadline_utc=np.datetime64("2021-07-16T12:00"), signal="location"))
>>> r.saving_g == r.baseline_emissions_g - r.emissions_g
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.decisions.signals import (
    SIGNALS,
    Signal,
    WindowSignal,
    as_time,
    window_signal,
)
from infercarbon.errors import InputError
from infercarbon.grid.signal import Basis, IntensitySeries
from infercarbon.timeutil import parse_utc
from infercarbon.units import NS_PER_S

__all__ = [
    "ScheduleRequest",
    "ScheduleResult",
    "Window",
    "best_chunks",
    "best_start",
    "parse_duration_s",
    "parse_utc64",
    "schedule",
]

_S = np.timedelta64(1, "s")


@dataclass(frozen=True)
class ScheduleRequest:
    """A deferrable job (times are UTC ``datetime64``)."""

    region: str
    energy_kwh: float
    duration_s: float
    earliest_utc: np.datetime64
    deadline_utc: np.datetime64
    signal: Signal = "marginal"
    chunks: int = 1
    basis: Basis = "lifecycle"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.energy_kwh) and self.energy_kwh > 0):
            raise InputError(f"{self.energy_kwh!r} must be > 0 kWh", field="energy_kwh")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise InputError(f"{self.duration_s!r} must be > 0 s (e.g. 2h)", field="duration")
        if self.signal not in SIGNALS:
            raise InputError(
                f"must be one of {', '.join(SIGNALS)}, got {self.signal!r}", field="signal"
            )
        if not 1 <= self.chunks <= 48:
            raise InputError(f"{self.chunks!r} must be between 1 and 48", field="chunks")
        span = as_time(self.deadline_utc) - as_time(self.earliest_utc)
        if span < np.timedelta64(round(self.duration_s * NS_PER_S), "ns"):
            raise InputError(
                "the job does not fit: deadline - earliest is shorter than the duration",
                field="deadline",
            )


@dataclass(frozen=True)
class Window:
    """One run window and its emissions [g] (with the range)."""

    start_utc: np.datetime64
    end_utc: np.datetime64
    energy_kwh: float
    mean_g_per_kwh: float
    emissions_g: float
    low_g: float
    high_g: float


@dataclass(frozen=True)
class ScheduleResult:
    """The chosen window(s), the baseline (start at ``earliest``) and the saving."""

    request: ScheduleRequest
    windows: tuple[Window, ...]
    baseline: Window
    emissions_g: float
    low_g: float
    high_g: float
    saving_g: float
    saving_low_g: float
    saving_high_g: float
    source: str
    step_sources: dict[str, int]
    candidates: int
    notes: tuple[str, ...] = field(default=())

    @property
    def baseline_emissions_g(self) -> float:
        return self.baseline.emissions_g

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``infercarbon schedule --json`` and ``POST /v1/schedule``."""

        def iso(t: np.datetime64) -> str:
            return str(as_time(t, "s")) + "Z"

        def win(w: Window) -> dict[str, Any]:
            return {
                "start_utc": iso(w.start_utc),
                "end_utc": iso(w.end_utc),
                "energy_kwh": w.energy_kwh,
                "mean_intensity_g_per_kwh": w.mean_g_per_kwh,
                "emissions_g": w.emissions_g,
                "low_g": w.low_g,
                "high_g": w.high_g,
            }

        r = self.request
        return {
            "region": r.region,
            "signal": r.signal,
            "basis": r.basis,
            "source": self.source,
            "step_sources": self.step_sources,
            "start_utc": iso(self.windows[0].start_utc),
            "end_utc": iso(self.windows[-1].end_utc),
            "emissions_g": self.emissions_g,
            "low_g": self.low_g,
            "high_g": self.high_g,
            "mean_intensity_g_per_kwh": self.emissions_g / r.energy_kwh,
            "baseline_start_utc": iso(self.baseline.start_utc),
            "baseline_emissions_g": self.baseline.emissions_g,
            "baseline_low_g": self.baseline.low_g,
            "baseline_high_g": self.baseline.high_g,
            "saving_g": self.saving_g,
            "saving_low_g": self.saving_low_g,
            "saving_high_g": self.saving_high_g,
            "saving_frac": self.saving_g / self.baseline.emissions_g
            if self.baseline.emissions_g > 0
            else None,
            "energy_kwh": r.energy_kwh,
            "duration_s": r.duration_s,
            "chunks": r.chunks,
            "earliest_utc": iso(r.earliest_utc),
            "deadline_utc": iso(r.deadline_utc),
            "windows": [win(w) for w in self.windows],
            "candidates": self.candidates,
            "label": "modelled",
            "notes": list(self.notes),
        }


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration_s(text: str | float, *, field: str = "duration") -> float:
    """``2h``, ``90m``, ``1.5h``, ``3600s``, ``1d`` or a number of seconds -> seconds.

    >>> parse_duration_s("2h"), parse_duration_s("90m"), parse_duration_s(30)
    (7200.0, 5400.0, 30.0)
    """
    m = _DURATION.match(str(text))
    if m is None:
        raise InputError(
            f"{text!r} is not a duration: use a number and s, m, h or d, e.g. 2h or 90m",
            field=field,
        )
    v = float(m.group(1)) * _UNIT_S[(m.group(2) or "s").lower()]
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"{text!r} must be a positive duration", field=field)
    return v


def parse_utc64(text: str, *, field: str) -> np.datetime64:
    """An ISO 8601 UTC time (``2021-07-15T12:00Z``, ``2021-07-15 12:00``, an offset of +00:00,
    or a date) -> ``datetime64[s]``: :func:`infercarbon.timeutil.parse_utc`, naive read as UTC.

    >>> str(parse_utc64("2021-07-15T12:00Z", field="earliest"))
    '2021-07-15T12:00:00'
    """
    dt = parse_utc(str(text), field=field, naive_is_utc=True)
    return np.datetime64(dt.replace(tzinfo=None), "s")


def _ns(x: float) -> np.timedelta64:
    return np.timedelta64(round(x * NS_PER_S), "ns")


def best_start(
    series: IntensitySeries,
    earliest_utc: np.datetime64,
    deadline_utc: np.datetime64,
    duration_s: float,
) -> tuple[np.datetime64, float, int]:
    """(start, mean intensity [g/kWh], number of candidates) of the lowest-mean window of
    ``duration_s`` inside ``[earliest, deadline]`` on a step series (exact; see the module)."""
    a = as_time(earliest_utc)
    last = as_time(deadline_utc) - _ns(duration_s)
    if last < a:
        raise InputError("the job does not fit between earliest and deadline", field="deadline")
    bounds = series.start_utc
    if series.resolution_s is not None:
        bounds = np.concatenate([bounds, [series.end_utc]])
    cand = np.concatenate([[a, last], bounds, bounds - _ns(duration_s)])
    cand = np.unique(cand[(cand >= a) & (cand <= last)])
    means = series.integrate(cand, cand + _ns(duration_s))
    i = int(np.argmin(means))
    return cand[i], float(means[i]), len(cand)


def best_chunks(cost: FloatArray, n: int, gap: int) -> npt.NDArray[np.intp]:
    """Indices of ``n`` candidates, each at least ``gap`` apart, with the least total cost.

    Exact dynamic programme: level ``k`` is ``best_k[i] = min_{j <= i} (best_{k-1}[j - gap] +
    cost[j])``, one cumulative minimum per level; ties go to the earliest index.

    >>> best_chunks(np.array([5.0, 1.0, 1.0, 9.0, 0.5]), 2, 2).tolist()
    [1, 4]
    """
    c = np.asarray(cost, dtype=np.float64)
    m = len(c)
    if n < 1 or gap < 1:
        raise InputError("need n >= 1 and gap >= 1", field="chunks")
    if (n - 1) * gap + 1 > m:
        raise InputError(f"{n} chunks do not fit in the window", field="chunks")
    idx = np.arange(m)
    args: list[npt.NDArray[np.intp]] = []
    prev: FloatArray | None = None
    for _ in range(n):
        if prev is None:
            cand = c.copy()
        else:
            shifted = np.full(m, np.inf)
            shifted[gap:] = prev[:-gap]
            cand = shifted + c
        best = np.minimum.accumulate(cand)
        new = np.empty(m, dtype=bool)
        new[0] = True
        new[1:] = cand[1:] < best[:-1]
        args.append(np.maximum.accumulate(np.where(new, idx, 0)))
        prev = best
    assert prev is not None
    if not np.isfinite(prev[-1]):
        raise InputError(f"{n} chunks do not fit in the window", field="chunks")
    out = []
    i = m - 1
    for level in reversed(args):
        j = int(level[i])
        out.append(j)
        i = j - gap
    return np.array(out[::-1], dtype=np.intp)


def _window(
    series: IntensitySeries, start: np.datetime64, dur: np.timedelta64, energy_kwh: float
) -> Window:
    end = start + dur
    v, lo, hi = (float(series.integrate(start, end, which=w)[0]) for w in ("value", "low", "high"))
    return Window(start, end, energy_kwh, v, energy_kwh * v, energy_kwh * lo, energy_kwh * hi)


def schedule(
    req: ScheduleRequest,
    *,
    forecast: IntensitySeries | None = None,
    forecast_label: str = "forecast",
) -> ScheduleResult:
    """Choose the lowest-emission start(s) of a deferrable job (see the module docstring);
    ``forecast`` (named ``forecast_label`` in ``step_sources``) prices the steps it covers."""
    a = as_time(req.earliest_utc)
    b = as_time(req.deadline_utc)
    ws: WindowSignal = window_signal(
        req.region,
        req.signal,
        a,
        b,
        basis=req.basis,
        forecast=forecast,
        forecast_label=forecast_label,
    )
    s = ws.series
    dur = _ns(req.duration_s)
    notes: list[str] = list(s.provenance.notes)
    if req.chunks == 1:
        start, _, n_cand = best_start(s, a, b, req.duration_s)
        windows: tuple[Window, ...] = (_window(s, start, dur, req.energy_kwh),)
    else:
        step_s = s.resolution_s or 3600
        step = np.timedelta64(step_s, "s")
        piece = _ns(req.duration_s / req.chunks)
        n_steps = int((b - piece - a) // step) + 1
        starts = a + np.arange(max(n_steps, 0)) * step
        if len(starts) == 0:
            raise InputError("no chunk fits between earliest and deadline", field="chunks")
        cost = s.integrate(starts, starts + piece)
        gap = max(1, math.ceil(req.duration_s / req.chunks / step_s - 1e-9))
        pick = best_chunks(cost, req.chunks, gap)
        windows = tuple(_window(s, starts[j], piece, req.energy_kwh / req.chunks) for j in pick)
        n_cand = len(starts)
        notes.append(
            f"split into {req.chunks} chunks of {req.duration_s / req.chunks:g} s "
            f"and {req.energy_kwh / req.chunks:g} kWh, starting on the "
            f"{step_s} s grid from earliest; the job is assumed interruptible"
        )
    base = _window(s, a, dur, req.energy_kwh)
    e = sum(w.emissions_g for w in windows)
    lo = sum(w.low_g for w in windows)
    hi = sum(w.high_g for w in windows)
    saving = base.emissions_g - e
    if set(ws.sources) == {"bundled"}:
        cands = [base.emissions_g - e, base.low_g - lo, base.high_g - hi]
        notes.append(
            "saving range: one bundled series (its factor errors are the same in "
            "every hour), both sides at the same bound"
        )
    else:
        cands = [base.low_g - hi, base.high_g - lo]
        notes.append(
            "saving range: worst case of the two sides' bounds (forecast/profile "
            "errors are not assumed to cancel)"
        )
    if "profile" in ws.sources:
        notes.append(
            f"{ws.sources['profile']} step(s) have no forecast or bundled value: "
            "the historical hour x season profile is used for them"
        )
    return ScheduleResult(
        request=req,
        windows=windows,
        baseline=base,
        emissions_g=e,
        low_g=lo,
        high_g=hi,
        saving_g=saving,
        saving_low_g=min(min(cands), saving),
        saving_high_g=max(max(cands), saving),
        source=ws.describe(),
        step_sources=ws.sources,
        candidates=n_cand,
        notes=tuple(notes),
    )
