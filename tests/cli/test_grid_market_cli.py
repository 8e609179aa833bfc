"""``infercarbon grid market``: market-based beside location-based, never substituted."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from infercarbon.cli import _common
from infercarbon.cli.main import main
from infercarbon.grid import catalogue
from infercarbon.reference.regions import resolve_region

DATA = Path(__file__).parents[1] / "data" / "instruments"
ANNUAL = str(DATA / "ercot_2021.json")
HOURLY = str(DATA / "ercot_week_hourly.json")
CSV_LIST = str(DATA / "ercot_2021_instruments.csv")
CONS = str(DATA / "ercot_week_consumption.csv")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict, str]:
    code = main(["grid", "market", *args, "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out), out.err


def test_annual_file_json_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    d, err = run_json(capsys, "--region", "ERCOT", "--instruments", ANNUAL)
    m, loc = d["market"], d["location"]
    assert d["region"] == "em:US-TX" and d["consumption_kwh"] == 8_760_000.0
    assert m["kind"] == "market" and m["label"] == "market-based" and not m["fallback"]
    assert m["intensity_g_per_kwh"] == pytest.approx(3760 * 480 / 8760)
    assert m["coverage_kwh"]["ppa"] == 3e6 and m["coverage_frac"]["residual_mix"] == (
        pytest.approx(3760 / 8760)
    )
    assert m["rejected"] == [{"id": "rec-2019", "reason": m["rejected"][0]["reason"]}]
    assert "vintage 2019" in m["rejected"][0]["reason"] and "rec-2019 rejected" in err
    annual = resolve_region("ERCOT").intensity_g_per_kwh
    assert loc["annual"]["intensity_g_per_kwh"] == annual.value
    assert loc["kind"] == "location-average"
    # the bundled hourly series covers 2021: its mean over the (flat) year is the period figure
    s = catalogue.hourly_location("em:US-TX").slice(
        np.datetime64("2021-01-01"), np.datetime64("2022-01-01")
    )
    assert loc["period"]["intensity_g_per_kwh"] == pytest.approx(
        float(s.intensity_g_per_kwh.mean()), rel=1e-9
    )
    assert m["intensity_g_per_kwh"] not in (annual.value, loc["period"]["intensity_g_per_kwh"])


def test_consumption_kwh_over_a_day(capsys: pytest.CaptureFixture[str]) -> None:
    d, _ = run_json(
        capsys,
        "--region",
        "em:US-TX",
        "--instruments",
        CSV_LIST,
        "--consumption-kwh",
        "24000",
        "--from",
        "2021-07-15",
        "--to",
        "2021-07-16",
        "--annual",
    )
    hours = np.datetime64("2021-07-15T00") + np.arange(24) * np.timedelta64(1, "h")
    hourly = catalogue.hourly_location("em:US-TX").at(hours)[0]
    assert d["location"]["period"]["intensity_g_per_kwh"] == pytest.approx(hourly.mean())
    # 5000 MWh of instruments against 24 MWh: fully covered, the rest is surplus
    assert d["market"]["intensity_g_per_kwh"] == 0.0
    assert d["market"]["surplus_kwh"] == pytest.approx(5_000_000 - 24_000)
    assert d["market"]["rejected"][0]["id"] == "rec-pjm"
    assert d["period"] == {
        "from_utc": "2021-07-15T00:00:00Z",
        "to_utc": "2021-07-16T00:00:00Z",
        "intervals": 1,
        "resolution_s": 86400,
    }


def test_hourly_matching_from_a_consumption_csv(capsys: pytest.CaptureFixture[str]) -> None:
    d, _ = run_json(
        capsys, "--region", "ERCOT", "--instruments", HOURLY, "--consumption", CONS, "--hourly"
    )
    with open(CONS) as fh:
        c = np.array([float(r["kwh"]) for r in csv.DictReader(fh)])
    with open(DATA / "ercot_week_solar_ppa.csv") as fh:
        s = np.array([float(r["kwh"]) for r in csv.DictReader(fh)])
    m = d["market"]
    assert m["matching"] == "hourly"
    assert m["hourly_cfe_frac"] == pytest.approx(np.minimum(c, s).sum() / c.sum())
    assert m["coverage_kwh"]["supplier"] == pytest.approx((c - np.minimum(c, s)).sum())
    assert m["rejected"][0]["id"] == "annual-rec"
    assert d["period"]["intervals"] == 168 and d["period"]["resolution_s"] == 3600


def test_table_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.console, "width", 220)
    assert main(["grid", "market", "--region", "ERCOT", "--instruments", ANNUAL]) == 0
    out = capsys.readouterr()
    assert "market-based" in out.out and "206.03" in out.out
    assert "location-based (annual)" in out.out and "396.79" in out.out
    assert "location-based (hourly series, this period)" in out.out
    assert "Rejected instruments:" in out.out and "rec-2019" in out.out
    assert "Fallback: none" in out.out and "residual_mix" in out.out
    assert "warning: instrument rec-2019 rejected" in out.err


def test_fallback_to_location_is_labelled(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = json.loads(Path(ANNUAL).read_text())
    del doc["residual_mix"]
    doc["eacs"] = doc["eacs"][:1]
    p = tmp_path / "nores.json"
    p.write_text(json.dumps(doc))
    d, err = run_json(capsys, "--region", "ERCOT", "--instruments", str(p))
    m, period = d["market"], d["location"]["period"]["intensity_g_per_kwh"]
    assert m["fallback"] and "location-based fallback" in m["label"]
    assert m["coverage_kwh"]["location_fallback"] == 3_760_000.0
    assert m["intensity_g_per_kwh"] == pytest.approx(3760 / 8760 * period)
    assert "location-based figure" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "FR", "--instruments", ANNUAL], "one file per region"),
        (["--region", "ERCOT", "--instruments", ANNUAL, "--strict"], "entry eacs[1]"),
        (["--region", "ERCOT", "--instruments", CSV_LIST], "no consumption section"),
        (
            [
                "--region",
                "ERCOT",
                "--instruments",
                ANNUAL,
                "--consumption",
                CONS,
                "--consumption-kwh",
                "5",
            ],
            "not both",
        ),
        (
            ["--region", "ERCOT", "--instruments", ANNUAL, "--consumption-kwh", "5"],
            "--from and --to",
        ),
        (
            [
                "--region",
                "ERCOT",
                "--instruments",
                ANNUAL,
                "--consumption-kwh",
                "-5",
                "--from",
                "2021-01-01",
                "--to",
                "2021-02-01",
            ],
            "--consumption-kwh: must be > 0",
        ),
        (
            [
                "--region",
                "ERCOT",
                "--instruments",
                ANNUAL,
                "--consumption-kwh",
                "5",
                "--from",
                "2021-01-01",
                "--to",
                "soon",
            ],
            "--to",
        ),
        (
            [
                "--region",
                "ERCOT",
                "--instruments",
                ANNUAL,
                "--consumption-kwh",
                "5",
                "--from",
                "2020-12-01",
                "--to",
                "2021-02-01",
            ],
            "outside the instruments' reporting period",
        ),
        (["--region", "ERCOT", "--instruments", ANNUAL, "--hourly"], "consumption per interval"),
        (["--region", "ERCOT", "--instruments", "nowhere.json"], "does not exist"),
        (["--region", "ERCOT", "--instruments", ANNUAL, "--format", "xml"], "--format"),
    ],
)
def test_errors(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["grid", "market", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") or "error: " in err
    assert message in err
