"""Location-average intensity series from generation by fuel (ERCOT bundled, or any table).

::

    I(t)      = sum_f g_f(t) x r_f / sum_f g_f(t)                    [g CO2e/kWh]
    I_low(t)  = sum_f g_f(t) x r_f,low / sum_f g_f(t)      (same for high)

``g_f`` is generation [MWh] of fuel ``f`` in the interval and ``r_f`` its rate from
:func:`infercarbon.grid.factors.fuel_rate` for the basis and region.  The low/high envelope
puts *every* fuel at its low (high) rate at once, i.e. treats the factor errors as fully
correlated.  That is the honest choice here: the errors are systematic (fleet heat rates,
upstream methane), the same in every interval, so they do not average out over hours or
fuels; the envelope is wider than an independent-errors interval would be.

Negative generation values (ERCOT's ``Other`` row goes negative when storage charges or
auxiliary load exceeds output) are not generation: they are set to 0 in both sums and the
number of such cells is recorded in the provenance notes.  Intervals with a missing fuel
value are dropped (never filled), warned with :class:`DataQualityWarning` and listed in the
notes; the resulting series then has holes, and lookups inside a hole raise.

The bundled ERCOT table (``grid/data/ercot_fuel_mix_15min.npz``, 2019-01-01 .. 2022-05-31
local, 119,708 intervals x 9 fuels, 1.7 MB) was parsed from the raw operator files by
:mod:`infercarbon.grid.ercot` (``tools/build_grid_data.py``); summed to UTC hours it equals
the resolved hourly file ``ercot_fuel_mix_hourly_utc.csv`` exactly (29,927 of 29,927 hours,
max |difference| 0.000 MWh per fuel-hour).

>>> s = ercot_intensity(basis="direct", resolution="1h")
>>> len(s), s.resolution_s, str(s.start_utc[0])
(29927, 3600, '2019-01-01T06:00:00.000000000')
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import DataQualityWarning, InputError, UnknownRegionError
from infercarbon.grid.ercot import FuelMix, load_compact
from infercarbon.grid.factors import canonical_fuel, fuel_rates
from infercarbon.grid.signal import Basis, IntensitySeries, Kind, SignalProvenance

__all__ = [
    "ERCOT_PROVENANCE",
    "SERIES_REGIONS",
    "ercot_intensity",
    "intensity_from_generation",
    "load_ercot_fuel_mix",
    "load_ercot_generation",
    "regional_intensity",
]

Resolution = Literal["15min", "1h"]
_RES_S = {"15min": 900, "1h": 3600}

#: Regions with a bundled series.
SERIES_REGIONS: tuple[str, ...] = ("ERCOT",)

ERCOT_PROVENANCE = SignalProvenance(
    source="ERCOT Fuel Mix Report, 15-minute IntGenByFuelYYYYMM files",
    version="2019-01..2022-05 (FINAL settlement; 2022-04 and 2022-05 INITIAL)",
    method="parsed by infercarbon.grid.ercot (America/Chicago interval-ending -> UTC starts)",
    licence="ERCOT public market data",
    label="derived",
)


@lru_cache(maxsize=1)
def load_ercot_fuel_mix() -> FuelMix:
    """The bundled ERCOT 15-minute fuel mix, with the operator's fuel names."""
    ref = resources.files("infercarbon.grid").joinpath("data", "ercot_fuel_mix_15min.npz")
    with resources.as_file(ref) as path:
        return load_compact(path)


def load_ercot_generation(
    resolution: Resolution = "15min",
) -> tuple[TimeArray, tuple[str, ...], FloatArray]:
    """Bundled ERCOT generation by fuel: ``(start_utc, fuels, mwh)``.

    Parameters
    ----------
    resolution : {"15min", "1h"}
        ``15min``: the operator intervals; ``1h``: sums over UTC clock hours (an hour with a
        missing quarter is NaN).

    Returns
    -------
    start_utc : datetime64[s] (n,)
        Interval starts, UTC.
    fuels : tuple of str
        Canonical fuel names (:data:`infercarbon.grid.factors.FUELS`): ERCOT ``Gas-CC`` ->
        ``gas_cc``, ``Gas`` -> ``gas_non_cc`` (steam, turbines and engines), ...
    mwh : float64 (n, k)
        Energy per interval per fuel [MWh]; may be negative for ``other`` (storage charging),
        NaN where the operator reported nothing.  MWh per hour equals the mean MW.
    """
    mix = load_ercot_fuel_mix()
    fuels = tuple(canonical_fuel(f) for f in mix.fuels)
    if resolution == "15min":
        return mix.start_utc.copy(), fuels, mix.mwh.copy()
    if resolution == "1h":
        from infercarbon.grid.ercot import to_hourly

        t, mwh, _ = to_hourly(mix)
        return t, fuels, mwh
    raise InputError(f"resolution must be '15min' or '1h', got {resolution!r}", field="resolution")


def intensity_from_generation(
    start_utc: npt.ArrayLike,
    fuels: Sequence[str],
    mwh: npt.ArrayLike,
    basis: Basis,
    resolution_s: int,
    region: str | None,
    *,
    provenance: SignalProvenance | None = None,
    kind: Kind = "location-average",
    factor_set: str = "infercarbon",
) -> IntensitySeries:
    """Average intensity of a generation-by-fuel table (any operator) [g CO2e/kWh].

    ``fuels`` are canonical or known aliases (see :func:`~infercarbon.grid.factors.canonical_fuel`);
    ``region`` picks region-specific rates (``ERCOT``, ``DE``) or ``None`` for generic ones;
    ``factor_set`` the lifecycle factors (:mod:`infercarbon.grid.factor_sets`).
    The series' ``extra["generation_mwh"]`` holds the generation total used as denominator.
    """
    t = np.asarray(start_utc, dtype="datetime64[ns]")
    g = np.asarray(mwh, dtype=np.float64)
    if g.ndim != 2 or g.shape != (len(t), len(fuels)):
        raise InputError(
            f"mwh must have shape (len(times), len(fuels)) = ({len(t)}, "
            f"{len(fuels)}), got {g.shape}",
            field="mwh",
        )
    canon = [canonical_fuel(f) for f in fuels]
    rate, lo, hi, figs = fuel_rates(canon, basis, region=region, factor_set=factor_set)
    notes: list[str] = []
    missing = np.isnan(g).any(axis=1)
    if missing.any():
        msg = (
            f"{int(missing.sum())} of {len(t)} intervals have a missing fuel value and are "
            f"left out (first {t[np.argmax(missing)]})"
        )
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
        notes.append(msg)
    neg = g < 0
    if neg.any():
        notes.append(
            f"{int(neg.sum())} negative fuel values (storage charging / auxiliary "
            "load) counted as 0 MWh of generation"
        )
    gp = np.where(neg | np.isnan(g), 0.0, g)
    total = gp.sum(axis=1)
    empty = (total <= 0) & ~missing
    if empty.any():
        msg = f"{int(empty.sum())} intervals have no positive generation and are left out"
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
        notes.append(msg)
    keep = ~missing & ~empty
    if not keep.any():
        raise InputError("no interval has complete, positive generation", field="mwh")
    gk, tk = gp[keep], total[keep]
    value = gk @ rate / tk
    low = gk @ lo / tk
    high = gk @ hi / tk
    notes.append("range: every fuel at its low/high rate at once (fully correlated errors)")
    notes += [
        f"{f}: {fig.value:.1f} [{fig.range[0]:.1f}, {fig.range[1]:.1f}] g/kWh "
        f"({fig.label}; {fig.source})"
        for f, fig in zip(canon, figs, strict=True)
    ]
    base = provenance or SignalProvenance(
        source="user generation table", version="", method="", label="derived"
    )
    prov = SignalProvenance(
        source=base.source,
        version=base.version,
        method=(base.method + "; " if base.method else "")
        + f"{kind} {basis}: sum(gen_f x rate_f)/sum(gen_f), rates for region {region or 'generic'}"
        + (f", factor set {factor_set}" if factor_set != "infercarbon" else ""),
        retrieved_at_utc=base.retrieved_at_utc,
        licence=base.licence,
        label="derived",
        notes=base.notes + tuple(notes),
    )
    return IntensitySeries.from_arrays(
        region=region or "generic",
        kind=kind,
        basis=basis,
        resolution_s=resolution_s,
        start_utc=t[keep],
        intensity_g_per_kwh=value,
        low_g_per_kwh=low,
        high_g_per_kwh=high,
        provenance=prov,
        extra={"generation_mwh": tk},
    )


@lru_cache(maxsize=8)
def ercot_intensity(
    basis: Basis = "lifecycle", resolution: Resolution = "1h", factor_set: str = "infercarbon"
) -> IntensitySeries:
    """Location-average intensity of ERCOT from the bundled fuel mix (2019-01 .. 2022-05)."""
    if resolution not in _RES_S:
        raise InputError(
            f"resolution must be '15min' or '1h', got {resolution!r}", field="resolution"
        )
    t, fuels, mwh = load_ercot_generation(resolution)
    return intensity_from_generation(
        t,
        fuels,
        mwh,
        basis,
        _RES_S[resolution],
        "ERCOT",
        provenance=ERCOT_PROVENANCE,
        factor_set=factor_set,
    )


def regional_intensity(
    region: str, basis: Basis, resolution: Resolution, factor_set: str = "infercarbon"
) -> IntensitySeries:
    """The bundled series of ``region`` (only ERCOT is bundled); unknown regions raise."""
    match = [r for r in SERIES_REGIONS if r.lower() == region.strip().lower()]
    if not match:
        raise UnknownRegionError(region, known=SERIES_REGIONS)
    return ercot_intensity(basis, resolution, factor_set)
