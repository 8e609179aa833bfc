"""Regression MEF: exact recovery on a synthetic two-fuel grid, CI coverage, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from infercarbon.errors import FallbackWarning, InputError
from infercarbon.grid.marginal.regression import make_bins, regress_fuel_mix, regress_mef

COAL, GAS = 1000.0, 400.0  # g/kWh


def _times(n: int, step_s: int = 3600) -> np.ndarray:
    return np.datetime64("2021-01-01T00:00", "s") + np.arange(n) * np.timedelta64(step_s, "s")


def two_fuel_grid(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coal is base load (constant); gas follows load below 60 GW, coal... never: gas is
    marginal in the low-load half and a peaker (oil-like 700 g/kWh) above the median."""
    rng = np.random.default_rng(seed)
    load = 50e6 + 10e6 * np.sin(np.arange(n) * 2 * np.pi / 24) + rng.normal(0, 1e6, n)  # kWh
    coal = np.full(n, 30e6)
    return load, coal, load - coal


def test_two_fuel_grid_recovered_exactly() -> None:
    _load, coal, gas = two_fuel_grid(2000)
    gen = np.column_stack([coal, gas])
    r = regress_fuel_mix(_times(2000), gen, [COAL, GAS], ["coal", "gas_cc"], bins="decile")
    np.testing.assert_allclose(r.mef_g_per_kwh, GAS, rtol=1e-9)
    assert set(r.marginal_fuel or []) == {"gas_cc"}
    assert r.bins.fuel_share_frac is not None
    np.testing.assert_allclose(r.bins.fuel_share_frac[:, 1], 1.0, atol=1e-9)


def test_load_dependent_margin_recovered_by_decile() -> None:
    """Gas on the margin below the load median, a 700 g/kWh peaker above it."""
    n = 5000
    load, _, _ = two_fuel_grid(n)
    t = _times(n)
    edges = np.quantile(load, np.arange(1, 10) / 10)
    dec = np.searchsorted(edges, load, side="right")
    rate = np.where(dec >= 5, 700.0, GAS)
    # emissions built increment by increment at the rate of the later interval's decile
    e = np.concatenate([[0.0], np.cumsum(rate[1:] * np.diff(load))]) + 2e10
    r = regress_mef(t, load, e, bins="decile")
    np.testing.assert_allclose(r.bins.mef_g_per_kwh[:5], GAS, rtol=1e-9)
    np.testing.assert_allclose(r.bins.mef_g_per_kwh[5:], 700.0, rtol=1e-9)


@pytest.mark.parametrize("ci", ["hc1", "ols"])
def test_ci_coverage_near_nominal(ci: str) -> None:
    """200 seeded replications: the 90 % interval covers the true slope ~90 % of the time."""
    truth, level, reps, n = 550.0, 0.90, 200, 400
    rng = np.random.default_rng(42)
    covered = 0
    t = _times(n)
    for _ in range(reps):
        load = np.cumsum(rng.normal(0, 1e5, n)) + 5e7
        dl = np.diff(load)
        # HC1 is checked on heteroskedastic noise (larger when load moves more), classical
        # OLS errors on homoskedastic noise (they under-cover otherwise: ~0.75 measured)
        scale = 2e6 + 20 * np.abs(dl) if ci == "hc1" else 4e6
        de = truth * dl + rng.normal(0, 1, n - 1) * scale
        e = np.concatenate([[1e10], 1e10 + np.cumsum(de)])
        r = regress_mef(t, load, e, bins="none", ci=ci, level=level)
        covered += int(r.bins.low_g_per_kwh[0] <= truth <= r.bins.high_g_per_kwh[0])
    rate = covered / reps
    # binomial sd at p=0.9, n=200 is 0.021: accept about +-3 sd
    assert 0.84 <= rate <= 0.96, rate


def test_block_bootstrap_is_seeded_and_covers() -> None:
    truth, n = 480.0, 3000
    rng = np.random.default_rng(7)
    load = np.cumsum(rng.normal(0, 1e5, n)) + 5e7
    de = truth * np.diff(load) + rng.normal(0, 3e6, n - 1)
    e = np.concatenate([[1e10], 1e10 + np.cumsum(de)])
    a = regress_mef(
        _times(n), load, e, bins="decile", ci="bootstrap", rng=np.random.default_rng(1), n_boot=100
    )
    b = regress_mef(
        _times(n), load, e, bins="decile", ci="bootstrap", rng=np.random.default_rng(1), n_boot=100
    )
    np.testing.assert_array_equal(a.low_g_per_kwh, b.low_g_per_kwh)
    assert (a.bins.low_g_per_kwh <= a.bins.mef_g_per_kwh).all()
    assert np.mean((a.bins.low_g_per_kwh <= truth) & (truth <= a.bins.high_g_per_kwh)) >= 0.7
    with pytest.raises(InputError, match="rng"):
        regress_mef(_times(n), load, e, ci="bootstrap")


def test_gaps_break_pairs_and_sparse_bins_fall_back() -> None:
    n = 600
    load, coal, gas = two_fuel_grid(n)
    t = _times(n)
    t[300:] += np.timedelta64(7200, "s")  # a two-hour gap: that pair is not used
    e = COAL * coal + GAS * gas
    e[300:] += 5e12  # a jump across the gap would wreck the slope if paired
    with pytest.warns(FallbackWarning, match="load-decile"):
        r = regress_mef(t, load, e, bins="both")
    np.testing.assert_allclose(r.mef_g_per_kwh, GAS, rtol=1e-6)
    assert r.fallback.any()
    assert r.notes


def test_bins_and_validation() -> None:
    t = _times(48)
    ids, labels, parent = make_bins(np.arange(48.0), t, "hour-season")
    assert len(labels) == 96
    assert parent is None
    assert ids[5] == 5
    with pytest.raises(InputError, match="bins"):
        make_bins(np.arange(48.0), t, "weekly")
    with pytest.raises(InputError, match="strictly increasing"):
        regress_mef(t[::-1], np.arange(48.0), np.arange(48.0))
    with pytest.raises(InputError, match="non-finite"):
        regress_mef(t, np.r_[np.nan, np.arange(47.0)], np.arange(48.0))
