"""Schema version 9: compact footprints are found by id through a hash index on PostgreSQL
(no b-tree primary key on a SHA-256 id); a version-8 ledger is upgraded in place on both
backends, and ids stay unique through the subject rules."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pytest

from infercarbon.errors import LedgerConflictError
from infercarbon.ledger import SCHEMA_VERSION, Store
from infercarbon.ledger.base import SqlStore

from .conftest import make_event, service_batch


def _indexes(store: SqlStore) -> dict[str, str]:
    return {
        r[0]: r[1]
        for r in store._fetchall(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'event_footprints' "
            "AND schemaname = current_schema()"
        )
    }


def _pkeys(store: SqlStore) -> list[str]:
    return [
        r[0]
        for r in store._fetchall(
            "SELECT c.conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE t.relname = 'event_footprints' "
            "AND n.nspname = current_schema() AND c.contype = 'p'"
        )
    ]


def _reads_the_same(store: Store, fids: list[str]) -> None:
    for fid in fids:
        assert store.footprint(fid).footprint_id == fid
    assert store.count("events") == 12
    assert store.count("footprints") == 12


def test_version_8_ledger_is_upgraded_in_place(
    backend: str, store_factory: Callable[[], Store]
) -> None:
    store = store_factory()
    assert isinstance(store, SqlStore)
    events, batch = service_batch([make_event(i) for i in range(12)])
    store.append_events_with_footprints(events, batch)
    fids = batch.footprints.column("footprint_id").to_pylist()
    if backend == "postgres":
        assert _pkeys(store) == []
        assert "USING hash (footprint_id)" in _indexes(store)["event_footprints_id"]
        # a version-8 ledger: the b-tree key, no hash index
        store._exec("DROP INDEX event_footprints_id")
        store._exec("ALTER TABLE event_footprints ADD PRIMARY KEY (footprint_id)")
    store._exec("UPDATE ledger_meta SET value = '8' WHERE key = 'schema_version'")
    if backend == "postgres":
        store.close()
        store = store_factory()
        assert isinstance(store, SqlStore)
        assert _pkeys(store) == []
        assert "USING hash (footprint_id)" in _indexes(store)["event_footprints_id"]
    else:  # DuckDB: one writer per file; reopen the same path
        from infercarbon.ledger import DuckDBStore

        assert isinstance(store, DuckDBStore)
        path = store.path
        store.close()
        store = DuckDBStore(path)
    try:
        assert store._stored_version() == str(SCHEMA_VERSION) == "9"
        _reads_the_same(store, fids)
        # the same batch again: duplicates, nothing written
        res = store.append_events_with_footprints(events, batch)
        assert res.events.inserted == 0
        assert res.footprints.inserted == 0
        _reads_the_same(store, fids)
        # a second root for a stored event, under another id: refused without the key
        _, forged = service_batch([make_event(3, energy_j=99.0)])
        with pytest.raises(LedgerConflictError):
            store.append_footprint_table(forged)
        _reads_the_same(store, fids)
    finally:
        if backend == "duckdb":
            store.close()


def test_footprint_lookup_by_id_uses_the_hash_index(
    backend: str, store_factory: Callable[[], Store]
) -> None:
    """PostgreSQL finds a compact footprint by id through ``event_footprints_id``."""
    if backend != "postgres":
        pytest.skip("the hash index is PostgreSQL's")
    store = store_factory()
    assert isinstance(store, SqlStore)
    events, batch = service_batch([make_event(i) for i in range(12)])
    store.append_events_with_footprints(events, batch)
    fid = batch.footprints.column("footprint_id")[0].as_py()
    store._exec("SET enable_seqscan = off")
    plan = "\n".join(
        r[0]
        for r in store._fetchall(
            "EXPLAIN SELECT footprint_id FROM event_footprints WHERE footprint_id = %s", [fid]
        )
    )
    store._exec("RESET enable_seqscan")
    assert "event_footprints_id" in plan
    got = store.query_arrow(
        "SELECT footprint_id FROM event_footprints WHERE footprint_id = %s",
        [fid],
        pa.schema([pa.field("footprint_id", pa.string())]),
    )
    assert got.column("footprint_id").to_pylist() == [fid]
