"""The server-side footprint of each ingested event: operational emissions on three bases.

For a batch of events (an Arrow table with the ledger's event columns) this computes, with
numpy over the whole batch (one pass per region and kind, never a Python loop per event
for the arithmetic)::

    facility_j    = energy_j x pue x (1 + td_loss_frac)
    <kind>_g      = facility_j / 3.6e6 x intensity_<kind>      kind = location, market, marginal
    <kind>_low_g  = the same at the signal's low intensity; <kind>_high_g at its high

using :func:`infercarbon.accounting.compose.operational_g`.

Intensities (:class:`SignalBook`):

- **location**: a ``location-average`` series loaded for the event's region when it covers the
  event's interval (time-weighted mean over ``[start, end)``); otherwise the bundled annual
  figure of the region (:func:`~infercarbon.reference.regions.resolve_region`) with its range.
- **market**: a ``market`` series or constant for the region when configured; otherwise the
  location figure, labelled ``fallback: location-based`` (GHG Protocol: without contractual
  instruments the market-based figure uses the location-based one; recorded per event).
- **marginal**: a ``marginal`` series for the region that covers the interval; otherwise the
  line is ``excluded: no marginal signal`` and the marginal total is absent (never zero).

The ranges are the signal's own low/high (a bound, not a Monte Carlo percentile); the event's
energy is taken as given (its ``attribution_method`` says how it was obtained).

Each event's footprint is stored as a ledger footprint whose ``inputs`` hold everything
:func:`figures_from_inputs` needs, so ``audit verify`` recomputes the same numbers from the
stored inputs alone.  Ingest stores them in the ledger's compact layout
(:func:`footprint_batch`: one context per region group, :func:`footprint_contexts`, and one
row of numbers per event, built column by column; see :mod:`infercarbon.ledger.compact`);
:func:`footprint_records` builds the same records one
:class:`~infercarbon.ledger.schema.FootprintRecord` at a time for the general layout (a test
pins that both give the same ids, inputs, hashes and figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from infercarbon.accounting.compose import operational_g
from infercarbon.accounting.footprint import LINE_SCOPES, check_operating_model
from infercarbon.errors import InputError
from infercarbon.grid.signal import IntensitySeries
from infercarbon.ledger.compact import (
    ContextItem,
    EventFootprintBatch,
    FootprintContext,
    build_event_footprints,
    slot,
)
from infercarbon.ledger.schema import (
    EventValidationError,
    FootprintFigures,
    FootprintRecord,
    LineItemRecord,
    Problem,
    TotalRecord,
)
from infercarbon.reference.regions import Region, resolve_region

__all__ = [
    "CALCULATOR",
    "KINDS",
    "AccountingConfig",
    "EventFootprints",
    "SignalBook",
    "compute_footprints",
    "figures_from_inputs",
    "footprint_batch",
    "footprint_contexts",
    "footprint_records",
    "resolve_regions",
    "signals_from_intensity",
]

#: Name and version of this calculator, stored with every footprint it computes.
CALCULATOR = "infercarbon.service.footprints:operational/v1"
KINDS: tuple[str, ...] = ("location", "market", "marginal")
_SERIES_KIND = {"location": "location-average", "market": "market", "marginal": "marginal"}


def _scope(operating_model: str, kind: str) -> str:
    """GHG Protocol scope of an operational line (``LINE_SCOPES``: owned devices are Scope 2,
    bought cloud compute Scope 3 cat. 1, sold products Scope 3 cat. 11; marginal is a memo)."""
    return LINE_SCOPES[operating_model][kind]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AccountingConfig:
    """How the service turns event energy into emissions.

    ``pue`` and ``td_loss_frac`` apply to every event; the defaults (1.0 and 0.0) count IT
    energy only, and every footprint and the dashboard's methodology say so.
    """

    pue: float = 1.0
    pue_source: str = "not configured: IT energy only (PUE 1.0); set --pue for facility overhead"
    td_loss_frac: float = 0.0
    signals: tuple[IntensitySeries, ...] = field(default=())
    #: who runs the devices behind the events: "owned" (Scope 2), "cloud" (Scope 3 cat. 1)
    #: or "sold" (Scope 3 cat. 11); it sets each line's scope tag and is a stored input
    operating_model: str = "owned"

    def __post_init__(self) -> None:
        check_operating_model(self.operating_model)
        if not (np.isfinite(self.pue) and self.pue >= 1.0):
            raise InputError(f"{self.pue!r}: PUE is facility/IT energy and cannot be below 1",
                             field="pue")
        if not (np.isfinite(self.td_loss_frac) and 0.0 <= self.td_loss_frac <= 0.5):
            raise InputError(f"{self.td_loss_frac!r} must be a fraction in [0, 0.5]",
                             field="td_loss_frac")


@lru_cache(maxsize=4096)
def _region(query: str) -> Region:
    return resolve_region(query)


def resolve_regions(regions: Sequence[str], *, row: str = "events") -> tuple[list[Region],
                                                                              npt.NDArray[np.intp]]:
    """Resolve each distinct region string once; return (regions, index per event).

    Raises :class:`~infercarbon.ledger.schema.EventValidationError` naming every row whose
    region is unknown."""
    uniq, inv = np.unique(np.asarray(regions, dtype=object).astype(str), return_inverse=True)
    out: list[Region] = []
    problems: list[Problem] = []
    for j, q in enumerate(uniq.tolist()):
        try:
            out.append(_region(q))
        except InputError as exc:
            problems.extend(Problem(int(i), "region", str(exc).removeprefix("region: "))
                            for i in np.flatnonzero(inv == j)[:50])
            out.append(None)  # type: ignore[arg-type]  # never returned: problems raise below
    if problems:
        problems.sort(key=lambda p: p.index)
        raise EventValidationError(row, problems)
    return out, inv


class SignalBook:
    """Intensity signals by (region id, kind)."""

    def __init__(self, signals: Sequence[IntensitySeries] = ()) -> None:
        self._by: dict[tuple[str, str], IntensitySeries] = {}
        for s in signals:
            rid = _region(s.region).region_id
            kind = {v: k for k, v in _SERIES_KIND.items()}[s.kind]
            if (rid, kind) in self._by:
                raise InputError(f"two {s.kind} signals for region {rid}", field="signals")
            self._by[(rid, kind)] = s

    def get(self, region_id: str, kind: str) -> IntensitySeries | None:
        return self._by.get((region_id, kind))

    def all(self) -> list[tuple[str, str, IntensitySeries]]:
        return [(r, k, s) for (r, k), s in sorted(self._by.items())]

    def lookup(
        self, region: Region, kind: str, start: npt.NDArray[np.datetime64],
        end: npt.NDArray[np.datetime64],
    ) -> tuple[FloatArray, FloatArray, FloatArray, dict[str, Any]] | None:
        """Intensity (value, low, high) per interval and its provenance; None if no signal."""
        s = self.get(region.region_id, kind)
        if s is not None:
            covered = s.resolution_s is None or bool(
                (start >= s.start_utc[0]).all() and (end <= s.end_utc).all())
            if covered:
                try:
                    v, lo, hi = (s.integrate(start, end, which=w) for w in ("value", "low", "high"))
                except InputError:
                    v = None  # a hole in the series: use the next source, recorded below
                if v is not None:
                    p = s.provenance
                    return v, lo, hi, {"source": p.source, "version": p.version,
                                       "method": p.method, "label": p.label,
                                       "resolution_s": s.resolution_s}
        if kind == "location":
            f = region.intensity_g_per_kwh
            lo_, hi_ = f.range
            n = len(start)
            note = "annual average" + ("" if s is None else
                                       "; the loaded series does not cover the interval")
            return (np.full(n, f.value), np.full(n, lo_), np.full(n, hi_),
                    {"source": f.source, "version": f.vintage or "", "method": note,
                     "label": f.label, "resolution_s": None})
        return None


@dataclass(frozen=True)
class EventFootprints:
    """Columnar result for a batch: arrays aligned with the input events.

    Provenance is held per region group (``group_provenance[kind][g]``; ``region_index``
    maps each event to its group), not per event.
    """

    region_id: list[str]
    facility_j: FloatArray
    intensity: dict[str, tuple[FloatArray, FloatArray, FloatArray]]  # kind -> v, lo, hi
    grams: dict[str, tuple[FloatArray, FloatArray, FloatArray]]  # kind -> g, low, high
    region_index: npt.NDArray[np.intp]  # event -> region group
    group_region_id: list[str]
    group_provenance: dict[str, list[dict[str, Any] | None]]  # kind -> per region group

    @property
    def provenance(self) -> dict[str, list[dict[str, Any] | None]]:
        """Provenance per event (kind -> list aligned with the events; shared dicts)."""
        idx = self.region_index.tolist()
        return {k: [g[i] for i in idx] for k, g in self.group_provenance.items()}

    def co2e_g(self) -> dict[str, FloatArray]:
        return {k: v[0] for k, v in self.grams.items()}


def _times(col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.datetime64]:
    return np.asarray(col.to_numpy(zero_copy_only=False)).astype("datetime64[ns]")


def compute_footprints(events: pa.Table, config: AccountingConfig,
                       book: SignalBook) -> EventFootprints:
    """Operational emissions of every event in ``events`` (validated ledger event columns)."""
    n = events.num_rows
    regions, inv = resolve_regions(events.column("region").to_pylist())
    energy = np.asarray(events.column("energy_j").to_numpy(zero_copy_only=False), dtype=float)
    start, end = _times(events.column("start_utc")), _times(events.column("end_utc"))
    facility = energy * config.pue * (1.0 + config.td_loss_frac)
    inten = {k: (np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)) for k in KINDS}
    prov: dict[str, list[dict[str, Any] | None]] = {k: [None] * len(regions) for k in KINDS}
    for j, region in enumerate(regions):
        idx = np.flatnonzero(inv == j)
        for kind in KINDS:
            got = book.lookup(region, kind, start[idx], end[idx])
            if got is None and kind == "market":
                v, lo, hi = (a[idx] for a in inten["location"])
                loc = prov["location"][j] or {}
                got = (v, lo, hi, {**loc, "label": "fallback: location-based",
                                   "method": "no market instrument configured: "
                                             "location-based figure used"})
            if got is None:
                continue
            v, lo, hi, p = got
            for arr, val in zip(inten[kind], (v, lo, hi), strict=True):
                arr[idx] = val
            prov[kind][j] = p
    grams = {k: tuple(operational_g(energy, a, pue=config.pue, td_loss_frac=config.td_loss_frac)
                      for a in inten[k]) for k in KINDS}
    group_rid = [r.region_id for r in regions]
    rid = np.asarray(group_rid, dtype=object)[inv].tolist()
    return EventFootprints(rid, facility, inten, grams,  # type: ignore[arg-type]
                           np.asarray(inv, dtype=np.intp), group_rid, prov)


# --------------------------------------------------------------------- stored records
def figures_from_inputs(inputs: Mapping[str, Any]) -> FootprintFigures:
    """Recompute an event footprint's figures from its stored inputs (audit path).

    ``inputs`` holds ``energy_j``, ``pue``, ``td_loss_frac`` and ``intensity_g_per_kwh``:
    kind -> {value, low, high, source, label} (a kind without a signal is absent)."""
    try:
        e = float(inputs["energy_j"])
        pue = float(inputs["pue"])
        td = float(inputs["td_loss_frac"])
        sig: Mapping[str, Mapping[str, Any]] = inputs["intensity_g_per_kwh"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"footprint inputs incomplete: {exc}", field="inputs") from exc
    # ledgers written before the operating model was an input are "owned"
    model = check_operating_model(inputs.get("operating_model", "owned"),
                                  "inputs.operating_model")
    facility = e * pue * (1.0 + td)
    items: list[LineItemRecord] = []
    totals: dict[str, TotalRecord] = {}
    for kind in KINDS:
        s = sig.get(kind)
        if s is None:
            items.append(LineItemRecord(f"operational_{kind}", 0.0, 0.0, 0.0,
                                        f"excluded: no {kind} signal for the region", "-",
                                        _scope(model, kind), False, kind, None, None))
            continue
        g, lo, hi = (float(operational_g(e, float(s[w]), pue=pue, td_loss_frac=td))
                     for w in ("value", "low", "high"))
        items.append(LineItemRecord(
            f"operational_{kind}", g, lo, hi, str(s.get("label") or "cited"),
            f"energy: {inputs.get('attribution_method', 'event')}; intensity: {s['source']}",
            _scope(model, kind), kind != "marginal", kind, None, facility))
        totals[kind] = TotalRecord(g, lo, hi)
    return FootprintFigures(energy_j=e, line_items=tuple(items), totals=totals)


def _dt(x: Any) -> datetime:
    if isinstance(x, datetime):
        return x
    raise InputError(f"{x!r} is not a time", field="start_utc")


def footprint_records(events: pa.Table, fps: EventFootprints, config: AccountingConfig,
                      *, computed_utc: datetime) -> list[FootprintRecord]:
    """One ledger footprint record per event (inputs, factor versions, figures)."""
    ids = events.column("event_id").to_pylist()
    tenants = events.column("tenant").to_pylist()
    starts = events.column("start_utc").to_pylist()
    ends = events.column("end_utc").to_pylist()
    methods = events.column("attribution_method").to_pylist()
    energy = events.column("energy_j").to_pylist()
    prov = fps.provenance  # per event (built once)
    out: list[FootprintRecord] = []
    for i, eid in enumerate(ids):
        sig: dict[str, Any] = {}
        versions: dict[str, str] = {"calculator": CALCULATOR,
                                    "pue": config.pue_source}
        for kind in KINDS:
            p = prov[kind][i]
            if p is None:
                continue
            v, lo, hi = (float(a[i]) for a in fps.intensity[kind])
            sig[kind] = {"value": v, "low": lo, "high": hi, "source": p["source"],
                         "label": p["label"], "method": p["method"]}
            versions[f"intensity_{kind}"] = f"{p['source']} {p['version']}".strip()
        inputs = {"event_id": eid, "energy_j": energy[i], "pue": config.pue,
                  "operating_model": config.operating_model,
                  "td_loss_frac": config.td_loss_frac, "region": fps.region_id[i],
                  "attribution_method": methods[i], "start_utc": starts[i],
                  "end_utc": ends[i], "intensity_g_per_kwh": sig}
        out.append(FootprintRecord.create(
            tenant=tenants[i], inputs=inputs, factor_versions=versions,
            figures=figures_from_inputs(inputs), period_start_utc=_dt(starts[i]),
            period_end_utc=_dt(ends[i]), computed_utc=computed_utc, calculator=CALCULATOR,
            event_id=eid))
    return out


def footprint_contexts(fps: EventFootprints, config: AccountingConfig) -> list[FootprintContext]:
    """What the footprints of each region group share (one compact-layout context each):
    the inputs of :func:`footprint_records` with a slot where each event differs, the
    factor versions, and the three line items' labels, sources and scopes."""
    out = []
    for g, rid in enumerate(fps.group_region_id):
        prov = tuple((kind, None if p is None else tuple(sorted(p.items())))
                     for kind in KINDS for p in (fps.group_provenance[kind][g],))
        out.append(_context(config.pue, config.pue_source, config.td_loss_frac,
                            config.operating_model, rid, prov))
    return out


@lru_cache(maxsize=1024)
def _context(pue: float, pue_source: str, td_loss_frac: float, operating_model: str,
             rid: str, prov: tuple[tuple[str, tuple[tuple[str, Any], ...] | None], ...]
             ) -> FootprintContext:
    """One context (cached: a service builds the same few for every batch)."""
    versions = {"calculator": CALCULATOR, "pue": pue_source}
    signals: dict[str, Any] = {}
    items = []
    for kind, pairs in prov:
        scope = _scope(operating_model, kind)
        if pairs is None:
            items.append(ContextItem(f"operational_{kind}", kind,
                                     f"excluded: no {kind} signal for the region", scope,
                                     False, False, "-"))
            continue
        p = dict(pairs)
        versions[f"intensity_{kind}"] = f"{p['source']} {p['version']}".strip()
        signals[kind] = {"value": slot(f"{kind}.value"), "low": slot(f"{kind}.low"),
                         "high": slot(f"{kind}.high"), "source": p["source"],
                         "label": p["label"], "method": p["method"]}
        items.append(ContextItem(f"operational_{kind}", kind, str(p.get("label") or "cited"),
                                 scope, kind != "marginal", True, "energy: ",
                                 f"; intensity: {p['source']}"))
    inputs = {"event_id": slot("event_id"), "energy_j": slot("energy_j"),
              "pue": pue, "operating_model": operating_model,
              "td_loss_frac": td_loss_frac, "region": rid,
              "attribution_method": slot("attribution_method"),
              "start_utc": slot("start_utc"), "end_utc": slot("end_utc"),
              "intensity_g_per_kwh": signals}
    return FootprintContext(CALCULATOR, versions, inputs, tuple(items))


def footprint_batch(events: pa.Table, fps: EventFootprints, config: AccountingConfig,
                    *, computed_utc: datetime) -> EventFootprintBatch:
    """The ledger footprints of every event in the compact layout (the ingest hot path).

    The same footprints as :func:`footprint_records` (same inputs, ids, hashes and figures;
    a test pins it): one context per region group (:func:`footprint_contexts`) and one row
    of numbers per event, without a Python object per event; the figures are ``fps``'s
    arrays (``figures_from_inputs`` does the same arithmetic per event, so ``audit verify``
    reproduces them)."""
    return build_event_footprints(
        footprint_contexts(fps, config), fps.region_index,
        tenant=events.column("tenant"), event_id=events.column("event_id"),
        period_start_utc=events.column("start_utc"), period_end_utc=events.column("end_utc"),
        computed_utc=computed_utc, energy_j=events.column("energy_j"),
        facility_j=fps.facility_j, attribution_method=events.column("attribution_method"),
        intensity=fps.intensity, grams=fps.grams)


def signals_from_intensity(snapshots: pa.Table) -> list[IntensitySeries]:
    """Series from the ledger's intensity snapshots (``Store.intensity()``), one per
    (region, kind): the basis with the most rows, and for an interval fetched several times the
    latest retrieval.  Regions that no bundled table knows are skipped (they cannot match an
    event's resolved region)."""
    from infercarbon.grid.signal import SignalProvenance

    if snapshots.num_rows == 0:
        return []
    t = snapshots.sort_by([("retrieved_utc", "ascending")])
    cols = {c: t.column(c).to_pylist() for c in (
        "region", "kind", "basis", "interval_start_utc", "resolution_s", "value_g_per_kwh",
        "low_g_per_kwh", "high_g_per_kwh", "source", "version")}
    groups: dict[tuple[str, str], dict[str, dict[Any, int]]] = {}
    for i in range(t.num_rows):
        g = groups.setdefault((cols["region"][i], cols["kind"][i]), {})
        g.setdefault(cols["basis"][i], {})[(cols["interval_start_utc"][i],
                                            cols["resolution_s"][i])] = i  # latest wins
    out: list[IntensitySeries] = []
    for (region, kind), by_basis in sorted(groups.items()):
        basis = max(sorted(by_basis), key=lambda b: len(by_basis[b]))
        rows = [by_basis[basis][k] for k in sorted(by_basis[basis])]
        res = {cols["resolution_s"][i] for i in rows}
        try:
            _region(region)
        except InputError:
            continue
        if len(res) != 1:
            raise InputError(f"intensity snapshots of {region} {kind} mix resolutions "
                             f"{sorted(res)}", field="intensity")
        v = np.asarray([cols["value_g_per_kwh"][i] for i in rows], dtype=float)
        lo = np.asarray([cols["low_g_per_kwh"][i] if cols["low_g_per_kwh"][i] is not None
                         else cols["value_g_per_kwh"][i] for i in rows], dtype=float)
        hi = np.asarray([cols["high_g_per_kwh"][i] if cols["high_g_per_kwh"][i] is not None
                         else cols["value_g_per_kwh"][i] for i in rows], dtype=float)
        starts = np.asarray([cols["interval_start_utc"][i].replace(tzinfo=None) for i in rows],
                            dtype="datetime64[ns]")
        srcs = sorted({f"{cols['source'][i]} {cols['version'][i]}" for i in rows})
        out.append(IntensitySeries.from_arrays(
            region=region, kind=kind, basis=basis,  # type: ignore[arg-type]
            resolution_s=int(res.pop()),
            start_utc=starts, intensity_g_per_kwh=v, low_g_per_kwh=lo, high_g_per_kwh=hi,
            provenance=SignalProvenance(source="ledger intensity snapshots: " + "; ".join(srcs),
                                        version=str(len(rows)) + " snapshots",
                                        method="snapshots appended to the ledger")))
    return out
