"""``infercarbon audit``: recompute stored footprints, and show one's whole derivation.

::

    infercarbon audit verify --ledger ledger.duckdb            # exit 1 and a line per mismatch
    infercarbon audit verify --ledger ledger.duckdb --id fp_0123...
    infercarbon audit show fp_0123... --ledger ledger.duckdb [--json]
    infercarbon audit verify --run run_... --engine ray --catalog lake/   # a lake job run
    infercarbon audit show fp_... --catalog lake/                         # a lake footprint

``verify`` routes each footprint to the recompute of the calculator that wrote it: the
accounting engine (``footprint(request_from_inputs(inputs))``) or the service's operational
calculator.  Exit status: 0 every figure recomputes, 1 a mismatch or a footprint that could
not be recomputed (each is listed), 2 an error (e.g. no such ledger).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from infercarbon.cli._common import print_json
from infercarbon.cli._server import KeyOpt, ServerOpt, get, stream_lines
from infercarbon.cli.jobs import CatalogOpt, WarehouseOpt
from infercarbon.cli.report import LEDGER_ENV, resolve_ledger
from infercarbon.errors import ConfigurationError, InputError, LedgerError

audit_app = typer.Typer(
    help="Recompute stored figures from their stored inputs; show one.", no_args_is_help=True
)

LedgerOpt = Annotated[
    str | None,
    typer.Option("--ledger", help=f"DuckDB file or postgresql:// URL (default: ${LEDGER_ENV})"),
]


def recomputers() -> dict[str, Any]:
    """Calculator name -> recompute(inputs, factor_versions), for every known calculator."""
    try:
        from infercarbon.service.readers import recomputers as known
    except ImportError as exc:
        raise ConfigurationError(
            f"cannot load the service's footprint calculator to recompute its footprints: {exc}"
        ) from exc
    return known()


@audit_app.command("verify")
def verify(
    ledger: LedgerOpt = None,
    ids: Annotated[
        list[str] | None,
        typer.Option("--id", help="footprint id to verify (repeatable; default: every footprint)"),
    ] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant's")] = None,
    rel_tol: Annotated[
        float, typer.Option("--rel-tol", help="relative tolerance of a recomputed number")
    ] = 1e-12,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    server: ServerOpt = None,
    key: KeyOpt = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="a lake job run: re-run it pinned to its input snapshots and compare "
            "(with --catalog)",
        ),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="--run: local or ray")] = "local",
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Recompute every stored figure from its stored inputs; exit 1 on any mismatch.

    Progress goes to standard error every 10,000 footprints.  With ``--server`` a running
    ``infercarbon serve`` does it on the ledger it holds.  With ``--run ID --catalog URI``
    the lake job run ``ID`` is re-run from its recorded input snapshots with ``--engine``
    and compared with what it wrote."""
    if run is not None:
        from infercarbon.cli.jobs import verify_run_cli

        if not verify_run_cli(run, catalog, warehouse, engine, None, as_json):
            raise typer.Exit(1)
        return
    from infercarbon.ledger import open_store
    from infercarbon.ledger import verify as ledger_verify
    from infercarbon.report.recompute import dispatch

    def progress(n: int, failed: int) -> None:
        typer.echo(f"verified {n} footprint(s) so far, {failed} failed", err=True)

    if server is not None:
        if ids:
            raise InputError(
                "--id is not available with --server; give the footprints' ids to `audit show`",
                field="id",
            )
        rep = None
        for line in stream_lines(
            server, key, "/v1/audit/verify", {"tenant": tenant, "rel_tol": rel_tol}
        ):
            if "progress" in line:
                progress(line["progress"]["checked"], line["progress"]["failed"])
            elif "error" in line:
                raise LedgerError(f"{server}: verification failed: {line['error']}")
            else:
                rep = line["result"]
        if rep is None:
            raise LedgerError(f"{server}: the verification stream ended without a result")
        _print_verify(rep, as_json)
        if not rep["ok"]:
            raise typer.Exit(1)
        return
    store = open_store(resolve_ledger(ledger))
    try:
        res = ledger_verify(
            store,
            dispatch(recomputers()),
            tenant=tenant,
            footprint_ids=ids or None,
            rel_tol=rel_tol,
            progress=progress,
        )
    finally:
        store.close()
    _print_verify(res.to_dict(), as_json)
    if not res.ok:
        raise typer.Exit(1)


def _print_verify(rep: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(rep)
    else:
        for m in rep["mismatches"]:
            typer.echo(
                f"MISMATCH {m['footprint_id']}: {m['field']}: stored {m['stored']!r}, "
                f"recomputed {m['recomputed']!r}"
            )
        for e in rep["errors"]:
            typer.echo(f"ERROR {e['footprint_id']}: {e['error']}")
        if rep["ok"]:
            typer.echo(
                f"ok: {rep['checked']} footprint(s) verified; every stored figure "
                f"recomputes from its stored inputs (rel_tol {rep['rel_tol']:g})"
            )
        else:
            typer.echo(
                f"FAILED: {len(rep['failed'])} of {rep['checked']} footprint(s) did "
                f"not recompute: {', '.join(rep['failed'])}"
            )


def _flat(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out.extend(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, value)]


def _input_line(name: str, v: Any) -> str:
    if isinstance(v, Mapping) and "source" in v:
        dist = v.get("dist")
        if isinstance(dist, Mapping):
            shape = ", ".join(f"{k}={w}" for k, w in dist.items())
        else:
            shape = ", ".join(f"{k}={v[k]}" for k in ("value", "low", "high") if k in v)
        bits = [f"{name} = [{shape}]"]
        if v.get("unit"):
            bits.append(f"unit {v['unit']}")
        bits.append(f"source: {v['source']}")
        bits.extend(
            f"{k}: {v[k]}" for k in ("label", "vintage", "version", "method", "note") if v.get(k)
        )
        return "  " + "; ".join(bits)
    if isinstance(v, Mapping) and v and set(v) <= {"value", "low", "high"}:
        # an event's own figure with its range (its provenance is under assumptions)
        return (
            f"  {name} = ["
            + ", ".join(f"{k}={v[k]}" for k in ("value", "low", "high") if k in v)
            + "]"
        )
    if isinstance(v, Mapping):
        return "\n".join(_input_line(f"{name}.{k}", w) for k, w in v.items())
    return f"  {name} = {json.dumps(v)}"


def render_derivation(d: Mapping[str, Any]) -> str:
    """The derivation of ``audit show`` as plain text."""
    lines = [
        f"footprint {d['footprint_id']}",
        f"  tenant: {d['tenant']}",
        "  subject: " + ", ".join(f"{k} {v}" for k, v in d["subject"].items()),
        f"  period: {d['period_start_utc']} .. {d['period_end_utc']}",
        f"  computed: {d['computed_utc']}  ingested: {d.get('ingested_utc')}",
        f"  calculator: {d['calculator']}",
        f"  supersedes: {d.get('supersedes') or '-'}",
        f"inputs hash: {d['inputs_hash']} ({d['inputs_hash_algorithm']})",
        "  matches stored inputs: "
        + ("yes" if d.get("inputs_hash_matches") else "NO (the stored inputs were altered)"),
        "factor and data versions:",
    ]
    lines += [f"  {k}: {v}" for k, v in sorted(d["factor_versions"].items())]
    lines.append("inputs (with provenance):")
    for k, v in sorted(d["inputs"].items()):
        if v is None:
            continue
        lines.append(_input_line(k, v))
    lines.append(f"energy_j: {d['energy_j']!r}")
    lines.append("line items [g CO2e] (value, p5..p95 low..high, p50):")
    for li in d["line_items"]:
        lines.append(
            f"  {li['name']}: {li['emissions_g']!r} ({li['low_g']!r}..{li['high_g']!r}"
            f", p50 {li.get('p50_g')!r}) scope {li['scope']}, basis {li.get('basis')}, "
            f"{'in total' if li['in_total'] else 'not in total'}, energy_j "
            f"{li.get('energy_j')!r}"
        )
        lines.append(f"      label: {li['label']}; source: {li['source']}")
    lines.append("totals [g CO2e]:")
    for basis, t in d["totals"].items():
        lines.append(
            f"  {basis}: {t['value_g']!r} ({t['low_g']!r}..{t['high_g']!r}, p50 {t.get('p50_g')!r})"
        )
    if d.get("chain"):
        lines.append("chain (every footprint of this subject, oldest first):")
        for c in d["chain"]:
            lines.append(
                f"  {c['footprint_id']} computed {c['computed_utc']} supersedes "
                f"{c['supersedes'] or '-'}{' (live)' if c['live'] else ''}: "
                f"location {c['location_g']!r} g, market {c['market_g']!r} g, "
                f"marginal {c['marginal_g']!r} g"
            )
    return "\n".join(lines)


@audit_app.command("show")
def show(
    footprint_id: Annotated[str, typer.Argument(help="the footprint id (fp_...)")],
    ledger: LedgerOpt = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant's")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the derivation as JSON")] = False,
    server: ServerOpt = None,
    key: KeyOpt = None,
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Print a stored footprint's whole derivation: inputs with provenance, versions, line
    items, totals, the inputs hash and the chain of footprints of its subject.  With
    ``--catalog``: a footprint a ledger exported to the lake (``lake export``) shows the same
    derivation; a lake job's footprint (``fp_<12 hex>_<event id>``) shows its row, context,
    attribution and runs as JSON."""
    from infercarbon.ledger import open_store
    from infercarbon.ledger import show as ledger_show

    if catalog is not None:
        from infercarbon.cli.lake import exported_store, is_job_footprint_id, show_cli

        if is_job_footprint_id(footprint_id):
            show_cli(footprint_id, catalog, warehouse)
            return
        store = exported_store(footprint_id, catalog, warehouse)
        try:
            d = ledger_show(store, footprint_id, tenant=tenant)
        finally:
            store.close()
    elif server is not None:
        d = get(server, key, f"/v1/audit/footprints/{footprint_id}", {}).json()
    else:
        store = open_store(resolve_ledger(ledger))
        try:
            d = ledger_show(store, footprint_id, tenant=tenant)
        finally:
            store.close()
    if as_json:
        print_json(d)
    else:
        typer.echo(render_derivation(d))


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
