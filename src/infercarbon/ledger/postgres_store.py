"""The multi-writer ledger on PostgreSQL (psycopg 3, ``pip install 'infercarbon[service]'``).

Batches are staged with ``COPY ... FROM STDIN (FORMAT csv)`` from an Arrow table written by
pyarrow's CSV writer (shortest round-trip floats, UTC timestamps), then moved into the
append-only table with ``INSERT ... ON CONFLICT (key) DO NOTHING`` in key order inside one
transaction.  Concurrent writers sending the same id wait for each other and insert it once;
the content check runs after the insert, when every competing row is committed and visible,
so a conflicting duplicate is always caught.  Unique indexes back up the correction rules
(one correction per row, one root footprint per subject) against races.  Reads come back
with ``COPY (SELECT ...) TO STDOUT`` and pyarrow's CSV reader.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

from infercarbon.errors import ConfigurationError, KeyTakenError, LedgerError
from infercarbon.ledger.base import SqlStore, system_clock
from infercarbon.ledger.compact import EVENT_FOOTPRINTS
from infercarbon.ledger.schema import TableSpec
from infercarbon.timeutil import WallClockUtc

__all__ = ["PostgresStore"]

try:  # an extra: infercarbon[service] or [test]
    import psycopg
    import psycopg.errors
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]


def _read_csv(data: io.BufferedIOBase | io.BytesIO, schema: pa.Schema) -> pa.Table:
    return pcsv.read_csv(
        data,
        read_options=pcsv.ReadOptions(column_names=schema.names),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=_convert_options(schema),
    ).cast(schema)


def _convert_options(schema: pa.Schema) -> pcsv.ConvertOptions:
    return pcsv.ConvertOptions(
        column_types={f.name: f.type for f in schema},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )


class PostgresStore(SqlStore):
    """A ledger in a PostgreSQL database, shared by many writers.

    Parameters
    ----------
    dsn : str
        A libpq connection string or ``postgresql://`` URL.  The tables are created in the
        first schema of the connection's ``search_path`` (e.g. ``?options=-csearch_path%3Dx``).
    clock : callable, optional
        Returns the current UTC time for ``ingested_utc`` (default: the system clock).
    """

    dialect = "postgres"
    #: Compact footprints have no b-tree primary key (schema version 9): the id is a SHA-256,
    #: so each insert landed on a random leaf of a b-tree three times the size of the hash
    #: index that now finds a row by id (10M rows: 742 MB against 320 MB; a 500-row insert
    #: 61-66 ms against 11-16 ms, most of it reading those leaves back).  Ids stay unique
    #: without it: an id is the hash of its subject (event, tenant, inputs, what it
    #: supersedes), checked on every batch, and the unique indexes on a root per (tenant,
    #: event) and one successor per superseded row refuse a second row of either subject.
    _unkeyed_tables = (EVENT_FOOTPRINTS,)

    def __init__(self, dsn: str, *, clock: WallClockUtc = system_clock) -> None:
        super().__init__(clock)
        if psycopg is None:
            raise ConfigurationError(
                "the PostgreSQL ledger needs psycopg: pip install 'infercarbon[service]'"
            )
        self.url = _redact(dsn)
        try:
            self._con = psycopg.connect(dsn, autocommit=True)
            self._con.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to the PostgreSQL ledger {self.url}: {exc}") from exc
        self._client = psycopg.ClientCursor(self._con)
        self._dsn = dsn
        self._reader: Any = None  # a second connection for reads (query_arrow), on demand
        self._read_lock = threading.Lock()
        self._create_schema()

    def close(self) -> None:
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
        with self._lock:
            self._con.close()

    def query_arrow(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        """Run a read-only SELECT on a second connection of its own (autocommit: each read
        sees what was committed), beside the writer: an ingest batch never waits for a
        read, nor a read for a batch."""
        with self._read_lock:
            if self._reader is None:
                try:
                    self._reader = psycopg.connect(self._dsn, autocommit=True)
                    self._reader.execute("SET TIME ZONE 'UTC'")
                except psycopg.Error as exc:
                    raise LedgerError(
                        f"cannot connect to the PostgreSQL ledger {self.url}: {exc}"
                    ) from exc
            buf = io.BytesIO()
            self._copy_out(sql, params, buf, self._reader)
        if buf.tell() == 0:
            return schema.empty_table()
        buf.seek(0)
        return _read_csv(buf, schema)

    def data_version(self) -> str | None:
        """The server's transaction snapshot (``txid_current_snapshot()``: the oldest
        transaction still running, the next id, the ones in progress), read on the reader
        connection.  Two equal snapshots mean no transaction that wrote (one that was given
        an id: any writer, of this ledger or another database on the server) ended between
        them: one in progress at the first is in its list and leaves it when it ends; one
        that began later has an id past the first's bound, which moves when it ends.  So the
        rows every read sees are the same (a busy server changes it often: fewer shared
        results, never a stale one)."""
        t = self.query_arrow(
            "SELECT txid_current_snapshot()::text AS v", [], pa.schema([("v", pa.string())])
        )
        return str(t.column(0)[0].as_py())

    # ---------------------------------------------------------------- primitives
    @contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            try:
                with self._con.transaction():
                    yield
            except psycopg.errors.UniqueViolation as exc:
                detail = exc.diag.message_detail or str(exc)
                raise KeyTakenError(
                    "ledger", [detail], "a stored row (or a concurrent writer's) has this key"
                ) from exc
            except psycopg.Error as exc:
                raise LedgerError(
                    f"{self.url}: the ledger refused the batch, nothing was written: {exc}"
                ) from exc

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params) or None)

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._con.execute(sql, list(params) or None).fetchall()
        except psycopg.Error as exc:
            raise LedgerError(f"{self.url}: query failed: {exc}") from exc

    def _copy_out(self, sql: str, params: Sequence[Any], sink: Any, con: Any = None) -> None:
        client = self._client if con is None else psycopg.ClientCursor(con)
        query = client.mogrify(sql, list(params) or None)
        try:
            with (
                (con or self._con).cursor() as cur,
                cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy,
            ):
                for chunk in copy:
                    sink.write(chunk)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.url}: query failed: {exc}") from exc

    def _arrow(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        buf = io.BytesIO()
        self._copy_out(sql, params, buf)
        if buf.tell() == 0:
            return schema.empty_table()
        buf.seek(0)
        return _read_csv(buf, schema)

    def _batches(
        self, sql: str, params: Sequence[Any], schema: pa.Schema, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        # spool to a temporary file (memory-bounded), then stream it back in blocks
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
            self._copy_out(sql, params, spool)
            if spool.tell() == 0:
                return
            spool.seek(0)
            reader = pcsv.open_csv(
                spool,
                read_options=pcsv.ReadOptions(column_names=schema.names, block_size=1 << 22),
                parse_options=pcsv.ParseOptions(newlines_in_values=True),
                convert_options=_convert_options(schema),
            )
            for batch in reader:
                table = pa.Table.from_batches([batch]).cast(schema)
                yield from table.to_batches(max_chunksize=batch_rows)

    def _stage(self, name: str, spec: TableSpec, table: pa.Table) -> None:
        cols = [f"{c.name} {c.sql_type('postgres')}" for c in spec.columns]
        if spec.ingested:
            cols.append("ingested_utc TIMESTAMPTZ")
        self._con.execute(f"CREATE TEMP TABLE {name} ({', '.join(cols)}) ON COMMIT DROP")
        self._copy_in(name, table)

    def _insert_rows(self, spec: TableSpec, rows: pa.Table) -> int:
        """Insert rows whose keys are new with one ``COPY`` straight into the table (no
        staging table: two round trips and a temporary table's catalog rows fewer), in key
        order as :meth:`_insert_all` does (concurrent writers lock in the same order); a
        stored key is a unique violation: KeyTakenError, nothing written."""
        if rows.num_rows == 0:
            return 0
        if rows.num_rows > 1:
            rows = rows.sort_by([(k, "ascending") for k in spec.key])
        self._copy_in(spec.name, rows)
        return int(rows.num_rows)

    def _copy_in(self, name: str, table: pa.Table) -> None:
        buf = io.BytesIO()
        pcsv.write_csv(
            table, buf, pcsv.WriteOptions(include_header=False, quoting_style="all_valid")
        )
        with (
            self._con.cursor() as cur,
            cur.copy(
                f"COPY {name} ({', '.join(table.column_names)}) FROM STDIN (FORMAT csv)"
            ) as copy,
        ):
            copy.write(buf.getbuffer())

    def _unstage(self, name: str) -> None:
        # dropped now, so one transaction can stage the same name twice (``ON COMMIT DROP``
        # covers a transaction that fails before this)
        # in a failed transaction the DROP is refused; its rollback drops the table
        with contextlib.suppress(psycopg.errors.InFailedSqlTransaction):
            self._con.execute(f"DROP TABLE IF EXISTS {name}")

    def _insert_new(self, spec: TableSpec, stage: str) -> int:
        cols = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
        key = ", ".join(spec.key)
        # key order: concurrent writers take row locks in the same order (no deadlock)
        cur = self._con.execute(
            f"INSERT INTO {spec.name} ({cols}) SELECT {cols} FROM {stage} ORDER BY {key} "
            f"ON CONFLICT ({key}) DO NOTHING"
        )
        return max(cur.rowcount, 0)

    def _insert_new_returning(self, spec: TableSpec, stage: str) -> list[str]:
        cols = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
        (key,) = spec.key
        rows = self._con.execute(
            f"INSERT INTO {spec.name} ({cols}) SELECT {cols} FROM {stage} ORDER BY {key} "
            f"ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
        ).fetchall()
        return [r[0] for r in rows]

    def _insert_all(self, spec: TableSpec, stage: str) -> int:
        cols = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
        key = ", ".join(spec.key)
        cur = self._con.execute(
            f"INSERT INTO {spec.name} ({cols}) SELECT {cols} FROM {stage} ORDER BY {key}"
        )
        return max(cur.rowcount, 0)

    def _ddl_lock_sql(self) -> str:
        return "SELECT pg_advisory_xact_lock(7239115093184)"

    def _ddl_extra(self) -> list[str]:
        return [
            # event ids are per tenant (schema version 6): so are corrections and roots
            "DROP INDEX IF EXISTS events_corrected_once",
            "DROP INDEX IF EXISTS footprints_one_root_per_event",
            "DROP INDEX IF EXISTS event_footprints_one_root_per_event",
            "CREATE UNIQUE INDEX IF NOT EXISTS events_corrected_once_per_tenant "
            "ON events (tenant, supersedes)",
            "CREATE INDEX IF NOT EXISTS events_tenant_start ON events (tenant, start_utc)",
            # the newest events (the dashboard's page) from the last hours on
            "CREATE INDEX IF NOT EXISTS events_end ON events (end_utc)",
            # the traced events (the dashboard's per-user-action rollups): most events carry
            # no trace, so the partial index is small and the rollup reads only its rows
            # (10M events, a few traced: /v1/traces 3.6 s as a scan)
            "CREATE INDEX IF NOT EXISTS events_traced ON events (tenant, trace_id) "
            "WHERE trace_id IS NOT NULL",
            # a compact footprint by id (schema version 9: instead of the primary key)
            "CREATE INDEX IF NOT EXISTS event_footprints_id ON event_footprints "
            "USING hash (footprint_id)",
            # the footprints of a page of events (the live one may supersede another)
            "CREATE INDEX IF NOT EXISTS event_footprints_event ON event_footprints (event_id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS footprints_superseded_once "
            "ON footprints (supersedes)",
            "CREATE UNIQUE INDEX IF NOT EXISTS footprints_one_root_per_tenant_event "
            "ON footprints (tenant, event_id) WHERE supersedes IS NULL "
            "AND event_id IS NOT NULL",
            # a compact footprint is its event's root, or a recomputation that supersedes
            # one (schema version 3; the version-2 index allowed only roots)
            "DROP INDEX IF EXISTS event_footprints_one_per_event",
            "CREATE UNIQUE INDEX IF NOT EXISTS event_footprints_one_root_per_tenant_event "
            "ON event_footprints (tenant, event_id) WHERE supersedes IS NULL",
            "CREATE UNIQUE INDEX IF NOT EXISTS event_footprints_superseded_once "
            "ON event_footprints (supersedes)",
            "CREATE UNIQUE INDEX IF NOT EXISTS footprints_one_root_per_aggregate "
            "ON footprints (aggregate_key) WHERE supersedes IS NULL "
            "AND aggregate_key IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS footprints_event ON footprints (event_id)",
        ]


def _redact(dsn: str) -> str:
    """The DSN without its password, for messages."""
    dsn = re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", dsn)
    return re.sub(r"^([a-z]+://[^:/@]+):[^@]*@", r"\1:***@", dsn)
