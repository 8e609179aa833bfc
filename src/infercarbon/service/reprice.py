"""Recompute stored footprints when better data arrives: a grid signal, or measured idle.

A footprint is computed with what the service knew when its event arrived: often a
forecast or provisional grid interval, or the annual average when no interval covered it
yet, and an idle line modelled from the deployment profile.  Two jobs recompute them:

:func:`reprice`
    after ``infercarbon grid update`` (or a ``serve --refresh`` round) stored intervals that
    cover stored footprints: each is recomputed with the signals the ledger now has.
:func:`measure_idle`
    where a device's energy readings cover a window, the device's idle energy in it is
    *measured*: the readings' energy minus the energy attributed to the window's events.  The
    profile's idle policy splits it (tenancy, 30-70, none) over the events in proportion to
    their energy; the rest is unattributed idle.  Each event's idle line then carries the
    measured figure, labelled ``measured``, with a band from the readings' accuracy class and
    the events' energy bands.

Both store the result as **new** footprints whose ``supersedes`` names the old ones (in the
compact layout, like ingest).  Nothing is updated in place: the old footprint stays in the
ledger, auditable, and ``audit show`` lists the chain; every reader (report, dashboard,
rollups) takes only the live end of each chain.  A recomputation keeps everything else the
footprint was computed with (the event, its energy band, the deployment profile stored in
its inputs, a measured idle figure already applied) and changes only the new data; where the
result is the same footprint (same inputs hash), nothing is written, so re-running is a
no-op.  Footprints of the first calculator (operational lines only) are left as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.accounting.batch import (
    CALCULATOR,
    AccountingConfig,
    IdleMeasured,
    compute_footprints,
    footprint_batch,
    profile_from_inputs,
)
from infercarbon.accounting.profiles import ProfileSet
from infercarbon.accounting.signals import SignalBook, resolve_regions
from infercarbon.attribution.idle import as_idle_policy, split_idle
from infercarbon.errors import InputError
from infercarbon.ledger import Store
from infercarbon.ledger.base import SUPERSEDED_FOOTPRINTS
from infercarbon.ledger.compact import same_event
from infercarbon.ledger.schema import EVENTS
from infercarbon.telemetry.base import energy_band
from infercarbon.timeutil import WallClockUtc, format_utc, parse_utc
from infercarbon.units import US_PER_S

__all__ = ["RepriceResult", "measure_idle", "recompute", "reprice", "reprice_after_update"]

_LIVE = f"f.footprint_id NOT IN {SUPERSEDED_FOOTPRINTS}"
_ROWS = pa.schema(
    [
        pa.field("footprint_id", pa.string()),
        pa.field("tenant", pa.string()),
        pa.field("event_id", pa.string()),
        pa.field("inputs_hash", pa.string()),
        pa.field("inputs_json", pa.string()),
    ]
)
_IDLE_KEYS = ("attributed_j", "unattributed_j")


@dataclass(frozen=True)
class RepriceResult:
    """What a recomputation did: footprints looked at, recomputed (new footprints stored),
    and the footprints they supersede."""

    checked: int
    repriced: int
    superseded_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "repriced": self.repriced}


def _live_rows(store: Store, where: str, params: Sequence[Any]) -> pa.Table:
    return store.query_arrow(
        "SELECT f.footprint_id, f.tenant, f.event_id, f.inputs_hash, f.inputs_json "
        f"FROM all_footprints f JOIN events e ON {same_event('e', 'f')} "
        f"WHERE f.calculator = %s AND {_LIVE} AND {where} "
        "ORDER BY f.footprint_id",
        [CALCULATOR, *params],
        _ROWS,
    )


def _events(store: Store, keys: Sequence[tuple[str, str]]) -> pa.Table:
    """The stored events of ``keys`` ((tenant, event_id) pairs: event ids are per tenant)."""
    cols = ", ".join(EVENTS.names)
    got = store.query_arrow(
        f"SELECT {cols} FROM events WHERE event_id = ANY(%s)",
        [sorted({e for _, e in keys})],
        EVENTS.arrow_schema,
    )
    wanted = set(keys)
    keep = [
        k in wanted
        for k in zip(
            got.column("tenant").to_pylist(), got.column("event_id").to_pylist(), strict=True
        )
    ]
    return got.filter(pa.array(keep, pa.bool_()))


def recompute(
    store: Store,
    book: SignalBook,
    rows: pa.Table,
    *,
    idle: Mapping[str, tuple[Mapping[str, Any], float, float]] | None = None,
    clock: WallClockUtc | None = None,
) -> RepriceResult:
    """Recompute the live footprints ``rows`` (footprint_id, event_id, inputs_hash,
    inputs_json) with ``book`` and, for footprint ids in ``idle``, the measured idle
    (window constants, attributed J, unattributed J); store those that changed as new
    footprints superseding the old.  Each keeps the profile and measured idle it had."""
    now = (clock or (lambda: datetime.now(UTC)))()
    if rows.num_rows == 0:
        return RepriceResult(0, 0)
    recs = rows.to_pylist()
    events = _events(store, [(r["tenant"], r["event_id"]) for r in recs])
    pos = {
        k: i
        for i, k in enumerate(
            zip(
                events.column("tenant").to_pylist(),
                events.column("event_id").to_pylist(),
                strict=True,
            )
        )
    }
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        r["inputs"] = json.loads(r["inputs_json"])
        key = json.dumps(r["inputs"]["assumptions"]["profile"], sort_keys=True)
        groups.setdefault(key, []).append(r)
    written = 0
    superseded: list[str] = []
    for members in groups.values():
        profile = profile_from_inputs(members[0]["inputs"]["assumptions"]["profile"])
        ev = events.take(pa.array([pos[m["tenant"], m["event_id"]] for m in members]))
        windows: dict[str, int] = {}
        w_list: list[tuple[tuple[str, Any], ...]] = []
        widx = np.full(len(members), -1, dtype=np.intp)
        att = np.zeros(len(members))
        un = np.zeros(len(members))
        for i, m in enumerate(members):
            got = (idle or {}).get(m["footprint_id"])
            if got is None and "idle_measured" in m["inputs"]:  # keep what was measured
                old = m["inputs"]["idle_measured"]
                got = (
                    {k: v for k, v in old.items() if k not in _IDLE_KEYS},
                    float(old["attributed_j"]),
                    float(old["unattributed_j"]),
                )
            if got is None:
                continue
            window = tuple(sorted(got[0].items()))
            key = json.dumps(window)
            if key not in windows:
                windows[key] = len(w_list)
                w_list.append(window)
            widx[i], att[i], un[i] = windows[key], got[1], got[2]
        measured = IdleMeasured(widx, att, un, tuple(w_list)) if w_list else None
        cfg = AccountingConfig()
        fps = compute_footprints(ev, cfg, book, profile_set=ProfileSet((), profile), idle=measured)
        batch = footprint_batch(
            ev,
            fps,
            cfg,
            computed_utc=now,
            supersedes=pa.array([m["footprint_id"] for m in members], pa.string()),
        )
        changed = np.asarray(
            pc.not_equal(
                batch.footprints.column("inputs_hash"),
                pa.array([m["inputs_hash"] for m in members], pa.string()),
            ).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        if changed.any():
            store.append_footprint_table(batch.filter(changed))
            written += int(changed.sum())
            superseded += [m["footprint_id"] for m, c in zip(members, changed, strict=True) if c]
    return RepriceResult(len(recs), written, tuple(superseded))


def reprice(
    store: Store,
    book: SignalBook,
    *,
    start_utc: datetime,
    end_utc: datetime,
    regions: Iterable[str] | None = None,
    clock: WallClockUtc | None = None,
    page: int = 20_000,
) -> RepriceResult:
    """Re-price the live footprints of this calculator whose events started in
    ``[start_utc, end_utc)`` (and whose region resolves to one of ``regions``, when given)
    where ``book`` now prices their interval differently."""
    wanted = None if regions is None else {r.region_id for r in resolve_regions(list(regions))[0]}
    rows = _live_rows(store, "e.start_utc >= %s AND e.start_utc < %s", [start_utc, end_utc])
    if wanted is not None and rows.num_rows:
        ev = _events(
            store,
            list(
                zip(
                    rows.column("tenant").to_pylist(),
                    rows.column("event_id").to_pylist(),
                    strict=True,
                )
            ),
        )
        regs, inv = resolve_regions(ev.column("region"))
        keep_ev = {
            k
            for k, j in zip(
                zip(
                    ev.column("tenant").to_pylist(), ev.column("event_id").to_pylist(), strict=True
                ),
                inv.tolist(),
                strict=True,
            )
            if regs[j].region_id in wanted
        }
        rows = rows.filter(
            pa.array(
                [
                    k in keep_ev
                    for k in zip(
                        rows.column("tenant").to_pylist(),
                        rows.column("event_id").to_pylist(),
                        strict=True,
                    )
                ],
                pa.bool_(),
            )
        )
    checked = written = 0
    superseded: list[str] = []
    for k in range(0, rows.num_rows, page):
        r = recompute(store, book, rows.slice(k, page), clock=clock)
        checked += r.checked
        written += r.repriced
        superseded += r.superseded_ids
    return RepriceResult(checked, written, tuple(superseded))


def reprice_after_update(
    store: Store, book: SignalBook, rows: pa.Table, *, clock: WallClockUtc | None = None
) -> RepriceResult:
    """Re-price what the intensity ``rows`` just stored cover: their regions, from the
    first interval's start to the last interval's end."""
    if rows.num_rows == 0:
        return RepriceResult(0, 0)
    starts = rows.column("interval_start_utc").to_pylist()
    res = rows.column("resolution_s").to_pylist()
    lo = min(starts)
    hi = max(s + timedelta(seconds=int(r)) for s, r in zip(starts, res, strict=True))
    usable = []
    for r in sorted(set(rows.column("region").to_pylist())):
        try:
            usable.append(resolve_regions([r])[0][0].region_id)
        except InputError:  # a region no bundled table knows prices no event
            continue
    if not usable:
        return RepriceResult(0, 0)
    return reprice(store, book, start_utc=lo, end_utc=hi, regions=usable, clock=clock)


# ------------------------------------------------------------------------- measured idle
def _device_energy(
    readings: pa.Table,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], str, str]:
    """(times [us], cumulative energy [J], source, method) of a device's readings: the
    source with the most readings; a power-only source is integrated (trapezoids)."""
    if readings.num_rows == 0:
        raise InputError("no readings", field="readings")
    srcs = readings.column("source").to_pylist()
    src = max(sorted(set(srcs)), key=srcs.count)
    r = readings.filter(pc.equal(readings.column("source"), src)).sort_by("t_utc")
    t = np.asarray(
        r.column("t_utc")
        .cast(pa.timestamp("us", tz="UTC"))
        .cast(pa.int64())
        .to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    method = str(r.column("method")[0].as_py())
    cum = r.column("cumulative_j")
    if cum.null_count == 0:
        return t, np.asarray(cum.to_numpy(zero_copy_only=False), dtype=float), src, method
    p = np.asarray(
        pc.fill_null(r.column("power_w"), 0.0).to_numpy(zero_copy_only=False), dtype=float
    )
    e = np.concatenate([[0.0], np.cumsum((p[1:] + p[:-1]) / 2.0 * np.diff(t) / US_PER_S)])
    return t, e, src, method


def measure_idle(
    store: Store,
    book: SignalBook,
    *,
    device: str,
    start_utc: datetime,
    end_utc: datetime,
    window_s: int = 3600,
    clock: WallClockUtc | None = None,
) -> RepriceResult:
    """Measure the idle energy of ``device`` in each ``window_s`` window of ``[start_utc,
    end_utc)`` that its readings cover, split it over the window's events by their profile's
    idle policy, and recompute their footprints with it (see the module docstring).

    Per window: ``pool = max(0, E_device - sum(E_events))``; the band of the pool combines the
    readings' accuracy class (:func:`~infercarbon.telemetry.base.energy_band` of their
    method) and the events' own energy bands (independent, in quadrature), relative to the
    pool."""
    if window_s <= 0:
        raise InputError("must be > 0", field="window_s")
    readings = store.readings(
        device=device,
        start_utc=start_utc - timedelta(seconds=window_s),
        end_utc=end_utc + timedelta(seconds=window_s),
    )
    if readings.num_rows < 2:
        return RepriceResult(0, 0)
    t, cum, src, method = _device_energy(readings)
    band = energy_band(method)
    rows = _live_rows(
        store,
        "e.device = %s AND e.start_utc >= %s AND e.start_utc < %s",
        [device, start_utc, end_utc],
    )
    if rows.num_rows == 0:
        return RepriceResult(0, 0)
    recs = rows.to_pylist()
    inputs = [json.loads(r["inputs_json"]) for r in recs]
    ev_start = np.asarray([_us(i["start_utc"]) for i in inputs], dtype=np.int64)
    ev_end = np.asarray([_us(i["end_utc"]) for i in inputs], dtype=np.int64)
    energy = np.asarray([float(i["energy_j"]) for i in inputs])
    e_lo = np.asarray([float(i["energy_low_j"]) for i in inputs])
    e_hi = np.asarray([float(i["energy_high_j"]) for i in inputs])
    policy = [as_idle_policy(i["assumptions"]["profile"]["idle_policy"]) for i in inputs]
    w_us = int(window_s) * US_PER_S
    first = (int(ev_start.min()) // w_us) * w_us
    out: dict[str, tuple[Mapping[str, Any], float, float]] = {}
    for w0 in range(first, int(ev_start.max()) + 1, w_us):
        w1 = w0 + w_us
        if t[0] > w0 or t[-1] < w1:
            continue  # the readings do not cover the window
        idx = np.flatnonzero((ev_start >= w0) & (ev_start < w1))
        if not len(idx):
            continue
        e_dev = float(np.interp(w1, t, cum) - np.interp(w0, t, cum))
        e_ev = float(energy[idx].sum())
        pool = max(0.0, e_dev - e_ev)
        dev_dn = e_dev * (1.0 - band.low_frac)
        dev_up = e_dev * (band.high_frac - 1.0)
        ev_up = float(np.sqrt(((e_hi[idx] - energy[idx]) ** 2).sum()))
        ev_dn = float(np.sqrt(((energy[idx] - e_lo[idx]) ** 2).sum()))
        # the pool is lowest when the device reads low and the events high
        lo_frac = min(1.0, float(np.hypot(dev_dn, ev_up)) / pool) if pool > 0 else 0.0
        hi_frac = float(np.hypot(dev_up, ev_dn)) / pool if pool > 0 else 0.0
        window = {
            "source": f"{src} ({method}), window [{_iso(w0)}, {_iso(w1)}): device "
            f"{e_dev:.6g} J, events {e_ev:.6g} J, idle pool {pool:.6g} J",
            "window_start_utc": _iso(w0),
            "window_s": int(window_s),
            "device_energy_j": e_dev,
            "events_energy_j": e_ev,
            "pool_j": pool,
            "low_dev_frac": lo_frac,
            "high_dev_frac": hi_frac,
            "readings_band": f"class {band.accuracy_class} ({band.method})",
        }
        for pol in sorted({policy[i] for i in idx}):
            sub = idx[[policy[i] == pol for i in idx]]
            # each policy group splits the pool in proportion to its share of the energy
            share = float(energy[sub].sum()) / e_ev if e_ev > 0 else len(sub) / len(idx)
            attributed, _ = split_idle(
                pool * share, energy[sub], (ev_end[sub] - ev_start[sub]) / US_PER_S, pol
            )
            rest = pool * share - float(attributed.sum())
            key = (
                energy[sub] / energy[sub].sum()
                if energy[sub].sum() > 0
                else np.full(len(sub), 1.0 / len(sub))
            )
            for j, i in enumerate(sub.tolist()):
                out[recs[i]["footprint_id"]] = (window, float(attributed[j]), float(rest * key[j]))
    if not out:
        return RepriceResult(len(recs), 0)
    chosen = rows.filter(
        pc.is_in(rows.column("footprint_id"), value_set=pa.array(sorted(out), pa.string()))
    )
    return recompute(store, book, chosen, idle=out, clock=clock)


def _us(x: Any) -> int:
    t = x if isinstance(x, datetime) else parse_utc(str(x), field="time_utc")
    return int(np.datetime64(t.replace(tzinfo=None), "us").astype(np.int64))


def _iso(us: int) -> str:
    """A whole-second window edge [µs since the epoch] as UTC text."""
    return format_utc(_EPOCH + timedelta(microseconds=int(us) // US_PER_S * US_PER_S))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
