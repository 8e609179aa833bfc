"""Read-side SQL over the ledger for the API and dashboard (portable DuckDB/PostgreSQL SQL).

Everything here goes through :meth:`Store.query_arrow` with ``%s`` placeholders and returns
Arrow tables; aggregation happens in SQL (``GROUP BY``), so a large ledger is not pulled into
Python.  Only live events (not superseded by a correction) and footprints computed by this
service's calculator (:data:`~infercarbon.service.footprints.CALCULATOR`) and not superseded
are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import pyarrow as pa

from infercarbon.accounting.batch import CALCULATORS
from infercarbon.errors import InputError
from infercarbon.ledger.base import SUPERSEDED_FOOTPRINTS, Store, live_event
from infercarbon.ledger.compact import same_event
from infercarbon.ledger.schema import EVENTS

__all__ = [
    "GROUPS",
    "PERIODS",
    "event_rows",
    "event_totals",
    "live_by_service_model",
    "missing_footprints",
    "rollup",
    "stored_footprint_ids",
]

GROUPS: Final = ("service", "tenant", "model", "region", "outcome")
PERIODS: Final = ("hour", "day", "month")
_F = pa.float64()
_KIND_COLS = [
    f"{k}{s}" for k in ("location", "market", "marginal") for s in ("_g", "_low_g", "_high_g")
]

# one row per live event with its footprint's totals and facility energy
_LIVE_EVENT = live_event("e")
_LIVE_FOOTPRINT = f"f.footprint_id NOT IN {SUPERSEDED_FOOTPRINTS}"
_BASE = (
    f" FROM events e JOIN all_footprint_bases f ON {same_event('f', 'e')} AND "
    f"f.calculator IN (%s, %s) AND {_LIVE_FOOTPRINT} WHERE {_LIVE_EVENT} "
)
_TOTALS = tuple(f"f.{c}" for c in _KIND_COLS)


def _filters(
    tenant: str | None,
    start: datetime | None,
    end: datetime | None,
    extra: dict[str, str | None] | None = None,
) -> tuple[str, list[Any]]:
    conds: list[str] = []
    params: list[Any] = []
    if tenant is not None:
        conds.append("e.tenant = %s")
        params.append(tenant)
    if start is not None:
        conds.append("e.start_utc >= %s")
        params.append(start)
    if end is not None:
        conds.append("e.start_utc < %s")
        params.append(end)
    for col, v in (extra or {}).items():
        if v is not None:
            if col not in ("service", "model", "region", "outcome"):
                raise InputError(f"cannot filter on {col!r}", field=col)
            conds.append(f"e.{col} = %s")
            params.append(v)
    return "".join(f" AND {c}" for c in conds), params


def event_rows(
    store: Store,
    *,
    tenant: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
    filters: dict[str, str | None] | None = None,
) -> pa.Table:
    """Per-event rows, newest first: event columns, facility energy and the three totals."""
    where, params = _filters(tenant, start, end, filters)
    cols = ", ".join(f"e.{c}" for c in EVENTS.names if c != "supersedes")
    sums = ", ".join(f"{c} AS {n}" for c, n in zip(_TOTALS, _KIND_COLS, strict=True))
    schema = pa.schema(
        [
            *(EVENTS.arrow_schema.field(c) for c in EVENTS.names if c != "supersedes"),
            pa.field("facility_j", _F),
            *(pa.field(c, _F) for c in _KIND_COLS),
        ]
    )
    if limit is not None:
        # the newest events first (a top-N over the events table), then their footprints:
        # not a sort of every joined row (the newest `limit` events; one whose footprint is
        # not stored yet, e.g. mid-backfill, is left out of the page); the hourly rollup
        # bounds the candidates to the last hours that hold `limit` events (a range the
        # ledger skips to, instead of sorting the whole table)
        cutoff = _newest_cutoff(store, int(limit), tenant, start, end, filters)
        if cutoff is not None:
            where += " AND e.end_utc >= %s"
            params = [*params, cutoff]
        from infercarbon.ledger.rollup import has_general_event_footprints

        bases = "all_footprint_bases"
        if not has_general_event_footprints(store):
            # compact rows only: the page's footprints straight from event_footprints (one
            # index or hash probe per event), not through the view that unions both layouts
            bases = (
                "(SELECT ef.footprint_id, ef.tenant, ef.event_id, c.calculator, "
                "ef.supersedes, "
                "CASE WHEN ci.present THEN ef.facility_j END AS facility_j, "
                + ", ".join(
                    f"coalesce(ef.total_{k}{x}, ef.{k}{x}) AS {k}{x}"
                    for k in ("location", "market", "marginal")
                    for x in ("_g", "_low_g", "_high_g")
                )
                + f" FROM recent r JOIN event_footprints ef ON {same_event('ef', 'r')} "
                "JOIN footprint_contexts c ON c.context_id = ef.context_id "
                "LEFT JOIN footprint_context_items ci ON ci.context_id = ef.context_id "
                "AND ci.name = 'operational_location')"
            )
        sql = (
            f"WITH recent AS (SELECT * FROM events e WHERE {_LIVE_EVENT}{where} "
            f"ORDER BY e.end_utc DESC, e.event_id LIMIT {int(limit)}) "
            f"SELECT {cols}, f.facility_j AS facility_j, {sums} FROM recent e "
            f"JOIN {bases} f ON {same_event('f', 'e')} AND f.calculator IN "
            f"(%s, %s) AND {_LIVE_FOOTPRINT} ORDER BY e.end_utc DESC, e.event_id"
        )
        return store.query_arrow(sql, [*params, *CALCULATORS], schema)
    sql = (
        f"SELECT {cols}, f.facility_j AS facility_j, {sums} {_BASE}{where} "
        "ORDER BY e.end_utc DESC, e.event_id"
    )
    return store.query_arrow(sql, [*CALCULATORS, *params], schema)


def rollup(
    store: Store,
    *,
    group: str,
    period: str,
    tenant: str | None,
    start: datetime | None = None,
    end: datetime | None = None,
    per_outcome: bool = False,
) -> pa.Table:
    """Sums by ``group`` and ``period`` (UTC truncation), optionally per outcome.

    A kind's sums are null for a group in which some event has no signal of that kind
    (``count`` of values < events), never a partial sum presented as whole."""
    if group not in GROUPS:
        raise InputError(f"must be one of {', '.join(GROUPS)}", field="group")
    if period not in PERIODS:
        raise InputError(f"must be one of {', '.join(PERIODS)}", field="period")
    from infercarbon.ledger.rollup import has_general_event_footprints, hours_answer

    if hours_answer(store, (group,), start, end):
        return _hours_rollup(store, group, period, tenant, start, end, per_outcome)
    where, params = _filters(tenant, start, end)
    key = f"COALESCE(e.{group}, '(none)')"
    bucket = f"date_trunc('{period}', e.start_utc AT TIME ZONE 'UTC')"
    outcome = ", COALESCE(e.outcome, '(none)') AS outcome" if per_outcome else ""
    outcome_g = ", COALESCE(e.outcome, '(none)')" if per_outcome else ""
    base, totals, facility = _BASE, list(_TOTALS), "f.facility_j"
    if not has_general_event_footprints(store):
        # compact rows only: join the events with event_footprints, not the union views
        base = (
            f"FROM events e JOIN event_footprints ef ON {same_event('ef', 'e')} AND "
            "ef.context_id IN (SELECT context_id FROM footprint_contexts WHERE calculator "
            f"IN (%s, %s)) AND {_LIVE_FOOTPRINT.replace('f.footprint_id', 'ef.footprint_id')}"
            f" WHERE {_LIVE_EVENT}"
        )
        totals = [
            f"coalesce(ef.total_{k}{s_}, ef.{k}{s_})"
            for k in ("location", "market", "marginal")
            for s_ in ("_g", "_low_g", "_high_g")
        ]
        facility = "ef.facility_j"
    sums = []
    for col, name in zip(totals, _KIND_COLS, strict=True):
        sums.append(f"CASE WHEN count({col}) = count(*) THEN sum({col}) END AS {name}")
    sql = (
        f"SELECT {key} AS key, {bucket} AS period_start_utc{outcome}, count(*) AS events, "
        f"sum(e.energy_j) AS energy_j, sum({facility}) AS facility_j, "
        "avg(EXTRACT(EPOCH FROM (e.end_utc - e.start_utc))) AS latency_mean_s, "
        f"{', '.join(sums)} {base}{where} GROUP BY {key}, {bucket}{outcome_g} "
        f"ORDER BY 2, 1{', 3' if per_outcome else ''}"
    )
    fields = [pa.field("key", pa.string()), pa.field("period_start_utc", pa.timestamp("us"))]
    if per_outcome:
        fields.append(pa.field("outcome", pa.string()))
    fields += [
        pa.field("events", pa.int64()),
        pa.field("energy_j", _F),
        pa.field("facility_j", _F),
        pa.field("latency_mean_s", _F),
        *(pa.field(c, _F) for c in _KIND_COLS),
    ]
    return store.query_arrow(sql, [*CALCULATORS, *params], pa.schema(fields))


def stored_footprint_ids(store: Store, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` already have a footprint from this calculator."""
    if not event_ids:
        return set()
    t = store.query_arrow(
        "SELECT event_id FROM all_footprints WHERE calculator IN (%s, %s) AND event_id = ANY(%s)",
        [*CALCULATORS, list(event_ids)],
        pa.schema([pa.field("event_id", pa.string())]),
    )
    return set(t.column("event_id").to_pylist())


def missing_footprints(store: Store, *, limit: int = 50_000) -> pa.Table:
    """Live events that have no footprint from this calculator (e.g. after a crash between
    the two appends): the service computes them at start-up."""
    cols = ", ".join(f"e.{c}" for c in EVENTS.names)
    sql = (
        f"SELECT {cols} FROM events e WHERE NOT EXISTS (SELECT 1 FROM all_footprints f "
        f"WHERE {same_event('f', 'e')} AND f.calculator IN (%s, %s)) "
        f"ORDER BY e.event_id LIMIT {int(limit)}"
    )
    return store.query_arrow(sql, [*CALCULATORS], EVENTS.arrow_schema)


def event_totals(store: Store, *, tenant: str | None) -> dict[str, Any]:
    """Count, energy and facility energy sums, latency mean/p50/p95 and the attribution
    methods of the live events with a footprint: aggregates in SQL, no row in Python."""
    from infercarbon.ledger.rollup import has_general_event_footprints, hours_answer

    if hours_answer(store):
        return _hours_event_totals(store, tenant=tenant)
    if not has_general_event_footprints(store):
        return _compact_event_totals(store, tenant=tenant)
    return _view_event_totals(store, tenant=tenant)


#: How :func:`event_totals` reads latency quantiles from the hourly rollup.
LATENCY_QUANTILES_METHOD: Final = (
    "p50/p95 from the rollup's latency histogram (4 buckets per decade from 1 ms to 316 s; "
    "a quantile is the mean latency of its bucket: within x1.78 of the exact quantile, "
    "exact when that bucket's latencies are equal)"
)
_ROLLUP_CALC = (
    "h.context_id IN (SELECT context_id FROM footprint_contexts WHERE calculator IN (%s, %s))"
)


def _hours_event_totals(store: Store, *, tenant: str | None) -> dict[str, Any]:
    """:func:`event_totals` from the hourly rollup (``footprint_hours``)."""
    from infercarbon.ledger.hours import LATENCY_EDGES_S, latency_quantile_s

    conds, params = [_ROLLUP_CALC], [*CALCULATORS]
    if tenant is not None:
        conds.append("h.tenant = %s")
        params.append(tenant)
    where = " AND ".join(conds)
    nb = len(LATENCY_EDGES_S) + 1
    sql = (
        "SELECT sum(h.n), sum(h.energy_j), sum(h.facility_j), "
        "sum(h.latency_s) / nullif(sum(h.n), 0), "
        + ", ".join(
            [
                *(f"sum(h.lat_{k:02d})" for k in range(nb)),
                *(f"sum(h.lat_sum_{k:02d})" for k in range(nb)),
            ]
        )
        + f" FROM footprint_hours h WHERE {where}"
    )
    schema = pa.schema(
        [
            pa.field("n", pa.int64()),
            pa.field("energy_j", _F),
            pa.field("facility_j", _F),
            pa.field("mean", _F),
            *(pa.field(f"b{k}", pa.int64()) for k in range(nb)),
            *(pa.field(f"s{k}", _F) for k in range(nb)),
        ]
    )
    raw = store.query_arrow(sql, params, schema).to_pylist()[0]
    counts = [raw.pop(f"b{k}") or 0 for k in range(nb)]
    sums = [raw.pop(f"s{k}") or 0.0 for k in range(nb)]
    row: dict[str, Any] = {
        **raw,
        "p50": latency_quantile_s(counts, sums, 0.5),
        "p95": latency_quantile_s(counts, sums, 0.95),
        "quantiles": LATENCY_QUANTILES_METHOD,
    }
    methods = store.query_arrow(
        f"SELECT DISTINCT h.attribution_method FROM footprint_hours h WHERE {where} "
        "AND h.n > 0 ORDER BY 1 LIMIT 50",
        params,
        pa.schema([pa.field("m", pa.string())]),
    )
    row["methods"] = methods.column("m").to_pylist()
    return row


def _view_event_totals(store: Store, *, tenant: str | None) -> dict[str, Any]:
    """:func:`event_totals` over the views that read both footprint layouts."""
    where, params = _filters(tenant, None, None)
    lat = "EXTRACT(EPOCH FROM (e.end_utc - e.start_utc))"
    sql = (
        f"SELECT count(*), sum(e.energy_j), sum(f.facility_j), avg({lat}), "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {lat}), "
        f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {lat}) {_BASE}{where}"
    )
    schema = pa.schema(
        [
            pa.field("n", pa.int64()),
            pa.field("energy_j", _F),
            pa.field("facility_j", _F),
            pa.field("mean", _F),
            pa.field("p50", _F),
            pa.field("p95", _F),
        ]
    )
    row: dict[str, Any] = store.query_arrow(sql, [*CALCULATORS, *params], schema).to_pylist()[0]
    methods = store.query_arrow(
        f"SELECT DISTINCT e.attribution_method {_BASE}{where} ORDER BY 1 LIMIT 50",
        [*CALCULATORS, *params],
        pa.schema([pa.field("m", pa.string())]),
    )
    row["methods"] = methods.column("m").to_pylist()
    return row


def _compact_event_totals(store: Store, *, tenant: str | None) -> dict[str, Any]:
    """:func:`event_totals` from the compact rows alone (they carry the event's times,
    energy, facility energy and attribution method): one scan, no join."""
    conds = [
        _LIVE_FOOTPRINT.replace("f.footprint_id", "ef.footprint_id"),
        live_event("ef"),
        "ef.context_id IN (SELECT context_id FROM footprint_contexts WHERE calculator IN (%s, %s))",
    ]
    params: list[Any] = [*CALCULATORS]
    if tenant is not None:
        conds.append("ef.tenant = %s")
        params.append(tenant)
    where = " AND ".join(conds)
    lat = "EXTRACT(EPOCH FROM (ef.period_end_utc - ef.period_start_utc))"
    sql = (
        f"SELECT count(*), sum(ef.energy_j), sum(ef.facility_j), avg({lat}), "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {lat}), "
        f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {lat}) "
        f"FROM event_footprints ef WHERE {where}"
    )
    schema = pa.schema(
        [
            pa.field("n", pa.int64()),
            pa.field("energy_j", _F),
            pa.field("facility_j", _F),
            pa.field("mean", _F),
            pa.field("p50", _F),
            pa.field("p95", _F),
        ]
    )
    row: dict[str, Any] = store.query_arrow(sql, params, schema).to_pylist()[0]
    methods = store.query_arrow(
        f"SELECT DISTINCT ef.attribution_method FROM event_footprints ef WHERE {where} "
        "ORDER BY 1 LIMIT 50",
        params,
        pa.schema([pa.field("m", pa.string())]),
    )
    row["methods"] = methods.column("m").to_pylist()
    return row


def _hours_rollup(
    store: Store,
    group: str,
    period: str,
    tenant: str | None,
    start: datetime | None,
    end: datetime | None,
    per_outcome: bool,
) -> pa.Table:
    """:func:`rollup` from the hourly rollup (``footprint_hours``): same sums, whole hours."""
    where, params = _filters(tenant, start, end)
    where = where.replace("e.start_utc", "h.hour_utc").replace("e.tenant", "h.tenant")
    key = f"COALESCE(NULLIF(h.{group}, ''), '(none)')"
    bucket = f"date_trunc('{period}', h.hour_utc AT TIME ZONE 'UTC')"
    outcome = ", COALESCE(NULLIF(h.outcome, ''), '(none)') AS outcome" if per_outcome else ""
    outcome_g = ", COALESCE(NULLIF(h.outcome, ''), '(none)')" if per_outcome else ""
    sums = []
    for k in ("location", "market", "marginal"):
        whole = f"CASE WHEN sum(h.total_{k}_n) = sum(h.n) THEN "
        sums += [
            f"{whole}sum(h.total_{k}_g) END AS {k}_g",
            f"{whole}sum(h.total_{k}_low_sum_g) END AS {k}_low_g",
            f"{whole}sum(h.total_{k}_high_sum_g) END AS {k}_high_g",
        ]
    sql = (
        f"SELECT {key} AS key, {bucket} AS period_start_utc{outcome}, sum(h.n) AS events, "
        "sum(h.energy_j) AS energy_j, sum(h.facility_j) AS facility_j, "
        "sum(h.latency_s) / sum(h.n) AS latency_mean_s, "
        f"{', '.join(sums)} FROM footprint_hours h WHERE {_ROLLUP_CALC}{where} "
        f"GROUP BY {key}, {bucket}{outcome_g} HAVING sum(h.n) > 0 "
        f"ORDER BY 2, 1{', 3' if per_outcome else ''}"
    )
    fields = [pa.field("key", pa.string()), pa.field("period_start_utc", pa.timestamp("us"))]
    if per_outcome:
        fields.append(pa.field("outcome", pa.string()))
    fields += [
        pa.field("events", pa.int64()),
        pa.field("energy_j", _F),
        pa.field("facility_j", _F),
        pa.field("latency_mean_s", _F),
        *(pa.field(c, _F) for c in _KIND_COLS),
    ]
    return store.query_arrow(sql, [*CALCULATORS, *params], pa.schema(fields))


def _newest_cutoff(
    store: Store,
    limit: int,
    tenant: str | None,
    start: datetime | None,
    end: datetime | None,
    filters: dict[str, str | None] | None,
) -> datetime | None:
    """A time before which no event of the newest ``limit`` (by end time) can end: the
    start of the latest hour from which the rollup counts at least ``limit`` live events
    (every one of them ends at or after it); None when the rollup cannot say (or holds
    fewer): then the whole table is the candidate set."""
    from infercarbon.ledger.rollup import hours_answer

    if not hours_answer(store, (), start, end):
        return None
    where, params = _filters(tenant, start, end, filters)
    for col in ("tenant", "service", "model", "region"):
        where = where.replace(f"e.{col}", f"h.{col}")
    where = where.replace("e.outcome", "NULLIF(h.outcome, '')").replace("e.start_utc", "h.hour_utc")
    t = store.query_arrow(
        f"SELECT h.hour_utc AS hour_utc, sum(h.n) AS n FROM footprint_hours h WHERE "
        f"{_ROLLUP_CALC}{where} GROUP BY h.hour_utc ORDER BY h.hour_utc DESC",
        [*CALCULATORS, *params],
        pa.schema([pa.field("hour_utc", pa.timestamp("us", tz="UTC")), pa.field("n", pa.int64())]),
    )
    seen = 0
    for hour, n in zip(t.column("hour_utc").to_pylist(), t.column("n").to_pylist(), strict=True):
        seen += int(n or 0)
        if seen >= limit:
            return hour  # type: ignore[no-any-return]
    return None


def live_by_service_model(store: Store) -> pa.Table:
    """Live events, their energy and totals per (service, model), the most events first
    (the hourly rollup, brought up to date within the store's lag): ``/metrics``' gauges.
    Empty for a ledger with event footprints in the general layout (the rollup holds the
    compact ones)."""
    from infercarbon.ledger.rollup import hours_answer

    schema = pa.schema(
        [
            pa.field("service", pa.string()),
            pa.field("model", pa.string()),
            pa.field("events", pa.int64()),
            pa.field("energy_j", _F),
            *(pa.field(f"{k}_g", _F) for k in ("location", "market", "marginal")),
        ]
    )
    if not hours_answer(store):
        return schema.empty_table()
    sums = ", ".join(
        f"CASE WHEN sum(h.total_{k}_n) > 0 THEN sum(h.total_{k}_g) END AS {k}_g"
        for k in ("location", "market", "marginal")
    )
    return store.query_arrow(
        f"SELECT h.service, h.model, sum(h.n) AS events, sum(h.energy_j) AS energy_j, {sums} "
        f"FROM footprint_hours h WHERE {_ROLLUP_CALC} GROUP BY h.service, h.model "
        "HAVING sum(h.n) > 0 ORDER BY 3 DESC, 1, 2",
        [*CALCULATORS],
        schema,
    )
