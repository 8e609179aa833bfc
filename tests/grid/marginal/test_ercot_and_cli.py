"""ERCOT plausibility on the bundled data, the CLI contract, and malformed-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from infercarbon.cli.main import app, main
from infercarbon.errors import ParseError
from infercarbon.grid import factors
from infercarbon.grid.marginal.calendar import to_local
from infercarbon.grid.marginal.ercot_compare import ercot_average_vs_marginal, ercot_hourly
from infercarbon.grid.marginal.regression import regress_fuel_mix
from infercarbon.grid.marginal.table import infer_interval_s, read_table

DATA = Path(__file__).resolve().parents[2] / "data" / "marginal"
runner = CliRunner()


@pytest.fixture(scope="module")
def ercot() -> tuple[np.ndarray, list[str], np.ndarray]:
    return ercot_hourly()


def test_ercot_mef_above_average_with_hour_pattern(
    ercot: tuple[np.ndarray, list[str], np.ndarray],
) -> None:
    t, fuels, mwh = ercot
    assert len(t) > 25_000
    rates, _, _, _ = factors.fuel_rates(fuels, "direct", region="ERCOT")
    avg = (mwh @ rates) / mwh.sum(axis=1)
    tl = to_local(t, "America/Chicago")
    r = regress_fuel_mix(
        t, mwh * 1000.0, rates, fuels, bins="hour-season", time_local=tl, interval_s=3600
    )
    # MEF above the average intensity in most hours
    assert np.mean(r.mef_g_per_kwh > avg) > 0.65
    # fossil margin: between a CC and a coal unit on average
    assert 380 < r.mef_g_per_kwh.mean() < 800
    # clear hour-of-day pattern: the 96 bin slopes differ far beyond their standard errors
    b = r.bins
    w = 1 / b.se_g_per_kwh**2
    pooled = np.sum(w * b.mef_g_per_kwh) / w.sum()
    q = np.sum(w * (b.mef_g_per_kwh - pooled) ** 2)
    assert q > 3 * (len(w) - 1)
    # and by load decile the margin is gas/coal, never a zero-carbon fuel
    d = regress_fuel_mix(t, mwh * 1000.0, rates, fuels, bins="decile", interval_s=3600)
    assert set(d.bins.marginal_fuel or []) <= {"gas_cc", "gas_non_cc", "coal"}


def test_compare_table_and_svg(tmp_path: Path) -> None:
    tab, meta = ercot_average_vs_marginal()
    assert tab.share_marginal_above_average() > 0.6
    assert meta["mean_marginal_g_per_kwh"] > meta["mean_average_g_per_kwh"]
    out = tmp_path / "cmp.svg"
    res = runner.invoke(
        app, ["grid", "compare", "--region", "ERCOT", "--out", str(out), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert len(doc["rows"]) == 96
    assert doc["plot"] == str(out)
    assert out.read_text().startswith("<svg")
    assert "polyline" in out.read_text()


def test_cli_regression_emissions_csv() -> None:
    res = runner.invoke(
        app,
        [
            "grid",
            "marginal",
            "--method",
            "regression",
            "--csv",
            str(DATA / "small_operator.csv"),
            "--time",
            "time",
            "--load",
            "load_mw",
            "--emissions",
            "co2_kg",
            "--emissions-unit",
            "kg",
            "--bins",
            "none",
            "--format",
            "csv",
        ],
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "time,mef_g_per_kwh,ci_low,ci_high,method,marginal"
    assert len(lines) == 1 + 8  # one row per input interval
    first = lines[1].split(",")
    # emissions were built at exactly 600 kg/MWh of load change = 600 g/kWh
    assert first[0] == "2024-01-01T00:00:00Z"
    assert float(first[1]) == pytest.approx(600.0)


def test_cli_fuel_columns_and_merit_order_json() -> None:
    base = [
        "grid",
        "marginal",
        "--csv",
        str(DATA / "small_operator.csv"),
        "--time",
        "time",
        "--load",
        "load_mw",
        "--fuel",
        "coal=coal",
        "--fuel",
        "gas=gas_cc",
        "--fuel",
        "wind=wind",
        "--format",
        "json",
    ]
    res = runner.invoke(
        app, [*base, "--method", "regression", "--bins", "none", "--load-unit", "MW"]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    gas = factors.fuel_rate("gas_cc", "direct").value
    assert rows[3]["mef_g_per_kwh"] == pytest.approx(gas)
    assert rows[3]["marginal"] == "gas_cc"
    res = runner.invoke(app, [*base, "--method", "merit-order", "--region", "ERCOT"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    assert len(rows) == 8
    assert all(r["ci_low"] <= r["mef_g_per_kwh"] <= r["ci_high"] for r in rows)
    assert all(r["method"] == "merit-order" for r in rows)


@pytest.mark.parametrize(
    ("name", "row", "column"),
    [
        ("bad_number.csv", 3, "co2_kg"),
        ("bad_time.csv", 3, "time"),
        ("unsorted.csv", 4, "time"),
    ],
)
def test_malformed_files_name_row_and_column(
    name: str, row: int, column: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(
        [
            "grid",
            "marginal",
            "--csv",
            str(DATA / name),
            "--time",
            "time",
            "--load",
            "load_mw",
            "--emissions",
            "co2_kg",
            "--format",
            "csv",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert f"row {row}" in err, err
    assert f"column '{column}'" in err, err


def test_table_reader_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("time,load\n2024-01-01 00:00,1\n2024-01-01 01:00,2,3\n")
    with pytest.raises(ParseError, match="row 3: has 3 fields"):
        read_table(p, ["load"], time_col="time")
    p.write_text("time,load\n01/02/2024 00:00,1\n01/02/2024 00:15,\n")
    with pytest.raises(ParseError, match=r"row 3, column 'load'.*empty"):
        read_table(p, ["load"], time_col="time")
    p.write_text("t;load\n2024-03-10T01:00-06:00;1\n2024-03-10T03:00-05:00;2\n")
    tab = read_table(p, ["load"], time_col="t")
    assert tab.has_offset
    assert infer_interval_s(tab.time) == 3600
    with pytest.raises(ParseError, match="no such column"):
        read_table(p, ["nope"], time_col="t")


def test_compare_takes_a_lifecycle_factor_set(capsys: pytest.CaptureFixture[str]) -> None:
    """--factors swaps the per-fuel lifecycle factors behind the average (and the
    marginal); it names itself in the output and is refused with the direct basis."""
    base, _ = ercot_average_vs_marginal(basis="lifecycle")
    ipcc, meta = ercot_average_vs_marginal(basis="lifecycle", factor_set="ipcc-ar5")
    assert meta["factor_set"] == "ipcc-ar5"
    a = np.array([r["average_g_per_kwh"] for r in base.rows()])
    b = np.array([r["average_g_per_kwh"] for r in ipcc.rows()])
    assert not np.allclose(a, b)  # the sets differ (docs/grid_factors.md: ERCOT 458 vs 369)
    assert (
        main(
            ["grid", "compare", "--basis", "lifecycle", "--factors", "ipcc-ar5", "--format", "json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["factor_set"] == "ipcc-ar5"
    assert main(["grid", "compare", "--factors", "ipcc-ar5"]) == 2
    assert "--factors" in capsys.readouterr().err
    assert main(["grid", "compare", "--basis", "lifecycle", "--factors", "nope"]) == 2
    assert "unknown factor set" in capsys.readouterr().err
