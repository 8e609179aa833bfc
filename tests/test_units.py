"""Exact unit constants and converters."""

from __future__ import annotations

from infercarbon import units as u


def test_exact_constants() -> None:
    assert u.J_PER_WH == 3_600
    assert u.J_PER_KWH == 3_600_000
    assert u.J_PER_MWH == 3_600_000_000
    assert u.G_PER_LB == 453.59237  # international avoirdupois pound, exact by definition
    assert u.G_PER_KG == 1_000
    assert u.G_PER_T == 1_000_000
    assert u.J_PER_BTU == 1055.05585262  # International Table BTU
    assert u.J_PER_MMBTU == u.J_PER_BTU * 1_000_000
    assert u.BYTES_PER_GB == 10**9
    assert u.S_PER_SHIFT == 8 * u.S_PER_HOUR
    assert u.S_PER_YEAR == 365 * u.S_PER_DAY


def test_converters_round_trip() -> None:
    assert u.kwh_to_j(2.5) == 9_000_000
    assert u.j_to_kwh(u.kwh_to_j(0.123)) == 0.123
    assert u.wh_to_j(1) == 3600
    assert u.j_to_wh(7200) == 2
    assert u.mmbtu_to_j(1.0) == u.J_PER_MMBTU


def test_emission_rate_conversions() -> None:
    # eGRID publishes lb/MWh: 1,000 lb/MWh = 453.59237 g/kWh
    assert abs(u.g_per_kwh_from_lb_per_mwh(1000.0) - 453.59237) < 1e-12
    # Cloud Carbon Footprint publishes metric t/kWh
    assert u.g_per_kwh_from_t_per_kwh(0.000415755) == 415.755
    assert u.g_per_kwh_from_t_per_mwh(0.5) == 500.0
    assert u.g_per_kwh_from_kg_per_mwh(350.0) == 350.0
