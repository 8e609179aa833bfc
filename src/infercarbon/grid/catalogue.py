"""The time-resolved signals bundled with infercarbon, by region.

For a region with a bundled operator series (ERCOT 2019-01 .. 2022-05) an inference can be
given the location-average intensity of its own hour and the marginal intensity of its hour,
instead of the annual average.  The marginal signal is the fuel-share regression
(Siler-Evans et al. 2012 style, local hour x season bins) on the same bundled fuel mix.

>>> series_key("em:US-TX"), series_key("FRA")
('ERCOT', None)
"""

from __future__ import annotations

import warnings
from functools import cache
from typing import Any

from infercarbon.errors import FallbackWarning, InputError
from infercarbon.grid.signal import Basis, IntensitySeries

__all__ = [
    "SERIES_REGIONS",
    "hourly_location",
    "hourly_marginal",
    "marginal_regression",
    "series_key",
]

#: Bundled series -> the region ids (from :mod:`infercarbon.reference.regions`) it covers.
SERIES_REGIONS: dict[str, tuple[str, ...]] = {
    "ERCOT": ("ERCOT", "em:US-TX", "em:US-TEX-ERCO"),
}


def series_key(region_id: str) -> str | None:
    """The bundled series that covers a resolved region id, or None."""
    for key, ids in SERIES_REGIONS.items():
        if region_id in ids:
            return key
    return None


def _key(region_id: str) -> str:
    key = series_key(region_id)
    if key is None:
        covered = ", ".join(f"{k} ({', '.join(v)})" for k, v in SERIES_REGIONS.items())
        raise InputError(
            f"no hourly series is bundled for {region_id!r}; bundled: {covered}. "
            "Omit the time to use the annual average, or fetch a provider's "
            "signal (infercarbon grid fetch)",
            field="region",
        )
    return key


def _check_set(basis: Basis, factor_set: str) -> None:
    from infercarbon.grid.factors import DEFAULT_FACTOR_SET, check_factor_set

    check_factor_set(factor_set)
    if factor_set != DEFAULT_FACTOR_SET and basis != "lifecycle":
        raise InputError(
            f"{factor_set!r} is a lifecycle factor set; use basis lifecycle", field="factors"
        )


@cache
def hourly_location(
    region_id: str, basis: Basis = "lifecycle", factor_set: str = "infercarbon"
) -> IntensitySeries:
    """Hourly location-average intensity of the region's bundled series: the fuel mix x
    per-fuel rates of ``factor_set`` (:mod:`infercarbon.grid.factor_sets`; lifecycle)."""
    from infercarbon.grid.series import regional_intensity

    _check_set(basis, factor_set)
    return regional_intensity(_key(region_id), basis, "1h", factor_set)


@cache
def marginal_regression(
    region_id: str, basis: Basis = "lifecycle", factor_set: str = "infercarbon"
) -> tuple[Any, Any]:
    """(regression result, marginal ledger) of the region's bundled hourly data: the
    fuel-share regression dE/dL by local hour x season with per-fuel rates of
    ``factor_set`` (one computation per set, cached, for the service's signal and
    ``grid update``)."""
    _check_set(basis, factor_set)
    key = _key(region_id)
    from infercarbon.grid import factors
    from infercarbon.grid.marginal.calendar import to_local
    from infercarbon.grid.marginal.ercot_compare import TZ, ercot_hourly
    from infercarbon.grid.marginal.ledger import MarginalLedger
    from infercarbon.grid.marginal.regression import regress_fuel_mix

    t, fuels, mwh = ercot_hourly()
    rates, _, _, _ = factors.fuel_rates(fuels, basis, region=key, factor_set=factor_set)
    with warnings.catch_warnings():
        # sparse-bin fallbacks are recorded per interval in the result's notes
        warnings.simplefilter("ignore", FallbackWarning)
        res = regress_fuel_mix(
            t,
            mwh * 1000.0,
            rates,
            fuels,
            bins="hour-season",
            time_local=to_local(t, TZ),
            interval_s=3600,
        )
    return res, MarginalLedger.from_regression(res, region=key)


@cache
def hourly_marginal(
    region_id: str, basis: Basis = "lifecycle", factor_set: str = "infercarbon"
) -> IntensitySeries:
    """Hourly marginal intensity: fuel-share regression by local hour x season; the
    provenance names a factor set other than the default (as
    :func:`~infercarbon.grid.series.intensity_from_generation` does)."""
    import dataclasses

    from infercarbon.grid.factors import DEFAULT_FACTOR_SET

    _, led = marginal_regression(region_id, basis, factor_set)
    s: IntensitySeries = led.to_series(basis=basis)
    if factor_set == DEFAULT_FACTOR_SET:
        return s
    p = s.provenance
    prov = dataclasses.replace(
        p,
        version=f"{p.version}; factors {factor_set}",
        method=f"{p.method}; {basis} rates, factor set {factor_set}",
    )
    return dataclasses.replace(s, provenance=prov)
