"""Grid carbon-intensity signals: one type for annual, hourly and sub-hourly series.

A signal has a region, a kind (``location-average``, ``market`` or ``marginal``), a basis
(``direct`` combustion or ``lifecycle``), a resolution, values with an interval, and
provenance.  It can be looked up at instants or integrated over intervals; an interval that
spans several signal intervals gets the time-weighted mean (which is the energy-weighted
mean when power is constant over the interval, the case for a single inference).

Times are UTC ``numpy.datetime64`` values at second or finer resolution (naive = UTC).

>>> import numpy as np
>>> s = IntensitySeries.from_arrays(
...     region="X", kind="location-average", basis="direct", resolution_s=3600,
...     start_utc=np.array(["2024-01-01T00", "2024-01-01T01"], dtype="datetime64[s]"),
...     intensity_g_per_kwh=np.array([100.0, 300.0]),
...     provenance=SignalProvenance(source="example", version="1", method="doctest"))
>>> float(s.integrate(np.datetime64("2024-01-01T00:30"), np.datetime64("2024-01-01T01:30"))[0])
200.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import InputError
from infercarbon.provenance import Figure
from infercarbon.units import NS_PER_S

__all__ = [
    "BASES",
    "KINDS",
    "Basis",
    "IntensitySeries",
    "Kind",
    "SignalProvenance",
]

Kind = Literal["location-average", "market", "marginal"]
Basis = Literal["direct", "lifecycle"]
KINDS: tuple[str, ...] = get_args(Kind)
BASES: tuple[str, ...] = get_args(Basis)

_NS = np.timedelta64(1, "ns")


@dataclass(frozen=True, slots=True)
class SignalProvenance:
    """Where a signal came from and how it was derived."""

    source: str
    version: str
    method: str
    retrieved_at_utc: str | None = None
    licence: str | None = None
    label: str = "cited"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class IntensitySeries:
    """A step series of carbon intensity [g/kWh] with an interval per step.

    ``start_utc[i]`` is the start of step ``i``; the step lasts ``resolution_s`` seconds
    (``None`` for a single constant value valid at all times, e.g. an annual average).
    Build with :meth:`from_arrays` or :meth:`constant`.
    """

    region: str
    kind: Kind
    basis: Basis
    resolution_s: int | None
    start_utc: TimeArray
    intensity_g_per_kwh: FloatArray
    low_g_per_kwh: FloatArray
    high_g_per_kwh: FloatArray
    provenance: SignalProvenance
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_arrays(
        cls,
        *,
        region: str,
        kind: Kind,
        basis: Basis,
        resolution_s: int | None,
        start_utc: npt.ArrayLike,
        intensity_g_per_kwh: npt.ArrayLike,
        provenance: SignalProvenance,
        low_g_per_kwh: npt.ArrayLike | None = None,
        high_g_per_kwh: npt.ArrayLike | None = None,
        extra: dict[str, np.ndarray] | None = None,
    ) -> IntensitySeries:
        """Validate and build a series (sorted, unique, finite, low <= value <= high)."""
        if kind not in KINDS:
            raise InputError(f"kind must be one of {KINDS}, got {kind!r}", field="kind")
        if basis not in BASES:
            raise InputError(f"basis must be one of {BASES}, got {basis!r}", field="basis")
        t = np.asarray(start_utc, dtype="datetime64[ns]")
        v = np.asarray(intensity_g_per_kwh, dtype=np.float64)
        lo = v.copy() if low_g_per_kwh is None else np.asarray(low_g_per_kwh, dtype=np.float64)
        hi = v.copy() if high_g_per_kwh is None else np.asarray(high_g_per_kwh, dtype=np.float64)
        if not (t.ndim == v.ndim == lo.ndim == hi.ndim == 1) or not (
            len(t) == len(v) == len(lo) == len(hi)
        ):
            raise InputError("times and values must be 1-D arrays of equal length", field="series")
        if len(t) == 0:
            raise InputError("a signal needs at least one value", field="series")
        if resolution_s is None and len(t) != 1:
            raise InputError(
                "a constant signal (resolution None) has exactly one value", field="resolution_s"
            )
        if resolution_s is not None and resolution_s <= 0:
            raise InputError(
                "resolution must be a positive number of seconds", field="resolution_s"
            )
        if np.isnat(t).any():
            raise InputError("times contain NaT", field="start_utc")
        if len(t) > 1 and not (np.diff(t) > np.timedelta64(0, "ns")).all():
            raise InputError(
                "times must be strictly increasing (sorted, no duplicates)", field="start_utc"
            )
        for name, arr in (("intensity_g_per_kwh", v), ("low", lo), ("high", hi)):
            if not np.isfinite(arr).all():
                raise InputError("values must be finite", field=name)
            if (arr < 0).any():
                raise InputError("intensity cannot be negative", field=name)
        if (lo > v + 1e-9).any() or (hi < v - 1e-9).any():
            raise InputError("each interval must satisfy low <= value <= high", field="low/high")
        return cls(region, kind, basis, resolution_s, t, v, lo, hi, provenance, dict(extra or {}))

    @classmethod
    def constant(
        cls, *, region: str, kind: Kind, basis: Basis, figure: Figure, method: str = "annual"
    ) -> IntensitySeries:
        """A time-invariant signal from an annual (or other constant) figure."""
        lo, hi = figure.range
        return cls.from_arrays(
            region=region,
            kind=kind,
            basis=basis,
            resolution_s=None,
            start_utc=np.array(["1970-01-01"], dtype="datetime64[ns]"),
            intensity_g_per_kwh=[figure.value],
            low_g_per_kwh=[lo],
            high_g_per_kwh=[hi],
            provenance=SignalProvenance(
                source=figure.source,
                version=figure.vintage or "",
                method=method,
                licence=figure.licence,
                label=figure.label,
            ),
        )

    # ----------------------------------------------------------------- query
    def __len__(self) -> int:
        return len(self.start_utc)

    @property
    def end_utc(self) -> np.datetime64:
        """End of the last step (exclusive)."""
        if self.resolution_s is None:
            return np.datetime64("2262-01-01", "ns")
        return np.datetime64(self.start_utc[-1] + np.timedelta64(self.resolution_s, "s"))

    def _index(self, t: TimeArray) -> npt.NDArray[np.intp]:
        idx = np.searchsorted(self.start_utc, t, side="right") - 1
        if self.resolution_s is None:
            return np.zeros_like(idx)
        bad = (idx < 0) | (t >= self.end_utc)
        # a series may have holes (intervals dropped for missing data): a time in a hole is
        # outside the signal, not in the step before it
        step = np.timedelta64(self.resolution_s, "s")
        bad |= t >= self.start_utc[np.clip(idx, 0, None)] + step
        if bad.any():
            first = t[np.argmax(bad)]
            raise InputError(
                f"time {first} is outside the signal {self.region} "
                f"[{self.start_utc[0]} .. {self.end_utc})",
                field="time_utc",
            )
        return idx

    def at(self, time_utc: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Value, low and high at each instant (the step containing it)."""
        t = np.atleast_1d(np.asarray(time_utc, dtype="datetime64[ns]"))
        i = self._index(t)
        return self.intensity_g_per_kwh[i], self.low_g_per_kwh[i], self.high_g_per_kwh[i]

    def integrate(
        self, start_utc: npt.ArrayLike, end_utc: npt.ArrayLike, *, which: str = "value"
    ) -> FloatArray:
        """Time-weighted mean intensity over each ``[start, end)`` interval [g/kWh].

        Vectorised over arrays of intervals via a cumulative integral of the step series,
        so an interval spanning many steps costs two binary searches.  A zero-length interval
        gets the value at its start.  ``which`` is ``value``, ``low`` or ``high``.
        """
        arr = {
            "value": self.intensity_g_per_kwh,
            "low": self.low_g_per_kwh,
            "high": self.high_g_per_kwh,
        }.get(which)
        if arr is None:
            raise InputError("which must be value, low or high", field="which")
        a = np.atleast_1d(np.asarray(start_utc, dtype="datetime64[ns]"))
        b = np.atleast_1d(np.asarray(end_utc, dtype="datetime64[ns]"))
        if a.shape != b.shape:
            raise InputError("start and end must have the same shape", field="interval")
        if (b < a).any():
            raise InputError("an interval ends before it starts", field="end_utc")
        if self.resolution_s is None:
            return np.full(a.shape, arr[0])
        ia = self._index(a)
        last = b - _NS  # end is exclusive
        ib = self._index(np.maximum(last, a))
        step_td = np.timedelta64(self.resolution_s, "s")
        holes = self.start_utc[ib] - self.start_utc[ia] != (ib - ia) * step_td
        if holes.any():
            raise InputError(
                f"interval starting {a[np.argmax(holes)]} spans a hole in the signal "
                f"{self.region} (missing data)",
                field="time_utc",
            )
        # cumulative integral of value x time at step boundaries, in value*ns
        step_ns = np.int64(self.resolution_s) * np.int64(NS_PER_S)
        cum = np.concatenate([[0.0], np.cumsum(arr * float(step_ns))])
        t0 = self.start_utc.astype(np.int64)

        def cumulative(t: TimeArray) -> FloatArray:
            ti = t.astype(np.int64)
            i = np.searchsorted(t0, ti, side="right") - 1
            i = np.clip(i, 0, len(arr) - 1)
            return np.asarray(cum[i] + arr[i] * (ti - t0[i]).astype(np.float64))

        dur = (b - a).astype(np.int64).astype(np.float64)
        out = np.empty(a.shape)
        zero = dur == 0
        if zero.any():
            out[zero] = self.at(a[zero])[0] if which == "value" else arr[self._index(a[zero])]
        nz = ~zero
        out[nz] = (cumulative(b[nz]) - cumulative(a[nz])) / dur[nz]
        return out

    def slice(self, start_utc: np.datetime64, end_utc: np.datetime64) -> IntensitySeries:
        """The steps that start in ``[start, end)``."""
        if self.resolution_s is None:
            return self
        a = np.asarray(start_utc, dtype="datetime64[ns]")
        b = np.asarray(end_utc, dtype="datetime64[ns]")
        m = (self.start_utc >= a) & (self.start_utc < b)
        if not m.any():
            raise InputError(
                f"no data for {self.region} in [{start_utc}, {end_utc})", field="period"
            )
        return IntensitySeries(
            self.region,
            self.kind,
            self.basis,
            self.resolution_s,
            self.start_utc[m],
            self.intensity_g_per_kwh[m],
            self.low_g_per_kwh[m],
            self.high_g_per_kwh[m],
            self.provenance,
            {k: v[m] for k, v in self.extra.items()},
        )
