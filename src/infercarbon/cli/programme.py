"""``infercarbon programme``: the AI carbon programme's four artefacts, the maturity level,
training on the books, the fleet, the hidden drivers, and run imports.

::

    infercarbon programme init --ledger L [--out inventory.toml]
    infercarbon programme plan --inventory inventory.toml --ledger L [--json | --format html]
    infercarbon programme estimate --inventory inventory.toml --ledger L \\
        --cloud-export aws-ccft=ccft.csv [--record]
    infercarbon programme gaps --inventory inventory.toml --ledger L [--fleet fleet.toml] --json
    infercarbon programme maturity --ledger L --json
    infercarbon programme training --ledger L
    infercarbon programme fleet fleet.toml
    infercarbon programme drivers --ledger L [--fleet fleet.toml]
    infercarbon programme import codecarbon emissions.csv --ledger L --model M --tz UTC

Output is Markdown by default, ``--format html`` for HTML, ``--json`` for the JSON data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from infercarbon.cli._common import print_json
from infercarbon.cli.report import resolve_ledger
from infercarbon.errors import InputError

programme_app = typer.Typer(
    help="The AI carbon programme: inventory, plan, first-cut estimate, gaps, maturity.",
    no_args_is_help=True,
)

LedgerOpt = Annotated[
    str | None,
    typer.Option(
        "--ledger", help="DuckDB file or postgresql:// URL (default: $INFERCARBON_LEDGER)"
    ),
]
InventoryOpt = Annotated[
    Path | None, typer.Option("--inventory", help="inventory TOML (programme init writes one)")
]
FleetOpt = Annotated[Path | None, typer.Option("--fleet", help="fleet TOML (devices, refresh)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the JSON data")]
FormatOpt = Annotated[str, typer.Option("--format", help="markdown or html")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="write to this file")]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="one tenant only")]


@contextmanager
def _facts(ledger: str | None, tenant: str | None) -> Iterator[Any]:
    from infercarbon.ledger import open_store
    from infercarbon.programme import LedgerFacts, read_facts

    now = datetime.now(UTC)
    if ledger is None and not _env_ledger():
        yield LedgerFacts(as_of_utc=now)
        return
    store = open_store(resolve_ledger(ledger))
    try:
        yield read_facts(store, as_of_utc=now, tenant=tenant)
    finally:
        store.close()


def _env_ledger() -> bool:
    import os

    from infercarbon.cli.report import LEDGER_ENV

    return bool(os.environ.get(LEDGER_ENV))


def _inventory(path: Path | None, facts: Any) -> Any:
    from infercarbon.programme import Inventory, load_inventory

    inv = Inventory() if path is None else load_inventory(path)
    return inv.with_ledger(facts)


def _fleet(path: Path | None) -> dict[str, Any] | None:
    from infercarbon.programme import fleet_schedule, load_fleet

    return None if path is None else fleet_schedule(load_fleet(path))


def _fleet_hardware(path: Path | None) -> set[str] | None:
    from infercarbon.programme import load_fleet

    return None if path is None else {d.name for d in load_fleet(path).devices}


def _emit(
    data: Any, doc: Callable[[Any], dict[str, Any]], json_out: bool, fmt: str, out: Path | None
) -> None:
    from infercarbon.programme.render import to_html, to_markdown

    if fmt not in ("markdown", "html"):
        raise InputError(f"must be markdown or html, got {fmt!r}", field="--format")
    if json_out:
        if out is None:
            print_json(data)
            return
        text = json.dumps(data, indent=2, default=str) + "\n"
    else:
        text = (to_html if fmt == "html" else to_markdown)(doc(data))
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}", field="--out") from exc
    typer.echo(f"wrote {out}", err=True)


def _cells(inv: Any, facts: Any, fleet: Path | None) -> list[Any]:
    from infercarbon.programme import assess

    return assess(inv, facts, fleet_hardware=_fleet_hardware(fleet))


@programme_app.command("init")
def init(
    ledger: LedgerOpt = None,
    out: OutOpt = None,
    tenant: TenantOpt = None,
    organisation: Annotated[str | None, typer.Option("--organisation")] = None,
) -> None:
    """Write an inventory template: the systems seen in the ledger pre-filled."""
    from infercarbon.programme import template

    with _facts(ledger, tenant) as facts:
        text = template(facts, organisation=organisation)
    if out is None:
        sys.stdout.write(text)
        return
    if out.exists():
        raise InputError(f"{out} exists; not overwritten (give another --out)", field="--out")
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@programme_app.command("plan")
def plan(
    inventory: InventoryOpt = None,
    ledger: LedgerOpt = None,
    fleet: FleetOpt = None,
    tenant: TenantOpt = None,
    json_out: JsonOpt = False,
    fmt: FormatOpt = "markdown",
    out: OutOpt = None,
) -> None:
    """Measurement plan: per system x category, the instrument, cadence and GHG boundary."""
    from infercarbon.programme import measurement_plan
    from infercarbon.programme.views import plan_doc

    with _facts(ledger, tenant) as facts:
        inv = _inventory(inventory, facts)
        data = measurement_plan(inv, _cells(inv, facts, fleet))
    _emit(data, plan_doc, json_out, fmt, out)


@programme_app.command("gaps")
def gaps(
    inventory: InventoryOpt = None,
    ledger: LedgerOpt = None,
    fleet: FleetOpt = None,
    tenant: TenantOpt = None,
    json_out: JsonOpt = False,
    fmt: FormatOpt = "markdown",
    out: OutOpt = None,
) -> None:
    """Gap analysis: measured, modelled and excluded shares per category; the weakest."""
    from infercarbon.programme import gap_analysis
    from infercarbon.programme.views import gaps_doc

    with _facts(ledger, tenant) as facts:
        inv = _inventory(inventory, facts)
        data = gap_analysis(_cells(inv, facts, fleet))
    _emit(data, gaps_doc, json_out, fmt, out)


@programme_app.command("maturity")
def maturity(
    inventory: InventoryOpt = None,
    ledger: LedgerOpt = None,
    fleet: FleetOpt = None,
    tenant: TenantOpt = None,
    json_out: JsonOpt = False,
    fmt: FormatOpt = "markdown",
    out: OutOpt = None,
) -> None:
    """Maturity level 1-5 (seed 001's rubric) with evidence per criterion."""
    from infercarbon.programme import maturity as level
    from infercarbon.programme.views import maturity_doc

    with _facts(ledger, tenant) as facts:
        inv = _inventory(inventory, facts)
        data = level(inv, facts, _cells(inv, facts, fleet))
    _emit(data, maturity_doc, json_out, fmt, out)


@programme_app.command("estimate")
def estimate(
    inventory: InventoryOpt = None,
    ledger: LedgerOpt = None,
    tenant: TenantOpt = None,
    cloud_export: Annotated[
        list[str] | None,
        typer.Option(
            "--cloud-export",
            help="FORMAT=PATH: aws-ccft, gcp-carbon-footprint or "
            "azure-emissions-impact (repeatable)",
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record", help="store the estimate's summary in the ledger (maturity evidence)"
        ),
    ] = False,
    json_out: JsonOpt = False,
    fmt: FormatOpt = "markdown",
    out: OutOpt = None,
) -> None:
    """First-cut estimate from inventory volumes, grid factors and provider exports."""
    from infercarbon.programme import ESTIMATE_SETTING, first_cut_estimate, read_cloud_export
    from infercarbon.programme.views import estimate_doc

    rows: list[dict[str, Any]] = []
    for spec in cloud_export or []:
        fmt_name, sep, path = spec.partition("=")
        if not sep:
            raise InputError("give FORMAT=PATH, e.g. aws-ccft=ccft.csv", field="--cloud-export")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}", field="--cloud-export") from exc
        rows += read_cloud_export(fmt_name, text, path=path)
    if record and ledger is None and not _env_ledger():
        raise InputError(
            "--record stores the estimate in the ledger: give --ledger", field="--record"
        )
    now = datetime.now(UTC)
    with _facts(ledger, tenant) as facts:
        inv = _inventory(inventory, facts)
        data = first_cut_estimate(inv, facts, cloud_rows=rows, generated_utc=now)
    if record:
        from infercarbon.ledger import open_store

        store = open_store(resolve_ledger(ledger))
        try:
            store.set_setting(
                ESTIMATE_SETTING,
                json.dumps(
                    {
                        "generated_utc": data["generated_utc"],
                        "systems": data["systems"],
                        "systems_estimated": data["systems_estimated"],
                        "total_t_per_year": data["total_t_per_year"],
                        "inventory": data["inventory"],
                    }
                ),
            )
        finally:
            store.close()
    _emit(data, estimate_doc, json_out, fmt, out)


@programme_app.command("training")
def training(
    ledger: LedgerOpt = None,
    tenant: TenantOpt = None,
    json_out: JsonOpt = False,
    fmt: FormatOpt = "markdown",
    out: OutOpt = None,
) -> None:
    """Training on the books: per lineage, every run (failed included), amortised."""
    from infercarbon.programme import training_lines
    from infercarbon.programme.views import training_doc

    with _facts(ledger, tenant) as facts:
        data = training_lines(facts.runs, facts.models, as_of_utc=facts.as_of_utc)
    _emit(data, training_doc, json_out, fmt, out)


@programme_app.command("fleet")
def fleet(
    path: Annotated[Path, typer.Argument(help="fleet TOML")],
    json_out: JsonOpt = False,
    fmt: FormatOpt = "markdown",
    out: OutOpt = None,
) -> None:
    """Annual embodied (acquisition vs amortised), refresh schedule, embodied share."""
    from infercarbon.programme.views import fleet_doc

    data = _fleet(path)
    _emit(data, fleet_doc, json_out, fmt, out)


@programme_app.command("drivers")
def drivers(
    ledger: LedgerOpt = None,
    fleet: FleetOpt = None,
    tenant: TenantOpt = None,
    json_out: JsonOpt = False,
    fmt: FormatOpt = "markdown",
    out: OutOpt = None,
) -> None:
    """The five hidden drivers, each with value, range, source and the seed-range flag."""
    from infercarbon.programme import hidden_drivers
    from infercarbon.programme.views import drivers_doc

    with _facts(ledger, tenant) as facts:
        data = hidden_drivers(facts, _fleet(fleet))
    _emit(data, drivers_doc, json_out, fmt, out)


@programme_app.command("import")
def import_runs(
    fmt: Annotated[str, typer.Argument(help="codecarbon, sacct, csv, storage or transfers")],
    path: Annotated[Path, typer.Argument(help="the file to import")],
    ledger: Annotated[str, typer.Option("--ledger", help="DuckDB file or postgresql:// URL")],
    model: Annotated[str | None, typer.Option("--model")] = None,
    run_kind: Annotated[str, typer.Option("--run-kind")] = "train",
    system: Annotated[str | None, typer.Option("--system")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="sacct: the cluster's grid region")
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="zone of times written without an offset (CodeCarbon, Slurm)"),
    ] = None,
    tenant: Annotated[str, typer.Option("--tenant")] = "default",
) -> None:
    """Import runs (CodeCarbon emissions.csv, Slurm sacct, plain CSV) or storage/transfer
    records (CSV with the table's columns) into the ledger."""
    from infercarbon.ledger import open_store
    from infercarbon.programme import read_runs
    from infercarbon.programme.importers import read_table_csv

    if fmt in ("storage", "transfers"):
        rows = read_table_csv(fmt, path, tenant=tenant)
    else:
        if fmt in ("codecarbon", "sacct") and not model:
            raise InputError("give --model (the model the runs train)", field="--model")
        kw: dict[str, Any] = {"tenant": tenant}
        if fmt != "csv":
            kw.update(model=model, kind=run_kind, system=system, tz=tz)
            if fmt == "sacct":
                kw["region"] = region
        rows = read_runs(fmt, path, **kw)
    store = open_store(ledger)
    try:
        res = (
            store.append_storage(rows)
            if fmt == "storage"
            else store.append_transfers(rows)
            if fmt == "transfers"
            else store.append_runs(rows)
        )
    finally:
        store.close()
    typer.echo(
        f"{fmt}: {res.received} row(s) read, {res.inserted} new, {res.duplicates} already stored"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(programme_app, name="programme")
