"""Explicit, cited adjustments between the grid signal and the energy a workload draws.

**Transmission and distribution (T&D) losses.**  Generation-based intensity is per kWh
*generated*; a consumer draws kWh *delivered*.  With a loss fraction ``L`` of the energy
sent out (losses / energy transmitted and distributed)::

    intensity at the meter = intensity of generation / (1 - L)
    loss emissions [g]     = E_delivered [kWh] x intensity x L / (1 - L)

The GHG Protocol reports the loss share under Scope 3 category 3 (fuel- and energy-related
activities), so :func:`td_loss_emissions_g` keeps it separate rather than folding it into
the Scope 2 figure.  Factor: EIA, *How much electricity is lost in electricity transmission
and distribution in the United States?* (FAQ 105, updated 2023-11-07): "about 5 % ... in 2018
through 2022"; earlier editions give 4.7 % (2015) and 6 % (1990-2012 average), used as the
range.  eGRID's grid gross loss by interconnect is not in the project's data, and there is
no ERCOT-specific figure, so ERCOT uses the US figure and says so.

**On-site cooling.**  Cooling overhead is energy drawn by the facility per unit of IT
energy.  Cited presets: the Uptime Institute Global Data Center Survey 2023 industry average
PUE 1.58 (overhead 0.58, an upper bound for cooling alone because it also includes power
distribution and lighting), and Google's 2023 Environmental Report fleet trailing-twelve-month
PUE 1.10 (overhead 0.10).  Pass a measured figure where you have one.

>>> round(at_meter_intensity(400.0, 0.05), 2)
421.05
>>> round(td_loss_emissions_g(1000.0, 400.0, 0.05), 1)
21052.6
"""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

from infercarbon.errors import InputError, UnknownRegionError
from infercarbon.provenance import Figure

__all__ = [
    "COOLING_OVERHEAD",
    "TD_LOSS",
    "apply_cooling",
    "at_meter_intensity",
    "td_loss_emissions_g",
    "td_loss_frac",
]

_EIA = (
    "EIA FAQ 105 'How much electricity is lost in electricity transmission and "
    "distribution in the United States?' (https://www.eia.gov/tools/faqs/faq.php?id=105)"
)

#: T&D loss fraction per region [frac of energy transmitted and distributed].
TD_LOSS: dict[str, Figure] = {
    "US": Figure(
        0.05,
        "frac",
        source=_EIA,
        label="cited",
        vintage="2018-2022",
        licence="US public domain",
        low=0.047,
        high=0.06,
        note="national average; range: 2015 value (4.7 %) .. 1990-2012 average (6 %)",
    ),
}
_REGION_ALIASES = {"ERCOT": "US", "USA": "US", "US": "US"}

#: Cooling (facility overhead) energy per unit of IT energy [frac].
COOLING_OVERHEAD: dict[str, Figure] = {
    "industry_average": Figure(
        0.58,
        "frac",
        source="Uptime Institute Global Data Center Survey 2023 (average PUE 1.58)",
        label="cited",
        vintage="2023",
        note="PUE - 1: includes power distribution and lighting, an upper bound for cooling",
    ),
    "hyperscale": Figure(
        0.10,
        "frac",
        source="Google Environmental Report 2023 (fleet TTM PUE 1.10)",
        label="cited",
        vintage="2022",
        note="PUE - 1 of a hyperscale fleet",
    ),
}


def td_loss_frac(region: str) -> Figure:
    """The cited T&D loss fraction for ``region`` (``US``; ``ERCOT`` uses the US figure)."""
    key = _REGION_ALIASES.get(region.strip().upper())
    if key is None:
        raise UnknownRegionError(region, known=tuple(_REGION_ALIASES))
    fig = TD_LOSS[key]
    if region.strip().upper() != key:
        return Figure(
            fig.value,
            fig.unit,
            source=fig.source,
            label=fig.label,
            vintage=fig.vintage,
            licence=fig.licence,
            low=fig.low,
            high=fig.high,
            note=f"{fig.note}; no {region}-specific figure in the data: US value used",
        )
    return fig


def _loss(loss_frac: float | Figure) -> float:
    v = loss_frac.value if isinstance(loss_frac, Figure) else float(loss_frac)
    if not 0.0 <= v < 1.0:
        raise InputError(f"loss fraction must be in [0, 1), got {v}", field="loss_frac")
    return v


@overload
def at_meter_intensity(intensity_g_per_kwh: float, loss_frac: float | Figure) -> float: ...
@overload
def at_meter_intensity(
    intensity_g_per_kwh: npt.NDArray[np.float64], loss_frac: float | Figure
) -> npt.NDArray[np.float64]: ...
def at_meter_intensity(
    intensity_g_per_kwh: float | npt.NDArray[np.float64], loss_frac: float | Figure
) -> float | npt.NDArray[np.float64]:
    """Intensity per kWh delivered [g/kWh] = generation intensity / (1 - loss)."""
    return intensity_g_per_kwh / (1.0 - _loss(loss_frac))


def td_loss_emissions_g(
    energy_kwh: float | npt.ArrayLike,
    intensity_g_per_kwh: float | npt.ArrayLike,
    loss_frac: float | Figure,
) -> float | npt.NDArray[np.float64]:
    """Emissions of the energy lost in T&D to deliver ``energy_kwh`` [g] (Scope 3 cat. 3)."""
    lo = _loss(loss_frac)
    out = (
        np.asarray(energy_kwh, dtype=np.float64)
        * np.asarray(intensity_g_per_kwh, dtype=np.float64)
        * lo
        / (1 - lo)
    )
    return float(out) if out.ndim == 0 else out


def apply_cooling(
    it_energy_j: float | npt.ArrayLike, overhead_frac: float | Figure
) -> float | npt.NDArray[np.float64]:
    """Facility energy [J] = IT energy x (1 + cooling overhead)."""
    v = overhead_frac.value if isinstance(overhead_frac, Figure) else float(overhead_frac)
    if not 0.0 <= v < 10.0:
        raise InputError(f"cooling overhead must be in [0, 10), got {v}", field="overhead_frac")
    out = np.asarray(it_energy_j, dtype=np.float64) * (1.0 + v)
    return float(out) if out.ndim == 0 else out
