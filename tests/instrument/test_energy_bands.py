"""The Meter's energy bands: every row brackets its energy, a measured counter gets class A,
the CPU model its own coefficients' ranges, and the bands travel into ledger events."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infercarbon.accounting.events import quadrature_band, relative_deviations_frac
from infercarbon.instrument import Meter
from infercarbon.reference.cpus import cpu_power_curve
from infercarbon.telemetry import ConstantSource, CpuInfo, CpuModelSource, ReplaySource
from infercarbon.telemetry.base import ENERGY_BANDS

S = 1_000_000_000
EPYC = CpuInfo("AMD EPYC 7763 64-Core Processor", logical_cpus=4, memory_gb=16.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


class CpuSeconds:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def _replay_meter(clock: FakeClock, region: str = "GB", **kw) -> Meter:
    src = ReplaySource([0.0, 1000.0], [0.0, 10_000.0], clock=clock, origin_ns=0)
    kw.setdefault("idle_policy", "30-70")
    kw.setdefault("market_intensity_g_per_kwh", 100.0)
    return Meter(region, sensor=src, clock=clock, sampler_mode="boundary", capacity=256, **kw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 20), st.integers(1, 3)),
        min_size=1,
        max_size=12,
    ),
    policy=st.sampled_from(["30-70", "none"]),
    cpu_scope=st.sampled_from(["replay", "system", "process"]),
    busy_frac=st.floats(0.0, 4.0),
)
def test_every_row_brackets_its_energy(spans, policy, cpu_scope, busy_frac):
    clock = FakeClock()
    if cpu_scope == "replay":
        src: ReplaySource | CpuModelSource = ReplaySource(
            [0.0, 1000.0], [0.0, 10_000.0], clock=clock, origin_ns=0
        )
        cpu_s = None
    else:
        cpu_s = CpuSeconds()
        src = CpuModelSource(
            cpu_power_curve(EPYC.model_name), EPYC, cpu_seconds=cpu_s, scope=cpu_scope, clock=clock
        )
    m = Meter(
        "DE",
        sensor=src,
        clock=clock,
        sampler_mode="thread",
        period_s=1e-9,
        start=False,
        capacity=64,
        idle_policy=policy,
        market_intensity_g_per_kwh=50.0,
        marginal_intensity_g_per_kwh=500.0,
        pue=1.3,
    )
    last = [-1]

    def sample() -> None:  # readings by hand, at strictly increasing times: irregular series
        if clock.now > last[0]:
            m.sampler.sample()
            last[0] = clock.now

    sample()
    for start, dur, items in spans:
        clock.now += start * S // 10
        if cpu_s is not None:
            cpu_s.value += busy_frac * start / 10
        sample()
        with m.batch(items, model="x"):
            clock.now += dur * S // 10
            if cpu_s is not None:
                cpu_s.value += busy_frac * dur / 10
        sample()
    clock.now += S
    sample()
    rows = m.footprints().to_pylist()
    for r in rows:
        assert 0.0 <= r["energy_low_j"] <= r["energy_j"] <= r["energy_high_j"]
        for line in ("operational_location", "operational_market", "operational_marginal"):
            assert 0.0 <= r[f"{line}_low_g"] <= r[f"{line}_g"] <= r[f"{line}_high_g"]


def test_measured_counter_replay_gets_the_class_a_band():
    clock = FakeClock()
    m = _replay_meter(clock)
    clock.now = S
    with m.inference(model="a"):
        clock.now = 3 * S
    with m.batch(2, model="b"):
        clock.now = 4 * S
    clock.now = 10 * S
    t = m.footprints()
    a = ENERGY_BANDS["measured-counter"]
    e = np.array(t.column("energy_j").to_pylist())
    assert t.column("energy_low_j").to_pylist() == pytest.approx(list(e * a.low_frac))
    assert t.column("energy_high_j").to_pylist() == pytest.approx(list(e * a.high_frac))
    assert t.column("energy_band_source")[0].as_py().startswith("accuracy class A")
    # GB's annual intensity has no range: the operational band is the energy band alone
    r = t.to_pylist()[0]
    assert r["operational_location_low_g"] == pytest.approx(r["operational_location_g"] * 0.95)
    assert r["operational_location_high_g"] == pytest.approx(r["operational_location_g"] * 1.05)
    s = m.summary(t)
    assert s["energy_label"] == "measured"
    assert s["total_low_j"] == pytest.approx(s["total_j"] * 0.95)


def test_cpu_model_process_scope_band_is_its_dynamic_coefficient():
    clock = FakeClock()
    cpu_s = CpuSeconds()
    src = CpuModelSource(
        cpu_power_curve(EPYC.model_name), EPYC, cpu_seconds=cpu_s, scope="process", clock=clock
    )
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        capacity=16,
        idle_policy="30-70",
        market_intensity_g_per_kwh=10.0,
    )
    clock.now = S
    with m.inference(model="a"):
        clock.now = 2 * S
        cpu_s.value += 0.8
    cpu_s.value += 0.1  # work outside any inference: idle pool
    clock.now = 3 * S
    t = m.footprints()
    dyn = src.dynamic_w_per_cpu
    lo_r, hi_r = dyn.range[0] / dyn.value, dyn.range[1] / dyn.value
    (r,) = t.to_pylist()
    assert r["energy_j"] > 0
    assert r["energy_low_j"] == pytest.approx(r["energy_j"] * lo_r)
    assert r["energy_high_j"] == pytest.approx(r["energy_j"] * hi_r)
    # agrees with the source's own envelope for the same CPU time
    _, lo, hi = src.energy_range_j(0.9, 2.0)
    assert m.summary(t)["total_low_j"] == pytest.approx(lo)
    assert m.summary(t)["total_high_j"] == pytest.approx(hi)
    assert r["energy_label"] == "modelled" and "cpu-model coefficients" in r["energy_band_source"]
    # not the generic class C band: its own coefficients
    assert lo_r != ENERGY_BANDS["modelled"].low_frac


def test_cpu_model_system_scope_splits_idle_and_dynamic_terms():
    clock = FakeClock()
    cpu_s = CpuSeconds()
    src = CpuModelSource(
        cpu_power_curve(EPYC.model_name), EPYC, cpu_seconds=cpu_s, scope="system", clock=clock
    )
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="thread",
        period_s=1.0,
        start=False,
        capacity=16,
        idle_policy="none",
        market_intensity_g_per_kwh=10.0,
    )
    m.sampler.sample()
    clock.now = 2 * S  # 2 s idle
    m.sampler.sample()
    with m.inference(model="busy"):
        clock.now = 3 * S
        cpu_s.value += 3.0  # 1 s with 3 CPUs busy
        m.sampler.sample()
    clock.now = 4 * S
    m.sampler.sample()
    (r,) = m.footprints().to_pylist()
    idle, dyn = src.idle_power_w, src.dynamic_w_per_cpu
    value = idle.value * 1.0 + dyn.value * 3.0
    assert r["energy_j"] == pytest.approx(value)
    assert r["energy_low_j"] == pytest.approx(idle.range[0] + dyn.range[0] * 3.0)
    assert r["energy_high_j"] == pytest.approx(idle.range[1] + dyn.range[1] * 3.0)
    assert (r["energy_low_j"], r["energy_high_j"]) == pytest.approx(
        src.energy_range_j(3.0, 1.0)[1:]
    )


def test_modelled_energy_is_never_labelled_measured():
    clock = FakeClock()
    cpu_s = CpuSeconds()
    src = CpuModelSource(
        cpu_power_curve(EPYC.model_name), EPYC, cpu_seconds=cpu_s, scope="system", clock=clock
    )
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        capacity=16,
        idle_policy="30-70",
        market_intensity_g_per_kwh=10.0,
    )
    clock.now = S
    with m.inference(model="a"):
        clock.now = 2 * S
        cpu_s.value += 1.0
    clock.now = 3 * S
    t = m.footprints()
    s = m.summary(t)
    for name in ("method", "energy_label", "energy_band_source", "accuracy_class"):
        for v in set(t.column(name).to_pylist()):
            assert "measured" not in v.replace("not measured", "") and "cited" not in v
    assert s["energy_label"] == "modelled"
    assert not any("measured" in n for n in s["notes"])


def test_constant_source_uses_its_power_range():
    clock = FakeClock()
    src = ConstantSource.from_tier("T1", clock=clock)
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        capacity=16,
        idle_policy="none",
        market_intensity_g_per_kwh=10.0,
    )
    with m.inference(model="a"):
        clock.now = 2 * S
    (r,) = m.footprints().to_pylist()
    p = src.power_w
    assert r["energy_low_j"] == pytest.approx(r["energy_j"] * p.range[0] / p.value)
    assert r["energy_high_j"] == pytest.approx(r["energy_j"] * p.range[1] / p.value)
    assert r["energy_label"] == "illustrative"


def test_operational_band_combines_energy_and_intensity_in_quadrature():
    clock = FakeClock()
    m = _replay_meter(clock, region="CA-AB", idle_policy="none")  # a region with a range
    with m.inference(model="a"):
        clock.now = 2 * S
    (r,) = m.footprints().to_pylist()
    f = m.region.intensity_g_per_kwh
    g = r["operational_location_g"]
    lo = g * (1 - math.hypot(0.05, (f.value - f.range[0]) / f.value))
    hi = g * (1 + math.hypot(0.05, (f.range[1] - f.value) / f.value))
    assert r["operational_location_low_g"] == pytest.approx(lo)
    assert r["operational_location_high_g"] == pytest.approx(hi)


def test_quadrature_helpers():
    lo, hi = relative_deviations_frac(
        np.array([0.0, 10.0]), np.array([0.0, 8.0]), np.array([0.0, 13.0])
    )
    assert lo.tolist() == pytest.approx([0.0, 0.2]) and hi.tolist() == pytest.approx([0.0, 0.3])
    low, high = quadrature_band(np.array([1.0, 1.0]), [np.array([2.0, 0.6]), 0.8], [0.0, 0.0])
    assert low.tolist() == pytest.approx([0.0, 0.0])  # floored at zero
    assert high.tolist() == [1.0, 1.0]


def test_meter_summary_json_has_band():
    clock = FakeClock()
    m = _replay_meter(clock)
    with m.inference(model="a"):
        clock.now = S
    t = m.footprints()
    meta = json.loads(t.schema.metadata[b"infercarbon"])
    assert meta["total_low_j"] <= meta["total_j"] <= meta["total_high_j"]
