"""``infercarbon report``: the period's emissions report for a CSRD assurer.

::

    infercarbon report --period 2026-Q3 --ledger ledger.duckdb --format html --out q3.html
    infercarbon report --period 2026-07-01..2026-09-30 --ledger postgresql://... --format json
    infercarbon report --period 2026 --ledger ledger.duckdb --format csv --tenant acme
    infercarbon report --period 2026-07 --catalog lake/ --format html     # the Iceberg lake
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from infercarbon.cli._server import KeyOpt, ServerOpt, get
from infercarbon.errors import InputError

if TYPE_CHECKING:
    from infercarbon.report.tables import Table

LEDGER_ENV = "INFERCARBON_LEDGER"


def resolve_ledger(ledger: str | None) -> str:
    """The ledger to open: ``--ledger`` or $INFERCARBON_LEDGER; a DuckDB file must exist
    (reading a mistyped path must not create an empty ledger)."""
    target = ledger or os.environ.get(LEDGER_ENV)
    if not target:
        raise InputError(f"give --ledger PATH|postgresql://... or set {LEDGER_ENV}", field="ledger")
    if target.startswith(("postgresql://", "postgres://")) or target == ":memory:":
        return target
    path = target.removeprefix("duckdb://")
    if not Path(path).expanduser().is_file():
        raise InputError(f"no ledger file at {path!r}", field="ledger")
    return target


def report(
    period: Annotated[
        str, typer.Option("--period", help="2026-Q3, 2026-09, 2026, 2026-09-14 or START..END (UTC)")
    ],
    ledger: Annotated[
        str | None,
        typer.Option("--ledger", help=f"DuckDB file or postgresql:// URL (default: ${LEDGER_ENV})"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html, csv or json")] = "html",
    out: Annotated[
        Path | None, typer.Option("--out", help="write to this file (default: standard output)")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="report one tenant only (default: every tenant)")
    ] = None,
    task_metrics: Annotated[
        Path | None,
        typer.Option(
            "--task-metrics",
            help="CSV model,metric,value[,source]: adds g CO2e per metric point "
            "per model (accuracy per watt).",
        ),
    ] = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="report from the Iceberg lake's ledger tables (`lake export`): the "
            "period's day partitions (and the tenant's) read into an in-memory ledger; "
            "every format, the same sections",
        ),
    ] = None,
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", help="warehouse URI for a postgresql:// catalog")
    ] = None,
) -> None:
    """Energy (MWh), Scope 2 location/market, Scope 3, ESRS E1 table, inventory, methodology.

    While ``infercarbon serve`` holds a DuckDB ledger, give ``--server URL --key KEY``: the
    server builds the same report from the ledger it holds.  With ``--catalog`` the same
    report comes from the lake's copy of the ledger (``infercarbon lake export``), reading
    only the period's partitions."""
    if catalog is not None and (ledger is not None or server is not None):
        raise InputError(
            "give one source: --catalog (the lake), --ledger or --server", field="catalog"
        )
    from infercarbon.ledger import open_store
    from infercarbon.report import FORMATS, build_report, parse_period, render

    if fmt not in FORMATS:
        raise InputError(f"must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format")
    p = parse_period(period)
    metrics = None
    if task_metrics is not None:
        from infercarbon.decisions.accuracy import read_task_metrics

        metrics = read_task_metrics(task_metrics)
    if server is not None:
        if metrics is not None:
            raise InputError(
                "--task-metrics is read locally: use it with --ledger, not --server",
                field="task-metrics",
            )
        text = get(
            server, key, "/v1/report", {"period": period, "format": fmt, "tenant": tenant}
        ).text
        if out is None:
            sys.stdout.write(text)
            return
        _write(out, text)
        typer.echo(f"wrote {out} ({fmt}, period {p.label}, from {server})", err=True)
        return
    label = None
    now = datetime.now(UTC)
    extra: tuple[Table, ...] = ()
    if catalog is not None:
        from infercarbon.cli.lake import account_job_table, lake_snapshot

        job = account_job_table(catalog, warehouse, p, tenant, now)
        extra = () if job is None else (job,)
        store, label = lake_snapshot(catalog, warehouse, p.start_utc, p.end_utc, tenant)
    else:
        store = open_store(resolve_ledger(ledger))
    try:
        rep = build_report(
            store,
            p,
            tenant=tenant,
            generated_utc=now,
            task_metrics=metrics,
            ledger_label=label,
            extra_tables=extra,
        )
    finally:
        store.close()
    text = render(rep, fmt)
    if out is None:
        sys.stdout.write(text)
        return
    _write(out, text)
    n = next(
        (
            r["value"]
            for t in rep.tables
            if t.name == "energy"
            for r in t.rows
            if r["quantity"] == "inferences in period"
        ),
        0,
    )
    job = next((t for t in rep.tables if t.name == "lake_account_job"), None)
    also = (
        ""
        if job is None
        else f", and {job.rows[-1]['events']} footprint(s) of the lake's account job"
    )
    typer.echo(
        f"wrote {out} ({fmt}, period {p.label}, {n} inference(s), status: "
        f"{rep.meta['status']}{also})",
        err=True,
    )


def _write(out: Path, text: str) -> None:
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the report to {out}: {exc}", field="out") from exc


def register(app: typer.Typer) -> None:
    app.command("report")(report)
