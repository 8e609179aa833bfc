"""The ledger's tables in the lake: export a ledger into them, read a period back as a ledger.

The report, the dashboard and the read API are written against the ledger's schema (SQL over
``events``, the compact ``event_footprints`` and their shared contexts, ``intensity``,
``runs`` and the hourly rollups).  The lake keeps the same rows in Iceberg tables named
``ledger_<table>`` with the ledger's columns (:data:`~infercarbon.ledger.lake.LEDGER_MIRROR`):

- :func:`export_ledger` copies a ledger's rows into them, exactly once on each table's key
  (the hot store's periodic export: a re-run appends only what is new);
- :func:`read_period` reads back one period: only the day partitions of the period (and the
  tenant's partition, given a tenant) of the events and footprints, plus the corrections
  stored anywhere (rows with ``supersedes``: files whose ``supersedes`` is all null are
  skipped from their column statistics), the footprint contexts and their items, the
  intensity intervals, and the tenant's runs, storage and transfers (small tables, read
  whole);
- :func:`snapshot_store` loads those rows into an in-memory DuckDB ledger of the normal
  schema, on which :func:`infercarbon.report.build_report` and the service run unchanged;
  the period's events and compact footprints go from the Iceberg scan into it batch by
  batch (the scan's record batches), never whole in memory as Arrow.
  The snapshot is taken once: rows committed later are not in it.

An in-period event that a correction outside the period supersedes is left out, as in the
ledger, because the corrections are read from every partition.  The memory the snapshot takes
grows with the period's rows (measured in ``docs/scale-out.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError
from infercarbon.ledger.base import SqlStore
from infercarbon.ledger.lake import (
    LEDGER_MIRROR,
    LEDGER_PREFIX,
    TABLES,
    AppendReport,
    Lake,
    _first_per_key,
)
from infercarbon.ledger.schema import TABLES as LEDGER_TABLES

if TYPE_CHECKING:
    from infercarbon.ledger.base import Store
    from infercarbon.ledger.duckdb_store import DuckDBStore

__all__ = [
    "LakeSnapshot",
    "export_ledger",
    "footprint_store",
    "read_period",
    "snapshot_store",
]

#: Rows gathered from the ledger's scan before one lake commit.
EXPORT_ROWS = 500_000
#: Tables of the period read whole (filtered to the tenant where they have one): small.
_WHOLE = ("runs", "storage", "transfers")
_TENANTED = ("events", "event_footprints", "footprints", "runs", "storage", "transfers")


def export_ledger(
    store: Store,
    lake: Lake,
    *,
    clock: Callable[[], datetime],
    batch_rows: int = EXPORT_ROWS,
) -> dict[str, AppendReport]:
    """Copy every mirrored table of ``store`` into the lake's ``ledger_<table>`` tables,
    exactly once on each table's key, ``batch_rows`` rows per Iceberg commit; and the
    service's settings as they are now.  Returns what each table's appends did (summed)."""
    out: dict[str, AppendReport] = {}
    for name, _, _ in LEDGER_MIRROR:
        target = LEDGER_PREFIX + name
        reports: list[AppendReport] = []
        pending: list[pa.RecordBatch] = []
        n = 0
        for batch in _scan(store, name):
            pending.append(batch)
            n += batch.num_rows
            if n >= batch_rows:
                reports.append(lake.append_new(target, pa.Table.from_batches(pending)))
                pending, n = [], 0
        if pending:
            reports.append(lake.append_new(target, pa.Table.from_batches(pending)))
        out[name] = _sum_reports(target, reports)
    now = clock()
    settings = [
        {"key": k, "value": v, "exported_utc": now}
        for k in SqlStore.SETTINGS
        if (v := store.setting(k)) is not None
    ]
    target = LEDGER_PREFIX + "settings"
    out["settings"] = _sum_reports(
        target,
        [lake.append_new(target, pa.Table.from_pylist(settings, schema=TABLES[target].schema))]
        if settings
        else [],
    )
    return out


def _scan(store: Store, name: str) -> Iterator[pa.RecordBatch]:
    """The stored rows of ``name`` (``footprints``: the general layout's own rows only; a
    store's scan of it adds the compact ones, which ``event_footprints`` carries)."""
    if name != "footprints":
        yield from store.scan(name)
        return
    spec = LEDGER_TABLES["footprints"]
    cols = ", ".join(spec.read_schema.names)
    yield from store.query_arrow(
        f"SELECT {cols} FROM footprints", [], spec.read_schema
    ).to_batches()


def _sum_reports(table: str, reports: list[AppendReport]) -> AppendReport:
    snaps = [r.snapshot_id for r in reports if r.snapshot_id is not None]
    return AppendReport(
        table,
        sum(r.received for r in reports),
        sum(r.appended for r in reports),
        sum(r.skipped for r in reports),
        snaps[-1] if snaps else None,
    )


def read_period(
    lake: Lake,
    *,
    start_utc: datetime | None,
    end_utc: datetime | None,
    tenant: str | None = None,
) -> dict[str, pa.Table]:
    """The rows of the lake's ledger tables a report of ``[start_utc, end_utc)`` (of
    ``tenant``, else every tenant) reads, by ledger table (see the module docstring for
    what is pruned).  ``None`` bounds: every day."""
    whole, _, _ = _read_period(lake, start_utc=start_utc, end_utc=end_utc, tenant=tenant)
    return whole


#: The tables a snapshot streams from the scan into the ledger instead of reading whole: a
#: period's events and compact footprints, the rows that grow with the fleet.
_STREAMED = ("events", "event_footprints")


def _read_period(
    lake: Lake,
    *,
    start_utc: datetime | None,
    end_utc: datetime | None,
    tenant: str | None,
    stream: tuple[str, ...] = (),
) -> tuple[dict[str, pa.Table], dict[str, Iterator[pa.Table]], dict[str, pa.Table]]:
    """(tables read whole, the ``stream`` tables as lazy streams of the period's batches,
    the corrections of those to load where their key is not loaded yet): what
    :func:`read_period` reads, the ``stream`` tables not held whole."""
    out: dict[str, pa.Table] = {}
    streams: dict[str, Iterator[pa.Table]] = {}
    if_new: dict[str, pa.Table] = {}
    bounded = start_utc is not None or end_utc is not None
    for name, day, _ in LEDGER_MIRROR:
        target = LEDGER_PREFIX + name
        spec = TABLES[target]
        equals: dict[str, Any] = {"tenant": tenant} if tenant and name in _TENANTED else {}
        if name in ("footprint_items", "footprint_totals"):
            continue  # the children of the general footprints read below
        if day is None or name in _WHOLE or name == "intensity":
            # contexts, their items and the intensity intervals (an annual factor's interval
            # starts before the period it covers) are read whole; runs, storage and
            # transfers of the tenant too (small)
            out[name] = lake.read(target, equals=equals)
            continue
        if name in stream:
            streams[name] = lake.read_batches(
                target, start_utc=start_utc, end_utc=end_utc, equals=equals
            )
            if bounded:
                if_new[name] = lake.read(target, equals=equals, not_null=("supersedes",))
            continue
        rows = lake.read(target, start_utc=start_utc, end_utc=end_utc, equals=equals)
        if bounded:
            corrections = lake.read(target, equals=equals, not_null=("supersedes",))
            rows = _first_per_key(pa.concat_tables([rows, corrections]), spec.key or ())
        out[name] = rows
    ids = out["footprints"].column("footprint_id")
    for name in ("footprint_items", "footprint_totals"):
        target = LEDGER_PREFIX + name
        out[name] = (
            lake.read(target, equals={"footprint_id": pc.unique(ids).to_pylist()})
            if len(ids)
            else TABLES[target].schema.empty_table()
        )
    return out, streams, if_new


def _settings(lake: Lake) -> dict[str, str]:
    """The service's settings as last exported (the latest ``exported_utc`` per key)."""
    rows = lake.read(LEDGER_PREFIX + "settings").to_pylist()
    latest: dict[str, tuple[datetime, str]] = {}
    for r in rows:
        if r["key"] not in latest or r["exported_utc"] >= latest[r["key"]][0]:
            latest[r["key"]] = (r["exported_utc"], r["value"])
    return {k: v for k, (_, v) in latest.items()}


@dataclass(frozen=True)
class LakeSnapshot:
    """What :func:`snapshot_store` read: the lake, the period's bounds, the tenant, the rows
    loaded per ledger table and the snapshot id of each lake table read."""

    lake: str
    start_utc: datetime | None
    end_utc: datetime | None
    tenant: str | None
    rows: Mapping[str, int]
    snapshot_ids: Mapping[str, int | None]

    @property
    def label(self) -> str:
        span = (
            "every day"
            if self.start_utc is None and self.end_utc is None
            else f"{_iso(self.start_utc)}..{_iso(self.end_utc)}"
        )
        return f"lake {self.lake} (snapshot of {span})"


def _iso(t: datetime | None) -> str:
    return "" if t is None else t.isoformat().replace("+00:00", "Z")


def snapshot_store(
    lake: Lake,
    *,
    start_utc: datetime | None,
    end_utc: datetime | None,
    tenant: str | None = None,
) -> tuple[DuckDBStore, LakeSnapshot]:
    """An in-memory DuckDB ledger holding what :func:`read_period` reads (and the settings
    last exported), with its hourly rollups built; and what was read.  Close the store."""
    from infercarbon.ledger.duckdb_store import DuckDBStore

    if start_utc is not None and end_utc is not None and end_utc <= start_utc:
        raise InputError("the period's end must be after its start", field="period")
    snaps = {
        LEDGER_PREFIX + n: lake.snapshot_id(LEDGER_PREFIX + n)
        for n in (*(m for m, _, _ in LEDGER_MIRROR), "settings")
    }
    tables, streams, if_new = _read_period(
        lake, start_utc=start_utc, end_utc=end_utc, tenant=tenant, stream=_STREAMED
    )
    settings = _settings(lake)
    store = DuckDBStore(":memory:")
    try:
        # the period's events and footprints go from the scan into the ledger batch by
        # batch: the snapshot holds them once, in DuckDB's storage, not also as Arrow
        counts = store.load_rows(tables, streams=streams, if_new=if_new)
        for k, v in settings.items():
            store.set_setting(k, v)
    except BaseException:
        store.close()
        raise
    return store, LakeSnapshot(lake.uri, start_utc, end_utc, tenant, counts, snaps)


def read_subject(lake: Lake, footprint_id: str) -> dict[str, pa.Table]:
    """The lake's ledger rows that ``audit show`` needs for one exported footprint: every
    footprint of its subject (event or aggregate) and tenant in either layout, with their
    contexts, items and totals, and the subject's events.  The footprint is found by its id
    (:meth:`Lake.find`: the id column read by DuckDB); the subject's rows by tenant
    partition and event id.
    Raises FootprintNotFoundError when no exported footprint has the id."""
    from infercarbon.errors import FootprintNotFoundError

    out = {name: TABLES[LEDGER_PREFIX + name].schema.empty_table() for name, _, _ in LEDGER_MIRROR}
    found: dict[str, Any] | None = None
    for name, subject in (("event_footprints", "event_id"), ("footprints", "aggregate_key")):
        cols = ["tenant", "event_id", *([subject] if subject != "event_id" else [])]
        hit = lake.find(LEDGER_PREFIX + name, "footprint_id", footprint_id, cols)
        if hit.num_rows:
            row = hit.slice(0, 1).to_pylist()[0]
            found = {
                "tenant": row["tenant"],
                "event_id": row["event_id"],
                "aggregate_key": row.get("aggregate_key"),
            }
            break
    if found is None:
        raise FootprintNotFoundError(
            f"the lake's exported ledger has no footprint {footprint_id!r} "
            "(`infercarbon lake export` copies a ledger's footprints into it)"
        )
    tenant, event_id = found["tenant"], found["event_id"]
    subject_eq: dict[str, Any] = (
        {"tenant": tenant, "event_id": event_id}
        if event_id is not None
        else {"tenant": tenant, "aggregate_key": found["aggregate_key"]}
    )
    if event_id is not None:
        out["event_footprints"] = lake.read(LEDGER_PREFIX + "event_footprints", equals=subject_eq)
        out["events"] = lake.read(LEDGER_PREFIX + "events", equals=subject_eq)
    out["footprints"] = lake.read(LEDGER_PREFIX + "footprints", equals=subject_eq)
    ids = out["footprints"].column("footprint_id").to_pylist()
    for name in ("footprint_items", "footprint_totals"):
        if ids:
            out[name] = lake.read(LEDGER_PREFIX + name, equals={"footprint_id": ids})
    ctx = pc.unique(out["event_footprints"].column("context_id")).to_pylist()
    if ctx:
        for name in ("footprint_contexts", "footprint_context_items"):
            out[name] = lake.read(LEDGER_PREFIX + name, equals={"context_id": ctx})
    return out


def footprint_store(lake: Lake, footprint_id: str) -> DuckDBStore:
    """An in-memory DuckDB ledger holding one exported footprint's subject
    (:func:`read_subject`), on which the ledger's own ``audit show`` runs unchanged: the
    same derivation, hash check and chain as on the ledger it was exported from.  Close
    the store."""
    from infercarbon.ledger.duckdb_store import DuckDBStore

    tables = read_subject(lake, footprint_id)
    store = DuckDBStore(":memory:")
    try:
        store.load_rows(tables)
    except BaseException:
        store.close()
        raise
    return store
