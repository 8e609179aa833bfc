"""The materialised hourly rollup of compact event footprints (``footprint_hours``).

One row per hour x tenant x service x model x region x device x outcome x attribution
method x compact context (the correlation group of the ranges) x currency, holding sums that
add up: counts, energy, latency (sum and a histogram), and for every line column and every
basis total the value and the parts of its range (:func:`~infercarbon.ledger.rollup.ranged_sums`
combines them exactly as it does over the rows: the squared energy-band deviations, and the
shared deviations summed linearly within a context).  The rollup holds the live compact
footprints of live events, no more, no less:

- new compact footprints are added with :func:`upsert_sql` (``INSERT ... ON CONFLICT DO
  UPDATE`` adding the sums): on PostgreSQL in the ingest transaction itself; on DuckDB
  (one writer process) by a *fold* (:func:`fold_sql`) in a transaction of its own, beside
  the writer, from the rows past the rollup's high-water mark (``rowid``: DuckDB numbers
  rows as they commit, in commit order), because DuckDB plans this 100-aggregate upsert in
  ~40 ms, which per ingest batch would cost more than the batch itself; every read folds
  first, so no read ever sees a rollup that differs from the rows;
- a write that changes what is live (a correction, a recomputation that supersedes)
  rebuilds the hours and tenants it touched from the tables (:func:`rebuild_sql`): on
  PostgreSQL in the same transaction, on DuckDB in the next fold (the write records the
  pairs in ``footprint_hours_dirty``);
- a ledger that predates the table is filled from its rows when it is upgraded.

Reads of whole hours (the dashboard's summary, rollups by hour/day/month, the report's
periods) then scan this table instead of every footprint.  Latency quantiles come from the
histogram: 4 buckets per decade from 1 ms to 316 s, with one bucket below 1 ms and one above
316 s, each with its count and latency sum (a quantile is its bucket's mean latency: within
the bucket's width, x1.78, and exact when the bucket's latencies are equal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.ledger.compact import (
    BASES,
    LINE_COLUMNS,
    SUPERSEDED_FOOTPRINTS,
    live_event,
    same_event,
)
from infercarbon.ledger.schema import TS, Column, TableSpec

__all__ = [
    "DIMS",
    "EVENT_DIMS",
    "EVENT_HOURS",
    "EVENT_MEASURES",
    "HOURS",
    "HOURS_DIRTY",
    "LATENCY_EDGES_S",
    "LINES",
    "MEASURES",
    "PARTS",
    "deviation_parts",
    "event_fold_sql",
    "event_hours_rows",
    "event_rebuild_sql",
    "event_upsert_sql",
    "fold_sql",
    "footprint_hours_rows",
    "hours_upsert_grouped_sql",
    "latency_quantile_s",
    "rebuild_sql",
    "source_columns",
    "upsert_sql",
]

_F = pa.float64()
_I = pa.int64()

#: Event dimensions the rollup keeps (outcome and currency: '' for none).
DIMS: tuple[str, ...] = (
    "tenant",
    "service",
    "model",
    "region",
    "device",
    "outcome",
    "attribution_method",
)
#: Latency histogram edges [s]: bucket 0 is below the first edge, bucket k in
#: [edge k-1, edge k), the last at or above the last edge.
LATENCY_EDGES_S: npt.NDArray[np.float64] = 10.0 ** (np.arange(23) / 4.0) / 1000.0
_N_LAT = len(LATENCY_EDGES_S) + 1
#: The line columns of a compact footprint row: each basis's operational line, then the others.
LINES: tuple[str, ...] = (*BASES, *LINE_COLUMNS)
#: The parts of a figure and its range that add up (:func:`deviation_parts`).
PARTS: tuple[str, ...] = ("g", "i2dn", "i2up", "sdn", "sup")
_LIVE_EVENT_EF = live_event("ef")
_LIVE_FOOTPRINT_EF = f"ef.footprint_id NOT IN {SUPERSEDED_FOOTPRINTS}"


def deviation_parts(g: str, lo: str, hi: str, op: str | None) -> list[str]:
    """Row expressions of a figure ``g`` with range [``lo``, ``hi``]: the value, the squared
    energy-band deviations (``op``: the operational figure whose energy band it is; None for
    lines without one) and the shared deviations (what is left of the range), as the
    deviation views split them (:func:`infercarbon.ledger.compact.view_sql`)."""

    def indep(end: str) -> str:
        if op is None:
            return "0.0"
        return (
            f"(CASE WHEN ef.{end} IS NOT NULL AND ef.energy_j > 0 THEN {op} * "
            f"abs(ef.energy_j - ef.{end}) / ef.energy_j ELSE 0.0 END)"
        )

    idn, iup = indep("energy_low_j"), indep("energy_high_j")
    dn, up = f"({g} - {lo})", f"({hi} - {g})"
    return [
        g,
        f"{idn} * {idn}",
        f"{iup} * {iup}",
        f"sqrt(greatest({dn} * {dn} - {idn} * {idn}, 0.0))",
        f"sqrt(greatest({up} * {up} - {iup} * {iup}, 0.0))",
    ]


def _measures() -> list[tuple[str, pa.DataType, str]]:
    """(column, type, aggregate over the source rows ``ef``) of every additive measure."""
    lat = "EXTRACT(EPOCH FROM (ef.period_end_utc - ef.period_start_utc))"
    out: list[tuple[str, pa.DataType, str]] = [
        ("n", _I, "count(*)"),
        ("energy_j", _F, "sum(ef.energy_j)"),
        ("facility_j", _F, "sum(ef.facility_j)"),
        ("latency_s", _F, f"sum({lat})"),
    ]
    edges = LATENCY_EDGES_S.tolist()
    for k in range(_N_LAT):
        lo = f"{lat} >= {edges[k - 1]!r}" if k else None
        hi = f"{lat} < {edges[k]!r}" if k < len(edges) else None
        cond = " AND ".join(c for c in (lo, hi) if c)
        out.append((f"lat_{k:02d}", _I, f"count(CASE WHEN {cond} THEN 1 END)"))
        out.append((f"lat_sum_{k:02d}", _F, f"coalesce(sum(CASE WHEN {cond} THEN {lat} END), 0.0)"))
    for b in BASES:  # the totals of each basis (the operational line's where no total)
        g, lo, hi = (f"coalesce(ef.total_{b}_{x}, ef.{b}_{x})" for x in ("g", "low_g", "high_g"))
        out.append((f"total_{b}_n", _I, f"count({g})"))
        out.append((f"total_{b}_low_sum_g", _F, f"sum({lo})"))
        out.append((f"total_{b}_high_sum_g", _F, f"sum({hi})"))
        out += [
            (f"total_{b}_{p}", _F, f"sum({x})")
            for p, x in zip(PARTS, deviation_parts(g, lo, hi, f"ef.{b}_g"), strict=True)
        ]
    for c in LINES:
        op = f"ef.{c}_g" if c in BASES else None
        out += [
            (f"line_{c}_{p}", _F, f"coalesce(sum({x}), 0.0)")
            for p, x in zip(
                PARTS,
                deviation_parts(f"ef.{c}_g", f"ef.{c}_low_g", f"ef.{c}_high_g", op),
                strict=True,
            )
        ]
    known = "ef.idle_attributed_j IS NOT NULL"
    out += [
        ("idle_known", _I, f"count(CASE WHEN {known} THEN 1 END)"),
        ("idle_known_energy_j", _F, f"coalesce(sum(CASE WHEN {known} THEN ef.energy_j END), 0.0)"),
        ("idle_attributed_j", _F, "coalesce(sum(ef.idle_attributed_j), 0.0)"),
        ("idle_unattributed_j", _F, "coalesce(sum(ef.idle_unattributed_j), 0.0)"),
        ("energy_cost", _F, "coalesce(sum(ef.energy_cost), 0.0)"),
    ]
    return out


#: (column, Arrow type, aggregate SQL) of every measure, in table order.
MEASURES: tuple[tuple[str, pa.DataType, str], ...] = tuple(_measures())

HOURS = TableSpec(
    "footprint_hours",
    "footprint_hours",
    (
        Column("hour_utc", TS),
        *(Column(d, pa.string()) for d in DIMS),
        Column("context_id", pa.string()),
        Column("currency", pa.string()),
        *(Column(name, t, False) for name, t, _ in MEASURES),
    ),
    key=("hour_utc", *DIMS, "context_id", "currency"),
    ingested=False,
)

#: DuckDB: the (hour, tenant) pairs a write made stale (a correction, a recomputation),
#: rebuilt by the next fold.
HOURS_DIRTY = TableSpec(
    "footprint_hours_dirty",
    "footprint_hours_dirty",
    (Column("hour_utc", TS), Column("tenant", pa.string())),
    key=("hour_utc", "tenant"),
    ingested=False,
)

#: The event columns a source of :func:`upsert_sql` carries besides the footprint row's.
EVENT_DIMS: tuple[str, ...] = ("service", "model", "region", "device", "outcome")


def source_columns() -> list[str]:
    """The columns of ``event_footprints`` the rollup reads (a fast-path source stages
    these and :data:`EVENT_DIMS`)."""
    from infercarbon.ledger.compact import EVENT_FOOTPRINTS

    return [c for c in EVENT_FOOTPRINTS.names if c not in ("inputs_hash", "computed_utc")]


def _select(source: str, sign: str = "") -> str:
    keys = [
        "date_trunc('hour', ef.period_start_utc)",
        "ef.tenant",
        "ef.service",
        "ef.model",
        "ef.region",
        "ef.device",
        "coalesce(ef.outcome, '')",
        "ef.attribution_method",
        "ef.context_id",
        "coalesce(ef.currency, '')",
    ]
    cols = [*keys, *(f"{sign}{agg}" for _, _, agg in MEASURES)]
    return f"SELECT {', '.join(cols)} FROM {source} ef GROUP BY " + ", ".join(
        str(i + 1) for i in range(len(keys))
    )


def upsert_sql(source: str) -> str:
    """Add the sums of the rows of ``source`` (a table or subquery with the columns of
    :func:`source_columns` and :data:`EVENT_DIMS`) to the rollup."""
    names = [c.name for c in HOURS.columns]
    sets = ", ".join(f"{m} = footprint_hours.{m} + excluded.{m}" for m, _, _ in MEASURES)
    return (
        f"INSERT INTO footprint_hours ({', '.join(names)}) {_select(source)} "
        f"ON CONFLICT ({', '.join(HOURS.key)}) DO UPDATE SET {sets}"
    )


def _f(t: pa.Table, c: str) -> npt.NDArray[np.float64]:
    """A float column as numpy, NaN for null (nulls are tracked apart: :func:`_valid`)."""
    return np.asarray(t.column(c).to_numpy(), dtype=np.float64)  # null: NaN


def _valid(t: pa.Table, c: str) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.is_valid(t.column(c)).to_numpy(zero_copy_only=False), dtype=bool)


def _latency_floor_us() -> npt.NDArray[np.int64]:
    """The latency edges as whole microseconds a latency must reach to be at or above each:
    SQL compares the exact interval with the edge's decimal literal (``repr``), so a
    latency of ``d`` us is at or above it when ``d >= ceil(edge * 1e6)``."""
    from decimal import ROUND_CEILING, Decimal

    return np.array(
        [
            int((Decimal(repr(e)) * 1_000_000).to_integral_value(rounding=ROUND_CEILING))
            for e in LATENCY_EDGES_S.tolist()
        ],
        dtype=np.int64,
    )


_LAT_FLOOR_US = _latency_floor_us()


def _parts(
    g: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    hi: npt.NDArray[np.float64],
    op: npt.NDArray[np.float64] | None,
    t: pa.Table,
) -> list[npt.NDArray[np.float64]]:
    """The row values of :func:`deviation_parts` (NaN where SQL gives null), with SQL's
    rules: a null operand makes null, ``greatest`` skips a null (so the shared deviations
    are 0.0 where either operand is null)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if op is None:
            idn = iup = np.zeros(len(g))
        else:
            e = _f(t, "energy_j")

            def indep(end: str) -> npt.NDArray[np.float64]:
                x = _f(t, end)
                take = _valid(t, end) & (e > 0)
                return np.where(take, op * np.abs(e - x) / e, 0.0)

            idn, iup = indep("energy_low_j"), indep("energy_high_j")
        dn, up = g - lo, hi - g

        def shared(d: npt.NDArray[np.float64], i: npt.NDArray[np.float64]) -> Any:
            x = d * d - i * i
            return np.sqrt(np.where(np.isnan(x), 0.0, np.maximum(x, 0.0)))

        return [g, idn * idn, iup * iup, shared(dn, idn), shared(up, iup)]


def footprint_hours_rows(source: pa.Table) -> pa.Table:
    """The rollup rows of ``source`` (new compact footprint rows that supersede nothing,
    with :func:`source_columns` and :data:`EVENT_DIMS`): one per key of ``footprint_hours``
    with the sums :data:`MEASURES` computes in SQL (null where SQL's sum is null), so that
    :func:`upsert_sql` with ``grouped`` adds a few rows instead of aggregating the batch."""
    n_rows = source.num_rows
    start_us = np.asarray(source.column("period_start_utc").cast(pa.int64()).to_numpy())
    hour_us = start_us // 3_600_000_000 * 3_600_000_000
    keys: dict[str, pa.Array | pa.ChunkedArray] = {
        "hour_utc": pa.array(hour_us, TS),
    }
    for d in DIMS:
        c = source.column(d)
        keys[d] = pc.fill_null(c, "") if d == "outcome" else c
    keys["context_id"] = source.column("context_id")
    keys["currency"] = pc.fill_null(source.column("currency"), "")
    key_names = [c.name for c in HOURS.columns[: len(HOURS.key)]]
    # a group id per row (the rows of a key, in order), the first row of each group
    joined = pc.binary_join_element_wise(
        pa.array(hour_us.astype(str)), *(keys[k] for k in key_names[1:]), "\x1f"
    )
    enc = pc.dictionary_encode(joined).combine_chunks()
    idx = np.asarray(enc.indices.to_numpy(), dtype=np.int64)
    n_groups = len(enc.dictionary)
    first = np.unique(idx, return_index=True)[1]
    vals: dict[str, npt.NDArray[Any]] = {}  # measure -> row values (NaN: null)
    how: dict[str, str] = {}  # measure -> "sum" (null when every row is null), "sum0", "count"
    vals["n"], how["n"] = np.ones(n_rows, dtype=np.int64), "count"
    for c in ("energy_j", "facility_j"):
        vals[c], how[c] = _f(source, c), "sum"
    lat_us = np.asarray(source.column("period_end_utc").cast(pa.int64()).to_numpy()) - start_us
    lat_s = lat_us / 1e6
    vals["latency_s"], how["latency_s"] = lat_s, "sum"
    floor = _LAT_FLOOR_US
    for k in range(_N_LAT):
        inside = np.ones(n_rows, dtype=bool)
        if k:
            inside &= lat_us >= floor[k - 1]
        if k < len(floor):
            inside &= lat_us < floor[k]
        vals[f"lat_{k:02d}"], how[f"lat_{k:02d}"] = inside.astype(np.int64), "count"
        vals[f"lat_sum_{k:02d}"] = np.where(inside, lat_s, np.nan)
        how[f"lat_sum_{k:02d}"] = "sum0"
    for b in BASES:
        g, lo, hi = (
            np.where(
                _valid(source, f"total_{b}_{x}"),
                _f(source, f"total_{b}_{x}"),
                _f(source, f"{b}_{x}"),
            )
            for x in ("g", "low_g", "high_g")
        )
        vals[f"total_{b}_n"], how[f"total_{b}_n"] = (~np.isnan(g)).astype(np.int64), "count"
        vals[f"total_{b}_low_sum_g"], how[f"total_{b}_low_sum_g"] = lo, "sum"
        vals[f"total_{b}_high_sum_g"], how[f"total_{b}_high_sum_g"] = hi, "sum"
        for p, x in zip(PARTS, _parts(g, lo, hi, _f(source, f"{b}_g"), source), strict=True):
            vals[f"total_{b}_{p}"], how[f"total_{b}_{p}"] = x, "sum"
    for c in LINES:
        g, lo, hi = (_f(source, f"{c}_{x}") for x in ("g", "low_g", "high_g"))
        op = g if c in BASES else None
        for p, x in zip(PARTS, _parts(g, lo, hi, op, source), strict=True):
            vals[f"line_{c}_{p}"], how[f"line_{c}_{p}"] = x, "sum0"
    known = _valid(source, "idle_attributed_j")
    vals["idle_known"], how["idle_known"] = known.astype(np.int64), "count"
    vals["idle_known_energy_j"] = np.where(known, _f(source, "energy_j"), np.nan)
    how["idle_known_energy_j"] = "sum0"
    for c in ("idle_attributed_j", "idle_unattributed_j", "energy_cost"):
        vals[c], how[c] = _f(source, c), "sum0"
    # sums per group in row order (as SQL adds a group's rows), null where SQL's sum is
    out: dict[str, Any] = {k: pa.table(keys).column(k).take(pa.array(first)) for k in key_names}
    for name, _, _ in MEASURES:
        v = vals[name]
        if how[name] == "count":
            out[name] = pa.array(np.bincount(idx, weights=v, minlength=n_groups).astype(np.int64))
            continue
        valid = ~np.isnan(v)
        total = np.bincount(idx, weights=np.where(valid, v, 0.0), minlength=n_groups)
        if how[name] == "sum":
            none = np.bincount(idx, weights=valid, minlength=n_groups) == 0
            out[name] = pa.array(total, pa.float64(), mask=none)
        else:
            out[name] = pa.array(total, pa.float64())
    return pa.table(out).cast(HOURS.arrow_schema)


def hours_upsert_grouped_sql(stage: str) -> str:
    """Add rows of the rollup's own columns (one per key: :func:`footprint_hours_rows`)
    from ``stage`` (a table or parenthesised subquery) to the rollup."""
    names = [c.name for c in HOURS.columns]
    sets = ", ".join(f"{m} = footprint_hours.{m} + excluded.{m}" for m, _, _ in MEASURES)
    return (
        f"INSERT INTO footprint_hours ({', '.join(names)}) SELECT {', '.join(names)} "
        f"FROM {stage} g ON CONFLICT ({', '.join(HOURS.key)}) DO UPDATE SET {sets}"
    )


def _live_source(where: str) -> str:
    """The live compact footprints of live events matching ``where`` (over ``ef`` and
    ``e``), with the events' dimensions: a source for :func:`upsert_sql`."""
    cols = ", ".join([*(f"ef.{c}" for c in source_columns()), *(f"e.{d}" for d in EVENT_DIMS)])
    return (
        f"(SELECT {cols} FROM event_footprints ef JOIN events e ON "
        f"{same_event('e', 'ef')} WHERE {_LIVE_FOOTPRINT_EF} AND "
        f"{_LIVE_EVENT_EF} AND {where})"
    )


class _Fold(Protocol):
    def __call__(self, after_rowid: int, upto_rowid: int, skip: str | None = None) -> str: ...


class _Rebuild(Protocol):
    def __call__(self, keys: str | None, upto_rowid: int | None = None) -> list[str]: ...


def _fold(alias: str, start: str, source: Callable[[str], str]) -> _Fold:
    """The fold statement of a rollup fed by ``source`` (the live rows ``alias`` matching a
    condition, whose start time column is ``start``)."""

    def fold(after_rowid: int, upto_rowid: int, skip: str | None = None) -> str:
        where = f"{alias}.rowid > {int(after_rowid)} AND {alias}.rowid <= {int(upto_rowid)}"
        if skip is not None:
            where += (
                f" AND (date_trunc('hour', {alias}.{start}), {alias}.tenant) NOT IN "
                f"(SELECT hour_utc, tenant FROM {skip})"
            )
        return source(where)

    return fold


def _rebuild(
    table: str, alias: str, start: str, select: Callable[[str], str], live: Callable[[str], str]
) -> _Rebuild:
    """The rebuild statements of a rollup ``table`` (its rows: ``select`` over the live rows
    ``live(condition)`` of alias ``alias``, whose start time column is ``start``)."""

    def rebuild(keys: str | None, upto_rowid: int | None = None) -> list[str]:
        upto = "TRUE" if upto_rowid is None else f"{alias}.rowid <= {int(upto_rowid)}"
        if keys is None:
            return [f"DELETE FROM {table}", f"INSERT INTO {table} {select(live(upto))}"]
        pairs = f"(SELECT DISTINCT hour_utc, tenant FROM {keys})"
        span = (
            f"{alias}.{start} >= (SELECT min(hour_utc) FROM {keys}) AND "
            f"{alias}.{start} < (SELECT max(hour_utc) FROM {keys}) + INTERVAL '1 hour'"
        )
        match = (
            f"(date_trunc('hour', {alias}.{start}), {alias}.tenant) IN "
            f"(SELECT hour_utc, tenant FROM {pairs} k)"
        )
        return [
            f"DELETE FROM {table} WHERE (hour_utc, tenant) IN "
            f"(SELECT hour_utc, tenant FROM {pairs} k)",
            f"INSERT INTO {table} {select(live(f'{upto} AND {span} AND {match}'))}",
        ]

    return rebuild


#: DuckDB: ``fold_sql(after, upto, skip)`` adds the live compact footprints stored after row
#: ``after`` up to row ``upto`` (``event_footprints.rowid``) to the rollup, but those of the
#: (hour, tenant) pairs of ``skip`` (a table: rebuilt whole in the same transaction).
fold_sql = _fold("ef", "period_start_utc", lambda w: upsert_sql(_live_source(w)))
#: ``rebuild_sql(keys, upto)``: statements that recompute the rollup rows of the (hour,
#: tenant) pairs of ``keys`` (a table or subquery with columns ``hour_utc`` and ``tenant``;
#: None: every hour) from the tables (DuckDB: from the rows up to ``upto``, the ones folded in).
rebuild_sql = _rebuild("footprint_hours", "ef", "period_start_utc", _select, _live_source)


def latency_quantile_s(counts: Sequence[int], sums_s: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile [s] of a latency histogram (bucket counts and latency sums in the
    order of :data:`LATENCY_EDGES_S`): the mean latency of the bucket that holds it (exact
    when that bucket's latencies are equal; never further off than the bucket's width);
    None for an empty histogram."""
    c = np.asarray(counts, dtype=float)
    total = c.sum()
    if total <= 0:
        return None
    k = int(np.searchsorted(np.cumsum(c), q * total, side="left"))
    k = min(k, len(c) - 1)
    while c[k] == 0 and k > 0:  # q = 0 lands before the first non-empty bucket
        k -= 1
    if c[k] == 0:
        k = int(np.flatnonzero(c)[0])
    return float(sums_s[k] / c[k])


# ------------------------------------------------------------------- the event rollup
# ``event_hours`` (schema version 8): the live events (with or without a footprint) by hour
# x DIMS, kept exactly as ``footprint_hours`` is (added as rows are written on PostgreSQL,
# folded in by reads on DuckDB past its own ``rowid`` mark of ``events``, and rebuilt for
# the (hour, tenant) pairs a correction touches), so that counts, energy, tokens and the
# first and last start of the events read from a few rows instead of every event.

#: (column, Arrow type, aggregate over the events ``e``) of each event measure.
EVENT_MEASURES: tuple[tuple[str, pa.DataType, str], ...] = (
    ("events", _I, "count(*)"),
    ("energy_j", _F, "sum(e.energy_j)"),
    ("tokens_in", _I, "sum(e.tokens_in)"),
    ("tokens_out", _I, "sum(e.tokens_out)"),
    ("payload_bytes", _I, "sum(e.payload_bytes)"),
    ("first_start_utc", TS, "min(e.start_utc)"),
    ("last_start_utc", TS, "max(e.start_utc)"),
)

EVENT_HOURS = TableSpec(
    "event_hours",
    "event_hours",
    (
        Column("hour_utc", TS),
        *(Column(d, pa.string()) for d in DIMS),
        *(Column(name, t, False) for name, t, _ in EVENT_MEASURES),
    ),
    key=("hour_utc", *DIMS),
    ingested=False,
)


def _event_select(source: str) -> str:
    keys = [
        "date_trunc('hour', e.start_utc)",
        *(f"coalesce(e.{d}, '')" if d == "outcome" else f"e.{d}" for d in DIMS),
    ]
    cols = [*keys, *(agg for _, _, agg in EVENT_MEASURES)]
    return f"SELECT {', '.join(cols)} FROM {source} e GROUP BY " + ", ".join(
        str(i + 1) for i in range(len(keys))
    )


def _event_merge(name: str) -> str:
    """How a stored measure and an added one combine (sums that stay null while no event
    reports the quantity, the earliest first start, the latest last start)."""
    old, new = f"event_hours.{name}", f"excluded.{name}"
    if name == "first_start_utc":
        return f"least({old}, {new})"
    if name == "last_start_utc":
        return f"greatest({old}, {new})"
    return f"coalesce({old} + {new}, {old}, {new})"


def event_upsert_sql(source: str, *, grouped: bool = False) -> str:
    """Add the events of ``source`` (a table or subquery with the columns of ``events``,
    every one new and live) to the event rollup; ``grouped``: ``source`` holds rows of the
    rollup's own columns already (one per key), added as they are."""
    names = [c.name for c in EVENT_HOURS.columns]
    sets = ", ".join(f"{m} = {_event_merge(m)}" for m, _, _ in EVENT_MEASURES)
    select = f"SELECT {', '.join(names)} FROM {source} g" if grouped else _event_select(source)
    return (
        f"INSERT INTO event_hours ({', '.join(names)}) {select} "
        f"ON CONFLICT ({', '.join(EVENT_HOURS.key)}) DO UPDATE SET {sets}"
    )


def event_hours_rows(events: pa.Table) -> pa.Table:
    """The rollup rows of a batch of new, live events (Arrow columns of ``events``): one per
    hour and dimensions, with the sums, first and last start (a few rows for a batch, so
    the upsert of :func:`event_upsert_sql` with ``grouped`` stays small)."""
    cols: dict[str, pa.Array | pa.ChunkedArray] = {
        "hour_utc": pc.floor_temporal(events.column("start_utc"), unit="hour"),
    }
    for d in DIMS:
        c = events.column(d)
        cols[d] = pc.fill_null(c, "") if d == "outcome" else c
    for m in ("energy_j", "tokens_in", "tokens_out", "payload_bytes"):
        cols[m] = events.column(m)
    cols["start_utc"] = events.column("start_utc")
    t = pa.table(cols)
    g = t.group_by(["hour_utc", *DIMS], use_threads=False).aggregate(
        [
            ("energy_j", "count", pc.CountOptions(mode="all")),
            ("energy_j", "sum", pc.ScalarAggregateOptions(min_count=1)),
            ("tokens_in", "sum", pc.ScalarAggregateOptions(min_count=1)),
            ("tokens_out", "sum", pc.ScalarAggregateOptions(min_count=1)),
            ("payload_bytes", "sum", pc.ScalarAggregateOptions(min_count=1)),
            ("start_utc", "min"),
            ("start_utc", "max"),
        ]
    )
    out = {c.name: g.column(c.name) for c in EVENT_HOURS.columns[: 1 + len(DIMS)]}
    sources = (
        "energy_j_count",
        "energy_j_sum",
        "tokens_in_sum",
        "tokens_out_sum",
        "payload_bytes_sum",
        "start_utc_min",
        "start_utc_max",
    )
    for (name, _, _), src in zip(EVENT_MEASURES, sources, strict=True):
        out[name] = g.column(src)
    return pa.table(out).cast(EVENT_HOURS.arrow_schema)


def _live_events(where: str) -> str:
    return f"(SELECT e.* FROM events e WHERE {live_event('e')} AND {where})"


#: DuckDB: ``event_fold_sql(after, upto, skip)`` adds the live events stored after row
#: ``after`` up to row ``upto`` (``events.rowid``) to the event rollup (as :data:`fold_sql`).
event_fold_sql = _fold("e", "start_utc", lambda w: event_upsert_sql(_live_events(w)))
#: ``event_rebuild_sql(keys, upto)``: recompute the event rollup's rows of the (hour,
#: tenant) pairs of ``keys`` (as :data:`rebuild_sql`; DuckDB: from the events up to ``upto``).
event_rebuild_sql = _rebuild("event_hours", "e", "start_utc", _event_select, _live_events)
