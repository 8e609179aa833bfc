"""Validation of ledger rows: every table's batch checked at once, every problem named.

:func:`validate_rows` checks a batch (an Arrow table or a list of dicts) against a table's
:class:`~infercarbon.ledger.schema.TableSpec`: column types, required fields, non-negative and
positive figures, choices, text lengths (:data:`MAX_TEXT_CHARS`), representable times, and the
cross-field checks of each table (``end_utc >= start_utc``, low <= value <= high, ...).  It is
vectorised over the whole batch (pyarrow compute, no Python loop per event) and raises
:class:`~infercarbon.errors.EventValidationError` listing every bad field with its row index,
e.g. ``events[3].energy_j``; nothing from a refused batch is written.  :func:`validated`
remembers an accepted table so a store does not check it twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import EventValidationError, InputError, Problem
from infercarbon.ledger.schema import (
    EVENTS,
    FOOTPRINTS,
    INTENSITY,
    READINGS,
    RUNS,
    STORAGE,
    TS,
    Column,
    TableSpec,
)

__all__ = [
    "MAX_TEXT_CHARS",
    "ValidatedRows",
    "validate_rows",
    "validated",
]


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
        problems.extend(_column_problems(spec, col, arr))
    _cross_checks(spec, cols, problems)
    if problems:
        problems.sort(key=lambda p: (p.index, p.field))
        raise EventValidationError(
            spec.row, problems[:_MAX_PROBLEMS], more=max(0, len(problems) - _MAX_PROBLEMS)
        )
    return pa.table([cols[c.name] for c in spec.columns], schema=spec.arrow_schema)


def _column_problems(spec: TableSpec, col: Column, arr: pa.ChunkedArray) -> list[Problem]:
    """The problems of one present column of a batch: required values, empty or over-long
    strings, choices, non-finite numbers, signs, the range of times and of bounded figures."""
    problems: list[Problem] = []
    if col.required:
        problems.extend(Problem(i, col.name, "is required") for i in _bad_indices(pc.is_null(arr)))
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
    return problems


def _cross_checks(
    spec: TableSpec, cols: Mapping[str, pa.ChunkedArray], problems: list[Problem]
) -> None:
    """Checks across columns, run on the columns that passed their own type checks."""

    def add(field: str, message: str, mask: Any, *needs: str) -> None:
        if all(n in cols for n in needs):
            problems.extend(Problem(i, field, message) for i in _bad_indices(mask()))

    def not_before(end: str, start: str) -> None:
        add(end, f"must not be before {start}", lambda: pc.less(cols[end], cols[start]), end, start)

    def not_itself(key: str, what: str) -> None:
        add(
            "supersedes",
            f"{what} cannot supersede itself",
            lambda: pc.equal(cols["supersedes"], cols[key]),
            "supersedes",
            key,
        )

    def bracket(low: str, value: str, high: str) -> None:
        """``low`` <= ``value`` <= ``high`` where given (a p5..p95 band around a figure)."""
        add(low, f"must not exceed {value}", lambda: pc.greater(cols[low], cols[value]), low, value)
        add(
            high,
            f"must not be below {value}",
            lambda: pc.less(cols[high], cols[value]),
            high,
            value,
        )

    if spec is EVENTS:
        not_before("end_utc", "start_utc")
        not_itself("event_id", "an event")
        add(
            "energy_high_j",
            "give energy_low_j and energy_high_j together (the p5..p95 band)",
            lambda: pc.not_equal(
                pc.is_null(cols["energy_low_j"]), pc.is_null(cols["energy_high_j"])
            ),
            "energy_low_j",
            "energy_high_j",
        )
        bracket("energy_low_j", "energy_j", "energy_high_j")
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
        not_before("period_end_utc", "period_start_utc")
        not_itself("footprint_id", "a footprint")
    elif spec is RUNS:
        not_before("end_utc", "start_utc")
        not_itself("run_id", "a run")
        bracket("energy_low_j", "energy_j", "energy_high_j")
    elif spec is STORAGE:
        not_before("period_end_utc", "period_start_utc")
    elif spec is READINGS:
        add(
            "cumulative_j",
            "give cumulative_j or power_w (or both)",
            lambda: pc.and_(pc.is_null(cols["cumulative_j"]), pc.is_null(cols["power_w"])),
            "cumulative_j",
            "power_w",
        )
    elif spec is INTENSITY:
        bracket("low_g_per_kwh", "value_g_per_kwh", "high_g_per_kwh")
