"""Re-price stored footprints when a better grid signal arrives.

A footprint is priced with the signal the ledger had when the event arrived: often a
forecast, a provisional figure, or the annual average when no interval covered it yet.  When
``infercarbon grid update`` (or the service's ``--refresh``) stores intervals that cover it,
:func:`reprice` recomputes the footprint with the new signal and stores the result as a **new**
footprint whose ``supersedes`` names the old one.  Nothing is updated in place: the old
footprint stays in the ledger, auditable, and ``audit show`` lists the chain; every reader
(report, dashboard, rollups) takes only the live end of each chain.

Only the grid signal changes.  The new footprint's inputs are the old one's (energy and its
band, times, payload, price, the deployment profile, every figure with its range and source)
with ``intensity_g_per_kwh`` and its factor versions replaced, so a re-priced figure differs
from the old one by the signal alone, and ``audit verify`` recomputes it from its own inputs
like any other.  Footprints whose signal did not change are left alone (re-running is a
no-op).  Re-priced footprints are stored in the general layout (the one that records
``supersedes`` chains; ingest's compact rows are never rewritten).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from infercarbon.errors import InputError
from infercarbon.ledger import Store
from infercarbon.ledger.schema import FootprintRecord
from infercarbon.service.footprints import (
    CALCULATOR,
    KINDS,
    SignalBook,
    _region,
    figures_from_inputs,
)

__all__ = ["RepriceResult", "reprice", "reprice_after_update"]

_LIVE = ("f.footprint_id NOT IN (SELECT supersedes FROM footprints WHERE supersedes IS NOT "
         "NULL UNION ALL SELECT supersedes FROM event_footprints WHERE supersedes IS NOT NULL)")
_SCHEMA = pa.schema([pa.field("footprint_id", pa.string()), pa.field("tenant", pa.string()),
                     pa.field("event_id", pa.string()),
                     pa.field("period_start_utc", pa.timestamp("us", tz="UTC")),
                     pa.field("period_end_utc", pa.timestamp("us", tz="UTC")),
                     pa.field("factor_versions_json", pa.string()),
                     pa.field("inputs_json", pa.string())])


@dataclass(frozen=True)
class RepriceResult:
    """What :func:`reprice` did: footprints looked at, re-priced (new footprints stored)."""

    checked: int
    repriced: int
    superseded_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "repriced": self.repriced}


def _signal_of(book: SignalBook, region_id: str, start: np.datetime64, end: np.datetime64
               ) -> tuple[dict[str, Any], dict[str, str]]:
    """The signal inputs and their factor versions of one interval (as ingest prices it)."""
    region = _region(region_id)
    sig: dict[str, Any] = {}
    values: dict[str, Any] = {}
    versions: dict[str, str] = {}
    a, b = np.asarray([start]), np.asarray([end])
    for kind in KINDS:
        segs = book.lookup(region, kind, a, b)
        if not segs:
            continue
        seg = segs[0]
        p = seg.provenance
        values[kind] = {"value": float(seg.value[0]), "low": float(seg.low[0]),
                        "high": float(seg.high[0])}
        sig[kind] = {"source": p["source"], "label": p["label"], "method": p["method"]}
        versions[f"intensity_{kind}"] = f"{p['source']} {p['version']}".strip()
    if "market" not in sig and "location" in sig:
        values["market"] = dict(values["location"])
        sig["market"] = {**sig["location"], "label": "fallback: location-based",
                         "method": "no market instrument configured: location-based figure "
                                   "used"}
        versions["intensity_market"] = versions["intensity_location"]
    return {"values": values, "signals": sig}, versions


def reprice(store: Store, book: SignalBook, *, start_utc: datetime, end_utc: datetime,
            regions: Iterable[str] | None = None, clock: Callable[[], datetime] | None = None,
            page: int = 20_000) -> RepriceResult:
    """Re-price the live footprints of this calculator whose events started in
    ``[start_utc, end_utc)`` (and whose region resolves to one of ``regions``, when given)
    where ``book`` now prices their interval differently; return what was done."""
    now = (clock or (lambda: datetime.now(UTC)))()
    wanted = None if regions is None else {_region(r).region_id for r in regions}
    checked = 0
    records: list[FootprintRecord] = []
    offset = 0
    while True:
        t = store.query_arrow(
            "SELECT f.footprint_id, f.tenant, f.event_id, f.period_start_utc, "
            "f.period_end_utc, f.factor_versions_json, f.inputs_json FROM all_footprints f "
            f"WHERE f.calculator = %s AND f.event_id IS NOT NULL AND {_LIVE} "
            "AND f.period_start_utc >= %s AND f.period_start_utc < %s "
            f"ORDER BY f.footprint_id LIMIT {int(page)} OFFSET {int(offset)}",
            [CALCULATOR, start_utc, end_utc], _SCHEMA)
        if t.num_rows == 0:
            break
        offset += t.num_rows
        for row in t.to_pylist():
            inputs = json.loads(row["inputs_json"])
            shared = inputs["assumptions"]
            rid = _region(str(shared["region"])).region_id
            if wanted is not None and rid not in wanted:
                continue
            checked += 1
            s = np.datetime64(row["period_start_utc"].replace(tzinfo=None), "us")
            e = np.datetime64(row["period_end_utc"].replace(tzinfo=None), "us")
            sig, sig_versions = _signal_of(book, rid, s, e)
            if (sig["values"] == inputs["intensity_g_per_kwh"]
                    and sig["signals"] == shared["signals"]):
                continue
            new_inputs = {**inputs, "intensity_g_per_kwh": sig["values"],
                          "assumptions": {**shared, "signals": sig["signals"]}}
            versions = {k: v for k, v in json.loads(row["factor_versions_json"]).items()
                        if not k.startswith("intensity_")}
            versions.update(sig_versions)
            records.append(FootprintRecord.create(
                tenant=row["tenant"], inputs=new_inputs, factor_versions=versions,
                figures=figures_from_inputs(new_inputs),
                period_start_utc=row["period_start_utc"], period_end_utc=row["period_end_utc"],
                computed_utc=now, calculator=CALCULATOR, event_id=row["event_id"],
                supersedes=row["footprint_id"]))
    for k in range(0, len(records), 5_000):
        store.append_footprints(records[k:k + 5_000])
    return RepriceResult(checked, len(records),
                         tuple(str(r.supersedes) for r in records))


def reprice_after_update(store: Store, book: SignalBook, rows: pa.Table, *,
                         clock: Callable[[], datetime] | None = None) -> RepriceResult:
    """Re-price what the intensity ``rows`` just stored cover: their regions, from the
    first interval's start to the last interval's end."""
    if rows.num_rows == 0:
        return RepriceResult(0, 0)
    starts = rows.column("interval_start_utc").to_pylist()
    res = rows.column("resolution_s").to_pylist()
    ends = [s.timestamp() + r for s, r in zip(starts, res, strict=True)]
    lo = min(starts)
    hi = datetime.fromtimestamp(max(ends), UTC)
    regions = sorted(set(rows.column("region").to_pylist()))
    usable = []
    for r in regions:
        try:
            usable.append(_region(r).region_id)
        except InputError:  # a region no bundled table knows prices no event
            continue
    if not usable:
        return RepriceResult(0, 0)
    return reprice(store, book, start_utc=lo, end_utc=hi, regions=usable, clock=clock)
