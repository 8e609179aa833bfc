"""Sampler ring buffer and modes; replay and constant sources."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from infercarbon.errors import (
    ConfigurationError,
    InputError,
    ParseError,
    SensorError,
    UnknownHardwareError,
)
from infercarbon.telemetry import ConstantSource, ReplaySource, Sampler

DATA = Path(__file__).parents[1] / "data" / "telemetry"


def test_ring_buffer_is_bounded_and_ordered(clock) -> None:
    src = ReplaySource([0.0, 100.0], [0.0, 1000.0], clock=clock)
    s = Sampler(src, clock=clock, mode="boundary", capacity=4)
    for _ in range(10):
        s.sample()
        clock.advance(1.0)
    t, e = s.readings()
    assert (s.count, s.dropped) == (4, 6)
    assert t.tolist() == [6e9, 7e9, 8e9, 9e9]
    assert e.tolist() == pytest.approx([60.0, 70.0, 80.0, 90.0])
    assert s._t_ns.nbytes == 4 * 8  # preallocated, never grows


def test_window_is_bracketed_and_strict_mode_flags_lost_history(clock) -> None:
    src = ReplaySource([0.0, 100.0], [0.0, 100.0], clock=clock)
    s = Sampler(src, clock=clock, mode="boundary", capacity=8)
    for _ in range(6):
        s.sample()
        clock.advance(1.0)
    t, _ = s.readings(int(1.5e9), int(3.5e9))
    assert t.tolist() == [1e9, 2e9, 3e9, 4e9]
    t, _ = s.readings(int(2e9), int(2e9))
    assert t.tolist() == [2e9]
    with pytest.raises(SensorError, match="do not bracket"):
        s.readings(int(2e9), int(9e9), strict=True)
    s2 = Sampler(src, clock=clock, mode="boundary", capacity=2)
    for _ in range(4):
        s2.sample()
        clock.advance(1.0)
    with pytest.raises(SensorError, match="dropped 2"):
        s2.readings(0, int(8e9), strict=True)


def test_thread_mode_samples_periodically_and_stops_cleanly() -> None:
    src = ConstantSource.from_tier("T5", clock=time.monotonic_ns)
    with Sampler(src, clock=time.monotonic_ns, period_s=0.01, capacity=1000) as s:
        time.sleep(0.15)
        running_inside = s.running
    assert running_inside
    assert not s.running
    n = s.count
    s.stop()  # idempotent: no further reading
    assert s.count == n
    t, e = s.readings()
    assert len(t) >= 3
    assert np.all(np.diff(t) > 0) and np.all(np.diff(e) >= 0)
    # energy between readings = 525 W x elapsed
    assert (e[-1] - e[0]) == pytest.approx(525.0 * (t[-1] - t[0]) / 1e9, abs=0.05)
    # (timestamps are the midpoint of the clock around each read: a few us off at most)


class _Failing:
    name, method, accuracy_class, label, needs_polling = "x", "constant", "D", "measured", True

    def __init__(self) -> None:
        self.calls = 0

    def read_energy_j(self) -> float:
        self.calls += 1
        if self.calls > 2:
            raise SensorError("device vanished")
        return float(self.calls)

    def describe(self) -> dict[str, object]:
        return {}

    def close(self) -> None:
        pass


def test_thread_error_is_reraised_not_swallowed() -> None:
    s = Sampler(_Failing(), period_s=0.005).start()
    time.sleep(0.1)
    with pytest.raises(SensorError, match="device vanished"):
        s.stop()


def test_polling_source_refuses_boundary_mode_and_bad_params() -> None:
    with pytest.raises(ConfigurationError, match="thread"):
        Sampler(_Failing(), mode="boundary")
    src = ConstantSource.from_tier("T0", clock=lambda: 0)
    with pytest.raises(InputError, match="period_s"):
        Sampler(src, period_s=0)
    with pytest.raises(InputError, match="capacity"):
        Sampler(src, capacity=1)


def test_replay_power_csv_fixture(clock) -> None:
    src = ReplaySource.from_csv(DATA / "gpu_power_trace.csv", clock=clock)
    assert src.method == "measured-power-polling"
    clock.advance(2.0)
    # trapezoid over 0..2 s of 60, 60, 300 W: 60 + 180
    assert src.read_energy_j() == pytest.approx(240.0)
    clock.advance(100.0)
    with pytest.raises(SensorError, match="outside"):
        src.read_energy_j()


def test_replay_energy_csv_and_parse_errors(tmp_path: Path, clock) -> None:
    p = tmp_path / "e.csv"
    p.write_text("t_s,energy_j\n0,0\n1,5\n2,7\n")
    src = ReplaySource.from_csv(p, clock=clock)
    clock.advance(1.5)
    assert src.read_energy_j() == pytest.approx(6.0)
    p.write_text("t_s,energy_j\n0,0\n1,x\n")
    with pytest.raises(ParseError, match=r"row 3.*energy_j"):
        ReplaySource.from_csv(p, clock=clock)
    p.write_text("time,energy_j\n0,0\n")
    with pytest.raises(ParseError, match="t_s"):
        ReplaySource.from_csv(p, clock=clock)
    p.write_text("t_s,energy_j\n0,5\n1,4\n")
    with pytest.raises(InputError, match="non-decreasing"):
        ReplaySource.from_csv(p, clock=clock)


def test_constant_tier_is_illustrative_with_range(clock) -> None:
    src = ConstantSource.from_tier("t4", clock=clock)
    clock.advance(10.0)
    assert src.read_energy_j() == pytest.approx(560.0)  # (40 + 72) / 2 W x 10 s
    d = src.describe()
    assert d["label"] == "illustrative" and d["power_w"]["low"] == 40.0
    idle = ConstantSource.from_tier("T4", state="idle", clock=clock)
    clock.advance(1.0)
    assert idle.read_energy_j() == pytest.approx(25.0)
    with pytest.raises(UnknownHardwareError):
        ConstantSource.from_tier("T9", clock=clock)
