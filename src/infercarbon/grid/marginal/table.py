"""Read an operator-style CSV table into numpy arrays, with errors that name row and column.

The marginal-emissions CLI runs on tables the project has never seen, so this reader is
strict and explicit: every value of a requested column must parse, and the first one that
does not raises :class:`~infercarbon.errors.ParseError` with the file, the 1-based row
number *as a spreadsheet shows it* (the header is row 1) and the column name.

Accepted time formats (one per file; a ``time_format`` for :func:`datetime.strptime`
overrides them):

* ISO 8601 ``YYYY-MM-DD[T ]HH:MM[:SS[.fff]]`` with an optional ``Z`` or ``±HH[:MM]`` offset
  (an offset is applied, so the result is UTC); ``24:00`` means midnight of the next day;
* US operator style ``MM/DD/YYYY HH:MM[:SS]`` (ERCOT, EIA-930 exports);
* a date alone ``YYYY-MM-DD``.

Times without an offset are returned as written (naive wall-clock); the caller decides
whether they are UTC or local.  Numbers may carry thousands separators (``1,234.5``).

>>> import io
>>> t = read_table(io.StringIO("time,load\\n2024-01-01T00:00Z,1,000\\n"), ["load"],
...                time_col="time")
Traceback (most recent call last):
...
infercarbon.errors.ParseError: row 2: has 3 fields, the header has 2
>>> t = read_table(io.StringIO('time,load\\n2024-01-01T00:00Z,"1,000"\\n'), ["load"],
...                time_col="time")
>>> t.columns["load"].tolist(), str(t.time[0])
([1000.0], '2024-01-01T00:00:00')
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import ParseError

__all__ = ["Table", "infer_interval_s", "parse_numbers", "parse_times", "read_header", "read_table"]


_ISO = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
_US = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")


@dataclass(frozen=True)
class Table:
    """Parsed columns: ``time`` [datetime64[s]], numeric ``columns``, and row numbers."""

    path: str
    time: TimeArray
    columns: dict[str, FloatArray]
    has_offset: bool
    #: 1-based spreadsheet row of each record (header = 1)
    rows: npt.NDArray[np.int64]


def _iso_one(s: str) -> tuple[np.datetime64, bool] | None:
    m = _ISO.match(s)
    if m is None:
        return None
    date, hh, mm, ss, _frac, off = m.groups()
    h = int(hh) if hh else 0
    minute = int(mm) if mm else 0
    sec = int(ss) if ss else 0
    if h > 24 or minute > 59 or sec > 60 or (h == 24 and (minute or sec)):
        return None
    try:
        t = np.datetime64(date, "s")
    except ValueError:
        return None
    t = t + np.timedelta64(h * 3600 + minute * 60 + sec, "s")
    if off and off != "Z":
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        off_s = int(digits[:2]) * 3600 + (int(digits[2:4]) * 60 if len(digits) >= 4 else 0)
        t = t - np.timedelta64(sign * off_s, "s")
    return t, off is not None


def _us_one(s: str) -> np.datetime64 | None:
    m = _US.match(s)
    if m is None:
        return None
    mo, d, y, hh, mm, ss = m.groups()
    try:
        base = np.datetime64(f"{int(y):04d}-{int(mo):02d}-{int(d):02d}", "s")
    except ValueError:
        return None
    h, minute, sec = int(hh or 0), int(mm or 0), int(ss or 0)
    if h > 24 or minute > 59 or sec > 60:
        return None
    return base + np.timedelta64(h * 3600 + minute * 60 + sec, "s")


def parse_times(
    values: Sequence[str],
    *,
    column: str,
    path: str = "",
    first_row: int = 2,
    time_format: str | None = None,
    rows: Sequence[int] | None = None,
) -> tuple[TimeArray, bool]:
    """Parse time strings to ``datetime64[s]``; returns ``(times, any_offset_given)``.

    Raises
    ------
    ParseError
        naming the first row whose value does not parse, or a file mixing offsets with
        offset-free times (ambiguous).
    """

    def row(i: int) -> int:
        return int(rows[i]) if rows is not None else first_row + i

    out = np.empty(len(values), dtype="datetime64[s]")
    offsets = np.zeros(len(values), dtype=bool)
    for i, s in enumerate(values):  # I/O edge: one parse per record, no arithmetic
        if time_format is not None:
            try:
                dt = datetime.strptime(s.strip(), time_format)
            except ValueError as exc:
                raise ParseError(
                    f"{s!r} does not match --time-format {time_format!r}",
                    path=path,
                    row=row(i),
                    column=column,
                ) from exc
            if dt.tzinfo is not None:
                off = dt.utcoffset()
                dt = dt.replace(tzinfo=None) - (off if off is not None else dt - dt)
                offsets[i] = True
            out[i] = np.datetime64(dt, "s")
            continue
        iso = _iso_one(s)
        if iso is not None:
            out[i], offsets[i] = iso
            continue
        us = _us_one(s)
        if us is not None:
            out[i] = us
            continue
        raise ParseError(
            f"{s!r} is not a time (use ISO 8601 like 2024-01-01T13:00Z, MM/DD/YYYY HH:MM, "
            "or pass --time-format)",
            path=path,
            row=row(i),
            column=column,
        )
    if offsets.any() and not offsets.all():
        i = int(np.argmin(offsets))
        raise ParseError(
            "time has no UTC offset while other rows have one (ambiguous)",
            path=path,
            row=row(i),
            column=column,
        )
    return out, bool(offsets.any())


def parse_numbers(
    values: Sequence[str],
    *,
    column: str,
    path: str = "",
    first_row: int = 2,
    rows: Sequence[int] | None = None,
) -> FloatArray:
    """Parse decimal strings (thousands separators allowed) to float64; finite only."""

    def row(i: int) -> int:
        return int(rows[i]) if rows is not None else first_row + i

    cleaned = [v.replace(",", "").strip() for v in values]
    try:
        arr = np.array(cleaned, dtype=np.float64) if cleaned else np.empty(0)
    except ValueError:
        arr = None
    if arr is None or not np.isfinite(arr).all():
        for i, v in enumerate(cleaned):  # error path only: locate the first bad value
            try:
                ok = np.isfinite(float(v))
            except ValueError:
                ok = False
            if not ok:
                shown = values[i] if values[i].strip() else "an empty value"
                raise ParseError(
                    f"{shown!r} is not a finite number", path=path, row=row(i), column=column
                )
    assert arr is not None
    return arr


def _sniff(sample: str) -> str:
    first = sample.splitlines()[0] if sample.splitlines() else ""
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_header(source: str | Path) -> list[str]:
    """The column names of a CSV file (first row; delimiter sniffed as in :func:`read_table`)."""
    try:
        with Path(source).open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except OSError as exc:
        raise ParseError(f"cannot read the file: {exc.strerror}", path=str(source)) from exc
    except UnicodeDecodeError as exc:
        raise ParseError("is not UTF-8 text", path=str(source)) from exc
    row = next(csv.reader([first], delimiter=_sniff(first)), [])
    return [h.strip() for h in row]


def read_table(
    source: str | Path | TextIO,
    columns: Sequence[str],
    *,
    time_col: str,
    time_format: str | None = None,
) -> Table:
    """Read ``time_col`` and the numeric ``columns`` of a CSV file.

    Parameters
    ----------
    source : path or text stream
        The CSV; the first row is the header.  Delimiter ``,``, ``;`` or tab is sniffed.
    columns : sequence of str
        Numeric columns to parse (a missing one is a ParseError listing the header).
    time_col : str
        The time column.
    """
    path = ""
    if isinstance(source, str | Path):
        path = str(source)
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ParseError(f"cannot read the file: {exc.strerror}", path=path) from exc
        except UnicodeDecodeError as exc:
            raise ParseError("is not UTF-8 text", path=path) from exc
        stream: TextIO = io.StringIO(text)
    else:
        stream = source
    sample = stream.read(4096)
    stream.seek(0)
    delimiter = _sniff(sample) if sample else ","
    try:
        records = list(csv.reader(stream, delimiter=delimiter))
    except csv.Error as exc:
        raise ParseError(f"malformed CSV: {exc}", path=path) from exc
    if not records or not records[0]:
        raise ParseError("the file is empty (no header row)", path=path, row=1)
    header = [h.strip() for h in records[0]]
    body = [r for r in records[1:] if any(c.strip() for c in r)]
    rows = np.array(
        [i + 2 for i, r in enumerate(records[1:]) if any(c.strip() for c in r)], dtype=np.int64
    )
    if not body:
        raise ParseError("the file has a header but no data rows", path=path, row=2)
    for r, rec in zip(rows, body, strict=True):
        if len(rec) != len(header):
            raise ParseError(
                f"has {len(rec)} fields, the header has {len(header)}", path=path, row=int(r)
            )
    wanted = [time_col, *columns]
    for name in wanted:
        if name not in header:
            raise ParseError(
                f"no such column; the header has: {', '.join(header)}",
                path=path,
                row=1,
                column=name,
            )
    idx = {name: header.index(name) for name in wanted}
    row_list = rows.tolist()
    times, has_off = parse_times(
        [rec[idx[time_col]] for rec in body],
        column=time_col,
        path=path,
        time_format=time_format,
        rows=row_list,
    )
    out = {
        name: parse_numbers([rec[idx[name]] for rec in body], column=name, path=path, rows=row_list)
        for name in columns
    }
    return Table(path, times, out, has_off, rows)


def infer_interval_s(
    times: TimeArray,
    *,
    column: str = "time",
    path: str = "",
    rows: npt.NDArray[np.int64] | None = None,
) -> int:
    """The interval length [s]: the most common positive step between sorted times.

    Raises ParseError on duplicates or a time that goes backwards (naming the row).
    """
    if len(times) < 2:
        raise ParseError(
            "need at least two rows to infer the interval length", path=path or None, column=column
        )
    d = np.diff(times.astype("datetime64[s]").astype(np.int64))
    bad = np.flatnonzero(d <= 0)
    if bad.size:
        k = int(bad[0]) + 1
        row = int(rows[k]) if rows is not None else k + 2
        what = "repeats the previous time" if d[bad[0]] == 0 else "goes back in time"
        raise ParseError(
            f"{what} (rows must be sorted, one per interval)",
            path=path or None,
            row=row,
            column=column,
        )
    vals, counts = np.unique(d, return_counts=True)
    return int(vals[np.argmax(counts)])
