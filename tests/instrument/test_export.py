"""Metered inferences become ledger events that the ledger accepts, idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest

from infercarbon.instrument import Meter
from infercarbon.instrument.export import ledger_events
from infercarbon.ledger import open_store
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
    m = Meter("GB", sensor=src, clock=clock, sampler_mode="boundary", capacity=64,
              idle_policy="none", market_intensity_g_per_kwh=50.0)
    clock.now = 1 * S
    with m.inference(model="wl01", service="vib", tenant="plant-a") as span:
        clock.now = 2 * S
        span.set(outcome="anomaly")
    clock.now = 3 * S
    with m.batch(4, model="wl02", service="qc"):
        clock.now = 5 * S
    clock.now = 6 * S
    table = m.footprints()
    events = ledger_events(table, utc_minus_clock_ns=1_760_000_000 * S, run_id="run1",
                           default_tenant="demo", device="cpu0")
    assert events.num_rows == 5
    ids = events.column("event_id").to_pylist()
    assert len(set(ids)) == 5
    batch = [b for b in events.column("batch_id").to_pylist() if b is not None]
    assert len(batch) == 4
    assert len(set(batch)) == 1
    assert events.column("tenant").to_pylist() == ["plant-a", "demo", "demo", "demo", "demo"]
    # energy is conserved into the ledger: the events carry the attributed energy
    assert sum(events.column("energy_j").to_pylist()) == pytest.approx(
        sum(table.column("energy_j").to_pylist()))
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
