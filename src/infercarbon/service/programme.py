"""The programme's routes (thin shells over :mod:`infercarbon.programme`), in their own
router so the service's other routes stay independent of them:

- ``POST /v1/runs``: append training, fine-tuning, evaluation, retraining and data-pipeline
  runs (the ledger's ``runs`` table; idempotent on ``run_id``, derived when absent; all or
  nothing).  A tenant key writes its own tenant's runs; an admin key names the tenant.
- ``GET /v1/runs``: the runs (of a tenant, a model) and the training line per lineage.
- ``GET /v1/programme/drivers``: the five hidden drivers (the dashboard's panel).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from infercarbon.errors import ForbiddenError, InputError
from infercarbon.ledger.schema import RUNS
from infercarbon.programme import (
    LedgerFacts,
    hidden_drivers,
    model_facts,
    read_facts,
    training_lines,
)
from infercarbon.programme.runs import run_id_for
from infercarbon.service.prepare import decode
from infercarbon.service.routes import _ERRORS, Auth, ErrorBody, TenantQ, _json_rows, _scope
from infercarbon.service.state import ServiceState

__all__ = ["build_programme_router"]

#: Most runs in one POST /v1/runs.
MAX_RUNS = 10_000


def _rows_for(body: Any, tenant: str, admin: bool) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise InputError("send a JSON array of run objects", field="body")
    if len(body) > MAX_RUNS:
        raise InputError(f"at most {MAX_RUNS} runs per request", field="body")
    out = []
    for i, r in enumerate(body):
        if not isinstance(r, dict):
            raise InputError("must be a JSON object", field=f"runs[{i}]")
        row = dict(r)
        if "tenant" not in row:
            if admin:
                raise InputError("an admin key names the run's tenant", field=f"runs[{i}].tenant")
            row["tenant"] = tenant
        elif not admin and row["tenant"] != tenant:
            raise ForbiddenError(
                f"this key writes tenant {tenant!r}'s runs only", field=f"runs[{i}].tenant"
            )
        if "run_id" not in row:
            try:
                row["run_id"] = run_id_for(row)
            except (TypeError, ValueError) as exc:
                raise InputError(f"cannot derive a run id: {exc}", field=f"runs[{i}]") from exc
        out.append(row)
    return out


def build_programme_router(state: ServiceState) -> APIRouter:
    r = APIRouter()

    @r.post(
        "/v1/runs",
        tags=["ingest"],
        responses={**_ERRORS, 409: {"model": ErrorBody}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "items": {"type": "object"},
                            "maxItems": MAX_RUNS,
                        }
                    }
                },
            }
        },
    )
    async def post_runs(request: Request, p: Auth) -> dict[str, int]:
        """Append runs: ``[{run_id?, tenant?, kind (train|finetune|eval|retrain|
        data-pipeline), model, lineage?, system?, status (succeeded|failed|killed),
        exit_code?, signal?, start_utc, end_utc, energy_j, energy_low_j?, energy_high_j?,
        method, label, source, region?, gpu_hours?, emissions_g?, intensity_g_per_kwh?,
        command?, supersedes?}]`` (times ISO 8601 with an offset; joules, grams)."""
        from starlette.concurrency import run_in_threadpool

        rows = _rows_for(decode(await request.body()), p.tenant, p.is_admin)
        res = await run_in_threadpool(state.store.append_runs, rows)
        return {"received": res.received, "inserted": res.inserted, "duplicates": res.duplicates}

    @r.get("/v1/runs", tags=["query"], responses=_ERRORS)
    def get_runs(
        p: Auth,
        tenant: TenantQ = None,
        model: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> dict[str, Any]:
        """The runs (newest first, at most ``limit``) and the training line per lineage
        (every run, failed ones included)."""
        scope, now = _scope(p, tenant), _now(state)
        # the runs and the models' facts only (not the drivers' dozen reads), shared by the
        # requests that ask them of the same ledger state
        every, models = state.shared.get(
            ("runs_and_models", scope),
            state.store.data_version(),
            lambda: (state.store.runs(tenant=scope), model_facts(state.store, tenant=scope)),
        )
        runs = every if model is None else state.store.runs(tenant=scope, model=model)
        rows = _json_rows(runs.sort_by([("start_utc", "descending")]).slice(0, limit))
        return {
            "rows": rows,
            "columns": list(RUNS.names),
            "training": training_lines(every, models, as_of_utc=now),
        }

    @r.get("/v1/programme/drivers", tags=["query"], responses=_ERRORS)
    def drivers(p: Auth, tenant: TenantQ = None) -> dict[str, Any]:
        """Seed 001's five hidden drivers from the ledger, each with value, range, source
        and whether it falls outside the seed's quoted range."""
        return {"drivers": hidden_drivers(_facts(state, _scope(p, tenant)))}

    return r


def _now(state: ServiceState) -> datetime:
    return state.clock().astimezone(UTC)


def _facts(state: ServiceState, tenant: str | None) -> LedgerFacts:
    """:func:`read_facts` as of now, shared by the requests that ask it of the same ledger
    state on the same UTC day (the drivers and runs panels load together): what it reads
    depends on ``as_of_utc`` only through its day (the trailing window of days), so a
    shared read is the same facts with this request's ``as_of_utc``."""
    now = _now(state)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    facts = state.shared.get(
        ("read_facts", tenant, day),
        state.store.data_version(),
        lambda: read_facts(state.store, as_of_utc=now, tenant=tenant),
    )
    return replace(facts, as_of_utc=now)
