"""The same report from a PostgreSQL ledger as from the DuckDB one (same portable SQL).

Runs against the server named by ``INFERCARBON_TEST_POSTGRES_DSN`` (``eval "$(.ci/postgres.sh)"``);
skipped, with that reason, when the variable is not set.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from infercarbon.ledger import open_store
from infercarbon.report import build_report, parse_period

DSN_VAR = "INFERCARBON_TEST_POSTGRES_DSN"
GEN = datetime(2026, 10, 3, tzinfo=UTC)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-18)
    return bool(a == b)


def test_postgres_report_equals_duckdb_report(ledger: Any, pg_schema_dsn: str) -> None:
    from infercarbon.ledger.postgres_store import PostgresStore

    pg = PostgresStore(pg_schema_dsn)
    try:
        pg.append_events(ledger.events)
        pg.append_footprints(ledger.records)
        got = build_report(pg, parse_period("2026-Q3"), generated_utc=GEN, tenant="acme")
    finally:
        pg.close()
    duck = open_store(ledger.path)
    try:
        want = build_report(duck, parse_period("2026-Q3"), generated_utc=GEN, tenant="acme")
    finally:
        duck.close()
    assert got.names == want.names
    for tg, tw in zip(got.tables, want.tables, strict=True):
        assert len(tg.rows) == len(tw.rows), tg.name
        for rg, rw in zip(tg.rows, tw.rows, strict=True):
            bad = {k: (rg.get(k), rw.get(k)) for k in rw if not _same(rg.get(k), rw.get(k))}
            assert not bad, (tg.name, bad)


def test_postgres_service_path_report_equals_duckdb(pg_schema_dsn: str) -> None:
    """Full footprints of the ingest path (compact layout): the ranged lines, idle share and
    energy cost read the same from PostgreSQL as from DuckDB."""
    from infercarbon.ledger import DuckDBStore
    from infercarbon.ledger.postgres_store import PostgresStore

    from .conftest import service_event, write_service_path

    evs = [service_event(i) for i in range(12)]
    evs += [
        service_event(50 + i, device="cpu-0", attribution_method="cpu-model:modelled")
        for i in range(3)
    ]
    period = parse_period("2026-08")
    reports = []
    for store in (PostgresStore(pg_schema_dsn), DuckDBStore(":memory:")):
        try:
            write_service_path(store, evs)
            reports.append(build_report(store, period, generated_utc=GEN))
        finally:
            store.close()
    got, want = reports
    assert got.names == want.names
    assert got.table("idle_share").rows and got.table("energy_cost").rows
    for tg, tw in zip(got.tables, want.tables, strict=True):
        assert len(tg.rows) == len(tw.rows), tg.name
        for rg, rw in zip(tg.rows, tw.rows, strict=True):
            bad = {k: (rg.get(k), rw.get(k)) for k in rw if not _same(rg.get(k), rw.get(k))}
            assert not bad, (tg.name, bad)
