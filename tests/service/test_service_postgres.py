"""The service's new reads and jobs on a real PostgreSQL ledger: full footprints with
profiles, the summary (SQL aggregates), footprint listing, the report and audit through the
server, measured idle from readings, and re-pricing."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

DSN_VAR = "INFERCARBON_TEST_POSTGRES_DSN"
PROFILE = {
    "name": "pool",
    "devices": ["gpu*"],
    "currency": "EUR",
    "idle_power_w": {"value": 60, "low": 50, "high": 75, "source": "test"},
    "utilisation_frac": {"value": 0.4, "low": 0.25, "high": 0.6, "source": "test"},
    "embodied_kg": {"value": 1500, "low": 750, "high": 3000, "source": "test"},
    "lifetime_years": {"value": 5, "low": 4, "high": 6, "source": "test"},
    "price_per_kwh": {"value": 0.2, "source": "test"},
}


def test_service_on_postgres(pg_schema_dsn: str, h: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from infercarbon.accounting.batch import AccountingConfig, figures_from_inputs
    from infercarbon.accounting.profiles import profiles_from_data
    from infercarbon.ledger import audit
    from infercarbon.ledger.postgres_store import PostgresStore
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    store = PostgresStore(pg_schema_dsn)
    try:
        keys = MemoryKeyStore()
        tok, _ = create_key(keys, tenant="acme", admin=False, clock=lambda: 0.0)
        adm, _ = create_key(keys, tenant="ops", admin=True, clock=lambda: 0.0)
        cfg = AccountingConfig(profiles=profiles_from_data({"profile": [PROFILE]}))
        app = create_app(
            store, clock=lambda: datetime(2026, 7, 2, tzinfo=UTC), keys=keys, config=cfg
        )
        c = TestClient(app, raise_server_exceptions=False)
        acme = {"Authorization": f"Bearer {tok}"}
        admin = {"Authorization": f"Bearer {adm}"}
        evs = [
            h.event(
                i,
                device="gpu0",
                start_utc=f"2026-07-01T10:{i:02d}:00Z",
                end_utc=f"2026-07-01T10:{i:02d}:01Z",
            )
            for i in range(4)
        ]
        assert c.post("/v1/events", json=evs, headers=acme).status_code == 200
        s = c.get("/v1/summary", headers=acme).json()
        loc = s["totals_g"]["location"]
        assert s["events"] == 4 and loc["low"] < loc["value"] < loc["high"]
        assert s["cost"] and s["latency_s"]["p50"] == pytest.approx(1.0)
        rows = c.get("/v1/footprints/list", headers=acme).json()["rows"]
        assert len(rows) == 4
        rep = json.loads(c.get("/v1/report?period=2026-07&format=json", headers=acme).text)
        assert any(r["line_item"] == "embodied" for r in rep["tables"]["scope3"]["rows"])
        lines = [json.loads(x) for x in c.get("/v1/audit/verify", headers=acme).text.splitlines()]
        assert lines[-1]["result"]["ok"] and lines[-1]["result"]["checked"] == 4
        readings = [
            {
                "device": "gpu0",
                "t_utc": f"2026-07-01T{hh:02d}:00:00Z",
                "power_w": 30.0,
                "source": "nvml",
                "method": "measured-power-polling",
            }
            for hh in (9, 10, 11, 12)
        ]
        r = c.post("/v1/readings", json=readings, headers=admin)
        assert r.status_code == 200 and r.json()["footprints_with_measured_idle"] == 4, r.text
        assert audit.verify(store, lambda i, v: figures_from_inputs(i), rel_tol=0.0).ok
        live = store.footprint_ids(include_superseded=False)
        assert len(live) == 4 and len(store.footprint_ids()) == 8
    finally:
        store.close()


def test_v2_postgres_ledger_upgrades_in_place(pg_schema_dsn: str) -> None:
    """A version-2 PostgreSQL ledger gains the columns and indexes of every later version."""
    import psycopg

    from infercarbon.ledger.compact import V3_NUMBERS
    from infercarbon.ledger.postgres_store import PostgresStore

    PostgresStore(pg_schema_dsn).close()
    with psycopg.connect(pg_schema_dsn, autocommit=True) as con:
        for v in (
            "all_footprints",
            "all_footprint_items",
            "all_footprint_totals",
            "all_footprint_bases",
            "all_footprint_item_deviations",
            "all_footprint_total_deviations",
        ):
            con.execute(f"DROP VIEW IF EXISTS {v}")
        con.execute("DROP INDEX IF EXISTS event_footprints_one_root_per_event")
        con.execute("DROP INDEX IF EXISTS event_footprints_superseded_once")
        for c in (*V3_NUMBERS, "supersedes", "currency"):
            con.execute(f"ALTER TABLE event_footprints DROP COLUMN {c}")
        con.execute("ALTER TABLE events DROP COLUMN energy_low_j")
        con.execute("ALTER TABLE events DROP COLUMN energy_high_j")
        con.execute(
            "CREATE UNIQUE INDEX event_footprints_one_per_event ON event_footprints (event_id)"
        )
        con.execute("UPDATE ledger_meta SET value = '2' WHERE key = 'schema_version'")
    store = PostgresStore(pg_schema_dsn)
    try:
        cols = {
            r[0]
            for r in store._fetchall(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema()",
                ["event_footprints"],
            )
        }
        assert {"supersedes", "currency", *V3_NUMBERS} <= cols
        idx = {
            r[0]
            for r in store._fetchall(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            )
        }
        # version 6: roots are one per tenant's event id
        assert "event_footprints_one_root_per_tenant_event" in idx
        assert {
            "event_footprints_one_per_event",
            "event_footprints_one_root_per_event",
            "events_corrected_once",
        }.isdisjoint(idx)
    finally:
        store.close()
