"""Grid signals as ledger rows: an intensity series becomes intervals in the ``intensity`` layout.

This module is the pure half of ``infercarbon grid update`` and of the service's refresher
(:mod:`infercarbon.grid.update_sources` fetches; this module maps).  It never imports the
ledger: it builds a plain :class:`pyarrow.Table` whose columns are the ledger's ``intensity``
columns (:data:`INTENSITY_COLUMNS`, a test pins them to
:data:`infercarbon.ledger.schema.INTENSITY`).

Every interval carries its provenance:

``source``, ``version``
    where the figure came from (API endpoint, bundled table and vintage, CSV and its digest);
``method``
    how it was derived (``production-based fuel mix x per-fuel rates``, ``regression dE/dL``,
    ``provider history``);
``status``
    ``forecast``, ``provisional`` (may still be revised: estimated by the provider, initial
    settlement) or ``final``; null in rows written before schema version 3 means final;
``marginal_unit``
    the marginal unit or fuel of a marginal interval (null otherwise or where unknown);
``confidence_level``
    the coverage of ``low_g_per_kwh``..``high_g_per_kwh`` (0.95 for a 95 % interval); null
    where the range is an envelope of unstated coverage, or where there is no range (the
    provider publishes none: low and high are then null too, never a zero-width range);
``retrieved_utc``
    when this run read the figure; part of the ledger key, so a later retrieval of the same
    interval (a better status, a revised value) is a new row, and :func:`only_changed` keeps
    a refresh from storing an unchanged interval again.

>>> import numpy as np
>>> from datetime import UTC, datetime
>>> from infercarbon.grid.signal import IntensitySeries, SignalProvenance
>>> s = IntensitySeries.from_arrays(
...     region="X", kind="location-average", basis="direct", resolution_s=3600,
...     start_utc=np.array(["2024-01-01T00", "2024-01-01T01"], dtype="datetime64[s]"),
...     intensity_g_per_kwh=np.array([100.0, 300.0]),
...     provenance=SignalProvenance(source="example", version="1", method="doctest"))
>>> t = intensity_table(s, retrieved_utc=datetime(2024, 1, 1, 3, tzinfo=UTC))
>>> t.column("status").to_pylist(), t.column("low_g_per_kwh").to_pylist()
(['final', 'final'], [None, None])
>>> only_changed(t, t).num_rows
0
>>> UpdateSpec.parse("ukci:GB:forecast")
UpdateSpec(source='ukci', region='GB', kind='forecast')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError
from infercarbon.grid.signal import IntensitySeries

__all__ = [
    "CONTENT_COLUMNS",
    "INTENSITY_COLUMNS",
    "INTENSITY_SCHEMA",
    "SERIES_KEY_COLUMNS",
    "SOURCES",
    "STATUSES",
    "SUPPORTED_KINDS",
    "UPDATE_KINDS",
    "Source",
    "Status",
    "UpdateKind",
    "UpdateSpec",
    "default_status",
    "empty_intensity_table",
    "intensity_table",
    "only_changed",
]

Status = Literal["forecast", "provisional", "final"]
#: Status of a stored interval, from least to most settled.
STATUSES: tuple[str, ...] = get_args(Status)

#: What ``grid update --kind`` asks for: ``location`` is stored as kind
#: ``location-average``, ``marginal`` as ``marginal``; ``forecast`` asks the provider's
#: forecast endpoint, stored under the series' own kind with status ``forecast``.
UpdateKind = Literal["location", "marginal", "forecast"]
UPDATE_KINDS: tuple[str, ...] = get_args(UpdateKind)

Source = Literal["operator-csv", "electricitymaps", "watttime", "ukci", "entsoe"]
SOURCES: tuple[str, ...] = get_args(Source)

#: The kinds each source serves, and why the others are missing.
SUPPORTED_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "operator-csv": ("location", "marginal"),
    "electricitymaps": ("location",),
    "watttime": ("location", "marginal", "forecast"),
    "ukci": ("location", "forecast"),
    "entsoe": ("location",),
}
_UNSUPPORTED_HINT: Final[dict[tuple[str, str], str]] = {
    ("operator-csv", "forecast"): "operator data has no forecast endpoint; a forecast CSV is "
    "stored with --kind location --status forecast",
    ("electricitymaps", "marginal"): "Electricity Maps publishes location-average intensity "
    "only; for marginal use watttime or operator-csv",
    ("electricitymaps", "forecast"): "infercarbon's Electricity Maps client has no forecast "
    "endpoint (latest, history and past-range only); for "
    "forecasts use ukci or watttime",
    ("ukci", "marginal"): "the GB Carbon Intensity API publishes average intensity only; for "
    "marginal use watttime or operator-csv",
    ("entsoe", "marginal"): "ENTSO-E generation gives a location-average intensity only; for "
    "marginal use watttime or operator-csv",
    ("entsoe", "forecast"): "infercarbon's ENTSO-E client reads actual generation only (no "
    "forecast); for forecasts use ukci or watttime",
}

TS = pa.timestamp("us", tz="UTC")

#: The ledger's ``intensity`` columns, in order (pinned to the ledger schema by a test).
INTENSITY_SCHEMA: Final = pa.schema(
    [
        pa.field("region", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("basis", pa.string(), nullable=False),
        pa.field("interval_start_utc", TS, nullable=False),
        pa.field("resolution_s", pa.int64(), nullable=False),
        pa.field("value_g_per_kwh", pa.float64(), nullable=False),
        pa.field("low_g_per_kwh", pa.float64()),
        pa.field("high_g_per_kwh", pa.float64()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("version", pa.string(), nullable=False),
        pa.field("retrieved_utc", TS, nullable=False),
        pa.field("method", pa.string()),
        pa.field("status", pa.string()),
        pa.field("marginal_unit", pa.string()),
        pa.field("confidence_level", pa.float64()),
    ]
)
INTENSITY_COLUMNS: tuple[str, ...] = tuple(INTENSITY_SCHEMA.names)
#: Columns that name one stream of intervals (the ledger key less ``retrieved_utc``).
SERIES_KEY_COLUMNS: tuple[str, ...] = (
    "region",
    "kind",
    "basis",
    "interval_start_utc",
    "resolution_s",
    "source",
    "version",
)
#: Columns whose change makes a new retrieval worth storing.
CONTENT_COLUMNS: tuple[str, ...] = (
    "value_g_per_kwh",
    "low_g_per_kwh",
    "high_g_per_kwh",
    "method",
    "status",
    "marginal_unit",
    "confidence_level",
)


# ------------------------------------------------------------------------------- specs
@dataclass(frozen=True, slots=True)
class UpdateSpec:
    """One stream to keep fresh: a source, a region, and what to ask for.

    ``region`` is the source's own name (an Electricity Maps zone such as ``DE``, a WattTime
    region such as ``CAISO_NORTH``, ``GB`` or ``13`` for the GB API, a bidding zone for
    ENTSO-E, ``ERCOT`` for the bundled operator data).  Unsupported pairs fail here, before
    any request, with the reason (e.g. Electricity Maps has no forecast in this client).
    """

    source: Source
    region: str
    kind: UpdateKind = "location"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise InputError(
                f"unknown source {self.source!r}; one of {', '.join(SOURCES)}", field="source"
            )
        if not isinstance(self.region, str) or not self.region.strip():
            raise InputError("give a region (e.g. DE, GB, ERCOT)", field="region")
        if self.kind not in UPDATE_KINDS:
            raise InputError(
                f"unknown kind {self.kind!r}; one of {', '.join(UPDATE_KINDS)}", field="kind"
            )
        if self.kind not in SUPPORTED_KINDS[self.source]:
            hint = _UNSUPPORTED_HINT.get((self.source, self.kind), "")
            raise InputError(
                f"{self.source} serves --kind "
                f"{', '.join(SUPPORTED_KINDS[self.source])}" + (f": {hint}" if hint else ""),
                field="kind",
            )

    @classmethod
    def parse(cls, text: str) -> UpdateSpec:
        """``SOURCE:REGION[:KIND]`` (kind defaults to ``location``)."""
        parts = [p.strip() for p in str(text).split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise InputError(
                f"{text!r}: use SOURCE:REGION[:KIND], e.g. ukci:GB:forecast or electricitymaps:DE",
                field="--update",
            )
        kind = parts[2] if len(parts) == 3 else "location"
        return cls(cast(Source, parts[0]), parts[1], cast(UpdateKind, kind))

    @property
    def label(self) -> str:
        """``source:region:kind``, the spec's name in status reports."""
        return f"{self.source}:{self.region}:{self.kind}"


# ----------------------------------------------------------------------------- mapping
def _naive_utc(t: datetime, field: str) -> np.datetime64:
    if not isinstance(t, datetime) or t.utcoffset() is None:
        raise InputError("must be a timezone-aware datetime (UTC)", field=field)
    return np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us")


def default_status(series: IntensitySeries, now_utc: datetime) -> npt.NDArray[np.object_]:
    """Each step's status from what the series says about itself.

    ``extra["status"]`` (set by the source) wins; otherwise a step flagged
    ``extra["is_forecast"]`` (GB API) or starting after ``now_utc`` is a ``forecast``, one
    flagged ``extra["is_estimated"]`` (Electricity Maps) is ``provisional``, the rest
    ``final``.
    """
    n = len(series)
    out = np.full(n, "final", dtype=object)
    est = series.extra.get("is_estimated")
    if est is not None:
        out[np.asarray(est, dtype=bool)] = "provisional"
    fc = series.extra.get("is_forecast")
    if fc is not None:
        out[np.asarray(fc, dtype=bool)] = "forecast"
    out[series.start_utc >= _naive_utc(now_utc, "now_utc")] = "forecast"
    given = series.extra.get("status")
    if given is not None:
        g = np.asarray(given, dtype=object)
        bad = sorted({str(v) for v in g if v is not None} - set(STATUSES))
        if bad:
            raise InputError(
                f"unknown status {bad[0]!r}; one of {', '.join(STATUSES)}", field="status"
            )
        has = np.array([v is not None for v in g], dtype=bool)
        out[has] = g[has]
    return out


def _strings(values: npt.NDArray[np.object_] | None, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, pa.string())
    return pa.array([None if v is None or v == "" else str(v) for v in values], pa.string())


def intensity_table(
    series: IntensitySeries,
    *,
    retrieved_utc: datetime,
    status: Status | None = None,
    method: str | None = None,
    confidence_level: float | None = None,
    source: str | None = None,
    version: str | None = None,
) -> pa.Table:
    """The series as ledger ``intensity`` rows (:data:`INTENSITY_SCHEMA`), one per step.

    Parameters
    ----------
    series : IntensitySeries
        Stepped (``resolution_s`` set).  ``extra["marginal_unit"]`` (one name per step) fills
        ``marginal_unit``; see :func:`default_status` for the extras that set ``status``.
    retrieved_utc : datetime
        When this run read the figures (timezone-aware) [UTC].
    status : str, optional
        One status for every step (overrides :func:`default_status`).
    method, source, version : str, optional
        Override the series' provenance (default: ``series.provenance``).
    confidence_level : float, optional
        Coverage of the low..high range in (0, 1); only stored where there is a range.
    """
    if series.resolution_s is None:
        raise InputError(
            "a constant signal (no resolution) is not a series of intervals; "
            "the ledger stores intervals",
            field="resolution_s",
        )
    if status is not None and status not in STATUSES:
        raise InputError(f"must be one of {', '.join(STATUSES)}", field="status")
    if confidence_level is not None and not (
        isinstance(confidence_level, float | int)
        and 0.0 < confidence_level < 1.0
        and math.isfinite(confidence_level)
    ):
        raise InputError(
            f"must be in (0, 1), e.g. 0.9 for p5..p95; got {confidence_level!r}",
            field="confidence_level",
        )
    prov = series.provenance
    src = source if source is not None else prov.source
    ver = version if version is not None else prov.version
    how = method if method is not None else prov.method
    for name, text in (("source", src), ("version", ver)):
        if not text or not text.strip():
            raise InputError(
                f"the series has no {name}; every stored interval names its "
                f"{name} (pass {name}=...)",
                field=name,
            )
    n = len(series)
    retrieved = _naive_utc(retrieved_utc, "retrieved_utc")
    v = series.intensity_g_per_kwh
    has_range = not (
        np.array_equal(series.low_g_per_kwh, v) and np.array_equal(series.high_g_per_kwh, v)
    )
    st = (
        np.full(n, status, dtype=object)
        if status is not None
        else default_status(series, retrieved_utc)
    )
    unit = series.extra.get("marginal_unit")
    if unit is not None and len(unit) != n:
        raise InputError("needs one marginal unit per step", field="marginal_unit")
    cols: list[pa.Array] = [
        pa.array(np.full(n, series.region, dtype=object), pa.string()),
        pa.array(np.full(n, series.kind, dtype=object), pa.string()),
        pa.array(np.full(n, series.basis, dtype=object), pa.string()),
        pa.array(series.start_utc.astype("datetime64[us]"), TS),
        pa.array(np.full(n, series.resolution_s, dtype=np.int64)),
        pa.array(v, pa.float64()),
        pa.array(series.low_g_per_kwh, pa.float64()) if has_range else pa.nulls(n, pa.float64()),
        pa.array(series.high_g_per_kwh, pa.float64()) if has_range else pa.nulls(n, pa.float64()),
        pa.array(np.full(n, src, dtype=object), pa.string()),
        pa.array(np.full(n, ver, dtype=object), pa.string()),
        pa.array(np.full(n, retrieved), TS),
        pa.array(np.full(n, how or None, dtype=object), pa.string()),
        pa.array(st, pa.string()),
        _strings(None if unit is None else np.asarray(unit, dtype=object), n),
        pa.array(
            np.full(
                n, float(confidence_level) if confidence_level is not None and has_range else np.nan
            ),
            pa.float64(),
            from_pandas=True,
        ),
    ]
    return pa.Table.from_arrays(cols, schema=INTENSITY_SCHEMA)


def empty_intensity_table() -> pa.Table:
    """No rows, in the ``intensity`` layout."""
    return INTENSITY_SCHEMA.empty_table()


def _same(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    """Element-wise equality where null equals null."""
    eq = pc.or_kleene(pc.equal(a, b), pc.and_(pc.is_null(a), pc.is_null(b)))
    return pc.fill_null(eq, False)


def only_changed(new: pa.Table, stored: pa.Table) -> pa.Table:
    """The rows of ``new`` worth storing: an interval not stored yet, or whose latest stored
    retrieval differs in value, range, status, method, marginal unit or confidence level.

    ``stored`` is what the ledger holds for the same intervals (any columns superset of
    :data:`SERIES_KEY_COLUMNS`, ``retrieved_utc`` and :data:`CONTENT_COLUMNS`; a column an
    older ledger lacks counts as null).  Set-based (group-by and join), no loop per row; the
    rows kept are in their order in ``new``.
    """
    if new.num_rows == 0 or stored.num_rows == 0:
        return new
    keys = list(SERIES_KEY_COLUMNS)
    for c in (*SERIES_KEY_COLUMNS, "retrieved_utc", *CONTENT_COLUMNS):
        if c not in stored.column_names:
            stored = stored.append_column(
                c, pa.nulls(stored.num_rows, INTENSITY_SCHEMA.field(c).type)
            )
    stored = stored.select([*keys, "retrieved_utc", *CONTENT_COLUMNS]).cast(
        pa.schema(
            [
                INTENSITY_SCHEMA.field(c).with_nullable(True)
                for c in (*keys, "retrieved_utc", *CONTENT_COLUMNS)
            ]
        )
    )
    last = (
        stored.group_by(keys)
        .aggregate([("retrieved_utc", "max")])
        .rename_columns([*keys, "retrieved_utc"])
    )
    latest = stored.join(last, keys=[*keys, "retrieved_utc"], join_type="inner")
    old = [f"__old_{c}" for c in CONTENT_COLUMNS]
    latest = latest.select([*keys, *CONTENT_COLUMNS]).rename_columns([*keys, *old])
    probe = new.select(keys).append_column("__row", pa.array(np.arange(new.num_rows)))
    for c in CONTENT_COLUMNS:
        probe = probe.append_column(c, new.column(c))
    joined = probe.join(latest, keys=keys, join_type="left outer")
    same = pa.chunked_array([pa.array(np.ones(joined.num_rows, dtype=bool))])
    for c, o in zip(CONTENT_COLUMNS, old, strict=True):
        same = pc.and_(same, _same(joined.column(c), joined.column(o)))
    rows = joined.filter(pc.invert(same)).column("__row").to_numpy()
    return new.take(pa.array(np.sort(rows)))
