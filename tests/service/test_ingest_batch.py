"""Ingest through the columnar footprint path: the same records as the per-event path,
events and footprints in one transaction, idempotent re-sends, hostile numbers as 422."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infercarbon.ledger import audit
from infercarbon.ledger.schema import EVENTS, FootprintBatch, validate_rows
from infercarbon.service.footprints import (
    AccountingConfig,
    SignalBook,
    compute_footprints,
    figures_from_inputs,
    footprint_batch,
    footprint_records,
)


def _sorted(t, *keys):
    return t.sort_by([(k, "ascending") for k in keys])


@pytest.mark.parametrize("cfg", [AccountingConfig(), AccountingConfig(pue=1.25, td_loss_frac=0.05)])
def test_columnar_footprints_equal_per_event_records(h, cfg):
    rows = [dict(h.event(i), tenant="acme") for i in range(30)]
    rows += [dict(h.event(40, region="FR", event_id='q"uote\n'), tenant="b"),
             dict(h.event(41, region="PL", end_utc="2026-07-01T17:00:00.000001Z"), tenant="b")]
    table = validate_rows(EVENTS, rows)
    fps = compute_footprints(table, cfg, SignalBook([h.marginal_de()]))
    now = datetime(2026, 7, 2, tzinfo=UTC)
    a = FootprintBatch.from_records(footprint_records(table, fps, cfg, computed_utc=now))
    b = footprint_batch(table, fps, cfg, computed_utc=now)
    assert _sorted(a.footprints, "footprint_id").equals(_sorted(b.footprints, "footprint_id"))
    assert _sorted(a.items, "footprint_id", "position").equals(
        _sorted(b.items, "footprint_id", "position"))
    assert _sorted(a.totals, "footprint_id", "basis").equals(
        _sorted(b.totals, "footprint_id", "basis"))


def test_ingest_is_one_transaction(env, h, monkeypatch):
    """A failure while writing the footprints leaves no event behind (no backfill needed)."""
    from infercarbon.errors import LedgerError

    store = env.store

    def broken(spec, stage):
        if spec.name == "footprint_totals":
            raise LedgerError("disk full (simulated)")
        return type(store)._insert_all(store, spec, stage)

    monkeypatch.setattr(store, "_insert_all", broken)
    r = env.client.post("/v1/events", json=[h.event(i) for i in range(8)], headers=env.acme)
    assert r.status_code == 503
    assert store.count("events") == 0 and store.count("footprints") == 0
    monkeypatch.undo()
    r = env.client.post("/v1/events", json=[h.event(i) for i in range(8)], headers=env.acme)
    assert r.json()["inserted"] == 8
    assert store.count("events") == store.count("footprints") == 8


def test_resend_after_restart_is_idempotent(tmp_path, h):
    """The same events sent again to a server whose clock moved on: duplicates, no 409."""
    import warnings

    from infercarbon.ledger import open_store
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    path = tmp_path / "l.duckdb"
    evs = [h.event(i) for i in range(6)]
    for day in (2, 9):
        store = open_store(path, clock=h.clock)
        keys = MemoryKeyStore()
        secret, _ = create_key(keys, tenant="acme", admin=False, clock=lambda: 0.0)
        app = create_app(store, clock=lambda d=day: datetime(2026, 7, d, tzinfo=UTC), keys=keys,
                         signals=[h.marginal_de()])
        with TestClient(app) as client:
            r = client.post("/v1/events", json=evs, headers={"Authorization": f"Bearer {secret}"})
            assert r.status_code == 200, r.text
            assert r.json()["inserted"] == (6 if day == 2 else 0)
        assert store.count("footprints") == 6
        store.close()


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_huge_integer_is_422_naming_the_field(env, h, value):
    evs = [h.event(0), h.event(1, tokens_in=value)]
    r = env.client.post("/v1/events", json=evs, headers=env.acme)
    assert r.status_code == 422, r.text
    assert [(p["index"], p["field"]) for p in r.json()["detail"]] == [(1, "tokens_in")]
    assert env.store.count("events") == 0


def test_ingested_footprints_verify(env, h):
    r = env.client.post("/v1/events", json=[h.event(i) for i in range(50)], headers=env.acme)
    assert r.json()["inserted"] == 50
    rep = audit.verify(env.store, lambda inputs, versions: figures_from_inputs(inputs),
                       rel_tol=0.0)
    assert rep.ok and rep.checked == 50
