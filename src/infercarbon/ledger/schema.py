"""The ledger's tables, their validation, and the footprint record with its input hash.

Four append-only tables hold what the ledger knows (every timestamp is UTC, every quantity in
joules, watts, grams or g/kWh as its name says):

``events``
    one row per inference: ``event_id`` (primary key), ``start_utc``, ``end_utc``, ``service``,
    ``tenant``, ``model``, ``region``, ``device``, ``energy_j``, ``attribution_method``,
    optional ``batch_id``, ``tokens_in``, ``tokens_out``, ``payload_bytes``, ``outcome``, and
    ``supersedes`` (the id of the event this row corrects).  The store adds ``ingested_utc``.
``readings``
    device energy readings: ``device``, ``t_utc``, ``cumulative_j`` and/or ``power_w``,
    ``source``, ``method``; key (device, t_utc, source).
``intensity``
    grid-intensity snapshots: ``region``, ``kind``, ``basis``, ``interval_start_utc``,
    ``resolution_s``, ``value_g_per_kwh`` with optional ``low_g_per_kwh``/``high_g_per_kwh``,
    ``source``, ``version``, ``retrieved_utc``; the key is all of these but the values, so a
    re-fetch is a new snapshot and re-sending the same snapshot is a no-op.
``footprints`` (+ ``footprint_items``, ``footprint_totals``)
    a computed footprint: its subject (an ``event_id`` or an ``aggregate_key``), the inputs it
    was computed from as canonical JSON, the versions of the factors and data used, the SHA-256
    of both (:func:`inputs_hash`), its line items and totals, and ``supersedes``.

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
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError, LedgerError
from infercarbon.grid.signal import BASES, KINDS

__all__ = [
    "EVENTS",
    "INTENSITY",
    "READINGS",
    "TABLES",
    "Column",
    "EventValidationError",
    "FootprintFigures",
    "FootprintRecord",
    "LedgerConflictError",
    "LineItemRecord",
    "Problem",
    "TableSpec",
    "TotalRecord",
    "canonical_json",
    "inputs_hash",
    "validate_rows",
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
        first = self.problems[0]
        shown = "; ".join(f"{table}{p}" for p in self.problems[:20])
        extra = len(self.problems) - 20 + more
        tail = f"; and {extra} more" if extra > 0 else ""
        super().__init__(
            f"{len(self.problems) + more} invalid field(s), nothing written: {shown}{tail}",
            field=f"{table}[{first.index}].{first.field}",
        )


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

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow, nullable=not c.required)
                          for c in self.columns])

    @property
    def stored_schema(self) -> pa.Schema:
        s = self.arrow_schema
        return s.append(pa.field("ingested_utc", TS, nullable=False)) if self.ingested else s

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _s(name: str, required: bool = True, choices: tuple[str, ...] = ()) -> Column:
    return Column(name, pa.string(), required, None, choices)


EVENTS = TableSpec(
    "events", "events",
    (
        _s("event_id"),
        Column("start_utc", TS),
        Column("end_utc", TS),
        _s("service"), _s("tenant"), _s("model"), _s("region"), _s("device"),
        Column("energy_j", pa.float64(), check="nonneg"),
        _s("attribution_method"),
        _s("batch_id", False),
        Column("tokens_in", pa.int64(), False, "nonneg"),
        Column("tokens_out", pa.int64(), False, "nonneg"),
        Column("payload_bytes", pa.int64(), False, "nonneg"),
        _s("outcome", False),
        _s("supersedes", False),
    ),
    key=("event_id",),
)

READINGS = TableSpec(
    "readings", "readings",
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
    "intensity", "intensity",
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
    ),
    key=("region", "kind", "basis", "interval_start_utc", "resolution_s", "source", "version",
         "retrieved_utc"),
)

FOOTPRINTS = TableSpec(
    "footprints", "footprints",
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
)

FOOTPRINT_ITEMS = TableSpec(
    "footprint_items", "footprint_items",
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
    "footprint_totals", "footprint_totals",
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

#: Every table, by name.
TABLES: dict[str, TableSpec] = {
    t.name: t for t in (EVENTS, READINGS, INTENSITY, FOOTPRINTS, FOOTPRINT_ITEMS,
                        FOOTPRINT_TOTALS)
}


# ------------------------------------------------------------------------- validation
_MAX_PROBLEMS = 200


def _first_bad(values: Sequence[Any], ok: type | tuple[type, ...]) -> int:
    """Index of the first value that is neither None nor of type ``ok`` (error path only)."""
    for i, v in enumerate(values):
        if v is not None and (isinstance(v, bool) or not isinstance(v, ok)):
            return i
    return 0


def _column_from_rows(rows: Sequence[Mapping[str, Any]], name: str) -> pa.Array:
    return pa.array([r.get(name) for r in rows])


def _as_table(spec: TableSpec, rows: pa.Table | Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows (list of dicts, e.g. decoded JSON) or an Arrow table, as an Arrow table."""
    if isinstance(rows, pa.Table):
        return rows
    if isinstance(rows, Mapping | str | bytes):
        raise InputError(f"expected a list of {spec.row} objects, got a single "
                         f"{type(rows).__name__}", field=spec.row)
    rows = list(rows)
    if not rows:
        return pa.table({})
    try:
        # a struct array infers its fields from the keys of *every* row (from_pylist would
        # look at the first row only and silently drop unknown keys of later rows)
        table = pa.Table.from_struct_array(pa.array(rows))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, AttributeError):
        pass  # mixed types or non-objects: build column by column below to name the bad one
    else:
        # Arrow turns true/false into 1.0/0.0 in a column of floats; JSON booleans are not
        # numbers, so look for them (a C-level map over the column, no per-row Python code)
        for col in spec.columns:
            if col.kind == "float" and col.name in table.column_names:
                values = [r.get(col.name) for r in rows]
                if bool in set(map(type, values)):
                    i = _first_bad(values, (int, float))
                    raise EventValidationError(spec.row, [Problem(
                        i, col.name, f"has type bool; expected {_expect(col)}")])
        return table
    bad = [i for i, r in enumerate(rows) if not isinstance(r, Mapping)]
    if bad:
        raise EventValidationError(spec.row, [Problem(i, "*", "must be an object")
                                              for i in bad[:_MAX_PROBLEMS]])
    keys: set[str] = set().union(*rows) if rows else set()
    arrays, names, problems = [], [], []
    for name in sorted(keys):
        try:
            arrays.append(_column_from_rows(rows, name))
            names.append(name)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            values = [r.get(name) for r in rows]
            known = spec.column(name) if name in spec.names else None
            accepted: dict[str, type | tuple[type, ...]] = {
                "float": (int, float), "int": int, "string": str, "bool": bool,
                "timestamp": (str, datetime),
            }
            ok = accepted[known.kind] if known else str
            i = _first_bad(values, ok)
            problems.append(Problem(i, name, f"has type {type(values[i]).__name__}; "
                                             f"expected {_expect(known)}"))
    if problems:
        raise EventValidationError(spec.row, problems)
    return pa.table(arrays, names=names)


def _expect(col: Column | None) -> str:
    if col is None:
        return "a known field"
    return {
        "float": "a number", "int": "an integer", "string": "a string", "bool": "true/false",
        "timestamp": "an ISO 8601 time with a zone offset (e.g. 2026-07-01T12:00:00Z)",
    }[col.kind]


def _bad_indices(mask: pa.Array | pa.ChunkedArray) -> list[int]:
    arr = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
    return [int(i) for i in np.flatnonzero(arr)[:_MAX_PROBLEMS]]


def _coerce(col: Column, arr: pa.ChunkedArray, n: int, row: str,
            problems: list[Problem]) -> pa.ChunkedArray | None:
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
        "timestamp": pa.types.is_string(t) or pa.types.is_large_string(t)
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
        what = ("a time without a zone offset" if pa.types.is_timestamp(t)
                else f"type {t}")
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


def validate_rows(spec: TableSpec, rows: pa.Table | Sequence[Mapping[str, Any]]) -> pa.Table:
    """Validate and normalise a batch for ``spec``; raise :class:`EventValidationError`.

    Checks, vectorised over the batch: known fields only; every required field present and
    non-null; strings non-empty (absent optional fields are null, never ``""``); types
    (numbers, whole numbers, ISO 8601 times *with* a zone offset, converted to UTC);
    numbers finite and non-negative where the unit requires it; ``end_utc >= start_utc``;
    choices (``kind``, ``basis``); a reading has ``cumulative_j`` or ``power_w``; an intensity
    range brackets its value.  Returns a table with exactly ``spec.arrow_schema``.
    """
    table = _as_table(spec, rows)
    n = table.num_rows
    problems: list[Problem] = []
    unknown = sorted(set(table.column_names) - set(spec.names))
    problems.extend(Problem((_bad_indices(pc.is_valid(table.column(u))) or [0])[0], u,
                            f"unknown field; known fields: {', '.join(spec.names)}")
                    for u in unknown)
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
            problems.extend(Problem(i, col.name, "is required")
                            for i in _bad_indices(pc.is_null(arr)))
        kind = col.kind
        if kind == "string":
            problems.extend(Problem(i, col.name, "must not be empty (omit it or send null)")
                            for i in _bad_indices(pc.equal(pc.utf8_length(arr), 0)))
            if col.choices:
                bad = pc.invert(pc.is_in(arr, value_set=pa.array(col.choices)))
                problems.extend(Problem(i, col.name, f"must be one of {', '.join(col.choices)}")
                                for i in _bad_indices(pc.and_(bad, pc.is_valid(arr))))
        if kind == "float":
            problems.extend(Problem(i, col.name, "must be a finite number")
                            for i in _bad_indices(pc.invert(pc.is_finite(arr))))
        if col.check == "nonneg":
            problems.extend(Problem(i, col.name, "must not be negative")
                            for i in _bad_indices(pc.less(arr, 0)))
        if col.check == "positive":
            problems.extend(Problem(i, col.name, "must be > 0")
                            for i in _bad_indices(pc.less_equal(arr, 0)))
    _cross_checks(spec, cols, problems)
    if problems:
        problems.sort(key=lambda p: (p.index, p.field))
        raise EventValidationError(spec.row, problems[:_MAX_PROBLEMS],
                                   more=max(0, len(problems) - _MAX_PROBLEMS))
    return pa.table([cols[c.name] for c in spec.columns], schema=spec.arrow_schema)


def _cross_checks(spec: TableSpec, cols: Mapping[str, pa.ChunkedArray],
                  problems: list[Problem]) -> None:
    """Checks across columns, run on the columns that passed their own type checks."""

    def add(field: str, message: str, mask: Any, *needs: str) -> None:
        if all(n in cols for n in needs):
            problems.extend(Problem(i, field, message) for i in _bad_indices(mask()))

    if spec is EVENTS:
        add("end_utc", "must not be before start_utc",
            lambda: pc.less(cols["end_utc"], cols["start_utc"]), "end_utc", "start_utc")
        add("supersedes", "an event cannot supersede itself",
            lambda: pc.equal(cols["supersedes"], cols["event_id"]), "supersedes", "event_id")
    elif spec is READINGS:
        add("cumulative_j", "give cumulative_j or power_w (or both)",
            lambda: pc.and_(pc.is_null(cols["cumulative_j"]), pc.is_null(cols["power_w"])),
            "cumulative_j", "power_w")
    elif spec is INTENSITY:
        add("low_g_per_kwh", "must not exceed value_g_per_kwh",
            lambda: pc.greater(cols["low_g_per_kwh"], cols["value_g_per_kwh"]),
            "low_g_per_kwh", "value_g_per_kwh")
        add("high_g_per_kwh", "must not be below value_g_per_kwh",
            lambda: pc.less(cols["high_g_per_kwh"], cols["value_g_per_kwh"]),
            "high_g_per_kwh", "value_g_per_kwh")


# --------------------------------------------------------------------- canonical JSON
def _canon(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value!r} is not a finite number (JSON has no NaN/inf)",
                             field=path)
        return value
    if isinstance(value, np.generic):
        return _canon(value.item(), path)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError("a time needs a zone offset", field=path)
        return (value - value.utcoffset()).replace(tzinfo=None).isoformat() + "Z"  # type: ignore[operator]
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
    return json.dumps(_canon(value, ""), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)


def inputs_hash(inputs: Mapping[str, Any], factor_versions: Mapping[str, str]) -> str:
    """SHA-256 (hex) of ``canonical_json({"factor_versions": ..., "inputs": ...})``."""
    doc = canonical_json({"factor_versions": dict(factor_versions), "inputs": dict(inputs)})
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


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
            raise InputError(f"duplicate line item name(s): {', '.join(dup)}",
                             field="line_items")

    def to_dict(self) -> dict[str, Any]:
        return {
            "energy_j": self.energy_j,
            "line_items": [li.to_dict() for li in self.line_items],
            "totals": {k: v.to_dict() for k, v in sorted(self.totals.items())},
        }

    @classmethod
    def from_footprint(cls, fp: Any) -> FootprintFigures:
        """From an :class:`infercarbon.accounting.Footprint` (read by attribute).

        Uses ``fp.energy_j``, ``fp.line_items`` (name, emissions_g, low_g, high_g, p50_g,
        label, source, scope, basis, in_total, energy_j) and ``fp.totals_g`` (basis ->
        (point, p5, p50, p95)).
        """
        items = tuple(
            LineItemRecord(name=li.name, emissions_g=li.emissions_g, low_g=li.low_g,
                           high_g=li.high_g, label=li.label, source=li.source, scope=li.scope,
                           in_total=bool(li.in_total), basis=getattr(li, "basis", None),
                           p50_g=getattr(li, "p50_g", None),
                           energy_j=getattr(li, "energy_j", None))
            for li in fp.line_items
        )
        totals = {basis: TotalRecord(value_g=t[0], low_g=t[1], p50_g=t[2], high_g=t[3])
                  for basis, t in fp.totals_g.items()}
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
        canon_inputs = json.loads(canonical_json(inputs))
        versions = {str(k): str(v) for k, v in factor_versions.items()}
        h = inputs_hash(canon_inputs, versions)
        if footprint_id is None:
            subject = canonical_json([event_id, aggregate_key, tenant, h, supersedes])
            footprint_id = "fp_" + hashlib.sha256(subject.encode()).hexdigest()[:32]
        rec = cls(footprint_id, tenant, event_id, aggregate_key, period_start_utc,
                  period_end_utc, computed_utc, calculator, versions, canon_inputs, h, figures,
                  supersedes)
        rec.check()
        return rec

    def check(self) -> None:
        """Raise :class:`~infercarbon.errors.InputError` naming the first bad field."""
        for f in ("footprint_id", "tenant", "calculator"):
            if not isinstance(getattr(self, f), str) or not getattr(self, f):
                raise InputError("must be a non-empty string", field=f)
        if (self.event_id is None) == (self.aggregate_key is None):
            raise InputError("give exactly one of event_id (an inference) or aggregate_key",
                             field="event_id")
        for f in ("period_start_utc", "period_end_utc", "computed_utc"):
            v = getattr(self, f)
            if not isinstance(v, datetime) or v.utcoffset() is None:
                raise InputError("must be a timezone-aware datetime", field=f)
        if self.period_end_utc < self.period_start_utc:
            raise InputError("must not be before period_start_utc", field="period_end_utc")
        if self.supersedes == self.footprint_id:
            raise InputError("a footprint cannot supersede itself", field="supersedes")
        if inputs_hash(self.inputs, self.factor_versions) != self.inputs_hash:
            raise InputError("does not match the inputs and factor versions",
                             field="inputs_hash")
        if self.figures.energy_j < 0:
            raise InputError("must not be negative", field="energy_j")

    def record_hash(self) -> str:
        """SHA-256 of everything but the ingest time: equal records are the same footprint."""
        doc = canonical_json({
            "footprint_id": self.footprint_id, "tenant": self.tenant,
            "event_id": self.event_id, "aggregate_key": self.aggregate_key,
            "period_start_utc": self.period_start_utc, "period_end_utc": self.period_end_utc,
            "computed_utc": self.computed_utc, "calculator": self.calculator,
            "inputs_hash": self.inputs_hash, "figures": self.figures.to_dict(),
            "supersedes": self.supersedes,
        })
        return hashlib.sha256(doc.encode()).hexdigest()

    def derivation(self) -> dict[str, Any]:
        """The whole derivation as JSON data (what ``audit show`` prints)."""
        return {
            "footprint_id": self.footprint_id,
            "tenant": self.tenant,
            "subject": ({"event_id": self.event_id} if self.event_id is not None
                        else {"aggregate_key": self.aggregate_key}),
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


def _iso(t: datetime) -> str:
    off = t.utcoffset() or timedelta(0)
    return (t.replace(tzinfo=None) - off).isoformat() + "Z"
