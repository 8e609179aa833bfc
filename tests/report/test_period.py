"""Reporting periods: calendar units, ranges, and errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infercarbon.errors import InputError
from infercarbon.report import parse_period


def d(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-Q3", d(2026, 7, 1), d(2026, 10, 1)),
        ("2026q4", d(2026, 10, 1), d(2027, 1, 1)),
        ("2026-09", d(2026, 9, 1), d(2026, 10, 1)),
        ("2026-12", d(2026, 12, 1), d(2027, 1, 1)),
        ("2026", d(2026, 1, 1), d(2027, 1, 1)),
        ("2026-02-28", d(2026, 2, 28), d(2026, 3, 1)),
        ("2026-07..2026-09", d(2026, 7, 1), d(2026, 10, 1)),
        ("2026-07-01..2026-09-30", d(2026, 7, 1), d(2026, 10, 1)),
        ("2026-Q1..2026-Q2", d(2026, 1, 1), d(2026, 7, 1)),
        ("2026-07-01T06:00:00Z..2026-07-01T18:00:00+02:00", d(2026, 7, 1, 6), d(2026, 7, 1, 16)),
    ],
)
def test_forms(text: str, start: datetime, end: datetime) -> None:
    p = parse_period(text)
    assert (p.start_utc, p.end_utc) == (start, end)
    assert p.label == text


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-Q5", "quarter"),
        ("2026-13", "month"),
        ("2026-02-30", "day is out of range"),
        ("", "empty"),
        ("Q3", "unrecognised"),
        ("2026-09..", "both ends"),
        ("2026-09..2026-08", "after the start"),
        ("2026-07-01T00:00..2026-08", "zone offset"),
        ("last quarter", "unrecognised"),
    ],
)
def test_bad_periods_name_the_field(text: str, why: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_period(text)
    assert ei.value.field == "period"
    assert why in str(ei.value)
    assert str(ei.value).startswith("period: ")


@given(st.integers(2000, 2100), st.integers(1, 12))
def test_months_tile_their_year(year: int, month: int) -> None:
    p = parse_period(f"{year}-{month:02d}")
    q = parse_period(f"{year}-Q{(month - 1) // 3 + 1}")
    y = parse_period(str(year))
    assert y.start_utc <= q.start_utc <= p.start_utc < p.end_utc <= q.end_utc <= y.end_utc
    nxt = parse_period(f"{year + (month == 12)}-{month % 12 + 1:02d}")
    assert nxt.start_utc == p.end_utc
