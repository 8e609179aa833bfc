"""``infercarbon serve``: the ledger API, Prometheus metrics and the dashboard.

::

    infercarbon serve --ledger ledger.duckdb [--host 127.0.0.1] [--port 8000]
    infercarbon serve --ledger postgresql://user@host/db --pue 1.2 --price-per-kwh 0.25
    infercarbon serve --ledger ledger.duckdb --update ukci:GB --update ukci:GB:forecast \
        --refresh 15m
    infercarbon serve --catalog lake/ --period 2026-07 --keys ledger.duckdb   # the lake

``--catalog`` serves the lake's ledger tables (``infercarbon lake export``) read-only from an
in-memory snapshot taken at start (the period's partitions only, with ``--period``); restart
to see what was committed since.

``--update SOURCE:REGION[:KIND]`` (repeatable) keeps grid signals fresh in the ledger: a
:class:`~infercarbon.service.refresh.Refresher` runs each spec every ``--refresh`` (default
15m) beside the server, as ``infercarbon grid update`` would, and stops with it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from infercarbon.errors import ConfigurationError, InputError

if TYPE_CHECKING:
    from infercarbon.grid.updates import UpdateSpec


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LakeSource:
    """``serve --catalog``: the lake, its warehouse, the period of its snapshot (None:
    every day) and the ledger location whose API keys the server accepts."""

    catalog: str
    warehouse: str | None
    start: datetime | None
    end: datetime | None
    keys: str


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, before any slow work (metering, opening the
    ledger) rather than after it.  Port 0 (any free port) always passes."""
    if port == 0:
        return
    import socket

    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise InputError(f"cannot resolve {host!r} ({exc.strerror})", field="--host") from exc
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # as uvicorn binds: a socket still in TIME_WAIT from an earlier run does not count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            raise InputError(
                f"{host}:{port} is already in use ({exc.strerror}); stop the "
                "process that holds it or pick another --port",
                field="--port",
            ) from exc


def _say_backfilled(n: int) -> None:
    if n:
        typer.echo(f"infercarbon: computed the missing footprints of {n} stored event(s)", err=True)


#: CPython's thread switch interval while serving (see run_server).
SWITCH_INTERVAL_S = 0.0005


def run_server(
    ledger: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    pue: float | None = None,
    td_loss_frac: float = 0.0,
    operating_model: str = "owned",
    ledger_memory_limit: str | None = "auto",
    price_per_kwh: float | None = None,
    metrics_public: bool = False,
    log_level: str = "info",
    updates: Sequence[UpdateSpec] = (),
    refresh_s: float | None = None,
    profiles: str | None = None,
    instruments: Sequence[str] = (),
    route_regions: Sequence[str] = (),
    route_residency: str | None = None,
    factor_set: str = "infercarbon",
    spool: str | None = None,
    lake: LakeSource | None = None,
) -> None:
    """Open the ledger (with ``lake``: an in-memory snapshot of the lake's ledger tables,
    served read-only) and serve the API and dashboard until interrupted (and, with
    ``updates``, refresh those grid signals every ``refresh_s`` seconds meanwhile; with
    ``spool``, write each accepted batch to the lake's ingest spool too).

    ``factor_set`` names the per-fuel lifecycle factors of the intensity the service computes
    from a fuel mix: the bundled hourly series (ERCOT location and marginal) and the
    ``operator-csv`` updates."""
    try:
        import uvicorn

        from infercarbon.accounting.batch import AccountingConfig
        from infercarbon.service.app import create_app
        from infercarbon.service.auth import key_store_for
    except ImportError as exc:  # the service extra is not installed
        raise ConfigurationError(
            f"{exc}; install the service extra: pip install 'infercarbon[service]'"
        ) from exc
    from infercarbon.accounting.profiles import load_profiles
    from infercarbon.accounting.signals import market_signal_from_instruments
    from infercarbon.ledger import open_store

    market = tuple(market_signal_from_instruments(p) for p in instruments)
    prof = load_profiles(profiles) if profiles is not None else None
    cfg = (
        AccountingConfig(
            pue=pue,
            pue_source=f"--pue {pue:g} (user)",
            td_loss_frac=td_loss_frac,
            operating_model=operating_model,
            signals=market,
            profiles=prof,
        )
        if pue is not None
        else AccountingConfig(
            td_loss_frac=td_loss_frac,
            operating_model=operating_model,
            signals=market,
            profiles=prof,
        )
    )
    snapshot = None
    if lake is not None:
        from infercarbon.cli.lake import lake_snapshot

        keys = key_store_for(lake.keys)  # before the snapshot: a bad --keys fails fast
        store, snapshot = lake_snapshot(lake.catalog, lake.warehouse, lake.start, lake.end, None)
    else:
        keys = key_store_for(ledger)
        # the dashboard's reads share one fold of the hourly rollup a second (ledger.hours)
        store = open_store(ledger, memory_limit=ledger_memory_limit, rollup_lag_s=1.0)
    refresher = None
    folder = None
    try:
        app = create_app(
            store,
            clock=_now,
            keys=keys,
            config=cfg,
            price_per_kwh=price_per_kwh,
            metrics_public=metrics_public,
            factor_set=factor_set,
            spool=spool,
            backfill=False,  # on a thread once the server listens (below)
            read_only=snapshot,
        )
        source = snapshot or f"ledger {store.url} ({store.dialect})"
        typer.echo(f"infercarbon: {source}; dashboard http://{host}:{port}/", err=True)
        # the objects of start-up (modules, the app, reference data) live as long as the
        # process: moved out of the collector's reach, a full collection under ingest scans
        # far fewer (measured in-process: 72 -> 30 ms per full collection, about one per
        # 100 batches of 1,750 events, i.e. the p99; three paired HTTP runs: p99 44-57 ms
        # frozen vs 54-65 ms not)
        gc.collect()
        gc.freeze()
        if updates:
            from infercarbon.cli.grid_update import make_refresher
            from infercarbon.service.app import reprice_hook
            from infercarbon.service.refresh import DEFAULT_INTERVAL_S

            refresher = make_refresher(
                ledger,
                store,
                updates,
                refresh_s or DEFAULT_INTERVAL_S,
                on_update=reprice_hook(app),
                factor_set=factor_set,
            )
            refresher.start()
        from infercarbon.service.app import Backfiller, HoursFolder

        if snapshot is None:
            # events stored without a footprint (an older release, a crash between two
            # appends) get theirs while the server already answers
            Backfiller(app.state.infercarbon, _say_backfilled).start()
        folder = HoursFolder(store)  # keeps the hourly rollup a few seconds behind at most
        folder.start()

        def shutdown() -> None:
            # uvicorn re-raises SIGTERM/SIGINT once the app has shut down, which ends the
            # process before a `finally` here: close the ledger (checkpoint, DuckDB's temp
            # files removed) in the app's shutdown instead
            folder.stop()
            if refresher is not None:
                refresher.stop()
            store.close()

        app.router.add_event_handler("shutdown", shutdown)
        asgi: Any = app
        if route_regions:
            from infercarbon.service.routing import CarbonRouteMiddleware, route_advisor

            asgi = CarbonRouteMiddleware(
                app, route_advisor(route_regions, residency=route_residency), clock=_now
            )
        # the ingest thread releases the GIL around every DuckDB and Arrow call; with
        # CPython's 5 ms switch interval each re-acquisition can wait a whole interval
        # behind a thread running Python (a read's JSON, the event loop).  A 0.5 ms
        # interval, two concurrent shippers (bench_service_load.py --clients 2 --batch-size
        # 875): 1.4-1.7x the ingest rate on a VM busy with other work; on a quiet one at
        # most 1.04x (28.2k -> 29.5k events/s with other changes of the same release).  The
        # process ends with the server.
        interval_s = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            uvicorn.run(asgi, host=host, port=port, log_level=log_level)
        finally:
            sys.setswitchinterval(interval_s)
    finally:
        if folder is not None:
            folder.stop()
        if refresher is not None:
            refresher.stop()
        store.close()


def serve(
    ledger: Annotated[
        str | None, typer.Option("--ledger", help="DuckDB file or postgresql:// URL")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    pue: Annotated[
        float | None,
        typer.Option(
            "--pue",
            help="facility PUE applied to event energy (default: IT energy only, "
            "stated in every footprint)",
        ),
    ] = None,
    td_loss_frac: Annotated[float, typer.Option("--td-loss-frac", min=0.0, max=0.5)] = 0.0,
    operating_model: Annotated[
        str,
        typer.Option(
            "--operating-model",
            help="who runs the devices: owned (Scope 2), cloud (Scope 3 "
            "cat. 1) or sold (Scope 3 cat. 11); sets each line's scope "
            "tag",
        ),
    ] = "owned",
    ledger_memory_limit: Annotated[
        str,
        typer.Option(
            "--ledger-memory-limit",
            help="most memory a DuckDB ledger may cache, e.g. 2GB; "
            "auto = 1GB for a file ledger (PostgreSQL: ignored)",
        ),
    ] = "auto",
    price_per_kwh: Annotated[
        float | None,
        typer.Option("--price-per-kwh", min=0.0, help="starting energy price on the dashboard"),
    ] = None,
    metrics_public: Annotated[
        bool, typer.Option("--metrics-public", help="serve /metrics without an admin key")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    update: Annotated[
        list[str] | None,
        typer.Option(
            "--update",
            help="keep a grid signal fresh in the ledger: SOURCE:REGION[:KIND], e.g. "
            "ukci:GB, electricitymaps:DE, watttime:CAISO_NORTH:marginal "
            "(repeatable; keys from the environment as for grid update)",
        ),
    ] = None,
    refresh: Annotated[
        str | None,
        typer.Option(
            "--refresh",
            help="how often the --update signals are refreshed: 90s, 15m, 1h (default 15m)",
        ),
    ] = None,
    profiles: Annotated[
        str | None,
        typer.Option(
            "--profiles",
            help="deployment profiles (TOML): idle power, utilisation, embodied, "
            "lifetime, PUE, T&D, network kWh/GB, operating model and price "
            "per device id or glob (docs/profiles.md)",
        ),
    ] = None,
    instruments: Annotated[
        list[str] | None,
        typer.Option(
            "--instruments",
            help="market-based instruments file (PPAs, certificates, supplier "
            "or residual mix; docs/instruments.md), one per region "
            "(repeatable)",
        ),
    ] = None,
    route_regions: Annotated[
        str | None,
        typer.Option(
            "--route-regions",
            help="expose the carbon-aware route among these regions to a load "
            "balancer: GET /.well-known/carbon-route and a Carbon-Route "
            "header (e.g. FR,DE,PL)",
        ),
    ] = None,
    route_residency: Annotated[
        str | None,
        typer.Option(
            "--route-residency", help="residency rule for --route-regions: EU, EEA or a country"
        ),
    ] = None,
    factor_set: Annotated[
        str,
        typer.Option(
            "--factors",
            help="per-fuel lifecycle factor set where the service computes intensity "
            "from a fuel mix: the bundled hourly ERCOT location and marginal "
            "series, and --update operator-csv:REGION; infercarbon (default) | "
            "ipcc-ar5 | unece-2021 | electricitymaps (docs/grid_factors.md). "
            "Signals loaded from the ledger or providers are used as "
            "published.",
        ),
    ] = "infercarbon",
    spool: Annotated[
        str | None,
        typer.Option(
            "--spool",
            help="also write each accepted batch, fsynced before the reply, to this "
            "lake ingest spool (`infercarbon lake commit` loads it; "
            "docs/scale-out.md)",
        ),
    ] = None,
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="serve the Iceberg lake's ledger tables (`lake export`) instead of "
            "--ledger: read-only, from a snapshot taken at start (restart to refresh); "
            "writes answer 405",
        ),
    ] = None,
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", help="warehouse URI for a postgresql:// catalog")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="with --catalog: the snapshot holds this period only (2026-07, 2026-Q3, "
            "START..END; default every day: memory grows with the rows read)",
        ),
    ] = None,
    keys: Annotated[
        str | None,
        typer.Option(
            "--keys",
            help="with --catalog: the ledger whose API keys are accepted (DuckDB file or "
            "postgresql:// URL, as `keys create --ledger`)",
        ),
    ] = None,
) -> None:
    """Serve the ledger API (/v1, /openapi.json), /metrics and the dashboard at /.

    With ``--catalog`` the dashboard and read API serve a snapshot of the lake taken at
    start (restart to see rows committed since); the ingest endpoints answer 405."""
    lake = _lake_source(ledger, catalog, warehouse, period, keys, update, spool)
    check_port_free(host, port)
    specs, refresh_s = parse_refresh_options(update, refresh)
    from infercarbon.grid.factors import check_factor_set

    check_factor_set(factor_set)
    from infercarbon.decisions.route import split_list

    regions = split_list(route_regions, "--route-regions") if route_regions else []
    if route_residency is not None and not regions:
        raise InputError("--route-residency needs --route-regions", field="--route-residency")
    run_server(
        ledger or "",
        host=host,
        port=port,
        pue=pue,
        td_loss_frac=td_loss_frac,
        operating_model=operating_model,
        ledger_memory_limit=ledger_memory_limit,
        price_per_kwh=price_per_kwh,
        metrics_public=metrics_public,
        log_level=log_level,
        updates=specs,
        refresh_s=refresh_s,
        profiles=profiles,
        instruments=tuple(instruments or ()),
        route_regions=regions,
        route_residency=route_residency,
        factor_set=factor_set,
        spool=spool,
        lake=lake,
    )


def _lake_source(
    ledger: str | None,
    catalog: str | None,
    warehouse: str | None,
    period: str | None,
    keys: str | None,
    update: Sequence[str] | None,
    spool: str | None,
) -> LakeSource | None:
    """The lake to serve (None: serve --ledger), its options checked."""
    if catalog is None:
        if ledger is None:
            raise InputError("give --ledger PATH|postgresql://... or --catalog URI", field="ledger")
        for name, value in (("--period", period), ("--keys", keys), ("--warehouse", warehouse)):
            if value is not None:
                raise InputError(f"{name} goes with --catalog", field=name)
        return None
    if ledger is not None:
        raise InputError("give --ledger or --catalog, not both", field="catalog")
    if update or spool is not None:
        raise InputError(
            "a --catalog server is read-only: --update and --spool go with --ledger",
            field="catalog",
        )
    if keys is None:
        raise InputError(
            "--catalog needs --keys LEDGER: the ledger whose API keys the server accepts",
            field="keys",
        )
    start = end = None
    if period is not None:
        from infercarbon.report.period import parse_period

        p = parse_period(period)
        start, end = p.start_utc, p.end_utc
    return LakeSource(catalog, warehouse, start, end, keys)


def parse_refresh_options(
    update: Sequence[str] | None, refresh: str | None
) -> tuple[list[UpdateSpec], float | None]:
    """``--update`` specs and the ``--refresh`` interval [s], checked before serving."""
    from infercarbon.grid.updates import UpdateSpec
    from infercarbon.service.refresh import parse_interval_s

    specs = [UpdateSpec.parse(u) for u in update or ()]
    refresh_s = parse_interval_s(refresh) if refresh is not None else None
    if refresh_s is not None and not specs:
        raise InputError(
            "--refresh needs at least one --update SOURCE:REGION[:KIND]", field="--refresh"
        )
    return specs, refresh_s


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
