"""``infercarbon benchmark``: regenerate the seed's benchmark cohort from bundled data."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from infercarbon.benchmark.checks import edge_adder_checks, seed_checks
from infercarbon.benchmark.cohort import cohort_rows, methodology
from infercarbon.benchmark.publish import to_csv, to_json, to_markdown
from infercarbon.cli._common import print_json

benchmark_app = typer.Typer(
    help="The benchmark cohort: every workload x tier pair x every seed region.",
    invoke_without_command=True,
)


class Fmt(StrEnum):
    markdown = "markdown"
    csv = "csv"
    json = "json"


@benchmark_app.callback()
def benchmark_cmd(
    ctx: typer.Context,
    fmt: Annotated[Fmt, typer.Option("--format", help="markdown | csv | json")] = Fmt.markdown,
    samples: Annotated[int, typer.Option(help="Monte Carlo samples per row.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Monte Carlo seed.")] = 0,
) -> None:
    """Recompute the cohort; list every seed figure that disagrees with first principles."""
    if ctx.invoked_subcommand is not None:
        return
    from infercarbon.reference.regions import resolve_region

    rows = [r.to_dict() for r in cohort_rows(samples=samples, seed_=seed)]
    checks = seed_checks(lambda q: resolve_region(q).intensity_g_per_kwh.value)
    checks += edge_adder_checks(rows)
    if fmt is Fmt.csv:
        sys.stdout.write(to_csv(rows))
    elif fmt is Fmt.json:
        print_json(to_json(rows, checks, methodology()))
    else:
        sys.stdout.write(to_markdown(rows, checks, methodology()))


def register(app: typer.Typer) -> None:
    app.add_typer(benchmark_app, name="benchmark")
