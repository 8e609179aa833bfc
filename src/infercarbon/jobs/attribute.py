"""The ``attribute`` job: each device's measured energy split over its events, window by window.

Inputs use the ledger's column names: events ``event_id``, ``start_utc``, ``end_utc``,
``device``, ``batch_id`` (the ledger's text ids; integers are taken too, negative meaning not
batched; null or empty: not batched), ``tokens_in``, ``tokens_out`` (and optionally ``region``,
``tenant``, ``supersedes``); readings ``device``, ``t_utc`` and ``cumulative_j`` (a counter)
or ``power_w`` (samples, integrated with the trapezoid rule over the device's whole series).

The job, set-based so that any engine runs it:

1. :func:`plan` (on the driver, vectorised): every batched event takes its batch's span (the
   span of ``(device, batch_id)``, computed *before* the data are cut into parts, so a batch
   is never split), and each device is given a part (``parallelism`` parts).
2. :func:`attribute_part` (pure: Arrow tables in, an Arrow table out; the engine runs it per
   part): for each device, the window grid ``[k W, (k+1) W)`` is laid over the readings, the
   cumulative energy is interpolated at each window boundary inside the measured span, and
   each (device, window) is attributed as the core engine
   (:func:`infercarbon.attribution.engine.attribute`) attributes it, with the idle policy:
   all of a device's windows in one vectorised sweep
   (:func:`infercarbon.attribution.windows.attribute_windows`, tested against the core
   called per window); an event that crosses a boundary gets its share from each window,
   summed.
3. the parts' rows are concatenated and ordered.

The window length ``W`` is an input (recorded in every output row and in the run): under
``30-70`` the idle pool of a window is split 30 % to its events, so the split depends on
``W``.  Output (:data:`infercarbon.ledger.lake.ATTRIBUTIONS`): one row per event
(``row_kind = 'event'``; ``energy_j = active_j + idle_j``) and one row per device and window
with the idle energy no event carries (``'unattributed_idle'``; ``energy_j`` is that idle).
Conservation: per device, the sum of ``energy_j`` over both kinds of rows equals the
readings' energy over their span (events outside the span are clipped, flagged
``clipped``).  A device with events but fewer than two readings measures nothing: its events'
energy is null (``method = 'no-readings'``), never a silent zero.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.arrays import FloatArray, IntArray
from infercarbon.attribution.engine import cumulative_from_power
from infercarbon.attribution.idle import IDLE_POLICIES, IdlePolicy
from infercarbon.attribution.windows import attribute_windows
from infercarbon.errors import InputError
from infercarbon.jobs.engines import Engine
from infercarbon.ledger.lake import ATTRIBUTIONS
from infercarbon.units import US_PER_S

__all__ = [
    "SPLITS",
    "attribute_part",
    "parse_window",
    "plan",
    "run_attribute",
    "validate_events",
    "validate_readings",
]

#: How a slice shared by several events is split: by time, or by tokens (in + out).
SPLITS: Final = ("time", "tokens")
_TS = pa.timestamp("us", tz="UTC")

EVENT_REQUIRED: Final = (
    "event_id",
    "start_utc",
    "end_utc",
    "device",
    "batch_id",
    "tokens_in",
    "tokens_out",
)
EVENT_OPTIONAL: Final = {"region": pa.string(), "tenant": pa.string(), "supersedes": pa.string()}


_UNITS: Final = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_window(text: str) -> float:
    """A window length in seconds from ``900``, ``900s``, ``15m``, ``1h`` or ``1d``.

    >>> parse_window("15m")
    900.0
    """
    t = text.strip().lower()
    unit = _UNITS.get(t[-1:], None)
    num = t[:-1] if unit is not None else t
    try:
        value = float(num) * (unit or 1.0)
    except ValueError:
        raise InputError(
            f"{text!r} is not a duration; write e.g. 15m, 900s or 1h", field="window"
        ) from None
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"{text!r} must be a positive duration", field="window")
    return value


def _ts(col: pa.ChunkedArray | pa.Array, field: str) -> pa.ChunkedArray | pa.Array:
    if not pa.types.is_timestamp(col.type):
        raise InputError(f"must be a timestamp column (UTC), got {col.type}", field=field)
    if col.type.tz is None:
        col = pc.assume_timezone(col, "UTC")
    try:
        return col.cast(_TS)
    except pa.ArrowInvalid as exc:
        raise InputError(
            f"has times finer than a microsecond (the ledger's resolution); "
            f"round them first ({exc})",
            field=field,
        ) from exc


def validate_events(events: pa.Table) -> pa.Table:
    """The events table with the job's columns and types; a missing or null required column
    is an InputError naming it."""
    missing = [c for c in EVENT_REQUIRED if c not in events.column_names]
    if missing:
        raise InputError(
            f"the events table lacks {', '.join(missing)}; it needs {', '.join(EVENT_REQUIRED)}",
            field=f"events.{missing[0]}",
        )
    n = events.num_rows
    cols: dict[str, Any] = {}
    for c in ("event_id", "device"):
        cols[c] = events.column(c).cast(pa.string())
    for c in ("start_utc", "end_utc"):
        cols[c] = _ts(events.column(c), f"events.{c}")
    bid = events.column("batch_id")
    if pa.types.is_integer(bid.type):  # integer ids: negative means not batched
        bid = pc.if_else(pc.less(bid, 0), pa.scalar(None, bid.type), bid)
    # the ledger's batch ids are text; null or empty: not batched
    cols["batch_id"] = pc.if_else(
        pc.equal(bid.cast(pa.string()), ""), pa.scalar(None, pa.string()), bid.cast(pa.string())
    )
    for c in ("tokens_in", "tokens_out"):
        try:
            cols[c] = events.column(c).cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(f"must be integers: {exc}", field=f"events.{c}") from exc
    for c, t in EVENT_OPTIONAL.items():
        cols[c] = events.column(c).cast(t) if c in events.column_names else pa.nulls(n, t)
    out = pa.table(cols)
    for c in ("event_id", "device", "start_utc", "end_utc"):
        if out.column(c).null_count:
            raise InputError("has null values; every event needs one", field=f"events.{c}")
    if n and pc.any(pc.less(out.column("end_utc"), out.column("start_utc"))).as_py():
        raise InputError("an event ends before it starts", field="events.end_utc")
    return out


def validate_readings(readings: pa.Table) -> tuple[pa.Table, str]:
    """(readings with ``device``, ``t_utc`` and ``value``, the kind: ``cumulative_j`` or
    ``power_w``)."""
    for c in ("device", "t_utc"):
        if c not in readings.column_names:
            raise InputError(
                "the readings table needs device, t_utc and cumulative_j or power_w",
                field=f"readings.{c}",
            )
    kinds = [
        k
        for k in ("cumulative_j", "power_w")
        if k in readings.column_names and readings.column(k).null_count < readings.num_rows
    ]
    if len(kinds) != 1:
        raise InputError(
            "give exactly one of cumulative_j (a counter) or power_w (samples) with values",
            field="readings.cumulative_j",
        )
    kind = kinds[0]
    value = readings.column(kind).cast(pa.float64())
    out = pa.table(
        {
            "device": readings.column("device").cast(pa.string()),
            "t_utc": _ts(readings.column("t_utc"), "readings.t_utc"),
            "value": value,
        }
    )
    for c in ("device", "t_utc", "value"):
        if out.column(c).null_count:
            raise InputError("has null values", field=f"readings.{kind if c == 'value' else c}")
    return out, kind


def _us(col: pa.ChunkedArray | pa.Array) -> IntArray:
    return np.asarray(col.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def plan(events: pa.Table, readings: pa.Table, parts: int) -> list[dict[str, pa.Table]]:
    """Batch spans (before any cut) and the parts: each device's events and readings in one
    part.  ``events`` and ``readings`` are validated tables."""
    s = _us(events.column("start_utc"))
    e = _us(events.column("end_utc"))
    devices = pc.unique(
        pa.chunked_array(
            [*events.column("device").chunks, *readings.column("device").chunks], type=pa.string()
        )
    ).sort()
    ndev = max(1, len(devices))
    ev_rank = _rank(events, devices)
    bid = events.column("batch_id")
    batched = np.asarray(pc.is_valid(bid).to_numpy(zero_copy_only=False), dtype=bool)
    span_s, span_e = s.copy(), e.copy()
    if batched.any():
        # a batch is (device, batch id): the id's code x devices + the device's rank,
        # grouped by Arrow's hash of the integers (no joined strings)
        b_enc = pc.fill_null(bid, "").combine_chunks().dictionary_encode()
        b_code = np.asarray(b_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        key = (b_code * ndev + ev_rank)[batched]
        g_enc = pa.array(key).dictionary_encode()
        code = np.asarray(g_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        k = len(g_enc.dictionary)
        lo = np.full(k, np.iinfo(np.int64).max)
        hi = np.full(k, np.iinfo(np.int64).min)
        np.minimum.at(lo, code, s[batched])
        np.maximum.at(hi, code, e[batched])
        span_s[batched] = lo[code]
        span_e[batched] = hi[code]
    ev = events.append_column("span_start_us", pa.array(span_s)).append_column(
        "span_end_us", pa.array(span_e)
    )
    parts = max(1, min(int(parts), len(devices) or 1))
    # contiguous runs of the sorted devices: a part's rows come out in device order, so the
    # parts need only be put in order of their first device
    part_of = np.arange(len(devices)) * parts // ndev

    def split(t: pa.Table, rank: IntArray) -> list[pa.Table]:
        # rows by device (stable: input order within a device), so that a part holds its
        # devices' rows in the order attribute_part works in and need not reorder them
        order = np.argsort(rank, kind="stable")
        if (order != np.arange(order.size)).any():
            t = t.take(pa.array(order))
        bounds = np.searchsorted(part_of[rank[order]], np.arange(parts + 1))
        return [t.slice(int(a), int(b - a)) for a, b in itertools.pairwise(bounds)]

    return [
        {"events": a, "readings": b}
        for a, b in zip(split(ev, ev_rank), split(readings, _rank(readings, devices)), strict=True)
    ]


def _rank(t: pa.Table, devices: pa.Array) -> IntArray:
    """Each row's device as its index in ``devices`` (sorted, holding every device)."""
    if not t.num_rows:
        return np.zeros(0, dtype=np.int64)
    idx = pc.index_in(t.column("device"), value_set=devices)
    return np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)


def _device_rows(
    s: IntArray,
    e: IntArray,
    weight: IntArray | None,
    t_us: IntArray,
    c_j: FloatArray,
    *,
    window_us: int,
    idle_policy: IdlePolicy,
) -> tuple[
    FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], IntArray, IntArray, FloatArray
]:
    """One device: per event (span ``s``..``e`` [us], readings sorted) the active and idle
    energy [J], device time [s] and clipped flag; per window its measured span [us] and
    the idle energy no event carries [J] (:func:`attribute_windows`: the core's
    attribution of each window, every window in one sweep)."""
    res = attribute_windows(
        t_us, c_j, s, e, window_us=window_us, weight=weight, idle_policy=idle_policy
    )
    return (
        res.active_j,
        res.idle_j,
        res.device_time_s,
        res.clipped,
        res.window_start_us,
        res.window_end_us,
        res.unattributed_idle_j,
    )


def attribute_part(
    events: pa.Table,
    readings: pa.Table,
    *,
    window_s: float,
    idle_policy: IdlePolicy,
    split: str,
    kind: str,
) -> pa.Table:
    """Attribute one part (the events and readings of some devices; see :func:`plan`): a
    pure function of Arrow tables, rows in the :data:`ATTRIBUTIONS` layout (no run id):
    the event rows by device (sorted) and, within a device, in input order; then the idle
    rows by device and window."""
    window_us = round(window_s * US_PER_S)
    method = "measured-counter" if kind == "cumulative_j" else "measured-power-polling"
    method = f"{method}:windowed-{idle_policy}"
    n = events.num_rows
    # one reorder of the part by device (sorted), then numpy slices per device
    ev_dev = events.column("device").combine_chunks().dictionary_encode()
    names = ev_dev.dictionary.to_pylist()
    rank = np.argsort(np.argsort(np.asarray(names, dtype=object)))  # code -> sorted rank
    code = (
        rank[np.asarray(ev_dev.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]
        if n
        else np.zeros(0, dtype=np.int64)
    )
    order = np.argsort(code, kind="stable")
    # plan hands the rows over in this order already: no copy then
    ev = events.take(pa.array(order)) if (order != np.arange(n)).any() else events
    sorted_names = sorted(names)
    cuts = np.searchsorted(code[order], np.arange(len(sorted_names) + 1))
    ev_pos = {d: (int(cuts[i]), int(cuts[i + 1])) for i, d in enumerate(sorted_names)}
    s_all = _us(ev.column("span_start_us"))
    e_all = _us(ev.column("span_end_us"))
    w_all: IntArray | None = None
    if split == "tokens":
        w_all = np.maximum(
            np.asarray(pc.fill_null(ev.column("tokens_in"), 0).to_numpy(), dtype=np.int64)
            + np.asarray(pc.fill_null(ev.column("tokens_out"), 0).to_numpy(), dtype=np.int64),
            1,
        )
    rd = readings.sort_by([("device", "ascending"), ("t_utc", "ascending")])
    rd_dev = rd.column("device").to_numpy(zero_copy_only=False)
    rd_t = _us(rd.column("t_utc"))
    rd_v = np.asarray(rd.column("value").to_numpy(zero_copy_only=False), dtype=np.float64)
    bounds = (
        np.flatnonzero(np.r_[True, rd_dev[1:] != rd_dev[:-1], True])
        if rd.num_rows
        else np.zeros(1, dtype=np.int64)
    )
    rd_pos = {str(rd_dev[a]): (int(a), int(b)) for a, b in itertools.pairwise(bounds)}
    active = np.full(n, np.nan)
    idle = np.full(n, np.nan)
    dev_time = np.full(n, np.nan)
    clipped = np.ones(n, dtype=bool)
    measured = np.zeros(n, dtype=bool)
    idle_dev: list[str] = []
    idle_cols: list[tuple[IntArray, IntArray, FloatArray]] = []
    for dev in sorted(set(sorted_names) | set(rd_pos)):
        a, b = ev_pos.get(dev, (0, 0))
        ra, rb = rd_pos.get(dev, (0, 0))
        if rb - ra < 2:
            continue  # nothing measured: the events keep null energy
        t_us = rd_t[ra:rb]
        if (np.diff(t_us) <= 0).any():
            raise InputError(
                f"device {dev!r}: reading times repeat or go back", field="readings.t_utc"
            )
        v = rd_v[ra:rb]
        if kind == "cumulative_j":
            if (np.diff(v) < 0).any():
                raise InputError(
                    f"device {dev!r}: the counter decreased; unwrap wraparound or resets first",
                    field="readings.cumulative_j",
                )
            c = v - v[0]
        else:
            c = cumulative_from_power((t_us - t_us[0]) / US_PER_S, v)
        out = _device_rows(
            s_all[a:b],
            e_all[a:b],
            None if w_all is None else w_all[a:b],
            t_us,
            c,
            window_us=window_us,
            idle_policy=idle_policy,
        )
        active[a:b], idle[a:b], dev_time[a:b], clipped[a:b] = out[:4]
        measured[a:b] = True
        idle_dev.extend([dev] * out[4].size)
        idle_cols.append(out[4:])
    energy = active + idle
    nan = ~np.isfinite(energy)
    methods = pa.DictionaryArray.from_arrays(
        pa.array(measured.astype(np.int8)), pa.array(["no-readings", method])
    ).cast(pa.string())
    ev_rows = pa.table(
        {
            "row_kind": pa.array(np.full(n, "event", dtype=object), pa.string()),
            "event_id": ev.column("event_id"),
            "device": ev.column("device"),
            "region": ev.column("region"),
            "tenant": ev.column("tenant"),
            "start_utc": ev.column("start_utc"),
            "end_utc": ev.column("end_utc"),
            "window_s": pa.array(np.full(n, float(window_s))),
            "energy_j": pa.array(energy, mask=nan),
            "active_j": pa.array(active, mask=nan),
            "idle_j": pa.array(idle, mask=nan),
            "device_time_s": pa.array(dev_time, mask=nan),
            "clipped": pa.array(clipped),
            "method": methods,
            "supersedes": ev.column("supersedes"),
            "run_id": pa.nulls(n, pa.string()),
        }
    ).cast(ATTRIBUTIONS.schema)
    m = len(idle_dev)
    if not m:
        return ev_rows
    idle_rows = pa.table(
        {
            "row_kind": pa.array(["unattributed_idle"] * m, pa.string()),
            "event_id": pa.nulls(m, pa.string()),
            "device": pa.array(idle_dev, pa.string()),
            "region": pa.nulls(m, pa.string()),
            "tenant": pa.nulls(m, pa.string()),
            "start_utc": pa.array(np.concatenate([x[0] for x in idle_cols])).cast(_TS),
            "end_utc": pa.array(np.concatenate([x[1] for x in idle_cols])).cast(_TS),
            "window_s": pa.array(np.full(m, float(window_s))),
            "energy_j": pa.array(np.concatenate([x[2] for x in idle_cols])),
            "active_j": pa.array(np.zeros(m)),
            "idle_j": pa.array(np.zeros(m)),
            "device_time_s": pa.array(np.zeros(m)),
            "clipped": pa.array(np.zeros(m, bool)),
            "method": pa.array([method] * m, pa.string()),
            "supersedes": pa.nulls(m, pa.string()),
            "run_id": pa.nulls(m, pa.string()),
        }
    ).cast(ATTRIBUTIONS.schema)
    return pa.concat_tables([ev_rows, idle_rows])


def _order(outs: list[pa.Table]) -> pa.Table:
    """The parts' rows in one deterministic order whatever the engine and the cut: event
    rows by device (then input order), then idle rows by device and window.  Each part
    holds whole devices in that order already, so the parts are only put in order of their
    first device (no sort of the rows)."""
    ev_parts: list[tuple[str, pa.Table]] = []
    idle_parts: list[tuple[str, pa.Table]] = []
    for o in outs:
        o = o.cast(ATTRIBUTIONS.schema)
        n_ev = int(pc.sum(pc.equal(o.column("row_kind"), "event")).as_py() or 0)
        for rows, bucket in ((o.slice(0, n_ev), ev_parts), (o.slice(n_ev), idle_parts)):
            if rows.num_rows:
                bucket.append((str(rows.column("device")[0]), rows))
    tables = [t for _, t in sorted(ev_parts, key=lambda x: x[0])] + [
        t for _, t in sorted(idle_parts, key=lambda x: x[0])
    ]
    return pa.concat_tables(tables) if tables else ATTRIBUTIONS.schema.empty_table()


def run_attribute(
    events: pa.Table,
    readings: pa.Table,
    *,
    engine: Engine,
    window_s: float,
    idle_policy: IdlePolicy = "30-70",
    split: str = "time",
) -> pa.Table:
    """Attribute every device's readings over its events with ``engine``; rows in the
    :data:`ATTRIBUTIONS` layout: event rows by device (then input order), then the idle
    rows by device and window, the same order on every engine."""
    if not (np.isfinite(window_s) and window_s > 0):
        raise InputError(f"{window_s!r} must be a positive number of seconds", field="window")
    if idle_policy not in IDLE_POLICIES:
        raise InputError(
            f"must be one of {', '.join(IDLE_POLICIES)}, got {idle_policy!r}", field="idle_policy"
        )
    if idle_policy == "tenancy":
        raise InputError(
            "the windowed job takes 30-70 or none (tenancy needs per-tenant "
            "shares, which the job's inputs do not carry)",
            field="idle_policy",
        )
    if split not in SPLITS:
        raise InputError(f"must be one of {', '.join(SPLITS)}, got {split!r}", field="split")
    ev = validate_events(events)
    rd, kind = validate_readings(readings)
    parts = plan(ev, rd, engine.parallelism)
    params: Mapping[str, Any] = {
        "window_s": float(window_s),
        "idle_policy": idle_policy,
        "split": split,
        "kind": kind,
    }
    return _order(engine.map_parts(attribute_part, parts, params))
