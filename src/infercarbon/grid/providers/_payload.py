"""Helpers shared by the provider modules: field access that names what is missing, UTC
time parsing, and checks on the spacing of returned series.

>>> str(to_utc64("2024-03-01T12:00+01:00", field="start"))
'2024-03-01T11:00:00'
>>> iso_z(np.datetime64("2024-03-01T11:00:00"))
'2024-03-01T11:00:00Z'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.errors import DataQualityWarning, InputError, ProviderPayloadError
from infercarbon.timeutil import parse_utc

__all__ = [
    "TimeLike",
    "as_sequence",
    "check_spacing",
    "chunks",
    "iso_from_epoch",
    "iso_z",
    "parse_time",
    "period",
    "require",
    "require_number",
    "to_utc64",
]

TimeLike = str | datetime | date | np.datetime64

_S = np.timedelta64(1, "s")


def to_utc64(value: TimeLike, *, field: str) -> np.datetime64:
    """A user-supplied instant as naive-UTC ``datetime64[s]``.

    Strings are ISO 8601; a string or datetime without an offset is taken as UTC.
    """
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InputError("is NaT", field=field)
        out: np.datetime64 = value.astype("datetime64[s]")
        return out
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        dt = parse_utc(value, field=field, naive_is_utc=True)
    else:
        raise InputError(f"{value!r} is not a date or time", field=field)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(dt.replace(microsecond=0), "s")


def period(start: TimeLike, end: TimeLike) -> tuple[np.datetime64, np.datetime64]:
    """``(start, end)`` as naive-UTC ``datetime64[s]``, checked ``start < end``."""
    a, b = to_utc64(start, field="start"), to_utc64(end, field="end")
    if not a < b:
        raise InputError(f"must be after start ({a})", field="end")
    return a, b


def iso_z(t: np.datetime64, *, minutes: bool = False) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (or ``...THH:MMZ`` with ``minutes``) for a naive-UTC time."""
    text = str(t.astype("datetime64[s]"))  # YYYY-MM-DDTHH:MM:SS
    return (text[:16] if minutes else text) + "Z"


def iso_from_epoch(epoch_s: float) -> str:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (for ``retrieved_at_utc``)."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, *, provider: str, field: str) -> np.datetime64:
    """A provider's ISO 8601 timestamp as naive-UTC ``datetime64[s]``."""
    if not isinstance(value, str):
        raise ProviderPayloadError(provider, field, f"expected an ISO 8601 string, got {value!r}")
    try:
        dt = parse_utc(value, field=field)
    except InputError as exc:
        raise ProviderPayloadError(provider, field, str(exc).removeprefix(f"{field}: ")) from exc
    return np.datetime64(dt.replace(tzinfo=None), "s")


def require(obj: Any, key: str, *, provider: str, path: str) -> Any:
    """``obj[key]``, or a :class:`ProviderPayloadError` naming ``path.key``."""
    where = f"{path}.{key}" if path else key
    if not isinstance(obj, dict):
        raise ProviderPayloadError(
            provider, path or "(root)", f"expected a JSON object, got {type(obj).__name__}"
        )
    if key not in obj:
        raise ProviderPayloadError(provider, where, "missing")
    return obj[key]


def require_number(
    obj: Any, key: str, *, provider: str, path: str, allow_null: bool = False
) -> float | None:
    """A finite number at ``obj[key]`` (``None`` allowed only with ``allow_null``)."""
    v = require(obj, key, provider=provider, path=path)
    where = f"{path}.{key}" if path else key
    if v is None and allow_null:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ProviderPayloadError(provider, where, f"expected a number, got {v!r}")
    x = float(v)
    if not np.isfinite(x):
        raise ProviderPayloadError(provider, where, f"{v!r} is not finite")
    return x


def check_spacing(
    times: npt.NDArray[np.datetime64], resolution_s: int, *, provider: str
) -> tuple[str, ...]:
    """Sort-and-gap check of returned steps.

    Duplicates or unsorted times are a payload error.  Gaps (a step later than one
    resolution after the previous) are allowed but warned (:class:`DataQualityWarning`);
    the returned notes go into the signal's provenance so the gap is recorded.
    """
    if len(times) < 2:
        return ()
    d = np.diff(times.astype("datetime64[s]")) / _S
    if (d <= 0).any():
        i = int(np.argmax(d <= 0)) + 1
        raise ProviderPayloadError(
            provider, f"data[{i}]", f"time {times[i]} is not after the previous one"
        )
    gaps = np.flatnonzero(d > resolution_s)
    if len(gaps) == 0:
        return ()
    missing = int(np.sum(d[gaps] // resolution_s - 1))
    first = times[gaps[0]]
    note = (
        f"{missing} missing step(s) of {resolution_s} s in {len(gaps)} gap(s), first after "
        f"{first}; a lookup inside a gap returns the step before it"
    )
    warnings.warn(f"{provider}: {note}", DataQualityWarning, stacklevel=3)
    return (note,)


def chunks(
    start: np.datetime64, end: np.datetime64, max_s: int
) -> list[tuple[np.datetime64, np.datetime64]]:
    """Split ``[start, end)`` into consecutive pieces of at most ``max_s`` seconds."""
    out = []
    step = np.timedelta64(max_s, "s")
    a = start
    while a < end:
        b = min(a + step, end)
        out.append((a, b))
        a = b
    return out


def as_sequence(obj: Any, *, provider: str, path: str) -> Sequence[Any]:
    if not isinstance(obj, list):
        raise ProviderPayloadError(
            provider, path, f"expected a JSON array, got {type(obj).__name__}"
        )
    return obj
