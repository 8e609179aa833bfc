"""Per-fuel emission rates: derivations equal hand arithmetic from the EPA / EIA / IPCC inputs."""

from __future__ import annotations

import numpy as np
import pytest

from infercarbon.errors import InputError, UnknownRegionError
from infercarbon.grid import factors
from infercarbon.grid.factors import (
    ERCOT_FUEL_MAP,
    FUELS,
    MMBTU_PER_MWH,
    canonical_fuel,
    direct_rate_from_efficiency,
    direct_rate_from_heat_rate,
    emission_factor_g_per_mmbtu,
    fuel_rate,
)

G_PER_LB = 453.59237
SHORT_TON_G = 2000 * G_PER_LB
# EPA eGRID static co2_ch4_n2o_ef.csv, 'Pipeline (Weighted U.S. Average)'
NG_CO2E = 0.058444529 * SHORT_TON_G + 28 * 0.002204624 * G_PER_LB + 265 * 2.20e-4 * G_PER_LB


def test_gas_factor_is_short_tons_plus_gwp_weighted_ch4_n2o() -> None:
    ef = emission_factor_g_per_mmbtu("gas")
    assert ef.value == pytest.approx(NG_CO2E, abs=0.01)
    # 53.02 kg CO2/MMBtu is the EPA value; metric-ton reading would give 58.4 kg
    assert 53_000 < ef.value < 53_100


def test_thermal_equivalent_of_a_mwh() -> None:
    assert pytest.approx(3_600_000_000 / 1_055_055_852.62) == MMBTU_PER_MWH
    assert round(MMBTU_PER_MWH, 5) == 3.41214


def test_direct_rate_from_heat_rate_is_ef_times_heat_rate() -> None:
    got = direct_rate_from_heat_rate("gas_cc", np.array([6.5, 7.6, 9.0]))
    np.testing.assert_allclose(got, NG_CO2E * np.array([6.5, 7.6, 9.0]) / 1000, rtol=1e-6)


def test_direct_rate_from_efficiency_matches_heat_rate() -> None:
    a = direct_rate_from_efficiency("coal", 0.4)
    b = direct_rate_from_heat_rate("coal", MMBTU_PER_MWH / 0.4)
    assert float(a) == pytest.approx(float(b))


def test_ercot_non_cc_gas_rate_uses_capacity_weighted_heat_rate() -> None:
    hr = factors._hrs()[("ERCOT", "gas_non_cc")]
    f = fuel_rate("Gas", "direct", region="ERCOT")
    assert f.value == pytest.approx(NG_CO2E * hr.value / 1000, rel=1e-6)
    # weights of steam/turbine/engine lie between the engine and the turbine heat rates
    assert 8.8 < hr.value < 11.2
    assert "ERCOT CDR" in f.source
    assert f.range[0] < f.value < f.range[1]


def test_ercot_coal_uses_lignite_subbituminous_mix() -> None:
    f = fuel_rate("coal", "direct", region="ERCOT")
    lig, sub = 0.106218687 * SHORT_TON_G, 0.106946213 * SHORT_TON_G
    other = 28 * 0.024250869 * G_PER_LB + 265 * 0.003527399 * G_PER_LB
    hr = factors._hrs()[("generic", "coal")].value
    assert f.value == pytest.approx(((lig + sub) / 2 + other) * hr / 1000, rel=1e-6)
    assert "generic" in (f.note or "")  # heat rate is the generic US fleet value, said so


def test_lifecycle_of_fossil_scales_direct_by_ipcc_ratio() -> None:
    d = fuel_rate("gas_cc", "direct")
    lc = fuel_rate("gas_cc", "lifecycle")
    assert lc.value == pytest.approx(d.value * 490 / 370)
    assert lc.range[0] == pytest.approx(d.range[0] * 410 / 370)
    assert lc.range[1] == pytest.approx(d.range[1] * 650 / 370)


def test_non_combustion_rates() -> None:
    assert fuel_rate("wind", "lifecycle").range == (7.0, 56.0)
    assert fuel_rate("wind", "lifecycle").value == 11.0
    assert fuel_rate("nuclear", "direct").value == 0.0
    assert fuel_rate("solar", "lifecycle").value == 48.0
    assert fuel_rate("geothermal", "direct").value == pytest.approx(60 * G_PER_LB / 1000, abs=1e-3)


@pytest.mark.parametrize("region", [None, "ERCOT", "DE"])
@pytest.mark.parametrize("basis", ["direct", "lifecycle"])
def test_every_fuel_has_a_bracketed_rate(region: str | None, basis: str) -> None:
    for fuel in FUELS:
        f = fuel_rate(fuel, basis, region=region)  # type: ignore[arg-type]
        lo, hi = f.range
        assert 0 <= lo <= f.value <= hi, fuel
        assert f.unit == "g_per_kwh"
        if basis == "lifecycle":
            assert f.value >= fuel_rate(fuel, "direct", region=region).value


def test_germany_uses_opsd_efficiency() -> None:
    f = fuel_rate("lignite", "direct", region="DE")
    assert "Open Power System Data" in f.source
    assert f.value < fuel_rate("lignite", "direct").value  # German fleet more efficient


def test_errors() -> None:
    with pytest.raises(UnknownRegionError, match="Known: ERCOT, DE"):
        fuel_rate("coal", "direct", region="Mars")
    with pytest.raises(InputError, match="unknown fuel"):
        fuel_rate("unobtainium", "direct")
    with pytest.raises(InputError, match="basis"):
        fuel_rate("coal", "marginal")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="efficiency"):
        direct_rate_from_efficiency("coal", 1.5)
    with pytest.raises(InputError, match="heat rate"):
        direct_rate_from_heat_rate("coal", [-1.0])


def test_ercot_fuel_map_is_canonical() -> None:
    assert set(ERCOT_FUEL_MAP.values()) <= set(FUELS)
    assert canonical_fuel("Gas-CC") == "gas_cc"
    assert canonical_fuel("Gas") == "gas_non_cc"


def test_lhv_efficiency_is_converted_to_hhv_heat_input() -> None:
    """OPSD-style LHV efficiencies: the HHV-based EPA factor applies to more heat input."""
    hhv = float(direct_rate_from_efficiency("gas_cc", 0.55))
    lhv = float(direct_rate_from_efficiency("gas_cc", 0.55, heating_value="lhv"))
    assert abs(lhv / hhv - 1 / 0.90) < 1e-12
    coal = float(direct_rate_from_efficiency("coal", 0.40, heating_value="lhv"))
    assert abs(coal / float(direct_rate_from_efficiency("coal", 0.40)) - 1 / 0.945) < 1e-12
