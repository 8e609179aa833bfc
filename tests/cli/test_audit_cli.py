"""`infercarbon audit verify|show` on a real DuckDB ledger, untouched and tampered with."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from infercarbon.accounting import EstimateOptions, build_request
from infercarbon.cli.main import main
from infercarbon.ledger import DuckDBStore, FootprintRecord
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows
from infercarbon.report.recompute import accounting_record

T0 = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)


def _events() -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"e{i}",
            "start_utc": T0 + timedelta(minutes=i),
            "end_utc": T0 + timedelta(minutes=i, seconds=1),
            "service": "vision",
            "tenant": "acme",
            "model": "yolo",
            "region": "DE" if i % 2 else "FR",
            "device": "gpu0",
            "energy_j": 500.0 + 10 * i,
            "attribution_method": "measured-interval",
        }
        for i in range(5)
    ]


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[Path, list[FootprintRecord]]:
    """Three accounting-engine footprints (e0..e2) and two of the service calculator."""
    path = tmp_path / "ledger.duckdb"
    store = DuckDBStore(path)
    events = _events()
    store.append_events(events)
    records = []
    for i, ev in enumerate(events[:3]):
        opts = EstimateOptions(
            region=str(ev["region"]),
            energy_j=str(ev["energy_j"]),
            tier="T1",
            utilisation_frac="0.5",
            samples=300,
            seed=i,
            market_intensity_g_per_kwh="25" if i == 0 else None,
        )
        records.append(
            accounting_record(
                build_request(opts),
                tenant="acme",
                event_id=str(ev["event_id"]),
                period_start_utc=ev["start_utc"],
                period_end_utc=ev["end_utc"],
                computed_utc=T0 + timedelta(days=1),
            )
        )
    service = pytest.importorskip("infercarbon.accounting.batch")
    table = validate_rows(EVENTS, events[3:])
    cfg = service.AccountingConfig()
    fps = service.compute_footprints(table, cfg, service.SignalBook())
    records += service.footprint_records(table, fps, cfg, computed_utc=T0 + timedelta(days=1))
    store.append_footprints(records)
    store.close()
    return path, records


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_verify_passes_on_untouched_data(
    ledger: tuple[Path, list[FootprintRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, records = ledger
    code, out, err = run(capsys, "audit", "verify", "--ledger", str(path))
    assert code == 0, out + err
    assert out.startswith("ok: 5 footprint(s) verified")
    code, out, _ = run(capsys, "audit", "verify", "--ledger", str(path), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["verified"] == 5 and doc["failed"] == []
    code, out, _ = run(
        capsys, "audit", "verify", "--ledger", str(path), "--id", records[1].footprint_id
    )
    assert code == 0 and "1 footprint(s) verified" in out


def test_verify_fails_and_names_a_tampered_figure(
    ledger: tuple[Path, list[FootprintRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, records = ledger
    bad = records[1].footprint_id
    con = duckdb.connect(str(path))
    con.execute(
        "UPDATE footprint_items SET emissions_g = emissions_g * 0.9 "
        "WHERE footprint_id = ? AND name = 'operational_location'",
        [bad],
    )
    con.close()
    code, out, _ = run(capsys, "audit", "verify", "--ledger", str(path))
    assert code == 1
    assert f"MISMATCH {bad}: line_items.operational_location.emissions_g" in out
    assert f"FAILED: 1 of 5 footprint(s) did not recompute: {bad}" in out
    # the other footprints still verify one by one
    code, _, _ = run(
        capsys, "audit", "verify", "--ledger", str(path), "--id", records[0].footprint_id
    )
    assert code == 0


def test_verify_fails_on_tampered_service_total_and_inputs(
    ledger: tuple[Path, list[FootprintRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, records = ledger
    svc, acc = records[3].footprint_id, records[0].footprint_id
    con = duckdb.connect(str(path))
    con.execute(
        "UPDATE footprint_totals SET value_g = value_g + 1 WHERE footprint_id = ? "
        "AND basis = 'location'",
        [svc],
    )
    con.execute(
        "UPDATE footprints SET inputs_json = replace(inputs_json, '\"value\":500.0}', "
        "'\"value\":50.0}') WHERE footprint_id = ?",
        [acc],
    )
    con.close()
    code, out, _ = run(capsys, "audit", "verify", "--ledger", str(path), "--json")
    doc = json.loads(out)
    assert code == 1 and not doc["ok"]
    assert set(doc["failed"]) == {svc, acc}
    fields = {(m["footprint_id"], m["field"]) for m in doc["mismatches"]}
    assert (svc, "totals.location.value_g") in fields
    assert (acc, "inputs_hash") in fields


def test_show_prints_the_whole_derivation(
    ledger: tuple[Path, list[FootprintRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, records = ledger
    rec = records[0]
    code, out, err = run(capsys, "audit", "show", rec.footprint_id, "--ledger", str(path))
    assert code == 0, err
    assert f"footprint {rec.footprint_id}" in out
    assert f"inputs hash: {rec.inputs_hash}" in out
    assert "matches stored inputs: yes" in out
    assert "calculator: infercarbon-accounting-1" in out
    assert "intensity_location_g_per_kwh = [type=fixed, value=" in out
    assert "source: Ember" in out and "vintage: 2023" in out
    assert "intensity_market_g_per_kwh = [type=fixed, value=25.0]" in out
    for li in rec.figures.line_items:
        assert f"  {li.name}: {li.emissions_g!r}" in out
    code, out, _ = run(capsys, "audit", "show", rec.footprint_id, "--ledger", str(path), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["inputs_hash"] == rec.inputs_hash and doc["inputs_hash_matches"]
    assert doc["inputs"]["energy_j"]["dist"] == {"type": "fixed", "value": 500.0}
    svc = records[4]
    code, out, _ = run(capsys, "audit", "show", svc.footprint_id, "--ledger", str(path))
    assert code == 0 and "intensity_g_per_kwh.location = [value=" in out


def test_errors_exit_2_and_name_the_problem(
    ledger: tuple[Path, list[FootprintRecord]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = ledger
    code, _, err = run(capsys, "audit", "show", "fp_nope", "--ledger", str(path))
    assert code == 2 and "fp_nope" in err
    missing = tmp_path / "typo.duckdb"
    code, _, err = run(capsys, "audit", "verify", "--ledger", str(missing))
    assert code == 2 and err.startswith("error: ledger: no ledger file") and not missing.exists()
    code, _, err = run(capsys, "audit", "verify", "--ledger", str(path), "--id", "fp_nope")
    assert code == 2 and "fp_nope" in err


def test_unknown_calculator_fails_verification(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from infercarbon.ledger import FootprintFigures, LineItemRecord, TotalRecord

    path = tmp_path / "l.duckdb"
    store = DuckDBStore(path)
    store.append_events(_events()[:1])
    li = LineItemRecord(
        "operational_location", 1.0, 1.0, 1.0, "cited", "x", "scope2_location", True, "location"
    )
    rec = FootprintRecord.create(
        tenant="acme",
        inputs={"energy_j": 1.0},
        factor_versions={"calculator": "mystery/9"},
        figures=FootprintFigures(1.0, (li,), {"location": TotalRecord(1.0, 1.0, 1.0)}),
        period_start_utc=T0,
        period_end_utc=T0,
        computed_utc=T0,
        calculator="mystery/9",
        event_id="e0",
    )
    store.append_footprints([rec])
    store.close()
    code, out, _ = run(capsys, "audit", "verify", "--ledger", str(path))
    assert code == 1
    assert (
        f"ERROR {rec.footprint_id}: DataError: no recompute known for calculator 'mystery/9'" in out
    )
