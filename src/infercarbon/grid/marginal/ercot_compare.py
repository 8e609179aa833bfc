"""ERCOT average vs marginal intensity from the bundled 2019-2022 fuel mix.

Average: ``Σ_f G_f r_f / Σ_f G_f`` per hour with ERCOT per-fuel rates from
:mod:`infercarbon.grid.factors`.  Marginal: the fuel-share regression
(:func:`~infercarbon.grid.marginal.regression.regress_fuel_mix`) on hourly totals, binned by
local (America/Chicago) hour x season, with load = total generation.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.grid import ercot, factors
from infercarbon.grid.marginal.calendar import to_local
from infercarbon.grid.marginal.compare import CompareTable, compare_by_hour_season
from infercarbon.grid.marginal.regression import RegressionResult, regress_fuel_mix
from infercarbon.grid.signal import Basis

__all__ = ["ercot_average_vs_marginal", "ercot_hourly"]

TZ = "America/Chicago"


def ercot_hourly() -> tuple[npt.NDArray[np.datetime64], list[str], npt.NDArray[np.float64]]:
    """Complete UTC hours of the bundled ERCOT mix: ``(hour_start_utc, fuels, mwh (h, k))``.

    Fuels are canonical names (``ERCOT_FUEL_MAP``); hours with a missing 15-minute value
    are dropped (``ercot.to_hourly`` marks them NaN).
    """
    path = resources.files("infercarbon.grid").joinpath("data").joinpath("ercot_fuel_mix_15min.npz")
    with resources.as_file(path) as p:
        mix = ercot.load_compact(p)
    t, mwh, _ = ercot.to_hourly(mix)
    ok = np.isfinite(mwh).all(axis=1)
    fuels = [factors.ERCOT_FUEL_MAP.get(f, f) for f in mix.fuels]
    return t[ok], fuels, mwh[ok]


def ercot_average_vs_marginal(
    *, basis: Basis = "direct", bins: str = "hour-season", factor_set: str = "infercarbon"
) -> tuple[CompareTable, dict[str, Any]]:
    """Compare table by local hour x season, plus metadata (period, method, means, factor
    set: ``factor_set`` names the lifecycle per-fuel factors, see :mod:`..factors`)."""
    t, fuels, mwh = ercot_hourly()
    rates, _, _, _ = factors.fuel_rates(fuels, basis, region="ERCOT", factor_set=factor_set)
    total = mwh.sum(axis=1)
    average = (mwh @ rates) / total
    t_local = to_local(t, TZ)
    res: RegressionResult = regress_fuel_mix(
        t, mwh * 1000.0, rates, fuels, bins=bins, time_local=t_local, interval_s=3600
    )
    tab = compare_by_hour_season(t_local, average, res.mef_g_per_kwh)
    meta = {
        "region": "ERCOT",
        "basis": basis,
        "factor_set": factor_set,
        "method": res.method,
        "period": f"{str(t[0])[:10]}..{str(t[-1])[:10]}",
        "n_hours": len(t),
        "mean_average_g_per_kwh": float((mwh @ rates).sum() / total.sum()),
        "mean_marginal_g_per_kwh": float(res.mef_g_per_kwh.mean()),
        "notes": res.notes,
    }
    return tab, meta
