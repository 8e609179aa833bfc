"""``infercarbon grid marginal`` and ``infercarbon grid compare``.

``grid marginal`` prints one row per input interval: ``time, mef_g_per_kwh, ci_low, ci_high,
method, marginal``.  ``grid backtest`` scores every marginal estimator against simulated
dispatch years with a known truth and writes the table of ``docs/marginal_backtest.md``.  ``grid
compare`` tabulates average vs marginal intensity by local hour
and season for a bundled region and writes an SVG plot.
"""

from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
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


def _parse_fuel(spec: str) -> tuple[str, str]:
    col, sep, fuel = spec.rpartition("=")
    if not sep or not col or not fuel:
        raise InputError(f"{spec!r}: use COLUMN=FUEL, e.g. --fuel 'Gas-CC=gas_cc'", field="fuel")
    return col, fuel


def _recognised(
    header: list[str],
    fuel_specs: list[tuple[str, str]],
    heat_specs: list[tuple[str, str]],
    fe_specs: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Add the recognised ``heat_input_<fuel>_mmbtu`` and ``emissions_<fuel>`` columns of the
    --fuel columns (``<fuel>`` = the FUEL or the COL of ``--fuel COL=FUEL``; case-insensitive)
    that no explicit option names."""
    by_lower = {h.lower(): h for h in header}
    have_h = {f for _, f in heat_specs}
    have_e = {f for _, f in fe_specs}
    taken = {c for c, _ in (*heat_specs, *fe_specs)}
    heat, fe = list(heat_specs), list(fe_specs)
    for col, f in fuel_specs:
        for names, have, out in (
            ((f"heat_input_{f}_mmbtu", f"heat_input_{col}_mmbtu"), have_h, heat),
            ((f"emissions_{f}", f"emissions_{col}"), have_e, fe),
        ):
            if f in have:
                continue
            hit = next((by_lower[n.lower()] for n in names if n.lower() in by_lower), None)
            if hit is not None and hit not in taken:
                out.append((hit, f))
                taken.add(hit)
    return heat, fe


@grid_app.command("marginal")
def marginal(
    csv_path: Annotated[Path, typer.Option("--csv", help="Operator table (CSV, header row).")],
    time_col: str = typer.Option(..., "--time", help="Time column (interval start)."),
    load_col: str = typer.Option(
        ..., "--load", help="Load column (mean MW per interval unless --load-unit)."
    ),
    method: str = typer.Option(
        "auto",
        "--method",
        help="auto (the back-test winner: observed-stack with --fuel "
        "columns, else regression by emissions decile) | observed-stack | regression | "
        "fuel-response (each fuel's response to load x its own rate; reads heat input) | "
        "merit-order",
    ),
    emissions_col: str | None = typer.Option(
        None, "--emissions", help="Emissions per interval column."
    ),
    emissions_unit: str = typer.Option("kg", "--emissions-unit", help="kg | t | lb | g"),
    fuel: Annotated[
        list[str] | None,
        typer.Option("--fuel", help="COL=FUEL generation column (repeatable), same unit as load."),
    ] = None,
    heat_input: Annotated[
        list[str] | None,
        typer.Option(
            "--heat-input",
            help="fuel-response: COL=FUEL heat input of that fuel per interval "
            "[MMBtu] (repeatable); the fuel's direct rate = heat input x the EPA factor / its "
            "generation. Columns named heat_input_<fuel>_mmbtu (<fuel> = a --fuel column's FUEL "
            "or COL) are recognised without it.",
        ),
    ] = None,
    fuel_emissions: Annotated[
        list[str] | None,
        typer.Option(
            "--fuel-emissions",
            help="fuel-response: COL=FUEL emissions of that fuel per interval "
            "in --emissions-unit (repeatable); columns named emissions_<fuel> are recognised "
            "without it.",
        ),
    ] = None,
    rates_by: str = typer.Option(
        "bin",
        "--rates-by",
        help="fuel-response: per-fuel rates from heat input or fuel "
        "emissions by bin (default) | table",
    ),
    bins: str | None = typer.Option(
        None,
        "--bins",
        help="regression bins: decile (default; decile-season for "
        "fuel-response) | hour-season | both | decile-month | decile-season | "
        "emissions-decile | none",
    ),
    load_unit: str = typer.Option("MW", "--load-unit", help="MW | MWh | kW | kWh"),
    region: str | None = typer.Option(
        None, "--region", help="ERCOT | DE (merit order; region-specific fuel rates)"
    ),
    basis: str = typer.Option("direct", "--basis", help="direct | lifecycle (fuel columns)"),
    factor_set: str = typer.Option(
        "infercarbon",
        "--factors",
        help="Lifecycle factor set for fuel-column emissions "
        "(--basis lifecycle): infercarbon | ipcc-ar5 | unece-2021 | electricitymaps",
    ),
    calibrate: bool = typer.Option(
        True,
        "--calibrate/--no-calibrate",
        help="merit order: calibrate the bundled stack "
        "each month to the observed coal/lignite output (needs a coal or lignite --fuel)",
    ),
    ci: str = typer.Option("hc1", "--ci", help="hc1 | ols | bootstrap"),
    seed: int = typer.Option(0, "--seed", help="Seed of the block bootstrap."),
    tz: str | None = typer.Option(
        None, "--tz", help="IANA zone for hour/season bins (default: the times as written)."
    ),
    time_format: str | None = typer.Option(
        None, "--time-format", help="strptime format of the time column."
    ),
    fmt: str = typer.Option("csv", "--format", help="csv | json"),
) -> None:
    """Marginal emission factor of every interval of an operator table."""
    from infercarbon.grid.marginal.calendar import to_local
    from infercarbon.grid.marginal.pipeline import marginal_for_table
    from infercarbon.grid.marginal.table import infer_interval_s, read_header, read_table

    if fmt not in ("csv", "json"):
        raise InputError("must be csv or json", field="format")
    fuel_specs = [_parse_fuel(s) for s in fuel or []]
    heat_specs = [_parse_fuel(s) for s in heat_input or []]
    fe_specs = [_parse_fuel(s) for s in fuel_emissions or []]
    if method == "fuel-response":
        heat_specs, fe_specs = _recognised(read_header(csv_path), fuel_specs, heat_specs, fe_specs)
    elif heat_specs or fe_specs:
        raise InputError(
            "--heat-input and --fuel-emissions go with --method fuel-response", field="method"
        )
    cols = [
        load_col,
        *([emissions_col] if emissions_col else []),
        *(c for c, _ in fuel_specs),
        *(c for c, _ in heat_specs),
        *(c for c, _ in fe_specs),
    ]
    tab = read_table(
        csv_path, list(dict.fromkeys(cols)), time_col=time_col, time_format=time_format
    )
    interval_s = infer_interval_s(tab.time, column=time_col, path=tab.path, rows=tab.rows)
    t_local = to_local(tab.time, tz) if tz else None
    rng = np.random.default_rng(seed) if ci == "bootstrap" else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = marginal_for_table(
            tab.time,
            tab.columns[load_col],
            method=method,
            emissions=tab.columns[emissions_col] if emissions_col else None,
            emissions_unit=emissions_unit,
            fuel_columns=[(tab.columns[c], f) for c, f in fuel_specs],
            bins=bins,
            load_unit=load_unit,
            region=region,
            basis=basis,
            factor_set=factor_set,
            ci=ci,
            rng=rng,
            time_local=t_local,
            interval_s=interval_s,
            calibrate=calibrate,
            heat_input_columns=[(tab.columns[c], f) for c, f in heat_specs],
            fuel_emissions_columns=[(tab.columns[c], f) for c, f in fe_specs],
            rates_by=rates_by,
        )
    # once per run: the same message from several chunks (stacks, bins) prints once
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"warning: {message}", file=sys.stderr)
    suffix = "Z" if tab.has_offset else ""
    times = [f"{s}{suffix}" for s in np.datetime_as_string(out.time, unit="s")]
    if fmt == "json":
        print_json(
            {
                "method": out.method,
                "interval_s": out.interval_s,
                "notes": out.notes,
                "rows": [
                    {
                        "time": times[i],
                        "mef_g_per_kwh": float(out.mef_g_per_kwh[i]),
                        "ci_low": float(out.ci_low_g_per_kwh[i]),
                        "ci_high": float(out.ci_high_g_per_kwh[i]),
                        "method": out.method,
                        "marginal": out.marginal[i],
                    }
                    for i in range(len(times))
                ],
            }
        )
        return
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["time", "mef_g_per_kwh", "ci_low", "ci_high", "method", "marginal"])
    for i in range(len(times)):
        w.writerow(
            [
                times[i],
                f"{out.mef_g_per_kwh[i]:.3f}",
                f"{out.ci_low_g_per_kwh[i]:.3f}",
                f"{out.ci_high_g_per_kwh[i]:.3f}",
                out.method,
                out.marginal[i],
            ]
        )


@grid_app.command("compare")
def compare(
    region: str = typer.Option("ERCOT", "--region", help="Bundled region (ERCOT)."),
    out: Annotated[Path | None, typer.Option("--out", help="Write the plot (.svg).")] = None,
    basis: str = typer.Option("direct", "--basis", help="direct | lifecycle"),
    fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
    factor_set: str = typer.Option(
        "infercarbon",
        "--factors",
        help="Lifecycle factor set (with --basis lifecycle): "
        "infercarbon | ipcc-ar5 | unece-2021 | electricitymaps (docs/grid_factors.md).",
    ),
) -> None:
    """Average vs marginal intensity by hour of day and season, as a table and a plot."""
    from infercarbon.grid.marginal.compare import render_svg
    from infercarbon.grid.marginal.ercot_compare import ercot_average_vs_marginal

    fmt = check_table_format(fmt)
    if region.upper() != "ERCOT":
        raise InputError("only ERCOT has a bundled generation series", field="region")
    if out is not None and out.suffix.lower() != ".svg":
        raise InputError(
            "only SVG is written (matplotlib is not a dependency); use .svg", field="out"
        )
    if basis not in ("direct", "lifecycle"):
        raise InputError("basis must be direct or lifecycle", field="basis")
    from infercarbon.grid.factors import DEFAULT_FACTOR_SET, check_factor_set

    check_factor_set(factor_set)
    if factor_set != DEFAULT_FACTOR_SET and basis != "lifecycle":
        raise InputError(
            f"{factor_set!r} is a lifecycle factor set; use --basis lifecycle", field="--factors"
        )
    tab, meta = ercot_average_vs_marginal(
        basis=basis,  # type: ignore[arg-type]
        factor_set=factor_set,
    )
    rows = tab.rows()
    if out is not None:
        out.write_text(
            render_svg(
                tab,
                title=f"ERCOT {meta['period']}: average vs marginal "
                f"({basis}) by local hour and season",
            ),
            encoding="utf-8",
        )
    if fmt == "json":
        print_json(
            {
                **meta,
                "share_marginal_above_average": tab.share_marginal_above_average(),
                "rows": rows,
                "plot": str(out) if out else None,
            }
        )
        return
    cols = ["season", "hour", "n", "average", "marginal", "ratio"]
    t = TextTable(
        f"ERCOT {meta['period']} — average vs marginal (g CO2e/kWh, {basis})",
        cols,
        numeric=frozenset(cols[1:]),
    )
    for r in rows:
        t.add_row(
            r["season"],
            str(r["hour"]),
            str(r["n"]),
            f"{r['average_g_per_kwh']:.0f}",
            f"{r['marginal_g_per_kwh']:.0f}",
            f"{r['marginal_over_average']:.2f}",
        )
    print_table(t, fmt)
    if fmt == "tsv":
        return
    console.print(
        f"marginal above average in {tab.share_marginal_above_average():.0%} of "
        f"season-hour cells; method {meta['method']}" + (f"; plot written to {out}" if out else "")
    )


@grid_app.command("backtest")
def backtest(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the Markdown document (e.g. docs/marginal_backtest.md)."),
    ] = None,
    days: int = typer.Option(364, "--days", help="Days per simulated scenario (7..366)."),
    fmt: str = typer.Option("md", "--format", help="md | json"),
) -> None:
    """Score every marginal estimator on simulated dispatch years with a known truth."""
    from dataclasses import asdict, replace

    from infercarbon.grid.marginal.harness import (
        DEFAULT_SCENARIOS,
        VIEWS,
        choose_default,
        render_document,
        run_backtest,
    )

    if fmt not in ("md", "json"):
        raise InputError("must be md or json", field="format")
    scenarios = [replace(sc, n_days=days) for sc in DEFAULT_SCENARIOS]
    scores = run_backtest(scenarios)
    if fmt == "json":
        print_json(
            {
                "scores": [asdict(s) for s in scores],
                "chosen": {v: choose_default(scores, v) for v in VIEWS},
            }
        )
    else:
        text = render_document(scores, scenarios)
        if out is not None:
            out.write_text(text, encoding="utf-8")
            console.print(f"wrote {out}")
        else:
            print(text, end="")


def register(app: typer.Typer) -> None:
    """Commands are attached to ``grid_app`` at import; nothing else to add."""
