"""``infercarbon grid fetch``: pull an intensity series from a grid-signal provider.

::

    infercarbon grid fetch --provider electricitymaps --region DE --from 2024-05-01 \\
        --to 2024-05-02 --basis direct --format csv
    infercarbon grid fetch --provider watttime --region CAISO_NORTH --kind forecast
    infercarbon grid fetch --provider ukci --region 13 --from 2024-05-20 --to 2024-05-21
    infercarbon grid fetch --provider entsoe --region DE_LU --from 2023-06-01 --to 2023-06-02

Providers are opt-in (the offline default is the bundled data).  Credentials come from the
environment, here and only here: ``ELECTRICITYMAPS_API_KEY``, ``WATTTIME_USERNAME`` and
``WATTTIME_PASSWORD``, ``ENTSOE_API_KEY``; the GB Carbon Intensity API needs none.

Output: CSV with ``time_utc,intensity_g_per_kwh,low,high`` (``time_utc,index_frac`` for
``--kind index``), or JSON with the same rows plus region, kind, basis, resolution and
provenance.
"""

from __future__ import annotations

import csv
import os
import sys
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
import typer

from infercarbon.cli._common import print_json
from infercarbon.cli.grid import grid_app
from infercarbon.errors import InputError
from infercarbon.grid.providers._http import HttpTransport, system_transport
from infercarbon.grid.providers._payload import to_utc64
from infercarbon.grid.providers.electricitymaps import API_KEY_ENV as EM_KEY_ENV
from infercarbon.grid.providers.electricitymaps import GRANULARITY_S, ElectricityMapsClient
from infercarbon.grid.providers.entsoe import API_KEY_ENV as ENTSOE_KEY_ENV
from infercarbon.grid.providers.entsoe import EntsoeClient
from infercarbon.grid.providers.ukci import UKCarbonIntensityClient, ukci_region_id
from infercarbon.grid.providers.watttime import (
    PASSWORD_ENV,
    USERNAME_ENV,
    MarginalIndex,
    WattTimeClient,
)
from infercarbon.grid.signal import Basis, IntensitySeries


class Provider(StrEnum):
    electricitymaps = "electricitymaps"
    watttime = "watttime"
    ukci = "ukci"
    entsoe = "entsoe"


class FetchKind(StrEnum):
    range = "range"
    latest = "latest"
    history = "history"
    forecast = "forecast"
    signal_index = "index"


class FetchFormat(StrEnum):
    csv = "csv"
    json = "json"


#: kinds each provider serves
SUPPORTED: dict[Provider, tuple[FetchKind, ...]] = {
    Provider.electricitymaps: (FetchKind.range, FetchKind.latest, FetchKind.history),
    Provider.watttime: (FetchKind.range, FetchKind.forecast, FetchKind.signal_index),
    Provider.ukci: (FetchKind.range, FetchKind.forecast),
    Provider.entsoe: (FetchKind.range,),
}


def make_transport(provider: str) -> HttpTransport:
    """The real transport (system clock, sleep, default httpx client); tests replace it."""
    return system_transport(provider)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _need(value: str | None, flag: str, kind: FetchKind) -> str:
    if value is None:
        raise InputError(f"--kind {kind.value} needs {flag}", field=flag)
    return value


def _basis(provider: Provider, basis: str | None) -> Basis:
    if provider in (Provider.watttime, Provider.ukci):
        if basis not in (None, "direct"):
            raise InputError(
                f"{provider.value} publishes direct (combustion) CO2 only", field="--basis"
            )
        return "direct"
    if basis is None:
        return "lifecycle"
    if basis not in ("direct", "lifecycle"):
        raise InputError("must be direct or lifecycle", field="--basis")
    return "direct" if basis == "direct" else "lifecycle"


def fetch_series(
    provider: Provider,
    kind: FetchKind,
    region: str,
    start: str | None,
    end: str | None,
    basis: Basis,
    signal_type: str,
    granularity: str,
    transport: HttpTransport,
) -> IntensitySeries | MarginalIndex:
    """Dispatch one fetch (separate from the typer command so tests can call it)."""
    if kind not in SUPPORTED[provider]:
        raise InputError(
            f"{provider.value} serves {', '.join(k.value for k in SUPPORTED[provider])}",
            field="--kind",
        )
    if provider is Provider.electricitymaps:
        em = ElectricityMapsClient(_env(EM_KEY_ENV), transport=transport)
        if kind is FetchKind.latest:
            return em.latest(region, basis=basis)
        if kind is FetchKind.history:
            return em.history(region, basis=basis)
        return em.past_range(
            region,
            _need(start, "--from", kind),
            _need(end, "--to", kind),
            basis=basis,
            granularity=granularity,
        )
    if provider is Provider.watttime:
        wt = WattTimeClient(_env(USERNAME_ENV), _env(PASSWORD_ENV), transport=transport)
        if kind is FetchKind.signal_index:
            return wt.signal_index(region, signal_type=signal_type)
        if kind is FetchKind.forecast:
            return wt.forecast(region, signal_type=signal_type)
        return wt.historical(
            region, _need(start, "--from", kind), _need(end, "--to", kind), signal_type=signal_type
        )
    if provider is Provider.ukci:
        uk = UKCarbonIntensityClient(transport=transport)
        rid = ukci_region_id(region)
        if kind is FetchKind.forecast:
            a = start if start is not None else np.datetime64(int(transport.clock()), "s")
            return uk.national_forecast(a) if rid is None else uk.regional_forecast(rid, a)
        a, b = _need(start, "--from", kind), _need(end, "--to", kind)
        return uk.national(a, b) if rid is None else uk.regional(rid, a, b)
    en = EntsoeClient(_env(ENTSOE_KEY_ENV), transport=transport)
    return en.intensity(region, _need(start, "--from", kind), _need(end, "--to", kind), basis=basis)


def _iso(t: np.ndarray) -> list[str]:
    return [str(x) + "Z" for x in t.astype("datetime64[s]")]


def _rows(result: IntensitySeries | MarginalIndex) -> tuple[list[str], list[dict[str, Any]]]:
    if isinstance(result, MarginalIndex):
        return ["time_utc", "index_frac"], [
            {"time_utc": t, "index_frac": float(v)}
            for t, v in zip(_iso(result.point_time_utc), result.index_frac, strict=True)
        ]
    return ["time_utc", "intensity_g_per_kwh", "low", "high"], [
        {"time_utc": t, "intensity_g_per_kwh": float(v), "low": float(lo), "high": float(hi)}
        for t, v, lo, hi in zip(
            _iso(result.start_utc),
            result.intensity_g_per_kwh,
            result.low_g_per_kwh,
            result.high_g_per_kwh,
            strict=True,
        )
    ]


def _document(
    provider: Provider, result: IntensitySeries | MarginalIndex, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    p = result.provenance
    prov = {
        "source": p.source,
        "version": p.version,
        "method": p.method,
        "retrieved_at_utc": p.retrieved_at_utc,
        "licence": p.licence,
        "label": p.label,
        "notes": list(p.notes),
    }
    if isinstance(result, MarginalIndex):
        return {
            "provider": provider.value,
            "region": result.region,
            "signal_type": result.signal_type,
            "provenance": prov,
            "rows": rows,
        }
    return {
        "provider": provider.value,
        "region": result.region,
        "kind": result.kind,
        "basis": result.basis,
        "resolution_s": result.resolution_s,
        "provenance": prov,
        "rows": rows,
    }


@grid_app.command("fetch")
def fetch(
    provider: Annotated[Provider, typer.Option("--provider", help="Which API to ask.")],
    region: Annotated[
        str,
        typer.Option(
            "--region",
            help="Zone (electricitymaps: DE, US-TEX-ERCO), region (watttime: "
            "CAISO_NORTH), GB or 1..18 (ukci), bidding zone or EIC code (entsoe: DE_LU).",
        ),
    ],
    start: Annotated[
        str | None, typer.Option("--from", help="Start, ISO 8601 (UTC unless an offset is given).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="End (exclusive), ISO 8601.")] = None,
    kind: Annotated[
        FetchKind,
        typer.Option(
            "--kind",
            help="range (default), latest, history (electricitymaps), forecast "
            "(watttime, ukci), index (watttime signal index).",
        ),
    ] = FetchKind.range,
    basis: Annotated[
        str | None,
        typer.Option(
            "--basis",
            help="direct or lifecycle (electricitymaps, entsoe; default lifecycle). "
            "watttime and ukci are direct only.",
        ),
    ] = None,
    signal_type: Annotated[
        str,
        typer.Option("--signal-type", help="watttime: co2_moer (marginal) or co2_aoer (average)."),
    ] = "co2_moer",
    granularity: Annotated[
        str,
        typer.Option(
            "--granularity", help=f"electricitymaps range step: {', '.join(GRANULARITY_S)}."
        ),
    ] = "hourly",
    output_format: Annotated[
        FetchFormat, typer.Option("--format", help="Output format.")
    ] = FetchFormat.csv,
) -> None:
    """Fetch an intensity series in g/kWh (or the WattTime index) from a provider API."""
    for flag, value in (("--from", start), ("--to", end)):
        if value is not None:
            to_utc64(value, field=flag)  # fail on a bad date before any request
    transport = make_transport(provider.value)
    try:
        result = fetch_series(
            provider,
            kind,
            region,
            start,
            end,
            _basis(provider, basis),
            signal_type,
            granularity,
            transport,
        )
    finally:
        transport.client.close()
    cols, rows = _rows(result)
    if output_format is FetchFormat.json:
        print_json(_document(provider, result, rows))
        return
    w = csv.DictWriter(sys.stdout, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


def register(app: typer.Typer) -> None:
    """Nothing to add to ``app``: ``fetch`` is attached to ``grid_app`` (registered by the
    ``grid`` module, which must come first in ``COMMAND_MODULES``) when this module loads."""
