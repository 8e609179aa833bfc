"""``infercarbon route``: the lowest-footprint allowed region for now.

::

    infercarbon route --regions FR,DE,PL --residency EU --max-latency-ms 40 \\
        --latency-ms FR=25,DE=18,PL=35 --json

A thin shell over :func:`infercarbon.decisions.route.route`; "now" is the system clock
(``--at`` overrides it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import numpy as np
import typer

from infercarbon.cli._common import TextTable, console, print_json, print_table
from infercarbon.decisions.route import parse_latency_map, route, split_list
from infercarbon.decisions.schedule import parse_utc64
from infercarbon.decisions.signals import SIGNALS
from infercarbon.errors import InputError


def route_cmd(
    regions: Annotated[str, typer.Option("--regions", help="Candidates, e.g. FR,DE,PL.")],
    max_latency_ms: Annotated[
        float | None,
        typer.Option("--max-latency-ms", help="Reject regions whose latency exceeds this [ms]."),
    ] = None,
    latency_ms: Annotated[
        str | None,
        typer.Option("--latency-ms", help="Measured latency per region [ms]: FR=25,DE=18."),
    ] = None,
    residency: Annotated[
        str | None, typer.Option("--residency", help="EU | EEA | a country code (ISO 3166).")
    ] = None,
    signal: Annotated[str, typer.Option("--signal", help="location | marginal.")] = "location",
    energy_kwh: Annotated[
        float, typer.Option("--energy-kwh", help="Energy to express the margin in grams for [kWh].")
    ] = 1.0,
    at: Annotated[
        str | None, typer.Option("--at", help="Decide for this UTC time instead of now.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The lowest-footprint allowed region now, with its margin over the next best."""
    if signal not in SIGNALS:
        raise InputError(f"must be one of {', '.join(SIGNALS)}, got {signal!r}", field="--signal")
    now = (
        parse_utc64(at, field="--at")
        if at is not None
        else np.datetime64(datetime.now(UTC).replace(tzinfo=None), "s")
    )
    res = route(
        split_list(regions, "--regions"),
        now,
        signal="marginal" if signal == "marginal" else "location",
        max_latency_ms=max_latency_ms,
        latency_ms=parse_latency_map(latency_ms),
        residency=residency,
        energy_kwh=energy_kwh,
    )
    doc = res.to_dict()
    if as_json:
        print_json(doc)
        return
    t = TextTable(
        f"Regions at {doc['now_utc']} ({signal}), g/kWh",
        ["region", "g/kWh", "low", "high", "latency ms", "status"],
        numeric=frozenset({"g/kWh", "low", "high", "latency ms"}),
    )
    for c in doc["ranked"]:
        t.add_row(
            c["region_id"],
            f"{c['intensity_g_per_kwh']:.1f}",
            f"{c['low_g_per_kwh']:.1f}",
            f"{c['high_g_per_kwh']:.1f}",
            "" if c["latency_ms"] is None else f"{c['latency_ms']:g}",
            "allowed",
        )
    for c in doc["rejected"]:
        t.add_row(
            c["region_id"],
            "",
            "",
            "",
            "" if c["latency_ms"] is None else f"{c['latency_ms']:g}",
            c["reason"],
        )
    print_table(t)
    if doc["margin_g_per_kwh"] is not None:
        console.print(
            f"Best: {doc['region_id']}, {doc['margin_g_per_kwh']:.1f} g/kWh "
            f"({doc['margin_low_g_per_kwh']:.1f}..{doc['margin_high_g_per_kwh']:.1f}) "
            f"below {doc['next_best']}",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command("route")(route_cmd)
