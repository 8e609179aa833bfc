"""Meter.run(...): a training or pipeline run metered by the Meter, its status from how the
block ended, recorded in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infercarbon.errors import InputError
from infercarbon.instrument import Meter
from infercarbon.ledger import open_store
from infercarbon.provenance import Figure
from infercarbon.telemetry import ConstantSource


class Ticks:
    """A monotonic ns clock moved by hand."""

    def __init__(self) -> None:
        self.t = 1

    def __call__(self) -> int:
        return self.t


def test_run_context_records_status_energy_and_times() -> None:
    clock = Ticks()
    src = ConstantSource(
        Figure(100.0, "w", source="test", label="illustrative", low=80.0, high=120.0), clock=clock
    )
    times = iter(datetime(2026, 7, 1, tzinfo=UTC) + timedelta(minutes=i) for i in range(10))
    with open_store(":memory:") as store:
        m = Meter("DEU", sensor=src, clock=clock, sampler_mode="boundary")
        with m.run(kind="train", model="m", store=store, now=lambda: next(times)) as run:
            clock.t += 5_000_000_000  # the run takes 5 s
        assert run.record is not None and run.record["status"] == "succeeded"
        with (
            pytest.raises(RuntimeError),
            m.run(kind="retrain", model="m", store=store, now=lambda: next(times)),
        ):
            raise RuntimeError("diverged")
        with (
            pytest.raises(KeyboardInterrupt),
            m.run(kind="eval", model="m", store=store, now=lambda: next(times)),
        ):
            raise KeyboardInterrupt
        m.close()
        rows = {r["kind"]: r for r in store.runs().to_pylist()}
    assert rows["retrain"]["status"] == "failed" and rows["retrain"]["command"] == "RuntimeError"
    assert rows["eval"]["status"] == "killed" and rows["eval"]["signal"] == "SIGINT"
    tr = rows["train"]
    assert tr["energy_j"] == pytest.approx(500.0)  # 100 W for 5 s
    assert tr["energy_low_j"] <= tr["energy_j"] <= tr["energy_high_j"]
    assert tr["region"] == "DEU" and tr["emissions_g"] > 0
    assert tr["end_utc"] - tr["start_utc"] == timedelta(minutes=1)


def test_run_kind_is_checked() -> None:
    m = Meter(
        "DEU",
        sensor=ConstantSource(Figure(1.0, "w", source="test", label="illustrative")),
        sampler_mode="boundary",
    )
    with pytest.raises(InputError) as info:
        m.run(kind="pretrain", model="m")
    assert info.value.field == "kind"
    m.close()
