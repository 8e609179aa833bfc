"""Time in infercarbon: one UTC parse/format pair and the clock types, each named by its unit.

Times at the edges (JSON, CSV, the ledger's canonical JSON, reports) are ISO 8601 text in
UTC ending in ``Z``; inside they are timezone-aware :class:`~datetime.datetime` in UTC (or
naive-UTC ``datetime64`` in array code).  :func:`parse_utc` reads the text once, with an
:class:`~infercarbon.errors.InputError` naming the field; :func:`format_utc` writes it, in
the form the ledger's canonical JSON has always used (microseconds only when non-zero).

>>> t = parse_utc("2026-11-02T09:30:00+01:00", field="start_utc")
>>> t.isoformat()
'2026-11-02T08:30:00+00:00'
>>> format_utc(t)
'2026-11-02T08:30:00Z'
>>> format_utc(parse_utc("2026-11-02T08:30:00.250z", field="start_utc"))
'2026-11-02T08:30:00.250000Z'

Clocks are passed in, never read ambiently; their type says what they return:

* :data:`MonotonicClockNs` -- integer nanoseconds from an arbitrary origin, never going
  backwards (:func:`time.monotonic_ns`): energy readings and inference intervals;
* :data:`EpochClockS` -- float seconds since the Unix epoch (:func:`time.time`): wall time
  where only seconds are needed (HTTP caches, key creation, proxied events);
* :data:`WallClockUtc` -- the current time as an aware UTC datetime: ledger and service
  timestamps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

from infercarbon.errors import InputError

__all__ = [
    "EpochClockS",
    "MonotonicClockNs",
    "WallClockUtc",
    "format_utc",
    "parse_utc",
]

#: Integer nanoseconds from an arbitrary origin, never going backwards (``time.monotonic_ns``).
MonotonicClockNs: TypeAlias = Callable[[], int]
#: Float seconds since the Unix epoch, 1970-01-01T00:00:00Z (``time.time``).
EpochClockS: TypeAlias = Callable[[], float]
#: The current time as a timezone-aware datetime in UTC.
WallClockUtc: TypeAlias = Callable[[], datetime]

_EXAMPLE = "2026-11-02T08:00:00Z"


def parse_utc(
    text: str, *, field: str, naive_is_utc: bool = False, utc_only: bool = False
) -> datetime:
    """An ISO 8601 time as a timezone-aware datetime in UTC.

    Parameters
    ----------
    text : str
        ISO 8601 date-time with a zone offset (``Z``, ``z`` or ``+hh:mm``); surrounding
        whitespace is ignored.  An offset other than UTC is converted.
    field : str
        The name of the input, for the error message.
    naive_is_utc : bool
        Read a time without an offset (or a bare date) as UTC instead of refusing it.  Only
        for inputs documented as UTC (a CLI option that says so).
    utc_only : bool
        Refuse an offset other than UTC (a file whose format says its times are UTC) instead
        of converting it; the message gives the UTC time to write.

    Raises
    ------
    InputError
        ``field`` names the input: not text, not ISO 8601 (including times Arrow would read
        but Python cannot hold, such as year 0), no offset, or outside years 1..9999 in UTC.

    Examples
    --------
    >>> parse_utc("2026-07-01", field="from", naive_is_utc=True).isoformat()
    '2026-07-01T00:00:00+00:00'
    >>> parse_utc("2026-07-01T10:00", field="from")
    Traceback (most recent call last):
      ...
    infercarbon.errors.InputError: from: '2026-07-01T10:00' has no zone offset; ...
    """
    if not isinstance(text, str):
        raise InputError(
            f"expected an ISO 8601 time as text (e.g. {_EXAMPLE}), got {type(text).__name__}",
            field=field,
        )
    raw = text.strip()
    try:
        t = datetime.fromisoformat(raw[:-1] + "Z" if raw.endswith("z") else raw)
    except ValueError:
        raise InputError(
            f"{text!r} is not an ISO 8601 time; write e.g. {_EXAMPLE}", field=field
        ) from None
    if t.utcoffset() is None:
        if not naive_is_utc:
            raise InputError(
                f"{text!r} has no zone offset; add one, e.g. {raw}Z if it is UTC", field=field
            )
        return t.replace(tzinfo=UTC)
    try:
        utc = t.astimezone(UTC)
    except OverflowError:
        raise InputError(
            f"{text!r} is outside the years 1..9999 once converted to UTC", field=field
        ) from None
    if utc_only and t.utcoffset():
        raise InputError(
            f"{text!r} is not UTC (offset {t.utcoffset()}); give the UTC time, here "
            f"{format_utc(utc)}",
            field=field,
        )
    return utc


def format_utc(t: datetime, *, field: str = "time") -> str:
    """A timezone-aware datetime as ISO 8601 UTC text ending in ``Z``
    (``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, microseconds only when non-zero).

    This is the form of the ledger's canonical JSON and of every report; a naive datetime
    is refused (:class:`~infercarbon.errors.InputError` naming ``field``), never guessed.

    >>> from datetime import timedelta, timezone
    >>> format_utc(datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))))
    '2026-01-01T00:00:00Z'
    """
    off = t.utcoffset()
    if off is None:
        raise InputError("a time needs a zone offset (give an aware datetime)", field=field)
    return (t.replace(tzinfo=None) - off).isoformat() + "Z"
