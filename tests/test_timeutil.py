"""The one UTC parse/format pair and the clock types (infercarbon.timeutil)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from infercarbon.errors import InputError
from infercarbon.timeutil import (
    EpochClockS,
    MonotonicClockNs,
    WallClockUtc,
    format_utc,
    parse_utc,
)

_ZONES = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
_AWARE = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_ZONES
)


@given(_AWARE)
def test_format_is_the_ledger_form_and_parse_inverts_it(t: datetime) -> None:
    text = format_utc(t)
    # the form the ledger's canonical JSON and the reports have always written
    assert text == t.astimezone(UTC).isoformat().replace("+00:00", "Z")
    back = parse_utc(text, field="t")
    assert back == t and back.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T08:00:00Z", "2026-11-02T08:00:00Z"),
        (" 2026-11-02T08:00:00z ", "2026-11-02T08:00:00Z"),
        ("2026-11-02T09:00:00+01:00", "2026-11-02T08:00:00Z"),
        ("2026-11-02 08:00:00.5+00:00", "2026-11-02T08:00:00.500000Z"),
        ("2026-11-02T08:00Z", "2026-11-02T08:00:00Z"),
    ],
)
def test_parse_accepts_iso_8601_with_an_offset(text: str, expected: str) -> None:
    assert format_utc(parse_utc(text, field="start_utc")) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("yesterday", "is not an ISO 8601 time"),
        ("2026-13-01T00:00:00Z", "is not an ISO 8601 time"),
        ("2026-11-02T08:00:00", "has no zone offset; add one, e.g. 2026-11-02T08:00:00Z"),
        # times Arrow reads (its timestamps span 290,000 years) but Python cannot hold
        ("0000-01-01T00:00:00Z", "is not an ISO 8601 time"),
        ("9999-12-31T23:59:59-01:00", "outside the years 1..9999"),
        ("0001-01-01T00:00:00+01:00", "outside the years 1..9999"),
    ],
)
def test_parse_names_the_field_and_the_fix(text: str, why: str) -> None:
    with pytest.raises(InputError, match="^start_utc: .*" + why.replace(".", r"\.")) as info:
        parse_utc(text, field="start_utc")
    assert info.value.field == "start_utc"


def test_arrow_accepts_what_parse_utc_refuses_with_an_input_error() -> None:
    """Year 0 is a valid Arrow timestamp; parse_utc reports it, it does not crash."""
    arr = pc.cast(pa.array(["0000-01-01T00:00:00Z"]), pa.timestamp("us", tz="UTC"))
    assert arr.null_count == 0
    with pytest.raises(InputError, match=r"^t: "):
        parse_utc("0000-01-01T00:00:00Z", field="t")


def test_parse_options() -> None:
    assert parse_utc("2026-07-01", field="from", naive_is_utc=True) == datetime(
        2026, 7, 1, tzinfo=UTC
    )
    assert parse_utc("2026-07-01T00:00:00+00:00", field="from", utc_only=True) == datetime(
        2026, 7, 1, tzinfo=UTC
    )
    with pytest.raises(InputError, match=r"not UTC \(offset 1:00:00\).*here 2026-06-30T23:00:00Z"):
        parse_utc("2026-07-01T00:00+01:00", field="from", utc_only=True)
    with pytest.raises(InputError, match="got int"):
        parse_utc(20260701, field="from")  # type: ignore[arg-type]


def test_format_refuses_a_naive_time() -> None:
    with pytest.raises(InputError, match=r"^computed_utc: a time needs a zone offset"):
        format_utc(datetime(2026, 1, 1), field="computed_utc")


def test_clock_types_fit_the_standard_clocks() -> None:
    ns: MonotonicClockNs = time.monotonic_ns
    epoch: EpochClockS = time.time
    wall: WallClockUtc = lambda: datetime.now(UTC)  # noqa: E731
    assert isinstance(ns(), int) and isinstance(epoch(), float)
    assert wall().tzinfo is UTC
