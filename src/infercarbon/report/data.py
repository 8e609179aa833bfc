"""Read what a report needs from the ledger: a handful of set-based SQL aggregations.

Everything is summed by the store (DuckDB or PostgreSQL, the same portable SQL through
:meth:`~infercarbon.ledger.base.Store.query_arrow`); Python only sees grouped rows, whose
number grows with services x models x regions x tenants x months, not with events.

Membership: an inference belongs to the period in which it *started*
(``start_utc in [start, end)``).  Corrected (superseded) events and footprints are left out, so
a correction replaces what it corrects; a footprint counts through its live event.

Ranges: every aggregate range is the p5..p95 of the sum by
:func:`infercarbon.ledger.rollup.ranged_sums`'s method (:data:`AGGREGATE_RANGE_METHOD`: the
energy band independent from event to event, the shared factors correlated within a group of
footprints priced alike).  ``ranged_sums`` groups by stored line-item keys; a report line can be
a union of them (a Scope 3 subtotal on the location basis holds the ``location`` lines and the
``both`` lines), so :data:`_RANGED_LINES_SQL` runs the same two-step aggregation over report
lines (a line item's rows fall in every line they belong to, each corr group's shared part is
summed before the square).  Idle energy and energy cost are :func:`~infercarbon.ledger.rollup.
idle_and_cost` of the period.

The factor provenance of the methodology section is read from the stored inputs themselves:
the inputs JSON of every footprint in the period is walked (in pages, with DuckDB's
``json_tree``) and every object that carries a ``source`` is a factor with its source, label,
vintage or version, unit and value range.  Top-level numbers whose name is also a key of the
footprint's ``factor_versions`` (the service's ``pue``, for example) are factors whose source
is that version string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from infercarbon.errors import DataError
from infercarbon.ledger import Store
from infercarbon.ledger.base import SUPERSEDED_FOOTPRINTS, live_event
from infercarbon.ledger.compact import inputs_sql, same_event
from infercarbon.ledger.rollup import idle_and_cost, ranged_sums
from infercarbon.ledger.schema import TS
from infercarbon.report.period import Period

__all__ = ["LedgerSlice", "read_slice"]

_SUPERSEDED = SUPERSEDED_FOOTPRINTS
_LIVE_F = (
    "(SELECT footprint_id, tenant, event_id, calculator, factor_versions_json, inputs_json "
    f"FROM all_footprints WHERE footprint_id NOT IN {_SUPERSEDED})"
)
_LIVE_E = live_event("e")
_S = pa.string()
_F = pa.float64()
_I = pa.int64()


@dataclass(frozen=True)
class LedgerSlice:
    """The grouped rows of one period (and tenant) of the ledger.

    ``events``: month, service, model, region, tenant, device, outcome, attribution_method,
    calculator (null: no footprint) -> events, energy_j, footprints, first_utc, last_utc.
    ``items``: month, service, model, region, tenant, name, scope, basis, in_total, excluded
    -> footprints, emissions_g, low_g, high_g (sums of the per-footprint p5/p95, kept for
    reference; the report's ranges are in ``ranges``), energy_j.
    ``labels``: name, scope, basis, in_total, label, source -> footprints, emissions_g.
    ``totals``: basis -> footprints, value_g, low_g, high_g (the stored per-footprint totals).
    ``factors``: calculator, region, path, source, label, vintage, unit, note -> footprints,
    central_min, central_max, low_min, high_max.
    ``versions``: calculator, factor_versions_json -> footprints.
    ``ranges``: report lines -> footprints, value_g, low_g, high_g (the aggregate p5..p95 of
    :data:`~infercarbon.ledger.rollup.AGGREGATE_RANGE_METHOD`); a line is ``scope`` (a scope
    tag, or ``scope3`` for every Scope 3 category), ``bases`` (``all``; ``location``: the
    location and both-basis items; ``market``: the market and both-basis items) and ``name``
    (a line item's name, ``*`` for all of them); counted items only (in a total, or memo).
    ``total_ranges``: basis -> footprints, value_g, low_g, high_g (``ranged_sums`` of the
    stored per-footprint totals).
    ``idle_by_device`` / ``idle_by_service`` / ``idle_all``: ``idle_and_cost`` by device, by
    service, and over all (not by currency): footprints, idle_known, active_j,
    idle_attributed_j, idle_unattributed_j, idle_share_of_active_frac (footprints that record
    them: compact layout).
    ``cost_by_service`` / ``cost_all``: ``idle_and_cost`` by service and currency, and by
    currency alone: footprints, energy_cost.
    ``priced``: service, device, currency, factor_versions_json -> footprints (the compact
    footprints' contexts: profile and price source of each).
    """

    period: Period
    tenant: str | None
    events: pa.Table
    items: pa.Table
    labels: pa.Table
    totals: pa.Table
    factors: pa.Table
    versions: pa.Table
    ranges: pa.Table
    total_ranges: pa.Table
    idle_by_device: pa.Table
    idle_by_service: pa.Table
    idle_all: pa.Table
    cost_by_service: pa.Table
    cost_all: pa.Table
    priced: pa.Table

    @property
    def empty(self) -> bool:
        return bool(self.events.num_rows == 0)


def _where(period: Period, tenant: str | None) -> tuple[str, list[Any]]:
    conds = [_LIVE_E, "e.start_utc >= %s", "e.start_utc < %s"]
    params: list[Any] = [period.start_utc, period.end_utc]
    if tenant is not None:
        conds.append("e.tenant = %s")
        params.append(tenant)
    return " AND ".join(conds), params


def _group(keys: Sequence[str]) -> str:
    return ", ".join(str(i + 1) for i in range(len(keys)))


_EVENT_KEYS = (
    "date_trunc('month', e.start_utc)",
    "e.service",
    "e.model",
    "e.region",
    "e.tenant",
    "e.device",
    "e.outcome",
    "e.attribution_method",
    "f.calculator",
)
_EVENT_SCHEMA = pa.schema(
    [
        ("month_utc", TS),
        ("service", _S),
        ("model", _S),
        ("region", _S),
        ("tenant", _S),
        ("device", _S),
        ("outcome", _S),
        ("attribution_method", _S),
        ("calculator", _S),
        ("events", _I),
        ("energy_j", _F),
        ("footprints", _I),
        ("first_utc", TS),
        ("last_utc", TS),
    ]
)
_ITEM_KEYS = (
    "date_trunc('month', e.start_utc)",
    "e.service",
    "e.model",
    "e.region",
    "e.tenant",
    "li.name",
    "li.scope",
    "li.basis",
    "li.in_total",
    "CASE WHEN li.label LIKE 'excluded%%' THEN TRUE ELSE FALSE END",
)
_ITEM_SCHEMA = pa.schema(
    [
        ("month_utc", TS),
        ("service", _S),
        ("model", _S),
        ("region", _S),
        ("tenant", _S),
        ("name", _S),
        ("scope", _S),
        ("basis", _S),
        ("in_total", pa.bool_()),
        ("excluded", pa.bool_()),
        ("footprints", _I),
        ("emissions_g", _F),
        ("low_g", _F),
        ("high_g", _F),
        ("energy_j", _F),
    ]
)
_LABEL_KEYS = ("li.name", "li.scope", "li.basis", "li.in_total", "li.label", "li.source")
_LABEL_SCHEMA = pa.schema(
    [
        ("name", _S),
        ("scope", _S),
        ("basis", _S),
        ("in_total", pa.bool_()),
        ("label", _S),
        ("source", _S),
        ("footprints", _I),
        ("emissions_g", _F),
    ]
)
_TOTAL_SCHEMA = pa.schema(
    [("basis", _S), ("footprints", _I), ("value_g", _F), ("low_g", _F), ("high_g", _F)]
)
_FACTOR_SCHEMA = pa.schema(
    [
        ("calculator", _S),
        ("region", _S),
        ("path", _S),
        ("source", _S),
        ("label", _S),
        ("vintage", _S),
        ("unit", _S),
        ("note", _S),
        ("footprints", _I),
        ("central_min", _F),
        ("central_max", _F),
        ("low_min", _F),
        ("high_max", _F),
    ]
)
_VERSION_SCHEMA = pa.schema([("calculator", _S), ("factor_versions_json", _S), ("footprints", _I)])
_RANGE_SCHEMA = pa.schema(
    [
        ("scope", _S),
        ("bases", _S),
        ("name", _S),
        ("footprints", _I),
        ("value_g", _F),
        ("low_g", _F),
        ("high_g", _F),
    ]
)
_PRICED_SCHEMA = pa.schema(
    [
        ("service", _S),
        ("device", _S),
        ("currency", _S),
        ("factor_versions_json", _S),
        ("footprints", _I),
    ]
)
_PAGE_SCHEMA = pa.schema(
    [
        ("footprint_id", _S),
        ("calculator", _S),
        ("factor_versions_json", _S),
        ("inputs_json", _S),
        ("n", _I),
    ]
)

_JOIN_F = f"JOIN {_LIVE_F} f ON {same_event('f', 'e')}"

#: The report lines an item row falls in: its basis in a basis set (``all`` holds every
#: basis; ``both`` lines count on the location and on the market basis) ...
_BASIS_SETS = (
    "(VALUES ('*', 'all'), ('location', 'location'), ('both', 'location'), "
    "('market', 'market'), ('both', 'market')) AS m(basis, bases)"
)
#: ... at three levels: the item itself, its scope, and Scope 3 as a whole.
_LEVELS = "(VALUES ('name'), ('scope'), ('scope3')) AS lv(k)"

#: ``ranged_sums``'s aggregation over report lines: (1) the deviations of the period's live
#: counted items summed per stored key and correlation group (independent parts squared,
#: shared parts linear), (2) those partial sums folded into every report line they belong to,
#: still per group (sums of sums: exact), (3) per line, the shared sums squared and added
#: across groups, with the independent squares: low = sum - sqrt(...), high = sum + sqrt(...).
_RANGED_LINES_SQL = """
WITH s AS (
  SELECT d.scope AS scope, d.basis AS basis, d.name AS name, d.corr_group AS corr_group,
         count(*) AS n, sum(d.g) AS g,
         sum(d.indep_dn_g * d.indep_dn_g) AS i2dn, sum(d.indep_up_g * d.indep_up_g) AS i2up,
         sum(sqrt(greatest(d.dn_g * d.dn_g - d.indep_dn_g * d.indep_dn_g, 0.0))) AS sdn,
         sum(sqrt(greatest(d.up_g * d.up_g - d.indep_up_g * d.indep_up_g, 0.0))) AS sup
  FROM events e {join_f} JOIN all_footprint_item_deviations d ON d.footprint_id = f.footprint_id
  WHERE {where} AND (d.in_total OR d.scope = 'memo_consequential')
  GROUP BY 1, 2, 3, 4
), x AS (
  SELECT CASE WHEN lv.k = 'scope3' THEN 'scope3' ELSE s.scope END AS line_scope,
         m.bases AS bases, CASE WHEN lv.k = 'name' THEN s.name ELSE '*' END AS line_name,
         s.corr_group AS corr_group, sum(s.n) AS n, sum(s.g) AS g, sum(s.i2dn) AS i2dn,
         sum(s.i2up) AS i2up, sum(s.sdn) AS sdn, sum(s.sup) AS sup
  FROM s JOIN {basis_sets} ON m.basis = '*' OR m.basis = s.basis CROSS JOIN {levels}
  WHERE lv.k <> 'scope3' OR s.scope LIKE 'scope3%%'
  GROUP BY 1, 2, 3, 4
)
SELECT line_scope, bases, line_name, sum(n), sum(g),
       greatest(sum(g) - sqrt(sum(i2dn) + sum(sdn * sdn)), 0.0),
       sum(g) + sqrt(sum(i2up) + sum(sup * sup))
FROM x GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
_JOIN_LI = "JOIN all_footprint_items li ON li.footprint_id = f.footprint_id"

#: Factor extraction over one page of inputs (DuckDB, in memory): the top-level inputs are
#: deduplicated first (a grid factor shared by many footprints is walked once), then every
#: object with a ``source`` is a factor (a footprint holds each path once, so the count of
#: footprints is the sum of the duplicates).  A distribution's central
#: value, p5 and p95 follow infercarbon.accounting.uncertainty (fixed, uniform, triangular,
#: log-normal); an object with value/low/high (a grid signal) is read as it is.
_FACTOR_SQL = """
WITH top AS (
  SELECT p.calculator, p.factor_versions_json AS fv, p.n,
         coalesce(json_extract_string(p.inputs_json, '$.region_id'),
                  json_extract_string(p.inputs_json, '$.region')) AS region,
         j.key AS k, j.value AS v, j.type AS t
  FROM page p, json_each(p.inputs_json) j
  WHERE j.type = 'OBJECT' OR (j.type IN ('DOUBLE', 'BIGINT', 'UBIGINT')
         AND json_extract_string(p.factor_versions_json, '$.' || j.key) IS NOT NULL)
), uniq AS (
  SELECT calculator, fv, region, k, v, t, sum(n) AS n FROM top GROUP BY calculator, fv,
         region, k, v, t
), nodes AS (
  SELECT u.calculator, u.region, u.n, j.value AS v, j.type AS t,
         '$.' || u.k || substr(j.fullkey, 2) AS path
  FROM uniq u, json_tree(u.v) j WHERE u.t = 'OBJECT'
), objs AS (
  SELECT calculator, region, path, n,
    json_extract_string(v, '$.source') AS source,
    json_extract_string(v, '$.label') AS label,
    coalesce(json_extract_string(v, '$.vintage'), json_extract_string(v, '$.version')) AS vintage,
    json_extract_string(v, '$.unit') AS unit,
    coalesce(json_extract_string(v, '$.note'), json_extract_string(v, '$.method')) AS note,
    json_extract_string(v, '$.dist.type') AS dt,
    TRY_CAST(json_extract_string(v, '$.dist.value') AS DOUBLE) AS d_value,
    TRY_CAST(json_extract_string(v, '$.dist.low') AS DOUBLE) AS d_low,
    TRY_CAST(json_extract_string(v, '$.dist.high') AS DOUBLE) AS d_high,
    TRY_CAST(json_extract_string(v, '$.dist.mode') AS DOUBLE) AS d_mode,
    TRY_CAST(json_extract_string(v, '$.dist.median') AS DOUBLE) AS d_median,
    TRY_CAST(json_extract_string(v, '$.dist.factor95') AS DOUBLE) AS d_f95,
    coalesce(TRY_CAST(json_extract_string(v, '$.dist.shift') AS DOUBLE), 0.0) AS d_shift,
    TRY_CAST(json_extract_string(v, '$.value') AS DOUBLE) AS s_value,
    TRY_CAST(json_extract_string(v, '$.low') AS DOUBLE) AS s_low,
    TRY_CAST(json_extract_string(v, '$.high') AS DOUBLE) AS s_high
  FROM nodes WHERE t = 'OBJECT' AND json_extract_string(v, '$.source') IS NOT NULL
), facts AS (
  SELECT calculator, region, path, source, label, vintage, unit, note, n,
    CASE dt WHEN 'fixed' THEN d_value WHEN 'uniform' THEN (d_low + d_high) / 2
            WHEN 'triangular' THEN d_mode WHEN 'lognormal' THEN d_shift + d_median
            ELSE s_value END AS central,
    CASE dt WHEN 'fixed' THEN d_value WHEN 'uniform' THEN d_low WHEN 'triangular' THEN d_low
            WHEN 'lognormal' THEN d_shift + d_median / d_f95 ELSE coalesce(s_low, s_value)
            END AS low,
    CASE dt WHEN 'fixed' THEN d_value WHEN 'uniform' THEN d_high WHEN 'triangular' THEN d_high
            WHEN 'lognormal' THEN d_shift + d_median * d_f95 ELSE coalesce(s_high, s_value)
            END AS high
  FROM objs
  UNION ALL
  SELECT calculator, region, '$.' || k AS path, json_extract_string(fv, '$.' || k) AS source,
    'configured' AS label, NULL AS vintage, NULL AS unit,
    'a configured number; its source is the footprint''s factor version' AS note, n,
    CAST(v AS DOUBLE) AS central, CAST(v AS DOUBLE) AS low, CAST(v AS DOUBLE) AS high
  FROM uniq WHERE t <> 'OBJECT' AND json_extract_string(fv, '$.' || k) IS NOT NULL
)
SELECT calculator, region, path, source, label, vintage, unit, note, sum(n)::BIGINT,
       min(central), max(central), min(low), max(high)
FROM facts GROUP BY ALL
"""

_MERGE_SQL = """
SELECT calculator, region, path, source, label, vintage, unit, note,
       sum(footprints)::BIGINT, min(central_min), max(central_max), min(low_min),
       max(high_max)
FROM parts GROUP BY ALL ORDER BY path, region, source, calculator
"""


def _arrow(rel: Any) -> pa.Table:
    # duckdb >= 1.4 names it to_arrow_table; older releases fetch_arrow_table
    fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
    table: pa.Table = fetch()
    return table


def _walk(con: duckdb.DuckDBPyConnection, page: pa.Table) -> pa.Table:
    """The factors of one page of inputs (``_PAGE_SCHEMA``; ``n`` footprints per row)."""
    con.register("page", page)
    try:
        got = _arrow(con.sql(_FACTOR_SQL))
    except duckdb.Error as exc:
        raise DataError(f"stored footprint inputs could not be read as JSON: {exc}") from exc
    finally:
        con.unregister("page")
    return got.rename_columns(_FACTOR_SCHEMA.names).cast(_FACTOR_SCHEMA)


def _factors(store: Store, where: str, params: list[Any], page_rows: int) -> pa.Table:
    """Walk the stored inputs of the period's footprints: the general layout page by page
    (keyset on id), then the compact layout's rows grouped by their factors (configuration
    and grid signal; the per-event values are no factor), each group once with its count."""
    general = (
        "SELECT footprint_id, tenant, event_id, calculator, factor_versions_json, "
        f"inputs_json FROM footprints WHERE footprint_id NOT IN {_SUPERSEDED}"
    )
    sql = (
        f"SELECT f.footprint_id, f.calculator, f.factor_versions_json, f.inputs_json, "
        f"1 AS n FROM events e JOIN ({general}) f ON {same_event('f', 'e')} "
        f"WHERE {where} AND f.footprint_id > %s "
        f"ORDER BY f.footprint_id LIMIT {int(page_rows)}"
    )
    compact = (
        f"SELECT min(ef.footprint_id), c.calculator, c.factor_versions_json, "
        f"{inputs_sql(store.dialect, per_event=False)} AS inputs_json, count(*) "
        f"FROM events e JOIN event_footprints ef ON {same_event('ef', 'e')} "
        "JOIN footprint_contexts c ON c.context_id = ef.context_id "
        f"WHERE {where} AND ef.footprint_id NOT IN {_SUPERSEDED} "
        "GROUP BY 2, 3, 4"
    )
    parts: list[pa.Table] = []
    last = ""
    con = duckdb.connect(":memory:")
    try:
        while True:
            page = store.query_arrow(sql, [*params, last], _PAGE_SCHEMA)
            if page.num_rows == 0:
                break
            parts.append(_walk(con, page))
            last = str(page.column("footprint_id")[-1].as_py())
            if page.num_rows < page_rows:
                break
        groups = store.query_arrow(compact, params, _PAGE_SCHEMA)
        if groups.num_rows:
            parts.append(_walk(con, groups))
        if not parts:
            return _FACTOR_SCHEMA.empty_table()
        con.register("parts", pa.concat_tables(parts))
        merged = _arrow(con.sql(_MERGE_SQL))
        return merged.rename_columns(_FACTOR_SCHEMA.names).cast(_FACTOR_SCHEMA)
    finally:
        con.close()


def read_slice(
    store: Store, period: Period, *, tenant: str | None = None, page_rows: int = 50_000
) -> LedgerSlice:
    """Run the report's aggregations over ``period`` (and ``tenant``) of ``store``."""
    where, params = _where(period, tenant)

    def q(keys: Sequence[str], measures: Sequence[str], source: str, schema: pa.Schema) -> pa.Table:
        cols = [*keys, *measures]
        sql = (
            f"SELECT {', '.join(cols)} FROM {source} WHERE {where} "
            f"GROUP BY {_group(keys)} ORDER BY {_group(keys)}"
        )
        return store.query_arrow(sql, params, schema)

    events = q(
        _EVENT_KEYS,
        (
            "count(*)",
            "sum(e.energy_j)",
            "count(f.footprint_id)",
            "min(e.start_utc)",
            "max(e.end_utc)",
        ),
        f"events e LEFT {_JOIN_F}",
        _EVENT_SCHEMA,
    )
    items = q(
        _ITEM_KEYS,
        ("count(*)", "sum(li.emissions_g)", "sum(li.low_g)", "sum(li.high_g)", "sum(li.energy_j)"),
        f"events e {_JOIN_F} {_JOIN_LI}",
        _ITEM_SCHEMA,
    )
    labels = q(
        _LABEL_KEYS,
        ("count(*)", "sum(li.emissions_g)"),
        f"events e {_JOIN_F} {_JOIN_LI}",
        _LABEL_SCHEMA,
    )
    totals = q(
        ("t.basis",),
        ("count(*)", "sum(t.value_g)", "sum(t.low_g)", "sum(t.high_g)"),
        f"events e {_JOIN_F} JOIN all_footprint_totals t ON t.footprint_id = f.footprint_id",
        _TOTAL_SCHEMA,
    )
    versions = q(
        ("f.calculator", "f.factor_versions_json"),
        ("count(*)",),
        f"events e {_JOIN_F}",
        _VERSION_SCHEMA,
    )
    factors = _factors(store, where, params, page_rows)
    ranges = store.query_arrow(
        _RANGED_LINES_SQL.format(
            join_f=_JOIN_F, where=where, basis_sets=_BASIS_SETS, levels=_LEVELS
        ),
        params,
        _RANGE_SCHEMA,
    )
    start, end = period.start_utc, period.end_utc
    total_ranges = ranged_sums(
        store, of="totals", keys=("basis",), tenant=tenant, start_utc=start, end_utc=end
    )

    def idle(by: tuple[str, ...], per_currency: bool) -> pa.Table:
        return idle_and_cost(
            store, by=by, tenant=tenant, start_utc=start, end_utc=end, per_currency=per_currency
        )

    priced = q(
        ("e.service", "e.device", "ef.currency", "c.factor_versions_json"),
        ("count(*)",),
        f"events e JOIN event_footprints ef ON {same_event('ef', 'e')} "
        f"AND ef.footprint_id NOT IN {_SUPERSEDED} "
        "JOIN footprint_contexts c ON c.context_id = ef.context_id",
        _PRICED_SCHEMA,
    )
    return LedgerSlice(
        period,
        tenant,
        events,
        items,
        labels,
        totals,
        factors,
        versions,
        ranges,
        total_ranges,
        idle(("device",), False),
        idle(("service",), False),
        idle((), False),
        idle(("service",), True),
        idle((), True),
        priced,
    )
