"""The Iceberg lake: exactly-once appends, supersedes chains, lineage, report and audit show."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from infercarbon.accounting.profiles import ProfileSet
from infercarbon.cli.main import main
from infercarbon.errors import FootprintNotFoundError, InputError
from infercarbon.jobs import get_engine, run_account, run_attribute
from infercarbon.jobs.synthetic import synthetic_fleet
from infercarbon.ledger.lake import footprint_id, open_lake, show_footprint

pytest.importorskip("pyiceberg")
TS = pa.timestamp("us", tz="UTC")


def _events(ids, day=1, supersedes=None):
    n = len(ids)
    return pa.table(
        {
            "event_id": ids,
            "start_utc": pa.array([datetime(2026, 7, day, 12, tzinfo=UTC)] * n, TS),
            "end_utc": pa.array([datetime(2026, 7, day, 12, 0, 1, tzinfo=UTC)] * n, TS),
            "device": ["g0"] * n,
            "supersedes": supersedes or [None] * n,
        }
    )


def test_event_ids_are_per_tenant_in_the_lake(tmp_path):
    """As in the ledger: two tenants may use one id; a row without a tenant is the default's."""
    lake = open_lake(tmp_path / "lake")
    acme = _events(["a", "b"]).append_column("tenant", pa.array(["acme"] * 2))
    beta = _events(["a"]).append_column("tenant", pa.array(["beta"]))
    assert lake.append_new("events", acme).appended == 2
    assert lake.append_new("events", beta).appended == 1  # not a duplicate of acme's "a"
    assert lake.append_new("events", beta).skipped == 1  # but a resend of beta's
    assert lake.append_new("events", _events(["a"])).appended == 1  # the default tenant's
    ev = lake.read("events")
    got = sorted(zip(ev["tenant"].to_pylist(), ev["event_id"].to_pylist(), strict=True))
    assert got == [("acme", "a"), ("acme", "b"), ("beta", "a"), ("default", "a")]


def test_append_new_is_exactly_once_and_keeps_supersedes_chains(tmp_path):
    lake = open_lake(tmp_path / "lake")
    r1 = lake.append_new("events", _events(["a", "b", "b"]))
    assert (r1.appended, r1.skipped) == (2, 1) and r1.snapshot_id is not None
    r2 = lake.append_new("events", _events(["a", "c"]))
    assert (r2.appended, r2.skipped) == (1, 1)
    r3 = lake.append_new("events", _events(["c2"], supersedes=["c"]))
    assert r3.appended == 1
    ev = lake.read("events")
    assert sorted(ev["event_id"].to_pylist()) == ["a", "b", "c", "c2"]
    assert ev.filter(pc.equal(ev["event_id"], "c2"))["supersedes"].to_pylist() == ["c"]
    # time travel: the first snapshot holds what the first append wrote
    assert sorted(lake.read("events", snapshot_id=r1.snapshot_id)["event_id"].to_pylist()) == [
        "a",
        "b",
    ]
    # pruning: a day with nothing reads nothing
    assert lake.read("events", start_utc=datetime(2026, 7, 2, tzinfo=UTC)).num_rows == 0
    with pytest.raises(InputError, match=r"events\.event_id"):
        lake.append_new("events", _events(["x"]).drop_columns(["event_id"]))


def _job_lake(tmp_path, *, events_per_device, seed):
    """A lake holding the attribute + account jobs' footprints of a synthetic fleet (local
    engine): (its directory, the lake, the footprint rows)."""
    f = synthetic_fleet(devices=3, events_per_device=events_per_device, hours=30, seed=seed)
    eng = get_engine("local")
    att = run_attribute(f["events"], f["readings"], engine=eng, window_s=900.0)
    rows, ctx = run_account(att, f["intensity"], engine=eng, profiles=ProfileSet())
    target = str(tmp_path / "lake")
    lake = open_lake(target)
    lake.append_new("footprints", rows)
    lake.append_new("footprint_contexts", ctx)
    return target, lake, rows


def test_report_agrees_with_plain_duckdb_and_show_answers_fast(tmp_path, capsys):
    target, lake, rows = _job_lake(tmp_path, events_per_device=100, seed=2)
    assert lake.append_new("footprints", rows).appended == 0  # a re-run appends nothing
    code = main(["lake", "totals", "--catalog", target, "--period", "2026-07-01"])
    rep = json.loads(capsys.readouterr().out)
    assert code == 0
    # the same table read with plain pyiceberg + DuckDB
    tbl = lake.table("footprints").scan().to_arrow()
    con = duckdb.connect()
    con.register("fp", tbl)
    row = con.execute(
        "SELECT count(*), sum(total_location_g) FROM fp WHERE "
        "period_start_utc < TIMESTAMPTZ '2026-07-02 00:00:00+00'"
    ).fetchone()
    assert row is not None
    n, g = row
    assert rep["totals"]["events"] == n > 0
    assert rep["totals"]["total_location_g"] == pytest.approx(g, rel=1e-12)
    assert rep["source"]["rows_scanned"] == n  # only the day's partition was read
    r = rows.to_pylist()[7]
    fid = footprint_id(r["context_id"], r["event_id"])
    t = time.perf_counter()
    d = show_footprint(lake, fid)
    assert time.perf_counter() - t < 1.0
    assert d["row"]["total_location_g"] == r["total_location_g"]
    assert d["context"]["calculator"].startswith("infercarbon.jobs.account")
    assert d["context"]["energy_band"]["label"] == "measured"
    with pytest.raises(FootprintNotFoundError):
        show_footprint(lake, "fp_000000000000_nope")
    code = main(["audit", "show", fid, "--catalog", target])
    assert code == 0 and json.loads(capsys.readouterr().out)["footprint_id"] == fid


def test_integer_batch_ids_are_stored_as_text_and_negative_means_none(tmp_path):
    lake = open_lake(tmp_path / "lake")
    ev = _events(["a", "b"]).append_column("batch_id", pa.array([-1, 7]))
    lake.append_new("events", ev)
    got = {r["event_id"]: r["batch_id"] for r in lake.read("events").to_pylist()}
    assert got == {"a": None, "b": "7"}


def test_report_catalog_carries_the_account_jobs_footprints(tmp_path, capsys):
    """``report --catalog`` on a lake the jobs wrote: its table of the account job's
    footprints equals the footprints table read with plain pyiceberg and DuckDB."""
    target, lake, _ = _job_lake(tmp_path, events_per_device=60, seed=4)
    out = tmp_path / "r.json"
    code = main(
        [
            "report",
            "--catalog",
            target,
            "--period",
            "2026-07-01",
            "--format",
            "json",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    doc = json.loads(out.read_text())
    job = {(r["region"], r["tenant"]): r for r in doc["tables"]["lake_account_job"]["rows"]}
    con = duckdb.connect()
    con.register("fp", lake.table("footprints").scan().to_arrow())
    got = con.execute(
        "SELECT count(*), sum(energy_j), sum(total_location_g), sum(total_location_low_g), "
        "sum(total_market_high_g) FROM fp WHERE period_start_utc >= TIMESTAMPTZ "
        "'2026-07-01 00:00:00+00' AND period_start_utc < TIMESTAMPTZ '2026-07-02 00:00:00+00'"
    ).fetchone()
    assert got is not None
    n, e, loc, loc_lo, mkt_hi = got
    total = job[("(all)", "(all)")]
    assert total["events"] == n > 0
    assert total["energy_mwh"] == pytest.approx(e / 3.6e9, rel=1e-12)
    assert total["location_t"] == pytest.approx(loc / 1e6, rel=1e-12)
    assert total["location_low_t"] == pytest.approx(loc_lo / 1e6, rel=1e-12)
    assert total["market_high_t"] == pytest.approx(mkt_hi / 1e6, rel=1e-12)
    assert sum(r["events"] for k, r in job.items() if k != ("(all)", "(all)")) == n
    # the ledger tables hold nothing: the report says so, beside the job's figures
    assert doc["report"]["status"] != "ok"
