"""The FastAPI application: :func:`create_app` wires a ledger store, a key store, the clock,
the accounting configuration and the signals into the API, metrics and dashboard.

Nothing here reads the environment; ``infercarbon serve`` (the CLI) does and passes values in.

Error mapping (every error body is ``{"detail": ...}``):

========================================  ======
bad input (names index and field)           422
missing / bad / revoked key                 401
another tenant's data                       403
batch too large                             413
id already stored with other content        409
supersedes/event reference not stored       422
ledger failure (the client should retry)    503
========================================  ======
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from infercarbon.accounting.batch import AccountingConfig
from infercarbon.accounting.signals import SignalBook
from infercarbon.errors import (
    AuthError,
    EventValidationError,
    ForbiddenError,
    InputError,
    LedgerConflictError,
    LedgerError,
    LedgerReferenceError,
    PayloadTooLargeError,
)
from infercarbon.grid.signal import IntensitySeries
from infercarbon.ledger.base import Store
from infercarbon.ledger.spool import SpoolWriter
from infercarbon.service.auth import KeyStore
from infercarbon.service.metrics import Metrics
from infercarbon.service.state import ServiceState
from infercarbon.timeutil import WallClockUtc

__all__ = [
    "ServiceState",
    "create_app",
    "reload_signals",
    "reprice_hook",
]


_log = logging.getLogger("infercarbon.service")


class ContainErrors:
    """ASGI middleware: an exception a request raises before its answer started becomes a
    500 JSON answer (logged with its traceback) instead of propagating to the server, so the
    client's keep-alive connection survives it.  An answer already started cannot be
    replaced: that exception propagates."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if started:
                raise
            _log.exception(
                "unexpected error answering %s %s", scope.get("method"), scope.get("path")
            )
            body = b'{"detail":"internal error; it was logged"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def reload_signals(state: ServiceState) -> SignalBook:
    """Rebuild the service's signals from its configuration and the ledger's intervals now
    (after a ``grid update`` or a refresh), and use them for every batch from now on."""
    state.book = _signal_book(state.store, state.config.signals, state.factor_set)
    return state.book


def _signal_book(store: Store, given: Sequence[IntensitySeries], factor_set: str) -> SignalBook:
    """The signals ``given``, and the ledger's intervals for every (region, kind) not given."""
    from infercarbon.accounting.signals import signals_from_intensity

    have = {(s.region, s.kind) for s in given}
    stored = [
        s for s in signals_from_intensity(store.intensity()) if (s.region, s.kind) not in have
    ]
    return SignalBook([*given, *stored], factor_set=factor_set)


def reprice_hook(app: FastAPI) -> Callable[[Any], None]:
    """``on_update`` for the refresher: take the new intervals into the service's signals
    and re-price the stored footprints they cover (new footprints supersede the old)."""
    from infercarbon.service.reprice import reprice_after_update

    state: ServiceState = app.state.infercarbon

    def hook(rows: Any) -> None:
        with state.ingest_lock:
            book = reload_signals(state)
            state.last_reprice = reprice_after_update(
                state.store, book, rows, clock=state.clock
            ).to_dict()

    return hook


def _problems_from_pydantic(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        loc = [p for p in e.get("loc", ()) if p not in ("body", "query", "path")]
        index = next((p for p in loc if isinstance(p, int)), None)
        fld = ".".join(str(p) for p in loc if not isinstance(p, int)) or "body"
        out.append({"index": index, "field": fld, "message": str(e.get("msg", ""))})
    return out


def create_app(
    store: Store,
    *,
    clock: WallClockUtc,
    keys: KeyStore,
    config: AccountingConfig | None = None,
    signals: Sequence[IntensitySeries] = (),
    price_per_kwh: float | None = None,
    metrics_public: bool = False,
    max_batch: int = 20_000,
    backfill: bool = True,
    factor_set: str = "infercarbon",
    spool: str | Path | None = None,
    read_only: str | None = None,
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    store : Store
        The ledger (DuckDB or PostgreSQL store).
    clock : callable
        Returns the current UTC time (footprints' ``computed_utc``).
    keys : KeyStore
        API keys (see :mod:`infercarbon.service.auth`).
    config : AccountingConfig, optional
        PUE and T&D loss applied to event energy (default: IT energy only, said so in every
        footprint).
    signals : sequence of IntensitySeries
        Hourly location, market and marginal signals by region (``config.signals`` too).
        The ledger's intensity snapshots present at start-up are added for every (region,
        kind) not given here.
    price_per_kwh : float, optional
        Default energy price the dashboard starts with (the user can change it there).
    metrics_public : bool
        Serve ``/metrics`` without a key (default: admin key required, since the counters
        span tenants).
    max_batch : int
        Most events in one ``POST /v1/events``.
    backfill : bool
        At start-up, compute footprints for events stored without one (a crash between the
        event and footprint appends).
    factor_set : str
        Per-fuel lifecycle factors (:mod:`infercarbon.grid.factor_sets`) of the bundled
        hourly series, which the service computes from a fuel mix (ERCOT location and
        marginal); loaded and stored signals are used as given.  Footprints priced by those
        series name a non-default set in their signal's method.
    spool : path, optional
        The lake's ingest spool (:mod:`infercarbon.ledger.spool`): each accepted batch is
        also written there (fsynced) before the request is acknowledged, for
        ``infercarbon lake commit`` to load into the Iceberg events table.
    read_only : str, optional
        Serve ``store`` read-only (a snapshot of the lake: ``serve --catalog``): the writing
        endpoints answer 405 naming this snapshot.
    """
    from infercarbon import __version__
    from infercarbon.service.routes import build_router

    cfg = _with_stored_profiles(config or AccountingConfig(), store)
    book = _signal_book(store, [*cfg.signals, *signals], factor_set)
    state = ServiceState(
        store=store,
        keys=keys,
        clock=clock,
        config=cfg,
        book=book,
        metrics=Metrics(),
        price_per_kwh=price_per_kwh,
        metrics_public=metrics_public,
        max_batch=max_batch,
        factor_set=factor_set,
        spool=None if spool is None else SpoolWriter(spool),
    )
    from infercarbon.ledger.rollup import live_by_service_model

    state.metrics.live(lambda: live_by_service_model(store))
    app = FastAPI(
        title="infercarbon",
        version=__version__,
        description="Ledger of inference events and their gCO2e footprints (location, market "
        "and marginal), with a dashboard. Authenticate with "
        "`Authorization: Bearer <key>` (keys from `infercarbon keys create`).",
    )
    app.state.infercarbon = state
    app.include_router(build_router(state))
    from infercarbon.service.programme import build_programme_router

    app.include_router(build_programme_router(state))
    _install_openapi(app)
    static = resources.files("infercarbon.service") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    # an unexpected error is a 500 answer on a connection that stays usable (Starlette's
    # outermost error middleware re-raises to the server, which then drops the connection)
    app.add_middleware(ContainErrors)
    if read_only is not None:
        from infercarbon.service.readonly import ReadOnlySnapshot

        app.add_middleware(ReadOnlySnapshot, snapshot=read_only)
    _install_error_handlers(app)
    if backfill:
        from infercarbon.service.ingest import backfill_footprints

        state.backfilled = backfill_footprints(state)
        store.hours_ready(max_lag_s=0.0)  # a ledger filled without reads folds now, not in a read
    return app


def _with_stored_profiles(cfg: AccountingConfig, store: Store) -> AccountingConfig:
    """``cfg``, with the profiles of the last ``PUT /v1/profiles`` kept in the ledger when
    ``cfg`` names none."""
    if cfg.profiles is not None:
        return cfg
    stored_profiles = store.setting("profiles")
    if stored_profiles is None:
        return cfg
    import json
    from dataclasses import replace

    from infercarbon.accounting.profiles import profiles_from_data

    return replace(cfg, profiles=profiles_from_data(json.loads(stored_profiles)))


def _install_openapi(app: FastAPI) -> None:
    """The OpenAPI document with the ingest body's schema (``EventIn``) and bearer auth."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            from infercarbon.service.routes import EventIn

            doc = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            ref = "#/components/schemas/{model}"
            doc.setdefault("components", {}).setdefault("schemas", {})["EventIn"] = (
                EventIn.model_json_schema(ref_template=ref)
            )
            doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            doc["security"] = [{"bearer": []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    """Each error of the exception tree as its HTTP answer: 401, 403, 409, 413, 422 (with the
    index and field of each problem), 503 for an unavailable ledger."""
    err = _error

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return err(422, _problems_from_pydantic(exc))

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        return err(401, str(exc), {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(ForbiddenError)
    async def _forbidden(_: Request, exc: ForbiddenError) -> JSONResponse:
        return err(403, str(exc))

    @app.exception_handler(PayloadTooLargeError)
    async def _too_large(_: Request, exc: PayloadTooLargeError) -> JSONResponse:
        return err(413, str(exc))

    @app.exception_handler(EventValidationError)
    async def _events(_: Request, exc: EventValidationError) -> JSONResponse:
        return err(
            422, [{"index": p.index, "field": p.field, "message": p.message} for p in exc.problems]
        )

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return err(422, [{"index": None, "field": exc.field or "body", "message": str(exc)}])

    @app.exception_handler(LedgerConflictError)
    async def _conflict(_: Request, exc: LedgerConflictError) -> JSONResponse:
        return err(409, str(exc))

    @app.exception_handler(LedgerReferenceError)
    async def _reference(_: Request, exc: LedgerReferenceError) -> JSONResponse:
        return err(422, str(exc))

    @app.exception_handler(LedgerError)
    async def _ledger(_: Request, exc: LedgerError) -> JSONResponse:
        return err(503, f"ledger unavailable: {exc}", {"Retry-After": "2"})


class Backfiller:
    """Computes the footprints of stored events that lack one (:func:`backfill_footprints`)
    on a daemon thread once the server listens, then folds the hourly rollup: ``serve``
    answers at once on a large ledger (the search scans every event: 20 s at 10M events on
    PostgreSQL, 5 s on DuckDB) instead of after it.  Until it ends, an event without a
    footprint counts as one without a footprint (left out of the sums, as during a crash
    recovery).  ``on_done`` gets the count; a failure is logged, the server keeps serving."""

    def __init__(self, state: ServiceState, on_done: Callable[[int], None]) -> None:
        self._state = state
        self._on_done = on_done
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="infercarbon-backfill", daemon=True)
        self._thread.start()

    def join(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        from infercarbon.service.ingest import backfill_footprints

        try:
            n = backfill_footprints(self._state)
            self._state.backfilled = n
            self._state.store.hours_ready(max_lag_s=0.0)
        except (LedgerError, InputError) as exc:
            _log.warning("computing missing footprints failed: %s", exc)
            return
        self._on_done(n)


class HoursFolder:
    """Folds what was written into the ledger's hourly rollup every ``interval_s`` seconds,
    on one daemon thread beside the server (DuckDB folds beside its writer; a store that
    keeps the rollup at ingest returns at once), so a read finds at most a few seconds of
    rows to fold.  A failed fold is logged and retried at the next tick (reads fold
    themselves anyway)."""

    def __init__(self, store: Store, interval_s: float = 1.0) -> None:
        self._store = store
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="infercarbon-hours-fold", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._store.hours_ready(max_lag_s=0.0)
            except LedgerError as exc:
                _log.warning("folding the hourly rollup failed (retried): %s", exc)
