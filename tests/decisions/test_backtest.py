"""The scheduling back-test: perfect foresight bounds the other rules; profile leaves the
scored year out; figures on the bundled ERCOT years."""

from __future__ import annotations

import numpy as np
import pytest

from infercarbon.decisions.backtest import loyo_profile, rolling_mean, schedule_backtest
from infercarbon.decisions.signals import bundled_series
from infercarbon.grid.signal import IntensitySeries, SignalProvenance


def _series(v: np.ndarray) -> IntensitySeries:
    t = np.datetime64("2019-01-01T00", "s") + np.arange(len(v)) * np.timedelta64(3600, "s")
    return IntensitySeries.from_arrays(
        region="X",
        kind="location-average",
        basis="direct",
        resolution_s=3600,
        start_utc=t,
        intensity_g_per_kwh=v,
        provenance=SignalProvenance(source="test", version="1", method="synthetic"),
    )


def test_perfect_foresight_bounds_every_rule() -> None:
    rng = np.random.default_rng(1)
    h = np.arange(24 * 365 * 2)
    v = 400 + 100 * np.sin(2 * np.pi * h / 24) + rng.normal(0, 30, len(h))
    rows = schedule_backtest(_series(v), durations_h=[1, 3], flex_h=[0, 6], tz="UTC", every_h=5)
    for r in rows:
        assert r.saving_frac["perfect"] >= r.saving_frac["profile"] - 1e-12
        assert r.saving_frac["perfect"] >= r.saving_frac["naive"] - 1e-12
        if r.flex_h == 0:
            assert r.saving_frac == {"profile": 0.0, "perfect": 0.0, "naive": 0.0}
        else:
            # a strong daily cycle: the profile captures most of it
            assert r.saving_frac["profile"] > 0.5 * r.saving_frac["perfect"] > 0


def test_profile_leaves_the_year_out() -> None:
    t = np.datetime64("2019-01-01T00", "s") + np.arange(24 * 730) * np.timedelta64(3600, "s")
    v = np.where(t < np.datetime64("2020-01-01"), 100.0, 300.0)
    p = loyo_profile(t, v, "UTC")
    assert np.allclose(p[t < np.datetime64("2020-01-01")], 300.0)
    assert np.allclose(p[t >= np.datetime64("2020-01-01")], 100.0)
    assert np.isnan(rolling_mean(np.array([1.0, np.nan, 2.0]), 2)).all()


def test_bundled_ercot_location_figures() -> None:
    s = bundled_series("ERCOT", "location")
    assert s is not None
    (r,) = schedule_backtest(
        s, durations_h=[2], flex_h=[24], tz="America/Chicago", every_h=7
    )  # releases cycle through the hours of the day
    assert r.jobs > 4000
    assert r.saving_frac["naive"] < r.saving_frac["perfect"]
    assert 0 < r.saving_frac["profile"] < r.saving_frac["perfect"]
    assert r.baseline_g_per_kwh == pytest.approx(459, abs=15)
