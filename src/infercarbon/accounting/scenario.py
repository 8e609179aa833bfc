"""Build a footprint request from the ways people describe an inference.

Two ways, as in ``infercarbon estimate``:

- by workload, tier and region (``workload="WL-02", tier="T1", region="GB"``): energy is the
  seed's illustrative figure for that pair, device power, idle power, PUE and embodied come from
  the tier, the duty cycle and outcome rate from the workload;
- explicitly (``energy_j=`` or ``power_w=`` with ``latency_s=``, and ``region=``), optionally
  with a tier for the device figures.

Every explicit option overrides the preset it replaces, and every preset that is used is named
in the result's assumptions.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from infercarbon.accounting.footprint import Footprint, FootprintRequest, Input, footprint
from infercarbon.accounting.uncertainty import Dist, Fixed, Triangular, parse_quantity
from infercarbon.attribution.idle import IdlePolicy
from infercarbon.errors import FallbackWarning, InputError
from infercarbon.grid.signal import Basis
from infercarbon.provenance import LABELS, Figure
from infercarbon.reference import seed
from infercarbon.timeutil import parse_utc
from infercarbon.units import NS_PER_S, S_PER_YEAR

if TYPE_CHECKING:
    from infercarbon.reference.regions import Region

__all__ = ["EstimateOptions", "build_request", "estimate", "parse_rate"]

Q = str | float | None


@dataclass(frozen=True)
class EstimateOptions:
    """Options of ``infercarbon estimate``; numeric options accept ``1.8``, ``1.5..2.1`` or
    ``1.8[1.5,2.1]`` (see :func:`~infercarbon.accounting.uncertainty.parse_quantity`)."""

    region: str
    workload: str | None = None
    tier: str | None = None
    energy_j: Q = None
    power_w: Q = None
    latency_s: Q = None
    pue: Q = None
    td_loss_frac: Q = None
    idle_policy: IdlePolicy = "30-70"
    tenancy_share_frac: float | None = None
    idle_power_w: Q = None
    utilisation_frac: Q = None
    rate_per_s: float | None = None
    payload_bytes: float | None = None
    network: str = "fixed"
    outcome_rate: str | float | None = None
    outcome_name: str | None = None
    training_t: Q = None
    lifetime_inferences: float | None = None
    embodied_kg: Q = None
    lifetime_years: float | None = None
    intensity_g_per_kwh: Q = None
    market_intensity_g_per_kwh: Q = None
    marginal_intensity_g_per_kwh: Q = None
    operating_model: str | None = None
    #: when given, regions with a bundled hourly series (ERCOT) get the location-average and
    #: marginal intensity of the inference's own interval instead of the annual average
    time_utc: str | None = None
    basis: str = "lifecycle"
    samples: int = 10_000
    seed: int = 0
    #: an instruments file (``docs/instruments.md``): the market-based intensity is computed
    #: from it for the region (over the file's period, or the interval of ``time_utc``)
    instruments: str | None = None


def parse_rate(text: str | float, *, field: str) -> float:
    """``0.000667``, ``1/1500`` or ``1:1500`` -> a positive float."""
    try:
        v = float(Fraction(str(text).replace(":", "/").strip()))
    except (ValueError, ZeroDivisionError):
        raise InputError(
            f"{text!r} is not a rate (use e.g. 1/1500 or 0.000667)", field=field
        ) from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{text!r} must be > 0", field=field)
    return v


def _q(name: str, value: Q, unit: str) -> Input | None:
    if value is None:
        return None
    dist: Dist = parse_quantity(value, field=name)
    return Input.user(name, dist, unit)


def build_request(o: EstimateOptions) -> FootprintRequest:
    """Resolve presets (region, tier, workload) and options into a FootprintRequest."""
    from infercarbon.reference.regions import resolve_region  # lazy: loads the region table

    notes: list[str] = []
    if o.time_utc is not None:
        _parse_time(o.time_utc)  # a bad time is named before anything that depends on it
    region = resolve_region(o.region)
    tier = seed.get_tier(o.tier) if o.tier else None
    wl = seed.get_workload(o.workload) if o.workload else None
    if wl is not None and tier is None:
        raise InputError(
            "a workload needs a tier (e.g. --tier T1) to know the device", field="tier"
        )
    energy, latency, active_power = _energy_inputs(o, tier, wl)
    loc, market, marginal = _grid_inputs(o, region, latency, notes)
    pue = _pue_input(o, tier, notes)
    td = _q("td_loss_frac", o.td_loss_frac, "frac")
    idle_p, util = _idle_inputs(o, tier, notes)
    rate = o.rate_per_s if o.rate_per_s is not None else (wl.rate_per_s if wl else None)
    emb, lifetime = _embodied_inputs(o, tier)
    training = _training_input(o)
    net = _network_input(o)
    outcome_rate = (
        parse_rate(o.outcome_rate, field="outcome_rate")
        if o.outcome_rate is not None
        else (wl.outcomes_per_inference if wl else None)
    )
    return FootprintRequest(
        region_id=region.region_id,
        region_name=region.name,
        energy_j=energy,
        intensity_location_g_per_kwh=loc,
        intensity_market_g_per_kwh=market,
        intensity_marginal_g_per_kwh=marginal,
        pue=pue,
        td_loss_frac=td,
        device_time_s=latency,
        active_power_w=active_power,
        utilisation_frac=util,
        rate_per_s=rate,
        idle_power_w=idle_p,
        idle_policy=o.idle_policy,
        tenancy_share_frac=o.tenancy_share_frac,
        embodied_kg=emb,
        lifetime_s=lifetime,
        training_t=training,
        lifetime_inferences=o.lifetime_inferences,
        payload_bytes=o.payload_bytes,
        network_kwh_per_gb=net,
        outcomes_per_inference=outcome_rate,
        outcome_name=o.outcome_name or (wl.outcome if wl else "outcome"),
        operating_model=o.operating_model or (tier.operating_model if tier else "owned"),
        samples=o.samples,
        seed=o.seed,
        notes=tuple(notes),
    )


def _energy_inputs(
    o: EstimateOptions, tier: seed.Tier | None, wl: seed.Workload | None
) -> tuple[Input, Input | None, Input | None]:
    """(energy, device time, active power) of one inference: --energy-j, or --power-w x
    --latency-s, or else the workload's seed energy on the tier (whose active power then
    gives the device time)."""
    energy = _q("energy_j", o.energy_j, "j")
    power = _q("power_w", o.power_w, "w")
    latency = _q("device_time_s", o.latency_s, "s")
    for inp, opt in ((power, "--power-w"), (latency, "--latency-s")):
        if inp is not None and inp.dist.low < 0:
            raise InputError(
                f"{opt} must not be negative (got {inp.dist.low:g})",
                field=opt.removeprefix("--").replace("-", "_"),
            )
    if energy is not None and power is not None:
        raise InputError(
            "give either --energy-j or --power-w with --latency-s, not both", field="energy_j"
        )
    if power is not None:
        if latency is None:
            raise InputError(
                "--power-w needs --latency-s (energy = power x latency)", field="latency_s"
            )
        energy = Input(
            "energy_j",
            _product(power.dist, latency.dist),
            "j",
            "user input: power x latency",
            "user",
        )
    if energy is None:
        if wl is None or tier is None:
            raise InputError(
                "describe the inference by --workload and --tier, or give "
                "--energy-j (or --power-w with --latency-s)",
                field="energy_j",
            )
        energy = Input.of("energy_j", seed.seed_energy_j(wl.workload_id, tier.tier_id))
    active_power = (
        Input.of("active_power_w", tier.active_power_w)
        if tier is not None and latency is None and power is None
        else None
    )
    return energy, latency, active_power


def _grid_inputs(
    o: EstimateOptions, region: Region, latency: Input | None, notes: list[str]
) -> tuple[Input, Input | None, Input | None]:
    """(location, market, marginal) intensities: the user's figures, the region's annual
    average, the bundled hourly signals over the inference's interval (--time-utc), and the
    market figure from an instruments file."""
    if o.intensity_g_per_kwh is not None:
        loc = _q("intensity_location_g_per_kwh", o.intensity_g_per_kwh, "g_per_kwh")
        assert loc is not None
        notes.append(
            f"location intensity given by the user, not the bundled figure for {region.region_id}"
        )
    else:
        loc = Input.of("intensity_location_g_per_kwh", region.intensity_g_per_kwh)
        loc = Input(
            loc.name,
            loc.dist,
            loc.unit,
            loc.source,
            loc.label,
            f"annual location-based average, {region.basis} basis",
            loc.vintage,
        )
    market = _q("intensity_market_g_per_kwh", o.market_intensity_g_per_kwh, "g_per_kwh")
    marginal = _q("intensity_marginal_g_per_kwh", o.marginal_intensity_g_per_kwh, "g_per_kwh")
    if o.time_utc is not None:
        span_s = latency.central if latency is not None else 0.0
        if o.intensity_g_per_kwh is None:
            loc = _interval_signal(
                "intensity_location_g_per_kwh", region.region_id, o, span_s, marginal=False
            )
        if marginal is None:
            marginal = _interval_signal(
                "intensity_marginal_g_per_kwh", region.region_id, o, span_s, marginal=True
            )
    if o.instruments is not None:
        if market is not None:
            raise InputError(
                "give --instruments or --market-intensity-g-per-kwh, not both", field="instruments"
            )
        market = _instruments_market(o, loc, notes)
    return loc, market, marginal


def _pue_input(o: EstimateOptions, tier: seed.Tier | None, notes: list[str]) -> Input:
    """--pue, else the tier's default PUE (noted), else 1.0: IT energy only (warned)."""
    if o.pue is not None:
        pue = _q("pue", o.pue, "ratio")
        assert pue is not None
        return pue
    if tier is not None:
        notes.append(
            f"--pue not given: the tier's default PUE ({tier.pue_preset}, "
            f"{tier.pue.value:g}) is used"
        )
        return Input.of("pue", tier.pue, shift=1.0)
    msg = "--pue not given and no --tier: IT energy only (PUE 1.0)"
    # stacklevel 3: the warning names build_request()'s caller
    warnings.warn(msg, FallbackWarning, stacklevel=3)
    notes.append(msg)
    return Input("pue", Fixed(1.0), "ratio", "fallback: no PUE given", "user", msg)


def _idle_inputs(
    o: EstimateOptions, tier: seed.Tier | None, notes: list[str]
) -> tuple[Input | None, Input | None]:
    """(idle power, utilisation): the user's, else the tier's idle power and, for a cloud
    tier, an assumed shared-accelerator utilisation (noted)."""
    idle_p = _q("idle_power_w", o.idle_power_w, "w")
    if idle_p is None and tier is not None:
        idle_p = Input.of("idle_power_w", tier.idle_power_w)
    util = _q("utilisation_frac", o.utilisation_frac, "frac")
    if util is None and tier is not None and tier.operating_model == "cloud":
        util = Input.of("utilisation_frac", seed.CLOUD_UTILISATION_FRAC)
        notes.append(
            "cloud tier without --utilisation: a shared accelerator is assumed "
            f"{seed.CLOUD_UTILISATION_FRAC.value:g} utilised (0.3..0.7)"
        )
    return idle_p, util


def _embodied_inputs(
    o: EstimateOptions, tier: seed.Tier | None
) -> tuple[Input | None, Input | None]:
    """(embodied carbon, device lifetime): the user's or the tier's embodied figure, over
    --lifetime-years, the tier's lifetime, or the default lifetime."""
    emb = _q("embodied_kg", o.embodied_kg, "kg")
    if emb is None and tier is not None and tier.embodied_kg is not None:
        emb = Input.of("embodied_kg", tier.embodied_kg)
    if emb is None:
        return None, None
    if o.lifetime_years is not None:
        if not (math.isfinite(o.lifetime_years) and o.lifetime_years > 0):
            raise InputError(f"{o.lifetime_years!r} must be > 0 years", field="lifetime_years")
        return emb, Input.user("lifetime_s", o.lifetime_years * S_PER_YEAR, "s")
    if tier is not None and o.embodied_kg is None:
        return emb, Input.of("lifetime_s", tier.lifetime_s)
    return emb, Input.of("lifetime_s", seed.LIFETIME_S)


def _training_input(o: EstimateOptions) -> Input | None:
    """The model's published training footprint [t CO2e], labelled cited."""
    training = _q("training_t", o.training_t, "t")
    if training is None:
        return None
    return Input(
        training.name, training.dist, "t", "user input: published training footprint", "cited"
    )


def _network_input(o: EstimateOptions) -> Input | None:
    """The network's kWh per GB, when a payload size is given."""
    if o.payload_bytes is None:
        return None
    if o.network not in seed.NETWORK_KWH_PER_GB:
        raise InputError(f"must be one of {', '.join(seed.NETWORK_KWH_PER_GB)}", field="network")
    return Input.of("network_kwh_per_gb", seed.NETWORK_KWH_PER_GB[o.network])


def _parse_time(text: str) -> np.datetime64:
    t = parse_utc(text, field="time_utc", naive_is_utc=True)
    return np.datetime64(t.replace(tzinfo=None), "s")


def _interval_signal(
    name: str, region_id: str, o: EstimateOptions, span_s: float, *, marginal: bool
) -> Input:
    """The bundled hourly signal over the inference's interval (time-weighted = energy-weighted
    at constant power)."""
    from infercarbon.grid import catalogue

    if o.basis not in ("direct", "lifecycle"):
        raise InputError("basis must be direct or lifecycle", field="basis")
    basis: Basis = "direct" if o.basis == "direct" else "lifecycle"
    series = (catalogue.hourly_marginal if marginal else catalogue.hourly_location)(
        region_id, basis
    )
    start = _parse_time(o.time_utc or "")
    end = start + np.timedelta64(round(span_s * NS_PER_S), "ns")
    v, lo, hi = (float(series.integrate(start, end, which=w)[0]) for w in ("value", "low", "high"))
    p = series.provenance
    kind = "marginal" if marginal else "hourly location-average"
    return Input(
        name,
        Triangular(lo, v, hi),
        "g_per_kwh",
        f"{p.source} ({p.version})",
        p.label,
        f"{kind} intensity at {o.time_utc}, {basis} basis; {p.method}",
    )


def _instruments_market(o: EstimateOptions, loc: Input, notes: list[str]) -> Input:
    """Market-based intensity from an instruments file, with the location figure only as a
    labelled fallback for consumption that no instrument, supplier factor or residual mix
    covers."""
    from infercarbon.grid.instruments import load_instruments, market_from_instruments

    path = o.instruments or ""
    f = load_instruments(path)
    if f.consumption is None:
        raise InputError(
            f"{path} has no consumption section: the market-based figure needs "
            "the consumption the instruments cover (see docs/instruments.md)",
            field="instruments",
        )
    lo, hi = loc.dist.low, loc.dist.high
    location = Figure(
        loc.central,
        "g_per_kwh",
        source=loc.source,
        label=loc.label if loc.label in LABELS else "derived",
        low=min(lo, loc.central),
        high=max(hi, loc.central),
        note=loc.note,
    )
    at = _parse_time(o.time_utc) if o.time_utc is not None else None
    r = market_from_instruments(f, region=o.region, location=location, at_utc=at, strict=False)
    low, high = r.figure.range
    dist: Dist = Triangular(low, r.figure.value, high) if high > low else Fixed(r.figure.value)
    label = f"fallback: {r.label}" if r.fallback else r.label
    cons = f.consumption
    period = f"[{cons.from_utc}Z, {cons.to_utc}Z)"
    extra = [f"instrument {i} rejected: {why}" for i, why in r.rejected]
    notes.extend(f"market-based ({path}): {n}" for n in (*r.notes, *extra))
    return Input(
        "intensity_market_g_per_kwh",
        dist,
        "g_per_kwh",
        r.figure.source,
        label,
        f"{r.figure.note}; period {period}",
        period,
    )


def _product(a: Dist, b: Dist) -> Dist:
    """Energy = power x latency: exact for points; for ranges, a triangular over the
    product's bounds with the product of the central values as mode."""
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        return Fixed(a.value * b.value)
    return Triangular(a.low * b.low, a.central * b.central, a.high * b.high)


def estimate(o: EstimateOptions) -> Footprint:
    """Build the request and compose its footprint."""
    return footprint(build_request(o))
