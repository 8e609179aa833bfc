"""The :class:`Store` interface and the SQL that both backends share.

A store is append-only: it has ``append_*`` and read methods, and no update or delete.  A
correction is a new row whose ``supersedes`` names the row it corrects; reads and rollups
leave superseded rows out unless asked to keep them.

Every ``append_*`` call is one transaction: either the whole batch is written or nothing is.
Appending is idempotent on the row key: a row already stored with identical content is
counted as a duplicate and skipped; the same key with different content raises
:class:`~infercarbon.ledger.schema.LedgerConflictError` naming the key, and the batch is
rolled back.  ``append_events_with_footprints`` writes a batch of events and their
footprints (Arrow tables, :class:`~infercarbon.ledger.schema.FootprintBatch`) in one
transaction, so a crash never leaves an event without its footprint.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import (
    EventValidationError,
    FootprintNotFoundError,
    InputError,
    KeyTakenError,
    LedgerConflictError,
    LedgerError,
    LedgerReferenceError,
    Problem,
)
from infercarbon.ledger.compact import (
    CONTEXT_ITEMS,
    EVENT_FOOTPRINTS,
    FOOTPRINT_CONTEXTS,
    STORAGE_TABLES,
    SUPERSEDED_FOOTPRINTS,
    EventFootprintBatch,
    compact_footprint_rows,
    live_event,
    record_from_compact,
    records_from_compact,
    same_event,
    view_sql,
)
from infercarbon.ledger.hours import (
    EVENT_DIMS,
    EVENT_HOURS,
    HOURS,
    HOURS_DIRTY,
    event_hours_rows,
    event_rebuild_sql,
    event_upsert_sql,
    footprint_hours_rows,
    hours_upsert_grouped_sql,
    rebuild_sql,
    source_columns,
)
from infercarbon.ledger.records import (
    FootprintBatch,
    FootprintFigures,
    FootprintRecord,
    LineItemRecord,
    TotalRecord,
)
from infercarbon.ledger.schema import (
    EVENTS,
    FOOTPRINT_ITEMS,
    FOOTPRINT_TOTALS,
    FOOTPRINTS,
    INTENSITY,
    READINGS,
    RUNS,
    STORAGE,
    TABLES,
    TRANSFERS,
    TS,
    Column,
    TableSpec,
)
from infercarbon.ledger.validation import ValidatedRows, validate_rows
from infercarbon.timeutil import WallClockUtc

__all__ = [
    "SCHEMA_VERSION",
    "SUPERSEDED_FOOTPRINTS",
    "AppendResult",
    "EventsAppendResult",
    "SqlStore",
    "Store",
    "live_event",
    "system_clock",
]

#: Bumped when the table layout changes; a store refuses a file of a newer version and
#: upgrades an older one in place (version 2 added the compact footprint tables and the
#: ``all_*`` views; version 3 added nullable columns: event energy bands, every line item,
#: totals and ranges of compact footprints, intensity provenance; an older ledger gains
#: the missing tables and columns on open, its rows untouched; version 4 added the hourly
#: rollup ``footprint_hours``; version 5 added the events'
#: nullable W3C trace context, ``trace_id`` and ``parent_span_id``; version 6 keyed the
#: events by (tenant, event_id): event ids are per tenant; version 7 added the programme's
#: tables: ``runs`` (training, fine-tuning, evaluation, retraining and data-pipeline runs),
#: ``storage`` (GB-months by storage class) and ``transfers`` (GB moved by network type),
#: keyed per tenant too; an older ledger gains them, empty, on open); version 8 added the
#: event rollup ``event_hours`` (live events by hour and dimensions: counts, energy, tokens,
#: first and last start), filled from the events when an older ledger is opened; version 9
#: looks compact footprints up by id through a hash index on PostgreSQL instead of a
#: b-tree primary key (the id is a SHA-256: every insert landed on a random page of a
#: b-tree three times the size; the row's subject rules keep ids unique, below).
SCHEMA_VERSION = 9
#: Versions this code upgrades on open.
_UPGRADES_FROM = ("1", "2", "3", "4", "5", "6", "7", "8")
#: The views that read both footprint layouts as one, by logical table.
VIEWS = {
    "footprints": "all_footprints",
    "footprint_items": "all_footprint_items",
    "footprint_totals": "all_footprint_totals",
}

Rows: TypeAlias = pa.Table | Sequence[Mapping[str, Any]] | ValidatedRows


def system_clock() -> datetime:
    """The wall clock in UTC: the default ``clock`` a store stamps ``ingested_utc`` with."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append did: rows received, newly written, and skipped as exact duplicates."""

    received: int
    inserted: int
    duplicates: int


@dataclass(frozen=True)
class EventsAppendResult:
    """What :meth:`Store.append_events_with_footprints` did, in one transaction.

    ``footprint_written`` has one flag per footprint row given: True where that row's
    footprint was written now (its first occurrence in the batch), False where it was a
    repeat or its event already had a footprint of the same calculator.
    """

    events: AppendResult
    footprints: AppendResult
    footprint_written: npt.NDArray[np.bool_]


@runtime_checkable
class Store(Protocol):
    """The ledger interface, implemented by the DuckDB and PostgreSQL stores."""

    url: str
    dialect: str

    def append_events(self, events: Rows) -> AppendResult: ...
    def append_readings(self, readings: Rows) -> AppendResult: ...
    def append_intensity(self, snapshots: Rows) -> AppendResult: ...
    def append_footprints(self, records: Sequence[FootprintRecord]) -> AppendResult: ...
    def append_footprint_table(
        self, batch: FootprintBatch | EventFootprintBatch
    ) -> AppendResult: ...
    def append_events_with_footprints(
        self, events: Rows, footprints: FootprintBatch | EventFootprintBatch
    ) -> EventsAppendResult: ...
    def events(
        self,
        *,
        tenant: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
        include_superseded: bool = False,
    ) -> pa.Table: ...
    def readings(
        self,
        *,
        device: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
    ) -> pa.Table: ...
    def intensity(
        self,
        *,
        region: str | None = None,
        kind: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
    ) -> pa.Table: ...
    def footprint(self, footprint_id: str, *, tenant: str | None = None) -> FootprintRecord: ...
    def footprint_ids(
        self, *, tenant: str | None = None, include_superseded: bool = True
    ) -> list[str]: ...
    def iter_footprints(
        self, *, tenant: str | None = None, page_rows: int = 20_000
    ) -> Iterator[FootprintRecord]: ...
    def count(self, table: str, *, tenant: str | None = None) -> int: ...
    def append_runs(self, runs: Rows) -> AppendResult: ...
    def append_storage(self, rows: Rows) -> AppendResult: ...
    def append_transfers(self, rows: Rows) -> AppendResult: ...
    def runs(
        self,
        *,
        tenant: str | None = None,
        model: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
        include_superseded: bool = False,
    ) -> pa.Table: ...
    def storage(self, *, tenant: str | None = None) -> pa.Table: ...
    def transfers(self, *, tenant: str | None = None) -> pa.Table: ...
    def scan(
        self, table: str, *, tenant: str | None = None, batch_rows: int = 65_536
    ) -> Iterator[pa.RecordBatch]: ...
    def query_arrow(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table: ...
    def hours_ready(self, *, max_lag_s: float | None = None) -> None: ...
    def data_version(self) -> str | None: ...
    def setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def _ts_param(t: datetime | None, name: str) -> datetime | None:
    if t is None:
        return None
    if not isinstance(t, datetime) or t.utcoffset() is None:
        raise InputError("must be a timezone-aware datetime (UTC)", field=name)
    return t.astimezone(UTC)


def _conflict_sql(spec: TableSpec, stage: str, compare: Sequence[str]) -> str:
    on = " AND ".join(f"s.{k} = t.{k}" for k in spec.key)
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM t.{c}" for c in compare)
    keys = ", ".join(f"s.{k}" for k in spec.key)
    return f"SELECT {keys} FROM {stage} s JOIN {spec.name} t ON {on} WHERE {differs} LIMIT 10"


def _per_tenant_id(spec: TableSpec) -> str | None:
    """The id column of a table keyed (tenant, id): events and runs, storage and transfer
    records; their ids are the tenant's own (None for other tables)."""
    key = spec.key
    return key[1] if len(key) == 2 and key[0] == "tenant" else None


def _fmt_key(row: Sequence[Any], spec: TableSpec | None = None) -> str:
    if spec is not None and _per_tenant_id(spec) is not None:
        return str(row[1])  # the id is the sender's tenant's: name the id alone
    return str(row[0]) if len(row) == 1 else "(" + ", ".join(str(v) for v in row) + ")"


class SqlStore(ABC):
    """Shared logic over a SQL backend; subclasses supply connection primitives.

    Placeholders are ``%s`` in every statement here; the DuckDB store rewrites them.
    """

    url: str
    dialect: str

    def __init__(self, clock: WallClockUtc) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        # ids of compact-footprint contexts this store has seen committed: contexts are
        # content-addressed and never deleted, so a known one need not be sent again
        self._contexts_stored: set[str] = set()
        # one fold of the hourly rollup at a time (a backend that folds beside the writer)
        self._fold_lock = threading.Lock()

    # ---------------------------------------------------------------- primitives
    @abstractmethod
    def _tx(self) -> AbstractContextManager[None]:
        """Hold the store lock and run the block in one transaction; wrap driver errors."""

    @abstractmethod
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _arrow(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table: ...

    @abstractmethod
    def _batches(
        self, sql: str, params: Sequence[Any], schema: pa.Schema, batch_rows: int
    ) -> Iterator[pa.RecordBatch]: ...

    @abstractmethod
    def _stage(self, name: str, spec: TableSpec, table: pa.Table) -> None:
        """Make ``table`` (``spec.stored_schema``) queryable as ``name`` inside the tx."""

    @abstractmethod
    def _unstage(self, name: str) -> None: ...

    @abstractmethod
    def _insert_new(self, spec: TableSpec, stage: str) -> int:
        """Insert the staged rows whose key is not stored yet; return how many."""

    @abstractmethod
    def _insert_all(self, spec: TableSpec, stage: str) -> int:
        """Insert every staged row (their keys are new: a stored key is a conflict error)."""

    def _insert_rows(self, spec: TableSpec, rows: pa.Table) -> int:
        """Insert ``rows`` (``spec.stored_schema``) whose keys are new, inside the tx (a
        stored key is a KeyTakenError).  Stages them; a backend may do it more directly."""
        stage = f"stage_{spec.name}"
        self._stage(stage, spec, rows)
        try:
            return self._insert_all(spec, stage)
        finally:
            self._unstage(stage)

    @abstractmethod
    def _insert_new_returning(self, spec: TableSpec, stage: str) -> list[str]:
        """Insert the staged rows whose (single-column) key is not stored yet; return the
        keys inserted."""

    @abstractmethod
    def _ddl_extra(self) -> list[str]:
        """Backend-specific indexes run after the tables are created."""

    def _ddl_lock_sql(self) -> str | None:
        """A statement that serialises concurrent schema creation (PostgreSQL)."""
        return None

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def query_arrow(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        """Run a read-only SELECT (``%s`` placeholders) and cast the result to ``schema``."""
        with self._lock:
            return self._arrow(sql, params, schema)

    # -------------------------------------------------------------------- schema
    #: Whether a new ledger declares the keys of ``footprint_items``/``footprint_totals``
    #: (a unique index).  Their rows are written only together with a footprint inserted in
    #: the same transaction (:meth:`_write_footprints` inserts the children of the
    #: footprints its insert returned), so the key is unique by construction; a backend
    #: where the index costs more than it protects turns it off (DuckDB).  Ledgers of both
    #: layouts are read and written the same way.
    _child_keys_unique = True
    #: Tables a new ledger creates without a primary key even so (the backend indexes
    #: them in :meth:`_ddl_extra`).
    _unkeyed_tables: tuple[TableSpec, ...] = ()

    def _create_schema(self) -> None:
        """Create the ledger's tables and views, or upgrade an older ledger in place, in one
        transaction; refuse a ledger of a version this code does not read."""
        with self._tx():
            if (lock := self._ddl_lock_sql()) is not None:
                self._exec(lock)
            stored = self._stored_version()
            if stored is not None and stored not in (str(SCHEMA_VERSION), *_UPGRADES_FROM):
                raise LedgerError(
                    f"{self.url}: ledger schema version {stored}, this "
                    f"infercarbon reads and writes version {SCHEMA_VERSION}"
                    " (and upgrades older ones)"
                )
            old = None if stored is None else int(stored)  # an older ledger's version
            for s in self._create_tables_sql():
                self._exec(s)
            if old is not None and old < SCHEMA_VERSION:
                for s in self._missing_columns_sql():
                    self._exec(s)
            if old is not None and old < 6:  # version 6: event ids are per tenant
                for s in self._rekey_events_sql():
                    self._exec(s)
            if old is not None and old < 9:  # version 9: the backend's own key changes
                for s in self._upgrade_keys_sql():
                    self._exec(s)
            for s in [*self._ddl_extra(), *view_sql(self.dialect)]:
                self._exec(s)  # indexes may name columns an upgrade adds
            if old is not None:
                self._fill_rollups(old)
            if old is None:
                self._exec(
                    "INSERT INTO ledger_meta VALUES (%s, %s)",
                    ["schema_version", str(SCHEMA_VERSION)],
                )
            elif old < SCHEMA_VERSION:
                self._exec(
                    "UPDATE ledger_meta SET value = %s WHERE key = %s",
                    [str(SCHEMA_VERSION), "schema_version"],
                )

    def _create_tables_sql(self) -> list[str]:
        """``CREATE TABLE IF NOT EXISTS`` for the meta table and every table of the code."""
        stmts = [
            "CREATE TABLE IF NOT EXISTS ledger_meta (key VARCHAR PRIMARY KEY, "
            "value VARCHAR NOT NULL)"
        ]
        unkeyed = (
            self._unkeyed_tables
            if self._child_keys_unique
            else (FOOTPRINT_ITEMS, FOOTPRINT_TOTALS, CONTEXT_ITEMS, EVENT_FOOTPRINTS)
        )
        for spec in (*TABLES.values(), *STORAGE_TABLES, HOURS, EVENT_HOURS, HOURS_DIRTY):
            # the pairs of HOURS_DIRTY may repeat
            keyed = spec not in unkeyed and spec is not HOURS_DIRTY
            stmts.append(
                f"CREATE TABLE IF NOT EXISTS {spec.name} ({self._columns_ddl(spec, keyed)})"
            )
        return stmts

    def _fill_rollups(self, old: int) -> None:
        """Inside a transaction (the schema's, of a ledger of version ``old``; 0: every
        rollup): fill the rollups it did not keep from its rows (version 4: the hourly
        footprint rollup; version 8: the event rollup), each up to the high-water mark a
        later fold starts from."""
        if old < 4:
            top = self._hours_top()
            for s in rebuild_sql(None, top):
                self._exec(s)
            self._set_hours_mark(top)
        if old < 8:
            etop = self._event_hours_top()
            for s in event_rebuild_sql(None, etop):
                self._exec(s)
            self._set_event_hours_mark(etop)

    def load_rows(
        self,
        tables: Mapping[str, pa.Table],
        *,
        streams: Mapping[str, Iterable[pa.Table]] | None = None,
        if_new: Mapping[str, pa.Table] | None = None,
    ) -> dict[str, int]:
        """Bulk-load stored rows (``table name -> rows`` in the table's stored schema, as an
        export or the lake's ledger tables hold them) into this ledger in one transaction,
        then rebuild the hourly rollups from what it holds.  ``streams``: table name ->
        batches of rows, loaded one batch at a time (a scan's batches: the table is never
        whole in memory); ``if_new``: table name -> rows loaded after those, each only
        where its key is not loaded yet (a period's corrections, which its scan may hold
        already).  Returns the rows each table holds.  The rows were validated when they
        were first written: nothing is checked again, so load only into a new ledger
        built as a read-only snapshot (``report --catalog``, ``serve --catalog``)."""
        counts: dict[str, int] = {}
        with self._tx():
            for name, rows in tables.items():
                spec = _spec(name)
                counts[name] = self._insert_rows(spec, rows.select(list(spec.read_schema.names)))
            for name, batches in (streams or {}).items():
                spec = _spec(name)
                cols = list(spec.read_schema.names)
                counts[name] = sum(self._insert_rows(spec, b.select(cols)) for b in batches)
            for name, rows in (if_new or {}).items():
                spec = _spec(name)
                self._insert_if_new(spec, rows.select(list(spec.read_schema.names)))
                counts[name] = int(self._fetchall(f"SELECT count(*) FROM {spec.name}")[0][0])
            self._fill_rollups(0)  # every rollup, from the rows loaded
        return counts

    def _insert_if_new(self, spec: TableSpec, rows: pa.Table) -> None:
        """Insert the rows whose key (``spec.key``) no stored row has, inside the tx (an
        anti-join: the snapshot's tables need not be keyed)."""
        stage = f"stage_new_{spec.name}"
        self._stage(stage, spec, rows)
        try:
            cols = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
            match = " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
            self._exec(
                f"INSERT INTO {spec.name} ({cols}) SELECT {cols} FROM {stage} s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {spec.name} t WHERE {match})"
            )
        finally:
            self._unstage(stage)

    def _stored_version(self) -> str | None:
        """The schema version the ledger records (None: a new database, no ledger yet)."""
        if not self._has_meta():
            return None
        rows = self._fetchall("SELECT value FROM ledger_meta WHERE key = %s", ["schema_version"])
        return str(rows[0][0]) if rows else None

    def _columns_ddl(self, spec: TableSpec, keyed: bool) -> str:
        """The column list of ``CREATE TABLE`` for ``spec`` (with its primary key if
        ``keyed``)."""
        cols = [
            f"{c.name} {c.sql_type(self.dialect)}{' NOT NULL' if c.required else ''}"
            for c in spec.columns
        ]
        if spec.ingested:
            cols.append("ingested_utc TIMESTAMPTZ NOT NULL")
        if keyed:
            cols.append(f"PRIMARY KEY ({', '.join(spec.key)})")
        return ", ".join(cols)

    def _rekey_events_sql(self) -> list[str]:
        """Upgrade to version 6, inside the schema transaction: the events' primary key
        becomes (tenant, event_id).  A backend that can swap a table's key in place does
        (PostgreSQL); the per-tenant unique indexes follow in :meth:`_ddl_extra`."""
        return [
            "ALTER TABLE events DROP CONSTRAINT IF EXISTS events_pkey",
            f"ALTER TABLE events ADD PRIMARY KEY ({', '.join(EVENTS.key)})",
        ]

    def _upgrade_keys_sql(self) -> list[str]:
        """Upgrade to version 9, inside the schema transaction: drop the primary keys a
        backend no longer keeps (:attr:`_unkeyed_tables`; their indexes follow in
        :meth:`_ddl_extra`)."""
        return [
            f"ALTER TABLE {spec.name} DROP CONSTRAINT IF EXISTS {spec.name}_pkey"
            for spec in self._unkeyed_tables
        ]

    def _missing_columns_sql(self) -> list[str]:
        """``ALTER TABLE ... ADD COLUMN`` for every column of the code's tables that an older
        ledger lacks (upgrade in place: every column added since version 2 is nullable, so
        the stored rows stay as they are and read as null there)."""
        out = []
        for spec in (*TABLES.values(), *STORAGE_TABLES):
            have = {
                r[0]
                for r in self._fetchall(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                    "AND table_schema = current_schema()",
                    [spec.name],
                )
            }
            for c in spec.columns:
                if c.name not in have:
                    if c.required:
                        raise LedgerError(
                            f"{self.url}: cannot upgrade: {spec.name}.{c.name} "
                            "is required and the ledger lacks it"
                        )
                    out.append(
                        f"ALTER TABLE {spec.name} ADD COLUMN {c.name} {c.sql_type(self.dialect)}"
                    )
        return out

    #: ``ledger_meta`` keys a caller may set (the schema version is the store's own).
    SETTINGS = ("profiles", "programme_estimate")

    def setting(self, key: str) -> str | None:
        """A stored setting of the service (e.g. ``profiles``: the deployment profiles last
        set through ``PUT /v1/profiles``), or None."""
        if key not in self.SETTINGS:
            raise InputError(
                f"unknown setting {key!r}; settings: {', '.join(self.SETTINGS)}", field="key"
            )
        with self._lock:
            rows = self._fetchall("SELECT value FROM ledger_meta WHERE key = %s", [key])
        return str(rows[0][0]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        """Store a setting (replacing the previous value; one transaction)."""
        if key not in self.SETTINGS:
            raise InputError(
                f"unknown setting {key!r}; settings: {', '.join(self.SETTINGS)}", field="key"
            )
        with self._tx():
            self._exec("DELETE FROM ledger_meta WHERE key = %s", [key])
            self._exec("INSERT INTO ledger_meta VALUES (%s, %s)", [key, value])

    def _has_meta(self) -> bool:
        """Whether the ledger_meta table exists (a ledger, not an empty database)."""
        return bool(
            self._fetchall(
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'ledger_meta' "
                "AND table_schema = current_schema()"
            )
        )

    # -------------------------------------------------------------------- append
    def _stamp(self, spec: TableSpec, table: pa.Table) -> pa.Table:
        if not spec.ingested:
            return table
        now = self._clock()
        if not isinstance(now, datetime) or now.utcoffset() is None:
            raise LedgerError("the store's clock must return a timezone-aware datetime")
        col = pa.repeat(pa.scalar(now.astimezone(UTC), TS), table.num_rows)
        return table.append_column(pa.field("ingested_utc", TS, nullable=False), col)

    @staticmethod
    def _dedupe(spec: TableSpec, table: pa.Table) -> pa.Table:
        """Drop exact repeats inside the batch; a repeated key with other content conflicts."""
        if table.num_rows == 0:
            return table
        keys = list(spec.key)
        if pc.count_distinct(table.column(keys[-1])).as_py() == table.num_rows:
            return table  # no key repeats, even in its last column alone (the usual case)
        nkeys = table.group_by(keys).aggregate([]).num_rows
        if nkeys == table.num_rows:
            return table
        distinct = table.group_by(table.column_names).aggregate([])
        distinct = distinct.select(table.column_names)
        if distinct.num_rows != nkeys:
            counts = distinct.group_by(keys).aggregate([([], "count_all")])
            bad = counts.filter(pc.greater(counts["count_all"], 1)).select(keys)
            ids = [_fmt_key(r, spec) for r in zip(*(bad[k].to_pylist() for k in keys), strict=True)]
            raise LedgerConflictError(
                spec.row, ids, "the id is repeated in the batch with different content"
            )
        return distinct.cast(table.schema)

    def _append(
        self,
        spec: TableSpec,
        rows: Rows,
        checks: Callable[[str], None] | None = None,
        after: Callable[[str], None] | None = None,
    ) -> AppendResult:
        table = validate_rows(spec, rows)
        received = table.num_rows
        table = self._dedupe(spec, table)
        if table.num_rows == 0:
            return AppendResult(received, 0, received)
        staged = self._stamp(spec, table)
        with self._tx():
            stage = f"stage_{spec.name}"
            self._stage(stage, spec, staged)
            try:
                if checks is not None:
                    checks(stage)
                inserted = self._insert_new(spec, stage)
                self._raise_conflicts(spec, stage, spec.names)
                if after is not None:
                    after(stage)
            finally:
                self._unstage(stage)
        return AppendResult(received, inserted, received - inserted)

    def _raise_conflicts(self, spec: TableSpec, stage: str, compare: Sequence[str]) -> None:
        bad = self._fetchall(_conflict_sql(spec, stage, compare))
        if bad:
            raise LedgerConflictError(spec.row, [_fmt_key(r, spec) for r in bad])

    def append_events(self, events: Rows) -> AppendResult:
        """Append inference events (list of dicts or an Arrow table), all or nothing."""
        return self._append(EVENTS, events, self._check_new_events, after=self._corrected_hours)

    def _check_new_events(self, stage: str) -> None:
        """Before staged events are inserted: their corrections are checked and the new ones
        are added to the event rollup (where the backend keeps it at ingest)."""
        self._check_event_corrections(stage)
        self._add_new_event_hours(stage)

    def _corrected_hours(self, stage: str) -> None:
        """Inside the tx, after staged events were inserted: the hours of the events they
        correct no longer count those events' footprints."""
        self._refresh_hours(
            f"(SELECT date_trunc('hour', e.start_utc) AS hour_utc, e.tenant FROM events e "
            f"WHERE (e.tenant, e.event_id) IN (SELECT tenant, supersedes FROM {stage} "
            "WHERE supersedes IS NOT NULL))"
        )

    def append_readings(self, readings: Rows) -> AppendResult:
        """Append device energy readings, all or nothing."""
        return self._append(READINGS, readings)

    def append_intensity(self, snapshots: Rows) -> AppendResult:
        """Append grid-intensity snapshots, all or nothing."""
        return self._append(INTENSITY, snapshots)

    def _check_event_corrections(self, stage: str) -> None:
        """A correction names a stored (or same-batch) event of its tenant, corrected once."""
        every = (
            f"(SELECT event_id, tenant, supersedes FROM events UNION ALL "
            f"SELECT s.event_id, s.tenant, s.supersedes FROM {stage} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM events e WHERE {same_event('e', 's')}))"
        )
        missing = self._fetchall(
            f"SELECT s.event_id, s.supersedes FROM {stage} s LEFT JOIN {every} a "
            "ON a.event_id = s.supersedes AND a.tenant = s.tenant "
            "WHERE s.supersedes IS NOT NULL AND a.event_id IS NULL LIMIT 10"
        )
        if missing:
            eid, sup = missing[0]
            raise LedgerReferenceError(
                f"events: event {eid!r} supersedes {sup!r}, which is not a stored event of the "
                "same tenant; nothing from this batch was written"
            )
        twice = self._fetchall(
            f"SELECT supersedes FROM {every} a WHERE (tenant, supersedes) IN "
            f"(SELECT tenant, supersedes FROM {stage}) GROUP BY tenant, supersedes "
            "HAVING count(*) > 1 LIMIT 10"
        )
        if twice:
            raise LedgerConflictError(
                "events",
                [r[0] for r in twice],
                "an event can be corrected only once; correct the latest correction instead",
            )

    # ----------------------------------------------------------------- footprints
    def append_footprints(self, records: Sequence[FootprintRecord]) -> AppendResult:
        """Append computed footprints with their line items and totals, all or nothing."""
        return self.append_footprint_table(FootprintBatch.from_records(list(records)))

    def append_footprint_table(self, batch: FootprintBatch | EventFootprintBatch) -> AppendResult:
        """Append a batch of footprints given as Arrow tables (:func:`build_footprints`, or
        compact per-event footprints: :func:`~infercarbon.ledger.compact.build_event_footprints`),
        all or nothing, with the same rules as :meth:`append_footprints`."""
        if not isinstance(batch, FootprintBatch | EventFootprintBatch):
            raise InputError(
                f"expected a FootprintBatch, got {type(batch).__name__}", field="footprints"
            )
        batch.check()
        received = batch.num_rows
        if received == 0:
            return AppendResult(0, 0, 0)
        fresh: set[str] = set()
        with self._tx():
            if isinstance(batch, EventFootprintBatch):
                inserted = self._write_compact(batch, fresh)
            else:
                inserted = self._write_footprints(batch)
            if inserted:
                self._refresh_footprint_hours(batch.footprints)
        self._contexts_stored |= fresh
        return AppendResult(received, inserted, received - inserted)

    def _write_footprints(self, batch: FootprintBatch) -> int:
        """Inside a transaction: dedupe, check and insert footprints whose id is new."""
        fp = self._dedupe(FOOTPRINTS, batch.footprints)
        if fp.num_rows == 0:
            return 0
        compact = self._stored_compact(fp)
        if compact.any():
            fp = fp.filter(pa.array(~compact))
            if fp.num_rows == 0:
                return 0
        items = self._dedupe(FOOTPRINT_ITEMS, batch.items)
        totals = self._dedupe(FOOTPRINT_TOTALS, batch.totals)
        stage = "stage_footprints"
        self._stage(stage, FOOTPRINTS, self._stamp(FOOTPRINTS, fp))
        try:
            self._check_footprint_subjects(stage)
            new_ids = self._insert_new_returning(FOOTPRINTS, stage)
            self._raise_conflicts(FOOTPRINTS, stage, ("record_hash",))
        finally:
            self._unstage(stage)
        if not new_ids:
            return 0
        # the line items and totals of the footprints inserted now, and only those: a
        # footprint already stored keeps the children it was stored with
        fresh = pa.array(new_ids, pa.string())
        for spec, rows in ((FOOTPRINT_ITEMS, items), (FOOTPRINT_TOTALS, totals)):
            rows = rows.filter(pc.is_in(rows.column("footprint_id"), value_set=fresh))
            if rows.num_rows:
                self._stage(f"stage_{spec.name}", spec, rows)
                try:
                    self._insert_all(spec, f"stage_{spec.name}")
                finally:
                    self._unstage(f"stage_{spec.name}")
        return len(new_ids)

    def _stored_compact(self, fp: pa.Table) -> npt.NDArray[np.bool_]:
        """Per footprint row (general layout): True where the same id is stored compactly
        with the same content (a duplicate); a different content is a conflict."""
        hit = np.zeros(fp.num_rows, dtype=bool)
        ids = pa.table({"footprint_id": fp.column("footprint_id")})
        stored = self._arrow_in(
            "SELECT footprint_id FROM event_footprints WHERE footprint_id "
            "IN (SELECT footprint_id FROM {keys})",
            ids,
            pa.schema([pa.field("footprint_id", pa.string())]),
        )
        if stored.num_rows == 0:
            return hit
        known = set(stored.column("footprint_id").to_pylist())
        bad = []
        for i, (fid, rh) in enumerate(
            zip(
                fp.column("footprint_id").to_pylist(),
                fp.column("record_hash").to_pylist(),
                strict=True,
            )
        ):
            if fid in known:
                hit[i] = True
                if self._compact_record(fid, None).record_hash() != rh:
                    bad.append(fid)
        if bad:
            raise LedgerConflictError("footprints", bad)
        return hit

    def append_events_with_footprints(
        self, events: Rows, footprints: FootprintBatch | EventFootprintBatch
    ) -> EventsAppendResult:
        """Append events and their footprints in ONE transaction: all or nothing.

        Every footprint must be of an event of this batch (same tenant).  Events follow
        :meth:`append_events`.  A footprint is written unless its event already has a
        footprint of the same calculator (that one stands: re-sending an event never
        recomputes it); footprints follow :meth:`append_footprints` otherwise.

        When every event is new (the usual case) nothing stored can clash, so the rows go in
        with plain inserts and no lookups against the stored tables: a batch without
        corrections is first tried that way, and when an event id turns out to be stored
        (the insert hits the key: :class:`KeyTakenError`) that transaction rolls back and the
        batch runs again with the full checks.
        """
        table = validate_rows(EVENTS, events)
        if not isinstance(footprints, FootprintBatch | EventFootprintBatch):
            raise InputError(
                f"expected a FootprintBatch, got {type(footprints).__name__}", field="footprints"
            )
        footprints.check()
        compact = isinstance(footprints, EventFootprintBatch)
        fp = footprints.footprints
        _check_same_batch(table, fp)
        received = table.num_rows
        n_fp = fp.num_rows
        if received == 0:
            return EventsAppendResult(
                AppendResult(0, 0, 0), AppendResult(n_fp, 0, n_fp), np.zeros(n_fp, dtype=bool)
            )
        ev = self._dedupe(EVENTS, table)
        first = _first_occurrence(fp.column("footprint_id"))
        corrections = ev.column("supersedes").null_count < ev.num_rows
        fp_corrections = (not compact) and fp.column("supersedes").null_count < n_fp
        fresh: set[str] = set()
        if not corrections and not fp_corrections:
            try:
                fp_inserted = self._append_all_new(ev, footprints.filter(first), fresh)
            except KeyTakenError:
                fresh = set()  # some event is stored: the full checks below
            else:
                self._contexts_stored |= fresh
                return EventsAppendResult(
                    AppendResult(received, ev.num_rows, received - ev.num_rows),
                    AppendResult(n_fp, fp_inserted, n_fp - fp_inserted),
                    first,
                )
        with self._tx():
            stage = "stage_events"
            self._stage(stage, EVENTS, self._stamp(EVENTS, ev))
            try:
                if corrections:
                    self._check_event_corrections(stage)
                self._add_new_event_hours(stage)
                inserted = self._insert_new(EVENTS, stage)
                all_new = inserted == ev.num_rows
                if not all_new:
                    self._raise_conflicts(EVENTS, stage, EVENTS.names)
            finally:
                self._unstage(stage)
            if all_new and not fp_corrections:
                written = first
                if isinstance(footprints, EventFootprintBatch):
                    fp_inserted = self._insert_compact(footprints.filter(first), fresh, ev)
                else:
                    fp_inserted = self._insert_new_footprints(footprints.filter(first))
            else:
                calc = (
                    footprints.calculators()
                    if isinstance(footprints, EventFootprintBatch)
                    else fp.column("calculator")
                )
                keep = self._without_stored_calculator(
                    fp.column("tenant"), fp.column("event_id"), calc
                )
                written = first & keep
                if not keep.any():
                    fp_inserted = 0
                elif isinstance(footprints, EventFootprintBatch):
                    fp_inserted = self._write_compact(footprints.filter(keep), fresh)
                else:
                    fp_inserted = self._write_footprints(footprints.filter(keep))
            self._refresh_footprint_hours(fp, ev)
        self._contexts_stored |= fresh
        return EventsAppendResult(
            AppendResult(received, inserted, received - inserted),
            AppendResult(n_fp, fp_inserted, n_fp - fp_inserted),
            written,
        )

    def _append_all_new(
        self, ev: pa.Table, footprints: FootprintBatch | EventFootprintBatch, fresh: set[str]
    ) -> int:
        """One transaction of plain inserts for events that are all new (no corrections);
        raises KeyTakenError (and writes nothing) when one is stored already."""
        with self._tx():
            self._insert_rows(EVENTS, self._stamp(EVENTS, ev))
            self._add_event_hours(ev)
            if isinstance(footprints, EventFootprintBatch):
                return self._insert_compact(footprints, fresh, ev)
            return self._insert_new_footprints(footprints)

    # ------------------------------------------------------------ hourly rollup
    #: Whether ingest adds new compact footprints to the hourly rollup in its own
    #: transaction (else the next read folds them in: :meth:`hours_ready`).
    _hours_at_ingest = True

    def _hours_top(self) -> int | None:
        """The high-water mark of ``event_footprints`` a fold reaches now (None: the
        backend keeps the rollup at ingest)."""
        return None

    def _set_hours_mark(self, mark: int | None, key: str = "hours_folded_rowid") -> None:
        if mark is not None:
            self._exec("DELETE FROM ledger_meta WHERE key = %s", [key])
            self._exec("INSERT INTO ledger_meta VALUES (%s, %s)", [key, str(mark)])

    def _event_hours_top(self) -> int | None:
        """The high-water mark of ``events`` a fold of the event rollup reaches now (None:
        the backend keeps it at ingest)."""
        return None

    def _set_event_hours_mark(self, mark: int | None) -> None:
        self._set_hours_mark(mark, "event_hours_folded_rowid")

    def _add_event_hours(self, events: pa.Table) -> None:
        """Inside the tx, on a backend that keeps the rollups at ingest: add ``events`` (all
        new and live, just inserted) to the event rollup, summed per hour and dimensions
        first (a batch is a few rollup rows)."""
        if not self._hours_at_ingest or events.num_rows == 0:
            return
        self._upsert_rows(
            EVENT_HOURS,
            event_hours_rows(events),
            lambda source: event_upsert_sql(source, grouped=True),
        )

    def _upsert_rows(self, spec: TableSpec, rows: pa.Table, sql: Callable[[str], str]) -> None:
        """Inside the tx: run ``sql(source)`` (an upsert) over ``rows`` (``spec``'s columns),
        a few rollup rows.  Stages them; a backend may send them more directly."""
        stage = f"stage_{spec.name}"
        self._stage(stage, spec, rows)
        try:
            self._exec(sql(stage))
        finally:
            self._unstage(stage)

    def _add_new_event_hours(self, stage: str) -> None:
        """Inside the tx, before the staged events are inserted (a backend that keeps the
        rollups at ingest): add those not stored yet to the event rollup (a resent event is
        counted once; a batch that conflicts rolls back with it)."""
        if self._hours_at_ingest:
            self._exec(
                event_upsert_sql(
                    f"(SELECT s.* FROM {stage} s WHERE NOT EXISTS "
                    f"(SELECT 1 FROM events x WHERE {same_event('x', 's')}))"
                )
            )

    def data_version(self) -> str | None:
        """A token that is the same for two calls only if no write was committed to the
        ledger in between (then every read answers the same), taken before the reads it
        keys; None where the backend cannot tell (callers then never share a result)."""
        return None

    def hours_ready(self, *, max_lag_s: float | None = None) -> None:
        """Make the hourly rollup (``footprint_hours``) hold every stored row before it is
        read: a backend that does not keep it at ingest folds in what was written since
        (DuckDB; ``max_lag_s``: unless a fold began less than that many seconds ago, by
        default the store's ``rollup_lag_s``).  Call before reading the rollup."""
        return  # kept at ingest: nothing to fold

    def _add_hours(self, rows: pa.Table, events: pa.Table | None) -> None:
        """Inside the tx: add new compact footprint ``rows`` (superseding nothing) to the
        hourly rollup (a backend that keeps it at ingest).  ``events``: theirs, all new and
        live in this transaction; None: the stored live events are looked up (a footprint
        of a corrected event is not counted)."""
        if rows.num_rows == 0 or not self._hours_at_ingest:
            return
        if events is None:
            keys = pa.table({"key": pc.unique(rows.column("event_id"))})
            events = self._arrow_in(
                f"SELECT event_id, tenant, {', '.join(EVENT_DIMS)} FROM events WHERE "
                "event_id IN (SELECT key FROM {keys}) AND " + live_event(),
                keys,
                pa.schema(
                    [EVENTS.arrow_schema.field(c) for c in ("event_id", "tenant", *EVENT_DIMS)]
                ),
            )
        dims = events.select(["event_id", "tenant", *EVENT_DIMS])
        if (
            rows.num_rows == dims.num_rows
            and rows.column("event_id").equals(dims.column("event_id"))
            and rows.column("tenant").equals(dims.column("tenant"))
        ):
            src = rows.select(source_columns())
            for d in EVENT_DIMS:  # one footprint per event, in order (as ingest builds them)
                src = src.append_column(d, dims.column(d))
        else:
            src = rows.select(source_columns()).join(dims, ["event_id", "tenant"])
        self._upsert_hours(src)

    def _upsert_hours(self, source: pa.Table) -> None:
        """Inside the tx: add the sums of ``source`` (:func:`hours.source_columns` and the
        events' dimensions) to the rollup: summed per rollup key in Arrow first (a batch is
        a few rollup rows), then one upsert of those rows."""
        self._upsert_rows(HOURS, footprint_hours_rows(source), hours_upsert_grouped_sql)

    def _refresh_footprint_hours(self, rows: pa.Table, events: pa.Table | None = None) -> None:
        """Inside the tx, after writes that supersede (a recomputation, a correction):
        rebuild the rollup's hours of the superseding footprint rows and of the footprints
        and events they supersede (what is live there changed).  Writes that supersede
        nothing were added as they were inserted (:meth:`_insert_compact`)."""
        parts = []
        if "supersedes" in rows.column_names and rows.column("supersedes").null_count < len(rows):
            again = rows.filter(pc.is_valid(rows.column("supersedes")))
            if "period_start_utc" in again.column_names:
                parts.append(
                    pa.table(
                        {
                            "hour_utc": pc.floor_temporal(
                                again.column("period_start_utc"), unit="hour"
                            ),
                            "tenant": again.column("tenant"),
                        }
                    )
                )
        sup = [
            *(
                rows.column("supersedes").drop_null().to_pylist()
                if "supersedes" in rows.column_names
                else []
            ),
            *(events.column("supersedes").drop_null().to_pylist() if events is not None else []),
        ]
        if sup:
            keys = pa.table({"key": pa.array(sorted(set(sup)), pa.string())})
            found = self._arrow_in(
                "SELECT date_trunc('hour', f.period_start_utc) AS hour_utc, f.tenant "
                "FROM all_footprints f WHERE f.footprint_id IN (SELECT key FROM {keys}) "
                "AND f.period_start_utc IS NOT NULL UNION SELECT date_trunc('hour', "
                "e.start_utc), e.tenant FROM events e WHERE e.event_id IN "
                "(SELECT key FROM {keys})",
                keys,
                pa.schema([pa.field("hour_utc", TS), pa.field("tenant", pa.string())]),
            )
            parts.append(found)
        if not parts:
            return
        pairs = (
            pa.concat_tables(
                [
                    p.cast(pa.schema([pa.field("hour_utc", TS), pa.field("tenant", pa.string())]))
                    for p in parts
                ]
            )
            .group_by(["hour_utc", "tenant"])
            .aggregate([])
        )
        self._refresh_hours_of(pairs)

    def _refresh_hours_of(self, pairs: pa.Table) -> None:
        """Inside the tx: rebuild the rollup rows of the (hour_utc, tenant) ``pairs`` (a
        backend that folds later records them for its next fold)."""
        if pairs.num_rows == 0:
            return
        if not self._hours_at_ingest:
            self._insert_rows(HOURS_DIRTY, pairs.select(["hour_utc", "tenant"]))
            return
        spec = TableSpec(
            "stage_hour_keys",
            "hours",
            (Column("hour_utc", TS), Column("tenant", pa.string())),
            key=("hour_utc", "tenant"),
            ingested=False,
        )
        self._stage("stage_hour_keys", spec, pairs)
        try:
            for sql in (*rebuild_sql("stage_hour_keys"), *event_rebuild_sql("stage_hour_keys")):
                self._exec(sql)
        finally:
            self._unstage("stage_hour_keys")

    def _refresh_hours(self, pairs_sql: str) -> None:
        """Inside the tx: rebuild the rollup rows of the (hour_utc, tenant) pairs a query
        gives (``pairs_sql``: a parenthesised SELECT)."""
        pairs = self._arrow(
            f"SELECT DISTINCT hour_utc, tenant FROM {pairs_sql} p",
            [],
            pa.schema([pa.field("hour_utc", TS), pa.field("tenant", pa.string())]),
        )
        self._refresh_hours_of(pairs)

    def _insert_new_footprints(self, batch: FootprintBatch) -> int:
        """Footprints of events first stored in this transaction: no stored row can clash
        (a footprint needs its event), so they go in with plain inserts."""
        if batch.num_rows == 0:
            return 0
        _check_one_root(batch.footprints)
        names = ("stage_footprints", "stage_footprint_items", "stage_footprint_totals")
        self._stage(names[0], FOOTPRINTS, self._stamp(FOOTPRINTS, batch.footprints))
        self._stage(names[1], FOOTPRINT_ITEMS, self._dedupe(FOOTPRINT_ITEMS, batch.items))
        self._stage(names[2], FOOTPRINT_TOTALS, self._dedupe(FOOTPRINT_TOTALS, batch.totals))
        try:
            inserted = self._insert_all(FOOTPRINTS, names[0])
            self._insert_all(FOOTPRINT_ITEMS, names[1])
            self._insert_all(FOOTPRINT_TOTALS, names[2])
        finally:
            for n in names:
                self._unstage(n)
        return inserted

    def _without_stored_calculator(
        self,
        tenant: pa.ChunkedArray | pa.Array,
        event_id: pa.ChunkedArray | pa.Array,
        calculator: pa.ChunkedArray | pa.Array,
    ) -> npt.NDArray[np.bool_]:
        """Per footprint row (its tenant's event and calculator): False where its event
        already has a stored footprint of the same calculator (inside the transaction, after
        the events were written)."""
        keep = np.ones(len(event_id), dtype=bool)
        ids = [e for e in pc.unique(event_id).to_pylist() if e is not None]
        if not ids:
            return keep
        have = pa.table({"event_id": pa.array(ids, pa.string())})
        stored = self._arrow_in(
            "SELECT DISTINCT f.tenant, f.event_id, f.calculator "
            "FROM all_footprints f "
            "WHERE f.event_id IN (SELECT event_id FROM {keys})",
            have,
            pa.schema(
                [
                    pa.field("tenant", pa.string()),
                    pa.field("event_id", pa.string()),
                    pa.field("calculator", pa.string()),
                ]
            ),
        )
        if stored.num_rows == 0:
            return keep
        sep = "\x1f"
        k_fp = pc.binary_join_element_wise(tenant, event_id, calculator, sep)
        k_st = pc.binary_join_element_wise(
            stored.column("tenant"), stored.column("event_id"), stored.column("calculator"), sep
        )
        stored_mask: npt.NDArray[np.bool_] = np.asarray(
            pc.fill_null(pc.is_in(k_fp, value_set=k_st), False).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        return keep & ~stored_mask

    def _insert_compact(
        self, batch: EventFootprintBatch, fresh: set[str], new_events: pa.Table | None = None
    ) -> int:
        """Inside a transaction: insert compact footprints whose subjects are known to be
        free (events first stored in this transaction): their contexts where new (with
        their items; the ids inserted are added to ``fresh``, which the caller makes known
        once the transaction commits), then the rows, and add the rows that supersede
        nothing to the hourly rollup (``new_events``: their events, all new and live in this
        transaction; else they are looked up).  Rows that supersede leave the rollup to the
        caller's :meth:`_refresh_footprint_hours`."""
        if batch.num_rows == 0:
            return 0
        if pc.count_distinct(batch.footprints.column("event_id")).as_py() != batch.num_rows:
            # a repeated id (or one id in two tenants): the precise check
            _check_one_root(batch.footprints)
        ctx = batch.contexts
        known = pa.array(list(self._contexts_stored), pa.string())
        ctx = ctx.filter(pc.invert(pc.is_in(ctx.column("context_id"), value_set=known)))
        new_ctx: list[str] = []
        if ctx.num_rows:
            self._stage(
                "stage_footprint_contexts", FOOTPRINT_CONTEXTS, self._stamp(FOOTPRINT_CONTEXTS, ctx)
            )
            try:
                new_ctx = self._insert_new_returning(FOOTPRINT_CONTEXTS, "stage_footprint_contexts")
            finally:
                self._unstage("stage_footprint_contexts")
            fresh.update(ctx.column("context_id").to_pylist())
        if new_ctx:
            items = batch.context_items.filter(
                pc.is_in(
                    batch.context_items.column("context_id"),
                    value_set=pa.array(new_ctx, pa.string()),
                )
            )
            if items.num_rows:
                self._stage("stage_context_items", CONTEXT_ITEMS, items)
                try:
                    self._insert_all(CONTEXT_ITEMS, "stage_context_items")
                finally:
                    self._unstage("stage_context_items")
        inserted = self._insert_rows(
            EVENT_FOOTPRINTS, self._stamp(EVENT_FOOTPRINTS, batch.footprints)
        )
        rows = batch.footprints
        if rows.column("supersedes").null_count < rows.num_rows:
            rows = rows.filter(pc.is_null(rows.column("supersedes")))
        self._add_hours(rows, new_events)
        return inserted

    def _write_compact(self, batch: EventFootprintBatch, fresh: set[str]) -> int:
        """Inside a transaction: compact footprints of stored events, with the checks of
        :meth:`_write_footprints`: the event is stored for the tenant; an id already stored
        with the same content is a duplicate, with another content a conflict; an event that
        already has a footprint is refused (a recomputation supersedes it, which only the
        general layout records)."""
        batch = batch.filter(_first_occurrence(batch.footprints.column("footprint_id")))
        ids = pa.table({"footprint_id": batch.footprints.column("footprint_id")})
        stored = self._arrow_in(
            "SELECT footprint_id FROM all_footprints WHERE footprint_id IN "
            "(SELECT footprint_id FROM {keys})",
            ids,
            pa.schema([pa.field("footprint_id", pa.string())]),
        )
        if stored.num_rows:
            known = pa.array(stored.column("footprint_id").to_pylist(), pa.string())
            again = batch.filter(pc.is_in(batch.footprints.column("footprint_id"), value_set=known))
            mine = _compact_records(again)
            bad = [
                fid
                for fid, rec in mine.items()
                if self.footprint(fid).record_hash() != rec.record_hash()
            ]
            if bad:
                raise LedgerConflictError("footprints", bad)
            batch = batch.filter(
                pc.invert(pc.is_in(batch.footprints.column("footprint_id"), value_set=known))
            )
            if batch.num_rows == 0:
                return 0
        stage = "stage_compact_subjects"
        if pc.any(pc.is_valid(batch.footprints.column("supersedes"))).as_py():
            # recomputations (re-pricing, measured idle): the general layout's rules for
            # subjects and supersession chains
            fp = batch.footprints
            subj = pa.table(
                {
                    "footprint_id": fp.column("footprint_id"),
                    "tenant": fp.column("tenant"),
                    "event_id": fp.column("event_id"),
                    "aggregate_key": pa.nulls(fp.num_rows, pa.string()),
                    "supersedes": fp.column("supersedes"),
                }
            )
            spec = TableSpec(
                stage,
                "footprints",
                tuple(Column(f.name, f.type, False) for f in subj.schema),
                key=("footprint_id",),
                ingested=False,
            )
            self._stage(stage, spec, subj)
            try:
                self._check_footprint_subjects(stage)
            finally:
                self._unstage(stage)
            return self._insert_compact(batch, fresh)
        subj = batch.footprints.select(["footprint_id", "tenant", "event_id"])
        spec = TableSpec(
            stage,
            "footprints",
            tuple(Column(f.name, f.type) for f in subj.schema),
            key=("footprint_id",),
            ingested=False,
        )
        self._stage(stage, spec, subj)
        try:
            orphan = self._fetchall(
                f"SELECT s.footprint_id, s.event_id FROM {stage} s LEFT JOIN events e "
                f"ON {same_event('e', 's')} WHERE e.event_id IS NULL LIMIT 10"
            )
            if orphan:
                raise LedgerReferenceError(
                    f"footprints: {orphan[0][0]!r} is for event {orphan[0][1]!r}, which is not a "
                    "stored event of the same tenant; append the event first"
                )
            roots = self._fetchall(
                f"SELECT DISTINCT f.event_id FROM all_footprints f JOIN {stage} s "
                f"ON {same_event('s', 'f')} LIMIT 10"
            )
            if roots:
                raise LedgerConflictError(
                    "footprints",
                    [r[0] for r in roots],
                    "this event_id already has a footprint; a recomputation must set "
                    "`supersedes` to the footprint it replaces",
                )
        finally:
            self._unstage(stage)
        return self._insert_compact(batch, fresh)

    def _compact_record(self, footprint_id: str, tenant: str | None) -> FootprintRecord:
        """The compact footprint ``footprint_id`` as a record (LedgerError when absent)."""
        cols = ", ".join([*EVENT_FOOTPRINTS.names, "ingested_utc"])
        where, params = "footprint_id = %s", [footprint_id]
        if tenant is not None:
            where += " AND tenant = %s"
            params.append(tenant)
        with self._lock:
            row = self._arrow(
                f"SELECT {cols} FROM event_footprints WHERE {where}",
                params,
                EVENT_FOOTPRINTS.stored_schema,
            ).to_pylist()
            if not row:
                raise FootprintNotFoundError(
                    f"footprint {footprint_id!r} is not in the ledger"
                    + (f" for tenant {tenant!r}" if tenant else "")
                )
            ctx = self._arrow(
                f"SELECT {', '.join(FOOTPRINT_CONTEXTS.names)} FROM footprint_contexts "
                "WHERE context_id = %s",
                [row[0]["context_id"]],
                FOOTPRINT_CONTEXTS.arrow_schema,
            ).to_pylist()
            items = self._arrow(
                f"SELECT {', '.join(CONTEXT_ITEMS.names)} FROM footprint_context_items "
                "WHERE context_id = %s ORDER BY position",
                [row[0]["context_id"]],
                CONTEXT_ITEMS.arrow_schema,
            ).to_pylist()
        if not ctx:
            raise LedgerError(
                f"footprint {footprint_id!r}: its context "
                f"{row[0]['context_id']!r} is missing from the ledger"
            )
        return record_from_compact(row[0], ctx[0], items)

    def _arrow_in(self, sql: str, keys: pa.Table, schema: pa.Schema) -> pa.Table:
        """Run ``sql`` with ``{keys}`` naming a staged table of ``keys`` (inside the tx)."""
        spec = TableSpec(
            "stage_keys",
            "keys",
            tuple(Column(f.name, f.type) for f in keys.schema),
            key=tuple(keys.column_names),
            ingested=False,
        )
        self._stage("stage_keys", spec, keys)
        try:
            return self._arrow(sql.format(keys="stage_keys"), [], schema)
        finally:
            self._unstage("stage_keys")

    def _check_footprint_subjects(self, stage: str) -> None:
        orphan = self._fetchall(
            f"SELECT s.footprint_id, s.event_id FROM {stage} s LEFT JOIN events e "
            f"ON {same_event('e', 's')} WHERE s.event_id IS NOT NULL "
            "AND e.event_id IS NULL LIMIT 10"
        )
        if orphan:
            fid, eid = orphan[0]
            raise LedgerReferenceError(
                f"footprints: {fid!r} is for event {eid!r}, which is not a stored event of the "
                "same tenant; append the event first"
            )
        every = (
            f"(SELECT footprint_id, tenant, event_id, aggregate_key, supersedes "
            f"FROM all_footprints UNION ALL SELECT s.footprint_id, s.tenant, s.event_id, "
            f"s.aggregate_key, s.supersedes FROM {stage} s WHERE NOT EXISTS "
            f"(SELECT 1 FROM all_footprints f WHERE f.footprint_id = s.footprint_id))"
        )
        bad_ref = self._fetchall(
            f"SELECT s.footprint_id, s.supersedes FROM {stage} s LEFT JOIN {every} a "
            "ON a.footprint_id = s.supersedes WHERE s.supersedes IS NOT NULL AND "
            "(a.footprint_id IS NULL OR a.tenant <> s.tenant "
            "OR a.event_id IS DISTINCT FROM s.event_id "
            "OR a.aggregate_key IS DISTINCT FROM s.aggregate_key) LIMIT 10"
        )
        if bad_ref:
            fid, sup = bad_ref[0]
            raise LedgerReferenceError(
                f"footprints: {fid!r} supersedes {sup!r}, which is not a stored footprint of "
                "the same tenant and subject"
            )
        twice = self._fetchall(
            f"SELECT supersedes FROM {every} a WHERE supersedes IN "
            f"(SELECT supersedes FROM {stage}) GROUP BY supersedes HAVING count(*) > 1 LIMIT 10"
        )
        if twice:
            raise LedgerConflictError(
                "footprints", [r[0] for r in twice], "a footprint can be superseded only once"
            )
        for col in ("event_id", "aggregate_key"):
            # an event's id is its tenant's (ids are per tenant)
            key = "tenant, event_id" if col == "event_id" else col
            roots = self._fetchall(
                f"SELECT {col} FROM {every} a WHERE supersedes IS NULL AND ({key}) IN "
                f"(SELECT {key} FROM {stage}) GROUP BY {key} HAVING count(*) > 1 LIMIT 10"
            )
            if roots:
                raise LedgerConflictError(
                    "footprints",
                    [r[0] for r in roots],
                    f"this {col} already has a footprint; a recomputation must set "
                    "`supersedes` to the footprint it replaces",
                )

    def footprint(self, footprint_id: str, *, tenant: str | None = None) -> FootprintRecord:
        """The stored footprint with its whole derivation; LedgerError when absent.

        With ``tenant``, a footprint of another tenant is reported as absent.
        """
        cols = ", ".join(FOOTPRINTS.names)
        where, params = "footprint_id = %s", [footprint_id]
        if tenant is not None:
            where += " AND tenant = %s"
            params.append(tenant)
        with self._lock:
            fp = self._arrow(
                f"SELECT {cols}, ingested_utc FROM footprints WHERE {where}",
                params,
                FOOTPRINTS.stored_schema,
            ).to_pylist()
            if not fp:
                return self._compact_record(footprint_id, tenant)
            items = self._arrow(
                f"SELECT {', '.join(FOOTPRINT_ITEMS.names)} FROM footprint_items "
                "WHERE footprint_id = %s ORDER BY position",
                [footprint_id],
                FOOTPRINT_ITEMS.arrow_schema,
            ).to_pylist()
            totals = self._arrow(
                f"SELECT {', '.join(FOOTPRINT_TOTALS.names)} FROM footprint_totals "
                "WHERE footprint_id = %s ORDER BY basis",
                [footprint_id],
                FOOTPRINT_TOTALS.arrow_schema,
            ).to_pylist()
        return _record_from_rows(fp[0], items, totals)

    def iter_footprints(
        self, *, tenant: str | None = None, page_rows: int = 20_000
    ) -> Iterator[FootprintRecord]:
        """Every stored footprint (of ``tenant``) as a record, read a page at a time (the
        general layout, then the compact one, each in id order): what ``audit verify`` walks
        (a look-up per footprint costs ~10 ms; a page costs a few queries)."""
        tcond, tparams = ("AND tenant = %s", [tenant]) if tenant is not None else ("", [])
        last = ""
        fp_cols = ", ".join([*FOOTPRINTS.names, "ingested_utc"])
        while True:
            with self._lock:
                page = self._arrow(
                    f"SELECT {fp_cols} FROM footprints WHERE footprint_id > %s "
                    f"{tcond} ORDER BY footprint_id LIMIT {int(page_rows)}",
                    [last, *tparams],
                    FOOTPRINTS.stored_schema,
                )
                if page.num_rows == 0:
                    break
                # the page's ids are a contiguous range of the id order
                span = [last, page.column("footprint_id")[-1].as_py()]
                items = self._arrow(
                    f"SELECT {', '.join(FOOTPRINT_ITEMS.names)} FROM footprint_items WHERE "
                    "footprint_id > %s AND footprint_id <= %s ORDER BY footprint_id, position",
                    span,
                    FOOTPRINT_ITEMS.arrow_schema,
                )
                totals = self._arrow(
                    f"SELECT {', '.join(FOOTPRINT_TOTALS.names)} FROM footprint_totals WHERE "
                    "footprint_id > %s AND footprint_id <= %s ORDER BY footprint_id, basis",
                    span,
                    FOOTPRINT_TOTALS.arrow_schema,
                )
            by_item: dict[str, list[dict[str, Any]]] = {}
            for r in items.to_pylist():
                by_item.setdefault(r["footprint_id"], []).append(r)
            by_total: dict[str, list[dict[str, Any]]] = {}
            for r in totals.to_pylist():
                by_total.setdefault(r["footprint_id"], []).append(r)
            for r in page.to_pylist():
                yield _record_from_rows(
                    r, by_item.get(r["footprint_id"], []), by_total.get(r["footprint_id"], [])
                )
            last = page.column("footprint_id")[-1].as_py()
        with self._lock:
            ctx = self._arrow(
                f"SELECT {', '.join(FOOTPRINT_CONTEXTS.names)} FROM footprint_contexts",
                [],
                FOOTPRINT_CONTEXTS.arrow_schema,
            )
            ctx_items = self._arrow(
                f"SELECT {', '.join(CONTEXT_ITEMS.names)} FROM footprint_context_items",
                [],
                CONTEXT_ITEMS.arrow_schema,
            )
        last = ""
        ef_cols = ", ".join([*EVENT_FOOTPRINTS.names, "ingested_utc"])
        while True:
            with self._lock:
                page = self._arrow(
                    f"SELECT {ef_cols} FROM event_footprints WHERE "
                    f"footprint_id > %s {tcond} ORDER BY footprint_id "
                    f"LIMIT {int(page_rows)}",
                    [last, *tparams],
                    EVENT_FOOTPRINTS.stored_schema,
                )
            if page.num_rows == 0:
                return
            yield from records_from_compact(page, ctx, ctx_items)
            last = page.column("footprint_id")[-1].as_py()

    def footprint_ids(
        self, *, tenant: str | None = None, include_superseded: bool = True
    ) -> list[str]:
        """Ids of stored footprints (of ``tenant``), in id order."""
        conds, params = [], []
        if tenant is not None:
            conds.append("tenant = %s")
            params.append(tenant)
        if not include_superseded:
            conds.append(f"footprint_id NOT IN {SUPERSEDED_FOOTPRINTS}")
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        with self._lock:
            return [
                r[0]
                for r in self._fetchall(
                    f"SELECT footprint_id FROM all_footprints{where} ORDER BY footprint_id", params
                )
            ]

    # --------------------------------------------------------------------- reads
    def _select(
        self, spec: TableSpec, conds: list[str], params: list[Any]
    ) -> tuple[str, list[Any]]:
        cols = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        # rows keyed per tenant by their id (then tenant), other tables by their key
        own = _per_tenant_id(spec)
        order = f"{own}, tenant" if own is not None else ", ".join(spec.key)
        name = VIEWS.get(spec.name, spec.name) if spec is not FOOTPRINTS else spec.name
        return f"SELECT {cols} FROM {name}{where} ORDER BY {order}", params

    def _read(self, spec: TableSpec, conds: list[str], params: list[Any]) -> pa.Table:
        sql, params = self._select(spec, conds, params)
        with self._lock:
            return self._arrow(sql, params, spec.stored_schema)

    @staticmethod
    def _window(
        col: str, start: datetime | None, end: datetime | None, conds: list[str], params: list[Any]
    ) -> None:
        if (s := _ts_param(start, "start_utc")) is not None:
            conds.append(f"{col} >= %s")
            params.append(s)
        if (e := _ts_param(end, "end_utc")) is not None:
            conds.append(f"{col} < %s")
            params.append(e)

    def events(
        self,
        *,
        tenant: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
        include_superseded: bool = False,
    ) -> pa.Table:
        """Events whose ``start_utc`` is in [start_utc, end_utc), ordered by id.

        Superseded events (those a later correction replaces) are left out unless
        ``include_superseded``.
        """
        conds: list[str] = []
        params: list[Any] = []
        if tenant is not None:
            conds.append("tenant = %s")
            params.append(tenant)
        if not include_superseded:
            conds.append(live_event())
        self._window("start_utc", start_utc, end_utc, conds, params)
        return self._read(EVENTS, conds, params)

    def append_runs(self, runs: Rows) -> AppendResult:
        """Append training, fine-tuning, evaluation, retraining and data-pipeline runs
        (schema version 6), all or nothing; a correction names the run it replaces."""
        return self._append(RUNS, runs, self._check_run_corrections)

    def _check_run_corrections(self, stage: str) -> None:
        missing = self._fetchall(
            f"SELECT s.run_id, s.supersedes FROM {stage} s WHERE s.supersedes IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = s.supersedes "
            "AND r.tenant = s.tenant) AND NOT EXISTS (SELECT 1 FROM "
            f"{stage} t WHERE t.run_id = s.supersedes AND t.tenant = s.tenant) LIMIT 1"
        )
        if missing:
            rid, sup = missing[0]
            raise LedgerReferenceError(
                f"runs: run {rid!r} supersedes {sup!r}, which is not a stored run of the same "
                "tenant; nothing from this batch was written"
            )

    def append_storage(self, rows: Rows) -> AppendResult:
        """Append storage records (GB-months by storage class), all or nothing."""
        return self._append(STORAGE, rows)

    def append_transfers(self, rows: Rows) -> AppendResult:
        """Append data-transfer records (GB by network type), all or nothing."""
        return self._append(TRANSFERS, rows)

    def runs(
        self,
        *,
        tenant: str | None = None,
        model: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
        include_superseded: bool = False,
    ) -> pa.Table:
        """Runs whose ``start_utc`` is in [start_utc, end_utc), ordered by id; superseded
        runs (those a later correction replaces) are left out unless asked for."""
        conds: list[str] = []
        params: list[Any] = []
        for col, v in (("tenant", tenant), ("model", model)):
            if v is not None:
                conds.append(f"{col} = %s")
                params.append(v)
        if not include_superseded:  # a correction replaces a run of its own tenant
            conds.append(
                "NOT EXISTS (SELECT 1 FROM runs c_ WHERE c_.supersedes = "
                "runs.run_id AND c_.tenant = runs.tenant)"
            )
        self._window("start_utc", start_utc, end_utc, conds, params)
        return self._read(RUNS, conds, params)

    def storage(self, *, tenant: str | None = None) -> pa.Table:
        """Every storage record (of ``tenant``)."""
        conds, params = _tenant_cond(STORAGE, tenant)
        return self._read(STORAGE, conds, params)

    def transfers(self, *, tenant: str | None = None) -> pa.Table:
        """Every data-transfer record (of ``tenant``)."""
        conds, params = _tenant_cond(TRANSFERS, tenant)
        return self._read(TRANSFERS, conds, params)

    def readings(
        self,
        *,
        device: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
    ) -> pa.Table:
        """Device energy readings with ``t_utc`` in [start_utc, end_utc)."""
        conds: list[str] = []
        params: list[Any] = []
        if device is not None:
            conds.append("device = %s")
            params.append(device)
        self._window("t_utc", start_utc, end_utc, conds, params)
        return self._read(READINGS, conds, params)

    def intensity(
        self,
        *,
        region: str | None = None,
        kind: str | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
    ) -> pa.Table:
        """Intensity snapshots with ``interval_start_utc`` in [start_utc, end_utc)."""
        conds: list[str] = []
        params: list[Any] = []
        for col, v in (("region", region), ("kind", kind)):
            if v is not None:
                conds.append(f"{col} = %s")
                params.append(v)
        self._window("interval_start_utc", start_utc, end_utc, conds, params)
        return self._read(INTENSITY, conds, params)

    def count(self, table: str, *, tenant: str | None = None) -> int:
        """Rows in ``table`` (of ``tenant`` for events and footprints), superseded included.

        The footprint tables count footprints of both layouts (the ``all_*`` views)."""
        spec = _spec(table)
        conds, params = _tenant_cond(spec, tenant)
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        name = VIEWS.get(spec.name, spec.name)
        with self._lock:
            return int(self._fetchall(f"SELECT count(*) FROM {name}{where}", params)[0][0])

    def scan(
        self, table: str, *, tenant: str | None = None, batch_rows: int = 65_536
    ) -> Iterator[pa.RecordBatch]:
        """Stream a whole table (every row, superseded included) in Arrow record batches.

        The footprint tables stream both layouts: ``footprints`` gives the general rows, then
        the compact ones with their canonical inputs text rendered (the text their
        ``inputs_hash`` was computed on; ``record_hash`` null)."""
        spec = _spec(table)
        conds, params = _tenant_cond(spec, tenant)
        schema = spec.read_schema
        if spec is FOOTPRINTS:
            sql, params_ = self._select(spec, conds, params)
            with self._lock:
                yield from self._batches(sql, params_, schema, batch_rows)
                yield from self._scan_compact(conds, params, batch_rows)
            return
        sql, params = self._select(spec, conds, params)
        with self._lock:
            yield from self._batches(sql, params, schema, batch_rows)

    def _scan_compact(
        self, conds: list[str], params: list[Any], batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        ctx = self._arrow(
            f"SELECT {', '.join(FOOTPRINT_CONTEXTS.names)} FROM footprint_contexts",
            [],
            FOOTPRINT_CONTEXTS.arrow_schema,
        )
        sql, params = self._select(EVENT_FOOTPRINTS, conds, params)
        for batch in self._batches(sql, params, EVENT_FOOTPRINTS.stored_schema, batch_rows):
            rows = compact_footprint_rows(pa.Table.from_batches([batch]), ctx)
            yield from rows.to_batches()


def _spec(table: str) -> TableSpec:
    """The table named ``table``: a logical table (:data:`TABLES`) or a physical table of
    the compact footprint layout (readable by name, e.g. to count contexts)."""
    found = TABLES.get(table) or next((t for t in STORAGE_TABLES if t.name == table), None)
    if found is None:
        names = [*TABLES, *(t.name for t in STORAGE_TABLES)]
        raise InputError(
            f"unknown table {table!r}; tables: {', '.join(names)}", field="table"
        ) from None
    return found


def _tenant_cond(spec: TableSpec, tenant: str | None) -> tuple[list[str], list[Any]]:
    if tenant is None:
        return [], []
    if spec in (EVENTS, FOOTPRINTS, EVENT_FOOTPRINTS, RUNS, STORAGE, TRANSFERS):
        return ["tenant = %s"], [tenant]
    if spec in (FOOTPRINT_ITEMS, FOOTPRINT_TOTALS):
        return ["footprint_id IN (SELECT footprint_id FROM all_footprints WHERE tenant = %s)"], [
            tenant
        ]
    raise InputError(
        f"table {spec.name!r} has no tenant (device readings and intensity snapshots are shared)",
        field="tenant",
    )


def _first_occurrence(ids: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.bool_]:
    """True at the first row of each distinct value."""
    n = len(ids)
    if pc.count_distinct(ids, mode="all").as_py() == n:
        return np.ones(n, dtype=bool)
    keep = np.zeros(n, dtype=bool)
    if n:
        _, first = np.unique(
            np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object).astype(str),
            return_index=True,
        )
        keep[first] = True
    return keep


def _check_same_batch(events: pa.Table, fp: pa.Table) -> None:
    """Every footprint is of an event of ``events`` with the same tenant (vectorised)."""
    if fp.num_rows == 0:
        return
    if fp.num_rows == events.num_rows and all(
        pc.all(pc.equal(fp.column(c), events.column(c))).as_py() for c in ("event_id", "tenant")
    ):
        return  # one footprint per event, in order (as the builders make them)
    sep = "\x1f"
    k_ev = pc.binary_join_element_wise(events.column("tenant"), events.column("event_id"), sep)
    k_fp = pc.binary_join_element_wise(fp.column("tenant"), fp.column("event_id"), sep)
    bad = pc.invert(pc.fill_null(pc.is_in(k_fp, value_set=k_ev), False))
    idx = np.flatnonzero(np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool))
    if len(idx):
        raise EventValidationError(
            "footprints",
            [
                Problem(
                    int(i),
                    "event_id",
                    "is not an event of this batch with the same tenant "
                    "(footprints go in with their events)",
                )
                for i in idx[:20]
            ],
            more=max(0, len(idx) - 20),
        )


def _check_one_root(fp: pa.Table) -> None:
    """At most one footprint per event in a batch unless it supersedes (vectorised)."""
    counts = fp.group_by(["tenant", "event_id"]).aggregate([([], "count_all")])
    bad = counts.filter(pc.greater(counts.column("count_all"), 1))
    if bad.num_rows:
        raise LedgerConflictError(
            "footprints",
            bad.column("event_id").to_pylist(),
            "an event gets one footprint; a recomputation must set "
            "`supersedes` to the footprint it replaces",
        )


def _compact_records(batch: EventFootprintBatch) -> dict[str, FootprintRecord]:
    """The records of a compact batch's rows, by footprint id (a rare path: re-sent ids)."""
    return {
        r.footprint_id: r
        for r in records_from_compact(batch.footprints, batch.contexts, batch.context_items)
    }


def _record_from_rows(
    fp: Mapping[str, Any], items: Sequence[Mapping[str, Any]], totals: Sequence[Mapping[str, Any]]
) -> FootprintRecord:
    figures = FootprintFigures(
        energy_j=fp["energy_j"],
        line_items=tuple(
            LineItemRecord(**{k: v for k, v in it.items() if k not in ("footprint_id", "position")})
            for it in items
        ),
        totals={
            t["basis"]: TotalRecord(
                value_g=t["value_g"], low_g=t["low_g"], high_g=t["high_g"], p50_g=t["p50_g"]
            )
            for t in totals
        },
    )
    return FootprintRecord(
        footprint_id=fp["footprint_id"],
        tenant=fp["tenant"],
        event_id=fp["event_id"],
        aggregate_key=fp["aggregate_key"],
        period_start_utc=fp["period_start_utc"],
        period_end_utc=fp["period_end_utc"],
        computed_utc=fp["computed_utc"],
        calculator=fp["calculator"],
        factor_versions=json.loads(fp["factor_versions_json"]),
        inputs=json.loads(fp["inputs_json"]),
        inputs_hash=fp["inputs_hash"],
        figures=figures,
        supersedes=fp["supersedes"],
        ingested_utc=fp["ingested_utc"],
    )
