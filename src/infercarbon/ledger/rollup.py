"""Rollups: events and footprints summed by service, tenant, model, region and period.

The one rollup engine: every summed read of the ledger is here, for the reports, the CLI,
the API and the dashboard alike.  :func:`rollup_events`, :func:`rollup_footprints`,
:func:`rollup_line_items`, :func:`ranged_sums` and :func:`idle_and_cost` sum any event
footprints; :func:`rollup_totals`, :func:`event_totals`, :func:`event_rows`,
:func:`live_by_service_model`, :func:`missing_footprints` and :func:`stored_footprint_ids`
read the per-event footprints of the ingest path's calculators
(:data:`~infercarbon.ledger.records.EVENT_CALCULATORS`) for the service.  Each answers from
the cheapest source that gives the same figures: the hourly rollup (``footprint_hours``)
when the question is in whole hours, else the compact rows, else the views that union both
footprint layouts (tests/ledger/test_hours.py and tests/service/test_full_footprint.py pin
that all give the same results).

Each rollup is one SQL ``GROUP BY`` (with ``date_trunc`` for hour/day/month, in UTC) run by
the store, returned as a pyarrow table.  Corrected (superseded) events and footprints are
left out, so a correction replaces the row it corrects.  ``tenant`` restricts every read to
one tenant's rows (multi-tenant reads).

Ranges: ``low_sum_g`` and ``high_sum_g`` are sums of the per-footprint p5 and p95.  That is
the range if the errors of all footprints were fully correlated (comonotone): a safe bound,
wider than the range of independent errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import pyarrow as pa

from infercarbon.errors import InputError
from infercarbon.ledger.base import SUPERSEDED_FOOTPRINTS, Store, _ts_param, live_event
from infercarbon.ledger.compact import same_event
from infercarbon.ledger.hours import (
    LATENCY_EDGES_S,
    LINES,
    PARTS,
    deviation_parts,
    latency_quantile_s,
)
from infercarbon.ledger.records import EVENT_CALCULATORS
from infercarbon.ledger.schema import EVENTS, TS

__all__ = [
    "AGGREGATE_RANGE_METHOD",
    "DIMENSIONS",
    "GROUPS",
    "HOUR_DIMENSIONS",
    "LATENCY_QUANTILES_METHOD",
    "PERIODS",
    "event_filters",
    "event_hours_answer",
    "event_rows",
    "event_spans",
    "event_totals",
    "has_general_event_footprints",
    "hours_answer",
    "idle_and_cost",
    "live_by_service_model",
    "missing_footprints",
    "ranged_sums",
    "rollup_events",
    "rollup_footprints",
    "rollup_line_items",
    "rollup_totals",
    "stored_footprint_ids",
]

PERIODS = ("hour", "day", "month")
#: Event columns a rollup can group by.
DIMENSIONS = (
    "service",
    "tenant",
    "model",
    "region",
    "device",
    "attribution_method",
    "outcome",
    "trace_id",
)

_LIVE_FOOTPRINT = f"f.footprint_id NOT IN {SUPERSEDED_FOOTPRINTS}"
#: The same on a compact row ``ef``.
_LIVE_COMPACT = _LIVE_FOOTPRINT.replace("f.footprint_id", "ef.footprint_id")
#: The contexts of the per-event calculators' footprints (two parameters: EVENT_CALCULATORS).
_EVENT_CONTEXTS = "IN (SELECT context_id FROM footprint_contexts WHERE calculator IN (%s, %s))"
#: The event of a footprint ``f`` (either layout, the views) and of a compact row ``ef``.
_F_EVENT = f"all_footprints f JOIN events e ON {same_event('e', 'f')}"
_EF_EVENT = f"event_footprints ef JOIN events e ON {same_event('e', 'ef')}"


def _plan(
    by: Sequence[str],
    period: str | None,
    tenant: str | None,
    start_utc: datetime | None,
    end_utc: datetime | None,
) -> tuple[list[str], list[pa.Field], list[str], list[Any]]:
    if isinstance(by, str):
        by = (by,)
    bad = [b for b in by if b not in DIMENSIONS]
    if bad:
        raise InputError(
            f"cannot group by {', '.join(map(repr, bad))}; choose from {', '.join(DIMENSIONS)}",
            field="by",
        )
    if len(set(by)) != len(by):
        raise InputError("a dimension is repeated", field="by")
    if period is not None and period not in PERIODS:
        raise InputError(
            f"must be one of {', '.join(PERIODS)} (or None for all time)", field="period"
        )
    keys: list[str] = []
    fields: list[pa.Field] = []
    if period is not None:
        keys.append(f"date_trunc('{period}', e.start_utc)")
        fields.append(pa.field("period_start_utc", TS))
    keys += [f"e.{b}" for b in by]
    fields += [pa.field(b, pa.string()) for b in by]
    conds = [live_event("e")]
    if "trace_id" in by:  # per user action: the traced events only (most carry no trace,
        conds.append("e.trace_id IS NOT NULL")  # and their row groups are skipped whole)
    more, params = _event_conds(
        tenant, _ts_param(start_utc, "start_utc"), _ts_param(end_utc, "end_utc")
    )
    return keys, fields, [*conds, *more], params


def _event_conds(
    tenant: str | None,
    start: datetime | None,
    end: datetime | None,
    extra: dict[str, str | None] | None = None,
) -> tuple[list[str], list[Any]]:
    """Conditions on events ``e`` and their parameters: the tenant, start times in
    [start, end), and equality on the ``extra`` columns given (service, model, region,
    outcome)."""
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
    return conds, params


def _compact_total(basis: str, suffix: str) -> str:
    """A footprint's total on ``basis`` (``suffix``: g, low_g, high_g) on a compact row
    ``ef``: the stored total when the row has one, else the basis's line."""
    return f"coalesce(ef.total_{basis}_{suffix}, ef.{basis}_{suffix})"


def _run(
    store: Store,
    keys: list[str],
    fields: list[pa.Field],
    measures: list[str],
    measure_fields: list[pa.Field],
    source: str,
    conds: list[str],
    params: list[Any],
) -> pa.Table:
    select = [f"{k} AS k{i}" for i, k in enumerate(keys)] + measures
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    sql = f"SELECT {', '.join(select)} FROM {source} WHERE {' AND '.join(conds)}" + (
        f" GROUP BY {group} ORDER BY {group}" if keys else ""
    )
    schema = pa.schema([*fields, *measure_fields])
    return store.query_arrow(sql, params, schema)


def rollup_events(
    store: Store,
    *,
    by: Sequence[str] = ("service",),
    period: str | None = None,
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> pa.Table:
    """Events summed by ``by`` (and ``period`` of their ``start_utc``).

    Columns: ``period_start_utc`` (when ``period``), the ``by`` columns, ``events`` [count],
    ``energy_j`` [J], ``tokens_in``, ``tokens_out``, ``payload_bytes`` (sums of the events
    that report them; null when none does).  Events start in [start_utc, end_utc).
    """
    keys, fields, conds, params = _plan(by, period, tenant, start_utc, end_utc)
    if event_hours_answer(store, by, start_utc, end_utc):  # the event rollup: a few rows
        sums = ("events", "energy_j", "tokens_in", "tokens_out", "payload_bytes")
        keys, conds = _on_hours(keys), _on_hours(conds) or ["TRUE"]
        measures, source = [f"sum(h.{m}) AS {m}" for m in sums], "event_hours h"
    else:
        measures = [
            "count(*) AS events",
            "sum(e.energy_j) AS energy_j",
            "sum(e.tokens_in) AS tokens_in",
            "sum(e.tokens_out) AS tokens_out",
            "sum(e.payload_bytes) AS payload_bytes",
        ]
        source = "events e"
    mf = [
        pa.field("events", pa.int64()),
        pa.field("energy_j", pa.float64()),
        pa.field("tokens_in", pa.int64()),
        pa.field("tokens_out", pa.int64()),
        pa.field("payload_bytes", pa.int64()),
    ]
    return _run(store, keys, fields, measures, mf, source, conds, params)


def event_spans(
    store: Store,
    *,
    by: Sequence[str] = ("service",),
    tenant: str | None = None,
    end_utc: datetime | None = None,
) -> pa.Table:
    """The (live) events' count and the start of the first and the last, by ``by``, of
    the events that start before ``end_utc``.

    Columns: the ``by`` columns, ``events`` [count], ``first_utc``, ``last_utc``.  Read from
    the event rollup where it answers (whole hours): its first and last starts are the
    events' own, not rounded to the hour.
    """
    keys, fields, conds, params = _plan(by, None, tenant, None, end_utc)
    mf = [
        pa.field("events", pa.int64()),
        pa.field("first_utc", TS),
        pa.field("last_utc", TS),
    ]
    if event_hours_answer(store, by, None, end_utc):
        measures = [
            "sum(h.events) AS events",
            "min(h.first_start_utc) AS first_utc",
            "max(h.last_start_utc) AS last_utc",
        ]
        hours_conds = _on_hours(conds) or ["TRUE"]
        return _run(
            store, _on_hours(keys), fields, measures, mf, "event_hours h", hours_conds, params
        )
    measures = ["count(*) AS events", "min(e.start_utc) AS first_utc", "max(e.start_utc)"]
    return _run(store, keys, fields, measures, mf, "events e", conds, params)


def _bound_sums(value_g: str, low_g: str, high_g: str) -> tuple[list[str], list[pa.Field]]:
    """The measures (and their fields) of a rollup of footprints or line items: the count,
    and the sums of the figures [g CO2e] and of their p5 and p95 bounds."""
    measures = [
        "count(*) AS footprints",
        f"sum({value_g}) AS emissions_g",
        f"sum({low_g}) AS low_sum_g",
        f"sum({high_g}) AS high_sum_g",
    ]
    fields = [
        pa.field("footprints", pa.int64()),
        pa.field("emissions_g", pa.float64()),
        pa.field("low_sum_g", pa.float64()),
        pa.field("high_sum_g", pa.float64()),
    ]
    return measures, fields


def rollup_footprints(
    store: Store,
    *,
    by: Sequence[str] = ("service",),
    period: str | None = None,
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> pa.Table:
    """Footprint totals of events, summed by ``by``, ``period`` and basis.

    Only footprints of (live) events count; aggregate footprints have no event and are left
    out.  Columns: ``period_start_utc`` (when ``period``), the ``by`` columns, ``basis``,
    ``footprints`` [count], ``emissions_g``, ``low_sum_g``, ``high_sum_g`` [g CO2e].
    """
    keys, fields, conds, params = _plan(by, period, tenant, start_utc, end_utc)
    keys.append("t.basis")
    fields.append(pa.field("basis", pa.string()))
    conds.append(_LIVE_FOOTPRINT)
    measures, mf = _bound_sums("t.value_g", "t.low_g", "t.high_g")
    source = f"{_F_EVENT} JOIN all_footprint_totals t ON t.footprint_id = f.footprint_id"
    return _run(store, keys, fields, measures, mf, source, conds, params)


def rollup_line_items(
    store: Store,
    *,
    by: Sequence[str] = ("service",),
    period: str | None = None,
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> pa.Table:
    """Line items of event footprints summed by ``by``, ``period``, item, scope and basis.

    For scope reports (e.g. Scope 2 location- and market-based side by side).  Columns:
    ``period_start_utc`` (when ``period``), the ``by`` columns, ``name``, ``scope``,
    ``basis``, ``in_total``, ``footprints`` [count], ``emissions_g``, ``low_sum_g``,
    ``high_sum_g`` [g CO2e].
    """
    keys, fields, conds, params = _plan(by, period, tenant, start_utc, end_utc)
    keys += ["li.name", "li.scope", "li.basis", "li.in_total"]
    fields += [
        pa.field("name", pa.string()),
        pa.field("scope", pa.string()),
        pa.field("basis", pa.string()),
        pa.field("in_total", pa.bool_()),
    ]
    conds.append(_LIVE_FOOTPRINT)
    measures, mf = _bound_sums("li.emissions_g", "li.low_g", "li.high_g")
    source = f"{_F_EVENT} JOIN all_footprint_items li ON li.footprint_id = f.footprint_id"
    return _run(store, keys, fields, measures, mf, source, conds, params)


#: How aggregate ranges are formed (stated beside every aggregate range).
AGGREGATE_RANGE_METHOD = (
    "p5..p95 of the sum, to first order: each footprint's deviation (value - p5, p95 - value) "
    "is split into the energy band's part, independent from event to event, and the shared "
    "part (grid factor, PUE, T&D losses, idle power, utilisation, embodied carbon, network "
    "coefficient). Shared parts are fully correlated within a group of events priced by the "
    "same deployment profile, region and signal sources (they add linearly) and independent "
    "across groups; independent parts add in quadrature: "
    "low = sum - sqrt(sum_i indep_i^2 + sum_groups (sum_{i in group} shared_i)^2), high alike, "
    "low floored at 0."
)


def ranged_sums(
    store: Store,
    *,
    of: str = "totals",
    by: Sequence[str] = (),
    keys: Sequence[str] = ("basis",),
    period: str | None = None,
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> pa.Table:
    """Sums of live event footprints' totals (``of="totals"``) or line items
    (``of="items"``) with an honest aggregate p5..p95 (:data:`AGGREGATE_RANGE_METHOD`).

    ``by``: event dimensions (:data:`DIMENSIONS`); ``keys``: the footprint columns to group
    by (totals: ``basis``; items: any of ``name``, ``scope``, ``basis``, ``in_total``).
    Columns: ``period_start_utc`` (when ``period``), the ``by`` and ``keys`` columns,
    ``footprints`` [count], ``value_g``, ``low_g``, ``high_g`` [g CO2e]; computed in SQL
    (two GROUP BYs), never by pulling rows into Python."""
    allowed = {"totals": ("basis",), "items": ("name", "scope", "basis", "in_total")}
    if of not in allowed:
        raise InputError("must be 'totals' or 'items'", field="of")
    bad = [k for k in keys if k not in allowed[of]]
    if bad:
        raise InputError(f"cannot group {of} by {bad}; choose from {allowed[of]}", field="keys")
    if not has_general_event_footprints(store):
        # every event footprint is a compact row: read the hourly rollup when the question
        # is in whole hours, else the compact tables, never the views that union both
        # layouts (same figures)
        if hours_answer(store, by, start_utc, end_utc):
            return _compact_ranged_sums(
                store, of, by, keys, period, tenant, start_utc, end_utc, hours=True
            )
        return _compact_ranged_sums(store, of, by, keys, period, tenant, start_utc, end_utc)
    return _view_ranged_sums(store, of, by, keys, period, tenant, start_utc, end_utc)


def _view_ranged_sums(
    store: Store,
    of: str,
    by: Sequence[str],
    keys: Sequence[str],
    period: str | None,
    tenant: str | None,
    start_utc: datetime | None,
    end_utc: datetime | None,
) -> pa.Table:
    """:func:`ranged_sums` over the views that read both footprint layouts."""
    ekeys, fields, conds, params = _plan(by, period, tenant, start_utc, end_utc)
    conds.append(_LIVE_FOOTPRINT)
    view = "all_footprint_total_deviations" if of == "totals" else "all_footprint_item_deviations"
    inner = [
        *(f"{k} AS k{i}" for i, k in enumerate(ekeys)),
        *(f"d.{k} AS f{i}" for i, k in enumerate(keys)),
    ]
    names = [*(f"k{i}" for i in range(len(ekeys))), *(f"f{i}" for i in range(len(keys)))]
    fields += [pa.field(k, pa.bool_() if k == "in_total" else pa.string()) for k in keys]
    sql = (
        f"WITH d AS (SELECT {', '.join([*inner, 'd.corr_group AS corr_group', 'd.g AS g'])}, "
        "d.dn_g AS dn_g, d.up_g AS up_g, d.indep_dn_g AS idn, d.indep_up_g AS iup "
        f"FROM {_F_EVENT} JOIN {view} d "
        f"ON d.footprint_id = f.footprint_id WHERE {' AND '.join(conds)}), "
        f"g AS (SELECT {', '.join([*names, 'corr_group']) if names else 'corr_group'}, "
        "count(*) AS n, sum(g) AS g, sum(idn * idn) AS i2dn, sum(iup * iup) AS i2up, "
        "sum(sqrt(greatest(dn_g * dn_g - idn * idn, 0.0))) AS sdn, "
        "sum(sqrt(greatest(up_g * up_g - iup * iup, 0.0))) AS sup FROM d "
        f"GROUP BY {', '.join([*names, 'corr_group']) if names else 'corr_group'}) "
        f"SELECT {', '.join(names) + ', ' if names else ''}sum(n) AS footprints, "
        "sum(g) AS value_g, greatest(sum(g) - sqrt(sum(i2dn) + sum(sdn * sdn)), 0.0) AS low_g, "
        "sum(g) + sqrt(sum(i2up) + sum(sup * sup)) AS high_g FROM g"
        + (f" GROUP BY {', '.join(names)} ORDER BY {', '.join(names)}" if names else "")
    )
    schema = pa.schema(
        [
            *fields,
            pa.field("footprints", pa.int64()),
            pa.field("value_g", pa.float64()),
            pa.field("low_g", pa.float64()),
            pa.field("high_g", pa.float64()),
        ]
    )
    return store.query_arrow(sql, params, schema)


def idle_and_cost(
    store: Store,
    *,
    by: Sequence[str] = ("device",),
    period: str | None = None,
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
    per_currency: bool = True,
) -> pa.Table:
    """Idle energy against active energy, and the energy cost, of live event footprints
    (those that record them: schema version 3 and later), by ``by`` and ``period``, and by
    currency unless ``per_currency`` is False (then ``currency`` and ``energy_cost`` are null:
    amounts in different currencies are never added).

    Columns: ``period_start_utc`` (when ``period``), the ``by`` columns, ``currency`` (null:
    no price configured), ``footprints`` [count], ``idle_known`` [count] (footprints with an
    idle figure: modelled from the profile, or measured), ``active_j`` (the events' energy) and
    ``idle_attributed_j`` / ``idle_unattributed_j`` [J] (idle IT energy split by the profile's
    idle policy), ``idle_share_of_active_frac`` = (attributed + unattributed) / active of the
    footprints with an idle figure (null where none has one), ``energy_cost`` [currency] (IT
    and attributed idle energy at the facility, at the profile's price)."""
    keys, fields, conds, params = _plan(by, period, tenant, start_utc, end_utc)
    if hours_answer(store, by, start_utc, end_utc):
        if per_currency:
            keys.append("ef.currency")
        fields.append(pa.field("currency", pa.string()))
        return _hours_idle_and_cost(store, keys, fields, conds, params, per_currency)
    conds.append(_LIVE_COMPACT)
    if not by:  # every filter has its column on the compact row: no join with events
        conds, keys = _on_compact_rows(conds), _on_compact_rows(keys)
    if per_currency:
        keys.append("ef.currency")
    fields.append(pa.field("currency", pa.string()))
    known = "ef.idle_attributed_j IS NOT NULL"
    measures = [
        *([] if per_currency else ["CAST(NULL AS VARCHAR) AS currency"]),
        "count(*) AS footprints",
        f"count(CASE WHEN {known} THEN 1 END) AS idle_known",
        "sum(ef.energy_j) AS active_j",
        "sum(ef.idle_attributed_j) AS idle_attributed_j",
        "sum(ef.idle_unattributed_j) AS idle_unattributed_j",
        f"CASE WHEN sum(CASE WHEN {known} THEN ef.energy_j END) > 0 THEN "
        "(sum(ef.idle_attributed_j) + sum(ef.idle_unattributed_j)) / "
        f"sum(CASE WHEN {known} THEN ef.energy_j END) END AS idle_share_of_active_frac",
        "sum(ef.energy_cost) AS energy_cost"
        if per_currency
        else "CAST(NULL AS DOUBLE PRECISION) AS energy_cost",
    ]
    mf = [
        pa.field("footprints", pa.int64()),
        pa.field("idle_known", pa.int64()),
        pa.field("active_j", pa.float64()),
        pa.field("idle_attributed_j", pa.float64()),
        pa.field("idle_unattributed_j", pa.float64()),
        pa.field("idle_share_of_active_frac", pa.float64()),
        pa.field("energy_cost", pa.float64()),
    ]
    if not per_currency:  # the currency column comes first among the measures
        fields.pop()
        mf.insert(0, pa.field("currency", pa.string()))
    source = _EF_EVENT if by else "event_footprints ef"
    return _run(store, keys, fields, measures, mf, source, conds, params)


def _on_compact_rows(sql: Sequence[str]) -> list[str]:
    """Conditions or keys written for ``events e`` rewritten for a compact row ``ef``, which
    carries the event's id, tenant and start time itself (no join needed)."""
    return [
        c.replace(live_event("e"), live_event("ef"))
        .replace("e.start_utc", "ef.period_start_utc")
        .replace("e.tenant", "ef.tenant")
        for c in sql
    ]


def has_general_event_footprints(store: Store) -> bool:
    """Whether any event footprint is stored in the general layout (then the views, which
    read both layouts, are needed)."""
    t = store.query_arrow(
        "SELECT 1 AS x FROM footprints WHERE event_id IS NOT NULL LIMIT 1",
        [],
        pa.schema([pa.field("x", pa.int32())]),
    )
    return bool(t.num_rows > 0)


def _deviation_sums(g: str, lo: str, hi: str, op: str | None) -> list[str]:
    """SQL sums over rows of a figure ``g`` with its range [``lo``, ``hi``], part by part
    (:func:`infercarbon.ledger.hours.deviation_parts`: the rollup holds the same sums)."""
    return [f"sum({x})" for x in deviation_parts(g, lo, hi, op)]


def _lines_per_group(per_ctx: str, dnames: list[str], keys: Sequence[str]) -> str:
    """Per-(key, context) sums of every line column (``per_ctx``: columns ``dnames``,
    ``cg``, ``n`` and ``<line>_<part>``) mapped to the context's line items (``keys`` of
    ``footprint_context_items``): what :func:`_combine` takes."""
    line = "coalesce(ci.line_column, ci.basis)"

    def pick(m: str) -> str:
        return (
            f"CASE WHEN ci.present THEN CASE {line} "
            + " ".join(f"WHEN '{c}' THEN p.{c}_{m}" for c in LINES)
            + " END ELSE 0.0 END"
        )

    cols = [
        *(f"p.{d}" for d in dnames),
        *(f"ci.{k} AS f{i}" for i, k in enumerate(keys)),
        "p.cg",
        "p.n",
        *(f"{pick(m)} AS {m}" for m in PARTS),
    ]
    return (
        f"SELECT {', '.join(cols)} FROM ({per_ctx}) p JOIN footprint_context_items ci "
        "ON ci.context_id = p.cg"
    )


def _compact_ranged_sums(
    store: Store,
    of: str,
    by: Sequence[str],
    keys: Sequence[str],
    period: str | None,
    tenant: str | None,
    start_utc: datetime | None,
    end_utc: datetime | None,
    hours: bool = False,
) -> pa.Table:
    """:func:`ranged_sums` over the compact tables directly: per context (the correlation
    group) one pass over ``event_footprints`` (``hours``: over the hourly rollup, which
    holds the same sums per hour), then the context's items map the sums to lines and
    scopes, then the groups combine."""
    ekeys, fields, conds, params = _plan(by, period, tenant, start_utc, end_utc)
    if hours:
        return _hours_ranged_sums(store, of, keys, ekeys, fields, conds, params)
    conds = _on_compact_rows(conds)
    conds.append(_LIVE_COMPACT)
    ekeys = _on_compact_rows(ekeys)
    join = f" JOIN events e ON {same_event('e', 'ef')}" if by else ""
    dims = [f"{k} AS k{i}" for i, k in enumerate(ekeys)]
    dnames = [f"k{i}" for i in range(len(ekeys))]
    fields += [pa.field(k, pa.bool_() if k == "in_total" else pa.string()) for k in keys]
    where = " AND ".join(conds)
    if of == "totals":
        parts = []
        for b in ("location", "market", "marginal"):
            g, lo, hi = (_compact_total(b, x) for x in ("g", "low_g", "high_g"))
            sums = _deviation_sums(g, lo, hi, f"ef.{b}_g")
            sel = ", ".join(
                [
                    *dims,
                    f"'{b}' AS f0",
                    "ef.context_id AS cg",
                    "count(*) AS n",
                    *(f"{x} AS {m}" for x, m in zip(sums, PARTS, strict=True)),
                ]
            )
            parts.append(
                f"SELECT {sel} FROM event_footprints ef{join} WHERE {where} "
                f"AND {g} IS NOT NULL GROUP BY {', '.join([*dnames, 'cg'])}"
            )
        per_group = " UNION ALL ".join(parts)
        params = params * len(parts)  # each part has the filters' placeholders
        names = [*dnames, "f0"]
    else:
        cols = []
        for c in LINES:
            op = f"ef.{c}_g" if c in ("location", "market", "marginal") else None
            sums = _deviation_sums(f"ef.{c}_g", f"ef.{c}_low_g", f"ef.{c}_high_g", op)
            cols += [f"coalesce({x}, 0.0) AS {c}_{m}" for x, m in zip(sums, PARTS, strict=True)]
        per_ctx = (
            f"SELECT {', '.join([*dims, 'ef.context_id AS cg', 'count(*) AS n', *cols])} "
            f"FROM event_footprints ef{join} WHERE {where} "
            f"GROUP BY {', '.join([*dnames, 'cg'])}"
        )
        per_group = _lines_per_group(per_ctx, dnames, keys)
        names = [*dnames, *(f"f{i}" for i in range(len(keys)))]
    return _combine(store, per_group, names, fields, params)


def _combine(
    store: Store, per_group: str, names: list[str], fields: list[pa.Field], params: list[Any]
) -> pa.Table:
    """The aggregate p5..p95 of per-(key, correlation group) sums (``per_group``: columns
    ``names``, ``cg``, ``n``, ``g``, ``i2dn``, ``i2up``, ``sdn``, ``sup``)."""
    grp = ", ".join([*names, "cg"])
    sql = (
        f"WITH d AS ({per_group}), g AS (SELECT {grp}, sum(n) AS n, sum(g) AS g, "
        "sum(i2dn) AS i2dn, sum(i2up) AS i2up, sum(sdn) AS sdn, sum(sup) AS sup FROM d "
        f"GROUP BY {grp}) SELECT {', '.join(names) + ', ' if names else ''}"
        "sum(n) AS footprints, sum(g) AS value_g, greatest(sum(g) - sqrt(sum(i2dn) + "
        "sum(sdn * sdn)), 0.0) AS low_g, sum(g) + sqrt(sum(i2up) + sum(sup * sup)) AS "
        "high_g FROM g"
        + (f" GROUP BY {', '.join(names)} ORDER BY {', '.join(names)}" if names else "")
    )
    schema = pa.schema(
        [
            *fields,
            pa.field("footprints", pa.int64()),
            pa.field("value_g", pa.float64()),
            pa.field("low_g", pa.float64()),
            pa.field("high_g", pa.float64()),
        ]
    )
    return store.query_arrow(sql, params, schema)


# ------------------------------------------------ the service's event reads and totals
# Over live events and the footprints of the per-event calculators (EVENT_CALCULATORS, the
# ingest path's) that are not superseded: the API's and dashboard's reads.
#: Event columns :func:`rollup_totals` can group by.
GROUPS: Final = ("service", "tenant", "model", "region", "outcome")
_F = pa.float64()
_KIND_COLS = [
    f"{k}{s}" for k in ("location", "market", "marginal") for s in ("_g", "_low_g", "_high_g")
]

# one row per live event with its footprint's totals and facility energy
_LIVE_EVENT = live_event("e")
_BASE = (
    f" FROM events e JOIN all_footprint_bases f ON {same_event('f', 'e')} AND "
    f"f.calculator IN (%s, %s) AND {_LIVE_FOOTPRINT} WHERE {_LIVE_EVENT} "
)
_TOTALS = tuple(f"f.{c}" for c in _KIND_COLS)
#: The same totals on a compact row ``ef`` (a stored total, else its basis's line).
_COMPACT_TOTALS = tuple(
    _compact_total(k, s)
    for k in ("location", "market", "marginal")
    for s in ("g", "low_g", "high_g")
)


def event_filters(
    tenant: str | None,
    start: datetime | None,
    end: datetime | None,
    extra: dict[str, str | None] | None = None,
) -> tuple[str, list[Any]]:
    """SQL conditions on events ``e`` (each prefixed `` AND ``) and their parameters: the
    tenant, start times in [start, end), and equality on the ``extra`` columns given."""
    conds, params = _event_conds(tenant, start, end, extra)
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
    where, params = event_filters(tenant, start, end, filters)
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
        bases = "all_footprint_bases"
        if not has_general_event_footprints(store):
            # compact rows only: the page's footprints straight from event_footprints (one
            # index or hash probe per event), not through the view that unions both layouts
            bases = (
                "(SELECT ef.footprint_id, ef.tenant, ef.event_id, c.calculator, "
                "ef.supersedes, "
                "CASE WHEN ci.present THEN ef.facility_j END AS facility_j, "
                + ", ".join(f"{x} AS {n}" for x, n in zip(_COMPACT_TOTALS, _KIND_COLS, strict=True))
                + f" FROM recent r JOIN event_footprints ef ON {same_event('ef', 'r')} "
                # a compact footprint's period is its event's (every writer takes both
                # times from the event): the join on the end time lets DuckDB skip the row
                # groups outside the page's times (10.9M footprints: 330 -> 40 ms)
                "AND ef.period_end_utc = r.end_utc "
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
        return store.query_arrow(sql, [*params, *EVENT_CALCULATORS], schema)
    sql = (
        f"SELECT {cols}, f.facility_j AS facility_j, {sums} {_BASE}{where} "
        "ORDER BY e.end_utc DESC, e.event_id"
    )
    return store.query_arrow(sql, [*EVENT_CALCULATORS, *params], schema)


def _totals_schema(per_outcome: bool) -> pa.Schema:
    """The columns of :func:`rollup_totals` (from the rows or from the hourly rollup)."""
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
    return pa.schema(fields)


def rollup_totals(
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
    if hours_answer(store, (group,), start, end):
        return _hours_rollup(store, group, period, tenant, start, end, per_outcome)
    where, params = event_filters(tenant, start, end)
    key = f"COALESCE(e.{group}, '(none)')"
    bucket = f"date_trunc('{period}', e.start_utc AT TIME ZONE 'UTC')"
    outcome = ", COALESCE(e.outcome, '(none)') AS outcome" if per_outcome else ""
    outcome_g = ", COALESCE(e.outcome, '(none)')" if per_outcome else ""
    base, totals, facility = _BASE, list(_TOTALS), "f.facility_j"
    if not has_general_event_footprints(store):
        # compact rows only: join the events with event_footprints, not the union views
        base = (
            f"FROM events e JOIN event_footprints ef ON {same_event('ef', 'e')} AND "
            f"ef.context_id {_EVENT_CONTEXTS} AND {_LIVE_COMPACT}"
            f" WHERE {_LIVE_EVENT}"
        )
        totals = list(_COMPACT_TOTALS)
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
    return store.query_arrow(sql, [*EVENT_CALCULATORS, *params], _totals_schema(per_outcome))


def stored_footprint_ids(store: Store, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` already have a footprint from this calculator."""
    if not event_ids:
        return set()
    t = store.query_arrow(
        "SELECT event_id FROM all_footprints WHERE calculator IN (%s, %s) AND event_id = ANY(%s)",
        [*EVENT_CALCULATORS, list(event_ids)],
        pa.schema([pa.field("event_id", pa.string())]),
    )
    return set(t.column("event_id").to_pylist())


def missing_footprints(
    store: Store,
    *,
    limit: int = 50_000,
    hours: Sequence[tuple[datetime, str]] | None = None,
) -> pa.Table:
    """Events that have no footprint from this calculator (e.g. after a crash between the
    two appends): the service computes them at start-up.  ``hours`` ((hour, tenant) pairs,
    :func:`missing_footprint_hours`) bounds the search to those hours' events; None
    searches every event."""
    cols = ", ".join(f"e.{c}" for c in EVENTS.names)
    where, params = "", []
    if hours is not None:
        if not hours:
            return EVENTS.arrow_schema.empty_table()
        where = (
            " AND ("
            + " OR ".join(
                "(e.tenant = %s AND e.start_utc >= %s AND e.start_utc < %s)" for _ in hours
            )
            + ")"
        )
        params = [x for h, t in hours for x in (t, h, h + timedelta(hours=1))]
    sql = (
        f"SELECT {cols} FROM events e WHERE NOT EXISTS (SELECT 1 FROM all_footprints f "
        f"WHERE {same_event('f', 'e')} AND f.calculator IN (%s, %s)){where} "
        f"ORDER BY e.event_id LIMIT {int(limit)}"
    )
    return store.query_arrow(sql, [*EVENT_CALCULATORS, *params], EVENTS.arrow_schema)


#: Most (hour, tenant) pairs :func:`missing_footprint_hours` returns to bound a search; more
#: than this and the search reads every event.
MISSING_HOURS_MAX = 200


def missing_footprint_hours(store: Store) -> list[tuple[datetime, str]] | None:
    """The (hour, tenant) pairs whose live events outnumber their live footprints from this
    calculator, read from the two hourly rollups (``event_hours`` counts every live event,
    ``footprint_hours`` the live compact footprints): where an event lacks its footprint.
    An empty list: none lacks one (the usual case, answered without reading an event).
    None when the rollups cannot say (event footprints in the general layout, a store
    without rollups) or more than :data:`MISSING_HOURS_MAX` pairs differ: then search every
    event.  A corrected event is left out of both rollups, so one without a footprint is
    not sought here (no sum reads it)."""
    if not (hours_answer(store) and event_hours_answer(store)):
        return None
    t = store.query_arrow(
        "SELECT e.hour_utc AS hour_utc, e.tenant AS tenant FROM (SELECT x.hour_utc, x.tenant, "
        "sum(x.events) AS events_n FROM event_hours x GROUP BY x.hour_utc, x.tenant) e LEFT JOIN "
        "(SELECT h.hour_utc, h.tenant, sum(h.n) AS footprints_n FROM footprint_hours h WHERE "
        f"{_ROLLUP_CALC} GROUP BY h.hour_utc, h.tenant) f "
        "ON f.hour_utc = e.hour_utc AND f.tenant = e.tenant "
        "WHERE e.events_n > coalesce(f.footprints_n, 0) "
        f"ORDER BY 1, 2 LIMIT {MISSING_HOURS_MAX + 1}",
        [*EVENT_CALCULATORS],
        pa.schema(
            [pa.field("hour_utc", pa.timestamp("us", tz="UTC")), pa.field("tenant", pa.string())]
        ),
    )
    if t.num_rows > MISSING_HOURS_MAX:
        return None
    return list(zip(t.column("hour_utc").to_pylist(), t.column("tenant").to_pylist(), strict=True))


def event_totals(store: Store, *, tenant: str | None) -> dict[str, Any]:
    """Count, energy and facility energy sums, latency mean/p50/p95 and the attribution
    methods of the live events with a footprint: aggregates in SQL, no row in Python."""
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
_ROLLUP_CALC = f"h.context_id {_EVENT_CONTEXTS}"


def _hours_event_totals(store: Store, *, tenant: str | None) -> dict[str, Any]:
    """:func:`event_totals` from the hourly rollup (``footprint_hours``)."""
    conds, params = [_ROLLUP_CALC], [*EVENT_CALCULATORS]
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
    where, params = event_filters(tenant, None, None)
    return _exact_event_totals(
        store,
        energy="e.energy_j",
        facility="f.facility_j",
        start_end=("e.start_utc", "e.end_utc"),
        method="e.attribution_method",
        source=f"{_BASE}{where}",
        params=[*EVENT_CALCULATORS, *params],
    )


def _compact_event_totals(store: Store, *, tenant: str | None) -> dict[str, Any]:
    """:func:`event_totals` from the compact rows alone (they carry the event's times,
    energy, facility energy and attribution method): one scan, no join."""
    conds = [
        _LIVE_COMPACT,
        live_event("ef"),
        f"ef.context_id {_EVENT_CONTEXTS}",
    ]
    params: list[Any] = [*EVENT_CALCULATORS]
    if tenant is not None:
        conds.append("ef.tenant = %s")
        params.append(tenant)
    return _exact_event_totals(
        store,
        energy="ef.energy_j",
        facility="ef.facility_j",
        start_end=("ef.period_start_utc", "ef.period_end_utc"),
        method="ef.attribution_method",
        source=f"FROM event_footprints ef WHERE {' AND '.join(conds)}",
        params=params,
    )


_EXACT_TOTALS_SCHEMA: Final = pa.schema(
    [
        pa.field("n", pa.int64()),
        pa.field("energy_j", _F),
        pa.field("facility_j", _F),
        pa.field("mean", _F),
        pa.field("p50", _F),
        pa.field("p95", _F),
    ]
)


def _exact_event_totals(
    store: Store,
    *,
    energy: str,
    facility: str,
    start_end: tuple[str, str],
    method: str,
    source: str,
    params: Sequence[Any],
) -> dict[str, Any]:
    """:func:`event_totals` from the rows of ``source`` (a FROM ... WHERE clause; the other
    arguments name its columns): count, sums, exact latency mean and quantiles, and up to 50
    attribution methods."""
    lat = f"EXTRACT(EPOCH FROM ({start_end[1]} - {start_end[0]}))"
    sql = (
        f"SELECT count(*), sum({energy}), sum({facility}), avg({lat}), "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {lat}), "
        f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {lat}) {source}"
    )
    row: dict[str, Any] = store.query_arrow(sql, params, _EXACT_TOTALS_SCHEMA).to_pylist()[0]
    methods = store.query_arrow(
        f"SELECT DISTINCT {method} {source} ORDER BY 1 LIMIT 50",
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
    conds, params = _event_conds(tenant, start, end)
    where = "".join(f" AND {c}" for c in _on_hours(conds))
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
    return store.query_arrow(sql, [*EVENT_CALCULATORS, *params], _totals_schema(per_outcome))


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
    if not hours_answer(store, (), start, end):
        return None
    conds, params = _event_conds(tenant, start, end, filters)
    where = "".join(f" AND {c}" for c in _on_hours(conds))
    t = store.query_arrow(
        f"SELECT h.hour_utc AS hour_utc, sum(h.n) AS n FROM footprint_hours h WHERE "
        f"{_ROLLUP_CALC}{where} GROUP BY h.hour_utc ORDER BY h.hour_utc DESC",
        [*EVENT_CALCULATORS, *params],
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
        [*EVENT_CALCULATORS],
        schema,
    )


# --------------------------------------------------------------------- hourly rollup
#: Event dimensions the hourly rollup (``footprint_hours``) keeps.
HOUR_DIMENSIONS = (
    "service",
    "tenant",
    "model",
    "region",
    "device",
    "attribution_method",
    "outcome",
)


def _whole_hour(t: datetime | None) -> bool:
    return t is None or (
        t.minute == 0
        and t.second == 0
        and t.microsecond == 0
        and (t.utcoffset() or timedelta(0)).total_seconds() % 3600 == 0
    )


def hours_answer(
    store: Store,
    by: Sequence[str] = (),
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> bool:
    """Whether the hourly rollup answers a question over these dimensions and bounds (whole
    hours; a ledger whose event footprints are all compact rows); when it does, it is
    brought up to date (:meth:`SqlStore.hours_ready`)."""
    if isinstance(by, str):
        by = (by,)
    if not (
        all(b in HOUR_DIMENSIONS for b in by) and _whole_hour(start_utc) and _whole_hour(end_utc)
    ):
        return False
    ready = getattr(store, "hours_ready", None)
    if ready is None or has_general_event_footprints(store):
        return False
    ready()
    return True


def event_hours_answer(
    store: Store,
    by: Sequence[str] = (),
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> bool:
    """Whether the event rollup (``event_hours``) answers a question about events over these
    dimensions and bounds (whole hours); when it does, it is brought up to date."""
    if isinstance(by, str):
        by = (by,)
    if not (
        all(b in HOUR_DIMENSIONS for b in by) and _whole_hour(start_utc) and _whole_hour(end_utc)
    ):
        return False
    ready = getattr(store, "hours_ready", None)
    if ready is None:
        return False
    ready()
    return True


def _on_hours(sql: Sequence[str]) -> list[str]:
    """Keys or conditions written for ``events e`` rewritten for the rollup ``h`` (whose
    rows are live by construction: the liveness conditions go)."""
    out = []
    for c in sql:
        if "NOT IN" in c or c == live_event("e"):
            continue
        c = c.replace("e.start_utc", "h.hour_utc").replace("e.outcome", "nullif(h.outcome, '')")
        for d in HOUR_DIMENSIONS:
            c = c.replace(f"e.{d}", f"h.{d}")
        out.append(c)
    return out


def _hours_ranged_sums(
    store: Store,
    of: str,
    keys: Sequence[str],
    ekeys: list[str],
    fields: list[pa.Field],
    conds: list[str],
    params: list[Any],
) -> pa.Table:
    """:func:`ranged_sums` from ``footprint_hours``: its sums per context are the ones the
    compact path computes from the rows."""
    hkeys, hconds = _on_hours(ekeys), _on_hours(conds) or ["TRUE"]
    dims = [f"{k} AS k{i}" for i, k in enumerate(hkeys)]
    dnames = [f"k{i}" for i in range(len(hkeys))]
    fields += [pa.field(k, pa.bool_() if k == "in_total" else pa.string()) for k in keys]
    where = " AND ".join(hconds)
    if of == "totals":
        # one pass over the rollup for the three bases (its rows are wide: each pass costs
        # the same), then a part per basis from those sums
        bases = ("location", "market", "marginal")
        sums = [
            *dims,
            "h.context_id AS cg",
            *(f"sum(h.total_{b}_n) AS {b}_n" for b in bases),
            *(f"sum(h.total_{b}_{m}) AS {b}_{m}" for b in bases for m in PARTS),
        ]
        per_basis = (
            f"SELECT {', '.join(sums)} FROM footprint_hours h WHERE {where} "
            f"GROUP BY {', '.join([*dnames, 'cg'])}"
        )
        parts = [
            "SELECT "
            + ", ".join(
                [
                    *dnames,
                    f"'{b}' AS f0",
                    "cg",
                    f"{b}_n AS n",
                    *(f"{b}_{m} AS {m}" for m in PARTS),
                ]
            )
            + f" FROM s WHERE {b}_n > 0"
            for b in bases
        ]
        per_group = f"WITH s AS ({per_basis}) " + " UNION ALL ".join(parts)
        names = [*dnames, "f0"]
    else:
        cols = [f"sum(h.line_{c}_{m}) AS {c}_{m}" for c in LINES for m in PARTS]
        per_ctx = (
            f"SELECT {', '.join([*dims, 'h.context_id AS cg', 'sum(h.n) AS n', *cols])} "
            f"FROM footprint_hours h WHERE {where} "
            f"GROUP BY {', '.join([*dnames, 'cg'])}"
        )
        per_group = _lines_per_group(per_ctx, dnames, keys)
        names = [*dnames, *(f"f{i}" for i in range(len(keys)))]
    return _combine(store, per_group, names, fields, params)


def _hours_idle_and_cost(
    store: Store,
    keys: list[str],
    fields: list[pa.Field],
    conds: list[str],
    params: list[Any],
    per_currency: bool,
) -> pa.Table:
    """:func:`idle_and_cost` from ``footprint_hours``."""
    hkeys = [k if k != "ef.currency" else "nullif(h.currency, '')" for k in _on_hours(keys)]
    hconds = [c for c in _on_hours(conds) if "ef." not in c] or ["TRUE"]
    known = "sum(h.idle_known)"
    measures = [
        *([] if per_currency else ["CAST(NULL AS VARCHAR) AS currency"]),
        "sum(h.n) AS footprints",
        f"{known} AS idle_known",
        "sum(h.energy_j) AS active_j",
        f"CASE WHEN {known} > 0 THEN sum(h.idle_attributed_j) END AS idle_attributed_j",
        f"CASE WHEN {known} > 0 THEN sum(h.idle_unattributed_j) END AS idle_unattributed_j",
        "CASE WHEN sum(h.idle_known_energy_j) > 0 THEN (sum(h.idle_attributed_j) + "
        "sum(h.idle_unattributed_j)) / sum(h.idle_known_energy_j) END "
        "AS idle_share_of_active_frac",
        "CASE WHEN max(h.currency) <> '' THEN sum(h.energy_cost) END AS energy_cost"
        if per_currency
        else "CAST(NULL AS DOUBLE PRECISION) AS energy_cost",
    ]
    mf = [
        pa.field("footprints", pa.int64()),
        pa.field("idle_known", pa.int64()),
        pa.field("active_j", pa.float64()),
        pa.field("idle_attributed_j", pa.float64()),
        pa.field("idle_unattributed_j", pa.float64()),
        pa.field("idle_share_of_active_frac", pa.float64()),
        pa.field("energy_cost", pa.float64()),
    ]
    if not per_currency:
        fields.pop()
        mf.insert(0, pa.field("currency", pa.string()))
    return _run(store, hkeys, fields, measures, mf, "footprint_hours h", hconds, params)
