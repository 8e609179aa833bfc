"""The ledger's tables, their validation, and the footprint record with its input hash.

Four append-only tables hold what the ledger knows (every timestamp is UTC, every quantity in
joules, watts, grams or g/kWh as its name says):

``events``
    one row per inference: ``event_id`` (the key, with ``tenant``: ids are per tenant),
    ``start_utc``, ``end_utc``, ``service``, ``tenant``, ``model``, ``region``, ``device``,
    ``energy_j``, ``attribution_method``, optional ``batch_id``, ``tokens_in``,
    ``tokens_out``, ``payload_bytes``, ``outcome``, and
    ``supersedes`` (the id of the event this row corrects).  The store adds ``ingested_utc``.
``readings``
    device energy readings: ``device``, ``t_utc``, ``cumulative_j`` and/or ``power_w``,
    ``source``, ``method``; key (device, t_utc, source).
``intensity``
    grid-intensity snapshots: ``region``, ``kind``, ``basis``, ``interval_start_utc``,
    ``resolution_s``, ``value_g_per_kwh`` with optional ``low_g_per_kwh``/``high_g_per_kwh``,
    ``source``, ``version``, ``retrieved_utc``; the key is all of these but the values, so a
    re-fetch is a new snapshot and re-sending the same snapshot is a no-op.  Optional
    provenance per interval: ``method``, ``status`` (forecast, provisional, final; null =
    final), ``marginal_unit`` and ``confidence_level`` (see docs/grid_signals.md).
``footprints`` (+ ``footprint_items``, ``footprint_totals``)
    a computed footprint: its subject (an ``event_id`` or an ``aggregate_key``), the inputs it
    was computed from as canonical JSON, the versions of the factors and data used, the SHA-256
    of both (:func:`inputs_hash`), its line items and totals, and ``supersedes``.  The
    service's per-event footprints are stored in a compact layout instead (shared context
    once, numbers per event: :mod:`infercarbon.ledger.compact`); the store's ``all_*``
    views and read methods show both layouts as this one.

Validation is vectorised over a whole batch (pyarrow compute, no Python loop per event) and
reports every problem with the row index and field, e.g. ``events[3].energy_j``.

>>> canonical_json({"b": 1.0, "a": [1, "x"]})
'{"a":[1,"x"],"b":1.0}'
>>> inputs_hash({"energy_j": 1.5}, {"grid": "ember-2024"})[:16]
'22dee3366f6667d7'
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError, LedgerError
from infercarbon.grid.signal import BASES, KINDS
from infercarbon.grid.updates import STATUSES
from infercarbon.timeutil import format_utc

if TYPE_CHECKING:
    from infercarbon.accounting.footprint import Footprint

__all__ = [
    "EVENTS",
    "INTENSITY",
    "READINGS",
    "RUNS",
    "RUN_KINDS",
    "RUN_STATUSES",
    "STORAGE",
    "TABLES",
    "TRANSFERS",
    "Column",
    "EventValidationError",
    "FootprintBatch",
    "FootprintFigures",
    "FootprintRecord",
    "KeyTakenError",
    "LedgerConflictError",
    "LedgerReferenceError",
    "LineItemRecord",
    "Problem",
    "TableSpec",
    "TotalRecord",
    "ValidatedRows",
    "build_footprints",
    "canonical_json",
    "conform_tables",
    "inputs_hash",
    "json_bool",
    "json_number",
    "json_object",
    "json_string",
    "json_time",
    "run_id_for",
    "validate_rows",
    "validated",
]

TS = pa.timestamp("us", tz="UTC")
Check = Literal["nonneg", "positive"]


# ----------------------------------------------------------------------------- errors
@dataclass(frozen=True, slots=True)
class Problem:
    """One bad field: row ``index`` of the batch, ``field`` name, and what is wrong."""

    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"[{self.index}].{self.field}: {self.message}"


class EventValidationError(InputError):
    """A batch failed validation; nothing from it was written.

    ``problems`` lists every bad field (row index, field, message); the message names them.
    """

    def __init__(self, table: str, problems: Sequence[Problem], *, more: int = 0) -> None:
        self.table = table
        self.problems = tuple(problems)
        self.more = more
        first = self.problems[0]
        shown = "; ".join(f"{table}{p}" for p in self.problems[:20])
        extra = len(self.problems) - 20 + more
        tail = f"; and {extra} more" if extra > 0 else ""
        super().__init__(
            f"{len(self.problems) + more} invalid field(s), nothing written: {shown}{tail}",
            field=f"{table}[{first.index}].{first.field}",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # picklable with its problems (the default would call __init__ with the message)
        return (_validation_error, (self.table, self.problems, self.more))


def _validation_error(table: str, problems: Sequence[Problem], more: int) -> EventValidationError:
    return EventValidationError(table, problems, more=more)


class LedgerConflictError(LedgerError):
    """An id that is already stored (or repeated in the batch) with different content.

    The ledger is append-only: a correction is a new row whose ``supersedes`` names the old id.
    """

    def __init__(self, table: str, ids: Sequence[str], detail: str = "") -> None:
        self.table = table
        self.ids = tuple(ids)
        shown = ", ".join(repr(i) for i in self.ids[:10])
        more = f" (and {len(self.ids) - 10} more)" if len(self.ids) > 10 else ""
        super().__init__(
            f"{table}: id {shown}{more} already recorded with different content; the ledger "
            "is append-only, so send a correction as a new row with `supersedes` set to the "
            f"old id{': ' + detail if detail else ''}. Nothing from this batch was written."
        )


class KeyTakenError(LedgerConflictError):
    """An insert hit a stored key (the database's unique index refused it); the store rolls
    the transaction back.  Raised where the writer expected the key to be new."""


class LedgerReferenceError(LedgerError):
    """A row names another row (``supersedes``, a footprint's event) that is not stored for
    the same tenant: the batch is refused as a whole; retrying it unchanged cannot help."""


# ---------------------------------------------------------------------------- columns
@dataclass(frozen=True, slots=True)
class Column:
    """One column: name, Arrow type, SQL types, and its constraints."""

    name: str
    arrow: pa.DataType
    required: bool = True
    check: Check | None = None
    choices: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        if pa.types.is_timestamp(self.arrow):
            return "timestamp"
        if pa.types.is_floating(self.arrow):
            return "float"
        if pa.types.is_integer(self.arrow):
            return "int"
        if pa.types.is_boolean(self.arrow):
            return "bool"
        return "string"

    def sql_type(self, dialect: str) -> str:
        k = self.kind
        if k == "timestamp":
            return "TIMESTAMPTZ"
        if k == "float":
            return "DOUBLE" if dialect == "duckdb" else "DOUBLE PRECISION"
        if k == "int":
            return "BIGINT"
        if k == "bool":
            return "BOOLEAN"
        return "VARCHAR" if dialect == "duckdb" else "TEXT"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An append-only table: columns given by the writer, its key, and the row label."""

    name: str
    row: str  # how one row is named in errors ("events")
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    ingested: bool = True  # the store adds ingested_utc
    #: columns a write requires but a read may find empty (a compact footprint, read in
    #: this table's layout, has no record hash)
    null_on_read: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow, nullable=not c.required) for c in self.columns])

    @property
    def stored_schema(self) -> pa.Schema:
        s = self.arrow_schema
        return s.append(pa.field("ingested_utc", TS, nullable=False)) if self.ingested else s

    @property
    def read_schema(self) -> pa.Schema:
        """What reads of this table (scans, exports) return: ``stored_schema`` with the
        ``null_on_read`` columns nullable."""
        s = self.stored_schema
        for name in self.null_on_read:
            i = s.get_field_index(name)
            s = s.set(i, s.field(i).with_nullable(True))
        return s

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _s(name: str, required: bool = True, choices: tuple[str, ...] = ()) -> Column:
    return Column(name, pa.string(), required, None, choices)


EVENTS = TableSpec(
    "events",
    "events",
    (
        _s("event_id"),
        Column("start_utc", TS),
        Column("end_utc", TS),
        _s("service"),
        _s("tenant"),
        _s("model"),
        _s("region"),
        _s("device"),
        Column("energy_j", pa.float64(), check="nonneg"),
        _s("attribution_method"),
        _s("batch_id", False),
        Column("tokens_in", pa.int64(), False, "nonneg"),
        Column("tokens_out", pa.int64(), False, "nonneg"),
        Column("payload_bytes", pa.int64(), False, "nonneg"),
        _s("outcome", False),
        _s("supersedes", False),
        # the event's own p5..p95 energy band (schema version 3); absent: the band of its
        # attribution method's accuracy class (infercarbon.telemetry.base.ENERGY_BANDS)
        Column("energy_low_j", pa.float64(), False, "nonneg"),
        Column("energy_high_j", pa.float64(), False, "nonneg"),
        # W3C trace context of the request (schema version 4): the trace of the user action
        # the inference served and the span that called it (lowercase hex, 32 and 16 digits)
        _s("trace_id", False),
        _s("parent_span_id", False),
    ),
    # event ids are per tenant (schema version 6): two tenants may use the same id
    key=("tenant", "event_id"),
)

READINGS = TableSpec(
    "readings",
    "readings",
    (
        _s("device"),
        Column("t_utc", TS),
        Column("cumulative_j", pa.float64(), False, "nonneg"),
        Column("power_w", pa.float64(), False, "nonneg"),
        _s("source"),
        _s("method"),
    ),
    key=("device", "t_utc", "source"),
)

INTENSITY = TableSpec(
    "intensity",
    "intensity",
    (
        _s("region"),
        _s("kind", choices=KINDS),
        _s("basis", choices=BASES),
        Column("interval_start_utc", TS),
        Column("resolution_s", pa.int64(), check="positive"),
        Column("value_g_per_kwh", pa.float64(), check="nonneg"),
        Column("low_g_per_kwh", pa.float64(), False, "nonneg"),
        Column("high_g_per_kwh", pa.float64(), False, "nonneg"),
        _s("source"),
        _s("version"),
        Column("retrieved_utc", TS),
        # each interval's provenance (schema version 3; null in older rows): how the figure
        # was derived, its status (null = final), the marginal unit or fuel of a marginal
        # interval, and the coverage of low..high (0.9 = p5..p95; null: unstated or no range)
        _s("method", False),
        _s("status", False, choices=STATUSES),
        _s("marginal_unit", False),
        Column("confidence_level", pa.float64(), False, "positive"),
    ),
    key=(
        "region",
        "kind",
        "basis",
        "interval_start_utc",
        "resolution_s",
        "source",
        "version",
        "retrieved_utc",
    ),
)

FOOTPRINTS = TableSpec(
    "footprints",
    "footprints",
    (
        _s("footprint_id"),
        _s("tenant"),
        _s("event_id", False),
        _s("aggregate_key", False),
        Column("period_start_utc", TS),
        Column("period_end_utc", TS),
        Column("computed_utc", TS),
        _s("calculator"),
        Column("energy_j", pa.float64(), check="nonneg"),
        _s("factor_versions_json"),
        _s("inputs_json"),
        _s("inputs_hash"),
        _s("record_hash"),
        _s("supersedes", False),
    ),
    key=("footprint_id",),
    null_on_read=("record_hash",),
)

FOOTPRINT_ITEMS = TableSpec(
    "footprint_items",
    "footprint_items",
    (
        _s("footprint_id"),
        Column("position", pa.int64()),
        _s("name"),
        Column("emissions_g", pa.float64()),
        Column("low_g", pa.float64()),
        Column("p50_g", pa.float64(), False),
        Column("high_g", pa.float64()),
        _s("label"),
        _s("source"),
        _s("scope"),
        _s("basis", False),
        Column("in_total", pa.bool_()),
        Column("energy_j", pa.float64(), False),
    ),
    key=("footprint_id", "position"),
    ingested=False,
)

FOOTPRINT_TOTALS = TableSpec(
    "footprint_totals",
    "footprint_totals",
    (
        _s("footprint_id"),
        _s("basis"),
        Column("value_g", pa.float64()),
        Column("low_g", pa.float64()),
        Column("p50_g", pa.float64(), False),
        Column("high_g", pa.float64()),
    ),
    key=("footprint_id", "basis"),
    ingested=False,
)

#: The kinds of a run (schema version 7) and how a run ended.
RUN_KINDS = ("train", "finetune", "eval", "retrain", "data-pipeline")
RUN_STATUSES = ("succeeded", "failed", "killed")

RUNS = TableSpec(
    "runs",
    "runs",
    (
        # a training, fine-tuning, evaluation, retraining or data-pipeline run (schema
        # version 7): what ran, how it ended, its energy band and how it was measured
        _s("run_id"),
        _s("tenant"),
        _s("kind", choices=RUN_KINDS),
        _s("model"),
        # the model family whose training line the run counts in (null: the model itself)
        _s("lineage", False),
        _s("system", False),
        _s("status", choices=RUN_STATUSES),
        Column("exit_code", pa.int64(), False),
        _s("signal", False),
        Column("start_utc", TS),
        Column("end_utc", TS),
        Column("energy_j", pa.float64(), check="nonneg"),
        Column("energy_low_j", pa.float64(), False, "nonneg"),
        Column("energy_high_j", pa.float64(), False, "nonneg"),
        _s("method"),
        _s("label", choices=("measured", "modelled", "cited", "illustrative")),
        _s("source"),
        _s("region", False),
        Column("gpu_hours", pa.float64(), False, "nonneg"),
        # emissions the run's own tool reported (CodeCarbon) or measure computed, with the
        # intensity used; null: computed at read time from the region
        Column("emissions_g", pa.float64(), False, "nonneg"),
        Column("intensity_g_per_kwh", pa.float64(), False, "nonneg"),
        _s("command", False),
        _s("supersedes", False),
    ),
    # ids are per tenant, as event ids (schema version 7)
    key=("tenant", "run_id"),
)

STORAGE = TableSpec(
    "storage",
    "storage",
    (
        # stored data (schema version 7): GB-months of a storage class over a period
        _s("record_id"),
        _s("tenant"),
        _s("system", False),
        _s("storage_class"),
        Column("gb_months", pa.float64(), check="nonneg"),
        Column("period_start_utc", TS),
        Column("period_end_utc", TS),
        _s("region", False),
        _s("source"),
    ),
    key=("tenant", "record_id"),
)

TRANSFERS = TableSpec(
    "transfers",
    "transfers",
    (
        # bulk and cross-region data movement (schema version 7): GB over a network type
        _s("record_id"),
        _s("tenant"),
        _s("system", False),
        _s("network_type"),
        Column("gb", pa.float64(), check="nonneg"),
        Column("t_utc", TS),
        _s("from_region", False),
        _s("to_region", False),
        _s("source"),
    ),
    key=("tenant", "record_id"),
)

#: Every table, by name.
TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        EVENTS,
        READINGS,
        INTENSITY,
        FOOTPRINTS,
        FOOTPRINT_ITEMS,
        FOOTPRINT_TOTALS,
        RUNS,
        STORAGE,
        TRANSFERS,
    )
}


# ------------------------------------------------------------------------- validation
_MAX_PROBLEMS = 200
#: The longest text field of a stored row (ids, labels, sources): the OpenAPI maxLength.
MAX_TEXT_CHARS = 200
#: The times a stored row may carry: those canonical JSON (Python's datetime) can write.
_MIN_TIME = pa.scalar(datetime(1, 1, 1, tzinfo=UTC), TS)
_MAX_TIME = pa.scalar(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), TS)
#: Upper bounds of figures [J, W] (1e15 J ~ 278 GWh for one inference or reading): beyond
#: them a sum of many rows could overflow, and no inference or device draws so much.
_BOUNDED = {
    "energy_j": 1e15,
    "energy_low_j": 1e15,
    "energy_high_j": 1e15,
    "cumulative_j": 1e18,
    "power_w": 1e9,
}


def _first_bad(values: Sequence[Any], ok: type | tuple[type, ...]) -> int:
    """Index of the first value that is neither None nor of type ``ok`` (error path only)."""
    for i, v in enumerate(values):
        if v is not None and (isinstance(v, bool) or not isinstance(v, ok)):
            return i
    return 0


def _first_huge(values: Sequence[Any]) -> int | None:
    """Index of the first integer that does not fit in 64 bits (error path only)."""
    for i, v in enumerate(values):
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
            return i
    return None


def _first_unencodable(values: Sequence[Any]) -> int | None:
    """Index of the first string that UTF-8 cannot encode (error path only)."""
    for i, v in enumerate(values):
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return i
    return None


def _column_from_rows(rows: Sequence[Mapping[str, Any]], name: str) -> pa.Array:
    return pa.array([r.get(name) for r in rows])


#: The Arrow type a JSON value of each column kind arrives as (None: the column's own).
_JSON_TYPE: dict[str, pa.DataType | None] = {
    "float": None,
    "int": None,
    "string": None,
    "bool": None,
    "timestamp": pa.string(),
}


@dataclass(frozen=True)
class ValidatedRows:
    """A table :func:`validate_rows` accepted for the table named ``spec_name``; made by
    :func:`validated`.  A store given one does not validate it again (Arrow tables are
    immutable, so it cannot have changed since)."""

    spec_name: str
    table: pa.Table


def validated(spec: TableSpec, rows: pa.Table | Sequence[Mapping[str, Any]]) -> ValidatedRows:
    """:func:`validate_rows`, remembered: the result passes a store's validation as it is."""
    return ValidatedRows(spec.name, validate_rows(spec, rows))


_CONVERSION_ERRORS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    TypeError,
    AttributeError,
    OverflowError,
    ValueError,
)


def _typed_table(spec: TableSpec, rows: Sequence[Any]) -> pa.Table | None:
    """The usual case, objects with known fields only: converted with the JSON types of the
    fields given (no type inference, about twice as fast).  None when any value is not of
    its field's type (or a field is unknown): the inferring path then names it."""
    try:
        present = set().union(*rows)
        if not present <= set(spec.names):
            return None
        for c in spec.columns:
            # Arrow would truncate 3.5 (and take true as 1) into an integer column
            if (
                c.kind == "int"
                and c.name in present
                and not {type(r.get(c.name)) for r in rows} <= {int, type(None)}
            ):
                return None
        typed = pa.struct(
            [
                pa.field(c.name, _JSON_TYPE[c.kind] or c.arrow)
                for c in spec.columns
                if c.name in present
            ]
        )
        return pa.Table.from_struct_array(pa.array(rows, type=typed))
    except _CONVERSION_ERRORS:
        return None


def _inferred_table(rows: Sequence[Any]) -> pa.Table | None:
    """Rows as a table whose types Arrow infers; None when it cannot (mixed types, huge
    integers, non-objects: the caller then goes column by column)."""
    try:
        # a struct array infers its fields from the keys of *every* row (from_pylist would
        # look at the first row only and silently drop unknown keys of later rows)
        return pa.Table.from_struct_array(pa.array(rows))
    except _CONVERSION_ERRORS:
        return None


def _as_table(spec: TableSpec, rows: pa.Table | Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows (list of dicts, e.g. decoded JSON) or an Arrow table, as an Arrow table."""
    if isinstance(rows, pa.Table):
        return rows
    if isinstance(rows, Mapping | str | bytes):
        raise InputError(
            f"expected a list of {spec.row} objects, got a single {type(rows).__name__}",
            field=spec.row,
        )
    rows = list(rows)
    if not rows:
        return pa.table({})
    table = _typed_table(spec, rows)
    if table is None:
        table = _inferred_table(rows)
    if table is not None:
        # Arrow turns true/false into 1.0/0.0 in a column of floats; JSON booleans are not
        # numbers, so look for them (a C-level map over the column, no per-row Python code)
        for col in spec.columns:
            if col.kind == "float" and col.name in table.column_names:
                values = [r.get(col.name) for r in rows]
                if bool in set(map(type, values)):
                    i = _first_bad(values, (int, float))
                    raise EventValidationError(
                        spec.row, [Problem(i, col.name, f"has type bool; expected {_expect(col)}")]
                    )
        return table
    bad = [i for i, r in enumerate(rows) if not isinstance(r, Mapping)]
    if bad:
        raise EventValidationError(
            spec.row, [Problem(i, "*", "must be an object") for i in bad[:_MAX_PROBLEMS]]
        )
    keys: set[str] = set().union(*rows) if rows else set()
    arrays, names, problems = [], [], []
    for name in sorted(keys):
        try:
            arrays.append(_column_from_rows(rows, name))
            names.append(name)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError, ValueError):
            values = [r.get(name) for r in rows]
            known = spec.column(name) if name in spec.names else None
            huge = _first_huge(values)
            if huge is not None:
                problems.append(
                    Problem(
                        huge,
                        name,
                        "is outside the 64-bit integer range "
                        f"(-2**63 .. 2**63-1); expected {_expect(known)}",
                    )
                )
                continue
            bad_text = _first_unencodable(values)
            if bad_text is not None:
                problems.append(
                    Problem(bad_text, name, "is not valid Unicode text (a lone surrogate escape)")
                )
                continue
            accepted: dict[str, type | tuple[type, ...]] = {
                "float": (int, float),
                "int": int,
                "string": str,
                "bool": bool,
                "timestamp": (str, datetime),
            }
            ok = accepted[known.kind] if known else str
            i = _first_bad(values, ok)
            problems.append(
                Problem(i, name, f"has type {type(values[i]).__name__}; expected {_expect(known)}")
            )
    if problems:
        raise EventValidationError(spec.row, problems)
    return pa.table(arrays, names=names)


def _expect(col: Column | None) -> str:
    if col is None:
        return "a known field"
    return {
        "float": "a number",
        "int": "an integer",
        "string": "a string",
        "bool": "true/false",
        "timestamp": "an ISO 8601 time with a zone offset (e.g. 2026-07-01T12:00:00Z)",
    }[col.kind]


def _bad_indices(mask: pa.Array | pa.ChunkedArray) -> list[int]:
    if not pc.any(mask).as_py():  # the usual case: nothing to name (3x cheaper to ask first)
        return []
    arr = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
    return [int(i) for i in np.flatnonzero(arr)[:_MAX_PROBLEMS]]


def _coerce(
    col: Column, arr: pa.ChunkedArray, n: int, row: str, problems: list[Problem]
) -> pa.ChunkedArray | None:
    """Cast one input column to the column's type, or record a problem and return None."""
    t = arr.type
    kind = col.kind
    if pa.types.is_null(t):
        return pa.chunked_array([pa.nulls(n, col.arrow)])
    ok = {
        "float": pa.types.is_integer(t) or pa.types.is_floating(t),
        "int": pa.types.is_integer(t),
        "string": pa.types.is_string(t) or pa.types.is_large_string(t),
        "bool": pa.types.is_boolean(t),
        "timestamp": pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or (pa.types.is_timestamp(t) and t.tz is not None),
    }[kind]
    if kind == "int" and pa.types.is_floating(t):
        # JSON has one number type: accept 3.0 as 3, reject 3.5
        whole = pc.equal(arr, pc.floor(arr))
        bad = _bad_indices(pc.invert(whole))
        if bad:
            problems.extend(Problem(i, col.name, "must be a whole number") for i in bad)
            return None
        ok = True
    if not ok:
        idx = _bad_indices(pc.is_valid(arr))[:1] or [0]
        what = "a time without a zone offset" if pa.types.is_timestamp(t) else f"type {t}"
        problems.append(Problem(idx[0], col.name, f"has {what}; expected {_expect(col)}"))
        return None
    try:
        return arr.cast(col.arrow)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # find the offending rows (error path only)
        for i, v in enumerate(arr.to_pylist()):
            try:
                pa.array([v]).cast(col.arrow)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                problems.append(Problem(i, col.name, f"{v!r} is not {_expect(col)}"))
                if len(problems) >= _MAX_PROBLEMS:
                    break
        return None


def validate_rows(
    spec: TableSpec, rows: pa.Table | Sequence[Mapping[str, Any]] | ValidatedRows
) -> pa.Table:
    """Validate and normalise a batch for ``spec``; raise :class:`EventValidationError`.

    A :class:`ValidatedRows` of ``spec`` (from :func:`validated`) is returned as it is.

    Checks, vectorised over the batch: known fields only; every required field present and
    non-null; strings non-empty (absent optional fields are null, never ``""``); types
    (numbers, whole numbers, ISO 8601 times *with* a zone offset, converted to UTC);
    numbers finite and non-negative where the unit requires it; ``end_utc >= start_utc``;
    choices (``kind``, ``basis``); a reading has ``cumulative_j`` or ``power_w``; an intensity
    range brackets its value.  Returns a table with exactly ``spec.arrow_schema``.
    """
    if isinstance(rows, ValidatedRows):
        if rows.spec_name == spec.name:
            return rows.table
        rows = rows.table
    table = _as_table(spec, rows)
    n = table.num_rows
    problems: list[Problem] = []
    unknown = sorted(set(table.column_names) - set(spec.names))
    problems.extend(
        Problem(
            (_bad_indices(pc.is_valid(table.column(u))) or [0])[0],
            u,
            f"unknown field; known fields: {', '.join(spec.names)}",
        )
        for u in unknown
    )
    cols: dict[str, pa.ChunkedArray] = {}
    for col in spec.columns:
        if col.name not in table.column_names:
            if col.required and n:
                problems.append(Problem(0, col.name, "is required"))
            cols[col.name] = pa.chunked_array([pa.nulls(n, col.arrow)])
            continue
        arr = _coerce(col, table.column(col.name), n, spec.row, problems)
        if arr is None:
            continue
        cols[col.name] = arr
        if col.required:
            problems.extend(
                Problem(i, col.name, "is required") for i in _bad_indices(pc.is_null(arr))
            )
        kind = col.kind
        if kind == "string":
            problems.extend(
                Problem(i, col.name, "must not be empty (omit it or send null)")
                for i in _bad_indices(pc.equal(pc.utf8_length(arr), 0))
            )
            if col.choices:
                bad = pc.invert(pc.is_in(arr, value_set=pa.array(col.choices)))
                problems.extend(
                    Problem(i, col.name, f"must be one of {', '.join(col.choices)}")
                    for i in _bad_indices(pc.and_(bad, pc.is_valid(arr)))
                )
        if kind == "float":
            problems.extend(
                Problem(i, col.name, "must be a finite number")
                for i in _bad_indices(pc.invert(pc.is_finite(arr)))
            )
        if col.check == "nonneg":
            problems.extend(
                Problem(i, col.name, "must not be negative") for i in _bad_indices(pc.less(arr, 0))
            )
        if col.check == "positive":
            problems.extend(
                Problem(i, col.name, "must be > 0") for i in _bad_indices(pc.less_equal(arr, 0))
            )
        if kind == "string" and spec in (EVENTS, READINGS):
            problems.extend(
                Problem(i, col.name, f"must be at most {MAX_TEXT_CHARS} characters")
                for i in _bad_indices(pc.greater(pc.utf8_length(arr), MAX_TEXT_CHARS))
            )
        if kind == "timestamp":
            out = pc.or_(pc.less(arr, _MIN_TIME), pc.greater(arr, _MAX_TIME))
            problems.extend(
                Problem(
                    i,
                    col.name,
                    "must be a UTC time between 0001-01-01 and 9999-12-31T23:59:59.999999Z",
                )
                for i in _bad_indices(out)
            )
        if col.name in _BOUNDED and kind == "float":
            problems.extend(
                Problem(
                    i,
                    col.name,
                    f"must be at most {_BOUNDED[col.name]:g} "
                    "(larger figures overflow the ledger's sums)",
                )
                for i in _bad_indices(pc.greater(arr, _BOUNDED[col.name]))
            )
    _cross_checks(spec, cols, problems)
    if problems:
        problems.sort(key=lambda p: (p.index, p.field))
        raise EventValidationError(
            spec.row, problems[:_MAX_PROBLEMS], more=max(0, len(problems) - _MAX_PROBLEMS)
        )
    return pa.table([cols[c.name] for c in spec.columns], schema=spec.arrow_schema)


def _cross_checks(
    spec: TableSpec, cols: Mapping[str, pa.ChunkedArray], problems: list[Problem]
) -> None:
    """Checks across columns, run on the columns that passed their own type checks."""

    def add(field: str, message: str, mask: Any, *needs: str) -> None:
        if all(n in cols for n in needs):
            problems.extend(Problem(i, field, message) for i in _bad_indices(mask()))

    if spec is EVENTS:
        add(
            "end_utc",
            "must not be before start_utc",
            lambda: pc.less(cols["end_utc"], cols["start_utc"]),
            "end_utc",
            "start_utc",
        )
        add(
            "supersedes",
            "an event cannot supersede itself",
            lambda: pc.equal(cols["supersedes"], cols["event_id"]),
            "supersedes",
            "event_id",
        )
        add(
            "energy_high_j",
            "give energy_low_j and energy_high_j together (the p5..p95 band)",
            lambda: pc.not_equal(
                pc.is_null(cols["energy_low_j"]), pc.is_null(cols["energy_high_j"])
            ),
            "energy_low_j",
            "energy_high_j",
        )
        add(
            "energy_low_j",
            "must not exceed energy_j",
            lambda: pc.greater(cols["energy_low_j"], cols["energy_j"]),
            "energy_low_j",
            "energy_j",
        )
        add(
            "energy_high_j",
            "must not be below energy_j",
            lambda: pc.less(cols["energy_high_j"], cols["energy_j"]),
            "energy_high_j",
            "energy_j",
        )
        for name, digits in (("trace_id", 32), ("parent_span_id", 16)):
            add(
                name,
                f"must be {digits} lowercase hex digits, not all zero (W3C trace context)",
                lambda name=name, digits=digits: pc.and_(
                    pc.is_valid(cols[name]),
                    pc.or_(
                        pc.invert(pc.match_substring_regex(cols[name], f"^[0-9a-f]{{{digits}}}$")),
                        pc.equal(cols[name], "0" * digits),
                    ),
                ),
                name,
            )
        add(
            "parent_span_id",
            "needs trace_id (the trace the span belongs to)",
            lambda: pc.and_(pc.is_valid(cols["parent_span_id"]), pc.is_null(cols["trace_id"])),
            "parent_span_id",
            "trace_id",
        )
    elif spec is FOOTPRINTS:
        add(
            "period_end_utc",
            "must not be before period_start_utc",
            lambda: pc.less(cols["period_end_utc"], cols["period_start_utc"]),
            "period_end_utc",
            "period_start_utc",
        )
        add(
            "supersedes",
            "a footprint cannot supersede itself",
            lambda: pc.equal(cols["supersedes"], cols["footprint_id"]),
            "supersedes",
            "footprint_id",
        )
    elif spec is RUNS:
        add(
            "end_utc",
            "must not be before start_utc",
            lambda: pc.less(cols["end_utc"], cols["start_utc"]),
            "end_utc",
            "start_utc",
        )
        add(
            "supersedes",
            "a run cannot supersede itself",
            lambda: pc.equal(cols["supersedes"], cols["run_id"]),
            "supersedes",
            "run_id",
        )
        add(
            "energy_low_j",
            "must not exceed energy_j",
            lambda: pc.greater(cols["energy_low_j"], cols["energy_j"]),
            "energy_low_j",
            "energy_j",
        )
        add(
            "energy_high_j",
            "must not be below energy_j",
            lambda: pc.less(cols["energy_high_j"], cols["energy_j"]),
            "energy_high_j",
            "energy_j",
        )
    elif spec is STORAGE:
        add(
            "period_end_utc",
            "must not be before period_start_utc",
            lambda: pc.less(cols["period_end_utc"], cols["period_start_utc"]),
            "period_end_utc",
            "period_start_utc",
        )
    elif spec is READINGS:
        add(
            "cumulative_j",
            "give cumulative_j or power_w (or both)",
            lambda: pc.and_(pc.is_null(cols["cumulative_j"]), pc.is_null(cols["power_w"])),
            "cumulative_j",
            "power_w",
        )
    elif spec is INTENSITY:
        add(
            "low_g_per_kwh",
            "must not exceed value_g_per_kwh",
            lambda: pc.greater(cols["low_g_per_kwh"], cols["value_g_per_kwh"]),
            "low_g_per_kwh",
            "value_g_per_kwh",
        )
        add(
            "high_g_per_kwh",
            "must not be below value_g_per_kwh",
            lambda: pc.less(cols["high_g_per_kwh"], cols["value_g_per_kwh"]),
            "high_g_per_kwh",
            "value_g_per_kwh",
        )


# --------------------------------------------------------------------- canonical JSON
def _canon(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value!r} is not a finite number (JSON has no NaN/inf)", field=path)
        return value
    if isinstance(value, np.generic):
        return _canon(value.item(), path)
    if isinstance(value, datetime):
        return format_utc(value, field=path)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InputError(f"object keys must be strings, got {k!r}", field=path)
            out[k] = _canon(v, f"{path}.{k}" if path else k)
        return out
    if isinstance(value, list | tuple):
        return [_canon(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise InputError(f"{type(value).__name__} is not JSON data", field=path or "inputs")


def canonical_json(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8, shortest round-trip floats, no NaN.

    Times become ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC; tuples become lists; numpy
    scalars become Python numbers.  The same data always gives the same text.
    """
    return json.dumps(
        _canon(value, ""),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def run_id_for(fields: Mapping[str, Any]) -> str:
    """``run_`` + 32 hex digits of the SHA-256 of a run's identifying fields (tenant, kind,
    model, system, start, end, source, command): the same run sent twice gets the same id,
    so re-sending it is a no-op."""
    doc = canonical_json(
        {
            k: fields.get(k)
            for k in (
                "tenant",
                "kind",
                "model",
                "system",
                "start_utc",
                "end_utc",
                "source",
                "command",
            )
        }
    )
    return "run_" + hashlib.sha256(doc.encode()).hexdigest()[:32]


def inputs_hash(inputs: Mapping[str, Any], factor_versions: Mapping[str, str]) -> str:
    """SHA-256 (hex) of ``canonical_json({"factor_versions": ..., "inputs": ...})``."""
    return _hash_texts(canonical_json(dict(factor_versions)), canonical_json(dict(inputs)))


def _hash_texts(versions_json: str, inputs_json: str) -> str:
    """:func:`inputs_hash` from the two canonical texts (the document is their join)."""
    doc = '{"factor_versions":' + versions_json + ',"inputs":' + inputs_json + "}"
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


# -------------------------------------------------------------- canonical JSON, columnar
# The same text as canonical_json, built for a whole column at once with Arrow kernels: the
# footprint hot path encodes thousands of rows without a Python object per row.  Each
# json_* function returns a string array of JSON texts (a null entry means "leave the key
# out" inside json_object; JSON null is the text "null").
Texts: TypeAlias = pa.Array | pa.ChunkedArray | str

_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _patch(texts: pa.Array, mask: npt.NDArray[np.bool_], fixed: Sequence[str]) -> pa.Array:
    """``texts`` with the rows of ``mask`` replaced by ``fixed`` (in order)."""
    if not fixed:
        return texts
    return pc.replace_with_mask(texts, pa.array(mask), pa.array(list(fixed), pa.string()))


def _mask(values: Any) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def json_string(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """JSON string literals (``json.dumps(v, ensure_ascii=False)``); null -> ``null``.

    >>> json_string(pa.array(["a", 'say "hi"', None])).to_pylist()
    ['"a"', '"say \\\\"hi\\\\""', 'null']
    """
    arr = _array(values).cast(pa.string())
    out = pc.binary_join_element_wise('"', arr, '"', "")
    needs = _mask(pc.match_substring_regex(arr, _NEEDS_ESCAPE))
    if needs.any():  # quotes, backslashes, control characters: the json module escapes them
        rows = arr.filter(pa.array(needs)).to_pylist()
        out = _patch(out, needs, [json.dumps(v, ensure_ascii=False) for v in rows])
    return pc.fill_null(out, "null")


def json_number(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """JSON numbers as Python's ``repr`` writes a float (shortest round trip); null -> ``null``.

    Arrow's float formatting gives the same shortest digits; it differs from ``repr`` only in
    layout (``100`` for ``100.0``; exponent thresholds), so values whose ``repr`` is plain
    decimal notation (1e-4 <= |x| < 1e16, or 0) take Arrow's text (with ``.0`` added when it
    has no point) and any other value, or one Arrow wrote with an exponent, is formatted by
    ``repr``.  Raises InputError for NaN or infinity (JSON has neither).

    >>> json_number(pa.array([100.0, 0.1, 1e-05, 2.5e16, None])).to_pylist()
    ['100.0', '0.1', '1e-05', '2.5e+16', 'null']
    """
    arr = _array(values).cast(pa.float64())
    finite = pc.is_finite(arr)
    if pc.any(pc.invert(pc.fill_null(finite, True))).as_py():
        raise InputError("NaN or infinity is not JSON data", field="inputs")
    text = arr.cast(pa.string())
    mag = pc.abs(arr)
    plain = pc.or_(pc.and_(pc.greater_equal(mag, 1e-4), pc.less(mag, 1e16)), pc.equal(mag, 0.0))
    arrow_ok = pc.and_(plain, pc.invert(pc.match_substring(text, "e")))
    text = pc.if_else(
        pc.match_substring(text, "."), text, pc.binary_join_element_wise(text, ".0", "")
    )
    slow = _mask(pc.and_(pc.invert(arrow_ok), pc.is_valid(arr)))
    if slow.any():
        text = _patch(text, slow, list(map(float.__repr__, arr.filter(pa.array(slow)).to_pylist())))
    return pc.fill_null(text, "null")


def json_bool(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``true``/``false``; null -> ``null``."""
    return pc.fill_null(pc.if_else(_array(values), "true", "false"), "null")


#: The years ``datetime.isoformat`` writes with four digits, as microsecond ticks.
_YEAR_1000_US = int(np.datetime64("1000-01-01T00:00:00", "us").astype(np.int64))
_YEAR_10000_US = int(np.datetime64("9999-12-31T23:59:59.999999", "us").astype(np.int64)) + 1


def json_time(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """UTC times as canonical_json writes them: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``."""
    arr = _array(values)
    if not pa.types.is_timestamp(arr.type) or arr.type.tz is None:
        raise InputError(f"expected timezone-aware timestamps, got {arr.type}", field="time")
    us = arr.cast(TS)
    ticks = np.asarray(
        pc.fill_null(us.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    whole = ticks % 1_000_000 == 0  # isoformat leaves out a zero fraction
    every_whole = bool(whole.all())
    text = pa.array(
        np.datetime_as_string(ticks.view("datetime64[us]"), unit="s" if every_whole else "us"),
        pa.string(),
        mask=np.asarray(us.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if us.null_count
        else None,
    )
    if not every_whole and whole.any():
        text = pc.replace_substring_regex(text, pattern=r"\.000000$", replacement="")
    text = pc.binary_join_element_wise('"', text, 'Z"', "")
    odd = (ticks < _YEAR_1000_US) | (ticks >= _YEAR_10000_US)
    if us.null_count:
        odd &= np.asarray(us.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if odd.any():  # datetime.isoformat pads years below 1000; keep its text exactly
        text = _patch(
            text, odd, [json.dumps(_canon(t, "time")) for t in us.filter(pa.array(odd)).to_pylist()]
        )
    return pc.fill_null(text, "null") if text.null_count else text


def json_object(fields: Mapping[str, Texts], length: int) -> pa.Array:
    """One canonical JSON object per row from encoded member texts (keys sorted).

    A member is an array of JSON texts (a null entry leaves the key out of that row) or one
    text for every row.  ``length`` is the number of rows.

    >>> json_object({"b": json_number(pa.array([1.5, 2.0])), "a": '"x"'}, 2).to_pylist()
    ['{"a":"x","b":1.5}', '{"a":"x","b":2.0}']
    """
    cols: list[Any] = []
    for key in sorted(fields):
        value = fields[key]
        head = json.dumps(key, ensure_ascii=False) + ":"
        cols.append(
            head + value
            if isinstance(value, str)
            else pc.binary_join_element_wise(head, _array(value), "")
        )
    if not any(isinstance(col, pa.Array) for col in cols):
        return pa.array(["{" + ",".join(cols) + "}"] * length, pa.string())
    body = pc.binary_join_element_wise(*cols, ",", null_handling="skip")
    return pc.binary_join_element_wise("{", body, "}", "")


def _sha256_hex(texts: pa.Array) -> list[str]:
    """SHA-256 (hex) of each row's UTF-8 text: one hash per row, read straight from the
    Arrow buffers (no Python string per row)."""
    arr = _array(texts).cast(pa.large_string())
    n = len(arr)
    if n == 0:
        return []
    if arr.null_count:
        raise LedgerError("cannot hash a null text")
    offsets = np.frombuffer(
        arr.buffers()[1], dtype=np.int64, count=n + 1, offset=arr.offset * 8
    ).tolist()
    data = memoryview(arr.buffers()[2] or b"")
    sha = hashlib.sha256
    return [sha(data[a:b]).hexdigest() for a, b in pairwise(offsets)]


def _per_row_join(row: npt.NDArray[np.intp], texts: pa.Array, n: int, sep: str) -> pa.Array:
    """Join the texts of each row (``row`` sorted ascending) with ``sep``; "" for none."""
    counts = np.bincount(row, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), texts)
    return pc.fill_null(pc.binary_join(lists, sep), "")


def build_footprints(
    *,
    tenant: pa.Array | pa.ChunkedArray,
    period_start_utc: pa.Array | pa.ChunkedArray,
    period_end_utc: pa.Array | pa.ChunkedArray,
    computed_utc: datetime,
    calculator: str,
    energy_j: pa.Array | pa.ChunkedArray,
    inputs_json: pa.Array,
    factor_versions_json: pa.Array,
    items: pa.Table,
    totals: pa.Table,
    event_id: pa.Array | pa.ChunkedArray | None = None,
    aggregate_key: pa.Array | pa.ChunkedArray | None = None,
    supersedes: pa.Array | pa.ChunkedArray | None = None,
) -> FootprintBatch:
    """Footprint records for a whole batch, as Arrow tables (the columnar form of
    :meth:`FootprintRecord.create`; the same ids and hashes for the same content).

    ``inputs_json`` and ``factor_versions_json`` hold each row's canonical JSON text (built
    with :func:`json_object` and friends: it must equal ``canonical_json`` of the parsed
    value, or ``audit verify`` reports the hash as tampered).  ``items`` has a ``row`` column
    (the footprint's row, ascending; line items in order within a row) and the line-item
    columns of ``footprint_items`` but ``footprint_id`` and ``position``; ``totals`` has
    ``row`` and the columns of ``footprint_totals`` but ``footprint_id``.  Computes, once per
    row, ``inputs_hash``, ``footprint_id`` (``fp_`` + 32 hex digits of the SHA-256 of
    ``[event_id, aggregate_key, tenant, inputs_hash, supersedes]``) and ``record_hash``
    (:meth:`FootprintRecord.record_hash`).
    """
    n = len(tenant)
    nulls = pa.nulls(n, pa.string())
    ev = _array(event_id) if event_id is not None else nulls
    agg = _array(aggregate_key) if aggregate_key is not None else nulls
    sup = _array(supersedes) if supersedes is not None else nulls
    ten = _array(tenant)
    start, end = _array(period_start_utc).cast(TS), _array(period_end_utc).cast(TS)
    energy = _array(energy_j).cast(pa.float64())
    if len(inputs_json) != n or len(factor_versions_json) != n:
        raise InputError(
            "inputs_json and factor_versions_json need one text per row", field="footprints"
        )
    if computed_utc.utcoffset() is None:
        raise InputError("must be a timezone-aware datetime", field="computed_utc")
    doc = pc.binary_join_element_wise(
        '{"factor_versions":',
        _array(factor_versions_json),
        ',"inputs":',
        _array(inputs_json),
        "}",
        "",
    )
    h = pa.array(_sha256_hex(doc), pa.string())
    j_ev, j_agg, j_sup, j_ten = (json_string(a) for a in (ev, agg, sup, ten))
    quoted_h = pc.binary_join_element_wise('"', h, '"', "")
    subject = pc.binary_join_element_wise(
        "[", j_ev, ",", j_agg, ",", j_ten, ",", quoted_h, ",", j_sup, "]", ""
    )
    fid = pc.binary_join_element_wise(
        "fp_", pc.utf8_slice_codeunits(pa.array(_sha256_hex(subject), pa.string()), 0, 32), ""
    )
    # line items and totals, keyed by footprint id
    row_i = np.asarray(items.column("row").to_numpy(zero_copy_only=False), dtype=np.intp)
    row_t = np.asarray(totals.column("row").to_numpy(zero_copy_only=False), dtype=np.intp)
    if (np.diff(row_i) < 0).any() or (np.diff(row_t) < 0).any():
        raise InputError("items and totals must be ordered by row", field="footprints")
    outside = [r for r in (row_i, row_t) if len(r) and (r[0] < 0 or r[-1] >= n)]
    if outside:
        raise InputError("an item or total names a row outside the batch", field="footprints")
    starts = np.searchsorted(row_i, row_i, side="left")
    position = np.arange(len(row_i), dtype=np.int64) - starts
    idx_i, idx_t = pa.array(row_i), pa.array(row_t)
    it = pa.table(
        {
            "footprint_id": fid.take(idx_i),
            "position": pa.array(position, pa.int64()),
            **{c: items.column(c) for c in FOOTPRINT_ITEMS.names[2:]},
        }
    )
    it = it.select(list(FOOTPRINT_ITEMS.names)).cast(FOOTPRINT_ITEMS.arrow_schema)
    tt = pa.table(
        {
            "footprint_id": fid.take(idx_t),
            **{c: totals.column(c) for c in FOOTPRINT_TOTALS.names[1:]},
        }
    )
    tt = tt.select(list(FOOTPRINT_TOTALS.names)).cast(FOOTPRINT_TOTALS.arrow_schema)
    # record hash: canonical JSON of the record but its computation and ingest times
    num = json_number
    item_text = json_object(
        {
            "basis": json_string(it.column("basis")),
            "emissions_g": num(it.column("emissions_g")),
            "energy_j": num(it.column("energy_j")),
            "high_g": num(it.column("high_g")),
            "in_total": json_bool(it.column("in_total")),
            "label": json_string(it.column("label")),
            "low_g": num(it.column("low_g")),
            "name": json_string(it.column("name")),
            "p50_g": num(it.column("p50_g")),
            "scope": json_string(it.column("scope")),
            "source": json_string(it.column("source")),
        },
        it.num_rows,
    )
    total_text = pc.binary_join_element_wise(
        json_string(tt.column("basis")),
        ":",
        json_object(
            {
                "high_g": num(tt.column("high_g")),
                "low_g": num(tt.column("low_g")),
                "p50_g": num(tt.column("p50_g")),
                "value_g": num(tt.column("value_g")),
            },
            tt.num_rows,
        ),
        "",
    )
    order_t = (
        np.lexsort((np.asarray(tt.column("basis").to_pylist(), dtype=object).astype(str), row_t))
        if tt.num_rows
        else np.zeros(0, np.intp)
    )
    figures = json_object(
        {
            "energy_j": num(energy),
            "line_items": pc.binary_join_element_wise(
                "[", _per_row_join(row_i, item_text, n, ","), "]", ""
            ),
            "totals": pc.binary_join_element_wise(
                "{",
                _per_row_join(row_t[order_t], total_text.take(pa.array(order_t)), n, ","),
                "}",
                "",
            ),
        },
        n,
    )
    record = json_object(
        {
            "aggregate_key": j_agg,
            "calculator": json.dumps(calculator, ensure_ascii=False),
            "event_id": j_ev,
            "figures": figures,
            "footprint_id": pc.binary_join_element_wise('"', fid, '"', ""),
            "inputs_hash": quoted_h,
            "period_end_utc": json_time(end),
            "period_start_utc": json_time(start),
            "supersedes": j_sup,
            "tenant": j_ten,
        },
        n,
    )
    fp = pa.table(
        {
            "footprint_id": fid,
            "tenant": ten,
            "event_id": ev,
            "aggregate_key": agg,
            "period_start_utc": start,
            "period_end_utc": end,
            "computed_utc": pa.repeat(pa.scalar(computed_utc.astimezone(UTC), TS), n),
            "calculator": pa.repeat(pa.scalar(calculator, pa.string()), n),
            "energy_j": energy,
            "factor_versions_json": _array(factor_versions_json),
            "inputs_json": _array(inputs_json),
            "inputs_hash": h,
            "record_hash": pa.array(_sha256_hex(record), pa.string()),
            "supersedes": sup,
        }
    ).cast(FOOTPRINTS.arrow_schema)
    return FootprintBatch(fp, it, tt, hashes_checked=True)


# ----------------------------------------------------------------- footprint records
def _finite(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise InputError(f"{value!r} is not a number", field=what)
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{v!r} is not a finite number", field=what)
    return v


@dataclass(frozen=True, slots=True)
class LineItemRecord:
    """One stored line item [g CO2e]: central value, p5..p95 range, provenance and scope."""

    name: str
    emissions_g: float
    low_g: float
    high_g: float
    label: str
    source: str
    scope: str
    in_total: bool
    basis: str | None = None
    p50_g: float | None = None
    energy_j: float | None = None

    def __post_init__(self) -> None:
        for f in ("emissions_g", "low_g", "high_g", "p50_g", "energy_j"):
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, _finite(v, f"line_items.{self.name}.{f}"))
        for f in ("name", "label", "source", "scope"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f):
                raise InputError("must be a non-empty string", field=f"line_items.{f}")

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class TotalRecord:
    """A footprint total for one basis [g CO2e]: central value and p5..p95 (p50) range."""

    value_g: float
    low_g: float
    high_g: float
    p50_g: float | None = None

    def __post_init__(self) -> None:
        for f in ("value_g", "low_g", "high_g", "p50_g"):
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, _finite(v, f"totals.{f}"))

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True)
class FootprintFigures:
    """The numbers of a footprint: what is stored, and what a recompute must reproduce."""

    energy_j: float
    line_items: tuple[LineItemRecord, ...]
    totals: Mapping[str, TotalRecord]  # basis ("location", "market", ...) -> total

    def __post_init__(self) -> None:
        object.__setattr__(self, "energy_j", _finite(self.energy_j, "energy_j"))
        object.__setattr__(self, "line_items", tuple(self.line_items))
        object.__setattr__(self, "totals", dict(self.totals))
        names = [li.name for li in self.line_items]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise InputError(f"duplicate line item name(s): {', '.join(dup)}", field="line_items")

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_j": self.energy_j,
            "line_items": [li.to_dict() for li in self.line_items],
            "totals": {k: v.to_dict() for k, v in sorted(self.totals.items())},
        }

    @classmethod
    def from_footprint(cls, fp: Footprint) -> FootprintFigures:
        """From an :class:`infercarbon.accounting.Footprint` (read by attribute).

        Uses ``fp.energy_j``, ``fp.line_items`` (name, emissions_g, low_g, high_g, p50_g,
        label, source, scope, basis, in_total, energy_j) and ``fp.totals_g`` (basis ->
        (point, p5, p50, p95)).
        """
        items = tuple(
            LineItemRecord(
                name=li.name,
                emissions_g=li.emissions_g,
                low_g=li.low_g,
                high_g=li.high_g,
                label=li.label,
                source=li.source,
                scope=li.scope,
                in_total=bool(li.in_total),
                basis=getattr(li, "basis", None),
                p50_g=getattr(li, "p50_g", None),
                energy_j=getattr(li, "energy_j", None),
            )
            for li in fp.line_items
        )
        totals = {
            basis: TotalRecord(value_g=t.point_g, low_g=t.p5_g, p50_g=t.p50_g, high_g=t.p95_g)
            for basis, t in fp.totals_g.items()
        }
        return cls(energy_j=fp.energy_j, line_items=items, totals=totals)


@dataclass(frozen=True)
class FootprintRecord:
    """A stored footprint and its whole derivation.

    Build one with :meth:`create`, which canonicalises the inputs and computes the hash.
    Exactly one of ``event_id`` / ``aggregate_key`` names the subject.  ``supersedes`` names
    a footprint of the same subject that this one replaces (e.g. after a factor update).
    """

    footprint_id: str
    tenant: str
    event_id: str | None
    aggregate_key: str | None
    period_start_utc: datetime
    period_end_utc: datetime
    computed_utc: datetime
    calculator: str
    factor_versions: Mapping[str, str]
    inputs: Mapping[str, Any]
    inputs_hash: str
    figures: FootprintFigures
    supersedes: str | None = None
    ingested_utc: datetime | None = field(default=None, compare=False)

    @classmethod
    def create(
        cls,
        *,
        tenant: str,
        inputs: Mapping[str, Any],
        factor_versions: Mapping[str, str],
        figures: FootprintFigures,
        period_start_utc: datetime,
        period_end_utc: datetime,
        computed_utc: datetime,
        calculator: str,
        event_id: str | None = None,
        aggregate_key: str | None = None,
        footprint_id: str | None = None,
        supersedes: str | None = None,
    ) -> FootprintRecord:
        """Canonicalise ``inputs`` (JSON data), hash them with the versions, and validate.

        ``footprint_id`` defaults to ``fp_`` + the first 32 hex digits of the SHA-256 of
        the subject, the inputs hash and ``supersedes``: the same computation gets the same id,
        so re-sending it is a no-op.
        """
        text = canonical_json(inputs)
        canon_inputs = json.loads(text)
        versions = {str(k): str(v) for k, v in factor_versions.items()}
        h = _hash_texts(canonical_json(versions), text)
        if footprint_id is None:
            subject = canonical_json([event_id, aggregate_key, tenant, h, supersedes])
            footprint_id = "fp_" + hashlib.sha256(subject.encode()).hexdigest()[:32]
        rec = cls(
            footprint_id,
            tenant,
            event_id,
            aggregate_key,
            period_start_utc,
            period_end_utc,
            computed_utc,
            calculator,
            versions,
            canon_inputs,
            h,
            figures,
            supersedes,
        )
        rec.check(inputs_checked=True)
        return rec

    def check(self, *, inputs_checked: bool = False) -> None:
        """Raise :class:`~infercarbon.errors.InputError` naming the first bad field.

        ``inputs_checked`` skips recomputing ``inputs_hash`` (the caller just computed it).
        """
        for f in ("footprint_id", "tenant", "calculator"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f):
                raise InputError("must be a non-empty string", field=f)
        if (self.event_id is None) == (self.aggregate_key is None):
            raise InputError(
                "give exactly one of event_id (an inference) or aggregate_key", field="event_id"
            )
        for f in ("period_start_utc", "period_end_utc", "computed_utc"):
            v = getattr(self, f)
            if not isinstance(v, datetime) or v.utcoffset() is None:
                raise InputError("must be a timezone-aware datetime", field=f)
        if self.period_end_utc < self.period_start_utc:
            raise InputError("must not be before period_start_utc", field="period_end_utc")
        if self.supersedes == self.footprint_id:
            raise InputError("a footprint cannot supersede itself", field="supersedes")
        if not inputs_checked and (
            inputs_hash(self.inputs, self.factor_versions) != self.inputs_hash
        ):
            raise InputError("does not match the inputs and factor versions", field="inputs_hash")
        if self.figures.energy_j < 0:
            raise InputError("must not be negative", field="energy_j")

    def record_hash(self) -> str:
        """SHA-256 of the record's content: everything but when it was computed and ingested.

        A pure function of the subject, inputs hash, calculator and figures, so the same
        footprint sent again later (another ``computed_utc``) is a duplicate, not a conflict.
        """
        doc = canonical_json(
            {
                "footprint_id": self.footprint_id,
                "tenant": self.tenant,
                "event_id": self.event_id,
                "aggregate_key": self.aggregate_key,
                "period_start_utc": self.period_start_utc,
                "period_end_utc": self.period_end_utc,
                "calculator": self.calculator,
                "inputs_hash": self.inputs_hash,
                "figures": self.figures.to_dict(),
                "supersedes": self.supersedes,
            }
        )
        return hashlib.sha256(doc.encode()).hexdigest()

    def derivation(self) -> dict[str, Any]:
        """The whole derivation as JSON data (what ``audit show`` prints)."""
        return {
            "footprint_id": self.footprint_id,
            "tenant": self.tenant,
            "subject": (
                {"event_id": self.event_id}
                if self.event_id is not None
                else {"aggregate_key": self.aggregate_key}
            ),
            "period_start_utc": _iso(self.period_start_utc),
            "period_end_utc": _iso(self.period_end_utc),
            "computed_utc": _iso(self.computed_utc),
            "ingested_utc": None if self.ingested_utc is None else _iso(self.ingested_utc),
            "calculator": self.calculator,
            "factor_versions": dict(self.factor_versions),
            "inputs": dict(self.inputs),
            "inputs_hash": self.inputs_hash,
            "inputs_hash_algorithm": "sha256 of canonical JSON "
            '{"factor_versions": ..., "inputs": ...}',
            "supersedes": self.supersedes,
            **self.figures.to_dict(),
        }


_iso = format_utc


def conform_tables(batch: Any, specs: Sequence[tuple[str, TableSpec]]) -> None:
    """Check that each table attribute of a frozen batch has its spec's columns, in order,
    and cast it to the spec's types in place; InputError names the attribute."""
    for name, spec in specs:
        t = getattr(batch, name)
        if not isinstance(t, pa.Table) or t.column_names != list(spec.names):
            raise InputError(f"expected a table with columns {', '.join(spec.names)}", field=name)
        if t.schema != spec.arrow_schema:
            try:
                object.__setattr__(batch, name, t.cast(spec.arrow_schema))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(f"{exc}", field=name) from exc


@dataclass(frozen=True)
class FootprintBatch:
    """Footprints of a batch as three Arrow tables: ``footprints``, their line ``items`` and
    ``totals`` (the ledger's table layouts).  Build one with :func:`build_footprints`
    (columnar, the ingest hot path) or :meth:`from_records`.
    """

    footprints: pa.Table
    items: pa.Table
    totals: pa.Table
    #: True when the builder computed (or verified) every ``inputs_hash`` from the texts
    #: itself, so :meth:`check` need not hash them again.
    hashes_checked: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        conform_tables(
            self,
            (("footprints", FOOTPRINTS), ("items", FOOTPRINT_ITEMS), ("totals", FOOTPRINT_TOTALS)),
        )

    @property
    def num_rows(self) -> int:
        return int(self.footprints.num_rows)

    @classmethod
    def from_records(cls, records: Sequence[FootprintRecord]) -> FootprintBatch:
        """The tables of ``records`` (each checked; canonical JSON computed once per record)."""
        fp_rows: list[dict[str, Any]] = []
        item_rows: list[dict[str, Any]] = []
        total_rows: list[dict[str, Any]] = []
        for i, r in enumerate(records):
            if not isinstance(r, FootprintRecord):
                raise InputError(
                    f"expected a FootprintRecord, got {type(r).__name__}", field=f"footprints[{i}]"
                )
            versions_json = canonical_json(dict(r.factor_versions))
            inputs_json = canonical_json(dict(r.inputs))
            try:
                r.check(inputs_checked=True)
                if _hash_texts(versions_json, inputs_json) != r.inputs_hash:
                    raise InputError(
                        "does not match the inputs and factor versions", field="inputs_hash"
                    )
            except InputError as exc:
                raise InputError(str(exc), field=f"footprints[{i}].{exc.field}") from exc
            fid = r.footprint_id
            fp_rows.append(
                {
                    "footprint_id": fid,
                    "tenant": r.tenant,
                    "event_id": r.event_id,
                    "aggregate_key": r.aggregate_key,
                    "period_start_utc": r.period_start_utc.astimezone(UTC),
                    "period_end_utc": r.period_end_utc.astimezone(UTC),
                    "computed_utc": r.computed_utc.astimezone(UTC),
                    "calculator": r.calculator,
                    "energy_j": r.figures.energy_j,
                    "factor_versions_json": versions_json,
                    "inputs_json": inputs_json,
                    "inputs_hash": r.inputs_hash,
                    "record_hash": r.record_hash(),
                    "supersedes": r.supersedes,
                }
            )
            item_rows.extend(
                {"footprint_id": fid, "position": j, **li.to_dict()}
                for j, li in enumerate(r.figures.line_items)
            )
            total_rows.extend(
                {"footprint_id": fid, "basis": b, **t.to_dict()}
                for b, t in sorted(r.figures.totals.items())
            )
        return cls(
            pa.Table.from_pylist(fp_rows, schema=FOOTPRINTS.arrow_schema),
            pa.Table.from_pylist(item_rows, schema=FOOTPRINT_ITEMS.arrow_schema),
            pa.Table.from_pylist(total_rows, schema=FOOTPRINT_TOTALS.arrow_schema),
            hashes_checked=True,
        )

    def filter(self, keep: npt.ArrayLike) -> FootprintBatch:
        """The footprints where ``keep`` (a boolean per footprint row), with their items."""
        mask = pa.array(np.asarray(keep, dtype=bool))
        fp = self.footprints.filter(mask)
        ids = fp.column("footprint_id")
        return FootprintBatch(
            fp,
            self.items.filter(pc.is_in(self.items.column("footprint_id"), value_set=ids)),
            self.totals.filter(pc.is_in(self.totals.column("footprint_id"), value_set=ids)),
            hashes_checked=self.hashes_checked,
        )

    def check(self) -> None:
        """Vectorised checks of every row; raise EventValidationError naming row and field.

        Column types and constraints (:func:`validate_rows`), exactly one subject,
        ``period_end_utc >= period_start_utc``, no self-supersession, ``inputs_hash`` =
        SHA-256 of the stored texts, and items/totals that belong to a footprint here.
        """
        fp = validate_rows(FOOTPRINTS, self.footprints)
        validate_rows(FOOTPRINT_ITEMS, self.items)
        validate_rows(FOOTPRINT_TOTALS, self.totals)
        problems: list[Problem] = []
        both = pc.equal(pc.is_null(fp.column("event_id")), pc.is_null(fp.column("aggregate_key")))
        problems.extend(
            Problem(i, "event_id", "give exactly one of event_id (an inference) or aggregate_key")
            for i in _bad_indices(both)
        )
        if not self.hashes_checked:
            doc = pc.binary_join_element_wise(
                '{"factor_versions":',
                fp.column("factor_versions_json"),
                ',"inputs":',
                fp.column("inputs_json"),
                "}",
                "",
            )
            h = pa.array(_sha256_hex(_array(doc)), pa.string())
            problems.extend(
                Problem(i, "inputs_hash", "does not match the inputs and factor versions")
                for i in _bad_indices(pc.not_equal(h, fp.column("inputs_hash")))
            )
        for name, t in (("items", self.items), ("totals", self.totals)):
            orphan = pc.invert(
                pc.is_in(t.column("footprint_id"), value_set=fp.column("footprint_id"))
            )
            problems.extend(
                Problem(i, f"{name}.footprint_id", "is not a footprint of this batch")
                for i in _bad_indices(orphan)
            )
        if problems:
            problems.sort(key=lambda p: (p.index, p.field))
            raise EventValidationError(
                "footprints", problems[:_MAX_PROBLEMS], more=max(0, len(problems) - _MAX_PROBLEMS)
            )
