"""``infercarbon schedule``: when to run deferrable work so that it emits least.

::

    infercarbon schedule --region ERCOT --energy-kwh 10 --duration 2h \\
        --earliest 2021-07-15T12:00Z --deadline 2021-07-16T12:00Z --signal location --json

A thin shell over :func:`infercarbon.decisions.schedule.schedule`.  ``--forecast`` takes a
file written by ``grid fetch --kind forecast --format json`` (or its CSV), or a provider name
(``watttime``, ``ukci``) to fetch one now for ``--forecast-region`` (default ``--region``).
``--ledger`` uses the grid intervals stored in a ledger instead (``grid update --kind
forecast``, ``serve --update SRC:R:forecast``; the best status per interval).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from infercarbon.cli._common import console, print_json
from infercarbon.decisions.schedule import (
    ScheduleRequest,
    parse_duration_s,
    parse_utc64,
    schedule,
)
from infercarbon.decisions.signals import SIGNALS, read_forecast
from infercarbon.errors import InputError
from infercarbon.grid.signal import IntensitySeries

_PROVIDERS = ("watttime", "ukci")


def _forecast(spec: str | None, region: str) -> IntensitySeries | None:
    if spec is None:
        return None
    if spec in _PROVIDERS:
        from infercarbon.cli.grid_providers import (
            FetchKind,
            Provider,
            fetch_series,
            make_transport,
        )

        transport = make_transport(spec)
        try:
            res = fetch_series(
                Provider(spec),
                FetchKind.forecast,
                region,
                None,
                None,
                "direct",
                "co2_moer",
                "hourly",
                transport,
            )
        finally:
            transport.client.close()
        if not isinstance(res, IntensitySeries):  # pragma: no cover - forecast is a series
            raise InputError(f"{spec} returned no intensity series", field="--forecast")
        return res
    return read_forecast(spec)


def _ledger_series(ledger: str, region: str, signal: str) -> IntensitySeries | None:
    """The ledger's stored series of ``signal`` for ``region`` (None when it has none)."""
    from infercarbon.accounting.signals import region_of, signals_from_intensity
    from infercarbon.cli.report import resolve_ledger
    from infercarbon.ledger import open_store

    rid = region_of(region).region_id
    kind = "marginal" if signal == "marginal" else "location-average"
    store = open_store(resolve_ledger(ledger))
    try:
        snaps = store.intensity()
    finally:
        store.close()
    for s in signals_from_intensity(snaps):
        if s.kind == kind and region_of(s.region).region_id == rid and s.resolution_s:
            return s
    return None


def schedule_cmd(
    region: Annotated[str, typer.Option("--region", help="Grid region (e.g. ERCOT).")],
    energy_kwh: Annotated[float, typer.Option("--energy-kwh", help="Job energy [kWh].")],
    duration: Annotated[str, typer.Option("--duration", help="Job duration: 2h, 90m, 3600s.")],
    earliest: Annotated[str, typer.Option("--earliest", help="Earliest start (UTC ISO 8601).")],
    deadline: Annotated[str, typer.Option("--deadline", help="Latest end (UTC ISO 8601).")],
    signal: Annotated[str, typer.Option("--signal", help="marginal | location.")] = "marginal",
    forecast: Annotated[
        str | None,
        typer.Option(
            "--forecast",
            help="FILE from `grid fetch --kind forecast` (json or csv), or a "
            "provider: watttime | ukci.",
        ),
    ] = None,
    forecast_region: Annotated[
        str | None,
        typer.Option("--forecast-region", help="The provider's region name (default: --region)."),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            help="Use the grid intervals stored in this ledger (DuckDB file or "
            "postgresql:// URL) for the hours they cover.",
        ),
    ] = None,
    chunks: Annotated[int, typer.Option("--chunks", help="Split into N interruptible chunks.")] = 1,
    basis: Annotated[
        str, typer.Option("--basis", help="lifecycle | direct (bundled series).")
    ] = "lifecycle",
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
) -> None:
    """Pick the start window(s) that minimise a deferrable job's emissions."""
    if signal not in SIGNALS:
        raise InputError(f"must be one of {', '.join(SIGNALS)}, got {signal!r}", field="--signal")
    if basis not in ("lifecycle", "direct"):
        raise InputError(f"must be lifecycle or direct, got {basis!r}", field="--basis")
    req = ScheduleRequest(
        region=region,
        energy_kwh=energy_kwh,
        duration_s=parse_duration_s(duration, field="--duration"),
        earliest_utc=parse_utc64(earliest, field="--earliest"),
        deadline_utc=parse_utc64(deadline, field="--deadline"),
        signal="marginal" if signal == "marginal" else "location",
        chunks=chunks,
        basis="direct" if basis == "direct" else "lifecycle",
    )
    if ledger is not None and forecast is not None:
        raise InputError("give --forecast or --ledger, not both", field="--ledger")
    if ledger is not None:
        res = schedule(
            req, forecast=_ledger_series(ledger, region, signal), forecast_label="ledger"
        )
    else:
        res = schedule(req, forecast=_forecast(forecast, forecast_region or region))
    doc = res.to_dict()
    if as_json:
        print_json(doc)
        return
    t = Table(title=f"Schedule for {region} ({signal} signal): g CO2e")
    for col in ("window", "start (UTC)", "end (UTC)", "g/kWh", "g", "low", "high"):
        t.add_column(col)
    for i, w in enumerate(doc["windows"], 1):
        t.add_row(
            f"chosen {i}",
            w["start_utc"],
            w["end_utc"],
            f"{w['mean_intensity_g_per_kwh']:.1f}",
            f"{w['emissions_g']:.4g}",
            f"{w['low_g']:.4g}",
            f"{w['high_g']:.4g}",
        )
    t.add_row(
        "baseline (earliest)",
        doc["baseline_start_utc"],
        "",
        "",
        f"{doc['baseline_emissions_g']:.4g}",
        f"{doc['baseline_low_g']:.4g}",
        f"{doc['baseline_high_g']:.4g}",
    )
    console.print(t)
    console.print(
        f"Saving {doc['saving_g']:.4g} g ({doc['saving_low_g']:.4g}.."
        f"{doc['saving_high_g']:.4g}); source: {doc['source']}",
        highlight=False,
        markup=False,
    )
    for n in doc["notes"]:
        console.print(f"  note: {n}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule_cmd)
