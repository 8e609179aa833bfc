"""`infercarbon estimate`: the JSON contract against hand arithmetic, and clear errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from infercarbon.cli.main import main


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["estimate", *args, "--json", "--samples", "500"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_explicit_energy_matches_hand_calculation(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(
        capsys,
        "--energy-j",
        "100",
        "--region",
        "FR",
        "--pue",
        "1.2",
        "--intensity-g-per-kwh",
        "55",
        "--market-intensity-g-per-kwh",
        "10",
    )
    assert d["region"] == "FRA"
    assert d["intensity_g_per_kwh"]["location"] == 55.0
    assert d["intensity_g_per_kwh"]["market"] == 10.0
    items = {li["name"]: li for li in d["line_items"]}
    assert math.isclose(items["operational_location"]["emissions_g"], 100 * 1.2 * 55 / 3.6e6)
    assert math.isclose(items["operational_market"]["emissions_g"], 100 * 1.2 * 10 / 3.6e6)
    assert items["operational_location"]["scope"] == "scope2_location"
    assert items["training"]["label"] == "excluded: not published"
    assert math.isclose(d["total_location_g"], 100 * 1.2 * 55 / 3.6e6)
    for key in (
        "energy_j",
        "region",
        "intensity_g_per_kwh",
        "line_items",
        "total_location_g",
        "total_market_g",
        "per_outcome_g",
        "per_period_g",
        "assumptions",
    ):
        assert key in d
    for li in d["line_items"]:
        assert {"name", "emissions_g", "low_g", "high_g", "label", "source", "scope"} <= set(li)


def test_bundled_intensity_and_default_pue_are_stated(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "--workload", "WL-02", "--tier", "T1", "--region", "GB")
    loc = d["intensity_g_per_kwh"]["location"]
    assert d["region"] == "GBR" and loc > 0
    items = {li["name"]: li for li in d["line_items"]}
    # T1 is an edge gateway: PUE preset 1.05
    assert math.isclose(items["operational_location"]["emissions_g"], 1.8 * 1.05 * loc / 3.6e6)
    notes = " ".join(str(a.get("value")) for a in d["assumptions"] if a["name"] == "note")
    assert "default PUE" in notes
    assert d["per_outcome_g"]["inferences_per_outcome"] == 1500
    assert d["per_period_g"]["shift"]["inferences"] == 144_000
    assert items["operational_market"]["label"].startswith("fallback")
    assert d["warnings"]


def test_pue_one_gives_bare_it(capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(
        capsys,
        "--energy-j",
        "3600000",
        "--region",
        "DE",
        "--pue",
        "1",
        "--intensity-g-per-kwh",
        "300",
    )
    assert math.isclose(d["total_location_g"], 300.0)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--energy-j", "-1", "--region", "FR"], "energy_j"),
        (["--energy-j", "1", "--region", "FR", "--pue", "0.9"], "pue"),
        (
            ["--energy-j", "1", "--region", "FR", "--tier", "T1", "--utilisation", "0"],
            "utilisation",
        ),
        (
            ["--energy-j", "1", "--region", "FR", "--tier", "T1", "--utilisation", "1.5"],
            "utilisation",
        ),
        (["--energy-j", "nan", "--region", "FR"], "energy_j"),
        (["--energy-j", "1", "--region", "Atlantis"], "region"),
        (["--workload", "WL-09", "--tier", "T1", "--region", "FR"], "workload"),
        (["--workload", "WL-02", "--tier", "T9", "--region", "FR"], "hardware"),
    ],
)
def test_nonsense_input_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code = main(["estimate", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error:") and needle in err


def test_unknown_region_lists_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--energy-j", "1", "--region", "Germny"]) == 2
    assert "Germany" in capsys.readouterr().err


def test_human_output_shows_assumptions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infercarbon.cli import _common

    monkeypatch.setattr(_common.console, "width", 200)
    assert (
        main(
            [
                "estimate",
                "--workload",
                "WL-06",
                "--tier",
                "T5",
                "--region",
                "US",
                "--samples",
                "300",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Assumptions" in out and "operational_location" in out and "embodied" in out
    assert "Sources" in out and "[1]" in out


def test_time_resolved_signals_for_a_bundled_region(capsys: pytest.CaptureFixture[str]) -> None:
    """ERCOT at a given hour: that hour's average and marginal intensity, both reported."""
    from infercarbon.grid import catalogue

    d = run_json(
        capsys,
        "--energy-j",
        "3600000",
        "--region",
        "ERCOT",
        "--pue",
        "1",
        "--time-utc",
        "2021-07-15T22:00Z",
    )
    hour = np.datetime64("2021-07-15T22:00")
    loc = float(catalogue.hourly_location(d["region"]).at(hour)[0][0])
    mef = float(catalogue.hourly_marginal(d["region"]).at(hour)[0][0])
    assert math.isclose(d["intensity_g_per_kwh"]["location"], loc)
    assert math.isclose(d["intensity_g_per_kwh"]["marginal"], mef)
    items = {li["name"]: li for li in d["line_items"]}
    assert math.isclose(items["operational_marginal"]["emissions_g"], mef)  # 1 kWh
    assert items["operational_marginal"]["scope"] == "memo_consequential"
    assert not items["operational_marginal"]["in_total"]
    assert math.isclose(d["total_location_g"], loc)


def test_time_for_a_region_without_a_series_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["estimate", "--energy-j", "1", "--region", "FR", "--time-utc", "2021-07-15T22:00Z"])
        == 2
    )
    assert "no hourly series is bundled" in capsys.readouterr().err
    assert (
        main(["estimate", "--energy-j", "1", "--region", "ERCOT", "--time-utc", "yesterday"]) == 2
    )
    assert "time_utc" in capsys.readouterr().err


# ---- --instruments: market-based intensity from an instruments file (docs/instruments.md)
_INSTRUMENTS = Path(__file__).parents[1] / "data" / "instruments"


def test_instruments_give_the_market_intensity(capsys: pytest.CaptureFixture[str]) -> None:
    from infercarbon.reference.regions import resolve_region

    d = run_json(
        capsys,
        "--energy-j",
        "3600000",
        "--region",
        "ERCOT",
        "--pue",
        "1",
        "--instruments",
        str(_INSTRUMENTS / "ercot_2021.json"),
    )
    market = 3760 * 480 / 8760  # 8760 MWh, 5000 MWh covered, the rest at the residual mix
    assert math.isclose(d["intensity_g_per_kwh"]["market"], market)
    assert d["intensity_g_per_kwh"]["location"] == resolve_region("ERCOT").intensity_g_per_kwh.value
    items = {li["name"]: li for li in d["line_items"]}
    assert math.isclose(items["operational_market"]["emissions_g"], market)  # 1 kWh
    assert items["operational_market"]["label"] == "user energy x market-based intensity"
    assert "ercot_2021.json" in items["operational_market"]["source"]
    a = {x["name"]: x for x in d["assumptions"] if x["name"] != "note"}
    assert a["intensity_market_g_per_kwh"]["label"] == "market-based"
    assert "2021-01-01" in a["intensity_market_g_per_kwh"]["vintage"]
    notes = " ".join(str(x["value"]) for x in d["assumptions"] if x["name"] == "note")
    assert "rec-2019 rejected" in notes
    assert not any("falls back to the location" in w for w in d["warnings"])


def test_instruments_at_a_time_use_that_hours_match(capsys: pytest.CaptureFixture[str]) -> None:
    from infercarbon.grid import catalogue

    path = str(_INSTRUMENTS / "ercot_week_hourly.json")
    day = run_json(
        capsys,
        "--energy-j",
        "3600000",
        "--region",
        "ERCOT",
        "--pue",
        "1",
        "--instruments",
        path,
        "--time-utc",
        "2021-07-15T18:30Z",
    )
    night = run_json(
        capsys,
        "--energy-j",
        "3600000",
        "--region",
        "ERCOT",
        "--pue",
        "1",
        "--instruments",
        path,
        "--time-utc",
        "2021-07-15T07:00Z",
    )
    assert day["intensity_g_per_kwh"]["market"] == 0.0  # solar PPA covers the hour
    assert night["intensity_g_per_kwh"]["market"] == 420.0  # supplier factor
    loc = float(catalogue.hourly_location("em:US-TX").at(np.datetime64("2021-07-15T18:30"))[0][0])
    assert math.isclose(day["intensity_g_per_kwh"]["location"], loc)
    # annual matching: the hour has the period's figure
    annual = run_json(
        capsys,
        "--energy-j",
        "1",
        "--region",
        "ERCOT",
        "--instruments",
        str(_INSTRUMENTS / "ercot_2021.json"),
        "--time-utc",
        "2021-07-15T22:00Z",
    )
    assert math.isclose(annual["intensity_g_per_kwh"]["market"], 3760 * 480 / 8760)


def test_instruments_without_residual_mix_are_a_labelled_fallback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = json.loads((_INSTRUMENTS / "ercot_2021.json").read_text())
    del doc["residual_mix"]
    doc["eacs"] = doc["eacs"][:1]
    p = tmp_path / "nores.json"
    p.write_text(json.dumps(doc))
    d = run_json(
        capsys,
        "--energy-j",
        "3600000",
        "--region",
        "ERCOT",
        "--pue",
        "1",
        "--intensity-g-per-kwh",
        "400",
        "--instruments",
        str(p),
    )
    assert math.isclose(d["intensity_g_per_kwh"]["market"], 3760 / 8760 * 400)
    items = {li["name"]: li for li in d["line_items"]}
    assert items["operational_market"]["label"].startswith("fallback: market-based")
    assert d["intensity_g_per_kwh"]["location"] == 400.0


def test_instruments_errors(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_INSTRUMENTS / "ercot_2021.json")
    assert (
        main(
            [
                "estimate",
                "--energy-j",
                "1",
                "--region",
                "ERCOT",
                "--instruments",
                path,
                "--market-intensity-g-per-kwh",
                "10",
            ]
        )
        == 2
    )
    assert "instruments: give --instruments or --market-intensity-g-per-kwh, not both" in (
        capsys.readouterr().err
    )
    assert main(["estimate", "--energy-j", "1", "--region", "FR", "--instruments", path]) == 2
    assert "one file per region" in capsys.readouterr().err
    assert (
        main(
            [
                "estimate",
                "--energy-j",
                "1",
                "--region",
                "ERCOT",
                "--instruments",
                str(_INSTRUMENTS / "ercot_2021_instruments.csv"),
            ]
        )
        == 2
    )
    assert "no consumption section" in capsys.readouterr().err
    assert (
        main(
            [
                "estimate",
                "--energy-j",
                "1",
                "--region",
                "ERCOT",
                "--instruments",
                path,
                "--time-utc",
                "2022-03-01T00:00Z",
            ]
        )
        == 2
    )
    assert "outside the consumption intervals" in capsys.readouterr().err
