"""The ledger's tables in the lake: a ledger exported into the lake and read back for a period
gives the same report, figure for figure, as the ledger itself; only the period's partitions
are read; an older lake's table gains the new columns."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from infercarbon.cli.main import main
from infercarbon.grid.signal import IntensitySeries, SignalProvenance
from infercarbon.ledger import open_store
from infercarbon.ledger.lake import LEDGER_PREFIX, open_lake
from infercarbon.ledger.lake_snapshot import export_ledger, read_period, snapshot_store
from infercarbon.report import build_report, parse_period

pytest.importorskip("pyiceberg")
NOW = datetime(2026, 7, 9, tzinfo=UTC)


def _clock() -> datetime:
    return NOW


def _marginal() -> IntensitySeries:
    hours = np.arange(24 * 5)
    value = 400.0 + 150.0 * np.sin(hours / 24 * 2 * np.pi)
    return IntensitySeries.from_arrays(
        region="DE",
        kind="marginal",
        basis="direct",
        resolution_s=3600,
        start_utc=np.datetime64("2026-07-01T00", "s") + hours * np.timedelta64(3600, "s"),
        intensity_g_per_kwh=value,
        low_g_per_kwh=value * 0.8,
        high_g_per_kwh=value * 1.2,
        provenance=SignalProvenance(
            source="test fixture", version="1", method="sine", label="illustrative"
        ),
    )


def _event(i: int, day: int, **over: Any) -> dict[str, Any]:
    t = datetime(2026, 7, day, i % 24, tzinfo=UTC)
    ev = {
        "event_id": f"e{day}-{i}",
        "start_utc": t.isoformat(),
        "end_utc": (t + timedelta(milliseconds=500)).isoformat(),
        "service": "chat" if i % 2 else "search",
        "model": "m1",
        "region": "DE" if i % 3 else "FR",
        "device": f"gpu{i % 2}",
        "energy_j": 100.0 + i,
        "attribution_method": "measured-counter",
        "outcome": "ok" if i % 3 else "error",
        "tokens_in": 10 + i,
        "tokens_out": 20 + i,
    }
    ev.update(over)
    return ev


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A DuckDB ledger filled through the service's ingest (compact footprints), two tenants
    over three days, a correction on day 2 of a day-1 event; and a lake it was exported to."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    root = tmp_path_factory.mktemp("lake_snapshot")
    store = open_store(str(root / "ledger.duckdb"), clock=_clock)
    keys = MemoryKeyStore()
    heads = {}
    for name in ("acme", "beta"):
        secret, _ = create_key(keys, tenant=name, admin=False, clock=lambda: 0.0)
        heads[name] = {"Authorization": f"Bearer {secret}"}
    app = create_app(store, clock=_clock, keys=keys, signals=[_marginal()])
    with TestClient(app, raise_server_exceptions=False) as client:
        for day in (1, 2, 3):
            for name, n in (("acme", 30), ("beta", 12)):
                evs = [_event(i, day) for i in range(n)]
                r = client.post("/v1/events", json=evs, headers=heads[name])
                assert r.status_code == 200, r.text
        fix = _event(99, 2, event_id="fix", supersedes="e1-4", energy_j=1.0)
        r = client.post("/v1/events", json=[fix], headers=heads["acme"])
        assert r.status_code == 200, r.text
    lake_dir = str(root / "lake")
    lake = open_lake(lake_dir)
    rep = export_ledger(store, lake, clock=_clock)
    assert rep["events"].appended == 3 * 42 + 1
    assert rep["event_footprints"].appended == 3 * 42 + 1
    again = export_ledger(store, lake, clock=_clock)  # a re-run appends nothing
    assert all(r.appended == 0 for r in again.values() if r.table != "ledger_settings")
    yield store, lake_dir
    store.close()
    lake.close()


def _same(a: Any, b: Any, path: str) -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-12, abs=1e-15), path
        return
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.mark.parametrize(
    ("period", "tenant"), [("2026-07-01", None), ("2026-07", None), ("2026-07-01", "acme")]
)
def test_the_lake_report_is_the_ledger_report(ledger, period, tenant):
    store, lake_dir = ledger
    p = parse_period(period)
    lake = open_lake(lake_dir, create=False)
    snap, info = snapshot_store(lake, start_utc=p.start_utc, end_utc=p.end_utc, tenant=tenant)
    try:
        a = build_report(store, p, generated_utc=NOW, tenant=tenant, ledger_label="x")
        b = build_report(snap, p, generated_utc=NOW, tenant=tenant, ledger_label="x")
    finally:
        snap.close()
        lake.close()
    assert a.meta["status"] == "ok"
    # figure for figure, every section: the same rows, counts, labels and sources; the sums
    # agree to the last bits a different summation order moves (the lake's files hold the
    # rows in another order than the ledger's)
    _same(json.loads(a.to_json())["tables"], json.loads(b.to_json())["tables"], "tables")
    if period == "2026-07-01":
        # only day 1's partitions (and the correction, stored on day 2) were read
        n = 30 + (12 if tenant is None else 0)
        assert info.rows["events"] == n + 1
        assert info.rows["event_footprints"] == n  # the correction's is of day 2


def test_report_catalog_renders_every_format(ledger, tmp_path, capsys):
    _, lake_dir = ledger
    from infercarbon.report import FORMATS

    for fmt in FORMATS:
        out = tmp_path / f"r.{fmt}"
        code = main(
            [
                "report",
                "--catalog",
                lake_dir,
                "--period",
                "2026-07-01",
                "--format",
                fmt,
                "--out",
                str(out),
            ]
        )
        assert code == 0, capsys.readouterr().err
        assert out.stat().st_size > 500
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["report"]["ledger"].startswith("lake ")
    assert "Scope 2" in (tmp_path / "r.html").read_text()


def test_read_period_prunes_partitions(ledger):
    _, lake_dir = ledger
    lake = open_lake(lake_dir, create=False)
    try:
        day = read_period(
            lake,
            start_utc=datetime(2026, 7, 3, tzinfo=UTC),
            end_utc=datetime(2026, 7, 4, tzinfo=UTC),
            tenant="beta",
        )
        tbl = lake.table(LEDGER_PREFIX + "events")
        every = len(list(tbl.scan().plan_files()))
        pruned = len(
            list(
                tbl.scan(
                    row_filter="start_utc >= '2026-07-03T00:00:00+00:00' AND tenant = 'beta'"
                ).plan_files()
            )
        )
    finally:
        lake.close()
    assert day["events"].column("tenant").unique().to_pylist() == ["beta"]
    assert day["events"].num_rows == 12  # beta made no correction
    assert pruned < every


@pytest.mark.parametrize("day", [1, 2])
def test_a_snapshot_streams_the_period_and_loads_each_correction_once(ledger, day):
    # day 2 holds the correction "fix" (its scan and the corrections' both read it), day 1
    # the event it corrects (the correction comes from outside the period)
    _, lake_dir = ledger
    lake = open_lake(lake_dir, create=False)
    start = datetime(2026, 7, day, tzinfo=UTC)
    end = datetime(2026, 7, day + 1, tzinfo=UTC)
    try:
        whole = read_period(lake, start_utc=start, end_utc=end)
        store, snap = snapshot_store(lake, start_utc=start, end_utc=end)
        try:
            ids = [
                r[0]
                for r in store._fetchall(
                    "SELECT tenant || '/' || event_id FROM events ORDER BY 1", []
                )
            ]
        finally:
            store.close()
    finally:
        lake.close()
    assert snap.rows["events"] == whole["events"].num_rows == len(ids) == len(set(ids))
    assert snap.rows["event_footprints"] == whole["event_footprints"].num_rows
    assert "acme/fix" in ids


def test_an_older_lake_gains_the_new_columns(tmp_path):
    """Iceberg schema evolution: a table created without a column this code has gets it
    (optional) when the lake is opened; its stored rows read the column as null."""
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.schema import Schema
    from pyiceberg.types import NestedField, StringType

    from infercarbon.ledger.lake import _catalog_uri

    uri, wh = _catalog_uri(str(tmp_path / "lake"))
    (tmp_path / "lake").mkdir()
    cat = SqlCatalog("infercarbon", uri=uri, warehouse=wh)
    cat.create_namespace("infercarbon")
    old = cat.create_table(
        "infercarbon.ledger_settings",
        schema=Schema(NestedField(1, "key", StringType(), required=False)),
    )
    old.append(pa.table({"key": ["profiles"]}))
    cat.engine.dispose()
    lake = open_lake(tmp_path / "lake")
    try:
        names = {f.name for f in lake.table("ledger_settings").schema().fields}
        assert {"key", "value", "exported_utc"} <= names
        got = lake.read("ledger_settings").to_pylist()
        assert got == [{"key": "profiles", "value": None, "exported_utc": None}]
    finally:
        lake.close()


def test_audit_show_reads_an_exported_footprint_as_the_ledger_does(ledger, capsys):
    """``audit show ID --catalog`` on a footprint the ledger exported prints what ``audit
    show`` prints on the ledger: the derivation, the hash check and the chain (here an
    event, a corrected event and its correction)."""
    from infercarbon.cli._common import print_json
    from infercarbon.ledger import show

    store, lake_dir = ledger
    ids = store.query_arrow(
        "SELECT footprint_id FROM event_footprints WHERE event_id IN ('e1-4', 'fix', 'e3-7') "
        "ORDER BY event_id, tenant",
        [],
        pa.schema([pa.field("footprint_id", pa.string())]),
    ).column("footprint_id")
    assert len(ids) >= 3
    for fid in ids.to_pylist():
        print_json(show(store, fid))
        want = json.loads(capsys.readouterr().out)
        assert main(["audit", "show", fid, "--catalog", lake_dir, "--json"]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["inputs_hash_matches"] is True
        _same(want, got, fid)
    # the text rendering too
    assert main(["audit", "show", ids[0].as_py(), "--catalog", lake_dir]) == 0
    assert "chain" in capsys.readouterr().out
    missing = "fp_" + "0" * 32
    assert main(["audit", "show", missing, "--catalog", lake_dir]) == 2
    err = capsys.readouterr().err
    assert missing in err and "lake export" in err
