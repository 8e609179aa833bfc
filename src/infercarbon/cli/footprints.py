"""``infercarbon footprints list``: the ledger's live footprints, filtered, with their ranges.

::

    infercarbon footprints list --ledger ledger.duckdb --period 2026-07 --service chat
    infercarbon footprints list --server http://127.0.0.1:8000 --key $KEY --limit 20 --json

Ids (to feed ``audit show``), subject, and totals by basis with their p5..p95 ranges, newest
first.  While ``infercarbon serve`` holds a DuckDB ledger, give ``--server URL --key KEY``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from infercarbon.cli._common import human_mass_g, print_json
from infercarbon.cli._server import KeyOpt, ServerOpt, get
from infercarbon.cli.report import LEDGER_ENV, resolve_ledger

footprints_app = typer.Typer(help="Stored footprints.", no_args_is_help=True)


@footprints_app.command("list")
def list_footprints(
    ledger: Annotated[
        str | None,
        typer.Option("--ledger", help=f"DuckDB file or postgresql:// URL (default: ${LEDGER_ENV})"),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", help="2026-Q3, 2026-09, 2026-09-14 or START..END (UTC)"),
    ] = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
    server: ServerOpt = None,
    key: KeyOpt = None,
) -> None:
    """List live footprints: ids, event, service, model, totals and ranges (newest first)."""
    from infercarbon.report import parse_period

    p = parse_period(period) if period else None
    start = p.start_utc if p else None
    end = p.end_utc if p else None
    rows: list[dict[str, Any]]
    if server is not None:
        rows = get(
            server,
            key,
            "/v1/footprints/list",
            {
                "tenant": tenant,
                "service": service,
                "model": model,
                "limit": limit,
                "offset": offset,
                "start_utc": start.isoformat() if start else None,
                "end_utc": end.isoformat() if end else None,
            },
        ).json()["rows"]
    else:
        from infercarbon.ledger import open_store
        from infercarbon.service.readers import footprint_list

        store = open_store(resolve_ledger(ledger))
        try:
            rows = footprint_list(
                store,
                tenant=tenant,
                start_utc=start,
                end_utc=end,
                service=service,
                model=model,
                limit=limit,
                offset=offset,
            ).to_pylist()
        finally:
            store.close()
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['footprint_id']}  {r['event_id']}  {r['service']}/{r['model']}  "
            + "  ".join(_basis(r, b) for b in ("location", "market", "marginal"))
        )
    typer.echo(f"{len(rows)} footprint(s)", err=True)


def _basis(r: dict[str, Any], b: str) -> str:
    v = r.get(f"{b}_g")
    if v is None:
        return f"{b} -"
    return (
        f"{b} {human_mass_g(v)} ({human_mass_g(r[f'{b}_low_g'])}..{human_mass_g(r[f'{b}_high_g'])})"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(footprints_app, name="footprints")
