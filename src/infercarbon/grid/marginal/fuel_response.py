"""Fuel-responsive marginal factors: each fuel's response to load x that fuel's own rate.

Within each bin ``b`` (load decile x season by default), the generation of each fuel ``f``
is regressed on the load, ``ΔG_f = a + s_{f,b} ΔL``, and the marginal factor of the bin is

    MEF_b = Σ_f s_{f,b} · r_{f,b}

with per-fuel direct rates ``r_{f,b}`` [g/kWh] from the table itself:

* **heat input** (EPA-CEMS style ``heat_input_<fuel>_mmbtu`` columns):
  ``r_f = EF_f · Σ HI_f / Σ G_f``, with ``EF_f`` the US EPA CO2e factor of the fuel per MMBtu
  of heat input (bundled in ``infercarbon/grid/data/fuel_emission_factors.csv``: eGRID static
  tables, 40 CFR 98 Tables C-1/C-2, US public domain; see
  :func:`infercarbon.grid.factors.emission_factor_g_per_mmbtu`);
* **per-fuel emissions** (``emissions_<fuel>`` columns): ``r_f = Σ E_f / Σ G_f``;
* otherwise a rate given by the caller (fitted to the table's total emissions by least
  squares, ``E = Σ_f r_f G_f``, or a cited factor).

The sums run over the intervals of the bin (``rates_by="bin"``: the bin's own fleet mix,
e.g. peakers in the top decile) or of the whole table (``"table"``).  A fuel that does not
run in a bin takes its table-wide rate.  By linearity of least squares the bin's MEF is the
slope of ``Σ_f r_{f,b(t)} ΔG_{f,t}`` on ``ΔL``, so the fit, its confidence interval and the
sparse-bin fallbacks are those of :func:`~.regression.regress_mef` (rates taken as known).

>>> import numpy as np
>>> t = np.arange(0, 24 * 40 * 3600, 3600).astype("datetime64[s]")
>>> load = 1e6 + 2e5 * np.sin(np.arange(len(t)) / 4.0)
>>> g = np.column_stack([0.3 * load, 0.7 * load])              # coal, gas: 30 % / 70 %
>>> hi = g * np.array([10.0, 7.0]) / 1000.0                   # MMBtu at 10 and 7 MMBtu/MWh
>>> e = fuel_emissions_from_heat_input(hi, np.array([95_000.0, 53_000.0]))
>>> res = fuel_response(t, load, g, ["coal", "gas"], fuel_emissions_g=e, bins="decile")
>>> [round(float(v), 1) for v in res.rates_g_per_kwh[0]]
[950.0, 371.0]
>>> round(float(res.regression.mef_g_per_kwh.mean()), 1)   # 0.3 x 950 + 0.7 x 371
544.7
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import InputError
from infercarbon.grid.marginal.regression import RegressionResult, make_bins, regress_mef
from infercarbon.units import G_PER_T

__all__ = [
    "RATES_BY",
    "FuelResponseResult",
    "epa_factors_g_per_mmbtu",
    "fuel_emissions_from_heat_input",
    "fuel_rates_by_group",
    "fuel_response",
]

RATES_BY: tuple[str, ...] = ("bin", "table")


@dataclass(frozen=True)
class FuelResponseResult:
    """The regression (per interval and per bin) and the per-fuel rates it used."""

    regression: RegressionResult
    #: direct rate of each fuel in each bin [g/kWh], shape (bins, fuels)
    rates_g_per_kwh: FloatArray
    #: where each fuel's rate comes from ("heat input x EPA factor", ...)
    rate_source: tuple[str, ...]
    rates_by: str
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        r = self.regression
        return f"fuel-response:{r.scheme}:{r.ci_method}"


def epa_factors_g_per_mmbtu(
    fuels: Sequence[str], *, region: str | None = None
) -> tuple[FloatArray, list[str]]:
    """EPA CO2e factor per MMBtu of heat input of each fuel [g/MMBtu] and its source line."""
    from infercarbon.grid import factors

    figs = [factors.emission_factor_g_per_mmbtu(f, region=region) for f in fuels]
    return (
        np.array([f.value for f in figs], dtype=np.float64),
        [
            f"{fu}: {f.value / G_PER_T:.5f} t CO2e/MMBtu ({f.source}, {f.vintage}; {f.licence})"
            for fu, f in zip(fuels, figs, strict=True)
        ],
    )


def fuel_emissions_from_heat_input(
    heat_input_mmbtu: npt.ArrayLike, ef_g_per_mmbtu: npt.ArrayLike
) -> FloatArray:
    """Direct emissions of each fuel [g] = heat input [MMBtu] x factor [g/MMBtu].

    Raises InputError on a negative or non-finite heat input (NaN marks a fuel without a
    heat-input column and passes through)."""
    hi = np.asarray(heat_input_mmbtu, dtype=np.float64)
    ef = np.asarray(ef_g_per_mmbtu, dtype=np.float64)
    if hi.ndim != 2 or ef.shape != (hi.shape[1],):
        raise InputError("heat input must be (n, k) with k factors", field="heat_input_mmbtu")
    given = ~np.isnan(hi).all(axis=0)
    sub = hi[:, given]
    if not np.isfinite(sub).all() or (sub < 0).any():
        j = int(np.flatnonzero(given)[np.argmax(~(np.isfinite(sub) & (sub >= 0)).all(axis=0))])
        raise InputError(
            f"heat input of column {j} must be finite and >= 0 in every interval",
            field="heat_input_mmbtu",
        )
    return np.asarray(hi * ef[None, :], dtype=np.float64)


def fuel_rates_by_group(
    generation_kwh: npt.ArrayLike,
    fuel_emissions_g: npt.ArrayLike,
    group: npt.ArrayLike,
    n_groups: int,
) -> FloatArray:
    """Rate of each fuel in each group [g/kWh] = Σ E_f / Σ G_f over the group's intervals.

    NaN where the fuel generated nothing in the group (or its emissions are unknown: NaN).

    >>> g = np.array([[1.0, 2.0], [3.0, 0.0], [2.0, 2.0]])
    >>> e = np.array([[900.0, 800.0], [2700.0, 0.0], [2000.0, 800.0]])
    >>> fuel_rates_by_group(g, e, np.array([0, 0, 1]), 2).tolist()
    [[900.0, 400.0], [1000.0, 400.0]]
    """
    gen = np.asarray(generation_kwh, dtype=np.float64)
    em = np.asarray(fuel_emissions_g, dtype=np.float64)
    grp = np.asarray(group, dtype=np.int64)
    k = gen.shape[1]
    key = (grp[:, None] * k + np.arange(k)[None, :]).ravel()
    size = n_groups * k
    sg = np.bincount(key, np.where(gen > 0, gen, 0.0).ravel(), size).reshape(n_groups, k)
    se = np.bincount(key, np.where(gen > 0, em, 0.0).ravel(), size).reshape(n_groups, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sg > 0, se / sg, np.nan)
    return np.asarray(out, dtype=np.float64)


def fuel_response(
    time: TimeArray,
    load_kwh: npt.ArrayLike,
    generation_kwh: npt.ArrayLike,
    fuels: Sequence[str],
    *,
    fuel_emissions_g: npt.ArrayLike | None = None,
    rates_g_per_kwh: npt.ArrayLike | None = None,
    rate_source: Sequence[str] | None = None,
    rates_by: str = "bin",
    bins: str = "decile-season",
    time_local: TimeArray | None = None,
    n_quantiles: int = 10,
    **kwargs: Any,
) -> FuelResponseResult:
    """Fuel-responsive marginal factor of every interval (see the module docstring).

    Parameters
    ----------
    generation_kwh : array (n, k)
        Generation of each fuel in each interval [kWh].
    fuel_emissions_g : array (n, k), optional
        Direct emissions of each fuel in each interval [g] (from heat input x EPA factor, or
        reported); a column of NaN = unknown for that fuel.
    rates_g_per_kwh : array (k,), optional
        Rate of each fuel whose emissions are unknown (NaN where known); required when some
        fuel has no emissions column.
    rate_source : k strings, optional
        Where each rate comes from (kept in the result's notes).
    rates_by : {"bin", "table"}
        Rates from each bin's own intervals, or from the whole table.
    bins : str
        A load-based scheme of :func:`~.regression.make_bins` (not ``emissions-decile``).
    **kwargs
        Passed to :func:`~.regression.regress_mef` (``interval_s``, ``ci``, ``level``, ...).
    """
    t = np.asarray(time, dtype="datetime64[s]")
    load = np.asarray(load_kwh, dtype=np.float64)
    g = np.asarray(generation_kwh, dtype=np.float64)
    n = len(t)
    if g.ndim != 2 or g.shape[0] != n or len(fuels) != g.shape[1] or load.shape != (n,):
        raise InputError(
            "generation must be (n, k) with n times, n loads and k fuel names",
            field="generation_kwh",
        )
    if not np.isfinite(g).all():
        bad = np.argwhere(~np.isfinite(g))[0]
        raise InputError(
            f"non-finite generation at row {int(bad[0])}, fuel {fuels[int(bad[1])]!r}",
            field="generation_kwh",
        )
    if rates_by not in RATES_BY:
        raise InputError(f"must be one of {', '.join(RATES_BY)}", field="rates_by")
    if bins == "emissions-decile":
        raise InputError(
            "fuel-response bins by load or time; use decile, decile-season, "
            "decile-month, hour-season, both or none",
            field="bins",
        )
    k = g.shape[1]
    em = (
        np.full((n, k), np.nan)
        if fuel_emissions_g is None
        else np.asarray(fuel_emissions_g, dtype=np.float64)
    )
    if em.shape != (n, k):
        raise InputError(
            "fuel emissions must have the shape of the generation", field="fuel_emissions_g"
        )
    known = ~np.isnan(em).all(axis=0)
    fixed = (
        np.full(k, np.nan)
        if rates_g_per_kwh is None
        else np.asarray(rates_g_per_kwh, dtype=np.float64)
    )
    if fixed.shape != (k,):
        raise InputError("give one rate per fuel", field="rates_g_per_kwh")
    missing = ~known & ~np.isfinite(fixed)
    if missing.any():
        names = ", ".join(str(fuels[j]) for j in np.flatnonzero(missing).tolist())
        raise InputError(f"no emissions, heat input or rate for {names}", field="rates_g_per_kwh")
    tl = t if time_local is None else np.asarray(time_local, dtype="datetime64[s]")
    bin_id, labels, _ = make_bins(load, tl, bins, n_quantiles=n_quantiles)
    nb = len(labels)
    table_rate = fuel_rates_by_group(g, em, np.zeros(n, dtype=np.int64), 1)[0]
    if rates_by == "bin":
        rates = fuel_rates_by_group(g, em, bin_id, nb)
        rates = np.where(np.isnan(rates), table_rate[None, :], rates)
    else:
        rates = np.repeat(table_rate[None, :], nb, axis=0)
    rates = np.where(known[None, :], np.nan_to_num(rates, nan=0.0), fixed[None, :])
    # MEF_b = Σ_f s_{f,b} r_{f,b} is the slope of Σ_f r_{f,b(t)} ΔG_{f,t} on ΔL (linearity):
    # accumulate those pseudo-differences into a level series for regress_mef
    dy = np.einsum("ij,ij->i", np.diff(g, axis=0), rates[bin_id[1:]])
    pseudo = np.concatenate([[0.0], np.cumsum(dy)])
    res = regress_mef(
        t,
        load,
        pseudo,
        bins=bins,
        time_local=tl,
        n_quantiles=n_quantiles,
        _extra_y=g,
        _fuels=tuple(fuels),
        **kwargs,
    )
    src = (
        tuple(rate_source)
        if rate_source is not None
        else tuple("table emissions by fuel" if kn else "given rate" for kn in known)
    )
    notes = [
        *res.notes,
        f"per-fuel direct rates by {rates_by}: "
        + "; ".join(
            f"{f} {float(np.mean(rates[np.unique(bin_id), j])):.0f} g/kWh ({s})"
            for j, (f, s) in enumerate(zip(fuels, src, strict=True))
        ),
    ]
    return FuelResponseResult(res, np.asarray(rates, dtype=np.float64), src, rates_by, notes)
