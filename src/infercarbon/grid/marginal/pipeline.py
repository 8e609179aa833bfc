"""Merit-order marginal emissions from an observed fuel mix and a bundled unit inventory.

Glue between :mod:`.inventory` (stacks per year and season) and :mod:`.merit_order`
(vectorised dispatch): fuels of the observed mix are split into *stack* fuels (coal,
lignite, gas, oil — met by the supply stack) and *must-run* fuels (everything else: nuclear,
wind, solar, hydro, biomass, other), and the residual load ``load - must-run`` is dispatched
against the stack of the interval's year and season.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import FallbackWarning, InputError
from infercarbon.grid.marginal.calendar import SEASONS, season_index
from infercarbon.grid.marginal.inventory import (
    FuelCo2,
    Inventory,
    StackInfo,
    build_region_stack,
)
from infercarbon.grid.marginal.merit_order import MeritOrderResult, SupplyStack, dispatch_groups
from infercarbon.units import G_PER_KG, G_PER_LB, G_PER_T

__all__ = [
    "AUTO_LOAD_ONLY",
    "AUTO_WITH_MIX",
    "METHODS",
    "MeritOrderRun",
    "TableMarginal",
    "is_stack_fuel",
    "marginal_for_table",
    "merit_order_from_mix",
    "unique_notes",
]

_STACK_PREFIXES = (
    "coal",
    "lignite",
    "hard_coal",
    "hard coal",
    "gas",
    "natural gas",
    "natural_gas",
    "oil",
    "diesel",
    "petroleum",
    "fossil",
)


def unique_notes(infos: Sequence[StackInfo]) -> list[str]:
    """The stacks' notes, each distinct message once, in first-seen order.

    The fallback note of a stack names region and year, not season, so the four seasonal
    stacks of a year give one message.
    """
    return list(dict.fromkeys(n for info in infos for n in info.notes))


def is_stack_fuel(fuel: str) -> bool:
    """True for fuels met by the dispatchable stack (coal, lignite, gas, oil, diesel).

    >>> [is_stack_fuel(f) for f in ("Gas-CC", "coal", "wind", "nuclear")]
    [True, True, False, False]
    """
    f = fuel.strip().lower()
    return f.startswith(_STACK_PREFIXES)


@dataclass(frozen=True)
class MeritOrderRun:
    """A dispatch over a period: per-interval result plus what went into each stack."""

    result: MeritOrderResult
    residual_mw: FloatArray
    must_run_mw: FloatArray
    stacks: list[SupplyStack]
    infos: list[StackInfo]
    group: npt.NDArray[np.int64]


def merit_order_from_mix(
    time_utc: npt.NDArray[np.datetime64],
    load_mw: npt.ArrayLike,
    mix_mw: npt.ArrayLike,
    fuels: Sequence[str],
    *,
    inventory: Inventory,
    co2: FuelCo2,
    interval_s: int,
    time_local: npt.NDArray[np.datetime64] | None = None,
    availability_frac: dict[str, float] | None = None,
    heat_rate_scale: dict[str, float] | None = None,
    fuel_price_override: dict[str, float] | None = None,
    band_frac: float = 0.03,
    warn: bool = True,
) -> MeritOrderRun:
    """Dispatch ``load - must-run`` against the inventory's stack for each year x season.

    Parameters
    ----------
    time_utc : datetime64 array
        Interval starts (UTC); the year picks fuel prices and the fleet in service.
    load_mw : array
        Mean load of each interval [MW].
    mix_mw : array (n, k)
        Observed generation by fuel, mean power [MW]; only must-run columns are used.
    fuels : k names
        Fuel of each column (see :func:`is_stack_fuel`).
    time_local : datetime64 array, optional
        Wall-clock times for the season (capability ratings); defaults to ``time_utc``.
    warn : bool
        Warn the fallbacks the stacks took, once per distinct message for the whole run
        (not once per year x season stack); they are always in ``infos[i].notes``.
    """
    t = np.asarray(time_utc, dtype="datetime64[s]")
    load = np.asarray(load_mw, dtype=np.float64)
    mix = np.asarray(mix_mw, dtype=np.float64)
    if mix.ndim != 2 or mix.shape != (len(t), len(fuels)) or load.shape != (len(t),):
        raise InputError(
            "mix must be (n, k) with n times, n loads and k fuel names", field="mix_mw"
        )
    must = np.array([not is_stack_fuel(f) for f in fuels], dtype=bool)
    must_run = mix[:, must].sum(axis=1) if must.any() else np.zeros(len(t))
    residual = load - must_run
    tl = t if time_local is None else np.asarray(time_local, dtype="datetime64[s]")
    year = t.astype("datetime64[Y]").astype(np.int64) + 1970
    season = season_index(tl)
    key = year * 4 + season
    uniq, group = np.unique(key, return_inverse=True)
    stacks: list[SupplyStack] = []
    infos: list[StackInfo] = []
    for k in uniq.tolist():  # one stack per year x season present (a handful)
        st, info = build_region_stack(
            inventory,
            year=int(k // 4),
            season=SEASONS[int(k % 4)],
            co2=co2,
            availability_frac=availability_frac,
            heat_rate_scale=heat_rate_scale,
            fuel_price_override=fuel_price_override,
            warn=False,
        )
        stacks.append(st)
        infos.append(info)
    if warn:
        for msg in unique_notes(infos):
            warnings.warn(msg, FallbackWarning, stacklevel=2)
    res = dispatch_groups(stacks, group, residual, interval_s=interval_s, band_frac=band_frac)
    return MeritOrderRun(res, residual, must_run, stacks, infos, group.astype(np.int64))


# ----------------------------------------------------------------- user tables
EMISSIONS_UNITS_G: dict[str, float] = {
    "g": 1.0,
    "kg": float(G_PER_KG),
    "t": float(G_PER_T),
    "lb": G_PER_LB,
}
#: energy of one interval [kWh] per unit of the load column, given interval hours
LOAD_UNITS: tuple[str, ...] = ("MW", "MWh", "kW", "kWh")


def _to_kwh(x: FloatArray, unit: str, hours: float) -> FloatArray:
    if unit == "MW":
        return x * 1000.0 * hours
    if unit == "MWh":
        return x * 1000.0
    if unit == "kW":
        return x * hours
    if unit == "kWh":
        return x
    raise InputError(f"load unit must be one of {', '.join(LOAD_UNITS)}", field="load-unit")


#: Methods of :func:`marginal_for_table`.
METHODS: tuple[str, ...] = ("auto", "observed-stack", "regression", "fuel-response", "merit-order")
#: The back-test's winners (:func:`infercarbon.grid.marginal.harness.choose_default`; a test
#: re-runs the back-test and checks these): with a fuel mix, and with load and emissions only.
AUTO_WITH_MIX = "observed-stack"
AUTO_LOAD_ONLY: tuple[str, str] = ("regression", "emissions-decile")


@dataclass(frozen=True)
class TableMarginal:
    """Per-interval output of :func:`marginal_for_table`."""

    time: npt.NDArray[np.datetime64]
    mef_g_per_kwh: FloatArray
    ci_low_g_per_kwh: FloatArray
    ci_high_g_per_kwh: FloatArray
    method: str
    marginal: list[str]
    interval_s: int
    notes: list[str]


def marginal_for_table(
    time: npt.NDArray[np.datetime64],
    load: FloatArray,
    *,
    method: str = "auto",
    emissions: FloatArray | None = None,
    emissions_unit: str = "kg",
    fuel_columns: Sequence[tuple[FloatArray, str]] = (),
    bins: str | None = None,
    load_unit: str = "MW",
    region: str | None = None,
    basis: str = "direct",
    factor_set: str = "infercarbon",
    ci: str = "hc1",
    rng: np.random.Generator | None = None,
    time_local: npt.NDArray[np.datetime64] | None = None,
    interval_s: int,
    calibrate: bool = True,
    heat_input_columns: Sequence[tuple[FloatArray, str]] = (),
    fuel_emissions_columns: Sequence[tuple[FloatArray, str]] = (),
    rates_by: str = "bin",
) -> TableMarginal:
    """Marginal factors for an operator-style table (the ``grid marginal`` CLI core).

    ``load`` and the fuel columns are in ``load_unit`` (mean MW over each interval by
    default); ``emissions`` is the interval total in ``emissions_unit``.

    Methods: ``auto`` (the default) takes the back-test's winner for the table given
    (:data:`AUTO_WITH_MIX` when fuel columns are given, else :data:`AUTO_LOAD_ONLY`; see
    :mod:`.harness` and ``docs/marginal_backtest.md``).  ``observed-stack``
    (:mod:`.stack_fit`) uses the emissions column (else Σ generation x fuel rate) and, when
    given, the fuel columns for the stack's load and the marginal fuel.  ``regression`` uses
    either the emissions column or the fuel columns (emissions = Σ generation x fuel rate
    from :mod:`infercarbon.grid.factors`, lifecycle rates from ``factor_set``); ``bins``
    defaults to ``decile``.  Merit order uses the bundled inventory of ``region`` with the
    fuel columns as the observed mix; with ``calibrate`` (the default) and a coal or lignite
    column, the stack is calibrated each month to the observed coal output
    (:mod:`.mix_calibration`).

    ``fuel-response`` (:mod:`.fuel_response`) regresses each fuel column's change on the
    load change by ``bins`` (default ``decile-season``) and multiplies by per-fuel direct
    rates from the table: ``heat_input_columns`` ((MMBtu per interval, fuel)) x the EPA factor
    of the fuel / its generation, or ``fuel_emissions_columns`` ((emissions in
    ``emissions_unit``, fuel)) / its generation, by bin (``rates_by="bin"``) or over the
    table (``"table"``); other stack fuels take rates fitted to ``emissions`` (least
    squares, after the known fuels' emissions), else their direct factor rates; non-stack
    fuels their direct factor rates (0 for wind, solar, nuclear, hydro).
    """
    from infercarbon.grid import factors

    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}", field="method")
    bins_given = bins
    factors.check_factor_set(factor_set)
    hours = interval_s / 3600.0
    load_kwh = _to_kwh(np.asarray(load, dtype=np.float64), load_unit, hours)
    fuels = [factors.canonical_fuel(f) for _, f in fuel_columns]
    notes: list[str] = []
    if emissions is not None and emissions_unit not in EMISSIONS_UNITS_G:
        raise InputError(f"must be one of {', '.join(EMISSIONS_UNITS_G)}", field="emissions-unit")
    if method == "auto":
        method, bins = _auto_method(bins, emissions, fuel_columns, notes)
    if (heat_input_columns or fuel_emissions_columns) and method != "fuel-response":
        notes.append(
            f"heat-input and per-fuel emissions columns are used by --method "
            f"fuel-response; {method} does not read them"
        )
    table = _Table(time, load_kwh, emissions, emissions_unit, fuel_columns, fuels, load_unit, hours)
    if method == "observed-stack":
        return _observed_stack_table(
            table,
            region=region,
            basis=basis,
            factor_set=factor_set,
            time_local=time_local,
            interval_s=interval_s,
            notes=notes,
        )
    bins = bins or "decile"
    if method == "regression":
        return _regression_table(
            table,
            bins=bins,
            region=region,
            basis=basis,
            factor_set=factor_set,
            ci=ci,
            rng=rng,
            time_local=time_local,
            interval_s=interval_s,
            notes=notes,
        )
    if method == "fuel-response":
        return _fuel_response_table(
            time,
            load_kwh,
            emissions,
            emissions_unit,
            fuel_columns,
            fuels,
            heat_input_columns,
            fuel_emissions_columns,
            bins=bins_given,
            load_unit=load_unit,
            region=region,
            basis=basis,
            ci=ci,
            rng=rng,
            time_local=time_local,
            interval_s=interval_s,
            rates_by=rates_by,
            notes=notes,
        )
    if method == "merit-order":
        return _merit_order_table(
            table,
            region=region,
            basis=basis,
            calibrate=calibrate,
            time_local=time_local,
            interval_s=interval_s,
            notes=notes,
        )
    raise InputError(f"method must be one of {', '.join(METHODS)}", field="method")


def _auto_method(
    bins: str | None,
    emissions: FloatArray | None,
    fuel_columns: Sequence[tuple[FloatArray, str]],
    notes: list[str],
) -> tuple[str, str | None]:
    """``method="auto"``: the back-test's winner for a table with or without a fuel mix (and
    its bins), noted."""
    if emissions is None and not fuel_columns:
        raise InputError("give --emissions, --fuel columns, or both", field="emissions")
    if fuel_columns:
        method = AUTO_WITH_MIX
    else:
        method, bins = AUTO_LOAD_ONLY[0], bins or AUTO_LOAD_ONLY[1]
    notes.append(
        f"method auto: {method}{f' ({bins} bins)' if method == 'regression' else ''}"
        f", the back-test winner for tables {'with' if fuel_columns else 'without'}"
        " a fuel mix (docs/marginal_backtest.md)"
    )
    return method, bins


@dataclass(frozen=True)
class _Table:
    """The operator table's columns: times, load [kWh per interval], the emissions column
    (in ``emissions_unit``), the fuel columns (in ``load_unit``) with canonical fuel names,
    and the interval length [h]."""

    time: npt.NDArray[np.datetime64]
    load_kwh: FloatArray
    emissions: FloatArray | None
    emissions_unit: str
    fuel_columns: Sequence[tuple[FloatArray, str]]
    fuels: list[str]
    load_unit: str
    hours: float

    def generation_kwh(self) -> FloatArray:
        """Generation by fuel [kWh per interval], one column per fuel column."""
        return np.column_stack(
            [_to_kwh(c, self.load_unit, self.hours) for c, _ in self.fuel_columns]
        )


def _fuel_rates(
    fuels: Sequence[str], basis: str, region: str | None, factor_set: str
) -> FloatArray:
    """Each fuel's direct or lifecycle rate [g/kWh] (:func:`infercarbon.grid.factors.fuel_rate`)."""
    from infercarbon.grid import factors

    if basis not in ("direct", "lifecycle"):
        raise InputError("basis must be direct or lifecycle", field="basis")
    b: Literal["direct", "lifecycle"] = "direct" if basis == "direct" else "lifecycle"
    return np.array(
        [factors.fuel_rate(f, b, region=region, factor_set=factor_set).value for f in fuels]
    )


def _observed_stack_table(
    table: _Table,
    *,
    region: str | None,
    basis: str,
    factor_set: str,
    time_local: npt.NDArray[np.datetime64] | None,
    interval_s: int,
    notes: list[str],
) -> TableMarginal:
    """``method="observed-stack"`` of :func:`marginal_for_table`."""
    from infercarbon.grid.marginal.stack_fit import fit_observed_stack

    if basis not in ("direct", "lifecycle"):
        raise InputError("basis must be direct or lifecycle", field="basis")
    if table.emissions is None and not table.fuel_columns:
        raise InputError("observed-stack needs --emissions or --fuel columns", field="emissions")
    gen = table.generation_kwh() if table.fuel_columns else None
    if table.emissions is not None:
        e_g = (
            np.asarray(table.emissions, dtype=np.float64) * EMISSIONS_UNITS_G[table.emissions_unit]
        )
    else:
        assert gen is not None
        e_g = gen @ _fuel_rates(table.fuels, basis, region, factor_set)
        notes.append(f"emissions = generation by fuel x {basis} fuel rates")
    res_s = fit_observed_stack(
        table.time,
        table.load_kwh,
        e_g,
        generation_kwh=gen,
        fuels=table.fuels,
        dispatchable=[is_stack_fuel(f) for f in table.fuels] if gen is not None else None,
        time_local=time_local,
    )
    notes.extend(res_s.notes)
    return TableMarginal(
        res_s.time,
        res_s.mef_g_per_kwh,
        res_s.low_g_per_kwh,
        res_s.high_g_per_kwh,
        res_s.method,
        res_s.marginal,
        interval_s,
        notes,
    )


def _regression_table(
    table: _Table,
    *,
    bins: str,
    region: str | None,
    basis: str,
    factor_set: str,
    ci: str,
    rng: np.random.Generator | None,
    time_local: npt.NDArray[np.datetime64] | None,
    interval_s: int,
    notes: list[str],
) -> TableMarginal:
    """``method="regression"`` of :func:`marginal_for_table`: on the emissions column, or on
    the fuel columns x their rates."""
    from infercarbon.grid.marginal.regression import regress_fuel_mix, regress_mef

    if (table.emissions is None) == (not table.fuel_columns):
        raise InputError("give either --emissions or --fuel columns (not both)", field="emissions")
    kwargs: dict[str, Any] = {
        "bins": bins,
        "ci": ci,
        "rng": rng,
        "interval_s": interval_s,
        "time_local": time_local,
    }
    if table.emissions is not None:
        res = regress_mef(
            table.time,
            table.load_kwh,
            table.emissions * EMISSIONS_UNITS_G[table.emissions_unit],
            **kwargs,
        )
    else:
        rates = _fuel_rates(table.fuels, basis, region, factor_set)
        res = regress_fuel_mix(
            table.time,
            table.generation_kwh(),
            rates,
            table.fuels,
            load_kwh=table.load_kwh,
            **kwargs,
        )
    notes.extend(res.notes)
    marg = res.marginal_fuel or list(np.asarray(res.bins.label, dtype=object)[res.bin_id])
    return TableMarginal(
        res.time,
        res.mef_g_per_kwh,
        res.low_g_per_kwh,
        res.high_g_per_kwh,
        res.method,
        [str(m) for m in marg],
        interval_s,
        notes,
    )


def _merit_order_table(
    table: _Table,
    *,
    region: str | None,
    basis: str,
    calibrate: bool,
    time_local: npt.NDArray[np.datetime64] | None,
    interval_s: int,
    notes: list[str],
) -> TableMarginal:
    """``method="merit-order"`` of :func:`marginal_for_table`: the bundled inventory's stack
    against the observed mix, calibrated to the observed coal when it can be."""
    from infercarbon.grid.marginal.inventory import default_fuel_co2, load_inventory

    if not region:
        raise InputError("merit order needs --region (ERCOT or DE)", field="region")
    if not table.fuel_columns:
        raise InputError(
            "merit order needs the observed mix as --fuel COL=FUEL columns", field="fuel"
        )
    if basis != "direct":
        raise InputError("merit order gives direct (combustion) rates only", field="basis")
    inv = load_inventory(region)
    hours = table.hours
    mix_mw = np.column_stack(
        [_to_kwh(c, table.load_unit, hours) / (1000.0 * hours) for c, _ in table.fuel_columns]
    )
    load_mw = table.load_kwh / (1000.0 * hours)
    fuels = table.fuels
    has_coal = any(f in ("coal", "lignite") for f in fuels)
    if calibrate and has_coal:
        from infercarbon.grid.marginal.mix_calibration import merit_order_calibrated

        cal = merit_order_calibrated(
            table.time,
            load_mw,
            mix_mw,
            fuels,
            inventory=inv,
            co2=default_fuel_co2(inv.region),
            interval_s=interval_s,
            time_local=time_local,
            must_run=[not is_stack_fuel(f) for f in fuels],
        )
        notes.extend(cal.notes)
        r = cal.result
    else:
        if calibrate:
            notes.append("not calibrated: the mix has no coal or lignite column")
        run = merit_order_from_mix(
            table.time,
            load_mw,
            mix_mw,
            fuels,
            inventory=inv,
            co2=default_fuel_co2(inv.region),
            interval_s=interval_s,
            time_local=time_local,
        )
        notes.extend(unique_notes(run.infos))
        r = run.result
    marg = [f"{u} ({f})" for u, f in zip(r.unit_id, r.fuel, strict=True)]
    return TableMarginal(
        table.time,
        r.mef_g_per_kwh,
        r.low_g_per_kwh,
        r.high_g_per_kwh,
        r.method,
        marg,
        interval_s,
        notes,
    )


def _match_fuel(fuels: Sequence[str], fuel: str, field: str) -> int:
    from infercarbon.grid import factors

    f = factors.canonical_fuel(fuel)
    hits = [j for j, x in enumerate(fuels) if x == f]
    if len(hits) != 1:
        raise InputError(
            f"{fuel!r} must name exactly one --fuel column's fuel (the fuels are "
            f"{', '.join(fuels) or 'none'})",
            field=field,
        )
    return hits[0]


def _fuel_response_table(
    time: npt.NDArray[np.datetime64],
    load_kwh: FloatArray,
    emissions: FloatArray | None,
    emissions_unit: str,
    fuel_columns: Sequence[tuple[FloatArray, str]],
    fuels: list[str],
    heat_input_columns: Sequence[tuple[FloatArray, str]],
    fuel_emissions_columns: Sequence[tuple[FloatArray, str]],
    *,
    bins: str | None,
    load_unit: str,
    region: str | None,
    basis: str,
    ci: str,
    rng: np.random.Generator | None,
    time_local: npt.NDArray[np.datetime64] | None,
    interval_s: int,
    rates_by: str,
    notes: list[str],
) -> TableMarginal:
    """``method="fuel-response"`` of :func:`marginal_for_table`."""
    from infercarbon.grid import factors
    from infercarbon.grid.marginal.fuel_response import (
        epa_factors_g_per_mmbtu,
        fuel_emissions_from_heat_input,
        fuel_response,
    )
    from infercarbon.grid.marginal.stack_fit import fuel_rates_from_table

    if not fuel_columns:
        raise InputError(
            "fuel-response needs the generation by fuel as --fuel COL=FUEL columns", field="fuel"
        )
    if basis != "direct":
        raise InputError("fuel-response gives direct (combustion) rates only", field="basis")
    hours = interval_s / 3600.0
    n, k = len(time), len(fuels)
    gen = np.column_stack([_to_kwh(c, load_unit, hours) for c, _ in fuel_columns])
    em = np.full((n, k), np.nan)
    source = ["" for _ in fuels]
    for col, fuel in fuel_emissions_columns:
        j = _match_fuel(fuels, fuel, "fuel-emissions")
        em[:, j] = np.asarray(col, dtype=np.float64) * EMISSIONS_UNITS_G[emissions_unit]
        source[j] = "table emissions by fuel"
    if heat_input_columns:
        idx = [_match_fuel(fuels, f, "heat-input") for _, f in heat_input_columns]
        if len(set(idx)) != len(idx):
            raise InputError("two heat-input columns for one fuel", field="heat-input")
        ef, lines = epa_factors_g_per_mmbtu([fuels[j] for j in idx], region=region)
        hi = np.column_stack([np.asarray(c, dtype=np.float64) for c, _ in heat_input_columns])
        em[:, idx] = fuel_emissions_from_heat_input(hi, ef)
        for j in idx:
            source[j] = "heat input x EPA factor"
        notes.append("EPA factors per MMBtu of heat input: " + "; ".join(lines))
    known = ~np.isnan(em).all(axis=0)
    rates = np.full(k, np.nan)
    stack = np.array([is_stack_fuel(f) for f in fuels], dtype=bool)
    for j in np.flatnonzero(~known & ~stack).tolist():  # non-stack fuels: cited direct rates
        rates[j] = factors.fuel_rate(fuels[j], "direct", region=region).value
        source[j] = "direct factor rate"
    fit = ~known & stack
    if fit.any():
        if emissions is not None:
            e_g = np.asarray(emissions, dtype=np.float64) * EMISSIONS_UNITS_G[emissions_unit]
            rest = e_g - np.nansum(np.where(known[None, :], em, 0.0), axis=1)
            rest -= gen[:, ~known & ~stack] @ rates[~known & ~stack]
            rates[fit] = np.nan_to_num(fuel_rates_from_table(gen[:, fit], rest))
            for j in np.flatnonzero(fit).tolist():
                source[j] = "fitted to the table's emissions"
        else:
            for j in np.flatnonzero(fit).tolist():
                rates[j] = factors.fuel_rate(fuels[j], "direct", region=region).value
                source[j] = "direct factor rate"
    res = fuel_response(
        time,
        load_kwh,
        gen,
        fuels,
        fuel_emissions_g=em,
        rates_g_per_kwh=rates,
        rate_source=source,
        rates_by=rates_by,
        bins=bins or "decile-season",
        time_local=time_local,
        interval_s=interval_s,
        ci=ci,
        rng=rng,
    )
    notes.extend(res.notes)
    r = res.regression
    marg = r.marginal_fuel or list(np.asarray(r.bins.label, dtype=object)[r.bin_id])
    return TableMarginal(
        r.time,
        r.mef_g_per_kwh,
        r.low_g_per_kwh,
        r.high_g_per_kwh,
        res.method,
        [str(m) for m in marg],
        interval_s,
        notes,
    )
