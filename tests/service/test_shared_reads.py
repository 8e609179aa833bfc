"""Whole-ledger reads shared by the requests that ask them of the same ledger state: the
programme panel's drivers and runs read the ledger's facts once (PostgreSQL's data version),
and read again after any write."""

from __future__ import annotations

import threading
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from infercarbon.service.shared import SharedReads


def test_same_version_is_read_once_other_versions_again() -> None:
    shared = SharedReads()
    calls: list[int] = []

    def read() -> int:
        calls.append(1)
        return len(calls)

    assert shared.get("q", "v1", read) == 1
    assert shared.get("q", "v1", read) == 1  # shared
    assert shared.get("q", "v2", read) == 2  # the ledger changed
    assert shared.get("other", "v2", read) == 3  # another question
    assert shared.get("q", None, read) == 4  # no version: never shared
    assert shared.get("q", None, read) == 5
    assert (shared.reads, shared.shared) == (3, 1)


def test_concurrent_requests_wait_for_the_one_read() -> None:
    shared = SharedReads()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        assert release.wait(10)
        return "facts"

    out: list[str] = []
    first = threading.Thread(target=lambda: out.append(shared.get("q", "v", slow)))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: out.append(shared.get("q", "v", slow)))
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert out == ["facts", "facts"] and len(calls) == 1


def test_a_failed_read_is_not_kept() -> None:
    shared = SharedReads()

    def fail() -> int:
        raise RuntimeError("ledger down")

    with pytest.raises(RuntimeError, match="ledger down"):
        shared.get("q", "v", fail)
    assert shared.get("q", "v", lambda: 7) == 7


def test_bounded() -> None:
    shared = SharedReads(max_entries=2)
    for k in range(5):
        shared.get(k, "v", lambda: 0)
    assert len(shared._entries) == 2


def test_panels_share_the_facts_on_postgres(pg_schema_dsn: str, h: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from infercarbon.ledger.postgres_store import PostgresStore
    from infercarbon.programme import hidden_drivers, read_facts, training_lines
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    now = datetime(2026, 7, 2, 12, tzinfo=UTC)
    store = PostgresStore(pg_schema_dsn)
    try:
        keys = MemoryKeyStore()
        tok, _ = create_key(keys, tenant="acme", admin=False, clock=lambda: 0.0)
        app = create_app(store, clock=lambda: now, keys=keys)
        c = TestClient(app, raise_server_exceptions=False)
        acme = {"Authorization": f"Bearer {tok}"}
        evs = [
            h.event(i, start_utc=f"2026-07-01T10:{i:02d}:00Z", end_utc=f"2026-07-01T10:{i:02d}:01Z")
            for i in range(4)
        ]
        assert c.post("/v1/events", json=evs, headers=acme).status_code == 200
        run = {
            "kind": "train",
            "model": "m1",
            "status": "succeeded",
            "start_utc": "2026-06-01T00:00:00Z",
            "end_utc": "2026-06-02T00:00:00Z",
            "energy_j": 3.6e9,
            "method": "measured",
            "label": "measured",
            "source": "test",
        }
        assert c.post("/v1/runs", json=[run], headers=acme).status_code == 200
        state: SharedReads = app.state.infercarbon.shared
        before = (state.reads, state.shared)
        drivers = c.get("/v1/programme/drivers", headers=acme).json()
        assert c.get("/v1/programme/drivers", headers=acme).json() == drivers
        runs = c.get("/v1/runs?limit=1", headers=acme).json()
        assert c.get("/v1/runs?limit=1", headers=acme).json() == runs
        # one read each (the facts; the runs and models), then shared
        assert (state.reads, state.shared) == (before[0] + 2, before[1] + 2)
        # the same answers as reading the facts for each request
        facts = read_facts(store, as_of_utc=now, tenant="acme")
        assert drivers["drivers"] == _json(c, hidden_drivers(facts))
        assert runs["training"] == _json(c, training_lines(facts.runs, facts.models, as_of_utc=now))
        # a write: read again, and the new events count
        more = [
            h.event(
                10 + i,
                start_utc=f"2026-07-01T11:{i:02d}:00Z",
                end_utc=f"2026-07-01T11:{i:02d}:01Z",
            )
            for i in range(3)
        ]
        assert c.post("/v1/events", json=more, headers=acme).status_code == 200
        again = c.get("/v1/programme/drivers", headers=acme).json()
        assert state.reads == before[0] + 3
        facts = read_facts(store, as_of_utc=now, tenant="acme")
        assert again["drivers"] == _json(c, hidden_drivers(facts))
        # the page's other ledger reads: shared while nothing is written, fresh after
        pages = (
            "/v1/summary",
            "/v1/events?limit=200",
            "/v1/footprints?group=service&period=hour",
            "/v1/traces",
            "/v1/rebound",
        )
        first = {u: c.get(u, headers=acme).json() for u in pages}
        n = state.shared
        assert {u: c.get(u, headers=acme).json() for u in pages} == first
        assert state.shared == n + len(pages)
        assert first["/v1/summary"]["events"] == 7
        late = [
            h.event(
                20 + i,
                start_utc=f"2026-07-01T12:{i:02d}:00Z",
                end_utc=f"2026-07-01T12:{i:02d}:01Z",
            )
            for i in range(2)
        ]
        assert c.post("/v1/events", json=late, headers=acme).status_code == 200
        assert c.get("/v1/summary", headers=acme).json()["events"] == 9
        assert len(c.get("/v1/events?limit=200", headers=acme).json()["rows"]) == 9
        assert state.shared == n + len(pages)
    finally:
        store.close()


def _json(c: Any, obj: Any) -> Any:
    import json

    from fastapi.encoders import jsonable_encoder

    return json.loads(json.dumps(jsonable_encoder(obj)))


def test_model_facts_are_read_facts_models(pg_schema_dsn: str, h: Any) -> None:
    """The runs panel's three reads give the models' facts that :func:`read_facts` gives,
    on PostgreSQL and DuckDB, every tenant and one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from infercarbon.ledger import DuckDBStore
    from infercarbon.ledger.postgres_store import PostgresStore
    from infercarbon.programme import model_facts, read_facts
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    now = datetime(2026, 7, 2, 12, tzinfo=UTC)
    evs = [
        h.event(
            i,
            tenant=("acme", "globex")[i % 2],
            model=("m1", "m2", "m3")[i % 3],
            start_utc=f"2026-07-01T{10 + i % 3:02d}:{i:02d}:00Z",
            end_utc=f"2026-07-01T{10 + i % 3:02d}:{i:02d}:02Z",
        )
        for i in range(12)
    ]
    for store in (PostgresStore(pg_schema_dsn), DuckDBStore(":memory:")):
        try:
            keys = MemoryKeyStore()
            adm, _ = create_key(keys, tenant="ops", admin=True, clock=lambda: 0.0)
            c = TestClient(create_app(store, clock=lambda: now, keys=keys))
            r = c.post("/v1/events", json=evs, headers={"Authorization": f"Bearer {adm}"})
            assert r.status_code == 200, r.text
            for tenant in (None, "acme"):
                want = read_facts(store, as_of_utc=now, tenant=tenant).models
                got = model_facts(store, tenant=tenant)
                assert got == want and len(got) == 3
        finally:
            store.close()
