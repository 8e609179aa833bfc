"""HTTP routes: ingest, queries, what-if, metrics, health and the dashboard page.

Authorisation: every ``/v1`` route needs ``Authorization: Bearer <key>``.  A tenant key reads
and writes only its tenant (asking for another with ``?tenant=`` is 403; posting an event of
another tenant is 403 naming the row); an admin key reads all tenants, or one with
``?tenant=``.  ``/metrics`` needs an admin key unless the app was built with
``metrics_public=True``.  ``/healthz``, ``/`` and ``/static`` are public (no ledger data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import resources
from string import Template
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from infercarbon.accounting.batch import CALCULATOR
from infercarbon.accounting.footprint import LINE_SCOPES
from infercarbon.decisions.whatif import WhatIf, run_whatif
from infercarbon.errors import ForbiddenError, InputError, PayloadTooLargeError
from infercarbon.ledger.rollup import event_rows, rollup_totals
from infercarbon.ledger.validation import ValidatedRows
from infercarbon.reference.regions import all_regions
from infercarbon.service.auth import Principal, authenticate
from infercarbon.service.ingest import ingest
from infercarbon.service.metrics import CONTENT_TYPE_LATEST
from infercarbon.service.prepare import decode
from infercarbon.service.state import ServiceState
from infercarbon.service.summary import summary as build_summary

__all__ = ["EventIn", "build_router"]

T = TypeVar("T")


# ----------------------------------------------------------------------------- schemas
class EventIn(BaseModel):
    """One inference event (documents the body of ``POST /v1/events``; the server validates
    the whole batch column by column and names every bad field as ``[index].field``)."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        min_length=1,
        max_length=200,
        description=("the event's id, unique within its tenant; the idempotency key"),
    )
    start_utc: datetime = Field(description="ISO 8601 with zone offset")
    end_utc: datetime = Field(description="ISO 8601 with zone offset, >= start_utc")
    service: str = Field(min_length=1)
    tenant: str | None = Field(
        None, min_length=1, description="defaults to the key's tenant; must match it"
    )
    model: str = Field(min_length=1)
    region: str = Field(min_length=1, description="region id or alias (e.g. DE, aws:us-east-1)")
    device: str = Field(min_length=1)
    energy_j: float = Field(ge=0, description="IT energy attributed to the inference [J]")
    attribution_method: str = Field(min_length=1, description="how energy_j was obtained")
    batch_id: str | None = Field(None, min_length=1)
    tokens_in: int | None = Field(None, ge=0, le=2**63 - 1)
    tokens_out: int | None = Field(None, ge=0, le=2**63 - 1)
    payload_bytes: int | None = Field(None, ge=0, le=2**63 - 1)
    outcome: str | None = Field(None, min_length=1)
    supersedes: str | None = Field(None, min_length=1, description="event_id this row corrects")


class IngestResult(BaseModel):
    received: int
    accepted: int = Field(
        description="events now in the ledger from this batch (new + already stored)"
    )
    inserted: int
    duplicates: int


class Problem(BaseModel):
    index: int | None
    field: str
    message: str


class ErrorBody(BaseModel):
    detail: list[Problem] | str


class WhatIfIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(None, min_length=1, max_length=100)
    batch_size: int | None = Field(None, ge=1, le=1_000_000)
    delay_h: float | None = Field(None, ge=0, le=744)
    tier: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="serve on this tier (T0..T6) or GPU; energy re-modelled",
    )
    from_tier: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="the tier the events ran on (default: device)",
    )
    volume_multiplier: float | None = Field(None, gt=0, le=1e6)
    service: str | None = Field(None, min_length=1, max_length=200)
    model: str | None = Field(None, min_length=1, max_length=200)
    tenant: str | None = Field(None, min_length=1, max_length=64)
    start_utc: datetime | None = None
    end_utc: datetime | None = None


class ScheduleIn(BaseModel):
    """A deferrable job for ``POST /v1/schedule`` (see ``infercarbon schedule``)."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(min_length=1, max_length=100)
    energy_kwh: float = Field(gt=0, le=1e9, description="job energy [kWh]")
    duration: str = Field(min_length=1, max_length=32, description="2h, 90m or 3600s")
    earliest_utc: datetime = Field(description="ISO 8601 with zone offset")
    deadline_utc: datetime = Field(description="ISO 8601 with zone offset: latest end")
    signal: Literal["marginal", "location"] = "marginal"
    chunks: int = Field(1, ge=1, le=48)
    basis: Literal["lifecycle", "direct"] = "lifecycle"
    forecast: dict[str, Any] | None = Field(
        None, description="a forecast as `grid fetch --kind forecast --format json` writes it"
    )


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or invalid API key"},
    403: {"model": ErrorBody, "description": "another tenant's data"},
    422: {"model": ErrorBody, "description": "bad input: index and field of each problem"},
}


# ------------------------------------------------------------------------ dependencies
def _principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    state: ServiceState = request.app.state.infercarbon
    return authenticate(state.keys, authorization)


Auth = Annotated[Principal, Depends(_principal)]
TenantQ = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="admin: one tenant; tenant keys: own"),
]
StartQ = Annotated[datetime | None, Query(description="events starting at or after")]
EndQ = Annotated[datetime | None, Query(description="events starting before")]


# ------------------------------------------------------------------------------ helpers
def _scope(p: Principal, tenant: str | None) -> str | None:
    """The tenant a read is restricted to (None = all, admin only)."""
    if p.is_admin:
        return tenant
    if tenant is not None and tenant != p.tenant:
        raise ForbiddenError(
            f"key {p.key_id} belongs to tenant {p.tenant!r} and cannot read tenant {tenant!r}",
            field="tenant",
        )
    return p.tenant


def _utc(t: datetime | None, name: str) -> datetime | None:
    if t is None:
        return None
    if t.utcoffset() is None:
        raise InputError("needs a zone offset (e.g. 2026-07-01T00:00:00Z)", field=name)
    return t.astimezone(UTC)


def _json_rows(t: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = t.to_pylist()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, datetime):
                r[k] = (v.astimezone(UTC) if v.tzinfo else v).strftime("%Y-%m-%dT%H:%M:%SZ")
            elif isinstance(v, float) and not np.isfinite(v):
                r[k] = None
    return rows


def _range(v: float | None, lo: float | None, hi: float | None) -> dict[str, float] | None:
    if v is None or lo is None or hi is None:
        return None
    return {"value": v, "low": lo, "high": hi}


def _heatmap(state: ServiceState) -> dict[str, Any]:
    rows: dict[str, list[list[float]]] = {}
    sources: dict[str, str] = {}
    for region, kind, s in state.book.all():
        if kind != "marginal" or s.resolution_s is None:
            continue
        hours = ((s.start_utc.astype("datetime64[h]").astype(np.int64)) % 24).astype(int)
        acc = rows.setdefault(region, [[] for _ in range(24)])
        for h in range(24):
            acc[h].extend(s.intensity_g_per_kwh[hours == h].tolist())
        sources[region] = f"{s.provenance.source} {s.provenance.version}".strip()
    regions = sorted(rows)
    values = [[float(np.mean(c)) if c else None for c in rows[r]] for r in regions]
    note = (
        "Mean marginal intensity [g/kWh] by UTC hour of day over the loaded signals and the "
        "ledger's marginal snapshots (read at start-up). Sources: "
        + ("; ".join(f"{r}: {s}" for r, s in sorted(sources.items())) or "none")
        if regions
        else "No marginal signal is loaded: append marginal intensity snapshots to the "
        "ledger (they are read when the service starts)."
    )
    return {
        "kind": "marginal",
        "hours": list(range(24)),
        "regions": regions,
        "values": values,
        "note": note,
    }


def _methodology(state: ServiceState) -> list[dict[str, str]]:
    cfg = state.config
    items = [
        {"name": "calculator", "value": CALCULATOR},
        {
            "name": "operational emissions",
            "value": "energy_j x PUE x (1 + T&D loss) / 3.6e6 "
            "x intensity [g/kWh], per event, for location, market and marginal kinds",
        },
        {"name": "PUE", "value": f"{cfg.pue:g}", "source": cfg.pue_source},
        {
            "name": "T&D loss",
            "value": f"{cfg.td_loss_frac:g}",
            "source": "configured" if cfg.td_loss_frac else "not configured (0)",
        },
        {
            "name": "operating model",
            "value": cfg.operating_model,
            "source": "location and market lines are tagged "
            f"{LINE_SCOPES[cfg.operating_model]['location']} and "
            f"{LINE_SCOPES[cfg.operating_model]['market']} (GHG Protocol: owned devices "
            "Scope 2, bought cloud compute Scope 3 cat. 1, sold products Scope 3 cat. 11); "
            "set with serve --operating-model",
        },
        {
            "name": "location-based intensity",
            "value": "hourly location signal of the region "
            "when loaded and covering the event; else the bundled annual average of the region",
            "source": "infercarbon.reference regions table (source and vintage per region, stored "
            "with every footprint)",
        },
        {
            "name": "market-based intensity",
            "value": "configured market signal of the region; "
            "without one the location-based figure is used and labelled "
            "'fallback: location-based' (GHG Protocol Scope 2 guidance)",
        },
        {
            "name": "marginal intensity",
            "value": "hourly marginal signal of the region over the "
            "event's interval; a consequential memo item, never added to totals; n/a without one",
        },
        {
            "name": "uncertainty",
            "value": "per event: the grid signal's low..high bound at the "
            "event's energy; sums of bounds for aggregates (fully correlated, a safe bound)",
        },
        {
            "name": "energy",
            "value": "as reported per event (attribution_method says how: e.g. "
            "measured counter, equal share of concurrent requests, modelled)",
        },
        {"name": "latency", "value": "end_utc - start_utc of each event"},
        {
            "name": "energy cost",
            "value": "facility kWh x the price per kWh entered on the "
            "dashboard (no tariff or time-of-use model)",
        },
        {
            "name": "what-if",
            "value": "recomputed from the stored events with the same "
            "calculator; see the what-if panel for its assumptions",
        },
    ]
    for region, kind, s in state.book.all():
        p = s.provenance
        items.append(
            {
                "name": f"signal {region} {kind}",
                "value": f"{len(s)} steps of {s.resolution_s or 'constant'} s, "
                f"{s.basis} basis, method {p.method}",
                "source": f"{p.source} {p.version} ({p.label})",
            }
        )
    return items


def _verify_lines(
    state: ServiceState, tenant: str | None, rel_tol: float, every: int
) -> Iterator[bytes]:
    """JSON lines of a verification run in a worker thread: progress, then the result."""
    import json
    import queue
    import threading

    from infercarbon.ledger import verify
    from infercarbon.report.recompute import dispatch
    from infercarbon.service.readers import recomputers

    q: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        try:
            rep = verify(
                state.store,
                dispatch(recomputers()),
                tenant=tenant,
                rel_tol=rel_tol,
                progress=lambda n, f: q.put(("progress", {"checked": n, "failed": f})),
                every=every,
            )
            q.put(("result", rep.to_dict()))
        except Exception as exc:  # noqa: BLE001 - sent to the client as the stream's end
            q.put(("error", f"{type(exc).__name__}: {exc}"))

    threading.Thread(target=run, name="audit-verify", daemon=True).start()
    while True:
        kind, body = q.get()
        yield (json.dumps({kind: body}) + "\n").encode()
        if kind != "progress":
            return


def _reject_reason(exc: Exception) -> str:
    if isinstance(exc, ForbiddenError):
        return "forbidden"
    if isinstance(exc, PayloadTooLargeError):
        return "too_large"
    if isinstance(exc, InputError) and exc.field == "body":
        return "not_json"
    if isinstance(exc, InputError):
        return "invalid"
    return "conflict"


def _readings(state: ServiceState, rows: Any, window_s: int) -> dict[str, Any]:
    """Append readings, then measure idle where they now cover whole windows."""
    from datetime import timedelta

    from infercarbon.ledger.schema import READINGS
    from infercarbon.ledger.validation import validate_rows
    from infercarbon.service.reprice import measure_idle

    t = validate_rows(READINGS, rows)
    res = state.store.append_readings(ValidatedRows(READINGS.name, t))
    checked = measured = 0
    for dev in sorted(set(t.column("device").to_pylist())):
        ts = t.filter(pc.equal(t.column("device"), dev)).column("t_utc").to_pylist()
        with state.ingest_lock:
            got = measure_idle(
                state.store,
                state.book,
                device=dev,
                start_utc=min(ts) - timedelta(seconds=window_s),
                end_utc=max(ts),
                window_s=window_s,
                clock=state.clock,
            )
        checked += got.checked
        measured += got.repriced
    return {
        "received": res.received,
        "inserted": res.inserted,
        "footprints_checked": checked,
        "footprints_with_measured_idle": measured,
    }


# ------------------------------------------------------------------- decision support
def _held_series(state: ServiceState, regions: list[str], signal: str) -> dict[str, Any]:
    """The time-resolved series the service holds for each region (query -> series)."""
    from infercarbon.accounting.signals import region_of

    out: dict[str, Any] = {}
    for q in regions:
        try:
            rid = region_of(q).region_id
        except InputError:
            continue  # the decision names the unknown region itself
        s = state.book.get(rid, signal)
        if s is not None and s.resolution_s is not None:
            out[q] = s
    return out


def _decision_routes(r: APIRouter, state: ServiceState) -> None:
    """``POST /v1/schedule``, ``GET /v1/route`` and ``GET /v1/rebound``: thin shells over
    :mod:`infercarbon.decisions`."""

    @r.post("/v1/schedule", tags=["decisions"], responses=_ERRORS)
    def post_schedule(body: ScheduleIn, p: Auth) -> dict[str, Any]:
        """The start window(s) that minimise a deferrable job's emissions (shared grid data)."""
        import json

        from infercarbon.decisions.schedule import ScheduleRequest, parse_duration_s, schedule
        from infercarbon.decisions.signals import parse_forecast

        a, b = _utc(body.earliest_utc, "earliest_utc"), _utc(body.deadline_utc, "deadline_utc")
        assert a is not None and b is not None
        req = ScheduleRequest(
            region=body.region,
            energy_kwh=body.energy_kwh,
            duration_s=parse_duration_s(body.duration, field="duration"),
            earliest_utc=np.datetime64(a.replace(tzinfo=None), "s"),
            deadline_utc=np.datetime64(b.replace(tzinfo=None), "s"),
            signal=body.signal,
            chunks=body.chunks,
            basis=body.basis,
        )
        if body.forecast is not None:
            return schedule(
                req, forecast=parse_forecast(json.dumps(body.forecast), path="forecast")
            ).to_dict()
        # the series the service holds (--signals, the ledger's intervals: final, provisional
        # or forecast from `grid update` / `serve --update`) price the hours they cover
        held = _held_series(state, [body.region], body.signal)
        return schedule(req, forecast=held.get(body.region), forecast_label="service").to_dict()

    @r.get("/v1/route", tags=["decisions"], responses=_ERRORS)
    def get_route(
        p: Auth,
        regions: Annotated[
            str, Query(min_length=1, max_length=2000, description="candidates, e.g. FR,DE,PL")
        ],
        max_latency_ms: Annotated[float | None, Query(gt=0)] = None,
        latency_ms: Annotated[
            str | None, Query(max_length=2000, description="FR=25,DE=18 [ms]")
        ] = None,
        residency: Annotated[
            str | None, Query(max_length=64, description="EU, EEA or a country")
        ] = None,
        signal: Literal["location", "marginal"] = "location",
        energy_kwh: Annotated[float, Query(gt=0, le=1e9)] = 1.0,
    ) -> dict[str, Any]:
        """The lowest-footprint allowed region now, with its margin over the next best."""
        from infercarbon.decisions.route import parse_latency_map, route, split_list

        now = state.clock().astimezone(UTC).replace(tzinfo=None)
        regs = split_list(regions, "regions")
        return route(
            regs,
            np.datetime64(now, "s"),
            signal=signal,
            max_latency_ms=max_latency_ms,
            latency_ms=parse_latency_map(latency_ms, field="latency_ms"),
            residency=residency,
            energy_kwh=energy_kwh,
            forecasts=_held_series(state, regs, signal),
            forecast_label="service",
        ).to_dict()

    @r.get("/v1/rebound", tags=["decisions"], responses=_ERRORS)
    def get_rebound(
        p: Auth,
        tenant: TenantQ = None,
        start_utc: StartQ = None,
        end_utc: EndQ = None,
        basis: Literal["location", "market"] = "location",
    ) -> dict[str, Any]:
        """Month-on-month change split into volume and intensity effects (LMDI-I)."""
        from infercarbon.decisions.rebound import monthly_rebound

        scope, start, end = (
            _scope(p, tenant),
            _utc(start_utc, "start_utc"),
            _utc(end_utc, "end_utc"),
        )
        return _shared(
            state,
            ("rebound", scope, start, end, basis),
            lambda: monthly_rebound(
                state.store, basis=basis, tenant=scope, start_utc=start, end_utc=end
            ),
        )


def _shared(state: ServiceState, key: tuple[Any, ...], read: Callable[[], T]) -> T:
    """A read of the ledger alone (no clock, no request state beyond ``key``), shared by
    the requests that ask it of the same ledger state (:class:`~infercarbon.service.shared.
    SharedReads`: the data version is taken before the read)."""
    return state.shared.get(key, state.store.data_version(), read)


# ------------------------------------------------------------------------------- router
def _ops_routes(r: APIRouter, state: ServiceState) -> None:
    """``/healthz``, ``/metrics`` and ``/v1/whoami``: liveness, Prometheus counters and the key."""

    @r.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """Liveness and the ledger backend (no data)."""
        return {"status": "ok", "ledger": state.store.dialect, "calculator": CALCULATOR}

    @r.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, **_ERRORS},
    )
    def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
        """Prometheus counters of energy [J] and gCO2e by service and model."""
        if not state.metrics_public:
            p = authenticate(state.keys, authorization)
            if not p.is_admin:
                raise ForbiddenError(
                    "the metrics span all tenants: use an admin key", field="authorization"
                )
        return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @r.get("/v1/whoami", tags=["auth"], responses=_ERRORS)
    def whoami(p: Auth) -> dict[str, str]:
        """The key's tenant and scope."""
        return {"key_id": p.key_id, "tenant": p.tenant, "scope": p.scope}


def _event_routes(r: APIRouter, state: ServiceState) -> None:
    """``POST /v1/events`` (ingest) and the reads of events and their footprints:
    ``GET /v1/events``, ``/v1/footprints`` (rollup) and ``/v1/summary``."""

    @r.post(
        "/v1/events",
        tags=["ingest"],
        response_model=IngestResult,
        responses={
            **_ERRORS,
            409: {"model": ErrorBody},
            413: {"model": ErrorBody},
            503: {"model": ErrorBody},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/EventIn"},
                            "maxItems": 20000,
                        }
                    }
                },
            }
        },
    )
    async def post_events(request: Request, p: Auth) -> dict[str, int]:
        """Append a batch of inference events (idempotent on ``event_id``; all or nothing)."""
        from starlette.concurrency import run_in_threadpool

        from infercarbon.errors import LedgerConflictError

        try:
            rows = decode(await request.body())
            return await run_in_threadpool(ingest, state, p, rows)
        except (InputError, LedgerConflictError) as exc:
            state.metrics.reject(_reject_reason(exc))
            raise

    @r.get("/v1/events", tags=["query"], responses=_ERRORS)
    def get_events(
        p: Auth,
        tenant: TenantQ = None,
        start_utc: StartQ = None,
        end_utc: EndQ = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> dict[str, Any]:
        """Recent events (newest first) with their per-inference footprints and ranges."""
        scope, start, end = (
            _scope(p, tenant),
            _utc(start_utc, "start_utc"),
            _utc(end_utc, "end_utc"),
        )

        def read() -> dict[str, Any]:
            t = event_rows(state.store, tenant=scope, start=start, end=end, limit=limit)
            rows = _json_rows(t)
            for row, s, e in zip(
                rows,
                t.column("start_utc").to_pylist(),
                t.column("end_utc").to_pylist(),
                strict=True,
            ):
                row["latency_s"] = (e - s).total_seconds()
            return {"rows": rows}

        return _shared(state, ("events", scope, start, end, limit), read)

    @r.get("/v1/footprints", tags=["query"], responses=_ERRORS)
    def get_footprints(
        p: Auth,
        group: Annotated[Literal["service", "tenant", "model", "region"], Query()] = "service",
        period: Annotated[Literal["hour", "day", "month"], Query()] = "day",
        per_outcome: bool = False,
        tenant: TenantQ = None,
        start_utc: StartQ = None,
        end_utc: EndQ = None,
    ) -> dict[str, Any]:
        """Footprints summed by group and period (UTC), optionally per outcome, with
        location, market and marginal totals and their low/high bounds."""
        # (DuckDB under `serve`: at most the store's rollup lag, 1 s, behind ingest)
        scope, start, end = (
            _scope(p, tenant),
            _utc(start_utc, "start_utc"),
            _utc(end_utc, "end_utc"),
        )

        def read() -> dict[str, Any]:
            t = rollup_totals(
                state.store,
                group=group,
                period=period,
                tenant=scope,
                start=start,
                end=end,
                per_outcome=per_outcome,
            )
            return {
                "group": group,
                "period": period,
                "per_outcome": per_outcome,
                "rows": _json_rows(t),
                "note": "a kind is null for a group where some event has no signal of it",
            }

        return _shared(state, ("footprints", group, period, per_outcome, scope, start, end), read)

    @r.get("/v1/summary", tags=["query"], responses=_ERRORS)
    def summary(p: Auth, tenant: TenantQ = None) -> dict[str, Any]:
        """Aggregate and per-inference figures, per outcome, and the energy flow."""
        scope, cfg = _scope(p, tenant), state.config
        # the figures of the configuration it names (PUE, T&D loss) and the price
        key = ("summary", scope, cfg.pue, cfg.pue_source, cfg.td_loss_frac, state.price_per_kwh)
        return _shared(state, key, lambda: build_summary(state, scope))


def _readings_report_routes(r: APIRouter, state: ServiceState) -> None:
    """``POST /v1/readings`` (measured idle) and ``GET /v1/report`` (the period's report)."""

    @r.post(
        "/v1/readings",
        tags=["ingest"],
        responses={**_ERRORS, 403: {"model": ErrorBody}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}
                },
            }
        },
    )
    async def post_readings(
        request: Request, p: Auth, window_s: Annotated[int, Query(ge=60, le=86_400)] = 3600
    ) -> dict[str, Any]:
        """Append device energy readings (admin key: devices span tenants): ``[{device,
        t_utc, cumulative_j and/or power_w, source, method}]``.  For every ``window_s``
        window the readings now cover, the device's idle energy is measured (readings minus
        the events' energy), split by the profile's idle policy, and the window's
        footprints are recomputed with it (new footprints supersede the old)."""
        from starlette.concurrency import run_in_threadpool

        if not p.is_admin:
            raise ForbiddenError(
                "device readings span tenants: use an admin key", field="authorization"
            )
        rows = decode(await request.body())
        return await run_in_threadpool(_readings, state, rows, window_s)

    @r.get(
        "/v1/report",
        tags=["query"],
        response_class=Response,
        responses={
            200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}}},
            **_ERRORS,
        },
    )
    def get_report(
        p: Auth,
        period: Annotated[str, Query(max_length=64)],
        fmt: Annotated[Literal["json", "csv", "html"], Query(alias="format")] = "json",
        tenant: TenantQ = None,
    ) -> Response:
        """The period's report (as ``infercarbon report``; a tenant key gets its own)."""
        from datetime import UTC, datetime

        from infercarbon.report import build_report, parse_period, render

        state.store.hours_ready(max_lag_s=0.0)  # every acknowledged event counts
        rep = build_report(
            state.store,
            parse_period(period),
            tenant=_scope(p, tenant),
            generated_utc=datetime.now(UTC),
        )
        media = {"json": "application/json", "csv": "text/csv", "html": "text/html"}[fmt]
        return Response(render(rep, fmt), media_type=media)


def _audit_routes(r: APIRouter, state: ServiceState) -> None:
    """``GET /v1/audit/verify`` and ``/v1/audit/footprints/{id}``: as ``infercarbon audit``."""

    @r.get("/v1/audit/verify", tags=["audit"], response_class=Response, responses=_ERRORS)
    def audit_verify(
        p: Auth,
        tenant: TenantQ = None,
        rel_tol: Annotated[float, Query(ge=0.0, lt=1.0)] = 1e-12,
        every: Annotated[int, Query(ge=1, le=1_000_000)] = 10_000,
    ) -> Response:
        """Recompute every stored footprint (a tenant key: its own) from its stored inputs,
        streaming progress as JSON lines (``{"progress": {...}}``) and then the result
        (``{"result": {...}}``), as ``infercarbon audit verify``."""
        from starlette.responses import StreamingResponse

        return StreamingResponse(
            _verify_lines(state, _scope(p, tenant), rel_tol, every),
            media_type="application/x-ndjson",
        )

    @r.get(
        "/v1/audit/footprints/{footprint_id}",
        tags=["audit"],
        responses={**_ERRORS, 404: {"model": ErrorBody}},
    )
    def audit_show(footprint_id: str, p: Auth) -> Any:
        """One footprint's whole derivation with its supersession chain (``audit show``)."""
        from fastapi.responses import JSONResponse

        from infercarbon.errors import FootprintNotFoundError
        from infercarbon.ledger import show

        try:
            return show(state.store, footprint_id, tenant=None if p.is_admin else p.tenant)
        except FootprintNotFoundError:
            return JSONResponse(
                {"detail": f"no footprint {footprint_id!r} visible to this key"}, status_code=404
            )


def _listing_routes(r: APIRouter, state: ServiceState) -> None:
    """``GET /v1/footprints/list`` and ``/v1/traces``: footprints one by one, and per user
    action."""

    @r.get("/v1/footprints/list", tags=["query"], responses=_ERRORS)
    def list_footprints(
        p: Auth,
        tenant: TenantQ = None,
        start_utc: StartQ = None,
        end_utc: EndQ = None,
        service: Annotated[str | None, Query(max_length=200)] = None,
        model: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Live footprints (newest first): ids, subject, totals and ranges by basis."""
        from infercarbon.service.readers import footprint_list

        t = footprint_list(
            state.store,
            tenant=_scope(p, tenant),
            start_utc=_utc(start_utc, "start_utc"),
            end_utc=_utc(end_utc, "end_utc"),
            service=service,
            model=model,
            limit=limit,
            offset=offset,
        )
        return {"rows": _json_rows(t)}

    @r.get("/v1/traces", tags=["query"], responses=_ERRORS)
    def traces(
        p: Auth, tenant: TenantQ = None, start_utc: StartQ = None, end_utc: EndQ = None
    ) -> dict[str, Any]:
        """One figure per user action: the footprints of each W3C trace's events
        (``trace_id``, whatever served each step) summed by basis, with the aggregate
        p5..p95; events without a trace are left out."""
        import pyarrow.compute as pc

        from infercarbon.ledger.rollup import AGGREGATE_RANGE_METHOD, ranged_sums

        scope, start, end = (
            _scope(p, tenant),
            _utc(start_utc, "start_utc"),
            _utc(end_utc, "end_utc"),
        )

        def read() -> dict[str, Any]:
            t = ranged_sums(
                state.store,
                of="totals",
                by=("trace_id",),
                keys=("basis",),
                tenant=scope,
                start_utc=start,
                end_utc=end,
            )
            t = t.filter(pc.is_valid(t.column("trace_id")))
            return {"range_method": AGGREGATE_RANGE_METHOD, "rows": _json_rows(t)}

        return _shared(state, ("traces", scope, start, end), read)


def _profile_routes(r: APIRouter, state: ServiceState) -> None:
    """``GET`` and ``PUT /v1/profiles``: the deployment profiles events are priced with."""

    @r.get("/v1/profiles", tags=["config"], responses=_ERRORS)
    def get_profiles(p: Auth) -> dict[str, Any]:
        """The deployment profiles the service prices events with (every figure with its
        range and source) and the default for devices none matches."""
        return state.config.profile_set.to_dict()

    @r.put(
        "/v1/profiles",
        tags=["config"],
        responses={**_ERRORS, 403: {"model": ErrorBody}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "profiles": {"type": "array", "items": {"type": "object"}}
                            },
                        }
                    }
                },
            }
        },
    )
    async def put_profiles(request: Request, p: Auth) -> dict[str, Any]:
        """Replace the deployment profiles (admin key): ``{"profiles": [...]}`` as in a
        ``--profiles`` TOML file.  Events ingested from now on are priced with them; stored
        footprints keep the profile they were computed with (it is in their inputs).  They
        are kept in the ledger and applied again when the service restarts without
        ``--profiles``."""
        from dataclasses import replace

        from infercarbon.accounting.profiles import profiles_from_data

        if not p.is_admin:
            raise ForbiddenError(
                "profiles apply to every tenant: use an admin key", field="authorization"
            )
        import json

        data = decode(await request.body())
        profiles = profiles_from_data(data)  # a bad file is a 422; nothing changes
        with state.ingest_lock:
            # kept in the ledger: a restarted service applies them again
            state.store.set_setting("profiles", json.dumps(data, sort_keys=True))
            state.config = replace(state.config, profiles=profiles)
        return state.config.profile_set.to_dict()


def _reference_routes(r: APIRouter, state: ServiceState) -> None:
    """``/v1/intensity/heatmap``, ``/v1/regions``, ``/v1/methodology`` and ``POST /v1/whatif``."""

    @r.get("/v1/intensity/heatmap", tags=["query"], responses=_ERRORS)
    def heatmap(p: Auth) -> dict[str, Any]:
        """Marginal intensity by region and UTC hour of day (shared grid data)."""
        return _heatmap(state)

    @r.get("/v1/regions", tags=["query"], responses=_ERRORS)
    def regions(p: Auth) -> dict[str, Any]:
        """Region ids and names the service can account for."""
        return {"regions": [{"id": x.region_id, "name": x.name} for x in all_regions()]}

    @r.get("/v1/methodology", tags=["query"], responses=_ERRORS)
    def methodology(p: Auth) -> dict[str, Any]:
        """Every factor, rule and assumption behind the numbers."""
        return {"items": _methodology(state)}

    @r.post("/v1/whatif", tags=["query"], responses=_ERRORS)
    def whatif(body: WhatIfIn, p: Auth) -> dict[str, Any]:
        """Recompute the selected events' footprint under another region, batch size or a
        delay, with the difference and its range."""
        tenant = _scope(p, body.tenant)
        t = event_rows(
            state.store,
            tenant=tenant,
            start=_utc(body.start_utc, "start_utc"),
            end=_utc(body.end_utc, "end_utc"),
            filters={"service": body.service, "model": body.model},
        )
        scen = WhatIf(
            region=body.region,
            batch_size=body.batch_size,
            delay_h=body.delay_h,
            tier=body.tier,
            from_tier=body.from_tier,
            volume_multiplier=body.volume_multiplier,
        )
        return run_whatif(t, scen, state.config, state.book)


def _footprint_and_page_routes(r: APIRouter, state: ServiceState) -> None:
    """``GET /v1/footprints/{id}`` (after ``/v1/footprints/list``, so that path is not read
    as an id) and the dashboard page ``/``."""

    @r.get(
        "/v1/footprints/{footprint_id}",
        tags=["query"],
        responses={**_ERRORS, 404: {"model": ErrorBody}},
    )
    def get_footprint(footprint_id: str, p: Auth) -> Any:
        """One stored footprint's whole derivation (inputs, versions, hash, line items)."""
        from fastapi.responses import JSONResponse

        from infercarbon.errors import FootprintNotFoundError

        try:
            rec = state.store.footprint(footprint_id, tenant=None if p.is_admin else p.tenant)
        except FootprintNotFoundError:  # a ledger outage stays a 503 (the app's handler)
            return JSONResponse(
                {"detail": f"no footprint {footprint_id!r} visible to this key"}, status_code=404
            )
        return rec.derivation()

    page = Template(
        (resources.files("infercarbon.service") / "templates" / "index.html").read_text(
            encoding="utf-8"
        )
    )

    @r.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> HTMLResponse:
        from infercarbon import __version__

        price = "" if state.price_per_kwh is None else f"{state.price_per_kwh:g}"
        return HTMLResponse(page.substitute(static="/static", version=__version__, price=price))


def build_router(state: ServiceState) -> APIRouter:
    """All routes, bound to ``state``."""
    r = APIRouter()

    for add in (
        _ops_routes,
        _event_routes,
        _readings_report_routes,
        _audit_routes,
        _listing_routes,
        _profile_routes,
        _reference_routes,
        _decision_routes,
        # after /v1/footprints/list, so that path is not read as a footprint id
        _footprint_and_page_routes,
    ):
        add(r, state)
    return r
