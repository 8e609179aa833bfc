"""``infercarbon grid market``: market-based intensity from an instruments file.

::

    infercarbon grid market --region ERCOT --instruments ercot_2021.json \\
        --consumption-kwh 8760000 --from 2021-01-01 --to 2022-01-01
    infercarbon grid market --region ERCOT --instruments week.json \\
        --consumption meter.csv --hourly --format json

The market-based figure (GHG Protocol Scope 2) is printed with its coverage breakdown
(PPAs, certificates, supplier factor, residual mix, location fallback), its label, the
instruments rejected by the quality criteria and whether a fallback was taken, *beside* the
location-based figure of the same region and period: the bundled annual figure, and where
a bundled hourly series covers the period, its consumption-weighted mean.  Neither is ever
printed in place of the other.  The file format is in ``docs/instruments.md``.

Without ``--consumption``/``--consumption-kwh`` the file's own ``consumption`` is used.
``--hourly``/``--annual`` override the file's ``matching``.  Instruments failing a quality
criterion are listed as rejected (``--strict`` makes that an error).
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated, Any

import typer

from infercarbon.cli._common import (
    FORMAT_HELP,
    TextTable,
    check_table_format,
    console,
    print_json,
    print_table,
)
from infercarbon.cli.grid import grid_app
from infercarbon.errors import InputError
from infercarbon.grid import catalogue
from infercarbon.grid.instruments import (
    Consumption,
    load_instruments,
    location_over,
    market_from_instruments,
    parse_time_utc,
    read_consumption_csv,
)
from infercarbon.grid.market import MarketResult
from infercarbon.grid.signal import Basis
from infercarbon.provenance import Figure
from infercarbon.reference.regions import resolve_region


def _fig(f: Figure) -> dict[str, Any]:
    lo, hi = f.range
    out: dict[str, Any] = {
        "intensity_g_per_kwh": f.value,
        "low": lo,
        "high": hi,
        "label": f.label,
        "source": f.source,
    }
    for k in ("vintage", "licence", "note"):
        if getattr(f, k) is not None:
            out[k] = getattr(f, k)
    return out


def _consumption(
    consumption_csv: str | None, consumption_kwh: float | None, start: str | None, end: str | None
) -> Consumption | None:
    if consumption_csv is not None:
        if consumption_kwh is not None:
            raise InputError(
                "give --consumption CSV or --consumption-kwh, not both", field="--consumption-kwh"
            )
        if start is not None or end is not None:
            raise InputError(
                "--from/--to go with --consumption-kwh; a --consumption CSV sets its own period",
                field="--from/--to",
            )
        return read_consumption_csv(consumption_csv)
    if consumption_kwh is not None:
        if start is None or end is None:
            raise InputError(
                "--consumption-kwh needs the period: --from and --to (UTC, --to exclusive)",
                field="--from/--to",
            )
        if not consumption_kwh > 0:
            raise InputError(f"must be > 0, got {consumption_kwh:g}", field="--consumption-kwh")
        a, b = parse_time_utc(start, field="--from"), parse_time_utc(end, field="--to")
        if b <= a:
            raise InputError("--to must be after --from", field="--to")
        return Consumption.total(consumption_kwh, a, b, source="--consumption-kwh")
    if start is not None or end is not None:
        raise InputError("--from/--to go with --consumption-kwh", field="--from/--to")
    return None


def market(
    region: Annotated[
        str,
        typer.Option(
            "--region", help="The consumption's region (must be the instruments file's region)."
        ),
    ],
    instruments: Annotated[
        str,
        typer.Option(
            "--instruments", help="Instruments file (.json or .csv); see docs/instruments.md."
        ),
    ],
    consumption_kwh: Annotated[
        float | None, typer.Option("--consumption-kwh", help="Consumption over --from..--to [kWh].")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Period start (UTC), inclusive.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Period end (UTC), exclusive.")] = None,
    consumption_csv: Annotated[
        str | None,
        typer.Option("--consumption", help="CSV with columns time_utc,kwh (interval start, UTC)."),
    ] = None,
    hourly: Annotated[
        bool | None,
        typer.Option(
            "--hourly/--annual",
            help="Hourly CFE matching, or annual volumetric matching "
            "(default: the file's `matching`).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="An instrument failing a quality criterion is an error (default: "
            "rejected and listed).",
        ),
    ] = False,
    basis: Annotated[
        str,
        typer.Option("--basis", help="direct | lifecycle, for the bundled hourly location series."),
    ] = "lifecycle",
    fmt: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
) -> None:
    """Market-based intensity of a region and period, beside the location-based figure."""
    fmt = check_table_format(fmt)
    if basis not in ("direct", "lifecycle"):
        raise InputError(f"must be direct or lifecycle, got {basis!r}", field="--basis")
    b: Basis = "direct" if basis == "direct" else "lifecycle"
    reg = resolve_region(region)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = load_instruments(instruments)
        cons = _consumption(consumption_csv, consumption_kwh, start, end) or f.consumption
        if cons is None:
            raise InputError(
                f"{instruments} has no consumption section: give --consumption "
                "CSV or --consumption-kwh with --from/--to",
                field="--consumption",
            )
        annual = reg.intensity_g_per_kwh
        period: Figure | None = None
        period_note: str | None = None
        if catalogue.series_key(reg.region_id) is None:
            period_note = f"no hourly series is bundled for {reg.region_id}"
        else:
            try:
                period = location_over(catalogue.hourly_location(reg.region_id, b), cons)
            except InputError as exc:
                period_note = f"the bundled hourly series does not cover the period: {exc}"
        res = market_from_instruments(
            f, cons, region=region, hourly=hourly, location=period or annual, strict=strict
        )
    warns = [str(w.message) for w in caught]
    doc = _document(
        reg.region_id, reg.name, res, cons, annual, reg.basis, period, period_note, warns
    )
    if fmt == "json":
        print_json(doc)
    else:
        _render(doc, fmt)
    for w in warns:
        print(f"warning: {w}", file=sys.stderr)


def _document(
    region_id: str,
    name: str,
    r: MarketResult,
    cons: Consumption,
    annual: Figure,
    annual_basis: str,
    period: Figure | None,
    period_note: str | None,
    warns: list[str],
) -> dict[str, Any]:
    total = r.consumption_kwh
    lo, hi = r.figure.range
    return {
        "region": region_id,
        "region_name": name,
        "period": {
            "from_utc": f"{cons.from_utc}Z",
            "to_utc": f"{cons.to_utc}Z",
            "intervals": len(cons.kwh),
            "resolution_s": cons.resolution_s,
        },
        "consumption_kwh": total,
        "consumption_source": cons.source,
        "market": {
            "kind": r.kind,
            "intensity_g_per_kwh": r.figure.value,
            "low": lo,
            "high": hi,
            "label": r.label,
            "fallback": r.fallback,
            "source": r.figure.source,
            "note": r.figure.note,
            "emissions_g": r.emissions_g,
            "matching": "hourly" if r.hourly_cfe_frac is not None else "annual",
            "hourly_cfe_frac": r.hourly_cfe_frac,
            "coverage_kwh": dict(r.coverage_kwh),
            "coverage_frac": {k: v / total for k, v in r.coverage_kwh.items()},
            "surplus_kwh": r.surplus_kwh,
            "rejected": [{"id": i, "reason": why} for i, why in r.rejected],
            "notes": list(r.notes),
        },
        "location": {
            "kind": "location-average",
            "annual": {**_fig(annual), "basis": annual_basis},
            "period": None if period is None else _fig(period),
            "period_note": period_note,
        },
        "warnings": warns,
    }


def _render(d: dict[str, Any], fmt: str = "auto") -> None:
    m, loc = d["market"], d["location"]
    if fmt != "tsv":  # TSV: the two tables alone, for spreadsheets
        console.print(
            f"Market-based and location-based intensity, {d['region_name']} "
            f"({d['region']}), [{d['period']['from_utc']}, "
            f"{d['period']['to_utc']}), consumption {d['consumption_kwh']:.6g} kWh",
            highlight=False,
            markup=False,
        )
    t = TextTable(
        "g CO2e/kWh (market and location are reported side by side, never substituted)",
        ["figure", "g/kWh", "low", "high", "label", "source"],
        numeric=frozenset({"g/kWh", "low", "high"}),
    )
    t.add_row(
        "market-based",
        f"{m['intensity_g_per_kwh']:.2f}",
        f"{m['low']:.2f}",
        f"{m['high']:.2f}",
        m["label"],
        m["source"],
    )
    if loc["period"] is not None:
        p = loc["period"]
        t.add_row(
            "location-based (hourly series, this period)",
            f"{p['intensity_g_per_kwh']:.2f}",
            f"{p['low']:.2f}",
            f"{p['high']:.2f}",
            p["label"],
            p["source"],
        )
    a = loc["annual"]
    t.add_row(
        "location-based (annual)",
        f"{a['intensity_g_per_kwh']:.2f}",
        f"{a['low']:.2f}",
        f"{a['high']:.2f}",
        a["label"],
        f"{a['source']} ({a.get('vintage', '')})",
    )
    c = TextTable(
        "Coverage of the consumption (hierarchy: PPA, certificates, supplier "
        "factor, residual mix, location fallback)",
        ["covered by", "kWh", "share"],
        numeric=frozenset({"kWh", "share"}),
    )
    for k, v in m["coverage_kwh"].items():
        c.add_row(k, f"{v:.6g}", f"{m['coverage_frac'][k]:.1%}")
    if fmt == "tsv":
        sys.stdout.write(f"# {t.title}\n{t.tsv()}\n# {c.title}\n{c.tsv()}")
        return
    print_table(t, fmt)
    print_table(c, fmt)
    if m["hourly_cfe_frac"] is not None:
        console.print(f"Hourly CFE score: {m['hourly_cfe_frac']:.1%}", highlight=False)
    if m["surplus_kwh"]:
        console.print(
            f"Surplus instrument energy not carried over: {m['surplus_kwh']:.6g} kWh",
            highlight=False,
        )
    console.print(
        "Fallback: "
        + (
            "location-based figure used for uncovered consumption "
            "(no supplier factor or residual mix)"
            if m["fallback"]
            else "none"
        ),
        highlight=False,
        markup=False,
    )
    if m["rejected"]:
        console.print("Rejected instruments:")
        for r in m["rejected"]:
            console.print(f"  {r['id']}: {r['reason']}", highlight=False, markup=False)
    else:
        console.print("Rejected instruments: none")
    if loc["period_note"]:
        console.print(f"Location series: {loc['period_note']}", highlight=False, markup=False)
    for n in m["notes"]:
        console.print(f"note: {n}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``market`` to the ``grid`` group (``app`` is the root; the group is shared)."""
    grid_app.command("market")(market)
