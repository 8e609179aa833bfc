"""``infercarbon grid update --source operator-csv``: the bundled ERCOT data into the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infercarbon.cli import grid_update
from infercarbon.cli.main import main
from infercarbon.ledger import open_store

NOW = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch):
    monkeypatch.setattr(grid_update, "_now", lambda: NOW)


def run(capsys, *args):
    code = main(["grid", "update", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bundled_ercot_location_and_marginal(capsys, tmp_path):
    ledger = str(tmp_path / "l.duckdb")
    window = ("--from", "2022-03-31T00:00Z", "--to", "2022-04-02T00:00Z")
    code, out, err = run(
        capsys, "--ledger", ledger, "--source", "operator-csv", "--region", "ERCOT", *window
    )
    assert code == 0, err
    assert "48 written" in out
    code, out, err = run(
        capsys,
        "--ledger",
        ledger,
        "--source",
        "operator-csv",
        "--region",
        "ERCOT",
        "--kind",
        "marginal",
        *window,
    )
    assert code == 0, err
    with open_store(ledger) as store:
        loc = store.intensity(region="ERCOT", kind="location-average").sort_by("interval_start_utc")
        mar = store.intensity(region="ERCOT", kind="marginal")
    assert loc.num_rows == mar.num_rows == 48
    row = loc.to_pylist()[0]
    assert row["method"].startswith("production-based fuel mix x per-fuel lifecycle rates")
    assert row["source"].startswith("ERCOT Fuel Mix Report")
    assert row["low_g_per_kwh"] < row["value_g_per_kwh"] < row["high_g_per_kwh"]
    assert row["confidence_level"] is None  # an envelope, not a stated coverage
    assert row["retrieved_utc"] == NOW
    # 2022-04 is INITIAL settlement in the bundled data: provisional from 04-01 05:00Z
    status = loc.column("status").to_pylist()
    assert status[:29] == ["final"] * 29 and set(status[29:]) == {"provisional"}
    for c in ("method", "status", "marginal_unit", "confidence_level"):
        assert mar.column(c).null_count == 0, c
    assert set(mar.column("confidence_level").to_pylist()) == {0.95}


def test_repeating_the_update_writes_nothing(capsys, tmp_path):
    ledger = str(tmp_path / "l.duckdb")
    args = (
        "--ledger",
        ledger,
        "--source",
        "operator-csv",
        "--region",
        "ERCOT",
        "--from",
        "2021-01-01",
        "--to",
        "2021-01-02",
    )
    assert run(capsys, *args)[0] == 0
    code, out, _ = run(capsys, *args)
    assert code == 0 and "0 written, 24 already stored unchanged" in out
    with open_store(ledger) as store:
        assert store.intensity(region="ERCOT").num_rows == 24


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("--region", "DE"), "--csv FILE"),
        (("--region", "ERCOT", "--kind", "forecast"), "no forecast"),
        (("--region", "ERCOT", "--from", "2021-01-01"), "both --from and --to"),
        (("--region", "ERCOT", "--from", "2030-01-01", "--to", "2030-01-02"), "no data"),
    ],
)
def test_errors(capsys, tmp_path, args, match):
    ledger = tmp_path / "l.duckdb"
    code, _, err = run(capsys, "--ledger", str(ledger), "--source", "operator-csv", *args)
    assert code == 2 and match in err
    assert not ledger.exists()


def test_update_reprices_the_footprints_it_covers(capsys, tmp_path):
    """Events priced at ingest (bundled hourly series) are re-priced with the stored
    intervals: new footprints supersede the old, which stay; audit verify passes."""
    from infercarbon.accounting.batch import (
        AccountingConfig,
        compute_footprints,
        figures_from_inputs,
        footprint_batch,
    )
    from infercarbon.accounting.signals import SignalBook
    from infercarbon.ledger import audit
    from infercarbon.ledger.schema import EVENTS
    from infercarbon.ledger.validation import validate_rows

    ledger = str(tmp_path / "l.duckdb")
    evs = [
        {
            "event_id": f"e{i}",
            "start_utc": f"2021-07-15T{10 + i:02d}:00:00Z",
            "end_utc": f"2021-07-15T{10 + i:02d}:00:01Z",
            "service": "s",
            "tenant": "t",
            "model": "m",
            "region": "ERCOT",
            "device": "gpu0",
            "energy_j": 50.0,
            "attribution_method": "nvml:measured-counter",
        }
        for i in range(3)
    ]
    table = validate_rows(EVENTS, evs)
    cfg = AccountingConfig()
    with open_store(ledger) as store:
        fps = compute_footprints(table, cfg, SignalBook())
        store.append_events_with_footprints(
            table, footprint_batch(table, fps, cfg, computed_utc=NOW)
        )
    code, out, err = run(
        capsys,
        "--ledger",
        ledger,
        "--source",
        "operator-csv",
        "--region",
        "ERCOT",
        "--from",
        "2021-07-15T00:00Z",
        "--to",
        "2021-07-16T00:00Z",
    )
    assert code == 0, err
    assert "re-priced 3 of 3" in out
    with open_store(ledger) as store:
        assert len(store.footprint_ids()) == 6
        live = [store.footprint(f) for f in store.footprint_ids(include_superseded=False)]
        assert {x.supersedes is not None for x in live} == {True}
        assert all(
            x.inputs["assumptions"]["signals"]["location"]["source"].startswith(
                "ledger intensity snapshots"
            )
            for x in live
        )
        assert audit.verify(store, lambda i, v: figures_from_inputs(i), rel_tol=0.0).ok
    # the same update again: nothing new to store, nothing re-priced
    code, out, _ = run(
        capsys,
        "--ledger",
        ledger,
        "--source",
        "operator-csv",
        "--region",
        "ERCOT",
        "--from",
        "2021-07-15T00:00Z",
        "--to",
        "2021-07-16T00:00Z",
    )
    assert code == 0 and "re-priced" not in out
