"""The ledger: an append-only, auditable store of inference events, device energy readings,
grid-intensity snapshots and computed footprints.

:func:`open_store` opens the embedded DuckDB file (the default; no server) or a PostgreSQL
database (``postgresql://...``; many writers) behind one :class:`Store` interface.

>>> from datetime import UTC, datetime
>>> store = open_store(":memory:")
>>> ev = {"event_id": "e1", "start_utc": "2026-07-01T12:00:00Z",
...       "end_utc": "2026-07-01T12:00:01Z", "service": "chat", "tenant": "acme",
...       "model": "llama-3-8b", "region": "DE", "device": "gpu0", "energy_j": 120.0,
...       "attribution_method": "measured-interval"}
>>> store.append_events([ev])
AppendResult(received=1, inserted=1, duplicates=0)
>>> store.append_events([ev])  # idempotent on event_id
AppendResult(received=1, inserted=0, duplicates=1)
>>> rollup_events(store, by=["model"]).to_pylist()[0]["energy_j"]
120.0
>>> store.close()
"""

from __future__ import annotations

import os

from infercarbon.errors import (
    EventValidationError,
    LedgerConflictError,
    LedgerReferenceError,
    Problem,
)
from infercarbon.ledger.audit import Mismatch, Recompute, VerifyReport, show, verify
from infercarbon.ledger.base import SCHEMA_VERSION, AppendResult, Store, system_clock
from infercarbon.ledger.canonical import canonical_json, inputs_hash
from infercarbon.ledger.duckdb_store import DuckDBStore
from infercarbon.ledger.export import export_all, export_parquet
from infercarbon.ledger.records import (
    FootprintFigures,
    FootprintRecord,
    LineItemRecord,
    TotalRecord,
)
from infercarbon.ledger.rollup import (
    DIMENSIONS,
    PERIODS,
    rollup_events,
    rollup_footprints,
    rollup_line_items,
)
from infercarbon.timeutil import WallClockUtc

__all__ = [
    "DIMENSIONS",
    "PERIODS",
    "SCHEMA_VERSION",
    "AppendResult",
    "DuckDBStore",
    "EventValidationError",
    "FootprintFigures",
    "FootprintRecord",
    "LedgerConflictError",
    "LedgerReferenceError",
    "LineItemRecord",
    "Mismatch",
    "Problem",
    "Recompute",
    "Store",
    "TotalRecord",
    "VerifyReport",
    "canonical_json",
    "export_all",
    "export_parquet",
    "inputs_hash",
    "open_store",
    "rollup_events",
    "rollup_footprints",
    "rollup_line_items",
    "show",
    "system_clock",
    "verify",
]


def open_store(
    url_or_path: str | os.PathLike[str],
    *,
    clock: WallClockUtc = system_clock,
    memory_limit: str | None = "auto",
    rollup_lag_s: float = 0.0,
) -> Store:
    """Open (creating its tables if needed) the ledger at ``url_or_path``.

    ``postgresql://...`` or ``postgres://...`` opens a :class:`PostgresStore` (needs psycopg,
    the ``service`` extra); ``duckdb://PATH``, a plain path or ``":memory:"`` opens a
    :class:`DuckDBStore`.  ``clock`` stamps ``ingested_utc``.  ``memory_limit`` is the
    DuckDB ledger's (see :class:`DuckDBStore`; a PostgreSQL server sets its own), and so
    is ``rollup_lag_s`` (PostgreSQL keeps its rollup at ingest: never behind).
    """
    target = os.fspath(url_or_path)
    if target.startswith(("postgresql://", "postgres://")):
        from infercarbon.ledger.postgres_store import PostgresStore

        return PostgresStore(target, clock=clock)
    if target.startswith("duckdb://"):
        target = target.removeprefix("duckdb://")
    return DuckDBStore(target, clock=clock, memory_limit=memory_limit, rollup_lag_s=rollup_lag_s)
