"""``infercarbon lake``: the Iceberg ledger: create, load, ingest through the spool, commit.

::

    infercarbon lake init --catalog lake/
    infercarbon lake load readings readings.parquet --catalog lake/
    infercarbon lake ingest events.parquet --spool spool/        # a replica: prints the ack
    infercarbon lake commit --spool spool/ --catalog lake/       # the one committer
    infercarbon lake stats --catalog lake/                       # rows, bytes, bytes per row
    infercarbon lake export --ledger ledger.duckdb --catalog lake/   # a ledger into the lake
    infercarbon lake totals --period 2026-07 --catalog lake/     # the account job's totals
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from infercarbon.cli._common import print_json
from infercarbon.cli.jobs import CatalogOpt, WarehouseOpt, open_catalog
from infercarbon.errors import InputError

if TYPE_CHECKING:
    from infercarbon.ledger.base import Store
    from infercarbon.ledger.lake import Lake
    from infercarbon.report.period import Period
    from infercarbon.report.tables import Table

lake_app = typer.Typer(
    help="The Iceberg ledger: init, load, ingest (spool), commit, export, stats, totals.",
    no_args_is_help=True,
)


def _need(catalog: str | None, warehouse: str | None) -> Lake:
    lake = open_catalog(catalog, warehouse)
    if lake is None:
        raise InputError(
            "give --catalog (a directory, sqlite:///FILE or postgresql://...)", field="catalog"
        )
    return lake


@lake_app.command("init")
def init(catalog: CatalogOpt = None, warehouse: WarehouseOpt = None) -> None:
    """Create the namespace and every table (idempotent)."""
    lake = _need(catalog, warehouse)
    print_json({"catalog": catalog, "tables": sorted(lake.tables())})


@lake_app.command("load")
def load(
    table: Annotated[str, typer.Argument(help="events, readings or intensity")],
    path: Annotated[Path, typer.Argument(help="Parquet file or directory")],
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Append a Parquet file's rows to a lake table, exactly once on the table's key."""
    from infercarbon.jobs.io import read_source

    if table not in ("events", "readings", "intensity"):
        raise InputError(f"load takes events, readings or intensity, got {table!r}", field="table")
    lake = _need(catalog, warehouse)
    src = read_source(str(path), table, None)
    rep = lake.append_new(table, src.table)
    print_json(rep.__dict__)


@lake_app.command("ingest")
def ingest(
    path: Annotated[Path, typer.Argument(help="events as Parquet (a file or directory)")],
    spool: Annotated[Path, typer.Option("--spool", help="the spool directory")],
) -> None:
    """A replica's write: the events become one durable spool batch; prints its id (the
    acknowledgement) only after the batch is fsynced."""
    from infercarbon.jobs.io import read_source
    from infercarbon.ledger.spool import SpoolWriter

    src = read_source(str(path), "events", None)
    batch = SpoolWriter(spool).write(src.table)
    print_json({"ack": batch, "events": src.table.num_rows})


@lake_app.command("commit")
def commit(
    spool: Annotated[Path, typer.Option("--spool", help="the spool directory")],
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
    max_batches: Annotated[int, typer.Option("--max-batches", help="batches per commit")] = 1000,
    until_empty: Annotated[
        bool, typer.Option("--until-empty", help="repeat until no batch is ready")
    ] = False,
) -> None:
    """Commit the spool's ready batches into the lake's events table, exactly once."""
    from infercarbon.ledger.spool import commit_spool, sweep_incoming

    lake = _need(catalog, warehouse)
    total = []
    while True:
        rep = commit_spool(lake, spool, now=lambda: datetime.now(UTC), max_batches=max_batches)
        total.append(rep.__dict__)
        if not until_empty or rep.batches == 0:
            break
    print_json({"commits": total, "stale_tmp_removed": sweep_incoming(spool, now_s=time.time())})


@lake_app.command("stats")
def stats(catalog: CatalogOpt = None, warehouse: WarehouseOpt = None) -> None:
    """Rows, data bytes and bytes per row of each table's current snapshot."""
    lake = _need(catalog, warehouse)
    out = {}
    for name in sorted(lake.tables()):
        size, rows = lake.data_bytes(name)
        out[name] = {
            "rows": rows,
            "bytes": size,
            "bytes_per_row": size / rows if rows else None,
            "snapshot_id": lake.snapshot_id(name),
        }
    print_json(out)


def show_cli(footprint_id: str, catalog: str, warehouse: str | None) -> None:
    """``audit show ID --catalog``: a lake footprint's record as JSON."""
    from infercarbon.ledger.lake import show_footprint

    print_json(_jsonable(show_footprint(_need(catalog, warehouse), footprint_id)))


def is_job_footprint_id(footprint_id: str) -> bool:
    """Whether ``footprint_id`` names a lake job's footprint (``fp_<12 hex>_<event id>``)
    rather than a ledger's (``fp_<32 hex>``, exported by ``lake export``)."""
    return len(footprint_id) > 16 and footprint_id.startswith("fp_") and footprint_id[15] == "_"


def exported_store(footprint_id: str, catalog: str, warehouse: str | None) -> Store:
    """``audit show ID --catalog``: an in-memory ledger holding the exported footprint's
    subject, for the ledger's own ``audit show``."""
    from infercarbon.ledger.lake_snapshot import footprint_store

    lake = _need_existing(catalog, warehouse)
    try:
        return footprint_store(lake, footprint_id)
    finally:
        lake.close()


def account_job_table(
    catalog: str, warehouse: str | None, period: Period, tenant: str | None, now: datetime
) -> Table | None:
    """``report --catalog``: the account job's footprints of the period as a report table
    (None when the lake's footprints table holds none in it)."""
    from infercarbon.report.lake import account_job_table as table

    lake = _need_existing(catalog, warehouse)
    try:
        return table(lake, period, tenant=tenant, generated_utc=now)
    finally:
        lake.close()


def lake_snapshot(
    catalog: str,
    warehouse: str | None,
    start_utc: datetime | None,
    end_utc: datetime | None,
    tenant: str | None,
) -> tuple[Store, str]:
    """``report --catalog`` and ``serve --catalog``: an in-memory ledger holding the lake's
    ledger rows of ``[start_utc, end_utc)`` (None: every day), and its label."""
    from infercarbon.ledger.lake_snapshot import snapshot_store

    lake = _need_existing(catalog, warehouse)
    try:
        store, snap = snapshot_store(lake, start_utc=start_utc, end_utc=end_utc, tenant=tenant)
    finally:
        lake.close()
    rows = snap.rows.get("events", 0)
    typer.echo(f"infercarbon: {snap.label}: {rows} event(s) read", err=True)
    return store, snap.label


def _need_existing(catalog: str, warehouse: str | None) -> Lake:
    from infercarbon.ledger.lake import open_lake

    return open_lake(catalog, warehouse=warehouse, create=False)


@lake_app.command("export")
def export(
    ledger: Annotated[str, typer.Option("--ledger", help="DuckDB file or postgresql:// URL")],
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Copy a ledger's rows (events, footprints of both layouts and their contexts,
    intensity, runs, storage, transfers, settings) into the lake's ``ledger_*`` tables,
    exactly once on each table's key: a re-run appends only what is new.  ``report
    --catalog`` and ``serve --catalog`` read them."""
    from infercarbon.ledger import open_store
    from infercarbon.ledger.lake_snapshot import export_ledger

    if not ledger.startswith(("postgresql://", "postgres://")) and not Path(ledger).is_file():
        raise InputError(f"no ledger file at {ledger!r}", field="ledger")  # none is made
    lake = _need(catalog, warehouse)
    store = open_store(ledger)
    try:
        rep = export_ledger(store, lake, clock=lambda: datetime.now(UTC))
    finally:
        store.close()
        lake.close()
    print_json({k: v.__dict__ for k, v in rep.items()})


@lake_app.command("totals")
def totals(
    period: Annotated[
        str, typer.Option("--period", help="2026-Q3, 2026-09, 2026, 2026-09-14 or START..END (UTC)")
    ],
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="one tenant only")] = None,
) -> None:
    """The period's totals of the ``account`` job's footprints table (JSON), overall and
    per region x tenant, from its day partitions."""
    from infercarbon.report.lake import lake_report
    from infercarbon.report.period import parse_period

    print_json(
        _jsonable(
            lake_report(
                _need(catalog, warehouse),
                parse_period(period),
                tenant=tenant,
                generated_utc=datetime.now(UTC),
            )
        )
    )


def _jsonable(x: object) -> object:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_jsonable(v) for v in x]
    if isinstance(x, datetime):
        return x.isoformat()
    return x


def register(app: typer.Typer) -> None:
    app.add_typer(lake_app, name="lake")
