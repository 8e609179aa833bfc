"""Vectorised calendar features for binning: hour of day, month, season, local time.

>>> import numpy as np
>>> t = np.array(["2021-07-01T05:00", "2021-01-15T18:00"], dtype="datetime64[s]")
>>> hour_of_day(t).tolist(), month(t).tolist(), [SEASONS[i] for i in season_index(t)]
([5, 18], [7, 1], ['summer', 'winter'])
>>> hour_of_day(to_local(t, "America/Chicago")).tolist()   # CDT = UTC-5, CST = UTC-6
[0, 12]
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from infercarbon.arrays import IntArray, TimeArray
from infercarbon.errors import InputError

__all__ = ["SEASONS", "hour_of_day", "month", "season_index", "to_local"]

#: Meteorological seasons (northern hemisphere): DJF, MAM, JJA, SON.
SEASONS: tuple[str, ...] = ("winter", "spring", "summer", "fall")
_MONTH_TO_SEASON = np.array([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0], dtype=np.int64)


def hour_of_day(t: TimeArray) -> IntArray:
    """Hour 0..23 of each time (wall clock of the given times)."""
    t = np.asarray(t, dtype="datetime64[s]")
    h: IntArray = ((t - t.astype("datetime64[D]")).astype(np.int64) // 3600).astype(np.int64)
    return h


def month(t: TimeArray) -> IntArray:
    """Month 1..12."""
    m = np.asarray(t, dtype="datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return (m % 12 + 1).astype(np.int64)


def season_index(t: TimeArray) -> IntArray:
    """Index into :data:`SEASONS` (0 winter .. 3 fall)."""
    return _MONTH_TO_SEASON[month(t) - 1]


@lru_cache(maxsize=64)
def _transitions(tz: str, year0: int, year1: int) -> tuple[IntArray, IntArray]:
    """UTC instants [s] where the zone's offset changes, and the offset [s] from each."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"unknown time zone {tz!r} (use an IANA name like America/Chicago)", field="tz"
        ) from exc
    start = int(datetime(year0, 1, 1, tzinfo=UTC).timestamp()) - 86_400
    end = int(datetime(year1 + 1, 1, 1, tzinfo=UTC).timestamp()) + 86_400
    # hourly probe, then the first hour of each new offset; transitions fall on whole
    # hours in every zone that matters here (the probe is coarse only for half-hour zones,
    # which are refined to the minute below)
    probe = np.arange(start, end, 3600, dtype=np.int64)

    def offset_s(ts: int) -> int:
        o = datetime.fromtimestamp(ts, zone).utcoffset()
        assert o is not None
        return int(o.total_seconds())

    offs = np.array([offset_s(int(s)) for s in probe], dtype=np.int64)
    change = np.flatnonzero(np.diff(offs) != 0) + 1
    starts = [int(probe[0])]
    values = [int(offs[0])]
    for k in change.tolist():
        lo, hi = int(probe[k - 1]), int(probe[k])
        while hi - lo > 60:  # bisect to the minute
            mid = (lo + hi) // 2
            if offset_s(mid) == values[-1]:
                lo = mid
            else:
                hi = mid
        starts.append(hi)
        values.append(int(offs[k]))
    return np.array(starts, dtype=np.int64), np.array(values, dtype=np.int64)


def to_local(t_utc: TimeArray, tz: str) -> TimeArray:
    """Wall-clock local times of UTC instants in IANA zone ``tz`` (naive datetime64[s])."""
    t = np.asarray(t_utc, dtype="datetime64[s]")
    if t.size == 0:
        return t
    years = t.astype("datetime64[Y]").astype(np.int64) + 1970
    starts, offsets = _transitions(tz, int(years.min()), int(years.max()))
    s = t.astype(np.int64)
    i = np.clip(np.searchsorted(starts, s, side="right") - 1, 0, len(offsets) - 1)
    return (s + offsets[i]).astype("datetime64[s]")
