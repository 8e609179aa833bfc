"""Grid signals for the ingest path: which intensity prices each event, decided per event.

:class:`SignalBook` holds the series the service loaded (``--signals``, the ledger's
``intensity`` intervals through :func:`signals_from_intensity`, market-based instruments through
:func:`market_signal_from_instruments`) and the bundled hourly series of a region (ERCOT).  For
each event interval it answers with a loaded series that covers it, else the bundled series,
else (location) the bundled annual figure with its range; a marginal or market basis that
nothing covers has no signal.  A forecast or provisional interval is labelled as such, and the
footprints it prices are re-priced when the final figure arrives (the service's re-pricing,
:mod:`infercarbon.service.reprice`).  Regions are resolved once per distinct string
(:func:`resolve_regions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from infercarbon.arrays import FloatArray
from infercarbon.errors import EventValidationError, InputError, Problem
from infercarbon.grid.signal import IntensitySeries
from infercarbon.reference.regions import Region, resolve_region

__all__ = [
    "STATUS_RANK",
    "SignalBook",
    "SignalSegment",
    "codes",
    "market_signal_from_instruments",
    "region_of",
    "resolve_regions",
    "signals_from_intensity",
]

_SERIES_KIND = {"location": "location-average", "market": "market", "marginal": "marginal"}


@lru_cache(maxsize=4096)
def region_of(query: str) -> Region:
    """The resolved region of a query string (cached: a service sees few)."""
    return resolve_region(query)


def codes(
    values: Sequence[Any] | pa.Array | pa.ChunkedArray,
) -> tuple[list[Any], npt.NDArray[np.intp]]:
    """(distinct values in order of first appearance, index of each value): Arrow's
    dictionary encoding (C), not a sort of Python strings."""
    arr = (
        values
        if isinstance(values, pa.Array | pa.ChunkedArray)
        else pa.array(list(values), pa.string())
    )
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = arr.dictionary_encode()
    return (
        enc.dictionary.to_pylist(),
        np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.intp),
    )


def resolve_regions(
    regions: Sequence[str] | pa.Array | pa.ChunkedArray, *, row: str = "events"
) -> tuple[list[Region], npt.NDArray[np.intp]]:
    """Resolve each distinct region string once; return (regions, index per event).

    Raises :class:`~infercarbon.errors.EventValidationError` naming every row whose
    region is unknown."""
    uniq, inv = codes(regions)
    out: list[Region] = []
    problems: list[Problem] = []
    for j, q in enumerate(uniq):
        try:
            out.append(region_of(str(q)))
        except InputError as exc:
            problems.extend(
                Problem(int(i), "region", str(exc).removeprefix("region: "))
                for i in np.flatnonzero(inv == j)[:50]
            )
            out.append(None)  # type: ignore[arg-type]  # never returned: problems raise below
    if problems:
        problems.sort(key=lambda p: p.index)
        raise EventValidationError(row, problems)
    return out, inv


@dataclass(frozen=True)
class SignalSegment:
    """The events (``idx``, positions in the looked-up arrays) one source prices."""

    idx: npt.NDArray[np.intp]
    value: FloatArray
    low: FloatArray
    high: FloatArray
    provenance: dict[str, Any]


def _prov_of(s: IntensitySeries, note: str | None = None) -> dict[str, Any]:
    p = s.provenance
    return {
        "source": p.source,
        "version": p.version,
        "method": p.method if note is None else f"{p.method}; {note}",
        "label": p.label,
        "resolution_s": s.resolution_s,
    }


class SignalBook:
    """Intensity signals by (region id, kind), and the bundled series behind them."""

    def __init__(
        self,
        signals: Sequence[IntensitySeries] = (),
        *,
        bundled: bool = True,
        factor_set: str = "infercarbon",
    ) -> None:
        from infercarbon.grid.factors import check_factor_set

        self._by: dict[tuple[str, str], IntensitySeries] = {}
        self.bundled = bundled
        #: per-fuel lifecycle factors of the bundled hourly series (computed from a fuel mix)
        self.factor_set = check_factor_set(factor_set)
        for s in signals:
            rid = region_of(s.region).region_id
            kind = {v: k for k, v in _SERIES_KIND.items()}[s.kind]
            if (rid, kind) in self._by:
                raise InputError(f"two {s.kind} signals for region {rid}", field="signals")
            self._by[(rid, kind)] = s

    def get(self, region_id: str, kind: str) -> IntensitySeries | None:
        return self._by.get((region_id, kind))

    def all(self) -> list[tuple[str, str, IntensitySeries]]:
        return [(r, k, s) for (r, k), s in sorted(self._by.items())]

    def _bundled(self, region: Region, kind: str) -> IntensitySeries | None:
        if not self.bundled or kind == "market":
            return None
        from infercarbon.grid import catalogue

        if catalogue.series_key(region.region_id) is None:
            return None
        return (catalogue.hourly_location if kind == "location" else catalogue.hourly_marginal)(
            region.region_id, "lifecycle", self.factor_set
        )

    def lookup(
        self,
        region: Region,
        kind: str,
        start: npt.NDArray[np.datetime64],
        end: npt.NDArray[np.datetime64],
    ) -> list[SignalSegment]:
        """The intensity (value, low, high) of each interval and its provenance, decided per
        interval: the loaded series where it covers the interval, else the bundled hourly
        series, else (location) the annual figure.  Intervals no source covers are in no
        segment (a marginal or market basis without a signal)."""
        out: list[SignalSegment] = []
        todo = np.arange(len(start))
        for series in (self.get(region.region_id, kind), self._bundled(region, kind)):
            if series is None or not len(todo):
                continue
            a, b = start[todo], end[todo]
            if series.resolution_s is None:
                covered = np.ones(len(todo), dtype=bool)
            else:
                covered = (a >= series.start_utc[0]) & (b <= series.end_utc)
            idx = todo[covered]
            if not len(idx):
                continue
            got = _integrate(series, start[idx], end[idx])
            if got is None:  # a hole somewhere: one interval at a time (error path only)
                ok = np.zeros(len(idx), dtype=bool)
                vals = np.zeros((3, len(idx)))
                for k, i in enumerate(idx):
                    one = _integrate(series, start[i : i + 1], end[i : i + 1])
                    if one is not None:
                        ok[k] = True
                        vals[:, k] = [x[0] for x in one]
                idx, got = idx[ok], (vals[0][ok], vals[1][ok], vals[2][ok])
            if len(idx):
                out.extend(_by_status(series, idx, start, end, got))
                todo = np.setdiff1d(todo, idx, assume_unique=True)
        if kind == "location" and len(todo):
            f = region.intensity_g_per_kwh
            lo_, hi_ = f.range
            n = len(todo)
            loaded = (
                self.get(region.region_id, kind) is not None
                or self._bundled(region, kind) is not None
            )
            note = "annual average" + (
                "; the loaded series does not cover the interval" if loaded else ""
            )
            out.append(
                SignalSegment(
                    todo,
                    np.full(n, f.value),
                    np.full(n, lo_),
                    np.full(n, hi_),
                    {
                        "source": f.source,
                        "version": f.vintage or "",
                        "method": note,
                        "label": f.label,
                        "resolution_s": None,
                    },
                )
            )
        return out


_STATUS_NAME = {0: "forecast", 1: "provisional"}


def _by_status(
    series: IntensitySeries,
    idx: npt.NDArray[np.intp],
    start: npt.NDArray[np.datetime64],
    end: npt.NDArray[np.datetime64],
    got: tuple[FloatArray, FloatArray, FloatArray],
) -> list[SignalSegment]:
    """Segments of ``idx`` by the worst status of the steps each interval covers (a series
    without statuses is final): a footprint priced by a forecast or provisional interval says
    so in its signal's label, and is re-priced when the final figure arrives."""
    ranks = series.extra.get("status_rank")
    if ranks is None or series.resolution_s is None or (ranks == 2).all():
        return [SignalSegment(idx, *got, _prov_of(series))]

    def step(t: npt.NDArray[np.datetime64]) -> npt.NDArray[np.intp]:
        i = np.searchsorted(series.start_utc, t.astype("datetime64[ns]"), side="right") - 1
        return np.clip(i, 0, len(series.start_utc) - 1).astype(np.intp)

    i0 = step(start[idx])
    i1 = step(
        np.maximum(
            end[idx].astype("datetime64[ns]") - np.timedelta64(1, "ns"),
            start[idx].astype("datetime64[ns]"),
        )
    )
    # the worst rank over [i0, i1]: a running minimum is exact for intervals of one or two
    # steps (the usual case); longer ones take the minimum over their steps
    worst = np.minimum(ranks[i0], ranks[i1])
    long_ = np.flatnonzero(i1 - i0 > 1)
    for k in long_.tolist():
        worst[k] = int(ranks[i0[k] : i1[k] + 1].min())
    out = []
    for r in np.unique(worst).tolist():
        m = worst == r
        prov = _prov_of(series)
        if r in _STATUS_NAME:
            prov = {
                **prov,
                "label": f"{prov['label']} ({_STATUS_NAME[r]})",
                "method": f"{prov['method']}; {_STATUS_NAME[r]} interval(s): re-priced "
                "when the final figure arrives",
            }
        out.append(SignalSegment(idx[m], got[0][m], got[1][m], got[2][m], prov))
    return out


def _integrate(
    series: IntensitySeries, a: npt.NDArray[np.datetime64], b: npt.NDArray[np.datetime64]
) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    try:
        v, lo, hi = (series.integrate(a, b, which=w) for w in ("value", "low", "high"))
    except InputError:
        return None
    return v, lo, hi


#: Status ranks of intensity intervals: a later retrieval of a better status wins.
STATUS_RANK: dict[str | None, int] = {"forecast": 0, "provisional": 1, "final": 2, None: 2}


def signals_from_intensity(snapshots: pa.Table) -> list[IntensitySeries]:
    """Series from the ledger's intensity snapshots (``Store.intensity()``), one per
    (region, kind): the basis with the most rows, and for an interval stored several times
    the best status (final over provisional over forecast; null is final), then the latest
    retrieval.  Each step's status is kept (``extra["status_rank"]``) so the footprints it
    prices say whether their signal is final.  Regions that no bundled table knows are
    skipped (they cannot match an event's resolved region)."""
    from infercarbon.grid.signal import SignalProvenance

    if snapshots.num_rows == 0:
        return []
    t = snapshots.sort_by([("retrieved_utc", "ascending")])
    names = [
        "region",
        "kind",
        "basis",
        "interval_start_utc",
        "resolution_s",
        "value_g_per_kwh",
        "low_g_per_kwh",
        "high_g_per_kwh",
        "source",
        "version",
    ]
    cols = {c: t.column(c).to_pylist() for c in names}
    status = t.column("status").to_pylist() if "status" in t.column_names else [None] * t.num_rows
    rank = [STATUS_RANK.get(x, 2) for x in status]
    groups: dict[tuple[str, str], dict[str, dict[Any, int]]] = {}
    for i in range(t.num_rows):
        g = groups.setdefault((cols["region"][i], cols["kind"][i]), {})
        key = (cols["interval_start_utc"][i], cols["resolution_s"][i])
        slot_ = g.setdefault(cols["basis"][i], {})
        if key not in slot_ or rank[i] >= rank[slot_[key]]:
            slot_[key] = i  # the best status, then the latest retrieval
    out: list[IntensitySeries] = []
    for (region, kind), by_basis in sorted(groups.items()):
        basis = max(sorted(by_basis), key=lambda b: len(by_basis[b]))
        rows = [by_basis[basis][k] for k in sorted(by_basis[basis])]
        res = {cols["resolution_s"][i] for i in rows}
        try:
            region_of(region)
        except InputError:
            continue
        if len(res) != 1:
            raise InputError(
                f"intensity snapshots of {region} {kind} mix resolutions {sorted(res)}",
                field="intensity",
            )
        v = np.asarray([cols["value_g_per_kwh"][i] for i in rows], dtype=float)
        # a missing bound is the value itself (no range stated)
        lo, hi = (
            np.asarray(
                [
                    b if (b := cols[name][i]) is not None else x
                    for i, x in zip(rows, v, strict=True)
                ],
                dtype=float,
            )
            for name in ("low_g_per_kwh", "high_g_per_kwh")
        )
        starts = np.asarray(
            [cols["interval_start_utc"][i].replace(tzinfo=None) for i in rows],
            dtype="datetime64[ns]",
        )
        srcs = sorted({f"{cols['source'][i]} {cols['version'][i]}" for i in rows})
        out.append(
            IntensitySeries.from_arrays(
                region=region,
                kind=kind,  # type: ignore[arg-type]
                basis=basis,  # type: ignore[arg-type]
                resolution_s=int(res.pop()),
                start_utc=starts,
                intensity_g_per_kwh=v,
                low_g_per_kwh=lo,
                high_g_per_kwh=hi,
                provenance=SignalProvenance(
                    source="ledger intensity snapshots: " + "; ".join(srcs),
                    version=str(len(rows)) + " snapshots",
                    method="snapshots appended to the ledger",
                ),
                extra={"status_rank": np.asarray([rank[i] for i in rows], dtype=np.int64)},
            )
        )
    return out


def market_signal_from_instruments(path: str) -> IntensitySeries:
    """The market-based signal an instruments file gives its region over its consumption
    period (``infercarbon serve --instruments FILE``; the same figure as ``estimate
    --instruments``): one step covering the period, annual (volumetric) matching.  Events
    outside the period keep the labelled location-based fallback."""
    from infercarbon.grid.instruments import load_instruments, market_from_instruments
    from infercarbon.grid.signal import SignalProvenance

    f = load_instruments(path)
    if f.consumption is None or f.region is None:
        raise InputError(
            f"{path}: --instruments needs a file with a region and a consumption "
            "section (the period the instruments cover; see docs/instruments.md)",
            field="instruments",
        )
    region = region_of(f.region)
    r = market_from_instruments(
        f, region=f.region, location=region.intensity_g_per_kwh, strict=False
    )
    cons = f.consumption
    start = cons.start_utc[0].astype("datetime64[s]")
    end = (cons.start_utc[-1] + np.timedelta64(int(cons.resolution_s), "s")).astype("datetime64[s]")
    lo, hi = r.figure.range
    label = f"fallback: {r.label}" if r.fallback else r.label
    return IntensitySeries.from_arrays(
        region=region.region_id,
        kind="market",
        basis="lifecycle",
        resolution_s=int((end - start).astype(np.int64)),
        start_utc=[start],
        intensity_g_per_kwh=[r.figure.value],
        low_g_per_kwh=[lo],
        high_g_per_kwh=[hi],
        provenance=SignalProvenance(
            source=f"instruments file {Path(path).name}: {r.figure.source}",
            version=f"{start}..{end}",
            method="market-based (GHG Protocol Scope 2): " + (r.figure.note or r.label),
            label=label,
        ),
    )
