"""``infercarbon estimate``: the footprint of one inference, with every assumption beside it.

Two ways to describe the inference: by ``--workload/--tier/--region``, or explicitly by
``--energy-j`` (or ``--power-w`` with ``--latency-s``) and ``--region``.  ``--json`` prints the
stable contract documented in the README.  Sub-commands (``estimate llm``) are added by
sibling modules onto :data:`estimate_app`.
"""

from __future__ import annotations

import sys
import warnings
from typing import Annotated, Any

import typer

from infercarbon.accounting import EstimateOptions, Footprint, estimate
from infercarbon.attribution.idle import as_idle_policy
from infercarbon.cli._common import (
    FORMAT_HELP,
    TextTable,
    check_table_format,
    human_energy_j,
    human_mass_g,
    print_json,
    print_table,
    say,
)

estimate_app = typer.Typer(
    help="Estimate the footprint of one inference (or `estimate llm` for an LLM request).",
    invoke_without_command=True,
)

_Q = "A number, a range LOW..HIGH, or VALUE[LOW,HIGH]."


@estimate_app.callback()
def estimate_cmd(
    ctx: typer.Context,
    region: Annotated[
        str | None,
        typer.Option(
            help="Region: ISO code or name, US state (US-TX), zone (em:DE), cloud region."
        ),
    ] = None,
    workload: Annotated[str | None, typer.Option(help="Seed workload [id]: WL-01..WL-06.")] = None,
    tier: Annotated[str | None, typer.Option(help="Hardware tier [id]: T0..T6.")] = None,
    energy_j: Annotated[
        str | None, typer.Option("--energy-j", help=f"IT energy per inference [J]. {_Q}")
    ] = None,
    power_w: Annotated[
        str | None,
        typer.Option("--power-w", help="Device power while serving [W] (with --latency-s)."),
    ] = None,
    latency_s: Annotated[
        str | None, typer.Option("--latency-s", help="Device busy time per inference [s].")
    ] = None,
    pue: Annotated[
        str | None,
        typer.Option(
            help="Power usage effectiveness [ratio, >= 1]. Default: "
            "the tier's preset; --pue 1 gives bare IT."
        ),
    ] = None,
    td_loss_frac: Annotated[
        str | None,
        typer.Option(
            "--td-loss-frac", help="Transmission & distribution loss [fraction], e.g. 0.05."
        ),
    ] = None,
    idle_policy: Annotated[
        str, typer.Option("--idle-policy", help="tenancy | 30-70 | none.")
    ] = "30-70",
    tenancy_share: Annotated[
        float | None,
        typer.Option(
            "--tenancy-share",
            help="This workload's share of the device's idle energy [fraction, 0..1].",
        ),
    ] = None,
    idle_power_w: Annotated[
        str | None,
        typer.Option(
            "--idle-power-w", help=f"Device power when idle [W]; default: the tier's preset. {_Q}"
        ),
    ] = None,
    utilisation: Annotated[
        str | None,
        typer.Option(
            help="Device utilisation [fraction, 0..1]. Default: from the workload's duty cycle."
        ),
    ] = None,
    rate_per_s: Annotated[
        float | None,
        typer.Option(
            "--rate-per-s", help="Inferences per second [1/s] (duty cycle) for per-period totals."
        ),
    ] = None,
    payload_bytes: Annotated[
        float | None,
        typer.Option(
            "--payload-bytes",
            help="Data sent over the network per inference [bytes] (request "
            "+ response); prices the network line.",
        ),
    ] = None,
    network: Annotated[str, typer.Option(help="fixed | mobile network coefficient.")] = "fixed",
    outcome_rate: Annotated[
        str | None,
        typer.Option("--outcome-rate", help="Outcomes per inference [fraction], e.g. 1/1500."),
    ] = None,
    outcome_name: Annotated[
        str | None,
        typer.Option(
            "--outcome-name",
            help="Name of one outcome in the per-outcome figures [text], e.g. 'defect found'.",
        ),
    ] = None,
    training_t: Annotated[
        str | None, typer.Option("--training-t", help="PUBLISHED training footprint [t CO2e].")
    ] = None,
    lifetime_inferences: Annotated[
        float | None,
        typer.Option(
            "--lifetime-inferences", help="Inferences served over the model's life [count]."
        ),
    ] = None,
    embodied_kg: Annotated[
        str | None,
        typer.Option(
            "--embodied-kg",
            help=f"Embodied carbon of the device [kg CO2e]; default: the tier's preset. {_Q}",
        ),
    ] = None,
    lifetime_years: Annotated[
        float | None,
        typer.Option(
            "--lifetime-years", help="Service life the embodied carbon is spread over [years]."
        ),
    ] = None,
    intensity: Annotated[
        str | None,
        typer.Option(
            "--intensity-g-per-kwh", help="Override the location-based intensity [g CO2e/kWh]."
        ),
    ] = None,
    market_intensity: Annotated[
        str | None,
        typer.Option(
            "--market-intensity-g-per-kwh",
            help="Market-based intensity [g CO2e/kWh] (supplier "
            "factor, "
            "residual mix or instruments).",
        ),
    ] = None,
    instruments: Annotated[
        str | None,
        typer.Option(
            "--instruments",
            help="Instruments file (PPAs, certificates, supplier factor, residual "
            "mix; docs/instruments.md): the market-based intensity is "
            "computed from it.",
        ),
    ] = None,
    marginal_intensity: Annotated[
        str | None,
        typer.Option(
            "--marginal-intensity-g-per-kwh",
            help="Marginal intensity for the interval [g CO2e/kWh].",
        ),
    ] = None,
    time_utc: Annotated[
        str | None,
        typer.Option(
            "--time-utc",
            help="When the inference ran [ISO 8601 time, UTC]. Regions with a bundled hourly "
            "series (ERCOT) then get that hour's average and marginal "
            "intensity.",
        ),
    ] = None,
    basis: Annotated[
        str, typer.Option(help="direct | lifecycle, for hourly series.")
    ] = "lifecycle",
    operating_model: Annotated[
        str | None,
        typer.Option("--operating-model", help="owned | cloud | sold (sets the scopes)."),
    ] = None,
    samples: Annotated[int, typer.Option(help="Monte Carlo samples [count].")] = 10_000,
    seed: Annotated[int, typer.Option(help="Monte Carlo seed (results are reproducible).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
    crossover: Annotated[
        bool,
        typer.Option(
            "--crossover",
            help="Solve for the utilisation at which embodied equals operational "
            "(location), per tier and region (--tier and --region may be "
            "comma-separated lists).",
        ),
    ] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help=FORMAT_HELP + " json is the --json contract.")
    ] = None,
) -> None:
    """Estimate the gCO2e of one inference, with line items, ranges and assumptions."""
    if ctx.invoked_subcommand is not None:
        return
    out_format = check_table_format(fmt)
    if region is None:
        raise typer.BadParameter("--region is required", param_hint="--region")
    opts = EstimateOptions(
        region=region,
        workload=workload,
        tier=tier,
        energy_j=energy_j,
        power_w=power_w,
        latency_s=latency_s,
        pue=pue,
        td_loss_frac=td_loss_frac,
        idle_policy=as_idle_policy(idle_policy),
        tenancy_share_frac=tenancy_share,
        idle_power_w=idle_power_w,
        utilisation_frac=utilisation,
        rate_per_s=rate_per_s,
        payload_bytes=payload_bytes,
        network=network,
        outcome_rate=outcome_rate,
        outcome_name=outcome_name,
        training_t=training_t,
        lifetime_inferences=lifetime_inferences,
        embodied_kg=embodied_kg,
        lifetime_years=lifetime_years,
        intensity_g_per_kwh=intensity,
        market_intensity_g_per_kwh=market_intensity,
        marginal_intensity_g_per_kwh=marginal_intensity,
        operating_model=operating_model,
        time_utc=time_utc,
        basis=basis,
        samples=samples,
        seed=seed,
        instruments=instruments,
    )
    if crossover:
        _crossover(opts, as_json or out_format == "json", out_format)
        return
    with warnings.catch_warnings():
        # fallbacks are recorded in the result (warnings list, labels) and shown below
        warnings.simplefilter("ignore")
        fp = estimate(opts)
    if as_json or out_format == "json":
        print_json(fp.to_dict())
    else:
        render(fp, out_format)


def _crossover(opts: EstimateOptions, as_json: bool, fmt: str = "auto") -> None:
    """``estimate --crossover``: one row per tier x region."""
    from dataclasses import replace

    from infercarbon.decisions.crossover import crossover

    tiers: list[str | None] = [t.strip() for t in (opts.tier or "").split(",") if t.strip()]
    if not tiers:
        tiers = [None]
    regions = [r.strip() for r in opts.region.split(",") if r.strip()]
    rows = [crossover(replace(opts, tier=t, region=r)).to_dict() for t in tiers for r in regions]
    if as_json:
        # one tier x one region: the row's keys also at the top level
        print_json(
            {
                **(rows[0] if len(rows) == 1 else {}),
                "crossover": rows,
                "method": "u* = embodied at full use / operational_location (docs/decisions.md)",
            }
        )
        return
    t = TextTable(
        "Utilisation at which embodied = operational (location-based)",
        ["tier", "region", "u*", "range", "advice"],
        numeric=frozenset({"u*", "range"}),
    )
    for r in rows:
        t.add_row(
            str(r["tier"]),
            r["region"],
            f"{r['crossover_utilisation_frac']:.3g}",
            f"{r['low_frac']:.3g}..{r['high_frac']:.3g}",
            r["advice"],
        )
    print_table(t, fmt)


def _g(x: float) -> str:
    """A plain number for assumption values (their units are in the row)."""
    if x == 0:
        return "0"
    return f"{x:.4g}" if abs(x) >= 1e-3 else f"{x:.3e}"


class _SourceRefs:
    """The numbered list of sources, in order of first mention; ``ref`` gives a cell's
    ``[n]`` markers."""

    def __init__(self) -> None:
        self.sources: list[str] = []

    def ref(self, text: str | None) -> str:
        """``[n] [m]`` for each source named in a '; '-separated provenance text."""
        refs = []
        for part in (text or "").split("; "):
            part = (
                part.split(": ", 1)[1]
                if part.startswith(("energy: ", "intensity: ", "idle power: "))
                else part
            )
            if not part or part == "-" or part.startswith(("utilisation", "user input")):
                continue
            if part not in self.sources:
                self.sources.append(part)
            refs.append(f"[{self.sources.index(part) + 1}]")
        return " ".join(dict.fromkeys(refs))


def _line_items_table(fp: Footprint, refs: _SourceRefs) -> TextTable:
    """Each line item with its range, scope, label and sources, then a total per basis."""
    m = human_mass_g
    t = TextTable(
        "Line items, CO2e per inference; range = Monte Carlo p5..p95",
        ["line item", "CO2e", "p5", "p95", "scope", "label", "src"],
        numeric=frozenset({"CO2e", "p5", "p95"}),
    )
    for li in fp.line_items:
        t.add_row(
            li.name,
            m(li.emissions_g),
            m(li.low_g),
            m(li.high_g),
            li.scope,
            li.label,
            refs.ref(li.source),
        )
    for basis, tot in fp.totals_g.items():
        t.add_row(
            f"total ({basis})", m(tot.point_g), m(tot.p5_g), m(tot.p95_g), "", "", "", bold=True
        )
    return t


def _assumptions_table(
    assumptions: list[dict[str, Any]], refs: _SourceRefs
) -> tuple[TextTable, list[str]]:
    """The assumptions' figures as a table, and the notes (sentences, printed under it)."""
    a = TextTable(
        "Assumptions",
        ["input", "value", "range (p5..p95)", "label", "src", "note"],
        numeric=frozenset({"value", "range (p5..p95)"}),
    )
    notes: list[str] = []
    for item in assumptions:
        if item.get("name") == "note":  # a sentence, not a figure: printed under the table
            notes.append(str(item.get("value")))
            continue
        rng = (
            f"{_g(item['low'])}..{_g(item['high'])}"
            if "low" in item and "high" in item and item["low"] != item["high"]
            else ""
        )
        val = item.get("value")
        a.add_row(
            str(item.get("name")),
            _g(val) if isinstance(val, float) else str(val),
            rng,
            str(item.get("label", "")),
            refs.ref(item.get("source")),
            str(item.get("note", item.get("distribution", ""))),
        )
    return a, notes


def _say_per_outcome_and_period(fp: Footprint) -> None:
    """The totals per business outcome and per shift, day and year, when the footprint has
    them."""
    m = human_mass_g
    if fp.per_outcome_g:
        po = fp.per_outcome_g
        say(
            f"Per {po['outcome']} (1 per {po['inferences_per_outcome']:.6g} inferences): "
            f"{m(po['total_location_g'])} location-based (p5..p95 "
            f"{m(po['total_location_low_g'])}..{m(po['total_location_high_g'])}), "
            f"operational only {m(po['operational_location_g'])}"
        )
    if fp.per_period_g:
        pp = fp.per_period_g
        for name in ("shift", "day", "year"):
            q = pp[name]
            say(
                f"Per {name} at {pp['rate_per_s']:g}/s ({q['inferences']:.6g} inferences): "
                f"{m(q['total_location_g'])} location-based, {m(q['total_market_g'])} "
                f"market-based"
            )


def render(fp: Footprint, fmt: str = "auto") -> None:
    """Human output: line items, totals, per outcome/period, assumptions, numbered sources.

    ``fmt``: auto (a rich table on a terminal, aligned text when redirected), table or tsv.
    Emissions are printed in the unit a reader takes in (mg, g, kg), energy in J and Wh.
    """
    d: dict[str, Any] = fp.to_dict()
    refs = _SourceRefs()
    t = _line_items_table(fp, refs)
    a, notes = _assumptions_table(d["assumptions"], refs)
    if fmt == "tsv":  # the two tables, each after a '# title' line, for spreadsheets
        for i, table in enumerate((t, a)):
            sys.stdout.write(("\n" if i else "") + f"# {table.title}\n" + table.tsv())
        return
    say(
        f"Footprint of one inference in {fp.region_name or ''} ({fp.region_id}); "
        f"IT energy {fp.energy_j:.4g} J ({human_energy_j(fp.energy_j)})"
    )
    print_table(t, fmt)
    _say_per_outcome_and_period(fp)
    print_table(a, fmt)
    for n in notes:
        say(f"note: {n}")
    say("Sources")
    for i, src in enumerate(refs.sources, 1):
        say(f"  [{i}] {src}")
    for w in fp.warnings:
        say(f"warning: {w}")


def register(app: typer.Typer) -> None:
    app.add_typer(estimate_app, name="estimate")
