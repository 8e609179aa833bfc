"""Meter results as ledger events, so metered inferences can be stored, served and audited.

:meth:`Meter.footprints` times inferences on the meter's clock (monotonic nanoseconds by
default); a ledger stores UTC.  ``utc_minus_clock_ns`` maps one onto the other: read both clocks
together once (``time.time_ns() - time.monotonic_ns()``) and pass the difference.

>>> import pyarrow as pa
>>> t = pa.table({"seq": [7], "item": [0], "batch_items": [1], "start_ns": [1_000_000_000],
...     "end_ns": [1_500_000_000], "model": ["WL-01"], "tenant": [None], "service": ["svc"],
...     "outcome": ["ok"], "tokens_in": [0], "tokens_out": [0], "payload_bytes": [0],
...     "energy_j": [0.25], "region": ["GBR"], "sensor": ["cpu-model"],
...     "method": ["modelled"]})
>>> ev = ledger_events(t, utc_minus_clock_ns=1_700_000_000 * 10**9, run_id="r1",
...                    default_tenant="demo", device="cpu")
>>> ev.column("event_id")[0].as_py(), str(ev.column("start_utc")[0].as_py())
('r1-7-0', '2023-11-14 22:13:21+00:00')
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError

__all__ = ["ledger_events", "marginal_snapshots"]

_NEEDED = (
    "seq",
    "item",
    "batch_items",
    "start_ns",
    "end_ns",
    "model",
    "tenant",
    "service",
    "outcome",
    "tokens_in",
    "tokens_out",
    "payload_bytes",
    "energy_j",
    "region",
    "sensor",
    "method",
)


def ledger_events(
    table: pa.Table,
    *,
    utc_minus_clock_ns: int,
    run_id: str,
    default_tenant: str,
    device: str,
) -> pa.Table:
    """The ledger's event columns for each metered inference (vectorised, no per-row loop).

    ``energy_j`` is the inference's attributed device energy (active plus attributed idle);
    ``attribution_method`` records the sensor and its method label.  Items of one batched call
    share a ``batch_id``.  When the table has ``energy_low_j``/``energy_high_j`` (the
    inference's own p5..p95 energy band, from :meth:`Meter.footprints`) the events carry them;
    otherwise the ledger reads the band of the method's accuracy class.  A meter that records
    the trace context (``trace_context="otel"``) ships ``trace_id``/``parent_span_id``.
    """
    missing = [c for c in _NEEDED if c not in table.column_names]
    if missing:
        raise InputError(f"meter table lacks column(s) {', '.join(missing)}", field="table")
    n = table.num_rows
    seq = table.column("seq").to_numpy(zero_copy_only=False).astype(np.int64)
    item = table.column("item").to_numpy(zero_copy_only=False).astype(np.int64)
    ids = pc.binary_join_element_wise(
        pa.array(np.full(n, run_id, dtype=object), pa.string()),
        pc.cast(pa.array(seq), pa.string()),
        pc.cast(pa.array(item), pa.string()),
        "-",
    )

    def utc(col: str) -> pa.Array:
        ns = table.column(col).to_numpy(zero_copy_only=False).astype(np.int64) + utc_minus_clock_ns
        # the ledger keeps microseconds: truncate the nanoseconds explicitly
        return pa.array((ns // 1000).astype("datetime64[us]"), pa.timestamp("us", tz="UTC"))

    def text(col: str, default: str | None = None) -> pa.Array | pa.ChunkedArray:
        arr = pc.cast(table.column(col), pa.string())
        return arr if default is None else pc.fill_null(arr, default)

    batched = table.column("batch_items").to_numpy(zero_copy_only=False) > 1
    batch_id = np.char.add(f"{run_id}-b", seq.astype(str)).astype(object)
    batch_id[~batched] = None
    method = pc.binary_join_element_wise(text("sensor"), text("method"), ":")
    band = {
        c: pc.cast(table.column(c), pa.float64())
        for c in ("energy_low_j", "energy_high_j")
        if c in table.column_names
    }
    trace = {
        c: pc.cast(table.column(c), pa.string())
        for c in ("trace_id", "parent_span_id")
        if c in table.column_names
    }  # Meter(trace_context="otel")
    if len(band) == 1:
        raise InputError(
            "meter table has only one of energy_low_j/energy_high_j: give both or neither",
            field="table",
        )
    return pa.table(
        {
            "event_id": ids,
            "start_utc": utc("start_ns"),
            "end_utc": utc("end_ns"),
            "service": text("service", "default"),
            "tenant": text("tenant", default_tenant),
            "model": text("model", "unknown"),
            "region": text("region"),
            "device": pa.array(np.full(n, device, dtype=object), pa.string()),
            "energy_j": pc.cast(table.column("energy_j"), pa.float64()),
            "attribution_method": method,
            "batch_id": pa.array(batch_id, pa.string()),
            "tokens_in": pc.cast(table.column("tokens_in"), pa.int64()),
            "tokens_out": pc.cast(table.column("tokens_out"), pa.int64()),
            "payload_bytes": pc.cast(table.column("payload_bytes"), pa.int64()),
            "outcome": text("outcome"),
            **band,
            **trace,
        }
    )


def marginal_snapshots(
    region_id: str, *, year: int, retrieved_utc: np.datetime64, basis: str = "lifecycle"
) -> pa.Table:
    """One year of a bundled hourly marginal signal as ledger intensity snapshots.

    The region must have a bundled series (:mod:`infercarbon.grid.catalogue`); the rows keep
    the signal's source and method version.
    """
    from infercarbon.grid import catalogue

    b = "direct" if basis == "direct" else "lifecycle"
    s = catalogue.hourly_marginal(region_id, b)
    t = s.start_utc.astype("datetime64[Y]").astype(int) + 1970
    m = t == year
    if not m.any():
        raise InputError(f"no {region_id} marginal data for {year}", field="year")
    n = int(m.sum())
    key = catalogue.series_key(region_id) or region_id

    def ts(a: npt.NDArray[np.datetime64]) -> pa.Array:
        return pa.array(a.astype("datetime64[us]"), pa.timestamp("us", tz="UTC"))

    return pa.table(
        {
            "region": pa.array([key] * n, pa.string()),
            "kind": pa.array(["marginal"] * n, pa.string()),
            "basis": pa.array([b] * n, pa.string()),
            "interval_start_utc": ts(s.start_utc[m]),
            "resolution_s": pa.array(np.full(n, s.resolution_s or 3600, dtype=np.int64)),
            "value_g_per_kwh": pa.array(s.intensity_g_per_kwh[m]),
            "low_g_per_kwh": pa.array(s.low_g_per_kwh[m]),
            "high_g_per_kwh": pa.array(s.high_g_per_kwh[m]),
            "source": pa.array([s.provenance.source] * n, pa.string()),
            "version": pa.array([s.provenance.version] * n, pa.string()),
            "retrieved_utc": ts(np.full(n, retrieved_utc, dtype="datetime64[us]")),
        }
    )
