"""Metered inferences become ledger events that the ledger accepts, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infercarbon.errors import InputError
from infercarbon.instrument import Meter
from infercarbon.instrument.export import ledger_events
from infercarbon.ledger import open_store
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows
from infercarbon.telemetry import ReplaySource

S = 1_000_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def test_meter_output_round_trips_through_the_ledger(tmp_path: Path) -> None:
    clock = FakeClock()
    src = ReplaySource([0.0, 100.0], [0.0, 1000.0], clock=clock, origin_ns=0)
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        capacity=64,
        idle_policy="none",
        market_intensity_g_per_kwh=50.0,
    )
    clock.now = 1 * S
    with m.inference(model="wl01", service="vib", tenant="plant-a") as span:
        clock.now = 2 * S
        span.set(outcome="anomaly")
    clock.now = 3 * S
    with m.batch(4, model="wl02", service="qc"):
        clock.now = 5 * S
    clock.now = 6 * S
    table = m.footprints()
    events = ledger_events(
        table,
        utc_minus_clock_ns=1_760_000_000 * S,
        run_id="run1",
        default_tenant="demo",
        device="cpu0",
    )
    assert events.num_rows == 5
    ids = events.column("event_id").to_pylist()
    assert len(set(ids)) == 5
    batch = [b for b in events.column("batch_id").to_pylist() if b is not None]
    assert len(batch) == 4
    assert len(set(batch)) == 1
    assert events.column("tenant").to_pylist() == ["plant-a", "demo", "demo", "demo", "demo"]
    # energy is conserved into the ledger: the events carry the attributed energy
    assert sum(events.column("energy_j").to_pylist()) == pytest.approx(
        sum(table.column("energy_j").to_pylist())
    )
    store = open_store(str(tmp_path / "ledger.duckdb"))
    try:
        first = store.append_events(events)
        again = store.append_events(events)
        assert first.inserted == 5
        assert again.inserted == 0
        assert again.duplicates == 5
        assert store.count("events") == 5
    finally:
        store.close()


def test_exported_events_carry_the_energy_band_and_validate() -> None:
    import numpy as np
    import pyarrow as pa

    from infercarbon.errors import InputError
    from infercarbon.ledger.schema import EVENTS
    from infercarbon.ledger.validation import validate_rows
    from infercarbon.reference.cpus import cpu_power_curve
    from infercarbon.telemetry import CpuInfo, CpuModelSource

    clock = FakeClock()
    cpu_s = [10.0]
    src = CpuModelSource(
        cpu_power_curve("AMD EPYC 7763 64-Core Processor"),
        CpuInfo("AMD EPYC 7763 64-Core Processor", 4, 16.0),
        cpu_seconds=lambda: cpu_s[0],
        scope="system",
        clock=clock,
    )
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        capacity=64,
        idle_policy="30-70",
        market_intensity_g_per_kwh=50.0,
    )
    clock.now = 1 * S
    with m.batch(3, model="wl02", service="qc"):
        clock.now = 2 * S
        cpu_s[0] += 2.5
    with m.inference(model="wl01", service="vib"):
        clock.now = 4 * S
    clock.now = 5 * S
    table = m.footprints()
    events = ledger_events(
        table,
        utc_minus_clock_ns=1_760_000_000 * S,
        run_id="run2",
        default_tenant="demo",
        device="cpu0",
    )
    assert events.column("energy_low_j").to_pylist() == table.column("energy_low_j").to_pylist()
    assert events.column("energy_high_j").to_pylist() == table.column("energy_high_j").to_pylist()
    low, e, high = (
        np.array(events.column(c).to_pylist())
        for c in ("energy_low_j", "energy_j", "energy_high_j")
    )
    assert (low <= e).all() and (e <= high).all() and (low < high).all()
    assert set(events.column("attribution_method").to_pylist()) == {"cpu-model:modelled"}
    valid = validate_rows(EVENTS, events)
    assert valid.column("energy_low_j").to_pylist() == low.tolist()
    # a table without the band exports without it (the ledger then uses the class band)
    bare = ledger_events(
        table.drop_columns(["energy_low_j", "energy_high_j"]),
        utc_minus_clock_ns=0,
        run_id="r",
        default_tenant="d",
        device="c",
    )
    assert "energy_low_j" not in bare.column_names
    with pytest.raises(InputError, match="energy_high_j"):
        ledger_events(
            table.drop_columns(["energy_high_j"]),
            utc_minus_clock_ns=0,
            run_id="r",
            default_tenant="d",
            device="c",
        )
    assert isinstance(valid, pa.Table)


def test_meter_records_the_current_otel_span_and_ships_it(tmp_path: Path) -> None:
    """Meter(trace_context="otel"): each inference carries the trace id of the current
    OpenTelemetry span and, as parent_span_id, that span's id; calls outside a span carry
    none; the ledger rolls the trace up as one figure."""
    from opentelemetry.sdk.trace import TracerProvider

    from infercarbon.ledger.rollup import ranged_sums

    tracer = TracerProvider().get_tracer("test")
    clock = FakeClock()
    src = ReplaySource([0.0, 100.0], [0.0, 1000.0], clock=clock, origin_ns=0)
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        capacity=64,
        idle_policy="none",
        market_intensity_g_per_kwh=50.0,
        trace_context="otel",
    )
    with tracer.start_as_current_span("user-action") as action:
        ctx = action.get_span_context()
        for k in range(2):  # an agent: two model calls for one user action
            clock.now = (1 + 2 * k) * S
            with m.inference(model="llm", service="agent", tokens_out=10):
                clock.now = (2 + 2 * k) * S
    clock.now = 6 * S
    with m.inference(model="llm", service="agent"):  # no span: no trace
        clock.now = 7 * S
    clock.now = 8 * S
    table = m.footprints()
    want_trace, want_span = f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"
    assert table.column("trace_id").to_pylist() == [want_trace, want_trace, None]
    assert table.column("parent_span_id").to_pylist() == [want_span, want_span, None]
    events = ledger_events(
        table,
        utc_minus_clock_ns=1_760_000_000 * S,
        run_id="tr",
        default_tenant="demo",
        device="cpu0",
    )
    assert events.column("trace_id").to_pylist() == [want_trace, want_trace, None]
    plain_clock = FakeClock()
    plain = Meter(
        "GB",
        sensor=ReplaySource([0.0, 100.0], [0.0, 1000.0], clock=plain_clock, origin_ns=0),
        clock=plain_clock,
        sampler_mode="boundary",
        capacity=64,
        idle_policy="none",
        market_intensity_g_per_kwh=50.0,
    )
    with tracer.start_as_current_span("ignored"), plain.inference(model="llm"):
        plain_clock.now = 1 * S
    plain_clock.now = 2 * S
    assert "trace_id" not in plain.footprints().column_names  # off unless asked
    with pytest.raises(InputError, match="trace_context"):
        Meter("GB", sensor=src, clock=clock, trace_context="jaeger")
    # the ledger: the trace's footprint is one figure with its range
    from infercarbon.accounting.batch import AccountingConfig, compute_footprints, footprint_batch
    from infercarbon.accounting.signals import SignalBook

    store = open_store(str(tmp_path / "traces.duckdb"))
    try:
        ev = validate_rows(EVENTS, events)
        cfg = AccountingConfig()
        store.append_events_with_footprints(
            ev,
            footprint_batch(
                ev,
                compute_footprints(ev, cfg, SignalBook()),
                cfg,
                computed_utc=datetime(2026, 9, 2, tzinfo=UTC),
            ),
        )
        rows = ranged_sums(store, of="totals", keys=("basis",), by=("trace_id",)).to_pylist()
        per_trace = {r["trace_id"]: r for r in rows if r["basis"] == "location"}
        assert per_trace[want_trace]["footprints"] == 2
        assert (
            per_trace[want_trace]["low_g"]
            < per_trace[want_trace]["value_g"]
            < per_trace[want_trace]["high_g"]
        )
    finally:
        store.close()
