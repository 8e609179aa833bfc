"""NVML source against a fake pynvml module: counters, power-polling fallback, MIG, failures."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import pytest

from infercarbon.errors import FallbackWarning, SensorError, SensorUnavailableError
from infercarbon.telemetry import EnergySource, NvmlSource


def test_energy_counter_per_gpu_summed(nvml_fakes: SimpleNamespace, clock) -> None:
    nv = nvml_fakes.Nvml(gpus=[nvml_fakes.Gpu(energy_mj=5_000), nvml_fakes.Gpu(energy_mj=0)])
    src = NvmlSource(nvml_module=nv, clock=clock)
    assert isinstance(src, EnergySource)
    assert (src.method, src.label, src.needs_polling) == ("measured-counter", "measured", False)
    nv.gpus[0].energy_mj += 2_500
    nv.gpus[1].energy_mj += 1_000
    assert src.read_device_energy_j() == [2.5, 1.0]
    assert src.read_energy_j() == pytest.approx(3.5)
    src.close()
    assert nv.shutdowns == 1
    with pytest.raises(SensorError, match="closed"):
        src.read_energy_j()


def test_power_polling_fallback_integrates_trapezoid(nvml_fakes: SimpleNamespace, clock) -> None:
    nv = nvml_fakes.Nvml(gpus=[nvml_fakes.Gpu(energy_mj=None, power_mw=100_000)])
    src = NvmlSource(nvml_module=nv, clock=clock)
    assert (src.method, src.needs_polling) == ("measured-power-polling", True)
    assert "power polling" in " ".join(src.describe()["caveats"])
    clock.advance(1.0)
    nv.gpus[0].power_mw = 300_000
    assert src.read_energy_j() == pytest.approx(200.0)  # (100 + 300) / 2 W x 1 s
    clock.advance(2.0)
    assert src.read_energy_j() == pytest.approx(800.0)


def test_mig_degrades_with_a_caveat(nvml_fakes: SimpleNamespace, clock) -> None:
    nv = nvml_fakes.Nvml(gpus=[nvml_fakes.Gpu(mig=1), nvml_fakes.Gpu(mig=None)])
    src = NvmlSource(nvml_module=nv, clock=clock)
    d = src.describe()
    assert [g["mig"] for g in d["devices"]] == [True, False]
    assert any("MIG enabled" in c for c in d["caveats"])


def test_gpu_without_energy_or_power_is_excluded_with_warning(
    nvml_fakes: SimpleNamespace, clock
) -> None:
    nv = nvml_fakes.Nvml(gpus=[nvml_fakes.Gpu(), nvml_fakes.Gpu(energy_mj=None, power_mw=None)])
    with pytest.warns(FallbackWarning, match="NOT covered"):
        src = NvmlSource(nvml_module=nv, clock=clock)
    assert src.describe()["excluded"][0]["index"] == 1
    nv_none = nvml_fakes.Nvml(gpus=[nvml_fakes.Gpu(energy_mj=None, power_mw=None)])
    with pytest.raises(SensorUnavailableError, match="energy and power not supported"):
        NvmlSource(nvml_module=nv_none, clock=clock)


def test_unavailable_conditions(nvml_fakes: SimpleNamespace, clock) -> None:
    with pytest.raises(SensorUnavailableError, match="Driver Not Loaded"):
        NvmlSource(nvml_module=nvml_fakes.Nvml(init_error=9), clock=clock)
    with pytest.raises(SensorUnavailableError, match="no NVIDIA GPU"):
        NvmlSource(nvml_module=nvml_fakes.Nvml(gpus=[]), clock=clock)
    with pytest.raises(SensorUnavailableError, match="index 3"):
        NvmlSource([3], nvml_module=nvml_fakes.Nvml(), clock=clock)


@pytest.mark.skipif(importlib.util.find_spec("pynvml") is not None, reason="pynvml installed")
def test_missing_library_is_explained() -> None:
    with pytest.raises(SensorUnavailableError, match=r"infercarbon\[nvml\]"):
        NvmlSource()


def test_read_failures_raise_never_zero(nvml_fakes: SimpleNamespace, clock) -> None:
    nv = nvml_fakes.Nvml()
    src = NvmlSource(nvml_module=nv, clock=clock)
    nv.gpus[0].energy_mj -= 10
    with pytest.raises(SensorError, match="went backwards"):
        src.read_energy_j()
    nv.gpus[0].energy_mj += 10
    nv.gpus[0].lost = True
    with pytest.raises(SensorError, match="GPU is lost"):
        src.read_energy_j()


def test_meter_drops_stale_counter_repeats(nvml_fakes: SimpleNamespace, clock) -> None:
    """A counter the driver refreshes every 100 ms, sampled every 50 ms, at 127 W with a
    119 W baseline: the Meter's active energy is the 8 W above idle, not the step artefact."""
    from infercarbon.instrument import Meter

    nv = nvml_fakes.Nvml(gpus=[nvml_fakes.Gpu(energy_mj=0)])
    src = NvmlSource(nvml_module=nv, clock=clock)
    assert src.coarse_updates and "not yet updated" in " ".join(src.describe()["caveats"])
    meter = Meter(
        "DE",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        idle_policy="none",
        baseline_idle_w=119.0,
        market_intensity_g_per_kwh=300.0,
    )
    ms = 0
    for _ in range(40):  # 40 x 100 ms, one inference per 50 ms read
        for _ in range(2):
            with meter.inference(model="m"):
                clock.advance(0.049)
            clock.advance(0.001)
            ms += 50
            nv.gpus[0].energy_mj = 127 * (ms // 100 * 100)  # refreshed each 100 ms
            meter.sampler.sample()
    clock.advance(0.001)  # footprints() takes the closing reading (the counter has not moved)
    table = meter.footprints()
    s = meter.summary(table)
    assert s["total_j"] == pytest.approx(127 * 4.0)
    busy_s = table.column("device_time_s").to_numpy().sum()
    assert table.column("active_energy_j").to_numpy().sum() == pytest.approx(8.0 * busy_s, rel=0.05)
