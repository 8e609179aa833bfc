"""The intensity a decision looks at: bundled hours, a forecast, or the hour x season profile.

A schedule or a route needs the intensity of hours that may lie in the past (inside a
bundled operator series), in the future (covered by a provider's forecast, ``grid fetch
--kind forecast``) or neither.  :func:`window_signal` assembles one step series over a window
from, per step, in this order:

1. the forecast (or any series the caller holds: a ledger's stored intervals, the service's
   signals; ``forecast_label`` names it), where it covers the whole step;
2. the bundled series of the region (:mod:`infercarbon.grid.catalogue`, the same series that
   ``grid intensity`` prints), where it covers the step;
3. the region's historical **hour x season profile** (:func:`hour_season_profile`): the mean
   of the bundled series over every year for the same local hour of day and meteorological
   season, with a range from the 5th percentile of the low bound to the 95th percentile of
   the high bound in that bin (day-to-day variability and factor uncertainty together).

The result says which source priced how many steps (``sources``), and a region with neither
a forecast nor a bundled series is an error naming ``--forecast``: a flat annual figure makes
every start equal and would hide that nothing is known about the hours.

>>> import numpy as np
>>> w = window_signal("ERCOT", "location", np.datetime64("2021-07-15T12:00"),
...                   np.datetime64("2021-07-15T15:00"))
>>> w.sources, len(w.series)
({'bundled': 3}, 3)
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import InputError, ParseError
from infercarbon.grid.signal import Basis, IntensitySeries, SignalProvenance

__all__ = [
    "PROFILE_METHOD",
    "PROFILE_TZ",
    "SIGNALS",
    "Signal",
    "WindowSignal",
    "as_time",
    "bundled_series",
    "covered",
    "hour_season_profile",
    "parse_forecast",
    "profile_values",
    "read_forecast",
    "window_signal",
]

Signal = Literal["location", "marginal"]
SIGNALS: tuple[str, ...] = ("location", "marginal")
_NS = np.timedelta64(1, "ns")


def as_time(t: Any, unit: str = "ns") -> np.datetime64:
    """A scalar ``datetime64`` in ``unit`` (from a datetime64, string or datetime)."""
    out: Any = np.asarray(t, dtype=f"datetime64[{unit}]")[()]
    return np.datetime64(out)


#: Time zone of the local hour that the profile of each bundled series is binned by.
PROFILE_TZ: dict[str, str] = {"ERCOT": "America/Chicago"}
PROFILE_METHOD = (
    "historical hour x season profile: mean over the bundled years of the same "
    "local hour of day and meteorological season; range p5 of the low bound .. "
    "p95 of the high bound in the bin"
)


def _region_key(region: str) -> tuple[str, str | None]:
    """(resolved region id, bundled series key or None)."""
    from infercarbon.grid.catalogue import series_key
    from infercarbon.reference.regions import resolve_region

    rid = resolve_region(region).region_id
    return rid, series_key(rid)


def bundled_series(
    region: str, signal: Signal, basis: Basis = "lifecycle"
) -> IntensitySeries | None:
    """The region's bundled hourly series of ``signal`` (None when none is bundled)."""
    from infercarbon.grid import catalogue

    if signal not in SIGNALS:
        raise InputError(f"must be one of {', '.join(SIGNALS)}, got {signal!r}", field="signal")
    rid, key = _region_key(region)
    if key is None:
        return None
    if signal == "location":
        return catalogue.hourly_location(rid, basis)
    return catalogue.hourly_marginal(rid, basis)


def covered(
    series: IntensitySeries, start_utc: TimeArray, end_utc: TimeArray
) -> npt.NDArray[np.bool_]:
    """Whether ``series`` covers each ``[start, end)`` with no hole (vectorised)."""
    a = np.asarray(start_utc, dtype="datetime64[ns]")
    b = np.asarray(end_utc, dtype="datetime64[ns]")
    if series.resolution_s is None:
        return np.ones(a.shape, dtype=bool)
    step = np.timedelta64(series.resolution_s, "s")
    t0 = series.start_utc
    ia = np.searchsorted(t0, a, side="right") - 1
    ib = np.searchsorted(t0, np.maximum(b - _NS, a), side="right") - 1
    ok = (ia >= 0) & (b <= series.end_utc)
    ia_c, ib_c = np.clip(ia, 0, None), np.clip(ib, 0, None)
    ok &= a < t0[ia_c] + step
    ok &= (t0[ib_c] - t0[ia_c]) == (ib_c - ia_c) * step
    return np.asarray(ok, dtype=bool)


@dataclass(frozen=True)
class Profile:
    """Mean, low and high intensity [g/kWh] by (season 0..3, local hour 0..23)."""

    value: FloatArray
    low: FloatArray
    high: FloatArray
    counts: npt.NDArray[np.int64]
    tz: str
    provenance: SignalProvenance


def hour_season_profile(series: IntensitySeries, tz: str) -> Profile:
    """The hour x season profile of a series (bins by local hour of ``tz`` and season)."""
    from infercarbon.grid.marginal.calendar import hour_of_day, season_index, to_local

    local = to_local(series.start_utc.astype("datetime64[s]"), tz)
    b = season_index(local) * 24 + hour_of_day(local)
    n = np.bincount(b, minlength=96)
    if (n == 0).any():
        raise InputError(
            "the series does not cover every hour of every season, so no "
            "hour x season profile can be formed",
            field="series",
        )
    mean = np.bincount(b, weights=series.intensity_g_per_kwh, minlength=96) / n
    order = np.argsort(b, kind="stable")
    edges = np.concatenate([[0], np.cumsum(n)])
    lo_sorted, hi_sorted = series.low_g_per_kwh[order], series.high_g_per_kwh[order]
    low = np.array([np.quantile(lo_sorted[edges[k] : edges[k + 1]], 0.05) for k in range(96)])
    high = np.array([np.quantile(hi_sorted[edges[k] : edges[k + 1]], 0.95) for k in range(96)])
    p = series.provenance
    prov = SignalProvenance(
        source=p.source,
        version=p.version,
        method=f"{PROFILE_METHOD} ({tz}); from: {p.method}",
        licence=p.licence,
        label="modelled",
        notes=p.notes,
    )
    return Profile(
        mean.reshape(4, 24),
        np.minimum(low, mean).reshape(4, 24),
        np.maximum(high, mean).reshape(4, 24),
        n.reshape(4, 24),
        tz,
        prov,
    )


@cache
def _profile(region: str, signal: Signal, basis: Basis) -> Profile | None:
    s = bundled_series(region, signal, basis)
    if s is None:
        return None
    _, key = _region_key(region)
    return hour_season_profile(s, PROFILE_TZ.get(key or "", "UTC"))


def profile_values(
    profile: Profile, time_utc: TimeArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(value, low, high) of the profile at each instant."""
    from infercarbon.grid.marginal.calendar import hour_of_day, season_index, to_local

    local = to_local(np.asarray(time_utc, dtype="datetime64[s]"), profile.tz)
    s, h = season_index(local), hour_of_day(local)
    return profile.value[s, h], profile.low[s, h], profile.high[s, h]


@dataclass(frozen=True)
class WindowSignal:
    """A step series over a window and where each step came from."""

    series: IntensitySeries
    #: per step: "forecast" (or the label the caller gave its series), "bundled" or "profile"
    step_source: npt.NDArray[np.str_]
    signal: str

    @property
    def sources(self) -> dict[str, int]:
        names, counts = np.unique(self.step_source, return_counts=True)
        return {str(k): int(v) for k, v in zip(names, counts, strict=True)}

    def describe(self) -> str:
        """One line: which sources priced the window."""
        parts = []
        p = self.series.provenance
        for name, n in self.sources.items():
            what = {
                "forecast": "forecast",
                "bundled": "bundled series",
                "profile": "historical hour x season profile (no forecast covers these steps)",
            }.get(name, f"{name} signal")
            parts.append(f"{what}: {n} step(s)")
        return f"{'; '.join(parts)} [{p.source}]"


def window_signal(
    region: str,
    signal: Signal,
    start_utc: np.datetime64,
    end_utc: np.datetime64,
    *,
    basis: Basis = "lifecycle",
    forecast: IntensitySeries | None = None,
    forecast_label: str = "forecast",
) -> WindowSignal:
    """The intensity over ``[start, end)`` on a regular grid (see the module docstring).

    ``forecast_label`` names the steps the given series prices (``forecast`` for a provider
    forecast; the service passes ``service`` for the series it holds, which may be final or
    forecast intervals from the ledger)."""
    if signal not in SIGNALS:
        raise InputError(f"must be one of {', '.join(SIGNALS)}, got {signal!r}", field="signal")
    a = as_time(start_utc)
    b = as_time(end_utc)
    if b <= a:
        raise InputError("the window must end after it starts", field="deadline")
    bundled = bundled_series(region, signal, basis)
    step_s = 3600
    if forecast is not None and forecast.resolution_s is not None:
        step_s = min(step_s, forecast.resolution_s)
    step = np.timedelta64(step_s, "s")
    epoch = np.datetime64("1970-01-01T00:00", "ns")
    first = epoch + ((a - epoch) // step) * step
    n = int(-(-(b - first) // step))
    if n > 24 * 366 * 3600 // step_s:
        raise InputError("the window is longer than a year; shorten it", field="deadline")
    starts = first + np.arange(n) * step
    ends = starts + step
    value = np.full(n, np.nan)
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    src = np.full(n, "", dtype="<U32")
    notes: list[str] = []
    used: list[str] = []
    for name, s in ((forecast_label, forecast), ("bundled", bundled)):
        if s is None:
            continue
        m = covered(s, starts, ends) & (src == "")
        if m.any():
            value[m] = s.integrate(starts[m], ends[m])
            low[m] = s.integrate(starts[m], ends[m], which="low")
            high[m] = s.integrate(starts[m], ends[m], which="high")
            src[m] = name
            p = s.provenance
            notes.append(f"{name}: {p.source} ({p.version}; {p.method})")
            used.append(p.source)
    rest = src == ""
    if rest.any():
        prof = _profile(region, signal, basis)
        if prof is None:
            rid, _ = _region_key(region)
            raise InputError(
                f"no {signal} signal covers {int(rest.sum())} step(s) of the window for "
                f"{rid} (first {starts[np.argmax(rest)]}) and no series is bundled for it to "
                "form a profile: give --forecast FILE (grid fetch --kind forecast --format "
                "json) or a provider",
                field="forecast",
            )
        v, lo, hi = profile_values(prof, starts[rest])
        value[rest], low[rest], high[rest] = v, lo, hi
        src[rest] = "profile"
        notes.append(f"profile: {prof.provenance.method}")
        used.append(f"profile of {prof.provenance.source}")
    kind_label = (
        "forecast"
        if (src == "forecast").all()
        else ("derived" if (src == "bundled").all() else "modelled")
    )
    series = IntensitySeries.from_arrays(
        region=region,
        kind="marginal" if signal == "marginal" else "location-average",
        basis=basis,
        resolution_s=step_s,
        start_utc=starts,
        intensity_g_per_kwh=value,
        low_g_per_kwh=np.minimum(low, value),
        high_g_per_kwh=np.maximum(high, value),
        provenance=SignalProvenance(
            source=" + ".join(dict.fromkeys(used)),
            version="",
            method="decisions.window_signal",
            label=kind_label,
            notes=tuple(notes),
        ),
    )
    return WindowSignal(series, src, signal)


# --------------------------------------------------------------------------- forecasts
def parse_forecast(text: str, *, path: str = "<forecast>") -> IntensitySeries:
    """A forecast as written by ``grid fetch --kind forecast`` (``--format json`` or csv).

    JSON: the document with ``rows`` of ``time_utc, intensity_g_per_kwh, low, high`` and
    ``region``, ``kind``, ``basis``, ``resolution_s``, ``provenance``.  CSV: the header
    ``time_utc,intensity_g_per_kwh,low,high`` (resolution inferred from the times).
    """
    from infercarbon.grid.marginal.table import infer_interval_s, parse_times

    stripped = text.lstrip()
    meta: dict[str, object] = {}
    if stripped.startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParseError(f"not JSON: {exc.msg}", path=path, row=exc.lineno) from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
            raise ParseError("expected the JSON of grid fetch (an object with 'rows')", path=path)
        rows = doc["rows"]
        meta = doc
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise ParseError("the forecast has no rows", path=path)
    need = ("time_utc", "intensity_g_per_kwh")
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or any(k not in r for k in need):
            raise ParseError(f"each row needs {', '.join(need)}", path=path, row=i + 2)
    try:
        t, _ = parse_times([str(r["time_utc"]) for r in rows], column="time_utc", path=path)
        v = np.array([float(r["intensity_g_per_kwh"]) for r in rows])
        lo = np.array(
            [
                float(r.get("low") if r.get("low") not in (None, "") else r["intensity_g_per_kwh"])
                for r in rows
            ]
        )
        hi = np.array(
            [
                float(
                    r.get("high") if r.get("high") not in (None, "") else r["intensity_g_per_kwh"]
                )
                for r in rows
            ]
        )
    except (TypeError, ValueError) as exc:
        raise ParseError(
            f"a value is not a number: {exc}", path=path, column="intensity_g_per_kwh"
        ) from exc
    res = meta.get("resolution_s")
    resolution_s = (
        int(res)
        if isinstance(res, int | float)
        else (infer_interval_s(t, column="time_utc", path=path) if len(t) > 1 else 3600)
    )
    prov = meta.get("provenance")
    p = prov if isinstance(prov, dict) else {}
    kind = str(meta.get("kind", "marginal"))
    basis = str(meta.get("basis", "direct"))
    return IntensitySeries.from_arrays(
        region=str(meta.get("region", "forecast")),
        kind=kind if kind in ("location-average", "market", "marginal") else "marginal",  # type: ignore[arg-type]
        basis=basis if basis in ("direct", "lifecycle") else "direct",  # type: ignore[arg-type]
        resolution_s=resolution_s,
        start_utc=t,
        intensity_g_per_kwh=v,
        low_g_per_kwh=np.minimum(lo, v),
        high_g_per_kwh=np.maximum(hi, v),
        provenance=SignalProvenance(
            source=str(p.get("source", f"forecast file {path}")),
            version=str(p.get("version", "")),
            method=str(p.get("method", "forecast")),
            retrieved_at_utc=(str(p["retrieved_at_utc"]) if p.get("retrieved_at_utc") else None),
            licence=str(p["licence"]) if p.get("licence") else None,
            label="forecast",
            notes=tuple(str(n) for n in p.get("notes", ()) or ()),
        ),
    )


def read_forecast(path: str | Path) -> IntensitySeries:
    """:func:`parse_forecast` of a file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}", field="forecast") from exc
    return parse_forecast(text, path=str(p))
