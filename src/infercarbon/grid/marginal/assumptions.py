"""Documented default assumptions of the merit-order model: heat rates, VOM, ramp rates, prices.

Every figure is a :class:`~infercarbon.provenance.Figure` with its source and range.  Where a
value could not be checked against the primary table offline the ``note`` says so; those are
the first things to replace with unit-level data (EIA-860/923 for ERCOT, BNetzA/UBA for
Germany) and are what :mod:`~infercarbon.grid.marginal.backtest` calibrates.

Units: heat rate [MMBtu/MWh] (numerically Btu/kWh / 1000); VOM [currency/MWh]; ramp
[fraction of capacity per minute]; fuel price [currency/MMBtu]; carbon price [currency/t
CO2].  ERCOT figures are in US dollars, German figures in euros; a stack only ever mixes
figures of one region, so the currency cancels in the merit order.
"""

from __future__ import annotations

from infercarbon.errors import InputError
from infercarbon.provenance import Figure

__all__ = [
    "CARBON_PRICE_PER_T",
    "FUEL_PRICE_PER_MMBTU",
    "HEAT_RATE_MMBTU_PER_MWH",
    "MMBTU_PER_MWH_THERMAL",
    "RAMP_FRAC_PER_MIN",
    "VOM_PER_MWH",
    "carbon_price",
    "ercot_cc_heat_rate",
    "fuel_price",
]

#: 1 MWh (thermal) = 3.412142 MMBtu (exact from J_PER_MWH / J_PER_MMBTU).
MMBTU_PER_MWH_THERMAL = 3_600_000_000 / 1_055_055_852.62

_EIA_81 = ("EIA Electric Power Annual, Table 8.1 (average operating heat rate, coal "
           "10,551-10,689 Btu/kWh and natural gas 7,689-7,740 Btu/kWh in 2019-2022)")
_EIA_CC = ("EIA Today in Energy (2020): natural-gas combined-cycle units installed since 2015 "
           "average 6,654 Btu/kWh; units installed before 2000 average 8,840 Btu/kWh")
_UNCHECKED = "typical value for the technology; not checked against the primary table offline"


def _f(value: float, low: float, high: float, source: str, note: str | None = None,
       unit: str = "mmbtu_per_mwh", label: str = "cited") -> Figure:
    return Figure(value, unit, source=source, label=label, low=low, high=high,  # type: ignore[arg-type]
                  note=note)


#: Heat rate by (fuel, technology) where the inventory gives none.  ERCOT CC gas units get a
#: vintage-dependent value from :func:`ercot_cc_heat_rate` instead.
HEAT_RATE_MMBTU_PER_MWH: dict[tuple[str, str], Figure] = {
    ("coal", "ST"): _f(10.6, 9.8, 11.5, _EIA_81, "US coal fleet average; range +-8 %"),
    ("gas", "CC"): _f(7.4, 6.6, 8.9, _EIA_CC, "midpoint for units of 2000-2014"),
    ("gas", "GT"): _f(11.0, 9.5, 13.0, "EIA Electric Power Annual Table 8.2 (combustion "
                      "turbines)", _UNCHECKED),
    ("gas", "ST"): _f(10.4, 9.5, 12.0, "EIA Electric Power Annual Table 8.2 (steam "
                      "turbines)", _UNCHECKED),
    ("gas", "IC"): _f(8.9, 8.3, 10.0, "EIA Electric Power Annual Table 8.2 (internal "
                      "combustion)", _UNCHECKED),
    ("oil", "IC"): _f(10.2, 9.5, 11.0, "EIA Electric Power Annual Table 8.1 (petroleum "
                      "11,166-11,259 Btu/kWh fleet)", "diesel engines run slightly better"),
    ("oil", "GT"): _f(11.5, 10.0, 13.5, "EIA Electric Power Annual Table 8.2", _UNCHECKED),
    ("oil", "ST"): _f(10.8, 10.0, 12.0, "EIA Electric Power Annual Table 8.1 (petroleum)",
                      _UNCHECKED),
}


def ercot_cc_heat_rate(in_service_year: float) -> Figure:
    """Vintage-dependent heat rate of a gas combined cycle (EIA 2020 cohort averages)."""
    if in_service_year != in_service_year:  # NaN: unknown vintage
        return HEAT_RATE_MMBTU_PER_MWH[("gas", "CC")]
    if in_service_year < 2000:
        return _f(8.84, 8.0, 9.7, _EIA_CC, "pre-2000 cohort average; range +-10 %")
    if in_service_year >= 2015:
        return _f(6.654, 6.3, 7.3, _EIA_CC, "2015+ cohort average; range -5 %/+10 %")
    return HEAT_RATE_MMBTU_PER_MWH[("gas", "CC")]


_VOM_SRC = ("EIA Annual Energy Outlook 2023, Cost and Performance Characteristics of New "
            "Generating Technologies (variable O&M)")
#: Variable O&M by technology and fuel [currency/MWh] (same figures used for both regions).
VOM_PER_MWH: dict[tuple[str, str], Figure] = {
    ("coal", "ST"): _f(4.7, 3.0, 6.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("lignite", "ST"): _f(4.7, 3.0, 6.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("hard_coal", "ST"): _f(4.7, 3.0, 6.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("gas", "CC"): _f(2.7, 2.0, 3.5, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("gas", "GT"): _f(5.0, 4.5, 6.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("gas", "ST"): _f(3.5, 2.0, 5.0, _VOM_SRC, "no AEO figure for gas steam units; assumed "
                      "between CC and GT", unit="per_mwh"),
    ("gas", "IC"): _f(6.0, 5.0, 7.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("oil", "IC"): _f(6.0, 5.0, 7.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("oil", "GT"): _f(5.0, 4.5, 6.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("oil", "ST"): _f(3.5, 2.0, 5.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("oil", "CC"): _f(2.7, 2.0, 3.5, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
    ("hard_coal", "CC"): _f(4.7, 3.0, 6.0, _VOM_SRC, _UNCHECKED, unit="per_mwh"),
}

_RAMP_SRC = ("Agora Energiewende (2017), Flexibility in thermal power plants, Table 2 "
             "(typical ramp rates, % of nominal power per minute)")
#: Ramp rate by technology [fraction of capacity per minute].
RAMP_FRAC_PER_MIN: dict[str, Figure] = {
    "ST-coal": _f(0.015, 0.01, 0.04, _RAMP_SRC, _UNCHECKED, unit="frac"),
    "ST-gas": _f(0.02, 0.01, 0.05, _RAMP_SRC, _UNCHECKED, unit="frac"),
    "CC": _f(0.04, 0.02, 0.08, _RAMP_SRC, _UNCHECKED, unit="frac"),
    "GT": _f(0.12, 0.08, 0.15, _RAMP_SRC, _UNCHECKED, unit="frac"),
    "IC": _f(0.20, 0.10, 0.30, _RAMP_SRC, _UNCHECKED, unit="frac"),
}

_HH = "EIA, Henry Hub natural gas spot price, annual average"
_PRICE_NOTE = "annual average, rounded; entered from memory of the published series, recheck"
#: Fuel price by (region, fuel, year) [currency/MMBtu].
FUEL_PRICE_PER_MMBTU: dict[tuple[str, str, int], Figure] = {
    **{("ERCOT", "gas", y): _f(v, v * 0.7, v * 1.5, _HH, _PRICE_NOTE, unit="usd_per_mmbtu")
       for y, v in {2019: 2.56, 2020: 2.03, 2021: 3.89, 2022: 6.45, 2023: 2.53,
                    2024: 2.19}.items()},
    **{("ERCOT", "coal", y): _f(2.0, 1.6, 2.6, "EIA Electric Power Monthly Table 4.10.B "
                                "(coal delivered to Texas power plants)", _PRICE_NOTE,
                                unit="usd_per_mmbtu")
       for y in range(2019, 2025)},
    **{("ERCOT", "oil", y): _f(v, v * 0.7, v * 1.4, "EIA, distillate fuel oil delivered to "
                               "the electric power sector", _PRICE_NOTE, unit="usd_per_mmbtu")
       for y, v in {2019: 14.5, 2020: 10.8, 2021: 15.5, 2022: 25.0, 2023: 20.0,
                    2024: 18.0}.items()},
    # Germany: EUR/MWh_th converted to EUR/MMBtu
    **{("DE", "gas", y): _f(v / MMBTU_PER_MWH_THERMAL, v * 0.7 / MMBTU_PER_MWH_THERMAL,
                            v * 1.5 / MMBTU_PER_MWH_THERMAL, "TTF day-ahead, annual average "
                            "(EUR/MWh_th)", _PRICE_NOTE, unit="eur_per_mmbtu")
       for y, v in {2019: 13.5, 2020: 9.4, 2021: 46.8, 2022: 123.0, 2023: 41.0,
                    2024: 34.0}.items()},
    **{("DE", "hard_coal", y): _f(v / MMBTU_PER_MWH_THERMAL, v * 0.7 / MMBTU_PER_MWH_THERMAL,
                                  v * 1.5 / MMBTU_PER_MWH_THERMAL, "API2 CIF ARA coal, annual "
                                  "average converted at 25.1 GJ/t (EUR/MWh_th)", _PRICE_NOTE,
                                  unit="eur_per_mmbtu")
       for y, v in {2019: 7.8, 2020: 6.3, 2021: 14.7, 2022: 40.0, 2023: 15.0,
                    2024: 13.0}.items()},
    **{("DE", "lignite", y): _f(3.0 / MMBTU_PER_MWH_THERMAL, 1.5 / MMBTU_PER_MWH_THERMAL,
                                4.5 / MMBTU_PER_MWH_THERMAL, "mine-mouth lignite cost, "
                                "literature range 1.5-4.5 EUR/MWh_th (no market price)",
                                "assumption; lignite has no traded price", unit="eur_per_mmbtu")
       for y in range(2019, 2025)},
    **{("DE", "oil", y): _f(v / MMBTU_PER_MWH_THERMAL, v * 0.7 / MMBTU_PER_MWH_THERMAL,
                            v * 1.4 / MMBTU_PER_MWH_THERMAL, "light fuel oil, annual average "
                            "(EUR/MWh_th)", _PRICE_NOTE, unit="eur_per_mmbtu")
       for y, v in {2019: 40.0, 2020: 30.0, 2021: 45.0, 2022: 80.0, 2023: 60.0,
                    2024: 55.0}.items()},
}

#: Carbon price by (region, year) [currency/t CO2]; ERCOT has none.
CARBON_PRICE_PER_T: dict[tuple[str, int], Figure] = {
    **{("ERCOT", y): Figure(0.0, "usd_per_t", source="no carbon price in Texas",
                            label="cited") for y in range(2019, 2025)},
    **{("DE", y): _f(v, v * 0.9, v * 1.1, "EU ETS EUA settlement, annual average",
                     _PRICE_NOTE, unit="eur_per_t")
       for y, v in {2019: 24.8, 2020: 24.8, 2021: 53.5, 2022: 80.9, 2023: 83.0,
                    2024: 65.0}.items()},
}


def _nearest_year(keys: list[int], year: int) -> int:
    return min(keys, key=lambda y: (abs(y - year), -y))


def fuel_price(region: str, fuel: str, year: int) -> tuple[Figure, bool]:
    """Price of ``fuel`` in ``region`` and ``year``; ``(figure, fell_back_to_nearest_year)``."""
    years = [y for (r, f, y) in FUEL_PRICE_PER_MMBTU if r == region and f == fuel]
    if not years:
        raise InputError(f"no default fuel price for {fuel!r} in {region!r}", field="fuel")
    y = year if year in years else _nearest_year(years, year)
    return FUEL_PRICE_PER_MMBTU[(region, fuel, y)], y != year


def carbon_price(region: str, year: int) -> tuple[Figure, bool]:
    """Carbon price for ``region`` and ``year``; ``(figure, fell_back_to_nearest_year)``."""
    years = [y for (r, y) in CARBON_PRICE_PER_T if r == region]
    if not years:
        raise InputError(f"no default carbon price for {region!r}", field="region")
    y = year if year in years else _nearest_year(years, year)
    return CARBON_PRICE_PER_T[(region, y)], y != year
