"""Merit order: marginal unit search, ramp blending, curtailment, inventories, back-test."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from infercarbon.errors import InputError, ParseError
from infercarbon.grid.marginal.backtest import calibrate_merit_order, metrics
from infercarbon.grid.marginal.inventory import (
    build_region_stack,
    default_fuel_co2,
    load_inventory,
    read_ercot_cdr,
)
from infercarbon.grid.marginal.ledger import MarginalLedger
from infercarbon.grid.marginal.merit_order import build_stack, dispatch, dispatch_groups
from infercarbon.grid.marginal.pipeline import merit_order_from_mix

DATA = Path(__file__).resolve().parents[2] / "data" / "marginal"


def _stack(ramp: float = 1.0):
    return build_stack(
        unit_id=["gt", "coal", "cc"],
        fuel=["gas", "coal", "gas"],
        technology=["GT", "ST", "CC"],
        capacity_mw=[50.0, 100.0, 80.0],
        rate_g_per_kwh=[600.0, 1000.0, 380.0],
        heat_rate_mmbtu_per_mwh=[11.0, 10.5, 7.0],
        fuel_price_per_mmbtu=[3.0, 2.0, 3.0],
        vom_per_mwh=[5.0, 4.0, 3.0],
        ramp_frac_per_min=[0.2, ramp, 0.04],
        rate_low_g_per_kwh=[550.0, 950.0, 350.0],
        rate_high_g_per_kwh=[650.0, 1050.0, 400.0],
    )


def test_two_fuel_stack_marginal_unit_exact() -> None:
    s = _stack()
    # costs: cc 24, coal 25, gt 38 -> order cc (0-80), coal (80-180), gt (180-230)
    assert list(s.unit_id) == ["cc", "coal", "gt"]
    r = dispatch(
        s,
        np.array([40.0, 80.0, 80.1, 179.0, 200.0, 500.0, -3.0]),
        interval_s=3600,
        previous_residual_mw=np.array([40.0, 80.0, 80.1, 179.0, 200.0, 500.0, -3.0]),
    )
    assert list(r.unit_id) == ["cc", "cc", "coal", "coal", "gt", "gt", "curtailed"]
    np.testing.assert_allclose(r.mef_g_per_kwh, [380, 380, 1000, 1000, 600, 600, 0])
    assert r.scarcity.tolist() == [False] * 5 + [True, False]
    # emissions of the dispatch: 80 MW cc + 20 MW coal for one hour at 100 MW
    r2 = dispatch(s, np.array([100.0]), interval_s=3600)
    assert r2.emissions_g[0] == pytest.approx(80e3 * 380 + 20e3 * 1000)
    assert (r.low_g_per_kwh <= r.mef_g_per_kwh).all()
    assert (r.high_g_per_kwh >= r.mef_g_per_kwh).all()


def test_ramp_limit_blends_with_next_fast_unit() -> None:
    s = _stack(ramp=0.01)  # coal ramps 1 %/min: 15 MW in 15 minutes
    r = dispatch(s, np.array([100.0, 145.0]), interval_s=900)
    # step of 45 MW: coal covers 15 MW (1/3), the GT above covers the rest
    assert r.ramp_limited.tolist() == [False, True]
    assert r.share_frac[1] == pytest.approx(1 / 3)
    assert r.mef_g_per_kwh[1] == pytest.approx(1000 / 3 + 600 * 2 / 3)
    assert r.ramp_unit_id[1] == "gt"


def test_dispatch_groups_and_validation() -> None:
    a, b = _stack(), _stack()
    r = dispatch_groups(
        [a, b], np.array([0, 1, 0]), np.array([10.0, 100.0, 200.0]), interval_s=3600
    )
    assert list(r.unit_id) == ["cc", "coal", "gt"]
    with pytest.raises(InputError, match="group"):
        dispatch_groups([a], np.array([1]), np.array([1.0]), interval_s=3600)
    with pytest.raises(InputError, match="vom_per_mwh"):
        build_stack(
            unit_id=["x"],
            fuel=["gas"],
            technology=["CC"],
            capacity_mw=[1.0],
            rate_g_per_kwh=[1.0],
            heat_rate_mmbtu_per_mwh=[7.0],
            fuel_price_per_mmbtu=[1.0],
            vom_per_mwh=[-1.0],
            ramp_frac_per_min=[1.0],
        )


def test_ledger_from_merit_order() -> None:
    t = np.array(["2024-01-01T00", "2024-01-01T01"], dtype="datetime64[s]")
    r = dispatch(_stack(), np.array([40.0, 120.0]), interval_s=3600)
    led = MarginalLedger.from_merit_order(r, region="X", start_utc=t, resolution_s=3600)
    rec = led.records()
    assert rec[1]["marginal"] == "coal (coal)"
    assert rec[1]["version"] == "merit-order-1"
    assert led.to_series().kind == "marginal"


def test_bundled_inventories_build_stacks() -> None:
    ercot = load_inventory("ERCOT")
    assert len(ercot) == 1693
    stack, info = build_region_stack(
        ercot, year=2021, season="summer", co2=default_fuel_co2("ERCOT")
    )
    assert 50_000 < info.capacity_mw < 80_000  # ERCOT thermal fleet, seasonal net MW
    assert {"coal-ST", "gas-CC", "gas-GT"} <= set(stack.fuel)
    coal = stack.rate_g_per_kwh[stack.fuel == "coal-ST"]
    cc = stack.rate_g_per_kwh[stack.fuel == "gas-CC"]
    assert 900 < coal.mean() < 1150
    assert 330 < cc.mean() < 480
    assert (np.diff(stack.cost_per_mwh) >= 0).all()
    de = load_inventory("DE")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # documented fallbacks for a few units
        st_de, info_de = build_region_stack(
            de, year=2019, season="winter", co2=default_fuel_co2("DE")
        )
    assert 50_000 < info_de.capacity_mw < 100_000
    assert st_de.fuel[0].startswith("lignite")  # cheapest fuel
    with pytest.raises(InputError, match="region"):
        load_inventory("PJM")


def test_cdr_reader_preamble_and_errors(tmp_path: Path) -> None:
    inv = read_ercot_cdr(DATA / "cdr_excerpt.csv")
    assert list(inv.unit_id) == ["CPSES_UNIT1", "COLETO_COLETOG1", "X_GT1", "X_GT1_UNAVAIL"]
    assert inv.seasonal_mw[0].tolist() == [1235.0, 1227.0, 1205.0, 1222.0]
    stack, info = build_region_stack(inv, year=2024, season="summer", co2=default_fuel_co2("ERCOT"))
    # the _UNAVAIL row nets X_GT1 to zero; nuclear is must-run: only the coal unit is left
    assert list(stack.unit_id) == ["COLETO_COLETOG1"]
    assert info.excluded["zero net capability (switched to another grid)"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text((DATA / "cdr_excerpt.csv").read_text().replace("1269,", "12x9,", 1))
    with pytest.raises(ParseError, match=r"row \d+, column 'INSTALLED CAPACITY \(MW\)'"):
        read_ercot_cdr(bad)
    with pytest.raises(ParseError, match="UNIT NAME"):
        read_ercot_cdr(DATA / "small_operator.csv")


def test_backtest_and_calibration_improve_fit() -> None:
    """On a synthetic fuel mix generated by the bundled stack itself with derated coal."""
    inv = load_inventory("ERCOT")
    co2 = default_fuel_co2("ERCOT")
    n = 24 * 28
    t = np.datetime64("2021-06-01T00", "s") + np.arange(n) * np.timedelta64(3600, "s")
    load = 45_000 + 12_000 * np.sin(np.arange(n) * 2 * np.pi / 24)
    wind = 8_000 + 3_000 * np.cos(np.arange(n) / 7.0)
    run = merit_order_from_mix(
        t,
        load,
        np.column_stack([wind, load * 0]),
        ["wind", "gas"],
        inventory=inv,
        co2=co2,
        interval_s=3600,
        availability_frac={"coal": 0.7},
    )
    thermal = run.residual_mw
    m = metrics(run.result.emissions_g, run.result.emissions_g, thermal * 1000)
    assert m.emissions_bias_frac == 0
    assert m.emissions_mape_frac == 0
    # observed mix: the thermal energy split coal/gas as the derated stack dispatched it
    coal_share = 0.45
    gen = np.column_stack([wind, thermal * coal_share, thermal * (1 - coal_share)])
    rates = np.array([0.0, 1010.0, 420.0])
    rep = calibrate_merit_order(
        t, gen, ["wind", "coal", "gas_cc"], rates, inventory=inv, co2=co2, interval_s=3600
    )
    assert abs(rep.after_test.emissions_bias_frac) < abs(rep.before_test.emissions_bias_frac)
    assert rep.after_test.emissions_mape_frac <= rep.before_test.emissions_mape_frac
    assert set(rep.availability_frac) == {"coal", "gas-CC", "gas-other"}
