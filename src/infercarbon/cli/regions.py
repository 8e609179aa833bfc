"""``infercarbon regions``: list and show the bundled grid-intensity regions.

::

    infercarbon regions list [--kind country] [--search norway] [--format table|tsv|csv|json]
    infercarbon regions show GB [--json]
"""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from infercarbon.cli._common import TextTable, console, print_json, print_table
from infercarbon.errors import InputError
from infercarbon.reference.regions import KINDS, Region, all_regions, normalise_name, resolve_region

regions_app = typer.Typer(
    help="Bundled annual grid carbon intensity by country, sub-national grid, zone and "
    "cloud region.",
    no_args_is_help=True,
)


class OutputFormat(StrEnum):
    table = "table"
    tsv = "tsv"
    csv = "csv"
    json = "json"


def region_record(r: Region) -> dict[str, Any]:
    """A region as a flat, JSON-ready dict (the ``--json`` / ``--format json`` contract)."""
    f = r.intensity_g_per_kwh
    return {
        "region_id": r.region_id,
        "name": r.name,
        "kind": r.kind,
        "intensity_g_per_kwh": f.value,
        "low_g_per_kwh": f.low,
        "high_g_per_kwh": f.high,
        "basis": r.basis,
        "label": f.label,
        "source": f.source,
        "vintage": f.vintage,
        "licence": f.licence,
        "iso2": r.iso2,
        "iso3": r.iso3,
        "country_iso3": r.country_iso3,
        "aliases": list(r.aliases),
        "note": f.note,
    }


def _matches(r: Region, needle: str) -> bool:
    hay = (r.region_id, r.name, *r.aliases)
    return any(needle in normalise_name(h) for h in hay)


def _range_text(r: Region) -> str:
    f = r.intensity_g_per_kwh
    return f"{f.low:.1f}-{f.high:.1f}" if f.has_range else ""


@regions_app.command("list")
def list_regions(
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"Only this kind: {', '.join(KINDS)}.")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Only regions whose id, name or alias contains this text."),
    ] = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            help="Output format; default: a table on a terminal, plain aligned text "
            "when stdout is redirected.",
        ),
    ] = None,
) -> None:
    """List bundled regions with their annual intensity [g/kWh]."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"{kind!r} is not one of {', '.join(KINDS)}", field="--kind")
    rows = [r for r in all_regions() if kind is None or r.kind == kind]
    if search is not None:
        needle = normalise_name(search)
        if not needle:
            raise InputError("give some letters or digits to search for", field="--search")
        rows = [r for r in rows if _matches(r, needle)]
    if output_format is OutputFormat.json:
        print_json([region_record(r) for r in rows])
        return
    if output_format is OutputFormat.csv:
        recs = [region_record(r) for r in rows]
        cols = list(region_record(all_regions()[0]))
        w = csv.DictWriter(sys.stdout, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for rec in recs:
            w.writerow(
                {
                    k: "|".join(v) if isinstance(v, list) else ("" if v is None else v)
                    for k, v in rec.items()
                }
            )
        return
    table = TextTable(
        f"{len(rows)} regions (annual location-based intensity)",
        ["id", "name", "kind", "g/kWh", "range", "basis", "vintage"],
        numeric=frozenset({"g/kWh", "range"}),
    )
    for r in rows:
        f = r.intensity_g_per_kwh
        table.add_row(
            r.region_id, r.name, r.kind, f"{f.value:.1f}", _range_text(r), r.basis, f.vintage or ""
        )
    print_table(table, "auto" if output_format is None else output_format.value)


@regions_app.command("show")
def show_region(
    query: Annotated[str, typer.Argument(help="ISO code, name, zone id or cloud region.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Resolve QUERY and show its intensity, basis, source, vintage, licence and range."""
    r = resolve_region(query)
    rec = region_record(r)
    if as_json:
        print_json(rec)
        return
    f = r.intensity_g_per_kwh
    rng = (
        f"{f.low:.1f} .. {f.high:.1f} g/kWh"
        if f.has_range
        else "none (no honest range in the data)"
    )
    lines = [
        ("region", f"{r.region_id}  {r.name}  ({r.kind})"),
        ("intensity", f"{f.value:.1f} g/kWh ({r.basis} basis, {f.label})"),
        ("range", rng),
        ("source", f.source),
        ("vintage", f.vintage or "not stated"),
        ("licence", f.licence or "not stated"),
    ]
    if r.iso2 or r.iso3:
        lines.append(("iso", f"{r.iso2 or ''} {r.iso3 or ''}".strip()))
    if r.country_iso3 and r.kind != "country":
        lines.append(("country", r.country_iso3))
    if r.aliases:
        lines.append(("aliases", ", ".join(r.aliases)))
    if f.note:
        lines.append(("note", f.note))
    for k, v in lines:
        console.print(f"[bold]{k:>9}[/bold]  {v}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(regions_app, name="regions")
