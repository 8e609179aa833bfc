"""Region routing: the lowest-footprint allowed region for now, and its margin.

For each candidate region the intensity of the hour containing ``now_utc`` is taken from
:func:`infercarbon.decisions.signals.window_signal` where the region has a time-resolved
signal (a forecast given for it, its bundled series, or that series' hour x season profile),
else (location signal only) the region's bundled annual average with its range.  A region
is *allowed* when it meets the residency rule (``EU``, ``EEA`` or an ISO 3166 alpha-2/-3
country code, matched on the region's country) and, when ``max_latency_ms`` is given, has a
latency (given per region, e.g. measured by the load balancer) within it.  Rejected regions
are listed with the reason.

The margin is ``next best - best`` [g/kWh] (and in g for ``energy_kwh``) with the range
``[next_low - best_high, next_high - best_low]``: the two regions' figures come from
different grids and sources, so their errors are not assumed to cancel.

>>> import numpy as np
>>> r = route(["FR", "PL", "GB"], np.datetime64("2026-01-01T12:00"))
>>> r.best.region_id, r.ranked[1].region_id
('FRA', 'GBR')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infercarbon.decisions.signals import SIGNALS, Signal, as_time, window_signal
from infercarbon.errors import InputError
from infercarbon.grid.signal import Basis, IntensitySeries

__all__ = [
    "EEA_ISO3",
    "EU_ISO3",
    "Candidate",
    "RouteResult",
    "parse_latency_map",
    "route",
    "split_list",
]

#: EU member states (27, since 2020-02-01), ISO 3166-1 alpha-3.
EU_ISO3: frozenset[str] = frozenset(
    (
        "AUT",
        "BEL",
        "BGR",
        "HRV",
        "CYP",
        "CZE",
        "DNK",
        "EST",
        "FIN",
        "FRA",
        "DEU",
        "GRC",
        "HUN",
        "IRL",
        "ITA",
        "LVA",
        "LTU",
        "LUX",
        "MLT",
        "NLD",
        "POL",
        "PRT",
        "ROU",
        "SVK",
        "SVN",
        "ESP",
        "SWE",
    )
)
#: The European Economic Area: the EU plus Iceland, Liechtenstein and Norway.
EEA_ISO3: frozenset[str] = EU_ISO3 | {"ISL", "LIE", "NOR"}


@dataclass(frozen=True)
class Candidate:
    """One region's figures (intensity [g/kWh] and emissions [g] for the energy)."""

    query: str
    region_id: str
    name: str
    intensity_g_per_kwh: float | None
    low_g_per_kwh: float | None
    high_g_per_kwh: float | None
    source: str
    latency_ms: float | None
    reason: str | None = None

    def to_dict(self, energy_kwh: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "region": self.query,
            "region_id": self.region_id,
            "name": self.name,
            "intensity_g_per_kwh": self.intensity_g_per_kwh,
            "low_g_per_kwh": self.low_g_per_kwh,
            "high_g_per_kwh": self.high_g_per_kwh,
            "emissions_g": None
            if self.intensity_g_per_kwh is None
            else self.intensity_g_per_kwh * energy_kwh,
            "source": self.source,
            "latency_ms": self.latency_ms,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class RouteResult:
    """Allowed regions best first, the rejected ones, and the margin of the best."""

    now_utc: np.datetime64
    signal: str
    energy_kwh: float
    ranked: tuple[Candidate, ...]
    rejected: tuple[Candidate, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def best(self) -> Candidate:
        if not self.ranked:
            raise InputError(
                "no candidate region is allowed: "
                + "; ".join(f"{c.query}: {c.reason}" for c in self.rejected),
                field="regions",
            )
        return self.ranked[0]

    def margin(self) -> tuple[float, float, float] | None:
        """(margin, low, high) [g/kWh] of the best over the next best; None for one region."""
        if len(self.ranked) < 2:
            return None
        a, b = self.ranked[0], self.ranked[1]
        assert a.intensity_g_per_kwh is not None and b.intensity_g_per_kwh is not None
        assert a.low_g_per_kwh is not None and a.high_g_per_kwh is not None
        assert b.low_g_per_kwh is not None and b.high_g_per_kwh is not None
        m = b.intensity_g_per_kwh - a.intensity_g_per_kwh
        return (
            m,
            min(m, b.low_g_per_kwh - a.high_g_per_kwh),
            max(m, b.high_g_per_kwh - a.low_g_per_kwh),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``infercarbon route --json`` and ``GET /v1/route``."""
        best = self.best
        m = self.margin()
        e = self.energy_kwh
        return {
            "now_utc": str(as_time(self.now_utc, "s")) + "Z",
            "signal": self.signal,
            "region": best.query,
            "region_id": best.region_id,
            "intensity_g_per_kwh": best.intensity_g_per_kwh,
            "low_g_per_kwh": best.low_g_per_kwh,
            "high_g_per_kwh": best.high_g_per_kwh,
            "energy_kwh": e,
            "next_best": self.ranked[1].region_id if len(self.ranked) > 1 else None,
            "margin_g_per_kwh": None if m is None else m[0],
            "margin_low_g_per_kwh": None if m is None else m[1],
            "margin_high_g_per_kwh": None if m is None else m[2],
            "margin_g": None if m is None else m[0] * e,
            "margin_low_g": None if m is None else m[1] * e,
            "margin_high_g": None if m is None else m[2] * e,
            "ranked": [c.to_dict(e) for c in self.ranked],
            "rejected": [c.to_dict(e) for c in self.rejected],
            "label": "modelled",
            "notes": list(self.notes),
        }


def _residency_ok(rule: str, country_iso3: str | None) -> bool:
    r = rule.strip().upper()
    if country_iso3 is None:
        return False
    if r == "EU":
        return country_iso3 in EU_ISO3
    if r == "EEA":
        return country_iso3 in EEA_ISO3
    if len(r) == 3:
        return country_iso3 == r
    from infercarbon.reference.regions import resolve_region

    return resolve_region(r).country_iso3 == country_iso3


def route(
    regions: Sequence[str],
    now_utc: np.datetime64,
    *,
    signal: Signal = "location",
    basis: Basis = "lifecycle",
    max_latency_ms: float | None = None,
    latency_ms: Mapping[str, float] | None = None,
    residency: str | None = None,
    energy_kwh: float = 1.0,
    forecasts: Mapping[str, IntensitySeries] | None = None,
    forecast_label: str = "forecast",
) -> RouteResult:
    """Rank the allowed regions by intensity now (see the module docstring); ``forecasts``
    (by region query or id) take precedence over the bundled series where they cover now."""
    from infercarbon.reference.regions import resolve_region

    if not regions:
        raise InputError("give at least one region", field="regions")
    if signal not in SIGNALS:
        raise InputError(f"must be one of {', '.join(SIGNALS)}, got {signal!r}", field="signal")
    if not (math.isfinite(energy_kwh) and energy_kwh > 0):
        raise InputError(f"{energy_kwh!r} must be > 0 kWh", field="energy_kwh")
    if max_latency_ms is not None and not (math.isfinite(max_latency_ms) and max_latency_ms > 0):
        raise InputError(f"{max_latency_ms!r} must be > 0 ms", field="max_latency_ms")
    if residency is not None and residency.strip().upper() not in ("EU", "EEA"):
        resolve_region(residency)  # an unknown rule is named before anything else
    lat = {k.strip().lower(): float(v) for k, v in (latency_ms or {}).items()}
    fc = {k.strip().lower(): v for k, v in (forecasts or {}).items()}
    t = as_time(now_utc, "s")
    hour = t.astype("datetime64[h]").astype("datetime64[s]")
    ok: list[Candidate] = []
    bad: list[Candidate] = []
    notes: list[str] = []
    for q in regions:
        reg = resolve_region(q)
        lms = lat.get(q.strip().lower(), lat.get(reg.region_id.lower()))
        reason = None
        if residency is not None and not _residency_ok(residency, reg.country_iso3):
            reason = (
                f"outside the residency rule {residency.upper()} (country "
                f"{reg.country_iso3 or 'unknown'})"
            )
        elif max_latency_ms is not None and lms is None:
            reason = "no latency given for this region (--latency-ms REGION=MS)"
        elif max_latency_ms is not None and lms is not None and lms > max_latency_ms:
            reason = f"latency {lms:g} ms exceeds the maximum {max_latency_ms:g} ms"
        forecast = fc.get(q.strip().lower(), fc.get(reg.region_id.lower()))
        try:
            ws = window_signal(
                q,
                signal,
                hour,
                hour + np.timedelta64(3600, "s"),
                basis=basis,
                forecast=forecast,
                forecast_label=forecast_label,
            )
            i = ws.series.integrate(t, t + np.timedelta64(1, "s"))
            v = float(i[0])
            lo = float(ws.series.integrate(t, t + np.timedelta64(1, "s"), which="low")[0])
            hi = float(ws.series.integrate(t, t + np.timedelta64(1, "s"), which="high")[0])
            src = ws.describe()
        except InputError:
            if signal == "marginal":
                v = lo = hi = None  # type: ignore[assignment]
                src = "none"
                reason = reason or "no marginal signal for this region (give a forecast)"
            else:
                fig = reg.intensity_g_per_kwh
                v, (lo, hi) = fig.value, fig.range
                src = (
                    f"annual average ({fig.source}, {fig.vintage or ''}; {fig.label}): "
                    "no hourly signal for this region"
                )
        c = Candidate(q, reg.region_id, reg.name, v, lo, hi, src, lms, reason)
        (bad if reason is not None else ok).append(c)
    ok.sort(key=lambda c: (c.intensity_g_per_kwh, c.region_id))
    if any("annual average" in c.source for c in ok) and any(
        "annual average" not in c.source for c in ok
    ):
        notes.append(
            "some regions have an hourly figure and others only an annual average: "
            "the comparison mixes resolutions"
        )
    return RouteResult(t, signal, energy_kwh, tuple(ok), tuple(bad), tuple(notes))


def parse_latency_map(text: str | None, *, field: str = "--latency-ms") -> dict[str, float]:
    """``FR=25,DE=18`` -> ``{"FR": 25.0, "DE": 18.0}``."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        try:
            ms = float(v)
        except ValueError:
            ms = float("nan")
        if not sep or not k.strip() or not (ms >= 0):
            raise InputError(f"{part!r}: use REGION=MS, e.g. FR=25", field=field)
        out[k.strip()] = ms
    return out


def split_list(text: str, field: str) -> list[str]:
    """``"GB, FR,PL"`` -> ``["GB", "FR", "PL"]`` (an empty list is an error)."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise InputError("give a comma-separated list, e.g. GB,FR,PL", field=field)
    return items
