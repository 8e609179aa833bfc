"""Read ERCOT *Fuel Mix Report* 15-minute files (``IntGenByFuelYYYYMM.tsv``) into UTC arrays.

The raw operator files look like this (tab-separated, one row per operating day and fuel)::

    Date        Fuel     Settlement Type  Total      0:15     0:30  ...  23:45    0:00   [DST...]
    03/01/2019  Coal     FINAL            282,195.8  3,002.4  3,026.5 ...

and this module turns them into MWh per 15-minute interval per fuel, indexed by the UTC
*start* of each interval.  What the format means, and how each quirk is handled:

* **Local prevailing time** (``America/Chicago``, CST = UTC-6 / CDT = UTC-5), converted with
  :mod:`zoneinfo`.
* **Interval-ending labels**: column ``0:15`` is the interval 00:00-00:15; the last column
  ``0:00`` is 23:45-24:00 of the same operating day.  The start is computed on the local wall
  clock as ``label - 15 min`` and then converted to UTC.
* **DST spring-forward gap** (second Sunday of March): the intervals ending ``2:15 .. 3:00``
  do not exist; their cells are empty and are *expected* to be empty.  A value in a
  non-existent interval raises :class:`~infercarbon.errors.ParseError`.
* **DST fall-back duplicate** (first Sunday of November): the files carry four extra columns
  ``01:15 (DST) .. 02:00 (DST)``, the *repeated* hour 01:00-02:00 CST (UTC 07:00-08:00); the
  plain ``1:15 .. 2:00`` columns are the first pass, 01:00-02:00 CDT (UTC 06:00-07:00).
  Verified against the resolved hourly file: on 2019-11-03 the plain columns of Coal sum to
  6,873.2 MWh = hour 06:00Z and the DST columns to 6,564.2 MWh = hour 07:00Z.  On every
  other day of such a file the DST columns are empty, as expected.
* **Thousands separators** (``1,234.5``) are accepted only in well-formed groups of three.
* **Gaps**: an empty cell in an interval that exists is a gap.  It stays ``NaN`` in the
  matrix, its start is listed in :attr:`FuelMix.gaps_utc`, and a
  :class:`~infercarbon.errors.DataQualityWarning` says how many there are.  Nothing is filled.
* The ``Total`` column is checked against the sum of the intervals (tolerance 0.05 MWh per
  value for the file's one-decimal rounding) on rows without gaps; a mismatch is warned and
  recorded.
* Malformed input (bad date, unknown fuel, a non-number, a duplicate day/fuel row) raises
  :class:`~infercarbon.errors.ParseError` naming the file, the 1-based row (the header is
  row 1) and the column.

>>> import io
>>> text = ("Date\\tFuel\\tSettlement Type\\tTotal\\t0:15\\t0:30\\n"
...         "01/15/2020\\tWind\\tFINAL\\t2,001.0\\t1,000.5\\t1,000.5\\n")
>>> mix = read_ercot_fuel_mix(io.StringIO(text), name="x.tsv")
>>> str(mix.start_utc[0]), mix.fuels, mix.mwh.tolist()
('2020-01-15T06:00:00', ('Wind',), [[1000.5], [1000.5]])
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, TimeArray
from infercarbon.errors import DataError, DataQualityWarning, InputError, ParseError
from infercarbon.grid.factors import ERCOT_FUEL_MAP

__all__ = [
    "ERCOT_TZ",
    "FuelMix",
    "combine",
    "load_compact",
    "read_ercot_fuel_mix",
    "read_ercot_fuel_mix_dir",
    "save_compact",
    "to_hourly",
]

ERCOT_TZ = "America/Chicago"
INTERVAL_S = 900
_STEP = np.timedelta64(INTERVAL_S, "s")
_LABEL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(\(DST\))?\s*$", re.IGNORECASE)
_NUM = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUM_RE = re.compile(rf"^\s*{_NUM}\s*$")
_META = {"settlement type", "total"}


@dataclass(frozen=True, eq=False)
class FuelMix:
    """Generation by fuel on a regular 15-minute UTC grid.

    Attributes
    ----------
    start_utc : datetime64[s] array (n,)
        Interval starts, UTC, strictly increasing by 900 s.
    fuels : tuple of str
        Fuel names as the operator writes them (``Gas-CC``); map with
        :data:`infercarbon.grid.factors.ERCOT_FUEL_MAP`.
    mwh : float array (n, k)
        Energy per interval per fuel [MWh]; ``NaN`` where the operator reported nothing.
    gaps_utc : datetime64[s] array
        Starts of intervals with at least one missing fuel value.
    settlement : str array (n,)
        ``FINAL``/``INITIAL`` per interval (empty if the file has no such column).
    sources : tuple of str
        Files read.
    notes : tuple of str
        Data-quality findings (gaps, total mismatches), also raised as warnings.
    """

    start_utc: TimeArray
    fuels: tuple[str, ...]
    mwh: FloatArray
    gaps_utc: TimeArray
    settlement: npt.NDArray[np.str_]
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def resolution_s(self) -> int:
        return INTERVAL_S


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(ERCOT_TZ)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - platform without tzdata
        raise DataError(f"time-zone data for {ERCOT_TZ} is missing; install 'tzdata'") from exc


def _parse_date(s: str, *, path: str, row: int) -> date:
    s = s.strip()
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ParseError(f"{s!r} is not a date (MM/DD/YYYY)", path=path, row=row, column="Date")


def _day_starts_utc(
    day: date, start_min: npt.NDArray[np.int64], fold: npt.NDArray[np.bool_], tz: ZoneInfo
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """UTC epoch seconds of local wall-clock starts on ``day``, and whether each exists.

    Days without a transition use one offset for all columns; transition days (two a year)
    resolve each column with zoneinfo (``fold`` picks the second pass of a repeated hour).
    """
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = midnight + timedelta(days=1)
    off0 = midnight.utcoffset()
    off1 = nxt.replace(tzinfo=tz).utcoffset()
    base = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    if off0 == off1 and off0 is not None:
        # no transition: a repeated-hour (DST) column does not exist on this day
        return base + start_min * 60 - int(off0.total_seconds()), ~fold
    out = np.empty(len(start_min), np.int64)
    ok = np.ones(len(start_min), bool)
    for i, (m, f) in enumerate(zip(start_min.tolist(), fold.tolist(), strict=True)):
        wall = datetime(day.year, day.month, day.day) + timedelta(minutes=m)
        local = wall.replace(tzinfo=tz, fold=int(f))
        utc = local.astimezone(UTC)
        back = utc.astimezone(tz)
        ok[i] = back.replace(tzinfo=None) == wall and (not f or back.fold == 1)
        out[i] = int(utc.timestamp())
    return out, ok


def read_ercot_fuel_mix(source: str | Path | TextIO, *, name: str | None = None) -> FuelMix:
    """Parse one ERCOT Fuel Mix 15-minute file (path or text stream).

    Raises :class:`ParseError` (file, row, column) on malformed input; warns
    :class:`DataQualityWarning` for gaps and total mismatches, which are also recorded.
    """
    text, path = _read_source(source, name)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ParseError("empty file: expected a header row", path=path, row=1)
    delim = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    layout = _layout([h.strip() for h in rows[0]], path)
    got = _read_rows(rows[1:], layout, path)
    if not got.stamps:
        raise ParseError("no data rows", path=path, row=2)
    mix = _assemble(
        np.concatenate(got.stamps),
        np.concatenate(got.fuel_idx),
        np.concatenate(got.values),
        tuple(got.fuels),
        got.settle_rows,
        path=path,
    )
    notes = got.notes
    if got.gap_cells:
        notes.append(
            f"{path}: {got.gap_cells} empty cells in existing intervals "
            f"({len(mix.gaps_utc)} intervals left as gaps, not filled)"
        )
    for n in notes:
        warnings.warn(n, DataQualityWarning, stacklevel=2)
    return FuelMix(
        mix.start_utc, mix.fuels, mix.mwh, mix.gaps_utc, mix.settlement, (path,), tuple(notes)
    )


def _read_source(source: str | Path | TextIO, name: str | None) -> tuple[str, str]:
    """(text, path) of a file path or an open text stream (named by ``name``)."""
    if not isinstance(source, str | Path):
        return source.read(), name or str(getattr(source, "name", "<stream>"))
    path = str(source)
    try:
        return Path(source).read_text(encoding="utf-8-sig"), path
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text: {exc.reason}", path=path) from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", field="path") from exc


@dataclass(frozen=True)
class _Layout:
    """Where a Fuel Mix file keeps each field: the date, fuel, settlement-type and total
    columns, and the interval columns with their local start minute and DST (repeated-hour)
    flag."""

    header: list[str]
    i_date: int
    i_fuel: int
    i_settle: int | None
    i_total: int | None
    cols: list[int]
    start_min: npt.NDArray[np.int64]
    fold: npt.NDArray[np.bool_]


def _layout(header: list[str], path: str) -> _Layout:
    """The file's layout from its header row (a ParseError names a missing or unknown
    column)."""
    low = [h.lower() for h in header]
    for need in ("date", "fuel"):
        if need not in low:
            raise ParseError(
                f"header lacks a {need.title()!r} column", path=path, row=1, column=need.title()
            )
    i_date, i_fuel = low.index("date"), low.index("fuel")
    cols: list[int] = []
    end_min: list[int] = []
    dst: list[bool] = []
    for j, h in enumerate(header):
        if j in (i_date, i_fuel) or h.lower() in _META:
            continue
        m = _LABEL.match(h)
        if not m:
            raise ParseError(
                "unknown column: expected an interval-ending label like '0:15' or '01:15 (DST)'",
                path=path,
                row=1,
                column=h,
            )
        e = int(m.group(1)) * 60 + int(m.group(2))
        e = 1440 if e == 0 and not m.group(3) else e
        if e % 15 or not 0 < e <= 1440:
            raise ParseError(
                "interval label is not a 15-minute boundary in (0:00, 24:00]",
                path=path,
                row=1,
                column=h,
            )
        cols.append(j)
        end_min.append(e)
        dst.append(bool(m.group(3)))
    if not cols:
        raise ParseError("no interval columns (0:15 .. 0:00)", path=path, row=1)
    return _Layout(
        header,
        i_date,
        i_fuel,
        low.index("settlement type") if "settlement type" in low else None,
        low.index("total") if "total" in low else None,
        cols,
        np.array(end_min, np.int64) - 15,
        np.array(dst, bool),
    )


@dataclass
class _Rows:
    """The data rows read so far: per row, its interval starts [UTC s], values [MWh] and fuel
    index; the settlement type of each row's intervals; the fuels in order of appearance;
    notes on total mismatches; and the count of empty cells."""

    stamps: list[npt.NDArray[np.int64]] = field(default_factory=list)
    values: list[FloatArray] = field(default_factory=list)
    fuel_idx: list[npt.NDArray[np.int64]] = field(default_factory=list)
    settle_rows: list[tuple[npt.NDArray[np.int64], str]] = field(default_factory=list)
    fuels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gap_cells: int = 0


def _read_rows(rows: list[list[str]], layout: _Layout, path: str) -> _Rows:
    """Read the data rows (file rows 2..): each (day, fuel) once, values only in intervals
    that exist on the day (the DST columns on the fall-back day only)."""
    header = layout.header
    tz = _zone()
    got = _Rows()
    seen: dict[tuple[date, str], int] = {}
    day_cache: dict[date, tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]] = {}
    for r, row in enumerate(rows, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) > len(header):
            raise ParseError(
                f"has {len(row)} fields, the header has {len(header)}", path=path, row=r
            )
        row = row + [""] * (len(header) - len(row))
        day, fuel = _day_and_fuel(row, layout, seen, path, r)
        vals, present = _interval_values(row, layout, path, r)
        if day not in day_cache:
            day_cache[day] = _day_starts_utc(day, layout.start_min, layout.fold, tz)
        utc, exists = day_cache[day]
        # DST columns exist only on the fall-back day (zoneinfo says so via fold)
        bad = present & ~exists
        if bad.any():
            k = int(np.argmax(bad))
            raise ParseError(
                f"a value in an interval that does not exist on {day} (daylight-saving change)",
                path=path,
                row=r,
                column=header[layout.cols[k]],
            )
        missing = exists & ~present
        got.gap_cells += int(missing.sum())
        if layout.i_total is not None and row[layout.i_total].strip() and not missing.any():
            note = _total_mismatch(row[layout.i_total], vals, present, layout, path, r)
            if note is not None:
                got.notes.append(note)
        if fuel not in got.fuels:
            got.fuels.append(fuel)
        got.stamps.append(utc[exists])
        got.values.append(vals[exists])
        got.fuel_idx.append(np.full(int(exists.sum()), got.fuels.index(fuel), np.int64))
        if layout.i_settle is not None:
            got.settle_rows.append((utc[exists], row[layout.i_settle].strip()))
    return got


def _day_and_fuel(
    row: list[str], layout: _Layout, seen: dict[tuple[date, str], int], path: str, r: int
) -> tuple[date, str]:
    """The row's operating day and known fuel, the first row for the pair (recorded in
    ``seen``)."""
    day = _parse_date(row[layout.i_date], path=path, row=r)
    fuel = row[layout.i_fuel].strip()
    if fuel not in ERCOT_FUEL_MAP:
        raise ParseError(
            f"unknown fuel {fuel!r}; known: {', '.join(ERCOT_FUEL_MAP)}",
            path=path,
            row=r,
            column=layout.header[layout.i_fuel],
        )
    if (day, fuel) in seen:
        raise ParseError(
            f"duplicate row for {day} {fuel} (first at row {seen[(day, fuel)]})",
            path=path,
            row=r,
            column=layout.header[layout.i_fuel],
        )
    seen[(day, fuel)] = r
    return day, fuel


def _interval_values(
    row: list[str], layout: _Layout, path: str, r: int
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """The row's interval values [MWh] (NaN where empty) and which cells hold one."""
    cells = [row[j].strip() for j in layout.cols]
    present = np.array([c != "" for c in cells])
    vals = np.full(len(layout.cols), np.nan)
    for k in np.flatnonzero(present).tolist():
        c = cells[k]
        if not _NUM_RE.match(c):
            raise ParseError(
                f"{c!r} is not a number", path=path, row=r, column=layout.header[layout.cols[k]]
            )
        vals[k] = float(c.replace(",", ""))
    return vals, present


def _total_mismatch(
    cell: str,
    vals: FloatArray,
    present: npt.NDArray[np.bool_],
    layout: _Layout,
    path: str,
    r: int,
) -> str | None:
    """A note when the row's Total differs from its interval sum by more than the rounding
    of its cells (0.05 MWh each)."""
    t = cell.strip()
    if not _NUM_RE.match(t):
        assert layout.i_total is not None
        raise ParseError(
            f"{t!r} is not a number", path=path, row=r, column=layout.header[layout.i_total]
        )
    total = float(t.replace(",", ""))
    s = float(np.nansum(vals))
    tol = 0.05 * (int(present.sum()) + 1) + 1e-6
    if abs(s - total) > tol:
        return (
            f"{path} row {r}: Total {total} differs from the interval sum "
            f"{s:.1f} by more than rounding ({tol:.2f} MWh)"
        )
    return None


def _assemble(
    ts: npt.NDArray[np.int64],
    fi: npt.NDArray[np.int64],
    v: FloatArray,
    fuels: tuple[str, ...],
    settle_rows: Sequence[tuple[npt.NDArray[np.int64], str]],
    *,
    path: str,
) -> FuelMix:
    t0, t1 = int(ts.min()), int(ts.max())
    if ((ts - t0) % INTERVAL_S).any():
        raise ParseError("interval starts are not on a common 15-minute grid", path=path)
    n = (t1 - t0) // INTERVAL_S + 1
    pos = (ts - t0) // INTERVAL_S
    mwh = np.full((n, len(fuels)), np.nan)
    count = np.zeros((n, len(fuels)), np.int64)
    np.add.at(count, (pos, fi), 1)
    if (count > 1).any():
        i, k = np.argwhere(count > 1)[0]
        when = np.datetime64(t0 + int(i) * INTERVAL_S, "s")
        raise ParseError(
            f"two values for {fuels[k]} at {when}Z (overlapping rows or files)", path=path
        )
    mwh[pos, fi] = v
    settlement = np.full(n, "", dtype="<U8")
    for utc, s in settle_rows:
        settlement[(utc - t0) // INTERVAL_S] = s
    start = np.datetime64(t0, "s") + np.arange(n) * _STEP
    gaps = start[np.isnan(mwh).any(axis=1)]
    return FuelMix(start, fuels, mwh, gaps, settlement)


def combine(mixes: Iterable[FuelMix]) -> FuelMix:
    """Concatenate several files' mixes onto one grid; overlaps are an error, holes are gaps."""
    mixes = list(mixes)
    if not mixes:
        raise InputError("no fuel-mix tables to combine", field="mixes")
    fuels: list[str] = []
    for m in mixes:
        fuels += [f for f in m.fuels if f not in fuels]
    ts, fi, vv = [], [], []
    settle: list[tuple[npt.NDArray[np.int64], str]] = []
    for m in mixes:
        t = m.start_utc.astype("datetime64[s]").astype(np.int64)
        for k, f in enumerate(m.fuels):
            ok = ~np.isnan(m.mwh[:, k])
            ts.append(t[ok])
            vv.append(m.mwh[ok, k])
            fi.append(np.full(int(ok.sum()), fuels.index(f), np.int64))
        settle.extend((t[m.settlement == s], str(s)) for s in np.unique(m.settlement))
    out = _assemble(
        np.concatenate(ts),
        np.concatenate(fi),
        np.concatenate(vv),
        tuple(fuels),
        settle,
        path=", ".join(s for m in mixes for s in m.sources),
    )
    notes = [n for m in mixes for n in m.notes]
    extra = len(out.gaps_utc) - sum(len(m.gaps_utc) for m in mixes)
    if extra > 0:
        msg = (
            f"{extra} 15-minute intervals between or within files have no value for at "
            "least one fuel (left as gaps, not filled)"
        )
        notes.append(msg)
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
    return FuelMix(
        out.start_utc,
        out.fuels,
        out.mwh,
        out.gaps_utc,
        out.settlement,
        tuple(s for m in mixes for s in m.sources),
        tuple(notes),
    )


def read_ercot_fuel_mix_dir(directory: str | Path, pattern: str = "IntGenByFuel*.tsv") -> FuelMix:
    """Read and combine every file matching ``pattern`` in ``directory`` (sorted by name)."""
    files = sorted(Path(directory).glob(pattern))
    if not files:
        raise InputError(f"no files matching {pattern} in {directory}", field="directory")
    return combine(read_ercot_fuel_mix(f) for f in files)


def to_hourly(mix: FuelMix) -> tuple[TimeArray, FloatArray, npt.NDArray[np.int64]]:
    """Sum the 15-minute MWh into UTC clock hours.

    Returns ``(hour_start_utc, mwh (h, k), n_intervals (h,))``; an hour with fewer than four
    complete intervals is ``NaN`` (never a partial sum presented as an hour).
    """
    t = mix.start_utc.astype("datetime64[s]")
    hour = t.astype("datetime64[h]")
    uniq, inv = np.unique(hour, return_inverse=True)
    sums = np.zeros((len(uniq), len(mix.fuels)))
    complete = ~np.isnan(mix.mwh).any(axis=1)
    np.add.at(sums, inv, np.where(np.isnan(mix.mwh), 0.0, mix.mwh))
    n = np.bincount(inv, weights=complete.astype(np.float64), minlength=len(uniq)).astype(np.int64)
    sums[n < 4] = np.nan
    return uniq.astype("datetime64[s]"), sums, n


# ------------------------------------------------------------------ compact storage
def save_compact(mix: FuelMix, path: str | Path) -> None:
    """Store a mix as a compressed ``.npz``: int32 tenths of MWh (the files' precision)."""
    tenths = np.round(mix.mwh * 10.0)
    ok = ~np.isnan(tenths)
    if np.abs(tenths[ok] - mix.mwh[ok] * 10.0).max(initial=0.0) > 1e-6:
        raise InputError(
            "values have more than one decimal; compact storage would round", field="mwh"
        )
    q = np.where(ok, tenths, 0.0).astype(np.int64)  # missing cells: 0 here, flagged below
    # delta-encode along time: generation changes slowly, so deltas compress well
    d = np.diff(q, axis=0, prepend=np.zeros((1, q.shape[1]), np.int64))
    np.savez_compressed(
        path,
        t0_s=np.int64(mix.start_utc[0].astype("datetime64[s]").astype(np.int64)),
        n=np.int64(len(mix.start_utc)),
        fuels=np.array(mix.fuels),
        delta=d.astype(np.int32),
        missing=~ok,
        settlement=mix.settlement,
        sources=np.array([Path(s).name for s in mix.sources]),
        notes=np.array(mix.notes, dtype=str),
    )


def load_compact(path: str | Path) -> FuelMix:
    """Inverse of :func:`save_compact`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            t0, n = int(z["t0_s"]), int(z["n"])
            q = np.cumsum(z["delta"].astype(np.int64), axis=0).astype(np.float64)
            missing = z["missing"]
            fuels = tuple(str(f) for f in z["fuels"])
            settlement, sources, notes = z["settlement"], z["sources"], z["notes"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"cannot read bundled fuel mix {path}: {exc}") from exc
    mwh = q / 10.0
    mwh[missing] = np.nan
    start = np.datetime64(t0, "s") + np.arange(n) * _STEP
    gaps = start[missing.any(axis=1)]
    return FuelMix(
        start,
        fuels,
        mwh,
        gaps,
        settlement,
        tuple(str(s) for s in sources),
        tuple(str(x) for x in notes),
    )
