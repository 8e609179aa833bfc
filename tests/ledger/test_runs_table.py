"""Schema version 7: the programme's tables (runs, storage, transfers), their validation,
corrections, tenant scoping, export, and the in-place upgrade of a version-6 ledger on DuckDB
and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infercarbon.errors import LedgerReferenceError
from infercarbon.ledger import (
    SCHEMA_VERSION,
    EventValidationError,
    export_all,
    open_store,
    rollup_events,
)
from infercarbon.ledger.base import SqlStore
from infercarbon.ledger.canonical import run_id_for

RUN = {
    "run_id": "r1",
    "tenant": "acme",
    "kind": "train",
    "model": "m",
    "status": "failed",
    "exit_code": 1,
    "start_utc": "2026-07-01T00:00:00Z",
    "end_utc": "2026-07-01T01:00:00Z",
    "energy_j": 3.6e6,
    "energy_low_j": 3.4e6,
    "energy_high_j": 3.8e6,
    "method": "nvml",
    "label": "measured",
    "source": "test",
    "region": "DEU",
    "gpu_hours": 8.0,
}


def test_version_7_and_the_runs_table(tmp_path: Path) -> None:
    assert SCHEMA_VERSION >= 7
    with open_store(tmp_path / "l.duckdb") as s:
        assert s.append_runs([RUN]).inserted == 1
        assert s.append_runs([RUN]).duplicates == 1  # idempotent on run_id
        fixed = {**RUN, "run_id": "r2", "status": "succeeded", "supersedes": "r1"}
        s.append_runs([fixed])
        assert [r["run_id"] for r in s.runs().to_pylist()] == ["r2"]
        assert len(s.runs(include_superseded=True)) == 2
        assert len(s.runs(tenant="beta")) == 0 and s.count("runs", tenant="acme") == 2
        s.append_storage(
            [
                {
                    "record_id": "s1",
                    "tenant": "acme",
                    "storage_class": "ssd",
                    "gb_months": 10.0,
                    "period_start_utc": "2026-07-01T00:00:00Z",
                    "period_end_utc": "2026-08-01T00:00:00Z",
                    "source": "t",
                }
            ]
        )
        s.append_transfers(
            [
                {
                    "record_id": "t1",
                    "tenant": "acme",
                    "network_type": "internet",
                    "gb": 5.0,
                    "t_utc": "2026-07-01T00:00:00Z",
                    "source": "t",
                }
            ]
        )
        assert len(s.storage(tenant="acme")) == 1 and len(s.transfers()) == 1
        paths = export_all(s, tmp_path, tenant="acme")
        assert {"runs", "storage", "transfers"} <= set(paths)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "pretrain"),
        ("status", "crashed"),
        ("energy_j", -1.0),
        ("end_utc", "2026-06-30T00:00:00Z"),
        ("energy_high_j", 1.0),
        ("label", "guess"),
    ],
)
def test_bad_runs_name_the_field(field: str, value: Any) -> None:
    with open_store(":memory:") as s:
        with pytest.raises(EventValidationError) as info:
            s.append_runs([{**RUN, field: value}])
        assert info.value.problems[0].field == field
        assert s.count("runs") == 0


def test_a_correction_names_a_stored_run_of_its_tenant() -> None:
    with open_store(":memory:") as s, pytest.raises(LedgerReferenceError):
        s.append_runs([{**RUN, "supersedes": "nope"}])


def test_run_ids_are_stable() -> None:
    a = run_id_for(RUN)
    assert a == run_id_for(dict(RUN)) and a.startswith("run_") and len(a) == 36
    assert run_id_for({**RUN, "model": "other"}) != a


def _downgrade_sql() -> list[str]:
    return [
        "DROP TABLE runs",
        "DROP TABLE storage",
        "DROP TABLE transfers",
        "DROP TABLE event_hours",  # version 8
        "DELETE FROM ledger_meta WHERE key = 'event_hours_folded_rowid'",
        "UPDATE ledger_meta SET value = '6' WHERE key = 'schema_version'",
    ]


def test_a_version_6_duckdb_ledger_gains_the_tables(tmp_path: Path, events: Any) -> None:
    import duckdb

    path = tmp_path / "v6.duckdb"
    with open_store(path) as s:
        s.append_events(events(3))
    con = duckdb.connect(str(path))
    for sql in _downgrade_sql():
        con.execute(sql)
    con.close()
    with open_store(path) as s:
        assert s.count("events") == 3  # rows untouched
        assert rollup_events(s, by=()).column("events").to_pylist() == [3]  # filled
        s.append_runs([RUN])
        assert s.runs().num_rows == 1
        assert isinstance(s, SqlStore)
        assert s._fetchall("SELECT value FROM ledger_meta WHERE key = %s", ["schema_version"]) == [
            (str(SCHEMA_VERSION),)
        ]


def test_a_version_6_postgres_ledger_gains_the_tables(pg_schema_dsn: str, events: Any) -> None:
    from infercarbon.ledger.postgres_store import PostgresStore

    with PostgresStore(pg_schema_dsn) as s:
        assert s.dialect == "postgres"
        s.append_events(events(2))
        for sql in _downgrade_sql():
            s._exec(sql)
    with PostgresStore(pg_schema_dsn) as s:
        assert s.count("events") == 2
        assert rollup_events(s, by=()).column("events").to_pylist() == [2]  # filled
        s.append_runs([RUN])
        assert s.runs(tenant="acme").column("energy_j").to_pylist() == [3.6e6]
        assert s._fetchall("SELECT value FROM ledger_meta WHERE key = %s", ["schema_version"]) == [
            (str(SCHEMA_VERSION),)
        ]
