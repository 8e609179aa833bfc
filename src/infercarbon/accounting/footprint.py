"""The footprint of one inference: line items with ranges, provenance and scope tags.

:func:`footprint` takes a :class:`FootprintRequest` whose every number is an :class:`Input`
(a distribution plus its provenance), evaluates the pure arithmetic of
:mod:`infercarbon.accounting.compose` once at the central values (the reported figure) and
once over a seeded Monte Carlo sample (the p5/p50/p95 range), and returns a :class:`Footprint`.

Location-based and market-based figures are both reported and never substituted for each
other: when no market-based intensity is given, the market line falls back to the location
figure with a :class:`~infercarbon.errors.FallbackWarning` and a label that says so.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

import numpy as np

from infercarbon.accounting import compose as C
from infercarbon.accounting.uncertainty import Dist, Fixed, dist_from_figure, percentiles
from infercarbon.arrays import FloatArray
from infercarbon.attribution.idle import IdlePolicy
from infercarbon.errors import FallbackWarning, InputError
from infercarbon.provenance import Figure
from infercarbon.units import BYTES_PER_GB, J_PER_KWH, S_PER_DAY, S_PER_SHIFT, S_PER_YEAR

__all__ = [
    "LINE_SCOPES",
    "OPERATING_MODELS",
    "BasisTotal",
    "Footprint",
    "FootprintRequest",
    "Input",
    "LineItem",
    "check_operating_model",
    "footprint",
]

OperatingModel = Literal["owned", "cloud", "sold"]
OPERATING_MODELS = ("owned", "cloud", "sold")
Basis = Literal["location", "market", "marginal", "both"]

#: GHG Protocol scope of each line item for each operating model.
#: owned: the reporter runs the device (Scope 2 for its electricity; hardware is a capital good);
#: cloud: the reporter buys compute (all of it Scope 3 cat. 1, purchased goods and services);
#: sold:  the reporter sells a product that runs the inference (Scope 3 cat. 11, use of sold
#:        products, for the use-phase electricity).
LINE_SCOPES: dict[str, dict[str, str]] = {
    "owned": {
        "location": "scope2_location",
        "market": "scope2_market",
        "marginal": "memo_consequential",
        "embodied": "scope3_cat2",
        "training": "scope3_cat1",
        "network": "scope3_cat1",
    },
    "cloud": {
        "location": "scope3_cat1",
        "market": "scope3_cat1",
        "marginal": "memo_consequential",
        "embodied": "scope3_cat1",
        "training": "scope3_cat1",
        "network": "scope3_cat1",
    },
    "sold": {
        "location": "scope3_cat11",
        "market": "scope3_cat11",
        "marginal": "memo_consequential",
        "embodied": "scope3_cat1",
        "training": "scope3_cat1",
        "network": "scope3_cat11",
    },
}


def check_operating_model(value: object, field: str = "operating_model") -> str:
    """``value`` if it is one of :data:`OPERATING_MODELS`, else an InputError naming it."""
    if value not in OPERATING_MODELS:
        raise InputError(f"{value!r}: must be one of {', '.join(OPERATING_MODELS)}", field=field)
    return str(value)


@dataclass(frozen=True, slots=True)
class Input:
    """One input: a distribution with the provenance of its numbers."""

    name: str
    dist: Dist
    unit: str
    source: str
    label: str
    note: str | None = None
    vintage: str | None = None

    @classmethod
    def of(cls, name: str, fig: Figure, *, shift: float = 0.0) -> Input:
        return cls(
            name,
            dist_from_figure(fig, shift=shift),
            fig.unit,
            fig.source,
            fig.label,
            fig.note,
            fig.vintage,
        )

    @classmethod
    def user(cls, name: str, dist: Dist | float, unit: str, note: str | None = None) -> Input:
        d = Fixed(float(dist)) if isinstance(dist, int | float) else dist
        return cls(name, d, unit, "user input", "user", note)

    @property
    def central(self) -> float:
        return self.dist.central

    def assumption(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "value": self.central,
            "unit": self.unit,
            "low": self.dist.low,
            "high": self.dist.high,
            "distribution": self.dist.describe(),
            "source": self.source,
            "label": self.label,
        }
        if self.vintage:
            out["vintage"] = self.vintage
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class FootprintRequest:
    """Everything one inference's footprint depends on.  See :func:`footprint`.

    Device time comes from ``device_time_s``, or from ``energy_j / active_power_w`` per sample;
    utilisation from ``utilisation_frac``, or from the duty cycle ``rate_per_s`` via
    :func:`~infercarbon.accounting.compose.utilisation_from_rate`.
    """

    region_id: str
    energy_j: Input
    intensity_location_g_per_kwh: Input
    pue: Input
    intensity_market_g_per_kwh: Input | None = None
    intensity_marginal_g_per_kwh: Input | None = None
    td_loss_frac: Input | None = None
    device_time_s: Input | None = None
    active_power_w: Input | None = None
    utilisation_frac: Input | None = None
    rate_per_s: float | None = None
    idle_power_w: Input | None = None
    idle_policy: IdlePolicy = "30-70"
    tenancy_share_frac: float | None = None
    embodied_kg: Input | None = None
    lifetime_s: Input | None = None
    training_t: Input | None = None
    lifetime_inferences: float | None = None
    payload_bytes: float | None = None
    network_kwh_per_gb: Input | None = None
    outcomes_per_inference: float | None = None
    outcome_name: str = "outcome"
    operating_model: str = "owned"
    region_name: str | None = None
    samples: int = 10_000
    seed: int = 0
    notes: tuple[str, ...] = ()

    def with_(self, **changes: Any) -> FootprintRequest:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of a footprint [g CO2e per inference]."""

    name: str
    emissions_g: float
    low_g: float
    high_g: float
    p50_g: float
    label: str
    source: str
    scope: str
    basis: Basis
    in_total: bool
    energy_j: float | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        return {k: v for k, v in d.items() if v is not None}


class BasisTotal(NamedTuple):
    """One basis's total [g CO2e]: the point estimate and its Monte Carlo percentiles.

    A tuple, so ``point, p5, p50, p95 = fp.totals_g["location"]`` still unpacks.
    """

    point_g: float
    p5_g: float
    p50_g: float
    p95_g: float


@dataclass(frozen=True)
class Footprint:
    """The result: line items, totals with ranges, per-outcome and per-period figures."""

    region_id: str
    region_name: str | None
    energy_j: float
    intensity_g_per_kwh: dict[str, float | None]
    line_items: tuple[LineItem, ...]
    totals_g: dict[str, BasisTotal]  # basis (location, market, marginal) -> total
    idle: dict[str, Any]
    per_outcome_g: dict[str, Any] | None
    per_period_g: dict[str, Any] | None
    assumptions: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...] = field(default=())
    samples: int = 0
    seed: int = 0

    def item(self, name: str) -> LineItem:
        for li in self.line_items:
            if li.name == name:
                return li
        raise KeyError(name)

    @property
    def total_location_g(self) -> float:
        return self.totals_g["location"].point_g

    @property
    def total_market_g(self) -> float:
        return self.totals_g["market"].point_g

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract of ``infercarbon estimate --json`` (see README)."""
        out: dict[str, Any] = {
            "energy_j": self.energy_j,
            "region": self.region_id,
            "region_name": self.region_name,
            "intensity_g_per_kwh": dict(self.intensity_g_per_kwh),
            "line_items": [li.to_dict() for li in self.line_items],
        }
        for basis, t in self.totals_g.items():
            out[f"total_{basis}_g"] = t.point_g
            out[f"total_{basis}_low_g"] = t.p5_g
            out[f"total_{basis}_p50_g"] = t.p50_g
            out[f"total_{basis}_high_g"] = t.p95_g
        out["idle"] = self.idle
        out["per_outcome_g"] = self.per_outcome_g
        out["per_period_g"] = self.per_period_g
        out["assumptions"] = list(self.assumptions)
        out["warnings"] = list(self.warnings)
        out["monte_carlo"] = {
            "samples": self.samples,
            "seed": self.seed,
            "percentiles": "low_g=p5, p50_g=p50, high_g=p95",
        }
        return out


# --------------------------------------------------------------------------- checks
def _check(
    inp: Input | None,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    what: str = "",
) -> None:
    if inp is None:
        return
    for v in (inp.dist.low, inp.central, inp.dist.high):
        if not math.isfinite(v):
            raise InputError(f"{v!r} is not a finite number", field=inp.name)
        if lo is not None and (v <= lo if lo_open else v < lo):
            raise InputError(f"{v:g} is out of range: {what}", field=inp.name)
        if hi is not None and v > hi:
            raise InputError(f"{v:g} is out of range: {what}", field=inp.name)


def _validate(r: FootprintRequest) -> None:
    _check(r.energy_j, lo=0.0, what="energy cannot be negative")
    _check(r.intensity_location_g_per_kwh, lo=0.0, what="intensity cannot be negative")
    _check(r.intensity_market_g_per_kwh, lo=0.0, what="intensity cannot be negative")
    _check(r.intensity_marginal_g_per_kwh, lo=0.0, what="intensity cannot be negative")
    _check(r.pue, lo=1.0, what="PUE is facility/IT energy and cannot be below 1")
    _check(r.td_loss_frac, lo=0.0, hi=0.5, what="T&D loss is a fraction in [0, 0.5]")
    _check(r.device_time_s, lo=0.0, what="device time cannot be negative")
    _check(r.active_power_w, lo=0.0, lo_open=True, what="active power must be > 0 W")
    _check(
        r.utilisation_frac, lo=0.0, lo_open=True, hi=1.0, what="utilisation is a fraction in (0, 1]"
    )
    _check(r.idle_power_w, lo=0.0, what="idle power cannot be negative")
    _check(r.embodied_kg, lo=0.0, what="embodied carbon cannot be negative")
    _check(r.lifetime_s, lo=0.0, lo_open=True, what="lifetime must be > 0")
    _check(r.training_t, lo=0.0, what="training footprint cannot be negative")
    _check(r.network_kwh_per_gb, lo=0.0, what="network energy cannot be negative")
    checks: tuple[tuple[str, float | None, Callable[[float], bool], str], ...] = (
        ("rate_per_s", r.rate_per_s, lambda x: x > 0, "must be > 0 inferences per second"),
        (
            "tenancy_share_frac",
            r.tenancy_share_frac,
            lambda x: 0 < x <= 1,
            "must be a fraction in (0, 1]",
        ),
        ("lifetime_inferences", r.lifetime_inferences, lambda x: x > 0, "must be > 0"),
        ("payload_bytes", r.payload_bytes, lambda x: x >= 0, "cannot be negative"),
        (
            "outcomes_per_inference",
            r.outcomes_per_inference,
            lambda x: x > 0,
            "must be > 0 (e.g. 1/1500 for one defect per 1,500 inferences)",
        ),
    )
    for name, v, cond, what in checks:
        if v is not None and (not math.isfinite(v) or not cond(v)):
            raise InputError(f"{v!r} {what}", field=name)
    if r.idle_policy not in C.IDLE_POLICIES:
        raise InputError(
            f"must be one of {', '.join(C.IDLE_POLICIES)}, got {r.idle_policy!r}",
            field="idle_policy",
        )
    check_operating_model(r.operating_model)
    if r.training_t is not None and r.lifetime_inferences is None:
        raise InputError(
            "a training footprint needs --lifetime-inferences to amortise over",
            field="lifetime_inferences",
        )
    if r.samples < 100:
        raise InputError("use at least 100 Monte Carlo samples", field="samples")


# ---------------------------------------------------------------------- evaluation
def _evaluate(r: FootprintRequest, draw: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    """All line items for one set of input values (scalars or Monte Carlo arrays)."""
    e = draw["energy_j"]
    pue = draw["pue"]
    td = draw.get("td_loss_frac", np.zeros_like(e))
    out: dict[str, FloatArray] = {}
    for basis in ("location", "market", "marginal"):
        key = f"intensity_{basis}_g_per_kwh"
        if key in draw:
            out[f"operational_{basis}"] = C.operational_g(e, draw[key], pue=pue, td_loss_frac=td)
    d = draw.get("device_time_s")
    if d is None and "active_power_w" in draw:
        d = e / draw["active_power_w"]
    if d is not None:
        out["device_time_s"] = d
    u = draw.get("utilisation_frac")
    if u is None and d is not None and r.rate_per_s is not None:
        u = C.utilisation_from_rate(r.rate_per_s, d)
    if u is not None:
        out["utilisation_frac"] = u
    if d is not None and u is not None:
        if "idle_power_w" in draw:
            share = 1.0 if r.tenancy_share_frac is None else r.tenancy_share_frac
            for pol in C.IDLE_POLICIES:
                att, unatt, pool = C.idle_split_j(draw["idle_power_w"], d, u, pol, share_frac=share)
                out[f"idle_attributed_j[{pol}]"] = att
                out[f"idle_unattributed_j[{pol}]"] = unatt
                out["idle_pool_j"] = pool
                for basis in ("location", "market", "marginal"):
                    key = f"intensity_{basis}_g_per_kwh"
                    if key in draw:
                        out[f"idle_{basis}[{pol}]"] = C.operational_g(
                            att, draw[key], pue=pue, td_loss_frac=td
                        )
        if "embodied_kg" in draw:
            out["embodied"] = C.embodied_g(draw["embodied_kg"], draw["lifetime_s"], d, u)
    if "training_t" in draw:
        out["training"] = C.training_g(draw["training_t"], float(r.lifetime_inferences or 1))
    if r.payload_bytes is not None and "network_kwh_per_gb" in draw:
        out["network"] = C.network_g(
            r.payload_bytes, draw["network_kwh_per_gb"], draw["intensity_location_g_per_kwh"]
        )
    return out


def _inputs(r: FootprintRequest) -> dict[str, Input]:
    names = (
        "energy_j",
        "intensity_location_g_per_kwh",
        "intensity_market_g_per_kwh",
        "intensity_marginal_g_per_kwh",
        "pue",
        "td_loss_frac",
        "device_time_s",
        "active_power_w",
        "utilisation_frac",
        "idle_power_w",
        "embodied_kg",
        "lifetime_s",
        "training_t",
        "network_kwh_per_gb",
    )
    out = {n: getattr(r, n) for n in names if getattr(r, n) is not None}
    if "embodied_kg" in out and "lifetime_s" not in out:
        raise InputError("an embodied figure needs a device lifetime", field="lifetime_s")
    return out


_BASES: tuple[Basis, ...] = ("location", "market", "marginal")
_NO_DEVICE_SHARE = (
    "device time or utilisation unknown (give --latency-s/--tier and --utilisation or a duty cycle)"
)


def _with_market_fallback(r: FootprintRequest, warn: list[str]) -> FootprintRequest:
    """The request with a market-based intensity: as given, or else the location-based one
    labelled as a fallback (warned with :class:`FallbackWarning` and noted in ``warn``)."""
    if r.intensity_market_g_per_kwh is not None:
        return r
    msg = (
        "no market-based instrument or supplier factor given: the market-based line "
        "falls back to the location-based intensity (labelled)"
    )
    # stacklevel 3: the warning names footprint()'s caller
    warnings.warn(msg, FallbackWarning, stacklevel=3)
    warn.append(msg)
    loc = r.intensity_location_g_per_kwh
    return r.with_(
        intensity_market_g_per_kwh=replace(
            loc,
            name="intensity_market_g_per_kwh",
            label="fallback: location-based",
            note="no contractual instruments given; the location-based figure is used",
        )
    )


@dataclass
class _Lines:
    """The line items of one footprint as they are composed: each from its point figure and
    the percentiles of its Monte Carlo draws, or excluded with the reason."""

    point: dict[str, FloatArray]
    mc: dict[str, FloatArray]
    scopes: dict[str, str]
    items: list[LineItem] = field(default_factory=list)

    def add(
        self,
        key: str,
        name: str,
        *,
        label: str,
        source: str,
        scope: str,
        basis: Basis,
        in_total: bool,
        energy_j: float | None = None,
        note: str | None = None,
    ) -> None:
        """Add the line computed under ``key`` (its point figure and its p5/p50/p95)."""
        p5, p50, p95 = percentiles(self.mc[key])
        self.items.append(
            LineItem(
                name,
                float(self.point[key]),
                p5,
                p95,
                p50,
                label,
                source,
                scope,
                basis,
                in_total,
                energy_j,
                note,
            )
        )

    def excluded(self, name: str, why: str, scope: str, basis: Basis) -> None:
        """Add a zero line, outside the totals, that says why it could not be computed."""
        self.items.append(
            LineItem(name, 0.0, 0.0, 0.0, 0.0, f"excluded: {why}", "-", scope, basis, False)
        )


def _operational_lines(lines: _Lines, r: FootprintRequest, inputs: Mapping[str, Input]) -> None:
    """operational_location, _market and _marginal: facility energy (x PUE, x (1 + T&D
    losses)) x each basis's intensity; the marginal line is excluded without a marginal
    signal."""
    td_central = r.td_loss_frac.central if r.td_loss_frac is not None else 0.0
    facility_j = r.energy_j.central * r.pue.central * (1.0 + td_central)
    for basis in _BASES:
        inp = inputs.get(f"intensity_{basis}_g_per_kwh")
        if inp is None:
            lines.excluded(
                "operational_marginal",
                "no marginal signal given",
                lines.scopes["marginal"],
                "marginal",
            )
            continue
        label = (
            inp.label
            if inp.label.startswith("fallback")
            else (f"{r.energy_j.label} energy x {inp.label} intensity")
        )
        lines.add(
            f"operational_{basis}",
            f"operational_{basis}",
            label=label,
            source=f"energy: {r.energy_j.source}; intensity: {inp.source}",
            scope=lines.scopes[basis],
            basis=basis,
            in_total=basis != "marginal",
            energy_j=facility_j,
        )


def _idle_lines(lines: _Lines, r: FootprintRequest, inputs: Mapping[str, Input]) -> dict[str, Any]:
    """idle_location, _market (and _marginal) under the request's idle policy, and the idle
    summary: the pool, its attributed and unattributed energy, and every policy side by side.
    Without a known idle pool both idle lines are excluded, and the summary says why."""
    point = lines.point
    idle_info: dict[str, Any] = {"policy": r.idle_policy}
    if "idle_pool_j" not in point:
        why = (
            "no idle power known (give --idle-power-w or --tier)"
            if r.idle_power_w is None
            else _NO_DEVICE_SHARE
        )
        lines.excluded("idle_location", why, lines.scopes["location"], "location")
        lines.excluded("idle_market", why, lines.scopes["market"], "market")
        idle_info["excluded"] = why
        return idle_info
    idle_src = inputs["idle_power_w"].source
    for basis in _BASES:
        if f"idle_{basis}[{r.idle_policy}]" not in point:
            continue
        intensity = inputs[f"intensity_{basis}_g_per_kwh"]
        fallback = (
            f"; {intensity.label} intensity" if intensity.label.startswith("fallback") else ""
        )
        lines.add(
            f"idle_{basis}[{r.idle_policy}]",
            f"idle_{basis}",
            label=f"modelled: idle policy {r.idle_policy}{fallback}",
            source=f"idle power: {idle_src}; utilisation: "
            + ("user" if r.utilisation_frac else "duty cycle")
            + f"; intensity: {intensity.source}",
            scope=lines.scopes[basis],
            basis=basis,
            in_total=basis != "marginal",
            energy_j=float(point[f"idle_attributed_j[{r.idle_policy}]"]),
        )
    idle_info.update(
        {
            "pool_j": float(point["idle_pool_j"]),
            "attributed_j": float(point[f"idle_attributed_j[{r.idle_policy}]"]),
            "unattributed_j": float(point[f"idle_unattributed_j[{r.idle_policy}]"]),
            "tenancy_share_frac": r.tenancy_share_frac
            if r.tenancy_share_frac is not None
            else "usage-proportional (1 of the pool)",
            "side_by_side_location_g": {
                pol: float(point[f"idle_location[{pol}]"]) for pol in C.IDLE_POLICIES
            },
            "side_by_side_market_g": {
                pol: float(point[f"idle_market[{pol}]"]) for pol in C.IDLE_POLICIES
            },
        }
    )
    return idle_info


def _embodied_line(lines: _Lines, r: FootprintRequest, inputs: Mapping[str, Input]) -> None:
    """The device's embodied carbon over its lifetime x this inference's wall-clock share."""
    if "embodied" in lines.point:
        emb = inputs["embodied_kg"]
        lines.add(
            "embodied",
            "embodied",
            label=emb.label,
            source=emb.source,
            scope=lines.scopes["embodied"],
            basis="both",
            in_total=True,
            note="device embodied carbon / lifetime x wall-clock share (device time / utilisation)",
        )
        return
    why = (
        "no embodied figure for the device (give --tier or --embodied-kg; none is published for T0)"
        if r.embodied_kg is None
        else _NO_DEVICE_SHARE
    )
    lines.excluded("embodied", why, lines.scopes["embodied"], "both")


def _training_line(lines: _Lines, r: FootprintRequest, inputs: Mapping[str, Input]) -> None:
    """The model's training emissions amortised over the inferences it serves."""
    if "training" not in lines.point:
        lines.excluded("training", "not published", lines.scopes["training"], "both")
        return
    tr = inputs["training_t"]
    lines.add(
        "training",
        "training",
        label=tr.label,
        source=tr.source,
        scope=lines.scopes["training"],
        basis="both",
        in_total=True,
        note=f"amortised over {r.lifetime_inferences:g} served inferences",
    )


def _network_line(lines: _Lines, r: FootprintRequest, inputs: Mapping[str, Input]) -> None:
    """The payload's network transfer: GB x kWh/GB x the serving region's intensity."""
    if "network" not in lines.point:
        lines.excluded(
            "network",
            "no payload size given" if r.payload_bytes is None else "no network coefficient given",
            lines.scopes["network"],
            "both",
        )
        return
    nw = inputs["network_kwh_per_gb"]
    lines.add(
        "network",
        "network",
        label=nw.label,
        source=nw.source,
        scope=lines.scopes["network"],
        basis="both",
        in_total=True,
        energy_j=float(r.payload_bytes or 0) / BYTES_PER_GB * nw.central * J_PER_KWH,
        note="payload GB x kWh/GB x location-based intensity of the serving region",
    )


def _basis_totals(
    r: FootprintRequest, point: Mapping[str, FloatArray], mc: Mapping[str, FloatArray]
) -> dict[str, BasisTotal]:
    """Per basis with an operational line: (point, p5, p50, p95) of its operational and idle
    lines plus the shared embodied, training and network lines."""
    totals: dict[str, BasisTotal] = {}
    keys_point: dict[str, list[str]] = {"location": [], "market": [], "marginal": []}
    for li_key in point:
        for basis in keys_point:
            if li_key == f"operational_{basis}" or li_key == f"idle_{basis}[{r.idle_policy}]":
                keys_point[basis].append(li_key)
    shared = [k for k in ("embodied", "training", "network") if k in point]
    for basis, ks in keys_point.items():
        if not ks:
            continue
        tot_p = sum((point[k] for k in ks + shared), np.float64(0.0))
        tot_mc = sum((mc[k] for k in ks + shared), np.zeros(r.samples))
        totals[basis] = BasisTotal(float(tot_p), *percentiles(np.asarray(tot_mc)))
    return totals


def _scaled(
    point: Mapping[str, FloatArray],
    totals: Mapping[str, BasisTotal],
    n: float,
) -> dict[str, float]:
    """The operational-location line and every basis's total (with the location range) for
    ``n`` inferences."""
    return {
        "operational_location_g": float(point["operational_location"]) * n,
        **{f"total_{b}_g": t.point_g * n for b, t in totals.items()},
        "total_location_low_g": totals["location"].p5_g * n,
        "total_location_high_g": totals["location"].p95_g * n,
    }


def _per_outcome(
    r: FootprintRequest,
    point: Mapping[str, FloatArray],
    totals: Mapping[str, BasisTotal],
) -> dict[str, Any] | None:
    """The figures per business outcome, when the request gives outcomes per inference."""
    if r.outcomes_per_inference is None:
        return None
    f = 1.0 / r.outcomes_per_inference
    return {
        "outcome": r.outcome_name,
        "outcomes_per_inference": r.outcomes_per_inference,
        "inferences_per_outcome": f,
        **_scaled(point, totals, f),
    }


def _per_period(
    r: FootprintRequest,
    point: Mapping[str, FloatArray],
    totals: Mapping[str, BasisTotal],
) -> dict[str, Any] | None:
    """The figures per shift, day and year at the request's duty-cycle rate, when it gives
    one."""
    if r.rate_per_s is None:
        return None
    per_period: dict[str, Any] = {"rate_per_s": r.rate_per_s}
    for pname, secs in (("shift", S_PER_SHIFT), ("day", S_PER_DAY), ("year", S_PER_YEAR)):
        n = r.rate_per_s * secs
        per_period[pname] = {"inferences": n, **_scaled(point, totals, n)}
    per_period["note"] = "shift = 8 h, year = 365 d, at the duty cycle rate_per_s"
    return per_period


def _assumptions(
    r: FootprintRequest,
    inputs: Mapping[str, Input],
    point: Mapping[str, FloatArray],
    mc: Mapping[str, FloatArray],
) -> list[dict[str, Any]]:
    """Every input's assumption, the derived device time and utilisation, the workload
    figures the user gave, the operating model, and the request's notes."""
    assumptions = [v.assumption() for v in inputs.values()]
    for name in ("device_time_s", "utilisation_frac"):
        if name in point and name not in inputs:
            lo, _, hi = percentiles(np.atleast_1d(mc[name]))
            assumptions.append(
                {
                    "name": name,
                    "value": float(point[name]),
                    "low": lo,
                    "high": hi,
                    "unit": name.rsplit("_", 1)[-1],
                    "label": "derived",
                    "source": "energy / active power"
                    if name == "device_time_s"
                    else "duty cycle x device time / devices needed",
                }
            )
    for name, v in (
        ("rate_per_s", r.rate_per_s),
        ("payload_bytes", r.payload_bytes),
        ("lifetime_inferences", r.lifetime_inferences),
        ("outcomes_per_inference", r.outcomes_per_inference),
        ("tenancy_share_frac", r.tenancy_share_frac),
    ):
        if v is not None:
            assumptions.append({"name": name, "value": v, "label": "user/workload"})
    assumptions.append(
        {
            "name": "operating_model",
            "value": r.operating_model,
            "note": "sets the GHG Protocol scope of each line",
        }
    )
    assumptions.extend({"name": "note", "value": n} for n in r.notes)
    return assumptions


def footprint(r: FootprintRequest) -> Footprint:
    """Compose the footprint of one inference (point figures + seeded Monte Carlo ranges)."""
    _validate(r)
    warn: list[str] = []
    r = _with_market_fallback(r, warn)
    inputs = _inputs(r)
    point = _evaluate(r, {k: np.asarray(v.central, dtype=np.float64) for k, v in inputs.items()})
    rng = np.random.default_rng(r.seed)
    mc = _evaluate(
        r,
        {k: np.asarray(v.dist.sample(rng, r.samples), dtype=np.float64) for k, v in inputs.items()},
    )
    lines = _Lines(point, mc, LINE_SCOPES[r.operating_model])
    _operational_lines(lines, r, inputs)
    idle_info = _idle_lines(lines, r, inputs)
    _embodied_line(lines, r, inputs)
    _training_line(lines, r, inputs)
    _network_line(lines, r, inputs)
    totals = _basis_totals(r, point, mc)
    return Footprint(
        region_id=r.region_id,
        region_name=r.region_name,
        energy_j=r.energy_j.central,
        intensity_g_per_kwh={
            b: (
                inputs[f"intensity_{b}_g_per_kwh"].central
                if f"intensity_{b}_g_per_kwh" in inputs
                else None
            )
            for b in ("location", "market", "marginal")
        },
        line_items=tuple(lines.items),
        totals_g=totals,
        idle=idle_info,
        per_outcome_g=_per_outcome(r, point, totals),
        per_period_g=_per_period(r, point, totals),
        assumptions=tuple(_assumptions(r, inputs, point, mc)),
        warnings=tuple(warn),
        samples=r.samples,
        seed=r.seed,
    )
