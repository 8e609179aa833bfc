"""Every line item of every ingested event, with p5..p95 ranges: vectorised over a batch.

The ingest path's engine (the same definitions as :mod:`infercarbon.accounting.compose`, the
engine behind ``estimate`` and the Meter), over numpy arrays aligned with the events, with no
Python loop per event::

    facility_j          = energy_j x pue x (1 + td_loss_frac)
    operational_<b>_g   = facility_j / 3.6e6 x intensity_<b>    b: location, market, marginal
    idle pool_j         = idle_power_w x device_time_s x (1 - u) / u     (modelled from the profile)
    idle attributed_j   = policy share of the pool (tenancy 1, 30-70 0.3, none 0); rest unattributed
    idle_<b>_g          = attributed_j x pue x (1 + td_loss_frac) / 3.6e6 x intensity_<b>
    embodied_g          = embodied_kg x 1000 / (lifetime_years x 365 d) x device_time_s / u
    network_g           = payload_bytes / 1e9 x network_kwh_per_gb x intensity_location
    total_<b>_g         = operational_<b> + idle_<b> + embodied + network
    energy_cost         = (facility_j + idle facility_j) / 3.6e6 x price_per_kwh

Ranges (see ``docs/uncertainty.md``).  Every factor has a p5..p95 band.  A line is a product
of factors; its relative deviation on each side is the root sum of squares of the factors'
relative deviations (first-order propagation of independent factors), ``low = g (1 - d_down)``
floored at 0 and ``high = g (1 + d_up)``.  Within an event's total a factor shared by several
lines (the PUE, the intensity) moves them together: its deviations are added line by line
before the root sum of squares over the factors.  :data:`COMPONENTS` names the factors; the
energy band is the one component that is independent from event to event, the others are
shared by every event of a deployment profile and grid signal (see
:func:`infercarbon.ledger.rollup` for how aggregates use that).

>>> import numpy as np
>>> d, u = relative_deviations_frac(np.array([10.0]), np.array([9.0]), np.array([12.0]))
>>> float(d[0]), float(u[0])
(0.1, 0.2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.accounting.compose import FOLLOW_FRAC_30_70
from infercarbon.accounting.profiles import DeploymentProfile
from infercarbon.arrays import FloatArray
from infercarbon.provenance import Figure
from infercarbon.units import BYTES_PER_GB, G_PER_KG, J_PER_KWH, S_PER_YEAR

__all__ = [
    "BASES",
    "COMPONENTS",
    "LINES",
    "EventLines",
    "account_events",
    "account_totals",
    "fig_rel",
    "quadrature_band",
    "relative_deviations_frac",
]

BASES: tuple[str, ...] = ("location", "market", "marginal")
#: The line items of an event footprint, in order, with the basis each counts on ("both":
#: every basis's total).
LINES: tuple[tuple[str, str], ...] = (
    ("operational_location", "location"),
    ("operational_market", "market"),
    ("operational_marginal", "marginal"),
    ("idle_location", "location"),
    ("idle_market", "market"),
    ("idle_marginal", "marginal"),
    ("embodied", "both"),
    ("network", "both"),
)
#: The uncertain factors; only ``energy`` varies independently from event to event.
COMPONENTS: tuple[str, ...] = (
    "energy",
    "pue",
    "intensity_location",
    "intensity_market",
    "intensity_marginal",
    "idle",
    "embodied",
    "network",
)
_IDLE_SHARE = {"tenancy": 1.0, "30-70": FOLLOW_FRAC_30_70, "none": 0.0}


def relative_deviations_frac(
    value: npt.ArrayLike, low: npt.ArrayLike, high: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Relative deviations of a range from its value, per side [frac]:
    ``((value - low) / value, (high - value) / value)``; 0 where the value is 0 (a zero
    figure has no relative spread).

    >>> lo, hi = relative_deviations_frac(200.0, 150.0, 260.0)
    >>> float(lo), float(hi)
    (0.25, 0.3)
    """
    v = np.asarray(value, dtype=np.float64)
    pos = v > 0
    safe = np.where(pos, v, 1.0)
    lo = np.where(pos, (v - np.asarray(low, dtype=np.float64)) / safe, 0.0)
    hi = np.where(pos, (np.asarray(high, dtype=np.float64) - v) / safe, 0.0)
    return np.maximum(lo, 0.0), np.maximum(hi, 0.0)


def quadrature_band(
    value: npt.ArrayLike, low_devs_frac: Any, high_devs_frac: Any
) -> tuple[FloatArray, FloatArray]:
    """Low and high of a product of independent factors, by first-order quadrature of their
    relative deviations, each side on its own::

        low  = value x (1 - sqrt(sum_i ((x_i - lo_i) / x_i)^2))     floored at 0
        high = value x (1 + sqrt(sum_i ((hi_i - x_i) / x_i)^2))

    ``low_devs_frac``/``high_devs_frac`` are sequences of relative deviations [frac] (floats or
    arrays broadcasting with ``value``), e.g. from :func:`relative_deviations_frac`.

    >>> lo, hi = quadrature_band(10.0, [0.3, 0.4], [0.3, 0.4])
    >>> round(float(lo), 12), round(float(hi), 12)
    (5.0, 15.0)
    """
    v = np.asarray(value, dtype=np.float64)
    lo = np.zeros_like(v)
    hi = np.zeros_like(v)
    for d in low_devs_frac:
        lo = lo + np.square(np.asarray(d, dtype=np.float64))
    for d in high_devs_frac:
        hi = hi + np.square(np.asarray(d, dtype=np.float64))
    return np.maximum(v * (1.0 - np.sqrt(lo)), 0.0), v * (1.0 + np.sqrt(hi))


def fig_rel(f: Figure) -> tuple[float, float]:
    """Relative deviations (down, up) of a figure's range."""
    d, u = relative_deviations_frac(f.value, *f.range)
    return float(d), float(u)


@dataclass(frozen=True)
class EventLines:
    """The result over a batch: arrays aligned with the events.

    ``lines[name]`` = (g, low_g, high_g), NaN where the line is absent for that event (no
    signal, no profile figure, no payload); ``totals[basis]`` likewise (absent where the
    operational line of that basis is); ``excluded[name][p]`` = why the line is absent for
    profile ``p`` (None where the profile has what it needs)."""

    facility_j: FloatArray
    idle_attributed_j: FloatArray
    idle_unattributed_j: FloatArray
    lines: dict[str, tuple[FloatArray, FloatArray, FloatArray]]
    totals: dict[str, tuple[FloatArray, FloatArray, FloatArray]]
    energy_cost: FloatArray


def _per_profile(
    profiles: Sequence[DeploymentProfile], pidx: npt.NDArray[np.intp], get: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(value, rel down, rel up) of a profile figure per event; NaN value where absent."""
    v = np.full(len(profiles), np.nan)
    d = np.zeros(len(profiles))
    u = np.zeros(len(profiles))
    for j, p in enumerate(profiles):
        f = getattr(p, get)
        if f is not None:
            v[j] = f.value
            d[j], u[j] = fig_rel(f)
    return v[pidx], d[pidx], u[pidx]


def idle_ratio_rel(u: Figure) -> tuple[float, float]:
    """Relative deviations (down, up) of ``(1 - u)/u`` over the utilisation's range (it
    falls as utilisation rises)."""
    lo, hi = u.range

    def r(x: float) -> float:
        return (1.0 - x) / x

    c = r(u.value)
    if c <= 0:
        return 0.0, 0.0
    return max(0.0, 1.0 - r(hi) / c), max(0.0, r(lo) / c - 1.0)


_Comps = dict[str, tuple[FloatArray, FloatArray]]


@dataclass(frozen=True)
class _Lines:
    """Every line's grams and its deviations (down, up) in grams per component."""

    n: int
    lines: dict[str, tuple[FloatArray, _Comps]]
    facility_j: FloatArray
    attributed_j: FloatArray
    pool_j: FloatArray
    idle_facility_j: FloatArray


def _lines(
    *,
    energy_j: FloatArray,
    energy_low_j: FloatArray,
    energy_high_j: FloatArray,
    device_time_s: FloatArray,
    payload_bytes: FloatArray,
    intensity: Mapping[str, tuple[FloatArray, FloatArray, FloatArray]],
    profiles: Sequence[DeploymentProfile],
    profile_index: npt.NDArray[np.intp],
    idle_measured: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None,
) -> _Lines:
    n = len(energy_j)
    e = np.asarray(energy_j, dtype=np.float64)
    e_d, e_u = relative_deviations_frac(e, energy_low_j, energy_high_j)
    pidx = profile_index
    pue, pue_d, pue_u = _per_profile(profiles, pidx, "pue")
    td, td_d0, td_u0 = _per_profile(profiles, pidx, "td_loss_frac")
    # the facility factor pue x (1 + td): the two relative deviations in quadrature, td's
    # relative to (1 + td)
    td_d, td_u = td_d0 * td / (1.0 + td), td_u0 * td / (1.0 + td)
    f_d, f_u = np.hypot(pue_d, td_d), np.hypot(pue_u, td_u)
    factor = pue * (1.0 + td)
    facility = e * factor

    # idle pool per event, modelled from the profile
    share = (
        np.asarray([_IDLE_SHARE[p.idle_policy] for p in profiles], dtype=np.float64)[pidx]
        if n
        else np.zeros(0)
    )
    p_idle, p_d, p_u = _per_profile(profiles, pidx, "idle_power_w")
    util = np.full(len(profiles), np.nan)
    ur_d = np.zeros(len(profiles))
    ur_u = np.zeros(len(profiles))
    u_d = np.zeros(len(profiles))
    u_u = np.zeros(len(profiles))
    for j, p in enumerate(profiles):
        if p.utilisation_frac is not None:
            util[j] = p.utilisation_frac.value
            ur_d[j], ur_u[j] = idle_ratio_rel(p.utilisation_frac)
            # embodied goes as 1/u: high u gives the low end
            lo, hi = p.utilisation_frac.range
            u0 = p.utilisation_frac.value
            u_d[j], u_u[j] = max(0.0, 1.0 - u0 / hi), max(0.0, u0 / lo - 1.0)
    u = util[pidx] if n else np.zeros(0)
    t = np.maximum(np.asarray(device_time_s, dtype=np.float64), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pool = p_idle * t * (1.0 - u) / u
    attributed = share * pool
    idle_d = np.hypot(p_d, ur_d[pidx] if n else 0.0)
    idle_u = np.hypot(p_u, ur_u[pidx] if n else 0.0)
    if idle_measured is not None:
        m_att, m_un, m_d, m_u = (np.asarray(a, dtype=np.float64) for a in idle_measured)
        known = np.isfinite(m_att)
        attributed = np.where(known, m_att, attributed)
        pool = np.where(known, m_att + m_un, pool)
        idle_d = np.where(known, m_d, idle_d)
        idle_u = np.where(known, m_u, idle_u)
    idle_fac = attributed * factor

    kg, kg_d, kg_u = _per_profile(profiles, pidx, "embodied_kg")
    yrs, y_d0, y_u0 = _per_profile(profiles, pidx, "lifetime_years")
    with np.errstate(divide="ignore", invalid="ignore"):
        embodied = kg * G_PER_KG / (yrs * S_PER_YEAR) * t / u
        # 1/lifetime: a longer life gives the low end
        y_lo = yrs * (1.0 - y_d0)
        y_hi = yrs * (1.0 + y_u0)
        y_d = np.where(y_hi > 0, 1.0 - yrs / y_hi, 0.0)
        y_u = np.where(y_lo > 0, yrs / y_lo - 1.0, 0.0)
    emb_d = np.sqrt(kg_d**2 + y_d**2 + (u_d[pidx] if n else 0.0) ** 2)
    emb_u = np.sqrt(kg_u**2 + y_u**2 + (u_u[pidx] if n else 0.0) ** 2)

    net_coef, nc_d, nc_u = _per_profile(profiles, pidx, "network_kwh_per_gb")
    loc_v, _loc_lo, _loc_hi = intensity["location"]
    network = np.asarray(payload_bytes, dtype=np.float64) / BYTES_PER_GB * net_coef * loc_v

    # per line: g and its deviation (down, up) in grams per component
    lines: dict[str, tuple[FloatArray, _Comps]] = {}
    irel = {b: relative_deviations_frac(*intensity[b]) for b in BASES}
    for b in BASES:
        iv = intensity[b][0]
        i_d, i_u = irel[b]
        g = facility / J_PER_KWH * iv
        lines[f"operational_{b}"] = (
            g,
            {
                "energy": (g * e_d, g * e_u),
                "pue": (g * f_d, g * f_u),
                f"intensity_{b}": (g * i_d, g * i_u),
            },
        )
        gi = idle_fac / J_PER_KWH * iv
        lines[f"idle_{b}"] = (
            gi,
            {
                "idle": (gi * idle_d, gi * idle_u),
                "pue": (gi * f_d, gi * f_u),
                f"intensity_{b}": (gi * i_d, gi * i_u),
            },
        )
    lines["embodied"] = (embodied, {"embodied": (embodied * emb_d, embodied * emb_u)})
    li_d, li_u = irel["location"]
    lines["network"] = (
        network,
        {
            "network": (network * nc_d, network * nc_u),
            "intensity_location": (network * li_d, network * li_u),
        },
    )

    return _Lines(n, lines, facility, attributed, pool, idle_fac)


def _totals(
    lines: Mapping[str, tuple[FloatArray, _Comps]], n: int
) -> dict[str, tuple[FloatArray, FloatArray, FloatArray]]:
    """The totals per basis (g, low, high): a factor shared by several lines moves them
    together (its deviations added line by line, then the root sum of squares)."""
    totals: dict[str, tuple[FloatArray, FloatArray, FloatArray]] = {}
    for b in BASES:
        members = [f"operational_{b}", f"idle_{b}", "embodied", "network"]
        g_tot = np.zeros(n)
        per_comp: dict[str, list[FloatArray]] = {c: [np.zeros(n), np.zeros(n)] for c in COMPONENTS}
        for name in members:
            g, comps = lines[name]
            ok = np.isfinite(g)
            g_tot = g_tot + np.where(ok, g, 0.0)
            for c, (dn, up) in comps.items():
                per_comp[c][0] = per_comp[c][0] + np.where(ok, dn, 0.0)
                per_comp[c][1] = per_comp[c][1] + np.where(ok, up, 0.0)
        dd = np.sqrt(sum((v[0] ** 2 for v in per_comp.values()), np.zeros(n)))
        uu = np.sqrt(sum((v[1] ** 2 for v in per_comp.values()), np.zeros(n)))
        present = np.isfinite(lines[f"operational_{b}"][0])
        totals[b] = (
            np.where(present, g_tot, np.nan),
            np.where(present, np.maximum(g_tot - dd, 0.0), np.nan),
            np.where(present, g_tot + uu, np.nan),
        )

    return totals


def account_totals(
    *,
    energy_j: FloatArray,
    energy_low_j: FloatArray,
    energy_high_j: FloatArray,
    device_time_s: FloatArray,
    payload_bytes: FloatArray,
    intensity: Mapping[str, tuple[FloatArray, FloatArray, FloatArray]],
    profiles: Sequence[DeploymentProfile],
    profile_index: npt.NDArray[np.intp],
    idle_measured: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None,
) -> dict[str, tuple[FloatArray, FloatArray, FloatArray]]:
    """``account_events(...).totals`` without the per-line ranges, the cost and the idle
    split (the lake's account job stores the totals only): the same arithmetic, so the
    same figures bit for bit, in about three quarters of the time."""
    parts = _lines(
        energy_j=energy_j,
        energy_low_j=energy_low_j,
        energy_high_j=energy_high_j,
        device_time_s=device_time_s,
        payload_bytes=payload_bytes,
        intensity=intensity,
        profiles=profiles,
        profile_index=profile_index,
        idle_measured=idle_measured,
    )
    return _totals(parts.lines, parts.n)


def account_events(
    *,
    energy_j: FloatArray,
    energy_low_j: FloatArray,
    energy_high_j: FloatArray,
    device_time_s: FloatArray,
    payload_bytes: FloatArray,
    intensity: Mapping[str, tuple[FloatArray, FloatArray, FloatArray]],
    profiles: Sequence[DeploymentProfile],
    profile_index: npt.NDArray[np.intp],
    price_per_kwh: FloatArray,
    idle_measured: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None,
) -> EventLines:
    """Every line item, its range, and the totals per basis of a batch of events.

    ``intensity[basis]`` = (value, low, high) [g/kWh] per event, NaN where the basis has no
    signal for that event; ``payload_bytes`` NaN where unknown; ``price_per_kwh`` NaN where no
    price is configured.  ``idle_measured`` = (attributed J, unattributed J, relative
    deviation down, up) of measured idle (device readings minus the events' energy, split by
    the profile's policy), NaN where idle is modelled from the profile.  Pure: arrays in,
    arrays out."""
    parts = _lines(
        energy_j=energy_j,
        energy_low_j=energy_low_j,
        energy_high_j=energy_high_j,
        device_time_s=device_time_s,
        payload_bytes=payload_bytes,
        intensity=intensity,
        profiles=profiles,
        profile_index=profile_index,
        idle_measured=idle_measured,
    )
    lines, n = parts.lines, parts.n
    out_lines: dict[str, tuple[FloatArray, FloatArray, FloatArray]] = {}
    for name, (g, comps) in lines.items():
        dd = np.sqrt(sum((c[0] ** 2 for c in comps.values()), np.zeros(n)))
        uu = np.sqrt(sum((c[1] ** 2 for c in comps.values()), np.zeros(n)))
        out_lines[name] = (g, np.maximum(g - dd, 0.0), g + uu)

    totals = _totals(lines, n)
    facility, attributed, pool, idle_fac = (
        parts.facility_j,
        parts.attributed_j,
        parts.pool_j,
        parts.idle_facility_j,
    )
    idle_fac_known = np.where(np.isfinite(idle_fac), idle_fac, 0.0)
    cost = (facility + idle_fac_known) / J_PER_KWH * np.asarray(price_per_kwh, dtype=np.float64)
    return EventLines(facility, attributed, pool - attributed, out_lines, totals, cost)
