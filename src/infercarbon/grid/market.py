"""Market-based intensity (GHG Protocol Scope 2): contractual instruments over consumption.

Pure functions over arrays.  The result is always ``kind="market"`` and is never returned
as, or silently substituted by, the location-based figure: when neither a supplier-specific
factor nor a residual mix is given, the uncovered energy uses the location-based figure
*only* with a :class:`~infercarbon.errors.FallbackWarning`, and the result's ``label`` and
``fallback`` field say so.

Hierarchy applied to a region's consumption over a period (GHG Protocol Scope 2 Guidance,
Table 6.3): (1) instruments - PPAs, then energy attribute certificates (RECs, GOs) -
cover energy up to the consumption; (2) the remainder takes a supplier-specific factor,
else (3) a residual mix, else (4) the location-based figure, flagged as a fallback.

Quality criteria (Scope 2 Guidance ch. 7) enforced per instrument: its *region* (market
boundary) must equal the consumption's region, and its *vintage* (generation year) must
fall within the years of the consumption period.  A failing instrument raises
:class:`~infercarbon.errors.InputError` naming it (``strict=True``, the default) or is left
out, warned and listed in ``rejected``.

**Hourly CFE matching** (24/7): with ``hourly=True`` each instrument must carry an hourly
profile aligned with the consumption intervals; ``matched_h = min(consumption_h, supply_h)``,
surplus in one hour is not carried to another.  Annual certificates without a profile are
rejected in this mode.  Energy is conserved: ``matched + unmatched = consumption`` and
``matched + surplus = supply`` in every hour.

Energies are in kWh (``x 1000`` for MWh); factors in g/kWh.

>>> import numpy as np
>>> from infercarbon.provenance import Figure
>>> r = market_based(np.array([100.0, 100.0]), np.array(["2024-01-01T00", "2024-01-01T01"],
...     dtype="datetime64[s]"), 3600, "ERCOT",
...     eacs=[EAC("rec-1", 150.0, "ERCOT", 2024)],
...     residual_mix=Figure(500.0, "g_per_kwh", source="Green-e 2024", label="cited"))
>>> r.figure.value, r.coverage_kwh["eac"], r.coverage_kwh["residual_mix"]
(125.0, 150.0, 50.0)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import DataQualityWarning, FallbackWarning, InputError
from infercarbon.provenance import Figure

__all__ = ["EAC", "PPA", "MarketResult", "hourly_cfe_match", "market_based"]


@dataclass(frozen=True, slots=True)
class EAC:
    """An energy attribute certificate (REC, GO, I-REC) retired for the consumer.

    ``energy_kwh`` certified; ``vintage_year`` of generation; ``factor_g_per_kwh`` of the
    certified generation (0 for wind/solar); ``hourly_kwh`` optional granular profile aligned
    with the consumption intervals (granular certificates).
    """

    id: str
    energy_kwh: float
    region: str
    vintage_year: int
    factor_g_per_kwh: float = 0.0
    kind: str = "REC"
    hourly_kwh: FloatArray | None = None


@dataclass(frozen=True, slots=True)
class PPA:
    """A power purchase agreement's delivered volume (with its certificates bundled).

    ``hourly_kwh`` is the contracted plant's generation per consumption interval (needed for
    hourly matching); ``energy_kwh`` the period total (the profile's sum if a profile is given).
    """

    id: str
    energy_kwh: float
    region: str
    vintage_year: int
    factor_g_per_kwh: float = 0.0
    hourly_kwh: FloatArray | None = None


@dataclass(frozen=True)
class MarketResult:
    """Market-based intensity of a region and period with its coverage breakdown."""

    region: str
    figure: Figure
    emissions_g: float
    consumption_kwh: float
    coverage_kwh: dict[str, float]
    label: str
    fallback: bool
    rejected: tuple[tuple[str, str], ...] = ()
    surplus_kwh: float = 0.0
    hourly_cfe_frac: float | None = None
    kind: str = "market"
    notes: tuple[str, ...] = field(default=())


def hourly_cfe_match(
    consumption_kwh: npt.ArrayLike, supply_kwh: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Hour-by-hour matching: ``(matched, unmatched_consumption, surplus_supply)`` [kWh].

    >>> m, u, s = hourly_cfe_match([10.0, 10.0], [15.0, 5.0])
    >>> m.tolist(), u.tolist(), s.tolist()
    ([10.0, 5.0], [0.0, 5.0], [5.0, 0.0])
    """
    c = np.asarray(consumption_kwh, dtype=np.float64)
    s = np.asarray(supply_kwh, dtype=np.float64)
    if c.shape != s.shape:
        raise InputError(
            f"supply profile has shape {s.shape}, consumption {c.shape}", field="hourly_kwh"
        )
    if (c < 0).any() or (s < 0).any() or not (np.isfinite(c).all() and np.isfinite(s).all()):
        raise InputError("energies must be finite and non-negative", field="hourly_kwh")
    m = np.minimum(c, s)
    return m, c - m, s - m


def _check(inst: EAC | PPA, region: str, years: set[int], hourly: bool, n: int) -> str | None:
    if inst.region != region:
        return (
            f"region {inst.region!r} differs from the consumption region {region!r} "
            "(market boundary, Scope 2 Quality Criterion 6)"
        )
    if inst.vintage_year not in years:
        return (
            f"vintage {inst.vintage_year} is outside the consumption period "
            f"{min(years)}..{max(years)} (Scope 2 Quality Criterion 4)"
        )
    if inst.energy_kwh < 0 or not np.isfinite(inst.energy_kwh):
        return "energy_kwh must be finite and non-negative"
    if inst.factor_g_per_kwh < 0:
        return "factor_g_per_kwh must be non-negative"
    if hourly:
        if inst.hourly_kwh is None:
            return "hourly matching needs an hourly profile (hourly_kwh); annual certificate"
        if np.shape(inst.hourly_kwh) != (n,):
            return f"hourly_kwh has shape {np.shape(inst.hourly_kwh)}, consumption has ({n},)"
    return None


def market_based(
    consumption_kwh: npt.ArrayLike,
    start_utc: npt.ArrayLike,
    resolution_s: int,
    region: str,
    *,
    ppas: tuple[PPA, ...] | list[PPA] = (),
    eacs: tuple[EAC, ...] | list[EAC] = (),
    supplier: Figure | None = None,
    residual_mix: Figure | None = None,
    location: Figure | None = None,
    hourly: bool = False,
    strict: bool = True,
) -> MarketResult:
    """Market-based intensity [g/kWh] of ``region`` over the consumption intervals given.

    ``consumption_kwh[i]`` is consumed in ``[start_utc[i], start_utc[i] + resolution_s)``.
    Returns the figure (range from the residual factor's range), the coverage breakdown in
    kWh (``ppa``, ``eac``, ``supplier``, ``residual_mix``, ``location_fallback``), and the
    rejected instruments.
    """
    c = np.asarray(consumption_kwh, dtype=np.float64)
    t = np.asarray(start_utc, dtype="datetime64[s]")
    total, years = _checked_consumption(c, t, resolution_s)
    rejected: list[tuple[str, str]] = []
    valid = _valid_instruments(ppas, eacs, region, years, hourly, len(c), strict, rejected)
    coverage = {
        "ppa": 0.0,
        "eac": 0.0,
        "supplier": 0.0,
        "residual_mix": 0.0,
        "location_fallback": 0.0,
    }
    emissions, surplus, remaining = _claim_instruments(valid, c, hourly, coverage)
    uncovered = float(remaining.sum())
    cfe = (total - uncovered) / total if hourly else None

    fallback = False
    notes: list[str] = []
    residual_fig: Figure | None = None
    if uncovered > 0:
        key, residual_fig, fallback = _residual_factor(
            uncovered, region, supplier, residual_mix, location, notes
        )
        coverage[key] = uncovered
    res_v = 0.0 if residual_fig is None else residual_fig.value
    res_lo, res_hi = (0.0, 0.0) if residual_fig is None else residual_fig.range
    value = (emissions + uncovered * res_v) / total
    low = (emissions + uncovered * res_lo) / total
    high = (emissions + uncovered * res_hi) / total
    label = "market-based" + (" (location-based fallback: no residual mix)" if fallback else "")
    if hourly:
        label += " with hourly CFE matching"
    breakdown = ", ".join(f"{k} {v:.6g} kWh" for k, v in coverage.items() if v)
    fig = Figure(
        value,
        "g_per_kwh",
        source="market-based: contractual instruments"
        + (f" + {residual_fig.source}" if residual_fig is not None else ""),
        label="derived",
        low=low,
        high=high,
        note=f"{label}; coverage {breakdown}"
        + (f"; surplus instruments {surplus:.6g} kWh not carried" if surplus else ""),
    )
    return MarketResult(
        region,
        fig,
        value * total,
        total,
        coverage,
        label,
        fallback,
        tuple(rejected),
        surplus,
        cfe,
        "market",
        tuple(notes),
    )


def _checked_consumption(
    c: npt.NDArray[np.float64], t: npt.NDArray[np.datetime64], resolution_s: int
) -> tuple[float, set[int]]:
    """(total consumption [kWh], the calendar years the intervals touch), once the
    consumption series checks out."""
    if c.ndim != 1 or c.shape != t.shape or len(c) == 0:
        raise InputError(
            "consumption and times must be 1-D arrays of equal, non-zero length",
            field="consumption_kwh",
        )
    if not np.isfinite(c).all() or (c < 0).any():
        raise InputError("consumption must be finite and non-negative", field="consumption_kwh")
    if resolution_s <= 0:
        raise InputError("must be positive", field="resolution_s")
    total = float(c.sum())
    if total <= 0:
        raise InputError("no consumption in the period", field="consumption_kwh")
    first = t.min().astype("datetime64[Y]").astype(int) + 1970
    last = (t.max() + np.timedelta64(resolution_s - 1, "s")).astype("datetime64[Y]").astype(
        int
    ) + 1970
    return total, set(range(int(first), int(last) + 1))


def _valid_instruments(
    ppas: tuple[PPA, ...] | list[PPA],
    eacs: tuple[EAC, ...] | list[EAC],
    region: str,
    years: set[int],
    hourly: bool,
    n: int,
    strict: bool,
    rejected: list[tuple[str, str]],
) -> list[tuple[str, EAC | PPA]]:
    """The instruments that may be claimed, PPAs first: an invalid one raises (``strict``) or
    is rejected with the reason (recorded in ``rejected`` and warned)."""
    valid: list[tuple[str, EAC | PPA]] = []
    for kind, insts in (("ppa", ppas), ("eac", eacs)):
        for inst in insts:
            why = _check(inst, region, years, hourly, n)
            if why is None:
                valid.append((kind, inst))
                continue
            if strict:
                raise InputError(why, field=f"{kind}.{inst.id}")
            rejected.append((inst.id, why))
            # stacklevel 3: the warning names market_based()'s caller
            warnings.warn(f"instrument {inst.id} rejected: {why}", DataQualityWarning, stacklevel=3)
    return valid


def _claim_instruments(
    valid: list[tuple[str, EAC | PPA]],
    c: npt.NDArray[np.float64],
    hourly: bool,
    coverage: dict[str, float],
) -> tuple[float, float, npt.NDArray[np.float64]]:
    """Claim each instrument against the consumption, in order (hourly: matched hour by hour;
    annual: volumetric, spread proportionally): (emissions [g], surplus [kWh], the consumption
    left uncovered per interval [kWh]); ``coverage`` gains each kind's kWh."""
    emissions = 0.0
    surplus = 0.0
    remaining = c.copy()
    for kind, inst in valid:  # PPAs first, then certificates, in the order given
        if hourly:
            assert inst.hourly_kwh is not None  # checked above
            m, remaining, s = hourly_cfe_match(remaining, inst.hourly_kwh)
            used, extra = float(m.sum()), float(s.sum())
        else:
            left = float(remaining.sum())
            used = min(left, inst.energy_kwh)
            extra = inst.energy_kwh - used
            # spread the covered share proportionally over the intervals (volumetric claim)
            remaining = remaining * (1.0 - used / left) if left > 0 else remaining
        coverage[kind] += used
        emissions += used * inst.factor_g_per_kwh
        surplus += extra
    return emissions, surplus, remaining


def _residual_factor(
    uncovered: float,
    region: str,
    supplier: Figure | None,
    residual_mix: Figure | None,
    location: Figure | None,
    notes: list[str],
) -> tuple[str, Figure, bool]:
    """(coverage key, factor, location fallback?) for the uncovered consumption: the
    supplier's factor, else the residual mix, else the location-based figure (warned and
    noted); every figure given must be in g/kWh."""
    fallback = False
    if supplier is not None:
        key, residual_fig = "supplier", supplier
    elif residual_mix is not None:
        key, residual_fig = "residual_mix", residual_mix
    elif location is not None:
        key, residual_fig, fallback = "location_fallback", location, True
        msg = (
            f"no supplier-specific factor or residual mix for {region}: "
            f"{uncovered:.6g} kWh of uncovered consumption uses the location-based "
            "figure (this overstates renewables' share; supply a residual mix)"
        )
        # stacklevel 3: the warning names market_based()'s caller
        warnings.warn(msg, FallbackWarning, stacklevel=3)
        notes.append(msg)
    else:
        raise InputError(
            f"{uncovered:.6g} kWh are not covered by instruments and there is no supplier "
            "factor, residual mix, or location figure to fall back on",
            field="residual_mix",
        )
    for fig_name, fig in (
        ("supplier", supplier),
        ("residual_mix", residual_mix),
        ("location", location),
    ):
        if fig is not None and fig.unit != "g_per_kwh":
            raise InputError(f"unit must be g_per_kwh, got {fig.unit!r}", field=fig_name)
    return key, residual_fig, fallback
