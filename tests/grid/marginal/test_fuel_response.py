"""Fuel-responsive marginal factors with per-fuel rates from heat input (EPA-CEMS style)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from infercarbon.cli.main import app, main
from infercarbon.errors import InputError
from infercarbon.grid import factors
from infercarbon.grid.marginal import harness
from infercarbon.grid.marginal.fuel_response import (
    epa_factors_g_per_mmbtu,
    fuel_emissions_from_heat_input,
    fuel_rates_by_group,
    fuel_response,
)
from infercarbon.grid.marginal.regression import make_bins
from infercarbon.grid.marginal.simulate import STACK_CLASSES, Scenario, simulate_year

runner = CliRunner()


# ------------------------------------------------------------------ simulation
@pytest.mark.parametrize(("region", "year"), [("ERCOT", 2022), ("DE", 2020)])
def test_simulated_heat_input_times_the_epa_factor_is_each_fuels_emissions(
    region: str, year: int
) -> None:
    sim = simulate_year(Scenario(region=region, year=year, seed=7, n_days=21))
    assert (
        set(sim.heat_input_mmbtu)
        == set(sim.emissions_by_fuel_g)
        == {f for f in sim.generation_mw if f in STACK_CLASSES}
    )
    total = np.sum(list(sim.emissions_by_fuel_g.values()), axis=0)
    np.testing.assert_allclose(total, sim.emissions_g, rtol=1e-9)
    for fuel, hi in sim.heat_input_mmbtu.items():
        ef = factors.emission_factor_g_per_mmbtu(fuel, region=region).value
        np.testing.assert_allclose(hi * ef, sim.emissions_by_fuel_g[fuel], rtol=1e-9, atol=1e-3)
        run = sim.generation_mw[fuel] > 1.0
        heat_rate = hi[run] / sim.generation_mw[fuel][run]  # MMBtu/MWh (hourly intervals)
        assert ((heat_rate > 5.0) & (heat_rate < 16.0)).all(), fuel


# ------------------------------------------------------------------- the rates
def test_rates_from_heat_input_equal_the_simulators_true_per_fuel_rates() -> None:
    sim = simulate_year(Scenario(region="DE", year=2020, seed=8, n_days=91))
    res = harness.heat_input_rates(sim)
    load, gen, fuels, disp = harness._kwh(sim)
    names = [f for f, k in zip(fuels, disp, strict=True) if k]
    b, labels, _ = make_bins(load, sim.time, "decile-season")
    g = gen[:, np.asarray(disp)]
    true_e = np.column_stack([sim.emissions_by_fuel_g[f] for f in names])
    truth = fuel_rates_by_group(g, true_e, b, len(labels))  # Σ E_f / Σ G_f per bin
    used = np.unique(b)
    ok = np.isfinite(truth[used])
    np.testing.assert_allclose(res.rates_g_per_kwh[used][ok], truth[used][ok], rtol=1e-9)
    assert res.rate_source == ("table emissions by fuel",) * len(names)
    # and they are what the fuels burn: lignite above hard coal above gas
    table = fuel_rates_by_group(g, true_e, np.zeros(len(load), dtype=np.int64), 1)[0]
    mean = dict(zip(names, table, strict=True))
    assert mean["lignite"] > mean["gas"] and mean["coal"] > mean["gas"]


def test_heat_input_is_at_least_as_accurate_as_rates_fitted_to_total_emissions() -> None:
    """ERCOT full years (the three scenarios of the back-test): per-bin rates from heat input
    beat rates fitted to the total emissions in decile MAPE and month x hour r; the German
    scenarios are pinned within a point (docs/marginal_backtest.md)."""
    cands = {c.name: c for c in harness.CANDIDATES}
    without = cands["fuel-response decile-season"]
    with_hi = cands["fuel-response decile-season + heat input"]
    for sc in harness.DEFAULT_SCENARIOS:
        if sc.region != "ERCOT":
            continue
        sim = simulate_year(sc)
        s0 = harness.score(sim.time, sim.load_mw, sim.true_mef_g_per_kwh, without.run(sim, True))
        s1 = harness.score(sim.time, sim.load_mw, sim.true_mef_g_per_kwh, with_hi.run(sim, True))
        assert s1[0] <= s0[0], sc.label
        assert s1[1] >= s0[1] - 1e-9, sc.label


def test_backtest_pins_the_heat_input_candidate() -> None:
    scenarios = [
        replace(sc, n_days=91)
        for sc in harness.DEFAULT_SCENARIOS
        if sc.label in ("ERCOT 2022 base", "DE 2020 base")
    ]
    cands = [c for c in harness.CANDIDATES if c.name.startswith("fuel-response")]
    scores = {(s.scenario, s.candidate): s for s in harness.run_backtest(scenarios, cands)}
    pinned = {  # measured when the candidate was added; tolerance: BLAS rounding only
        ("ERCOT 2022 base", "fuel-response decile-season + heat input"): (0.2056, -0.055),
        ("ERCOT 2022 base", "fuel-response decile-season"): (0.2090, -0.045),
        ("DE 2020 base", "fuel-response decile-season + heat input"): (0.1102, 0.300),
        ("DE 2020 base", "fuel-response decile-season"): (0.1140, 0.311),
    }
    for key, (mape, r) in pinned.items():
        assert scores[key].decile_mape_frac == pytest.approx(mape, abs=0.005), key
        assert scores[key].month_hour_r == pytest.approx(r, abs=0.02), key


# ------------------------------------------------------------------ invariants
@settings(max_examples=25, deadline=None)
@given(
    rates=st.lists(st.floats(50.0, 1500.0), min_size=2, max_size=2),
    share=st.floats(0.1, 0.9),
    n_days=st.integers(20, 40),
)
def test_known_shares_and_rates_give_their_product(
    rates: list[float], share: float, n_days: int
) -> None:
    t = np.arange(0, 24 * n_days * 3600, 3600).astype("datetime64[s]")
    load = 1e6 + 2e5 * np.sin(np.arange(len(t)) / 4.0) + 5e4 * np.cos(np.arange(len(t)) / 17.0)
    g = np.column_stack([share * load, (1.0 - share) * load])
    e = g * np.asarray(rates)[None, :]
    res = fuel_response(t, load, g, ["coal", "gas"], fuel_emissions_g=e, bins="decile")
    np.testing.assert_allclose(res.rates_g_per_kwh, np.tile(rates, (10, 1)), rtol=1e-9)
    np.testing.assert_allclose(
        res.regression.mef_g_per_kwh, share * rates[0] + (1 - share) * rates[1], rtol=1e-6
    )
    # table-wide rates and a given rate for a fuel without emissions agree here
    r2 = fuel_response(
        t,
        load,
        g,
        ["coal", "gas"],
        fuel_emissions_g=np.column_stack([e[:, 0], np.full(len(t), np.nan)]),
        rates_g_per_kwh=[np.nan, rates[1]],
        rates_by="table",
        bins="decile",
    )
    np.testing.assert_allclose(r2.regression.mef_g_per_kwh, res.regression.mef_g_per_kwh, rtol=1e-6)


def test_bad_input_names_the_field() -> None:
    t = np.arange(0, 48 * 3600, 3600).astype("datetime64[s]")
    load = np.linspace(1.0, 2.0, 48)
    g = np.column_stack([load, load])
    with pytest.raises(InputError, match="rates_g_per_kwh"):
        fuel_response(t, load, g, ["coal", "gas"])
    with pytest.raises(InputError, match="bins"):
        fuel_response(
            t, load, g, ["coal", "gas"], rates_g_per_kwh=[900.0, 400.0], bins="emissions-decile"
        )
    with pytest.raises(InputError, match="rates_by"):
        fuel_response(t, load, g, ["coal", "gas"], rates_g_per_kwh=[900.0, 400.0], rates_by="month")
    with pytest.raises(InputError, match="heat_input_mmbtu"):
        fuel_emissions_from_heat_input(np.array([[1.0, -1.0]]), np.array([9e4, 5e4]))
    ef, lines = epa_factors_g_per_mmbtu(["coal", "gas"])
    assert ef[0] > ef[1] > 0 and "EPA" in lines[0]


# ------------------------------------------------------------------------- CLI
def _write_csv(path: Path, *, named: bool) -> list[str]:
    sim = simulate_year(Scenario(region="ERCOT", year=2022, seed=5, n_days=60))
    fuels = sim.fuels()
    hi_names = [f"heat_input_{f}_mmbtu" if named else f"HI {f}" for f in sim.heat_input_mmbtu]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["time", "load", "emissions_kg", *fuels, *hi_names])
    for i, t in enumerate(sim.time):
        w.writerow(
            [
                f"{t}Z",
                f"{sim.load_mw[i]:.3f}",
                f"{sim.emissions_g[i] / 1000:.3f}",
                *[f"{sim.generation_mw[f][i]:.3f}" for f in fuels],
                *[f"{h[i]:.4f}" for h in sim.heat_input_mmbtu.values()],
            ]
        )
    path.write_text(buf.getvalue(), encoding="utf-8")
    return fuels


_MAP = {
    "coal": "coal",
    "gas": "gas",
    "nuclear": "nuclear",
    "hydro_bio": "hydro",
    "wind": "wind",
    "solar": "solar",
}


def _args(p: Path) -> list[str]:
    return [
        "grid",
        "marginal",
        "--csv",
        str(p),
        "--time",
        "time",
        "--load",
        "load",
        "--emissions",
        "emissions_kg",
        "--method",
        "fuel-response",
        "--region",
        "ERCOT",
        "--format",
        "json",
        *[x for f, v in _MAP.items() for x in ("--fuel", f"{f}={v}")],
    ]


def test_grid_marginal_fuel_response_reads_recognised_heat_input_columns(tmp_path: Path) -> None:
    p = tmp_path / "cems.csv"
    _write_csv(p, named=True)
    res = runner.invoke(app, _args(p))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["method"] == "fuel-response:decile-season:hc1"
    rates = next(n for n in doc["notes"] if n.startswith("per-fuel direct rates"))
    assert "coal" in rates and "(heat input x EPA factor)" in rates
    assert any(n.startswith("EPA factors per MMBtu") for n in doc["notes"])
    mef = np.array([r["mef_g_per_kwh"] for r in doc["rows"]])
    assert 200 < np.median(mef) < 1100
    # explicit --heat-input names give the same answer
    q = tmp_path / "cems2.csv"
    _write_csv(q, named=False)
    res2 = runner.invoke(
        app, [*_args(q), "--heat-input", "HI coal=coal", "--heat-input", "HI gas=gas"]
    )
    assert res2.exit_code == 0, res2.output
    doc2 = json.loads(res2.stdout)
    np.testing.assert_allclose([r["mef_g_per_kwh"] for r in doc2["rows"]], mef, rtol=1e-6)
    # without heat input: rates fitted to the table's emissions, said so
    res3 = runner.invoke(app, _args(q))
    assert res3.exit_code == 0, res3.output
    assert "fitted to the table's emissions" in " ".join(json.loads(res3.stdout)["notes"])


def test_grid_marginal_heat_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "cems.csv"
    _write_csv(p, named=False)
    rc = main(
        [
            "grid",
            "marginal",
            "--csv",
            str(p),
            "--time",
            "time",
            "--load",
            "load",
            "--fuel",
            "coal=coal",
            "--heat-input",
            "HI coal=coal",
        ]
    )
    assert rc == 2 and "fuel-response" in capsys.readouterr().err
    assert main([*_args(p), "--heat-input", "HI coal=lignite"]) == 2
    assert "heat-input" in capsys.readouterr().err
    assert main([*_args(p), "--basis", "lifecycle"]) == 2
    assert "direct" in capsys.readouterr().err
    assert "heat_input_<fuel>_mmbtu" in " ".join(
        runner.invoke(app, ["grid", "marginal", "--help"], terminal_width=200).output.split()
    )
