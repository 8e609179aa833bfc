"""Fixtures for the ledger tests: both stores through one parametrised ``store`` fixture.

The PostgreSQL half runs against the server named by ``INFERCARBON_TEST_POSTGRES_DSN``
(``eval "$(.ci/postgres.sh)"`` installs and starts one on loopback).  When the variable is
not set, only the PostgreSQL tests are skipped, with that reason.  Each test gets its own
schema, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from infercarbon.ledger import DuckDBStore, Store
from infercarbon.ledger.compact import EventFootprintBatch
from infercarbon.ledger.records import FootprintBatch
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows

DSN_VAR = "INFERCARBON_TEST_POSTGRES_DSN"
T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)


class FixedClock:
    """A clock for ``ingested_utc`` that advances one second per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 9, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(
    backend: str, request: pytest.FixtureRequest, tmp_path: Any
) -> Iterator[Callable[[], Store]]:
    """Opens stores on one database (a second store = a second writer/connection)."""
    opened: list[Store] = []
    if backend == "postgres":
        from infercarbon.ledger.postgres_store import PostgresStore

        dsn = request.getfixturevalue("pg_schema_dsn")

        def make() -> Store:
            s = PostgresStore(dsn, clock=FixedClock())
            opened.append(s)
            return s
    else:
        path = tmp_path / "ledger.duckdb"

        def make() -> Store:
            if opened:  # DuckDB: one writer per file; share the open store
                return opened[0]
            s = DuckDBStore(path, clock=FixedClock())
            opened.append(s)
            return s

    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    return store_factory()


def make_event(i: int, **over: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "event_id": f"ev-{i:06d}",
        "start_utc": (T0 + timedelta(minutes=7 * i)).isoformat().replace("+00:00", "Z"),
        "end_utc": (T0 + timedelta(minutes=7 * i, seconds=2)).isoformat().replace("+00:00", "Z"),
        "service": ["chat", "search"][i % 2],
        "tenant": ["acme", "globex", "initech"][i % 3],
        "model": ["llama-3-8b", "resnet-50"][i % 2],
        "region": ["DE", "FR", "US-TEX-ERCO"][i % 3],
        "device": f"gpu{i % 4}",
        "energy_j": 10.0 + 0.1 * i,
        "attribution_method": "measured-interval",
        "batch_id": f"b{i // 8}",
        "tokens_in": 100 + i,
        "tokens_out": 20 + i,
        "payload_bytes": 2048,
        "outcome": "answer",
    }
    ev.update(over)
    return ev


@pytest.fixture
def events() -> Callable[..., list[dict[str, Any]]]:
    def build(n: int, start: int = 0, **over: Any) -> list[dict[str, Any]]:
        return [make_event(i, **over) for i in range(start, start + n)]

    return build


def service_batch(
    events: list[dict[str, Any]], **config: Any
) -> tuple[pa.Table, EventFootprintBatch]:
    """Validated events and their footprints as the service's ingest builds them (compact)."""
    from infercarbon.accounting.batch import AccountingConfig, compute_footprints, footprint_batch
    from infercarbon.accounting.signals import SignalBook

    table = validate_rows(EVENTS, events)
    cfg = AccountingConfig(**config)
    fps = compute_footprints(table, cfg, SignalBook())
    return table, footprint_batch(table, fps, cfg, computed_utc=datetime(2026, 9, 2, tzinfo=UTC))


def general_batch(events: list[dict[str, Any]]) -> tuple[pa.Table, FootprintBatch]:
    """The same footprints as :func:`service_batch` in the general layout (one record each)."""
    from infercarbon.accounting.batch import AccountingConfig, compute_footprints, footprint_records
    from infercarbon.accounting.signals import SignalBook

    table = validate_rows(EVENTS, events)
    cfg = AccountingConfig()
    fps = compute_footprints(table, cfg, SignalBook())
    return table, FootprintBatch.from_records(
        footprint_records(table, fps, cfg, computed_utc=datetime(2026, 9, 2, tzinfo=UTC))
    )
