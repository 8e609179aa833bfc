"""``infercarbon grid update``: write grid-signal intervals into the ledger's ``intensity`` table.

::

    infercarbon grid update --ledger ledger.duckdb --source operator-csv --region ERCOT
    infercarbon grid update --ledger ledger.duckdb --source operator-csv --region ERCOT \\
        --kind marginal --from 2022-01-01 --to 2022-02-01
    infercarbon grid update --ledger ledger.duckdb --source operator-csv --region ERCOT \\
        --csv mef.csv --kind marginal --basis direct
    infercarbon grid update --ledger ledger.duckdb --source operator-csv --region ERCOT \\
        --factors ipcc-ar5
    infercarbon grid update --ledger ledger.duckdb --source electricitymaps --region DE
    infercarbon grid update --ledger ledger.duckdb --source ukci --region GB --kind forecast

Everything is fetched first and appended in one call: a missing key (read here, from the
environment, as ``grid fetch`` reads them) or an unreachable host ends the command with one
message and nothing written.  Intervals already stored unchanged are not stored again; a
later retrieval with another value or status is (docs/grid_signals.md).

:func:`make_refresher` builds the service's :class:`~infercarbon.service.refresh.Refresher`
for ``infercarbon serve --update`` with the same credentials and transports.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from infercarbon.cli.grid import grid_app
from infercarbon.cli.grid_providers import make_transport  # tests replace it here
from infercarbon.grid.factors import DEFAULT_FACTOR_SET
from infercarbon.grid.providers._http import HttpTransport, default_client
from infercarbon.grid.signal import Basis
from infercarbon.grid.update_sources import (
    CREDENTIAL_ENV,
    Credentials,
    UpdateRequest,
    fetch_update,
)
from infercarbon.grid.updates import UpdateSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from infercarbon.ledger import Store
    from infercarbon.service.refresh import Refresher, Sleep


class UpdateSource(StrEnum):
    operator_csv = "operator-csv"
    electricitymaps = "electricitymaps"
    watttime = "watttime"
    ukci = "ukci"
    entsoe = "entsoe"


class UpdateKindOption(StrEnum):
    location = "location"
    marginal = "marginal"
    forecast = "forecast"


class StatusOption(StrEnum):
    final = "final"
    provisional = "provisional"
    forecast = "forecast"


def env_credentials() -> Credentials:
    """Provider credentials from the environment (empty = absent)."""
    return {name: os.environ.get(name) or None for name in CREDENTIAL_ENV}


def _now() -> datetime:
    return datetime.now(UTC)


@grid_app.command("update")
def update(
    ledger: Annotated[str, typer.Option("--ledger", help="DuckDB file or postgresql:// URL")],
    source: Annotated[
        UpdateSource, typer.Option("--source", help="Where the intervals come from.")
    ],
    region: Annotated[
        str,
        typer.Option(
            "--region",
            help="ERCOT (operator-csv bundled), any name with --csv; DE, US-TEX-ERCO "
            "(electricitymaps); CAISO_NORTH (watttime); GB or 1..18 (ukci); DE_LU (entsoe).",
        ),
    ],
    kind: Annotated[
        UpdateKindOption,
        typer.Option(
            "--kind",
            help="location (stored as location-average), marginal, or forecast (the "
            "provider's forecast endpoint: ukci, watttime).",
        ),
    ] = UpdateKindOption.location,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="operator-csv: an intensity CSV (time_utc, intensity_g_per_kwh or "
            "mef_g_per_kwh, optional low/high, marginal, method); default: bundled ERCOT.",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Start, ISO 8601 (UTC unless an offset is given); default: 24 h ago "
            "(providers), the whole bundled series (operator-csv).",
        ),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="End (exclusive), ISO 8601.")] = None,
    status: Annotated[
        StatusOption | None,
        typer.Option(
            "--status",
            help="One status for every interval (default: what the source says: "
            "estimated -> provisional, future or forecast -> forecast, else final).",
        ),
    ] = None,
    basis: Annotated[
        str | None,
        typer.Option(
            "--basis",
            help="direct or lifecycle (default lifecycle; watttime and ukci are direct "
            "only; required with --csv).",
        ),
    ] = None,
    factor_set: Annotated[
        str,
        typer.Option(
            "--factors",
            help="operator-csv without --csv: the per-fuel lifecycle factor set the "
            "intervals are computed with from the bundled fuel mix (location and marginal): "
            "infercarbon (default) | ipcc-ar5 | unece-2021 | electricitymaps "
            "(docs/grid_factors.md); recorded in each interval's version and method.",
        ),
    ] = DEFAULT_FACTOR_SET,
    reprice_: Annotated[
        bool,
        typer.Option(
            "--reprice/--no-reprice",
            help="re-price the stored footprints the new intervals "
            "cover (new footprints supersede the old ones, which stay auditable)",
        ),
    ] = True,
) -> None:
    """Write grid-intensity intervals (with their provenance) into the ledger, and re-price
    the footprints they cover."""
    now = _now()
    spec = UpdateSpec(source.value, region, kind.value)
    req = UpdateRequest(
        spec,
        start=start,
        end=end,
        basis=cast(Basis | None, basis),
        status=status.value if status else None,
        csv=csv_path,
        factor_set=factor_set,
    )
    rows = fetch_update(
        req, now_utc=now, transport_factory=make_transport, credentials=env_credentials()
    )
    from infercarbon.ledger import open_store
    from infercarbon.service.refresh import rows_summary, write_intensity

    store = open_store(ledger)
    repriced = None
    try:
        result = write_intensity(store, rows)
        url = store.url
        if reprice_ and result.written:
            from infercarbon.accounting.signals import SignalBook, signals_from_intensity
            from infercarbon.service.reprice import reprice_after_update

            book = SignalBook(signals_from_intensity(store.intensity()), factor_set=factor_set)
            repriced = reprice_after_update(store, book, result.table, clock=_now)
    finally:
        store.close()
    kinds = sorted(set(rows.column("kind").to_pylist())) if rows.num_rows else [spec.kind]
    typer.echo(
        f"grid update {spec.label}: {rows_summary(rows)} read, {result.written} "
        f"written, {result.unchanged} already stored unchanged "
        f"({', '.join(kinds)}) -> {url}"
    )
    if repriced is not None:
        typer.echo(
            f"re-priced {repriced.repriced} of {repriced.checked} stored footprint(s) "
            "the new intervals cover (each supersedes the footprint it re-prices)"
        )


def make_refresher(
    ledger: str,
    store: Store,
    specs: Sequence[UpdateSpec],
    interval_s: float,
    *,
    on_update: Callable[[pa.Table], None] | None = None,
    factor_set: str = DEFAULT_FACTOR_SET,
) -> Refresher:
    """A :class:`Refresher` writing ``specs`` into the ledger at ``ledger`` (open as
    ``store``) every ``interval_s`` seconds.

    Credentials are read from the environment now; provider transports wait between retries
    with the refresher's interruptible sleep, so a stop does not wait out a backoff.  A
    PostgreSQL ledger gets its own connection per round; an embedded (DuckDB) ledger is
    shared with the service (one writer per file).  ``factor_set`` applies to the
    ``operator-csv`` specs (intervals computed from the bundled fuel mix); provider signals
    are stored as published.
    """
    from infercarbon.ledger import open_store
    from infercarbon.service.refresh import Refresher

    creds = env_credentials()

    def fetch(spec: UpdateSpec, now: datetime, sleep: Sleep) -> pa.Table:
        def wait(seconds: float) -> None:
            sleep(seconds)  # returns early when the refresher stops

        def transport(provider: str) -> HttpTransport:
            return HttpTransport(
                provider, client=default_client(), clock=time.time, sleep=wait, rand=random.random
            )

        fs = factor_set if spec.source == "operator-csv" else DEFAULT_FACTOR_SET
        return fetch_update(
            UpdateRequest(spec, factor_set=fs),
            now_utc=now,
            transport_factory=transport,
            credentials=creds,
        )

    def shared() -> contextlib.AbstractContextManager[Store]:
        return contextlib.nullcontext(store)

    def own() -> contextlib.AbstractContextManager[Store]:
        return open_store(ledger)

    return Refresher(
        specs,
        fetch=fetch,
        store_factory=own if store.dialect == "postgres" else shared,
        clock=_now,
        interval_s=interval_s,
        on_update=on_update,
        logger=logging.getLogger("infercarbon.refresh"),
    )


def register(app: typer.Typer) -> None:
    """Nothing to add to ``app``: ``update`` is attached to ``grid_app`` on import."""
