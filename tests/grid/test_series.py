"""Location-average series: hand arithmetic, gaps, and agreement with the hourly operator file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from infercarbon.errors import DataQualityWarning, InputError, UnknownRegionError
from infercarbon.grid.factors import fuel_rate
from infercarbon.grid.series import (
    ercot_intensity,
    intensity_from_generation,
    load_ercot_generation,
    regional_intensity,
)

HOURLY = Path(__file__).resolve().parents[1] / "data" / "grid" / "ercot_hourly_utc_excerpt.csv"
T = np.array(["2024-01-01T00", "2024-01-01T01", "2024-01-01T02"], dtype="datetime64[s]")


def test_two_fuel_hand_arithmetic() -> None:
    mwh = np.array([[1.0, 3.0], [2.0, 2.0], [0.0, 5.0]])
    s = intensity_from_generation(T, ["coal", "wind"], mwh, "direct", 3600, "ERCOT")
    c, w = fuel_rate("coal", "direct", region="ERCOT"), fuel_rate("wind", "direct")
    np.testing.assert_allclose(
        s.intensity_g_per_kwh, (mwh[:, 0] * c.value + mwh[:, 1] * w.value) / mwh.sum(axis=1)
    )
    np.testing.assert_allclose(s.low_g_per_kwh, mwh[:, 0] * c.range[0] / mwh.sum(axis=1))
    np.testing.assert_allclose(s.high_g_per_kwh, mwh[:, 0] * c.range[1] / mwh.sum(axis=1))
    assert s.kind == "location-average" and s.basis == "direct" and s.region == "ERCOT"


def test_negative_generation_is_not_generation() -> None:
    mwh = np.array([[1.0, -1.0], [1.0, 0.0], [1.0, 1.0]])
    s = intensity_from_generation(T, ["coal", "other"], mwh, "direct", 3600, None)
    c = fuel_rate("coal", "direct").value
    assert s.intensity_g_per_kwh[0] == pytest.approx(c)
    assert any("1 negative fuel values" in n for n in s.provenance.notes)


def test_missing_interval_is_dropped_warned_and_a_hole() -> None:
    mwh = np.array([[1.0, 1.0], [np.nan, 1.0], [1.0, 1.0]])
    with pytest.warns(DataQualityWarning, match="1 of 3 intervals"):
        s = intensity_from_generation(T, ["coal", "wind"], mwh, "lifecycle", 3600, None)
    assert len(s) == 2
    with pytest.raises(InputError, match="outside the signal"):
        s.at(np.datetime64("2024-01-01T01:30"))
    with pytest.raises(InputError, match="spans a hole"):
        s.integrate(np.datetime64("2024-01-01T00:30"), np.datetime64("2024-01-01T02:30"))


def test_shape_errors() -> None:
    with pytest.raises(InputError, match="shape"):
        intensity_from_generation(T, ["coal"], np.ones((3, 2)), "direct", 3600, None)


def test_bundled_ercot_generation() -> None:
    t, fuels, mwh = load_ercot_generation("15min")
    assert len(t) == 119_708 and mwh.shape == (119_708, 9)
    assert "gas_cc" in fuels and "gas_non_cc" in fuels
    th, _, mh = load_ercot_generation("1h")
    assert len(th) == 29_927
    np.testing.assert_allclose(mh.sum(), mwh.sum())


def test_bundled_series_matches_hourly_operator_file() -> None:
    """Intensity from the bundled series equals intensity computed from the resolved hourly
    file on the DST weeks (exact: the MWh agree to the last decimal)."""
    rows = list(csv.DictReader(io.StringIO(HOURLY.read_text(encoding="utf-8"))))
    t = np.array([r["hour_start_utc"].rstrip("Z") for r in rows], dtype="datetime64[s]")
    names = [k[:-4] for k in rows[0] if k.endswith("_mwh") and k != "total_mwh"]
    mwh = np.array([[float(r[f"{n}_mwh"]) for n in names] for r in rows])
    for basis in ("direct", "lifecycle"):
        ref = intensity_from_generation(t, names, mwh, basis, 3600, "ERCOT")
        s = ercot_intensity(basis, "1h")
        v, lo, hi = s.at(t)
        assert np.abs(v - ref.intensity_g_per_kwh).max() < 1e-6
        assert np.abs(lo - ref.low_g_per_kwh).max() < 1e-6
        assert np.abs(hi - ref.high_g_per_kwh).max() < 1e-6


def test_hourly_is_energy_weighted_mean_of_quarters() -> None:
    q = ercot_intensity("direct", "15min")
    h = ercot_intensity("direct", "1h")
    i = 1000
    qi = slice(4 * i, 4 * i + 4)  # no gaps in the bundled data, so quarters align
    assert q.start_utc[4 * i] == h.start_utc[i]
    g = q.extra["generation_mwh"][qi]
    assert h.intensity_g_per_kwh[i] == pytest.approx(
        (q.intensity_g_per_kwh[qi] * g).sum() / g.sum()
    )


def test_ercot_plausible_annual_means() -> None:
    s = ercot_intensity("direct", "1h")
    g = s.extra["generation_mwh"]
    year = s.start_utc.astype("datetime64[Y]")
    m = year == np.datetime64("2019", "Y")
    annual = (s.intensity_g_per_kwh[m] * g[m]).sum() / g[m].sum()
    assert 350 < annual < 450  # coal + gas fleet with ~20 % wind
    lc = ercot_intensity("lifecycle", "1h")
    assert (lc.intensity_g_per_kwh > s.intensity_g_per_kwh).all()


def test_unknown_region() -> None:
    with pytest.raises(UnknownRegionError):
        regional_intensity("CAISO", "direct", "1h")
    assert regional_intensity("ercot", "direct", "1h").region == "ERCOT"
