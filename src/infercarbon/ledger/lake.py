"""The ledger at fleet scale: Apache Iceberg tables through pyiceberg and a SQL catalog.

One machine with DuckDB or PostgreSQL serves one team; a fleet of 10^4 GPUs writes about
4 x 10^11 footprint rows in 13 months, which no single database holds cheaply.  The lake keeps
the same data as Iceberg tables: Parquet files in a warehouse (``file://`` here, ``s3://``
through pyarrow in production) behind a catalog (SQLite locally and in tests; PostgreSQL by
URI in production), so Spark, Trino, DuckDB and Snowflake read them directly.

Tables (namespace ``infercarbon``; :data:`TABLES`):

``events``        the ledger's event columns, plus ``spool_batch_id`` (the ingest batch that
                  carried the row) and ``ingested_utc``; partitioned by day of ``start_utc`` and
                  a 16-way bucket of ``device``.
``readings``      device energy readings (``cumulative_j`` or ``power_w``); day x device bucket.
``intensity``     grid-intensity intervals per region and basis; day x region.
``attributions``  the ``attribute`` job's output: one row per event (``row_kind = 'event'``)
                  and one per device and window for the idle energy no event carries
                  (``'unattributed_idle'``); day x device bucket.
``footprints``    the compact footprint layout (one row of numbers per event; see
                  :mod:`infercarbon.ledger.compact`) with the context shared by many rows in
                  ``footprint_contexts``; day x region.
``rollups``       the ``rollup`` job's per day x region x tenant sums.
``runs``          one row per job run: job, engine, code version, parameters, the snapshot
                  ids of its inputs and of its output (the lineage ``audit verify --run``
                  re-runs from).

Iceberg enforces no key, so exactly-once is the writer's duty: :meth:`Lake.append_new`
anti-joins the batch on its key against the rows already stored in the partitions the batch
touches (a row with a new key is appended even when it ``supersedes`` another, so correction
chains are kept).  Every append is one Iceberg commit: atomic, and a crash before it leaves
nothing visible.

>>> import tempfile
>>> lake = open_lake(tempfile.mkdtemp())
>>> sorted(lake.tables())[:3]
['attributions', 'events', 'footprint_contexts']
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import ConfigurationError, InputError, LedgerError

if TYPE_CHECKING:
    from pyiceberg.table import Table as IcebergTable

__all__ = [
    "NAMESPACE",
    "TABLES",
    "AppendReport",
    "Lake",
    "LakeTable",
    "conform",
    "footprint_id",
    "open_lake",
    "parse_footprint_id",
    "show_footprint",
]

NAMESPACE: Final = "infercarbon"
TS: Final = pa.timestamp("us", tz="UTC")
_F = pa.float64()
_S = pa.string()
_I = pa.int64()
#: Largest batch whose keys the anti-join passes to the scan as an IN list (beyond, it scans
#: the key columns of the day range and joins in memory).
_IN_LIST_MAX: Final = 2000
#: Buckets of the device hash in the device-partitioned tables.
DEVICE_BUCKETS: Final = 16


@dataclass(frozen=True)
class LakeTable:
    """One Iceberg table: its Arrow schema, its key (None: no uniqueness asked), the time
    column its day partition follows, and its second partition (``bucket:device`` or a
    column's identity)."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...] | None
    day_column: str | None
    second: str | None = None

    @property
    def names(self) -> list[str]:
        return list(self.schema.names)


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(n, t, nullable=True) for n, t in fields])


EVENTS = LakeTable(
    "events",
    _schema(
        ("event_id", _S),
        ("start_utc", TS),
        ("end_utc", TS),
        ("device", _S),
        ("batch_id", _S),
        ("tokens_in", _I),
        ("tokens_out", _I),
        ("region", _S),
        ("tenant", _S),
        ("service", _S),
        ("model", _S),
        ("supersedes", _S),
        ("spool_batch_id", _S),
        ("ingested_utc", TS),
    ),
    key=("event_id", "tenant"),
    day_column="start_utc",
    second="bucket:device",
)  # ids per tenant

READINGS = LakeTable(
    "readings",
    _schema(
        ("device", _S),
        ("t_utc", TS),
        ("cumulative_j", _F),
        ("power_w", _F),
    ),
    key=("device", "t_utc"),
    day_column="t_utc",
    second="bucket:device",
)

INTENSITY = LakeTable(
    "intensity",
    _schema(
        ("region", _S),
        ("basis", _S),
        ("start_utc", TS),
        ("end_utc", TS),
        ("g_per_kwh", _F),
        ("low_g_per_kwh", _F),
        ("high_g_per_kwh", _F),
        ("source", _S),
        ("label", _S),
    ),
    key=("region", "basis", "start_utc"),
    day_column="start_utc",
    second="region",
)

ATTRIBUTIONS = LakeTable(
    "attributions",
    _schema(
        ("row_kind", _S),
        ("event_id", _S),
        ("device", _S),
        ("region", _S),
        ("tenant", _S),
        ("start_utc", TS),
        ("end_utc", TS),
        ("window_s", _F),
        ("energy_j", _F),
        ("active_j", _F),
        ("idle_j", _F),
        ("device_time_s", _F),
        ("clipped", pa.bool_()),
        ("method", _S),
        ("supersedes", _S),
        ("run_id", _S),
    ),
    key=None,
    day_column="start_utc",
    second="bucket:device",
)

#: The compact footprint row: per event the numbers that differ, nothing that a context holds.
FOOTPRINT_NUMBERS: Final = (
    "energy_j",
    "idle_j",
    "device_time_s",
    "location_g_per_kwh",
    "market_g_per_kwh",
    "marginal_g_per_kwh",
    *(
        f"total_{b}_{s}"
        for b in ("location", "market", "marginal")
        for s in ("g", "low_g", "high_g")
    ),
)
FOOTPRINTS = LakeTable(
    "footprints",
    _schema(
        ("event_id", _S),
        ("context_id", _S),
        ("tenant", _S),
        ("region", _S),
        ("period_start_utc", TS),
        ("period_end_utc", TS),
        *((n, _F) for n in FOOTPRINT_NUMBERS),
        ("supersedes", _S),
        ("run_id", _S),
    ),
    key=("event_id", "tenant", "context_id"),
    day_column="period_start_utc",
    second="region",
)

FOOTPRINT_CONTEXTS = LakeTable(
    "footprint_contexts",
    _schema(
        ("context_id", _S),
        ("calculator", _S),
        ("region", _S),
        ("method", _S),
        ("profile_json", _S),
        ("signals_json", _S),
        ("energy_band_json", _S),
        ("window_s", _F),
    ),
    key=("context_id",),
    day_column=None,
)

ROLLUPS = LakeTable(
    "rollups",
    _schema(
        ("day_utc", TS),
        ("region", _S),
        ("tenant", _S),
        ("events", _I),
        ("energy_j", _F),
        ("idle_j", _F),
        *(
            (f"total_{b}_{s}", _F)
            for b in ("location", "market", "marginal")
            for s in ("g", "low_g", "high_g")
        ),
        ("run_id", _S),
    ),
    key=("run_id", "day_utc", "region", "tenant"),
    day_column="day_utc",
    second="region",
)

RUNS = LakeTable(
    "runs",
    _schema(
        ("run_id", _S),
        ("job", _S),
        ("engine", _S),
        ("code_version", _S),
        ("params_json", _S),
        ("inputs_json", _S),
        ("output_table", _S),
        ("output_snapshot_id", _I),
        ("started_utc", TS),
        ("finished_utc", TS),
        ("rows_out", _I),
    ),
    key=("run_id",),
    day_column=None,
)

#: The ledger's own tables, mirrored in the lake under ``ledger_<table>`` with the ledger's
#: columns (``lake export`` copies a ledger into them; ``report --catalog`` and ``serve
#: --catalog`` read them back into an in-memory ledger): (ledger table, day column, second
#: partition).  The footprints are the ledger's compact layout (``event_footprints`` and its
#: shared contexts) and its general one; contexts, items and totals carry no day.
LEDGER_MIRROR: Final[tuple[tuple[str, str | None, str | None], ...]] = (
    ("events", "start_utc", "tenant"),
    ("event_footprints", "period_start_utc", "tenant"),
    ("footprints", "period_start_utc", "tenant"),
    ("footprint_items", None, None),
    ("footprint_totals", None, None),
    ("footprint_contexts", None, None),
    ("footprint_context_items", None, None),
    ("intensity", "interval_start_utc", "region"),
    ("runs", "start_utc", "tenant"),
    ("storage", "period_start_utc", "tenant"),
    ("transfers", "t_utc", "tenant"),
)
#: The prefix of the mirrored ledger tables' names in the lake.
LEDGER_PREFIX: Final = "ledger_"


def _ledger_tables() -> tuple[LakeTable, ...]:
    from infercarbon.ledger.compact import STORAGE_TABLES
    from infercarbon.ledger.schema import TABLES as LEDGER_TABLES

    specs = {**LEDGER_TABLES, **{t.name: t for t in STORAGE_TABLES}}
    out = []
    for name, day, second in LEDGER_MIRROR:
        spec = specs[name]
        out.append(
            LakeTable(
                LEDGER_PREFIX + name,
                _schema(*((f.name, f.type) for f in spec.stored_schema)),
                key=spec.key,
                day_column=day,
                second=second,
            )
        )
    # the service's settings (deployment profiles, programme estimate) as last exported
    out.append(
        LakeTable(
            LEDGER_PREFIX + "settings",
            _schema(("key", _S), ("value", _S), ("exported_utc", TS)),
            key=("key", "value"),
            day_column=None,
        )
    )
    return tuple(out)


TABLES: Final[dict[str, LakeTable]] = {
    t.name: t
    for t in (
        EVENTS,
        READINGS,
        INTENSITY,
        ATTRIBUTIONS,
        FOOTPRINTS,
        FOOTPRINT_CONTEXTS,
        ROLLUPS,
        RUNS,
        *_ledger_tables(),
    )
}


@dataclass(frozen=True)
class AppendReport:
    """What an append did: rows received, appended, skipped as already stored (or repeated
    in the batch), and the snapshot the append created (None: nothing new to append)."""

    table: str
    received: int
    appended: int
    skipped: int
    snapshot_id: int | None


#: The tenant of rows that name none (event ids are per tenant; the jobs' inputs may leave the
#: tenant out, as the proxy's and the Meter's single-tenant events do).
DEFAULT_TENANT: Final = "default"


def conform(table: pa.Table, spec: LakeTable, *, keys: bool = True) -> pa.Table:
    """``table`` with exactly ``spec``'s columns and types: missing optional columns as
    nulls, timestamps to microseconds UTC; a key column missing or null is an InputError
    (with ``keys=False`` a key column may still be null: a job's rows before their run id),
    but a missing or null ``tenant`` is :data:`DEFAULT_TENANT`."""
    n = table.num_rows
    if spec.key and "tenant" in spec.key:
        tenant = (
            pc.fill_null(table.column("tenant").cast(pa.string()), DEFAULT_TENANT)
            if "tenant" in table.column_names
            else pa.array([DEFAULT_TENANT] * n, pa.string())
        )
        table = (
            table.set_column(table.column_names.index("tenant"), "tenant", tenant)
            if "tenant" in table.column_names
            else table.append_column("tenant", tenant)
        )
    cols = []
    for f in spec.schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            try:
                if (
                    pa.types.is_timestamp(f.type)
                    and pa.types.is_timestamp(col.type)
                    and col.type.tz is None
                ):
                    col = pc.assume_timezone(col, "UTC")
                if f.name == "batch_id" and pa.types.is_integer(col.type):
                    # integer batch ids (the attribution core's): negative means not batched
                    col = pc.if_else(pc.less(col, 0), pa.scalar(None, col.type), col)
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(
                    f"cannot be read as {f.type}: {exc}", field=f"{spec.name}.{f.name}"
                ) from exc
        else:
            if keys and spec.key and f.name in spec.key:
                raise InputError(
                    f"is required in the {spec.name} table", field=f"{spec.name}.{f.name}"
                )
            col = pa.nulls(n, f.type)
        cols.append(col)
    out = pa.Table.from_arrays(cols, schema=spec.schema)
    for k in (spec.key or ()) if keys else ():
        if out.column(k).null_count:
            raise InputError(
                f"has {out.column(k).null_count} null value(s); every row needs one",
                field=f"{spec.name}.{k}",
            )
    return out


def _iceberg_schema(schema: pa.Schema) -> Any:
    from pyiceberg.schema import Schema
    from pyiceberg.types import (
        BooleanType,
        DoubleType,
        LongType,
        NestedField,
        StringType,
        TimestamptzType,
    )

    kinds = {
        pa.string(): StringType(),
        pa.float64(): DoubleType(),
        pa.int64(): LongType(),
        TS: TimestamptzType(),
        pa.bool_(): BooleanType(),
    }
    return Schema(
        *(NestedField(i + 1, f.name, kinds[f.type], required=False) for i, f in enumerate(schema))
    )


def _partition_spec(spec: LakeTable, schema: Any) -> Any:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform

    fields = []
    if spec.day_column is not None:
        fields.append(
            PartitionField(schema.find_field(spec.day_column).field_id, 1000, DayTransform(), "day")
        )
    if spec.second is not None:
        if spec.second.startswith("bucket:"):
            col = spec.second.removeprefix("bucket:")
            fields.append(
                PartitionField(
                    schema.find_field(col).field_id,
                    1001,
                    BucketTransform(DEVICE_BUCKETS),
                    f"{col}_bucket",
                )
            )
        else:
            fields.append(
                PartitionField(
                    schema.find_field(spec.second).field_id, 1001, IdentityTransform(), spec.second
                )
            )
    return PartitionSpec(*fields)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


class Lake:
    """The Iceberg tables of one catalog and namespace.  Open with :func:`open_lake`."""

    def __init__(self, catalog: Any, *, namespace: str = NAMESPACE, uri: str = "") -> None:
        self.catalog = catalog
        self.namespace = namespace
        self.uri = uri
        self._cache: dict[str, IcebergTable] = {}

    # --------------------------------------------------------------------------- tables
    def tables(self) -> list[str]:
        return [t[-1] for t in self.catalog.list_tables(self.namespace)]

    def create_tables(self) -> None:
        """Create the namespace and every table of :data:`TABLES` that does not exist."""
        self.catalog.create_namespace_if_not_exists(self.namespace)
        existing = set(self.tables())
        for spec in TABLES.values():
            if spec.name in existing:
                self._add_missing_columns(spec)
                continue
            schema = _iceberg_schema(spec.schema)
            self.catalog.create_table_if_not_exists(
                f"{self.namespace}.{spec.name}",
                schema=schema,
                partition_spec=_partition_spec(spec, schema),
                properties={"write.parquet.compression-codec": "zstd"},
            )

    def _add_missing_columns(self, spec: LakeTable) -> None:
        """Iceberg schema evolution: the columns this code's ``spec`` has and an older lake's
        table lacks are added as optional (the stored files read them as null)."""
        tbl = self.table(spec.name)
        have = {f.name for f in tbl.schema().fields}
        missing = [f for f in spec.schema if f.name not in have]
        if not missing:
            return
        kinds = _iceberg_schema(pa.schema(missing))
        with tbl.update_schema() as update:
            for f in kinds.fields:
                update.add_column(f.name, f.field_type, required=False)
        self._cache.pop(spec.name, None)

    def table(self, name: str, *, refresh: bool = True) -> IcebergTable:
        if name not in TABLES:
            raise InputError(
                f"unknown lake table {name!r}; tables: {', '.join(TABLES)}", field="table"
            )
        from pyiceberg.exceptions import NoSuchTableError

        try:
            if name in self._cache:
                tbl = self._cache[name]
                if refresh:
                    tbl = tbl.refresh()
            else:
                tbl = self.catalog.load_table(f"{self.namespace}.{name}")
        except NoSuchTableError as exc:
            raise LedgerError(
                f"the lake at {self.uri!r} has no table {name!r}; run `infercarbon lake init` first"
            ) from exc
        self._cache[name] = tbl
        return tbl

    def snapshot_id(self, name: str) -> int | None:
        snap = self.table(name).current_snapshot()
        return None if snap is None else int(snap.snapshot_id)

    # ----------------------------------------------------------------------------- read
    def read(
        self,
        name: str,
        *,
        snapshot_id: int | None = None,
        columns: Sequence[str] | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
        equals: Mapping[str, Any] | None = None,
        not_null: Sequence[str] = (),
    ) -> pa.Table:
        """Scan a table (at a snapshot, when given), pruned to ``[start_utc, end_utc)`` on
        its day column, to ``equals`` (column -> value or list of values) and to rows where
        the ``not_null`` columns hold a value (a file whose column is all null is skipped
        from its statistics)."""
        spec = TABLES[name]
        scan = self._scan(name, snapshot_id, columns, start_utc, end_utc, equals, not_null)
        if scan is None:
            return pa.Table.from_pylist([], schema=_select(spec.schema, columns))
        return _normalise(scan.to_arrow(), _select(spec.schema, columns))

    def read_batches(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        start_utc: datetime | None = None,
        end_utc: datetime | None = None,
        equals: Mapping[str, Any] | None = None,
        not_null: Sequence[str] = (),
    ) -> Iterator[pa.Table]:
        """The rows :meth:`read` returns, as a stream of small tables (the scan's record
        batches, file by file): what reads them holds one batch at a time, not the table."""
        spec = TABLES[name]
        scan = self._scan(name, None, columns, start_utc, end_utc, equals, not_null)
        if scan is None:
            return
        schema = _select(spec.schema, columns)
        for batch in scan.to_arrow_batch_reader():
            if batch.num_rows:
                yield _normalise(pa.Table.from_batches([batch]), schema)

    def _scan(
        self,
        name: str,
        snapshot_id: int | None,
        columns: Sequence[str] | None,
        start_utc: datetime | None,
        end_utc: datetime | None,
        equals: Mapping[str, Any] | None,
        not_null: Sequence[str],
    ) -> Any:
        """The pruned pyiceberg scan of :meth:`read` (None: nothing to read)."""
        import pyiceberg.expressions

        ex: Any = pyiceberg.expressions  # pydantic models: constructed positionally
        spec = TABLES[name]
        expr: Any = ex.AlwaysTrue()
        if spec.day_column is not None:
            if start_utc is not None:
                expr = ex.And(expr, ex.GreaterThanOrEqual(spec.day_column, _iso(start_utc)))
            if end_utc is not None:
                expr = ex.And(expr, ex.LessThan(spec.day_column, _iso(end_utc)))
        for col, value in (equals or {}).items():
            if isinstance(value, list | tuple | set):
                vals = list(value)
                if not vals:
                    return None
                expr = ex.And(expr, ex.In(col, vals))
            else:
                expr = ex.And(expr, ex.EqualTo(col, value))
        for col in not_null:
            expr = ex.And(expr, ex.NotNull(col))
        tbl = self.table(name)
        if snapshot_id is not None and tbl.snapshot_by_id(snapshot_id) is None:
            raise LedgerError(
                f"table {name!r} has no snapshot {snapshot_id} (expired, or from another lake)"
            )
        if tbl.current_snapshot() is None:
            return None
        return tbl.scan(
            row_filter=expr, selected_fields=tuple(columns or ("*",)), snapshot_id=snapshot_id
        )

    def find(self, name: str, column: str, value: str, columns: Sequence[str]) -> pa.Table:
        """The ``columns`` of the rows of table ``name`` whose ``column`` equals ``value``, at
        its current snapshot: a point lookup on a column whose file statistics cannot prune
        (a random id in every file).  The files Iceberg plans for the filter are read by
        DuckDB, in parallel, ``columns`` and ``column`` only (1M exported footprints: ~0.12 s
        against ~0.7 s for a pyiceberg scan); a plan with delete files or files off the local
        disk is scanned by pyiceberg."""
        import pyiceberg.expressions

        tbl = self.table(name)
        if tbl.current_snapshot() is None:
            return pa.Table.from_pylist([], schema=_select(TABLES[name].schema, columns))
        ex: Any = pyiceberg.expressions  # pydantic models: constructed positionally
        expr = ex.EqualTo(column, value)
        tasks = list(tbl.scan(row_filter=expr).plan_files())
        paths = [t.file.file_path for t in tasks]
        if any(t.delete_files for t in tasks) or not all(p.startswith("file://") for p in paths):
            return self.read(name, columns=columns, equals={column: value})
        if not paths:
            return pa.Table.from_pylist([], schema=_select(TABLES[name].schema, columns))
        import duckdb

        from infercarbon.ledger.duckdb_store import _to_arrow

        con = duckdb.connect()
        try:
            cols = ", ".join(f'"{c}"' for c in columns)
            out = _to_arrow(
                con.sql(
                    f"SELECT {cols} FROM read_parquet($1, union_by_name = true) "
                    f'WHERE "{column}" = $2',
                    params=[[p.removeprefix("file://") for p in paths], value],
                )
            )
        finally:
            con.close()
        return _normalise(out, _select(TABLES[name].schema, columns))

    def data_bytes(self, name: str) -> tuple[int, int]:
        """(bytes of the current snapshot's data files, rows in them)."""
        tbl = self.table(name)
        if tbl.current_snapshot() is None:
            return 0, 0
        size = rows = 0
        for task in tbl.scan().plan_files():
            size += int(task.file.file_size_in_bytes)
            rows += int(task.file.record_count)
        return size, rows

    # ---------------------------------------------------------------------------- write
    def append(
        self, name: str, rows: pa.Table, *, properties: Mapping[str, str] | None = None
    ) -> int | None:
        """Append ``rows`` (conformed to the table's schema) in one commit; returns the new
        snapshot id (None when ``rows`` is empty: nothing is committed)."""
        spec = TABLES[name]
        data = conform(rows, spec)
        if data.num_rows == 0:
            return None
        from pyiceberg.exceptions import CommitFailedException

        tbl = self.table(name)
        try:
            with warnings.catch_warnings():
                # pyiceberg warns that Arrow's dictionary types have no Iceberg equivalent
                warnings.simplefilter("ignore", UserWarning)
                tbl.append(data, snapshot_properties=dict(properties or {}))
        except CommitFailedException as exc:
            raise LedgerError(
                f"lake table {name!r}: the commit lost a race with another writer; retry ({exc})"
            ) from exc
        snap = self.table(name).current_snapshot()
        return None if snap is None else int(snap.snapshot_id)

    def append_new(
        self, name: str, rows: pa.Table, *, properties: Mapping[str, str] | None = None
    ) -> AppendReport:
        """Append the rows whose key is not stored yet (exactly-once: Iceberg has no
        uniqueness).  Rows repeated within ``rows`` keep their first occurrence.  The
        anti-join scans only the key columns of the partitions ``rows`` touch (the day range
        of its day column, and the device buckets or regions it holds): a row's key, its day
        and its device or region go together (an event's id, its start and its device),
        which is what the lake's writers guarantee."""
        spec = TABLES[name]
        if spec.key is None:
            raise InputError(f"table {name!r} has no key to append exactly once", field="table")
        data = conform(rows, spec)
        received = data.num_rows
        data = _first_per_key(data, spec.key)
        if data.num_rows and self.table(name).current_snapshot() is not None:
            start = end = None
            equals: dict[str, Any] = {}
            if spec.day_column is not None:
                lo = pc.min(data.column(spec.day_column)).as_py()
                hi = pc.max(data.column(spec.day_column)).as_py()
                if lo is not None and hi is not None:
                    start = datetime(lo.year, lo.month, lo.day, tzinfo=UTC)
                    end = datetime(hi.year, hi.month, hi.day, tzinfo=UTC) + timedelta(days=1)
            first = pc.unique(data.column(spec.key[0]))
            if len(first) <= _IN_LIST_MAX:
                equals[spec.key[0]] = first.to_pylist()
            # and only the second partition's values the batch holds (device buckets,
            # regions): Iceberg prunes the other partitions' files from the manifests
            part_col = (spec.second or "").removeprefix("bucket:")
            if part_col and part_col not in equals and data.column(part_col).null_count == 0:
                vals = pc.unique(data.column(part_col))
                if len(vals) <= _IN_LIST_MAX:
                    equals[part_col] = vals.to_pylist()
            stored = self.read(
                name, columns=list(spec.key), start_utc=start, end_utc=end, equals=equals
            )
            data = _anti_join(data, stored, spec.key)
        snap = self.append(name, data, properties=properties) if data.num_rows else None
        return AppendReport(name, received, data.num_rows, received - data.num_rows, snap)

    def record_run(self, run: Mapping[str, Any]) -> int | None:
        """Append one ``runs`` row (see :data:`RUNS`)."""
        return self.append_new(
            "runs", pa.Table.from_pylist([dict(run)], schema=RUNS.schema)
        ).snapshot_id

    def run(self, run_id: str) -> dict[str, Any]:
        rows = self.read("runs", equals={"run_id": run_id}).to_pylist()
        if not rows:
            raise LedgerError(f"the lake has no run {run_id!r}")
        out: dict[str, Any] = rows[0]
        out["params"] = json.loads(out.pop("params_json"))
        out["inputs"] = json.loads(out.pop("inputs_json"))
        return out

    def close(self) -> None:
        engine = getattr(self.catalog, "engine", None)
        if engine is not None:
            engine.dispose()


def footprint_id(context_id: str, event_id: str) -> str:
    """The id of an event's lake footprint under a context: not stored (it is
    ``fp_`` + the context id's first 12 hex digits + ``_`` + the event id)."""
    return f"fp_{context_id.removeprefix('ctx_')[:12]}_{event_id}"


def parse_footprint_id(fid: str) -> tuple[str, str]:
    """(the context id's 12-hex prefix, the event id) of a lake footprint id."""
    if not fid.startswith("fp_") or len(fid) < 17 or fid[15] != "_":
        raise InputError(
            f"{fid!r} is not a lake footprint id (fp_<12 hex>_<event id>)", field="footprint_id"
        )
    return fid[3:15], fid[16:]


def show_footprint(lake: Lake, fid: str) -> dict[str, Any]:
    """A lake footprint's whole record: its row of numbers, its context (calculator,
    profile, signals, energy band, window), the attribution row of its event, and the
    lineage of the runs that wrote them.  Reads only the files whose ``event_id`` bounds
    can hold the event (Iceberg's column statistics)."""
    prefix, event_id = parse_footprint_id(fid)
    rows = [
        r
        for r in lake.read("footprints", equals={"event_id": event_id}).to_pylist()
        if str(r["context_id"]).removeprefix("ctx_").startswith(prefix)
    ]
    if not rows:
        from infercarbon.errors import FootprintNotFoundError

        raise FootprintNotFoundError(f"the lake has no footprint {fid!r}")
    row = rows[-1]
    ctx = lake.read("footprint_contexts", equals={"context_id": row["context_id"]}).to_pylist()
    att = lake.read("attributions", equals={"event_id": event_id}).to_pylist()
    runs: dict[str, dict[str, Any] | None] = {}
    for rid in {row["run_id"], *(a["run_id"] for a in att)} - {None}:
        try:
            runs[rid] = lake.run(rid)
        except LedgerError:
            runs[rid] = None
    context = ctx[0] if ctx else None
    if context is not None:
        for k in ("profile_json", "signals_json", "energy_band_json"):
            context[k.removesuffix("_json")] = json.loads(context.pop(k))
    return {"footprint_id": fid, "row": row, "context": context, "attribution": att, "runs": runs}


def _select(schema: pa.Schema, columns: Sequence[str] | None) -> pa.Schema:
    if columns is None:
        return schema
    return pa.schema([schema.field(c) for c in columns])


def _normalise(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A scan's result in the table's Arrow schema (pyiceberg may return large strings)."""
    # a column an older lake's table lacks (opened without create: not evolved) reads as null
    return pa.Table.from_arrays(
        [
            table.column(f.name).cast(f.type)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in schema
        ],
        schema=schema,
    )


def _keys(table: pa.Table, key: Sequence[str]) -> pa.Array:
    if len(key) == 1:
        return table.column(key[0]).combine_chunks().cast(pa.string())
    parts = [pc.cast(table.column(k), pa.string()) for k in key]
    return pc.binary_join_element_wise(*parts, "\x1f").combine_chunks()


def _first_per_key(table: pa.Table, key: Sequence[str]) -> pa.Table:
    keys = _keys(table, key)
    if len(pc.unique(keys)) == table.num_rows:
        return table
    enc = keys.dictionary_encode()
    idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
    _, first = np.unique(idx, return_index=True)
    return table.take(pa.array(np.sort(first)))


def _anti_join(table: pa.Table, stored: pa.Table, key: Sequence[str]) -> pa.Table:
    if stored.num_rows == 0:
        return table
    seen = pc.is_in(_keys(table, key), value_set=_keys(stored, key))
    return table.filter(pc.invert(seen))


def _catalog_uri(target: str) -> tuple[str, str]:
    """(SQLAlchemy URI of the catalog, warehouse URI) of a ``--catalog`` value: a directory
    (SQLite catalog ``catalog.db`` and warehouse ``warehouse/`` inside it), a ``sqlite:///``
    file or a ``postgresql://`` URL (then the warehouse must be given)."""
    if target.startswith(("sqlite:", "postgresql")):
        if target.startswith("sqlite:///"):
            path = Path(target.removeprefix("sqlite:///"))
            return target, (path.parent / "warehouse").resolve().as_uri()
        return target.replace("postgresql://", "postgresql+psycopg://", 1), ""
    root = Path(target.removeprefix("file://")).expanduser().resolve()
    return f"sqlite:///{root / 'catalog.db'}", (root / "warehouse").as_uri()


def open_lake(
    target: str | Path,
    *,
    warehouse: str | None = None,
    namespace: str = NAMESPACE,
    create: bool = True,
) -> Lake:
    """Open (and with ``create``, initialise) the lake at ``target``: a directory holding a
    SQLite catalog and a ``file://`` warehouse, a ``sqlite:///`` catalog file, or a
    ``postgresql://`` catalog with ``warehouse`` (``file://`` or ``s3://``)."""
    uri, default_wh = _catalog_uri(str(target))
    wh = warehouse or default_wh
    if not wh:
        raise ConfigurationError(
            f"the catalog {target!r} needs a warehouse URI (--warehouse file:///... or s3://...)"
        )
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        if not create and not db.is_file():
            raise InputError(f"no lake catalog at {db}", field="catalog")
        db.parent.mkdir(parents=True, exist_ok=True)
    if wh.startswith("file://"):
        Path(wh.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    try:
        from pyiceberg.catalog.sql import SqlCatalog
    except ImportError as exc:
        raise ConfigurationError(
            "the lake needs pyiceberg: pip install 'infercarbon[lake]'"
        ) from exc
    catalog = SqlCatalog(namespace, uri=uri, warehouse=wh)
    lake = Lake(catalog, namespace=namespace, uri=str(target))
    if create:
        lake.create_tables()
    return lake


def snapshot_properties(items: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Snapshot summary properties (strings) from key/value pairs."""
    return {str(k): str(v) for k, v in items}
