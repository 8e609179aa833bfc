"""The ``account`` job: the footprint of every attributed event, in the lake's compact layout.

Input: the ``attribute`` job's event rows (:data:`~infercarbon.ledger.lake.ATTRIBUTIONS`),
the grid-intensity intervals (:data:`~infercarbon.ledger.lake.INTENSITY`: ``region``,
``basis`` location|market|marginal, ``start_utc``, ``end_utc``, ``g_per_kwh``,
``low_g_per_kwh``, ``high_g_per_kwh``, ``source``, ``label``) and the deployment profiles
(:mod:`infercarbon.accounting.profiles`).  Each event takes, per basis, the interval of its
region that contains its start; every line item and total with its p5..p95 range comes from
the ingest path's engine, :func:`infercarbon.accounting.events.account_events` (operational
energy = the event's active share, idle = its attributed idle, measured; embodied from the
profile; no network line: the job's events carry no payload).

- location: required; an event no location interval covers is an InputError naming it.
- market: where no market interval covers the event, the location figure, and the event's
  context says ``fallback: location-based``.
- marginal: absent (NaN, the totals on that basis null), never zero.

The energy band is the attribution method's (:func:`infercarbon.telemetry.base.energy_band`).

Output: one row of numbers per event (:data:`~infercarbon.ledger.lake.FOOTPRINTS`) and one
context per (profile, region, method, market fallback, marginal present) that holds what the
rows share (:data:`~infercarbon.ledger.lake.FOOTPRINT_CONTEXTS`): the calculator, the
profile's figures with their sources, the signals' sources and labels, the energy band and
the window length.  The footprint id is not stored: it is ``fp_`` + the context id's 12 hex
digits + ``_`` + the event id (:func:`footprint_id`), the same for the same event and context.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.accounting.events import BASES, account_totals
from infercarbon.accounting.profiles import DeploymentProfile, ProfileSet
from infercarbon.arrays import FloatArray
from infercarbon.errors import InputError
from infercarbon.jobs.engines import Engine
from infercarbon.ledger.lake import (
    FOOTPRINT_CONTEXTS,
    FOOTPRINTS,
    INTENSITY,
    conform,
    footprint_id,
    parse_footprint_id,
)
from infercarbon.telemetry.base import energy_band

__all__ = [
    "CALCULATOR",
    "account_part",
    "footprint_id",
    "parse_footprint_id",
    "run_account",
    "with_footprint_ids",
]

#: Name and version of this calculator, stored in every context it writes.
CALCULATOR: Final = "infercarbon.jobs.account:lake/v1"


def _rows_where(table: pa.Table, mask: pa.ChunkedArray | pa.Array) -> pa.Table:
    """The rows of ``table`` where ``mask`` is true (null: false), as a zero-copy slice when
    they are one run (the attribute job writes its event rows first, then its idle rows),
    else a filtered copy."""
    keep = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return table.slice(0, 0)
    if int(idx[-1]) - int(idx[0]) + 1 == idx.size:
        return table.slice(int(idx[0]), int(idx.size))
    return table.filter(pa.array(keep))


def _lookup(
    intensity: pa.Table,
    regions: Sequence[str],
    region_code: npt.NDArray[np.int64],
    start_us: npt.NDArray[np.int64],
    basis: str,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(value, low, high) per event: the interval of its region (``regions[code]``) and
    ``basis`` that contains its start; NaN where none does."""
    n = start_us.size
    out = [np.full(n, np.nan) for _ in range(3)]
    sel = pc.equal(intensity.column("basis"), basis)
    rows = np.flatnonzero(np.asarray(sel.to_numpy(zero_copy_only=False), dtype=bool))
    if rows.size == 0 or n == 0:
        return out[0], out[1], out[2]
    reg = np.asarray(intensity.column("region").to_numpy(zero_copy_only=False))[rows]
    s = np.asarray(intensity.column("start_utc").cast(pa.int64()).to_numpy(), np.int64)[rows]
    e = np.asarray(intensity.column("end_utc").cast(pa.int64()).to_numpy(), np.int64)[rows]
    vals = [
        np.asarray(intensity.column(c).to_numpy(zero_copy_only=False), dtype=np.float64)[rows]
        for c in ("g_per_kwh", "low_g_per_kwh", "high_g_per_kwh")
    ]
    for code, r in enumerate(regions):
        mine = np.flatnonzero(reg == r)
        ev = np.flatnonzero(region_code == code)
        if ev.size == 0 or mine.size == 0:
            continue
        mine = mine[np.argsort(s[mine], kind="stable")]
        k = np.searchsorted(s[mine], start_us[ev], side="right") - 1
        ok = k >= 0
        k = np.where(ok, k, 0)
        ok &= start_us[ev] < e[mine][k]
        hit = ev[ok]
        row = mine[k[ok]]
        for j in range(3):
            out[j][hit] = vals[j][row]
    return out[0], out[1], out[2]


def _context(
    profile: DeploymentProfile,
    region: str,
    method: str,
    fallback: bool,
    marginal: bool,
    signals: Mapping[str, Any],
    window_s: float,
) -> dict[str, Any]:
    band = energy_band(method)
    doc = {
        "calculator": CALCULATOR,
        "region": region,
        "method": method,
        "profile_json": json.dumps(profile.to_dict(), sort_keys=True),
        "signals_json": json.dumps(
            {
                **signals,
                "market_fallback": "fallback: location-based" if fallback else None,
                "marginal": None if marginal else "excluded: no marginal signal",
            },
            sort_keys=True,
        ),
        "energy_band_json": json.dumps(
            {
                "method": band.method,
                "class": band.accuracy_class,
                "low_frac": band.low_frac,
                "high_frac": band.high_frac,
                "label": band.label,
                "source": band.source,
            },
            sort_keys=True,
        ),
        "window_s": float(window_s),
    }
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]
    return {"context_id": f"ctx_{digest}", **doc}


def _signal_text(intensity: pa.Table, region: str, basis: str) -> dict[str, Any]:
    """Sources and labels of the intensity intervals of ``region`` and ``basis`` (all of
    them, not only those a part's events used: a context is the same however the events
    are cut into parts)."""
    sel = pc.and_(
        pc.equal(intensity.column("region"), region), pc.equal(intensity.column("basis"), basis)
    )
    sub = intensity.filter(sel).select(["source", "label"])
    return {
        "sources": sorted({str(x) for x in pc.unique(sub.column("source")).to_pylist()}),
        "labels": sorted({str(x) for x in pc.unique(sub.column("label")).to_pylist()}),
    }


def account_part(
    attributions: pa.Table, intensity: pa.Table, *, profiles: ProfileSet, default_region: str | None
) -> pa.Table:
    """Footprint rows (with their context columns appended, ``ctx__*``) of one part's event
    rows: pure, Arrow tables in and out."""
    ev = _rows_where(
        attributions,
        pc.and_(
            pc.equal(attributions.column("row_kind"), "event"),
            pc.is_valid(attributions.column("energy_j")),
        ),
    )
    n = ev.num_rows
    region_col = ev.column("region")
    if region_col.null_count:
        if default_region is None:
            raise InputError(
                "events without a region need a default (--region)", field="events.region"
            )
        region_col = pc.fill_null(region_col, default_region)
    r_enc = (
        region_col.combine_chunks().dictionary_encode()
        if n
        else pa.array([], pa.string()).dictionary_encode()
    )
    regions = [str(x) for x in r_enc.dictionary.to_pylist()]
    r_code = np.asarray(r_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    start = np.asarray(ev.column("start_utc").cast(pa.int64()).to_numpy(), dtype=np.int64)
    inten = {b: _lookup(intensity, regions, r_code, start, b) for b in BASES}
    missing = ~np.isfinite(inten["location"][0])
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"no location intensity covers event {ev.column('event_id')[i]} "
            f"(region {regions[r_code[i]]}, start {ev.column('start_utc')[i]}); "
            "add an interval for it to the intensity table",
            field="intensity",
        )
    fallback = ~np.isfinite(inten["market"][0])
    if fallback.any():
        loc, mkt = inten["location"], inten["market"]
        inten["market"] = (
            np.where(fallback, loc[0], mkt[0]),
            np.where(fallback, loc[1], mkt[1]),
            np.where(fallback, loc[2], mkt[2]),
        )
    has_marginal = np.isfinite(inten["marginal"][0])
    chosen, pidx = profiles.index(ev.column("device"))
    active = np.asarray(ev.column("active_j").to_numpy(zero_copy_only=False), dtype=np.float64)
    idle = np.asarray(ev.column("idle_j").to_numpy(zero_copy_only=False), dtype=np.float64)
    dev_t = np.asarray(ev.column("device_time_s").to_numpy(zero_copy_only=False), dtype=np.float64)
    m_enc = (
        ev.column("method").combine_chunks().dictionary_encode()
        if n
        else pa.array([], pa.string()).dictionary_encode()
    )
    methods = [str(x) for x in m_enc.dictionary.to_pylist()]
    m_code = np.asarray(m_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    bands = [energy_band(m) for m in methods]
    lo_f = np.asarray([b.low_frac for b in bands] or [1.0])[m_code]
    hi_f = np.asarray([b.high_frac for b in bands] or [1.0])[m_code]
    totals = _account_totals(
        active=active,
        idle=idle,
        dev_t=dev_t,
        lo_f=lo_f,
        hi_f=hi_f,
        inten=inten,
        profiles=chosen,
        pidx=np.asarray(pidx, dtype=np.intp),
    )
    window = float(pc.max(ev.column("window_s")).as_py() or 0.0) if n else 0.0
    # contexts: one per (profile, region, method, fallback, marginal), keyed by integers
    key = (
        (
            (np.asarray(pidx, dtype=np.int64) * (len(regions) + 1) + r_code) * (len(methods) + 1)
            + m_code
        )
        * 4
        + fallback.astype(np.int64) * 2
        + has_marginal.astype(np.int64)
    )
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    ctx_rows = []
    for i in first.tolist():
        region = regions[r_code[i]]
        signals = {b: _signal_text(intensity, region, b) for b in BASES}
        ctx_rows.append(
            _context(
                chosen[int(pidx[i])],
                region,
                methods[m_code[i]],
                bool(fallback[i]),
                bool(has_marginal[i]),
                signals,
                window,
            )
        )
    inv32 = pa.array(inv.astype(np.int32) if n else np.zeros(0, np.int32))
    ctx_ids = pa.DictionaryArray.from_arrays(
        inv32, pa.array([c["context_id"] for c in ctx_rows], pa.string())
    ).cast(pa.string())
    cols: dict[str, Any] = {
        "event_id": ev.column("event_id"),
        "context_id": ctx_ids,
        "tenant": ev.column("tenant"),
        "region": region_col,
        "period_start_utc": ev.column("start_utc"),
        "period_end_utc": ev.column("end_utc"),
        "energy_j": ev.column("active_j"),
        "idle_j": ev.column("idle_j"),
        "device_time_s": ev.column("device_time_s"),
    }
    for b in BASES:
        v = inten[b][0]
        cols[f"{b}_g_per_kwh"] = pa.array(v, mask=~np.isfinite(v))
        for s, arr in zip(("g", "low_g", "high_g"), totals[b], strict=True):
            cols[f"total_{b}_{s}"] = pa.array(arr, mask=~np.isfinite(arr))
    cols["supersedes"] = ev.column("supersedes")
    rows = conform(pa.table(cols), FOOTPRINTS)
    # the part's contexts ride along as one dictionary column (engines return one table per
    # part): the dictionary holds each context's JSON once, the rows hold small indices
    texts = pa.array([json.dumps(c, sort_keys=True) for c in ctx_rows], pa.string())
    return rows.append_column(_CTX, pa.DictionaryArray.from_arrays(inv32, texts))


#: Events per call of the accounting core: its ~150 elementwise steps then work on arrays
#: that stay in the CPU's cache (a 1M-event call spends most of its time allocating and
#: faulting in fresh 8 MB temporaries).  Every step is per event, so the results are the
#: same bit for bit whatever the chunk.
_CHUNK_EVENTS: Final = 16_384


def _account_totals(
    *,
    active: FloatArray,
    idle: FloatArray,
    dev_t: FloatArray,
    lo_f: FloatArray,
    hi_f: FloatArray,
    inten: Mapping[str, tuple[FloatArray, FloatArray, FloatArray]],
    profiles: Sequence[DeploymentProfile],
    pidx: npt.NDArray[np.intp],
) -> dict[str, tuple[FloatArray, FloatArray, FloatArray]]:
    """The totals per basis (g, low, high) of the accounting core
    (:func:`~infercarbon.accounting.events.account_totals`, the ingest path's
    ``account_events`` without its per-line ranges) over the events, in chunks of
    :data:`_CHUNK_EVENTS` (operational energy = ``active``, measured idle = ``idle`` with
    the energy band's relative deviations, no payload)."""
    n = active.size
    out = {b: (np.empty(n), np.empty(n), np.empty(n)) for b in BASES}
    nan = np.full(min(n, _CHUNK_EVENTS), np.nan)
    zero = np.zeros(min(n, _CHUNK_EVENTS))
    for a in range(0, n, _CHUNK_EVENTS):
        z = min(n, a + _CHUNK_EVENTS)
        k = z - a
        act = active[a:z]
        totals = account_totals(
            energy_j=act,
            energy_low_j=act * lo_f[a:z],
            energy_high_j=act * hi_f[a:z],
            device_time_s=dev_t[a:z],
            payload_bytes=nan[:k],
            intensity={b: (v[0][a:z], v[1][a:z], v[2][a:z]) for b, v in inten.items()},
            profiles=profiles,
            profile_index=pidx[a:z],
            idle_measured=(idle[a:z], zero[:k], 1.0 - lo_f[a:z], hi_f[a:z] - 1.0),
        )
        for b in BASES:
            for dst, src in zip(out[b], totals[b], strict=True):
                dst[a:z] = src
    return out


_CTX: Final = "__contexts"


def run_account(
    attributions: pa.Table,
    intensity: pa.Table,
    *,
    engine: Engine,
    profiles: ProfileSet,
    default_region: str | None = None,
) -> tuple[pa.Table, pa.Table]:
    """(footprint rows, contexts) of every event row of ``attributions`` with ``engine``;
    rows in the input's order (events without a measured energy left out), the same on
    every engine."""
    need = (
        "row_kind",
        "event_id",
        "device",
        "start_utc",
        "energy_j",
        "active_j",
        "idle_j",
        "device_time_s",
        "method",
        "window_s",
    )
    missing = [c for c in need if c not in attributions.column_names]
    if missing:
        raise InputError(
            f"the attributions table lacks {', '.join(missing)} (give the "
            "output of `infercarbon attribute`)",
            field=f"attributions.{missing[0]}",
        )
    inten = conform(intensity, INTENSITY)
    att = _rows_where(attributions, pc.equal(attributions.column("row_kind"), "event"))
    if "run_id" in att.column_names and len(pc.unique(pc.drop_null(att.column("run_id")))) > 1:
        raise InputError(
            "the attributions hold the rows of several attribute runs; pick one "
            "(--attributions-run RUN_ID)",
            field="attributions.run_id",
        )
    parts = _cut(att, engine.parallelism)
    outs = engine.map_parts(
        account_part,
        [{"attributions": p} for p in parts],
        {"intensity": inten, "profiles": profiles, "default_region": default_region},
    )
    outs = [o for o in outs if o.num_rows]
    if not outs:
        return FOOTPRINTS.schema.empty_table(), FOOTPRINT_CONTEXTS.schema.empty_table()
    # the parts are contiguous slices of the input and the engine returns them in order
    allrows = pa.concat_tables(outs)
    seen: dict[str, dict[str, Any]] = {}
    for chunk in allrows.column(_CTX).chunks:
        for text in chunk.dictionary.to_pylist():
            c = json.loads(text)
            seen[c["context_id"]] = c
    ctx = pa.Table.from_pylist([seen[k] for k in sorted(seen)], schema=FOOTPRINT_CONTEXTS.schema)
    return conform(allrows.drop_columns([_CTX]), FOOTPRINTS), ctx


def with_footprint_ids(rows: pa.Table) -> pa.Table:
    """``rows`` (footprints) with a first column ``footprint_id`` (:func:`footprint_id`)."""
    fid = pc.binary_join_element_wise(
        pa.scalar("fp_"),
        pc.utf8_slice_codeunits(rows.column("context_id"), 4, 16),
        pa.scalar("_"),
        rows.column("event_id"),
        pa.scalar(""),
    )
    return rows.add_column(0, "footprint_id", fid)


def _cut(table: pa.Table, parts: int) -> Sequence[pa.Table]:
    if parts <= 1 or table.num_rows == 0:
        return [table]
    step = -(-table.num_rows // parts)
    return [table.slice(i, step) for i in range(0, table.num_rows, step)]
