"""Exact unit constants and named converters.

Inside infercarbon energy is in joules and mass in grams; conversions happen only at the
edges, through the functions here.  Every constant is exact by definition (SI, the
international avoirdupois pound of 1959, the International Table BTU).

>>> kwh_to_j(1.0)
3600000.0
>>> round(lb_per_mwh_to_g_per_kwh(1000.0), 8)
453.59237
"""

from __future__ import annotations

from typing import Final, TypeVar

__all__ = [
    "BYTES_PER_GB",
    "G_PER_KG",
    "G_PER_LB",
    "G_PER_T",
    "J_PER_BTU",
    "J_PER_KWH",
    "J_PER_MMBTU",
    "J_PER_MWH",
    "J_PER_WH",
    "NS_PER_S",
    "S_PER_DAY",
    "S_PER_HOUR",
    "S_PER_SHIFT",
    "S_PER_YEAR",
    "UJ_PER_J",
    "US_PER_HOUR",
    "US_PER_S",
    "g_per_kwh_from_kg_per_mwh",
    "g_per_kwh_from_lb_per_mwh",
    "g_per_kwh_from_t_per_kwh",
    "g_per_kwh_from_t_per_mwh",
    "j_to_kwh",
    "j_to_wh",
    "kwh_to_j",
    "lb_per_mwh_to_g_per_kwh",
    "mmbtu_to_j",
    "wh_to_j",
]

J_PER_WH: Final = 3_600
J_PER_KWH: Final = 3_600_000
J_PER_MWH: Final = 3_600_000_000
#: International Table BTU (ISO 31-4): 1 Btu_IT = 1055.05585262 J exactly.
J_PER_BTU: Final = 1055.05585262
J_PER_MMBTU: Final = 1_055_055_852.62
#: International avoirdupois pound (1959): exactly 453.59237 g.
G_PER_LB: Final = 453.59237
G_PER_KG: Final = 1_000
#: Metric tonne.
G_PER_T: Final = 1_000_000
#: Decimal gigabyte (network energy coefficients are per 10^9 bytes).
BYTES_PER_GB: Final = 1_000_000_000
S_PER_HOUR: Final = 3_600
S_PER_DAY: Final = 86_400
#: An 8-hour shift.
S_PER_SHIFT: Final = 28_800
#: A 365-day year (8,760 h), the convention of annual energy statistics.
S_PER_YEAR: Final = 31_536_000
#: Microseconds (Arrow and ledger timestamps are in us) and nanoseconds (monotonic clocks).
US_PER_S: Final = 1_000_000
US_PER_HOUR: Final = 3_600_000_000
NS_PER_S: Final = 1_000_000_000
#: Microjoules (RAPL and amdgpu energy counters count in uJ).
UJ_PER_J: Final = 1_000_000

T = TypeVar("T")  # float or numpy array: the converters are plain arithmetic


def kwh_to_j(kwh: T) -> T:
    """[kWh] -> [J]."""
    return kwh * J_PER_KWH  # type: ignore[operator, return-value]


def j_to_kwh(j: T) -> T:
    """[J] -> [kWh]."""
    return j / J_PER_KWH  # type: ignore[operator, return-value]


def wh_to_j(wh: T) -> T:
    """[Wh] -> [J]."""
    return wh * J_PER_WH  # type: ignore[operator, return-value]


def j_to_wh(j: T) -> T:
    """[J] -> [Wh]."""
    return j / J_PER_WH  # type: ignore[operator, return-value]


def mmbtu_to_j(mmbtu: T) -> T:
    """[MMBtu] -> [J]."""
    return mmbtu * J_PER_MMBTU  # type: ignore[operator, return-value]


def g_per_kwh_from_lb_per_mwh(lb_per_mwh: T) -> T:
    """[lb/MWh] -> [g/kWh]: x 453.59237 g/lb / 1000 kWh/MWh."""
    return lb_per_mwh * G_PER_LB / 1_000  # type: ignore[operator, return-value]


lb_per_mwh_to_g_per_kwh = g_per_kwh_from_lb_per_mwh


def g_per_kwh_from_t_per_kwh(t_per_kwh: T) -> T:
    """[t/kWh] -> [g/kWh] (Cloud Carbon Footprint coefficients)."""
    return t_per_kwh * G_PER_T  # type: ignore[operator, return-value]


def g_per_kwh_from_t_per_mwh(t_per_mwh: T) -> T:
    """[t/MWh] -> [g/kWh]."""
    return t_per_mwh * G_PER_T / 1_000  # type: ignore[operator, return-value]


def g_per_kwh_from_kg_per_mwh(kg_per_mwh: T) -> T:
    """[kg/MWh] -> [g/kWh] (numerically equal)."""
    return kg_per_mwh * G_PER_KG / 1_000  # type: ignore[operator, return-value]
