"""Importers: ML.ENERGY and MLPerf-Power-style result files -> submission rows."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infercarbon.benchmark.importers import (
    ImportOptions,
    import_mlenergy,
    import_mlperf_power,
    parse_hourly_intensity,
)
from infercarbon.benchmark.submissions import SubmissionStore, submit, write_submission_csv
from infercarbon.cli.main import main
from infercarbon.errors import ParseError

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MLE = (DATA / "mlenergy_sample.csv").read_text()
HOURLY = parse_hourly_intensity((DATA / "hourly_intensity_de.csv").read_text())
FULL = ImportOptions(
    region="DE",
    window_start_utc=datetime(2026, 11, 10, 9, 30, tzinfo=UTC),
    window_end_utc=datetime(2026, 11, 10, 12, 15, tzinfo=UTC),
    hourly_intensity=HOURLY,
    pue=1.2,
    pue_source="vendor-published",
    embodied_method="none",
    training_included=False,
    submitter="Test",
    licence="CC-BY-4.0",
)


def test_mlenergy_without_disclosures_is_incomplete_not_invented() -> None:
    res = import_mlenergy(MLE, ImportOptions(), now_utc=NOW)
    assert len(res.rows) == 4 and len(res.incomplete) == 4
    for r in res.rows:
        for col in (
            "region",
            "pue",
            "pue_source",
            "hourly_intensity_g_per_kwh",
            "embodied_method",
            "training_included",
            "licence",
            "energy_method",
            "window_start_utc",
            "n_inferences",
        ):
            assert r[col] == "", col
    missing = {e.column for e in res.incomplete[0].errors}
    assert {
        "region",
        "pue",
        "pue_source",
        "hourly_intensity_g_per_kwh",
        "energy_method",
        "embodied_method",
        "training_included",
        "licence",
        "submitter",
    } <= missing
    lines = res.lines()
    assert any("column 'region' (rows 2-5)" in ln and "--region" in ln for ln in lines)
    assert any("Zeus" in r["notes"] for r in res.rows)


def test_mlenergy_with_disclosures_is_complete_and_submits(tmp_path: Path) -> None:
    opts = ImportOptions(**{**FULL.__dict__, "energy_method": "infercarbon-meter"})
    res = import_mlenergy(MLE, opts, now_utc=NOW)
    assert not res.incomplete and not res.skipped
    llm, _, img, vid = res.rows
    assert math.isclose(float(llm["energy_j"]), 164.38802330085184)
    assert llm["hardware"] == "2 x NVIDIA H100 80GB HBM3" and llm["tier"] == "T5"
    assert llm["energy_boundary"] == "accelerator"
    # n derived from token throughput / output tokens x window, and said so
    assert int(llm["n_inferences"]) == round(1350.1220773050163 / 394.1485 * 9900)
    assert "n_inferences derived" in llm["notes"]
    assert llm["hourly_intensity_g_per_kwh"] == "380.0;360.0;350.0;340.0"
    assert math.isclose(float(img["energy_j"]), 324.06850000005215) and img["tier"] == ""
    assert math.isclose(float(vid["energy_j"]), 16915.850124999997)
    store = SubmissionStore(tmp_path)
    rep = submit(write_submission_csv(res.rows), store, now_utc=NOW)
    assert rep.ok and len(rep.accepted) == 4


def test_hourly_file_missing_hours_leaves_rows_incomplete() -> None:
    opts = ImportOptions(
        **{
            **FULL.__dict__,
            "energy_method": "infercarbon-meter",
            "window_end_utc": datetime(2026, 11, 10, 18, 0, tzinfo=UTC),
        }
    )
    res = import_mlenergy(MLE, opts, now_utc=NOW)
    assert len(res.incomplete) == 4
    assert all(r["hourly_intensity_g_per_kwh"] == "" for r in res.rows)
    assert "lacks 4 of the window's 9 hours" in res.rows[0]["notes"]


def test_mlperf_summary_csv() -> None:
    res = import_mlperf_power((DATA / "mlperf_power_summary.csv").read_text(), FULL, now_utc=NOW)
    assert not res.incomplete and not res.skipped
    off, ss = res.rows
    assert math.isclose(float(off["energy_j"]), 6000 / 400000)
    assert off["energy_method"] == "mlperf-power" and off["energy_method_version"] == "v4.0"
    assert off["energy_boundary"] == "system" and off["submitter"] == "Test"
    assert off["hardware"] == "Example 8xGPU server: 8 x NVIDIA H100-SXM-80GB"
    assert int(off["n_inferences"]) == 400000 * 9900
    assert math.isclose(float(ss["energy_j"]), 0.025)  # SingleStream joules per query
    assert "Offline" in off["workload_description"]


def test_mlperf_wide_file() -> None:
    opts = ImportOptions(**{**FULL.__dict__, "n_inferences": 1000, "submitter": None})
    res = import_mlperf_power((DATA / "mlperf_power_wide.csv").read_text(), opts, now_utc=NOW)
    off, ms = res.rows
    assert math.isclose(float(off["energy_j"]), 0.015)
    assert math.isclose(float(ms["energy_j"]), 0.2 / 8)  # MultiStream: 8 samples per query
    assert off["submitter"] == "ExampleOrg"  # the organisation, when no --submitter
    assert off["n_inferences"] == "1000"
    (skip,) = res.skipped
    assert skip.row == 4 and "average power" in skip.problem


def test_mlperf_inconsistent_energy_is_skipped() -> None:
    text = (
        "system_description,scenario,samples_per_s,avg_power_w,energy_per_sample_j\n"
        "box,Offline,1000,500,5\n"
    )
    res = import_mlperf_power(text, FULL, now_utc=NOW)
    assert not res.rows and "disagrees" in res.skipped[0].problem


def test_not_a_result_file() -> None:
    with pytest.raises(ParseError, match=r"ML\.ENERGY"):
        import_mlenergy("a,b\n1,2\n", FULL, now_utc=NOW)
    with pytest.raises(ParseError, match="MLPerf"):
        import_mlperf_power("a,b\n1,2\n", FULL, now_utc=NOW)
    with pytest.raises(ParseError, match="no zone offset"):
        parse_hourly_intensity("hour_start_utc,intensity_g_per_kwh\n2026-01-01T00:00:00,1\n")
    with pytest.raises(ParseError, match=r"not UTC .*here 2025-12-31T23:00:00Z"):
        parse_hourly_intensity("hour_start_utc,intensity_g_per_kwh\n2026-01-01T00:00:00+01:00,1\n")


def test_cli_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "subs.csv"
    base = [
        "benchmark",
        "import",
        "--from",
        "mlperf-power",
        str(DATA / "mlperf_power_summary.csv"),
        "--out",
        str(out),
    ]
    assert main(base) == 1  # written, but incomplete
    assert out.exists() and "incomplete" in capsys.readouterr().out
    full = [
        *base,
        "--region",
        "DE",
        "--window-start",
        "2026-11-10T09:30:00Z",
        "--window-end",
        "2026-11-10T12:15:00Z",
        "--hourly-intensity",
        str(DATA / "hourly_intensity_de.csv"),
        "--pue",
        "1.2",
        "--pue-source",
        "vendor-published",
        "--embodied-method",
        "none",
        "--training-excluded",
        "--licence",
        "CC-BY-4.0",
        "--format",
        "json",
    ]
    assert main(full) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["complete"] == 2 and d["incomplete"] == []
    assert main(["benchmark", "submit", str(out), "--store", str(tmp_path / "st")]) == 0
