"""Reporting periods: ``2026-Q3``, ``2026-09``, ``2026``, ``2026-09-14`` and ``START..END``.

A period is the half-open interval ``[start_utc, end_utc)`` in UTC.  A calendar unit (year,
quarter, month, day) covers the whole unit.  In a range ``START..END`` each end is a calendar
unit or an ISO 8601 instant with a zone offset: a calendar END is *included* (``2026-07..2026-09``
is the third quarter; ``2026-07-01..2026-09-30`` too), an instant END is excluded.

>>> p = parse_period("2026-Q3")
>>> p.start_utc.isoformat(), p.end_utc.isoformat()
('2026-07-01T00:00:00+00:00', '2026-10-01T00:00:00+00:00')
>>> q = parse_period("2026-07-01..2026-09-30")
>>> (q.start_utc, q.end_utc) == (p.start_utc, p.end_utc)
True
>>> parse_period("2026-13")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
infercarbon.errors.InputError: period: '2026-13' is not a period: month must be 01..12; use ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from infercarbon.errors import InputError
from infercarbon.timeutil import format_utc, parse_utc

__all__ = ["Period", "parse_period"]

_HELP = "use 2026-Q3, 2026-09, 2026, 2026-09-14 or START..END"
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([0-9])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    """The reporting period ``[start_utc, end_utc)`` and how the user wrote it."""

    start_utc: datetime
    end_utc: datetime
    label: str

    @property
    def days(self) -> float:
        return (self.end_utc - self.start_utc).total_seconds() / 86_400

    def to_dict(self) -> dict[str, str | float]:
        return {
            "label": self.label,
            "start_utc": format_utc(self.start_utc),
            "end_utc_exclusive": format_utc(self.end_utc),
            "days": round(self.days, 6),
        }


def _month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def _bad(text: str, why: str) -> InputError:
    return InputError(f"{text!r} is not a period: {why}; {_HELP}", field="period")


def _unit(text: str, whole: str) -> tuple[datetime, datetime] | None:
    """A calendar unit as ``[start, end)``, or None when ``text`` is not one."""
    if m := _YEAR.match(text):
        y = int(m.group(1))
        return datetime(y, 1, 1, tzinfo=UTC), datetime(y + 1, 1, 1, tzinfo=UTC)
    if m := _QUARTER.match(text):
        y, q = int(m.group(1)), int(m.group(2))
        if not 1 <= q <= 4:
            raise _bad(whole, "quarter must be Q1..Q4")
        return _month_start(y, 3 * q - 2), _month_start(y, 3 * q + 1)
    if m := _MONTH.match(text):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise _bad(whole, "month must be 01..12")
        return _month_start(y, mo), _month_start(y, mo + 1)
    if m := _DAY.match(text):
        try:
            d = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=UTC)
        except ValueError as exc:
            raise _bad(whole, str(exc)) from exc
        return d, d + timedelta(days=1)
    return None


def _instant(text: str, whole: str) -> datetime:
    try:
        return parse_utc(text, field="period")
    except InputError as exc:
        why = str(exc).removeprefix("period: ")
        raise _bad(whole, f"neither a calendar unit nor a time: {why}") from None


def parse_period(text: str) -> Period:
    """Parse a reporting period; :class:`~infercarbon.errors.InputError` (field ``period``)
    names what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"an empty period; {_HELP}", field="period")
    s = text.strip()
    if ".." in s:
        a, _, b = s.partition("..")
        a, b = a.strip(), b.strip()
        if not a or not b:
            raise _bad(s, "a range needs both ends")
        ua = _unit(a, s)
        start = ua[0] if ua is not None else _instant(a, s)
        ub = _unit(b, s)
        end = ub[1] if ub is not None else _instant(b, s)
        if end <= start:
            raise _bad(s, "the end must be after the start")
        return Period(start, end, s)
    u = _unit(s, s)
    if u is None:
        raise _bad(s, "unrecognised form")
    return Period(u[0], u[1], s)
