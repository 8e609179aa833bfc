"""Submissions: per-row validation, wrong units, duplicates, the append-only store."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.benchmark.submissions import (
    COLUMN_NAMES,
    SCHEMA,
    SubmissionStore,
    hour_weights_s,
    read_submission_csv,
    submit,
    validate_rows,
)
from infercarbon.cli.main import main
from infercarbon.errors import DataError

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
VALID = (DATA / "valid_submissions.csv").read_text()
BAD = (DATA / "bad_submissions.csv").read_text()


def _row(**over: str) -> dict[str, str]:
    """The first valid fixture row, with overrides."""
    rows, errs = read_submission_csv(VALID)
    assert not errs
    return {**rows[0][1], **over}


def _errors(**over: str) -> list:
    outcomes, _ = validate_rows([(2, _row(**over))], now_utc=NOW)
    return list(outcomes[0].errors) if outcomes[0].status == "rejected" else []


def test_valid_file_is_accepted_and_resubmission_is_idempotent(tmp_path: Path) -> None:
    store = SubmissionStore(tmp_path / "store")
    rep = submit(VALID, store, now_utc=NOW, source_file="valid.csv")
    assert rep.ok and len(rep.accepted) == 2 and not rep.rejected
    before = store.path.read_bytes()
    assert len(store.rows()) == 2
    again = submit(VALID, store, now_utc=NOW + timedelta(hours=1), source_file="valid.csv")
    assert again.ok
    assert not again.accepted and len(again.already) == 2
    assert store.path.read_bytes() == before  # nothing appended
    # the stored rows are canonical: region ids, UTC timestamps
    stored = store.rows()
    assert stored[0]["region"] == "GBR" and stored[1]["region"] == "DEU"
    assert stored[0]["accepted_utc"] == "2026-11-22T12:00:00Z"


def test_bad_file_gives_the_right_error_per_row(tmp_path: Path) -> None:
    store = SubmissionStore(tmp_path / "store")
    rep = submit(BAD, store, now_utc=NOW, source_file="bad.csv")
    assert not rep.ok
    by_row = {o.row: o for o in rep.outcomes}
    cols = {r: {e.column for e in o.errors} for r, o in by_row.items()}
    # row 2: three missing disclosures, each named
    assert cols[2] == {"intensity_source", "pue_source", "training_included"}
    assert all("mandatory disclosure" in e.problem for e in by_row[2].errors)
    # row 3: intensity in kg/kWh
    (e3,) = by_row[3].errors
    assert e3.column == "hourly_intensity_g_per_kwh" and "kg/kWh" in e3.problem
    assert "1,000" in e3.fix
    # row 4: energy in kWh (CodeCarbon's unit) on an H100 tier
    (e4,) = by_row[4].errors
    assert e4.column == "energy_j" and "kWh" in e4.problem and "3,600,000" in e4.fix
    # row 5: 7 hourly values for an 8-hour window
    (e5,) = by_row[5].errors
    assert e5.column == "hourly_intensity_g_per_kwh" and "7 values" in e5.problem
    assert "exactly 8 values" in e5.fix
    # rows 6/7: identical rows -> the second is a duplicate
    assert by_row[6].status == "accepted"
    assert by_row[7].status == "rejected" and "duplicate of row 6" in by_row[7].errors[0].problem
    # row 8: CodeCarbon 2.x and a closed licence
    assert cols[8] == {"energy_method_version", "licence"}
    # row 9: energy in Wh for WL-02
    (e9,) = by_row[9].errors
    assert e9.column == "energy_j" and "Wh" in e9.problem and "3,600 " in e9.fix + " "
    # row 10: intensity in t/kWh
    (e10,) = by_row[10].errors
    assert "t/kWh" in e10.problem and "1,000,000" in e10.fix
    # partial acceptance: only the complete row entered the store
    assert [r["notes"] for r in store.rows()] == ["valid"]
    # every message names the row and column and a fix
    for o in rep.rejected:
        for e in o.errors:
            s = str(e)
            assert s.startswith(f"row {o.row}") and "Fix:" in s


def test_cli_submit_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s"
    assert (
        main(
            [
                "benchmark",
                "submit",
                str(DATA / "bad_submissions.csv"),
                "--store",
                str(store),
                "--format",
                "json",
            ]
        )
        == 1
    )
    d = json.loads(capsys.readouterr().out)
    assert d["accepted"] == 1 and d["rejected"] == 8 and not d["ok"]
    assert (
        main(["benchmark", "submit", str(DATA / "valid_submissions.csv"), "--store", str(store)])
        == 0
    )
    out = capsys.readouterr().out
    assert "2 accepted, 0 already accepted, 0 rejected" in out
    assert (
        main(["benchmark", "submit", str(DATA / "valid_submissions.csv"), "--store", str(store)])
        == 0
    )
    assert "0 accepted, 2 already accepted" in capsys.readouterr().out
    assert main(["benchmark", "submit", str(tmp_path / "nope.csv")]) == 2


def test_missing_or_misspelt_column_rejects_the_file(tmp_path: Path) -> None:
    cols = VALID.splitlines()[0].split(",")
    i = cols.index("pue_source")
    # drop the pue_source column entirely
    import csv
    import io

    rows = list(csv.reader(io.StringIO(VALID)))
    dropped = "\n".join(",".join(f'"{c}"' for j, c in enumerate(r) if j != i) for r in rows)
    store = SubmissionStore(tmp_path)
    rep = submit(dropped, store, now_utc=NOW)
    assert not rep.ok and not store.exists()
    assert [e.column for e in rep.file_errors] == ["pue_source"]
    assert "missing from the header" in rep.file_errors[0].problem
    # a typo: pue_sorce
    typo = VALID.replace("pue_source", "pue_sorce", 1)
    rep = submit(typo, store, now_utc=NOW)
    assert {e.column for e in rep.file_errors} == {"pue_sorce", "pue_source"}
    assert any("rename it to 'pue_source'" in e.fix for e in rep.file_errors)


def test_conflicting_row_against_the_store(tmp_path: Path) -> None:
    store = SubmissionStore(tmp_path)
    assert submit(VALID, store, now_utc=NOW).ok
    changed = VALID.replace(",1.62,", ",1.70,", 1)
    rep = submit(changed, store, now_utc=NOW)
    assert len(rep.rejected) == 1 and len(rep.already) == 1
    assert "already holds a different row" in rep.rejected[0].errors[0].problem


def test_cell_level_checks() -> None:
    (e,) = _errors(window_start_utc="2026-11-02T09:00:00+01:00")
    assert e.column == "window_start_utc" and "2026-11-02T08:00:00Z" in e.fix
    (e,) = _errors(window_end_utc="2026-11-02T16:00:00")
    assert "no time zone" in e.problem
    (e,) = _errors(energy_method="zeus")
    assert e.column == "energy_method" and "mlperf-power" in e.fix
    (e,) = _errors(energy_method_version="")
    assert e.column == "energy_method_version" and ">= 3.0" in e.fix
    (e,) = _errors(embodied_g="")
    assert e.column == "embodied_g"
    (e,) = _errors(training_included="yes")
    assert e.column == "training_g"
    (e,) = _errors(pue="0.05")
    assert e.column == "pue" and "1.05" in e.fix
    (e,) = _errors(pue="115")
    assert e.column == "pue"
    (e,) = _errors(region="Atlantis")
    assert e.column == "region"
    (e,) = _errors(workload_id="WL-99")
    assert e.column == "workload_id"
    (e,) = _errors(hourly_intensity_g_per_kwh="1820;1750;1690;1710;1680;1660;1700;1740")
    assert "above any grid" in e.problem and "0.4536" in e.fix
    (e,) = _errors(window_end_utc="2027-01-01T00:00:00Z")
    assert "future" in e.problem
    (e,) = _errors(licence="cc-by-4")
    assert e.column == "licence" and "CC-BY-4.0" in e.problem + e.fix
    (e,) = _errors(n_inferences="1.5")
    assert e.column == "n_inferences"
    (e,) = _errors(
        tier="",
        hardware="1 x NVIDIA H100 SXM5 80GB",
        workload_id="",
        workload_description="LLM chat",
        energy_j="8.9e-05",
    )
    assert e.column == "energy_j" and "H100" in e.problem and "Wh or kWh" in e.problem
    (e,) = _errors(
        tier="", hardware="custom NPU", workload_id="", workload_description="x", energy_j="2.5e-07"
    )
    assert "below 1e-06 J" in e.problem
    assert _errors(pue_source="Vendor", licence="cc0-1.0", energy_method="CodeCarbon") == []


def test_hourly_energy_checks_catch_wh_and_window_totals() -> None:
    n, e = 144000, 1.62
    per_hour = e * n / 8
    ok = ";".join([repr(per_hour)] * 8)
    assert _errors(hourly_energy_j=ok) == []
    (err,) = _errors(hourly_energy_j=ok, energy_j=repr(e / 3600))
    assert err.column == "energy_j" and "Wh" in err.problem
    (err,) = _errors(hourly_energy_j=ok, energy_j=repr(e * n), n_inferences=str(n))
    assert "window's total energy" in err.problem
    (err,) = _errors(hourly_energy_j=";".join([repr(per_hour * 1.2)] * 8))
    assert err.column == "hourly_energy_j" and "+20.0 %" in err.problem
    (err,) = _errors(hourly_energy_j=ok + ";1")
    assert "9 values" in err.problem


def test_energy_weighted_mean() -> None:
    row = _row(
        hourly_intensity_g_per_kwh="100;200;100;200;100;200;100;200",
        hourly_energy_j=";".join(["1000", "3000"] * 4),
        energy_j="16000",
        n_inferences="1",
        workload_id="",
        workload_description="one long job",
    )
    _, (vr,) = validate_rows([(2, row)], now_utc=NOW)
    assert math.isclose(vr.mean_intensity_g_per_kwh, (100 + 3 * 200) / 4)
    assert vr.weighting == "hourly energy"


def test_store_detects_tampering(tmp_path: Path) -> None:
    store = SubmissionStore(tmp_path)
    assert submit(VALID, store, now_utc=NOW).ok
    store.path.write_text(store.path.read_text().replace(",1.62,", ",0.9,"))
    with pytest.raises(DataError, match="fingerprint"):
        store.rows()


def test_schema_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "benchmark_submissions.md").read_text()
    for c in SCHEMA:
        assert f"| `{c.name}` |" in doc, c.name
    assert len(COLUMN_NAMES) == len(set(COLUMN_NAMES))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000_000), st.integers(1, 30 * 86_400))
def test_hour_weights_cover_the_window(start_s: int, dur_s: int) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=start_s)
    t1 = t0 + timedelta(seconds=dur_s)
    w = hour_weights_s(t0, t1)
    assert math.isclose(w.sum(), dur_s)
    assert (w > 0).all() and (w <= 3600).all()
    first = start_s // 3600
    last = -(-(start_s + dur_s) // 3600)
    assert len(w) == last - first
