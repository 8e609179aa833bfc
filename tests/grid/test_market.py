"""Market-based instruments: quality criteria, hierarchy, fallback labelling, CFE conservation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from infercarbon.errors import DataQualityWarning, FallbackWarning, InputError
from infercarbon.grid.market import EAC, PPA, hourly_cfe_match, market_based
from infercarbon.provenance import Figure

T = np.array(["2022-01-01T00", "2022-01-01T01", "2022-01-01T02"], dtype="datetime64[s]")
C = np.array([100.0, 200.0, 100.0])
LOC = Figure(
    400.0, "g_per_kwh", source="ERCOT location 2022", label="derived", low=350.0, high=450.0
)
RES = Figure(450.0, "g_per_kwh", source="residual mix 2022", label="cited")


def test_no_instruments_no_residual_falls_back_with_warning_and_label() -> None:
    with pytest.warns(FallbackWarning, match="location-based figure"):
        r = market_based(C, T, 3600, "ERCOT", location=LOC)
    assert r.fallback and "location-based fallback" in r.label
    assert r.kind == "market"
    assert r.figure.value == 400.0 and r.figure.range == (350.0, 450.0)
    assert r.coverage_kwh["location_fallback"] == 400.0
    assert "fallback" in (r.figure.note or "")


def test_nothing_to_fall_back_on_is_an_error() -> None:
    with pytest.raises(InputError, match="residual_mix"):
        market_based(C, T, 3600, "ERCOT")


def test_residual_mix_and_certificates() -> None:
    r = market_based(
        C, T, 3600, "ERCOT", eacs=[EAC("g1", 300.0, "ERCOT", 2022)], residual_mix=RES, location=LOC
    )
    assert not r.fallback and r.label == "market-based"
    assert r.coverage_kwh == {
        "ppa": 0.0,
        "eac": 300.0,
        "supplier": 0.0,
        "residual_mix": 100.0,
        "location_fallback": 0.0,
    }
    assert r.figure.value == pytest.approx(100 * 450 / 400)
    assert r.figure.value != LOC.value


def test_ppa_before_eac_supplier_before_residual_and_surplus() -> None:
    r = market_based(
        C,
        T,
        3600,
        "ERCOT",
        ppas=[PPA("p1", 300.0, "ERCOT", 2022, factor_g_per_kwh=10.0)],
        eacs=[EAC("g1", 300.0, "ERCOT", 2022)],
        supplier=Figure(300.0, "g_per_kwh", source="utility", label="user"),
        residual_mix=RES,
    )
    assert r.coverage_kwh["ppa"] == 300.0 and r.coverage_kwh["eac"] == 100.0
    assert r.coverage_kwh["supplier"] == 0.0
    assert r.surplus_kwh == pytest.approx(200.0)
    assert r.emissions_g == pytest.approx(300.0 * 10.0)


def test_vintage_mismatch_rejected() -> None:
    with pytest.raises(InputError, match="old: vintage 2019 is outside"):
        market_based(C, T, 3600, "ERCOT", eacs=[EAC("old", 400.0, "ERCOT", 2019)], residual_mix=RES)
    with pytest.warns(DataQualityWarning, match="old rejected"):
        r = market_based(
            C,
            T,
            3600,
            "ERCOT",
            eacs=[EAC("old", 400.0, "ERCOT", 2019)],
            residual_mix=RES,
            strict=False,
        )
    assert r.rejected[0][0] == "old" and r.coverage_kwh["eac"] == 0.0
    assert r.figure.value == 450.0


def test_region_mismatch_rejected() -> None:
    with pytest.raises(InputError, match="market boundary"):
        market_based(C, T, 3600, "ERCOT", eacs=[EAC("pjm", 400.0, "PJM", 2022)], residual_mix=RES)


def test_hourly_matching_conserves_and_rejects_annual_certificates() -> None:
    ppa = PPA("solar", 300.0, "ERCOT", 2022, hourly_kwh=np.array([0.0, 250.0, 50.0]))
    with pytest.warns(DataQualityWarning, match="hourly profile"):
        r = market_based(
            C,
            T,
            3600,
            "ERCOT",
            ppas=[ppa],
            eacs=[EAC("annual", 400.0, "ERCOT", 2022)],
            residual_mix=RES,
            hourly=True,
            strict=False,
        )
    assert r.coverage_kwh["ppa"] == 250.0  # 0 + 200 + 50
    assert r.surplus_kwh == 50.0
    assert r.hourly_cfe_frac == pytest.approx(250.0 / 400.0)
    assert r.coverage_kwh["residual_mix"] == 150.0
    assert "hourly CFE" in r.label


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 48).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.floats(0, 1e4)),
            arrays(np.float64, n, elements=st.floats(0, 1e4)),
        )
    )
)
def test_hourly_match_conserves_energy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    c, s = pair
    m, u, x = hourly_cfe_match(c, s)
    np.testing.assert_allclose(m + u, c)
    np.testing.assert_allclose(m + x, s)
    assert (m >= 0).all() and (u >= 0).all() and (x >= 0).all()
    assert ((u == 0) | (x == 0)).all()  # no hour has both a deficit and a surplus


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, 5, elements=st.floats(1, 1e3)), st.floats(0, 1e4))
def test_coverage_sums_to_consumption(c: np.ndarray, eac_kwh: float) -> None:
    t = np.array("2022-03-01T00", dtype="datetime64[s]") + np.arange(5) * np.timedelta64(3600, "s")
    r = market_based(c, t, 3600, "ERCOT", eacs=[EAC("x", eac_kwh, "ERCOT", 2022)], residual_mix=RES)
    assert sum(r.coverage_kwh.values()) == pytest.approx(c.sum())
    assert 0 <= r.figure.value <= 450.0 + 1e-9
