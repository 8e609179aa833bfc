"""Canonical JSON and the footprint input hash: one encoding, row by row or by column.

:func:`canonical_json` writes JSON with sorted keys, no spaces, UTF-8, shortest round-trip
floats and no NaN; times as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` in UTC.  :func:`inputs_hash` is
the SHA-256 of ``{"factor_versions": ..., "inputs": ...}`` in that encoding: what ``audit
verify`` recomputes for every stored footprint.  The ``json_*`` functions write the same text
for a whole Arrow column at once (the ingest hot path encodes thousands of rows without a
Python object per row; tests/ledger/test_batch.py pins them to the row-wise text).

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
from datetime import datetime
from itertools import pairwise
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError, LedgerError
from infercarbon.ledger.schema import TS
from infercarbon.timeutil import format_utc

__all__ = [
    "canonical_json",
    "inputs_hash",
    "json_bool",
    "json_number",
    "json_object",
    "json_string",
    "json_time",
    "run_id_for",
]


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
    # the checks on the values in numpy (one pass each over a float buffer), the text in Arrow
    x = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)  # null -> NaN
    valid = (
        np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if arr.null_count
        else None
    )
    finite = np.isfinite(x)
    if not (finite.all() if valid is None else finite[valid].all()):
        raise InputError("NaN or infinity is not JSON data", field="inputs")
    text = arr.cast(pa.string())
    with np.errstate(invalid="ignore"):
        mag = np.abs(x)
        plain = ((mag >= 1e-4) & (mag < 1e16)) | (mag == 0.0)
        integral = plain & (x == np.trunc(x))  # Arrow writes 100 for 100.0
    arrow_ok = plain & ~_mask(pc.match_substring(text, "e"))
    if integral.any():
        text = pc.if_else(pa.array(integral), pc.binary_join_element_wise(text, ".0", ""), text)
    slow = ~arrow_ok if valid is None else ~arrow_ok & valid
    if slow.any():
        text = _patch(text, slow, list(map(float.__repr__, arr.filter(pa.array(slow)).to_pylist())))
    return pc.fill_null(text, "null") if arr.null_count else text


def json_bool(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``true``/``false``; null -> ``null``."""
    return pc.fill_null(pc.if_else(_array(values), "true", "false"), "null")


#: The years ``datetime.isoformat`` writes with four digits, as microsecond ticks.
_YEAR_1000_US = int(np.datetime64("1000-01-01T00:00:00", "us").astype(np.int64))
_YEAR_10000_US = int(np.datetime64("9999-12-31T23:59:59.999999", "us").astype(np.int64)) + 1


def json_time(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """UTC times as canonical_json writes them: ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``.

    Arrow's cast writes ``YYYY-MM-DD HH:MM:SS.ffffff`` for a microsecond timestamp (about a
    fifth of numpy's ``datetime_as_string`` time); the space becomes ``T``, and the zero
    fraction that ``isoformat`` leaves out is cut."""
    arr = _array(values)
    if not pa.types.is_timestamp(arr.type) or arr.type.tz is None:
        raise InputError(f"expected timezone-aware timestamps, got {arr.type}", field="time")
    us = arr.cast(TS)
    ticks = np.asarray(
        pc.fill_null(us.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    text = pc.replace_substring(us.cast(_NAIVE_US).cast(pa.string()), " ", "T", max_replacements=1)
    whole = ticks % 1_000_000 == 0  # isoformat leaves out a zero fraction
    if whole.all():
        text = pc.utf8_slice_codeunits(text, 0, -7)
    elif whole.any():
        text = pc.if_else(pa.array(whole), pc.utf8_slice_codeunits(text, 0, -7), text)
    text = pc.binary_join_element_wise('"', text, 'Z"', "")
    odd = (ticks < _YEAR_1000_US) | (ticks >= _YEAR_10000_US)
    if us.null_count:
        odd &= np.asarray(us.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if odd.any():  # datetime.isoformat pads years below 1000; keep its text exactly
        text = _patch(
            text, odd, [json.dumps(_canon(t, "time")) for t in us.filter(pa.array(odd)).to_pylist()]
        )
    return pc.fill_null(text, "null") if text.null_count else text


#: A microsecond timestamp without a zone (its cast to text has no offset).
_NAIVE_US = pa.timestamp("us")


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
