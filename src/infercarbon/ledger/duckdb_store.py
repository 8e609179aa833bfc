"""The embedded ledger: one DuckDB file, no server.

DuckDB lets one process open a file for writing; inside that process the store serialises
its operations with a lock, so threads can share it.  A commit is durable when
``append_*`` returns (DuckDB writes and syncs its write-ahead log on commit); a batch that
fails part-way is rolled back and leaves nothing.  Batches go in as Arrow tables
(vectorised; no Python loop per row).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from infercarbon.errors import KeyTakenError, LedgerError, LedgerLockedError
from infercarbon.ledger.base import SqlStore, system_clock
from infercarbon.ledger.hours import event_fold_sql, event_rebuild_sql, fold_sql, rebuild_sql
from infercarbon.ledger.schema import EVENTS, TableSpec
from infercarbon.timeutil import WallClockUtc

__all__ = ["DEFAULT_MEMORY_LIMIT", "DuckDBStore"]

_PLACEHOLDER = re.compile(r"%s")
#: The memory limit of a file ledger unless one is given (see :class:`DuckDBStore`).
DEFAULT_MEMORY_LIMIT = "1GB"


def _q(sql: str) -> str:
    return _PLACEHOLDER.sub("?", sql)


def _to_arrow(rel: Any) -> pa.Table:
    # duckdb >= 1.4 names it to_arrow_table; older releases fetch_arrow_table
    fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
    table: pa.Table = fetch()
    return table


class DuckDBStore(SqlStore):
    """A ledger in a DuckDB file (or ``":memory:"`` for a throwaway one).

    Parameters
    ----------
    path : str or Path
        The database file; created with its tables when absent.
    clock : callable, optional
        Returns the current UTC time for ``ingested_utc`` (default: the system clock).
    checkpoint_threshold : str
        Write-ahead-log size at which a commit folds the log into the file (DuckDB's
        ``checkpoint_threshold``; its default is 16MB).  A checkpoint blocks writers for
        a time that grows with the table (it rewrites the key index), so under sustained
        ingest a larger threshold means fewer, longer pauses and less work overall; the
        log is replayed on the next open after a crash, so every committed batch survives
        either way.  (With DuckDB 2.0 a checkpoint also stalls reads of, and commits to,
        the tables that have a key index, so its pause is what bounds an ingest's p99.)
        Measured on 2 cores, 5,000-event batches: 16MB checkpointed every 3-4
        batches (pauses of 0.15-1 s); 256MB every ~27 batches.
    memory_limit : str or None
        Most memory DuckDB may use (its ``memory_limit``, e.g. ``"2GB"``; DuckDB's own
        default is 80 % of the machine's memory, so a long-running writer's cache grows to
        that).  ``"auto"`` (the default) is :data:`DEFAULT_MEMORY_LIMIT` for a file, which
        keeps a service's memory flat under sustained ingest (measured: RSS levels off at
        ~1.2 GB after ~40 s of 2,000-event batches; it grew ~1.4 GB/min without a limit).
        DuckDB evicts checkpointed table and key-index blocks to the file and spills large
        queries to ``<path>.tmp``, so the limit does not bound the ledger's size: only the
        key index written since the last checkpoint must fit (measured with DuckDB 2.0: 6M
        keys under a 100MB limit with checkpoints, out of memory at 1.4M without).
        ``None`` keeps DuckDB's default, as ``"auto"`` does for ``":memory:"`` (all of its
        data lives in memory).
    rollup_lag_s : float
        How far behind the ledger the hourly rollup may be when read: a read folds the new
        rows in first unless a fold began less than this many seconds ago (0, the
        default: every read folds first and sees every committed row; ``infercarbon
        serve`` uses 1 s, with a fold every second beside the writer, so a dashboard's
        dozen reads share one fold; with a lag, a read never waits for a fold under way
        and reads the rollup the previous fold left, at most the lag plus one fold behind).
    write_threads : int or None
        Threads DuckDB runs an append's transaction on; reads use DuckDB's default (one per
        core).  ``None`` (the default): DuckDB's default for writes too, so the setting never
        changes.  A number switches DuckDB's threads when the store turns from writing to
        reading or back, under the store's lock: a read after a write then waits for the
        write in progress.  Measured on 2 cores at 10.8M events with ingest and dashboard
        reads at once (``bench_query_scale.py``): 1 write thread gave summary p95 432 ms,
        first load p95 714 ms and ingest p99 188 ms; no switch 290 ms, 482 ms and 134 ms.
        Ingest alone (``bench_service_load.py``, 1,750-event batches) ran at 27.1k events/s
        with 1 thread and 27.3k without the switch (an older build: 37k vs 33-34k).
    """

    dialect = "duckdb"
    # DuckDB keeps a primary key in an ART index that it maintains on every commit; for
    # footprint_items/footprint_totals (up to three rows per footprint, written only with a
    # footprint new in the same transaction) that index cost as much as the rest of an
    # ingest's writes and checks nothing the writer does not already guarantee (measured,
    # 2,000-event batches: inserts 39 -> 24 ms, checkpoint of 120k events 0.71 -> 0.59 s).
    # Ledgers created before this have the index; both layouts are read and written the
    # same way.
    _child_keys_unique = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: WallClockUtc = system_clock,
        checkpoint_threshold: str = "256MB",
        memory_limit: str | None = "auto",
        write_threads: int | None = None,
        rollup_lag_s: float = 0.0,
    ) -> None:
        super().__init__(clock)
        self.path = str(path)
        if not rollup_lag_s >= 0.0:
            raise LedgerError(f"rollup_lag_s {rollup_lag_s!r}: must be 0 or more seconds")
        self._rollup_lag_s = float(rollup_lag_s)
        self._last_fold = -float("inf")  # time.monotonic() when the last fold began
        # write transactions committed by this store, and how many the last fold had seen:
        # DuckDB lets one process write a file, so when they are equal there is nothing to
        # fold (a read then skips the fold's transaction: ~30 ms at 10M events)
        self._generation = 0
        self._folded_generation: int | None = None
        self.url = self.path
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.is_dir():
                raise LedgerError(f"{self.path}: the folder {parent} does not exist")
        try:
            self._con = duckdb.connect(self.path)
            self._con.execute("SET TimeZone = 'UTC'")
            # a long query (the rollup's fill on upgrade) must not draw on the terminal
            self._con.execute("SET enable_progress_bar = false")
            self._con.execute("SET checkpoint_threshold = ?", [checkpoint_threshold])
            if memory_limit == "auto":
                memory_limit = None if self.path == ":memory:" else DEFAULT_MEMORY_LIMIT
            if memory_limit is not None:
                self._con.execute("SET memory_limit = ?", [memory_limit])
            row = self._con.execute("SELECT current_setting('threads')").fetchone()
            self._read_threads = int(row[0]) if row else 1
        except duckdb.Error as exc:
            if "Could not set lock" in str(exc):
                raise self._locked(exc) from exc
            raise LedgerError(f"cannot open the DuckDB ledger {self.path}: {exc}") from exc
        if write_threads is not None and write_threads < 1:
            raise LedgerError(f"write_threads {write_threads}: must be at least 1")
        self._write_threads = write_threads or self._read_threads
        self._threads = self._read_threads
        self._in_tx = False
        try:
            self._copy_events_rekeyed()
            self._create_schema()
        except BaseException:
            self._con.close()  # a ledger that cannot be opened holds nothing
            raise

    def _locked(self, exc: Exception) -> LedgerLockedError:
        pid = re.search(r"PID (\d+)", str(exc))
        return LedgerLockedError(
            f"the DuckDB ledger {self.path} is open in another process"
            + (f" (PID {pid.group(1)})" if pid else "")
            + ", e.g. a running `infercarbon serve`: run this command through it with "
            "--server http://HOST:PORT --key ADMIN_KEY (or stop it)"
        )

    def close(self) -> None:
        """Close the ledger, and remove what DuckDB spilled to its temporary folder
        (``<ledger>.tmp``: large sorts and joins) if anything is left there."""
        with self._lock:
            self._con.close()  # closing twice is harmless
        if self.path != ":memory:":
            tmp = Path(self.path + ".tmp")
            if tmp.is_dir():
                for f in tmp.glob("duckdb_temp*"):
                    with contextlib.suppress(OSError):
                        f.unlink()
                with contextlib.suppress(OSError):
                    tmp.rmdir()  # only when empty: nothing else of anyone's is removed

    # ---------------------------------------------------------------- primitives
    def _use_threads(self, n: int) -> None:
        """DuckDB's thread count for what comes next (changed only when it differs)."""
        if n != self._threads:
            self._con.execute(f"SET threads = {int(n)}")
            self._threads = n

    def _reading(self) -> None:
        if not self._in_tx:
            self._use_threads(self._read_threads)

    @contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            if self._in_tx:
                raise LedgerError("nested ledger transaction")
            try:
                self._use_threads(self._write_threads)
                self._con.execute("BEGIN TRANSACTION")
            except duckdb.Error as exc:
                raise LedgerError(f"{self.path}: cannot begin a transaction: {exc}") from exc
            self._in_tx = True
            try:
                yield
                self._con.execute("COMMIT")
                self._generation += 1
            except duckdb.ConstraintException as exc:
                self._con.execute("ROLLBACK")
                raise KeyTakenError(
                    "ledger", [str(exc).split("\n")[0]], "a stored row has this key"
                ) from exc
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended it
                    self._con.execute("ROLLBACK")
                if "Could not set lock" in str(exc):
                    raise self._locked(exc) from exc
                raise LedgerError(
                    f"{self.path}: the ledger refused the batch, nothing was written: {exc}"
                ) from exc
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    self._con.execute("ROLLBACK")
                raise
            finally:
                self._in_tx = False

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(_q(sql), list(params))

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            self._reading()
            rows: list[tuple[Any, ...]] = self._con.execute(_q(sql), list(params)).fetchall()
        except duckdb.Error as exc:
            raise LedgerError(f"{self.path}: query failed: {exc}") from exc
        return rows

    def _arrow(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        try:
            self._reading()
            table = _to_arrow(self._con.sql(_q(sql), params=list(params)))
        except duckdb.Error as exc:
            raise LedgerError(f"{self.path}: query failed: {exc}") from exc
        return table.rename_columns(schema.names).cast(schema)

    def _batches(
        self, sql: str, params: Sequence[Any], schema: pa.Schema, batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        try:
            self._reading()
            rel = self._con.sql(_q(sql), params=list(params))
            reader = (getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader)(batch_rows)
        except duckdb.Error as exc:
            raise LedgerError(f"{self.path}: query failed: {exc}") from exc
        for batch in reader:
            table = pa.Table.from_batches([batch]).rename_columns(schema.names).cast(schema)
            yield from table.to_batches()

    def _stage(self, name: str, spec: TableSpec, table: pa.Table) -> None:
        self._con.register(name, table)

    def _unstage(self, name: str) -> None:
        # in a failed transaction (e.g. a key was taken) DuckDB refuses; its rollback
        # follows, and a later _stage of the same name replaces the registration
        with contextlib.suppress(duckdb.TransactionException):
            self._con.unregister(name)

    def _insert_new(self, spec: TableSpec, stage: str) -> int:
        # the primary key's index finds the stored keys: the cost grows with the batch, not
        # with the table (an anti-join would scan the whole key column on every append)
        return self._insert(spec, stage, " ON CONFLICT DO NOTHING")

    def _insert_all(self, spec: TableSpec, stage: str) -> int:
        return self._insert(spec, stage, "")

    def _insert_rows(self, spec: TableSpec, rows: pa.Table) -> int:
        # DuckDB reads an Arrow table a query names through a variable of the calling
        # frame (a replacement scan): measured ~1.5 ms less per two 1,000-row inserts than
        # registering and unregistering a view
        stage_rows = rows  # noqa: F841  (read by the query below)
        cols = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
        row = self._con.execute(
            f"INSERT INTO {spec.name} ({cols}) SELECT {cols} FROM stage_rows"
        ).fetchone()
        return int(row[0]) if row else 0

    def _insert_new_returning(self, spec: TableSpec, stage: str) -> list[str]:
        (key,) = spec.key
        col_list = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
        rows = self._con.execute(
            f"INSERT INTO {spec.name} ({col_list}) SELECT {col_list} FROM {stage} "
            f"ON CONFLICT DO NOTHING RETURNING {key}"
        ).fetchall()
        return [r[0] for r in rows]

    def _insert(self, spec: TableSpec, stage: str, tail: str) -> int:
        col_list = ", ".join([*spec.names, *(["ingested_utc"] if spec.ingested else [])])
        row = self._con.execute(
            f"INSERT INTO {spec.name} ({col_list}) SELECT {col_list} FROM {stage}{tail}"
        ).fetchone()
        return int(row[0]) if row else 0

    def query_arrow(self, sql: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        """Run a read-only SELECT on a cursor of its own, without the store's lock: DuckDB
        reads a consistent snapshot of what was committed, beside a running ingest (which
        then never waits for a read, nor a read for an ingest's Python work).  After a
        write, the first read turns DuckDB's threads back to every core (under the lock)."""
        if self._threads != self._read_threads:
            with self._lock:
                self._reading()
        cur = self._con.cursor()
        try:
            table = _to_arrow(cur.sql(_q(sql), params=list(params)))
        except duckdb.Error as exc:
            raise LedgerError(f"{self.path}: query failed: {exc}") from exc
        finally:
            cur.close()
        return table.rename_columns(schema.names).cast(schema)

    # the hourly rollup is folded in beside the writer (one 100-aggregate upsert per
    # ingest batch would cost DuckDB more than the batch): ledger.hours
    _hours_at_ingest = False

    def _hours_top(self) -> int | None:
        row = self._con.execute("SELECT coalesce(max(rowid), -1) FROM event_footprints").fetchone()
        return int(row[0]) if row else -1

    def _event_hours_top(self) -> int | None:
        row = self._con.execute("SELECT coalesce(max(rowid), -1) FROM events").fetchone()
        return int(row[0]) if row else -1

    def hours_ready(self, *, max_lag_s: float | None = None) -> None:
        """Fold into the hourly rollup the compact footprints committed since the last fold
        (past its ``rowid`` mark: DuckDB numbers rows as they commit, in commit order), and
        into the event rollup the events past its own mark, and rebuild the (hour, tenant)
        pairs that writes marked stale (corrections, recomputations), in one transaction on a
        cursor of its own: the writer goes on beside it (it touches other tables); folds run
        one at a time."""
        lag = self._rollup_lag_s if max_lag_s is None else max_lag_s
        if self._folded_generation == self._generation:
            return  # nothing written since the last fold
        if lag > 0 and (time.monotonic() - self._last_fold < lag or self._fold_lock.locked()):
            # a reader that accepts a lag never waits for a fold under way: it reads the
            # rollup as the previous fold left it (at most the lag plus one fold behind)
            return
        with self._fold_lock:
            if self._folded_generation == self._generation or (
                lag > 0 and time.monotonic() - self._last_fold < lag
            ):
                return  # folded while this one waited
            began, generation = time.monotonic(), self._generation
            try:
                cur = self._con.cursor()
            except duckdb.Error as exc:
                raise LedgerError(f"{self.path}: cannot fold the hourly rollup: {exc}") from exc
            try:
                cur.execute("BEGIN TRANSACTION")
                marks = dict(
                    cur.execute(
                        "SELECT key, CAST(value AS BIGINT) FROM ledger_meta WHERE key IN "
                        "('hours_folded_rowid', 'event_hours_folded_rowid')"
                    ).fetchall()
                )
                tops = cur.execute(
                    "SELECT (SELECT coalesce(max(rowid), -1) FROM event_footprints), "
                    "(SELECT coalesce(max(rowid), -1) FROM events)"
                ).fetchone()
                dirty = cur.execute(
                    "SELECT count(*), coalesce(max(rowid), -1) FROM footprint_hours_dirty"
                ).fetchone()
                assert tops is not None and dirty is not None
                m = int(marks.get("hours_folded_rowid", -1))
                em = int(marks.get("event_hours_folded_rowid", -1))
                t, et = int(tops[0]), int(tops[1])
                n_dirty, dirty_top = int(dirty[0]), int(dirty[1])
                if t <= m and et <= em and n_dirty == 0:
                    cur.execute("ROLLBACK")
                    self._last_fold, self._folded_generation = began, generation
                    return
                keys = None
                if n_dirty:
                    keys = (
                        f"(SELECT DISTINCT hour_utc, tenant FROM footprint_hours_dirty "
                        f"WHERE rowid <= {dirty_top})"
                    )
                    for sql in (*rebuild_sql(keys, t), *event_rebuild_sql(keys, et)):
                        cur.execute(sql)
                # the rebuilt pairs are whole already
                for fold, key, after, upto in (
                    (fold_sql, "hours_folded_rowid", m, t),
                    (event_fold_sql, "event_hours_folded_rowid", em, et),
                ):
                    if upto > after:
                        cur.execute(fold(after, upto, keys))
                        cur.execute("DELETE FROM ledger_meta WHERE key = ?", [key])
                        cur.execute("INSERT INTO ledger_meta VALUES (?, ?)", [key, str(upto)])
                if n_dirty:
                    cur.execute(f"DELETE FROM footprint_hours_dirty WHERE rowid <= {dirty_top}")
                cur.execute("COMMIT")
                self._last_fold, self._folded_generation = began, generation
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    cur.execute("ROLLBACK")
                if "Could not set lock" in str(exc):
                    raise self._locked(exc) from exc
                raise LedgerError(f"{self.path}: folding the hourly rollup failed: {exc}") from exc
            finally:
                cur.close()

    def _ddl_extra(self) -> list[str]:
        return []

    #: Events copied per transaction when a ledger is re-keyed (version 6).
    REKEY_CHUNK_ROWS = 1_000_000

    def _copy_events_rekeyed(self) -> None:
        """Upgrade to version 6, first step: DuckDB cannot change a table's primary key, so
        the events are copied into ``events_v6``, keyed (tenant, event_id), in order, a
        million rows a transaction (one transaction over a large ledger would hold its whole
        copy and key in memory: 10M events ran out of a 1 GB limit).  The schema transaction
        then swaps the copy in (:meth:`_rekey_events_sql`); an interrupted copy starts again
        on the next open, and the events stay where they were until the swap."""
        stored = self._stored_version()
        if stored is None or not stored.isdigit() or int(stored) >= 6:
            return  # a new ledger, a version this code refuses, or already per tenant
        have = {
            r[0]
            for r in self._fetchall(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'events' "
                "AND table_schema = current_schema()"
            )
        }
        cols = ", ".join(c for c in [*EVENTS.names, "ingested_utc"] if c in have)
        top = self._fetchall("SELECT max(rowid) FROM events")[0][0]
        with self._tx():
            self._exec("DROP TABLE IF EXISTS events_v6")
            self._exec(f"CREATE TABLE events_v6 ({self._columns_ddl(EVENTS, True)})")
        for lo in range(0, -1 if top is None else int(top) + 1, self.REKEY_CHUNK_ROWS):
            with self._tx():
                self._exec(
                    f"INSERT INTO events_v6 ({cols}) SELECT {cols} FROM events "
                    "WHERE rowid >= %s AND rowid < %s ORDER BY rowid",
                    [lo, lo + self.REKEY_CHUNK_ROWS],
                )

    def _rekey_events_sql(self) -> list[str]:
        # the copy keyed (tenant, event_id) replaces the events (no view reads them)
        return ["DROP TABLE events", "ALTER TABLE events_v6 RENAME TO events"]
