"""Ingest through the columnar footprint path: the same records as the per-event path,
events and footprints in one transaction, idempotent re-sends, hostile numbers as 422."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pyarrow as pa
import pytest

from infercarbon.accounting.batch import (
    LINE_NAMES,
    AccountingConfig,
    compute_footprints,
    figures_from_inputs,
    footprint_batch,
    footprint_records,
)
from infercarbon.accounting.signals import SignalBook
from infercarbon.ledger import DuckDBStore, audit
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows

N_ITEMS = len(LINE_NAMES)


def _sorted(t, *keys):
    return t.sort_by([(k, "ascending") for k in keys])


_PROFILES = {
    "profile": [
        {
            "name": "pool",
            "devices": ["gpu0"],
            "operating_model": "cloud",
            "idle_policy": "tenancy",
            "currency": "EUR",
            "idle_power_w": {"value": 60, "low": 50, "high": 75, "source": "t"},
            "utilisation_frac": {"value": 0.4, "low": 0.25, "high": 0.6, "source": "t"},
            "embodied_kg": {"value": 1500, "low": 750, "high": 3000, "source": "t"},
            "lifetime_years": {"value": 5, "low": 4, "high": 6, "source": "t"},
            "pue": {"value": 1.2, "low": 1.1, "high": 1.35, "source": "t"},
            "network_kwh_per_gb": {"value": 0.06, "low": 0.03, "high": 0.12, "source": "t"},
            "tariff_source": "ToU",
            "tariff": [
                {"from_hour": 0, "to_hour": 12, "price_per_kwh": 0.1},
                {"from_hour": 12, "to_hour": 24, "price_per_kwh": 0.3},
            ],
        },
        {
            "name": "default",
            "idle_power_w": {"value": 5, "source": "t"},
            "utilisation_frac": {"value": 0.9, "low": 0.8, "high": 1.0, "source": "t"},
        },
    ]
}


@pytest.mark.parametrize(
    "cfg",
    [
        AccountingConfig(),
        AccountingConfig(pue=1.25, td_loss_frac=0.05),
        AccountingConfig(operating_model="sold"),
        AccountingConfig().with_profiles(_PROFILES),
    ],
)
def test_columnar_footprints_equal_per_event_records(h, cfg):
    """The compact footprints of ingest are the records footprint_records builds one by one:
    same ids, inputs (canonical text), hashes, line items and totals, read back from two
    ledgers (one per layout) through every read path."""
    rows = [dict(h.event(i), tenant="acme") for i in range(30)]
    # a mix of payloads, own energy bands, devices and methods (several contexts)
    for i, r in enumerate(rows):
        if i % 3 == 0:
            r["payload_bytes"] = 1000 * i
        if i % 4 == 0:
            r.update(energy_low_j=r["energy_j"] * 0.9, energy_high_j=r["energy_j"] * 1.2)
        if i % 5 == 0:
            r.update(device="cpu1", attribution_method="cpu-model:modelled")
    rows += [
        dict(h.event(40, region="FR", event_id='q"uote\n'), tenant="b"),
        dict(h.event(41, region="PL", end_utc="2026-07-01T17:00:00.000001Z"), tenant="b"),
    ]
    table = validate_rows(EVENTS, rows)
    fps = compute_footprints(table, cfg, SignalBook([h.marginal_de()]))
    now = datetime(2026, 7, 2, tzinfo=UTC)
    records = footprint_records(table, fps, cfg, computed_utc=now)
    compact = footprint_batch(table, fps, cfg, computed_utc=now)
    assert sorted(compact.footprints.column("footprint_id").to_pylist()) == sorted(
        r.footprint_id for r in records
    )
    compact.check()  # the builder's ids and hashes, recomputed from the content
    clock = lambda: now  # noqa: E731
    with (
        DuckDBStore(":memory:", clock=clock) as general,
        DuckDBStore(":memory:", clock=clock) as lean,
    ):
        general.append_events(table)
        general.append_footprints(records)
        lean.append_events_with_footprints(table, compact)
        for rec in records:
            assert lean.footprint(rec.footprint_id) == rec == general.footprint(rec.footprint_id)
        for name, keys in (
            ("footprints", ["footprint_id"]),
            ("footprint_items", ["footprint_id", "position"]),
            ("footprint_totals", ["footprint_id", "basis"]),
        ):
            a = _sorted(pa.Table.from_batches(list(general.scan(name))), *keys)
            b = _sorted(pa.Table.from_batches(list(lean.scan(name))), *keys)
            if name == "footprints":  # a compact row has no record hash; all else is equal
                a, b = a.drop_columns(["record_hash"]), b.drop_columns(["record_hash"])
            assert a.equals(b), name
        assert lean.count("footprint_items") == general.count("footprint_items") == 32 * N_ITEMS


def test_ingest_is_one_transaction(env, h, monkeypatch):
    """A failure while writing the footprints leaves no event behind (no backfill needed)."""
    from infercarbon.errors import LedgerError

    store = env.store

    def broken(spec, rows):
        if spec.name == "event_footprints":
            raise LedgerError("disk full (simulated)")
        return type(store)._insert_rows(store, spec, rows)

    monkeypatch.setattr(store, "_insert_rows", broken)
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
        app = create_app(
            store,
            clock=partial(datetime, 2026, 7, day, tzinfo=UTC),
            keys=keys,
            signals=[h.marginal_de()],
        )
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
    rep = audit.verify(env.store, lambda inputs, versions: figures_from_inputs(inputs), rel_tol=0.0)
    assert rep.ok and rep.checked == 50


@pytest.mark.parametrize(
    ("model", "location", "market"),
    [
        ("owned", "scope2_location", "scope2_market"),
        ("cloud", "scope3_cat1", "scope3_cat1"),
        ("sold", "scope3_cat11", "scope3_cat11"),
    ],
)
def test_operating_model_sets_scope_tags_and_is_a_stored_input(h, model, location, market):
    cfg = AccountingConfig(operating_model=model)
    table = validate_rows(EVENTS, [dict(h.event(0), tenant="acme")])
    fps = compute_footprints(table, cfg, SignalBook([h.marginal_de()]))
    rec = footprint_records(table, fps, cfg, computed_utc=datetime(2026, 7, 2, tzinfo=UTC))[0]
    assert rec.inputs["assumptions"]["operating_model"] == model
    scopes = {i.name: i.scope for i in rec.figures.line_items}
    assert {scopes[f"operational_{b}"] for b in ("location", "market", "marginal")} == {
        location,
        market,
        "memo_consequential",
    }
    assert scopes["operational_location"] == scopes["idle_location"] == location
    assert scopes["operational_market"] == market
    embodied = {"owned": "scope3_cat2", "cloud": "scope3_cat1", "sold": "scope3_cat1"}[model]
    assert scopes["embodied"] == embodied
    # the audit path derives the same tags from the stored inputs alone
    again = figures_from_inputs(rec.inputs)
    assert [i.scope for i in again.line_items] == [i.scope for i in rec.figures.line_items]


def test_a_bad_operating_model_is_named(h):
    cfg = AccountingConfig()
    table = validate_rows(EVENTS, [dict(h.event(0), tenant="acme")])
    fps = compute_footprints(table, cfg, SignalBook([]))
    rec = footprint_records(table, fps, cfg, computed_utc=datetime(2026, 7, 2, tzinfo=UTC))[0]
    assert figures_from_inputs(rec.inputs) == rec.figures
    from infercarbon.errors import InputError

    with pytest.raises(InputError, match="operating_model"):
        figures_from_inputs(
            dict(rec.inputs, assumptions=dict(rec.inputs["assumptions"], operating_model="leased"))
        )
    with pytest.raises(InputError, match="operating_model"):
        AccountingConfig(operating_model="leased")


def test_cloud_service_reports_scope3_not_scope2(tmp_path, h):
    """A cloud deployment's report puts operational electricity in Scope 3 cat. 1."""
    import warnings

    from infercarbon.ledger import open_store
    from infercarbon.report import build_report, parse_period
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    store = open_store(tmp_path / "l.duckdb", clock=h.clock)
    keys = MemoryKeyStore()
    secret, _ = create_key(keys, tenant="acme", admin=False, clock=lambda: 0.0)
    app = create_app(
        store,
        clock=lambda: datetime(2026, 7, 2, tzinfo=UTC),
        keys=keys,
        config=AccountingConfig(operating_model="cloud"),
    )
    with TestClient(app) as client:
        r = client.post(
            "/v1/events",
            json=[h.event(i) for i in range(5)],
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert r.status_code == 200, r.text
        meth = client.get("/v1/methodology", headers={"Authorization": f"Bearer {secret}"})
    assert any(
        m["name"] == "operating model" and m["value"] == "cloud" for m in meth.json()["items"]
    )
    rep = build_report(
        store, parse_period("2026-Q3"), generated_utc=datetime(2026, 10, 1, tzinfo=UTC)
    )
    store.close()
    s2 = {r["method"]: r["value_t"] for r in rep.table("scope2").rows}
    assert s2["location-based"] is None and s2["market-based"] is None  # no Scope 2 lines
    cat1 = [
        r
        for r in rep.table("scope3").rows
        if r["scope"] == "scope3_cat1" and r["line_item"] == "subtotal"
    ]
    assert cat1 and cat1[0]["location_basis_t"] > 0.0


def test_correction_of_an_unknown_event_is_422_not_a_retryable_503(env, h):
    """A correction (``supersedes``) naming an event that is not stored is the client's
    error: retrying cannot help, so it is 422 (not the 503 of a ledger outage); nothing of
    the batch is written."""
    evs = [h.event(0), h.event(1, event_id="fix-1", supersedes="never-stored")]
    r = env.client.post("/v1/events", json=evs, headers=env.acme)
    assert r.status_code == 422, r.text
    assert "never-stored" in r.json()["detail"] and "Retry-After" not in r.headers
    assert env.store.count("events") == 0
