"""Event ids are per tenant (schema version 6): two tenants may use the same id, neither
learns of the other's, a correction stays in its tenant, and older ledgers are re-keyed in
place on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infercarbon.errors import LedgerReferenceError
from infercarbon.ledger import SCHEMA_VERSION, DuckDBStore, LedgerConflictError, Store
from infercarbon.ledger import rollup as R
from infercarbon.ledger.audit import verify
from infercarbon.ledger.schema import EVENTS

from .conftest import FixedClock, make_event, service_batch
from .test_compact import _recompute
from .test_hours import _check


def _ev(i: int, tenant: str, **over: Any) -> dict[str, Any]:
    return make_event(i, tenant=tenant, **over)


def _energy_by_tenant(store: Store) -> dict[str, float]:
    t = R.rollup_events(store, by=["tenant"])
    return {r["tenant"]: r["energy_j"] for r in t.to_pylist()}


def test_two_tenants_may_use_one_id(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    a = [_ev(i, "acme") for i in range(4)]
    b = [_ev(i, "globex", energy_j=100.0 + i) for i in range(2)]
    for batch in (a, b):
        res = store.append_events_with_footprints(*service_batch(batch))
        assert res.events.inserted == len(batch) and res.footprints.inserted == len(batch)
    assert store.count("events") == 6
    assert store.events(tenant="globex").column("energy_j").to_pylist() == [100.0, 101.0]
    assert _energy_by_tenant(store) == pytest.approx(
        {"acme": sum(e["energy_j"] for e in a), "globex": 201.0}
    )
    # a resend is a duplicate in its own tenant; other content under the id is a conflict
    again = store.append_events_with_footprints(*service_batch(b[:1]))
    assert (again.events.inserted, again.events.duplicates) == (0, 1)
    with pytest.raises(LedgerConflictError, match="'ev-000001'") as err:
        store.append_events_with_footprints(*service_batch([_ev(1, "globex", energy_j=5.0)]))
    assert "acme" not in str(err.value)
    _check(store, monkeypatch)
    assert verify(store, _recompute).ok


def test_a_correction_stays_in_its_tenant(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.append_events_with_footprints(*service_batch([_ev(0, "acme"), _ev(1, "acme")]))
    store.append_events_with_footprints(*service_batch([_ev(0, "globex")]))
    fix = _ev(9, "globex", supersedes="ev-000000", energy_j=1.0)
    store.append_events_with_footprints(*service_batch([fix]))
    # globex's ev-000000 is corrected; acme's stays live
    live = {(r["tenant"], r["event_id"]) for r in store.events().to_pylist()}
    assert live == {("acme", "ev-000000"), ("acme", "ev-000001"), ("globex", "ev-000009")}
    _check(store, monkeypatch)
    # a tenant cannot correct an id it does not hold, even if another tenant does
    with pytest.raises(LedgerReferenceError, match="same tenant"):
        store.append_events([_ev(10, "initech", supersedes="ev-000001")])
    # acme corrects its own ev-000000 (globex already corrected its own: no clash)
    store.append_events_with_footprints(
        *service_batch([_ev(11, "acme", supersedes="ev-000000", energy_j=2.0)])
    )
    assert {(r["tenant"], r["event_id"]) for r in store.events().to_pylist()} == {
        ("acme", "ev-000001"),
        ("acme", "ev-000011"),
        ("globex", "ev-000009"),
    }
    _check(store, monkeypatch)
    assert verify(store, _recompute).ok


def _as_version_5(store: Store, backend: str) -> None:
    """Put a ledger back to version 5: events keyed by event_id alone."""
    if backend == "duckdb":
        cols = ", ".join(f'"{c}"' for c in [*store.events().column_names])
        store._exec("CREATE TABLE events_v5 AS SELECT * FROM events")  # type: ignore[attr-defined]
        store._exec("DROP TABLE events")  # type: ignore[attr-defined]
        store._exec(  # type: ignore[attr-defined]
            "CREATE TABLE events ("
            + store._columns_ddl(EVENTS, False)  # type: ignore[attr-defined]
            + ", PRIMARY KEY (event_id))"
        )
        store._exec(f"INSERT INTO events ({cols}) SELECT {cols} FROM events_v5")  # type: ignore[attr-defined]
        store._exec("DROP TABLE events_v5")  # type: ignore[attr-defined]
    else:
        for s in (
            "ALTER TABLE events DROP CONSTRAINT events_pkey",
            "ALTER TABLE events ADD PRIMARY KEY (event_id)",
            "DROP INDEX events_corrected_once_per_tenant",
            "CREATE UNIQUE INDEX events_corrected_once ON events (supersedes)",
        ):
            store._exec(s)  # type: ignore[attr-defined]
    store._exec("UPDATE ledger_meta SET value = '5' WHERE key = 'schema_version'")  # type: ignore[attr-defined]


def test_version_5_ledger_is_rekeyed_in_place(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Store] = []
    # DuckDB copies the events a chunk a transaction: several chunks here
    monkeypatch.setattr(DuckDBStore, "REKEY_CHUNK_ROWS", 2)

    def make() -> Store:
        if backend == "postgres":
            from infercarbon.ledger.postgres_store import PostgresStore

            s: Store = PostgresStore(request.getfixturevalue("pg_schema_dsn"), clock=FixedClock())
        else:
            s = DuckDBStore(tmp_path / "v5.duckdb", clock=FixedClock())
        opened.append(s)
        return s

    try:
        old = make()
        old.append_events_with_footprints(*service_batch([_ev(i, "acme") for i in range(5)]))
        before = old.events().to_pylist()
        _as_version_5(old, backend)
        old.close()
        new = make()
        meta = new._fetchall(  # type: ignore[attr-defined]
            "SELECT value FROM ledger_meta WHERE key = 'schema_version'"
        )
        assert meta == [(str(SCHEMA_VERSION),)]
        assert new.events().to_pylist() == before
        res = new.append_events_with_footprints(*service_batch([_ev(1, "globex")]))
        assert res.events.inserted == 1
        assert verify(new, _recompute).ok
    finally:
        for s in opened:
            s.close()
