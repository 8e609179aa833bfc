"""``infercarbon recommend``: rank (tier, region, batch size) options within a latency budget.

::

    infercarbon recommend --workload WL-02 --latency-budget-s 0.08 --rate-per-s 5 \\
        --regions GB,FR,PL --json

A thin shell over :func:`infercarbon.decisions.recommend.recommend`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from infercarbon.cli._common import TextTable, console, print_json, print_table
from infercarbon.decisions.recommend import DEFAULT_BATCH_SIZES, recommend
from infercarbon.decisions.route import split_list
from infercarbon.errors import InputError

_DEFAULT_BATCHES = ",".join(str(b) for b in DEFAULT_BATCH_SIZES)


def recommend_cmd(
    regions: Annotated[str, typer.Option("--regions", help="Candidate regions: GB,FR,PL.")],
    latency_budget_s: Annotated[
        float, typer.Option("--latency-budget-s", help="Latency budget per request [s].")
    ],
    rate_per_s: Annotated[float, typer.Option("--rate-per-s", help="Requests per second.")],
    workload: Annotated[
        str | None, typer.Option("--workload", help="Seed workload WL-01..WL-06.")
    ] = None,
    model_params_b: Annotated[
        float | None,
        typer.Option("--model-params-b", help="LLM size [billions of parameters] (LLM estimator)."),
    ] = None,
    tiers: Annotated[
        str | None,
        typer.Option("--tiers", help="Tiers to consider, e.g. T1,T2,T4 (default: T0..T6)."),
    ] = None,
    batch_sizes: Annotated[
        str, typer.Option("--batch-sizes", help="Batch sizes to consider.")
    ] = _DEFAULT_BATCHES,
    input_tokens: Annotated[float, typer.Option("--input-tokens")] = 400.0,
    output_tokens: Annotated[float, typer.Option("--output-tokens")] = 250.0,
    samples: Annotated[int, typer.Option("--samples", help="Monte Carlo samples.")] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rank the options that meet the latency budget by g per inference."""
    try:
        batches = [int(b) for b in split_list(batch_sizes, "--batch-sizes")]
    except ValueError:
        raise InputError(
            f"{batch_sizes!r}: give integers, e.g. 1,2,4,8", field="--batch-sizes"
        ) from None
    doc = recommend(
        regions=split_list(regions, "--regions"),
        latency_budget_s=latency_budget_s,
        rate_per_s=rate_per_s,
        workload=workload,
        model_params_b=model_params_b,
        tiers=split_list(tiers, "--tiers") if tiers else None,
        batch_sizes=batches,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        samples=samples,
    )
    if as_json:
        print_json(doc)
        return
    t = TextTable(
        f"Options within {latency_budget_s:g} s, best first (g CO2e per inference)",
        ["tier", "region", "batch", "latency s", "g", "p5", "p95", "embodied", "idle", "cost USD"],
        numeric=frozenset({"batch", "latency s", "g", "p5", "p95", "embodied", "idle", "cost USD"}),
    )
    for o in doc["options"]:
        t.add_row(
            o["tier"],
            o["region"],
            str(o["batch_size"]),
            f"{o['latency_s']:.3g}",
            f"{o['g_per_inference']:.3e}",
            f"{o['low_g']:.3e}",
            f"{o['high_g']:.3e}",
            f"{o['embodied_share_frac']:.0%}",
            f"{o['idle_share_frac']:.0%}",
            "" if o["cost_usd"] is None else f"{o['cost_usd']:.2e}",
        )
    print_table(t)
    for o in doc["options"]:
        if "advice" in o:
            console.print(
                f"{o['tier']}/{o['region']}/b{o['batch_size']}: {o['advice']}",
                highlight=False,
                markup=False,
            )
    console.print(f"{len(doc['rejected'])} option(s) rejected; --json lists them with the reason.")


def register(app: typer.Typer) -> None:
    app.command("recommend")(recommend_cmd)
