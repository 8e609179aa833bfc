"""CPU utilisation model (idle vs busy, scopes, real process tree) and auto-detection."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from infercarbon.errors import FallbackWarning, InputError, SensorUnavailableError
from infercarbon.reference.cpus import cpu_power_curve
from infercarbon.telemetry import CpuInfo, CpuModelSource, EnergySource, detect, detect_cpu
from infercarbon.telemetry.cpu_model import process_tree_cpu_seconds

EPYC = CpuInfo("AMD EPYC 7763 64-Core Processor", logical_cpus=4, memory_gb=16.0)


class CpuSeconds:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_system_scope_idle_vs_busy_exact_arithmetic(clock) -> None:
    cpu_s = CpuSeconds()
    curve = cpu_power_curve(EPYC.model_name)
    src = CpuModelSource(curve, EPYC, cpu_seconds=cpu_s, scope="system", clock=clock)
    assert isinstance(src, EnergySource)
    idle_w = 4 * curve.idle_w_per_thread.value + 16 * curve.mem_idle_w_per_gb.value
    k_w = curve.dynamic_w_per_thread.value + 16 * curve.mem_dynamic_w_per_gb.value / 4
    assert src.idle_power_w.value == pytest.approx(idle_w)
    assert src.dynamic_w_per_cpu.value == pytest.approx(k_w)
    clock.advance(10.0)  # idle 10 s
    e_idle = src.read_energy_j()
    assert e_idle == pytest.approx(10 * idle_w)
    clock.advance(10.0)  # 10 s with all 4 CPUs busy
    cpu_s.value += 40.0
    e_busy = src.read_energy_j() - e_idle
    assert e_busy == pytest.approx(10 * idle_w + 40 * k_w)
    # idle and busy are clearly distinguishable: full load adds > 50 % over idle
    assert e_busy > 1.5 * e_idle
    # full-load power equals the curve's full-load figures
    assert e_busy / 10 == pytest.approx(
        4 * curve.full_w_per_thread.value + 16 * curve.mem_full_w_per_gb.value, rel=0.05
    )


def test_process_scope_excludes_idle_and_keeps_counter_monotonic(clock) -> None:
    cpu_s = CpuSeconds()
    src = CpuModelSource(
        cpu_power_curve(EPYC.model_name), EPYC, cpu_seconds=cpu_s, scope="process", clock=clock
    )
    clock.advance(5.0)
    assert src.read_energy_j() == 0.0  # asleep: no CPU time, no energy added
    cpu_s.value += 2.0
    e = src.read_energy_j()
    assert e == pytest.approx(2.0 * src.dynamic_w_per_cpu.value)
    cpu_s.value -= 0.5  # exited-but-unreaped child briefly uncounted
    assert src.read_energy_j() == e
    value, lo, hi = src.energy_range_j(2.0, 5.0)
    assert lo < value < hi and value == pytest.approx(e)
    d = src.describe()
    assert d["scope"] == "process" and d["match"] == "model"
    assert any("idle power is excluded" in c for c in d["caveats"])


def test_unmatched_cpu_uses_cohort_with_a_warning(clock) -> None:
    info = CpuInfo("Fancy RISC-V Thing", logical_cpus=2, memory_gb=4.0)
    with pytest.warns(FallbackWarning, match="generic"):
        src = CpuModelSource(
            cpu_power_curve(info.model_name), info, cpu_seconds=CpuSeconds(), clock=clock
        )
    assert src.describe()["match"] == "cohort"


def test_real_process_tree_busy_child_reads_more_than_sleeping_child() -> None:
    busy = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.4: pass"
    readings = {}
    for name, code in (("busy", busy), ("sleep", "import time; time.sleep(0.4)")):
        read = process_tree_cpu_seconds(__import__("os").getpid(), include_self=False)
        before = read()
        subprocess.run([sys.executable, "-c", code], check=True)
        readings[name] = read() - before
    assert readings["busy"] >= 0.35
    assert readings["sleep"] < 0.2  # interpreter start-up only


def test_detect_cpu_from_fake_proc(tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz\n"
        "siblings\t: 56\nflags\t\t: fpu sse hypervisor\n"
    )
    info = detect_cpu(proc_root=tmp_path)
    assert info.model_name.startswith("Intel(R) Xeon(R) Platinum 8280")
    assert (info.threads_per_package, info.virtualised) == (56, True)
    assert info.logical_cpus >= 1 and info.memory_gb > 0


def test_detect_prefers_nvml_then_rapl_and_explains(
    tmp_path: Path, rapl_zone, nvml_fakes: SimpleNamespace, clock
) -> None:
    src, report = detect(
        sysfs_root=tmp_path, nvml_module=nvml_fakes.Nvml(init_error=9), cpu=EPYC, clock=clock
    )
    assert src.name == "cpu-model"
    why = {a.name: a for a in report}
    assert not why["nvml"].available and "Driver Not Loaded" in why["nvml"].reason
    assert not why["rapl"].available and "powercap" in why["rapl"].reason
    assert not why["amd-hwmon"].available and "hwmon" in why["amd-hwmon"].reason
    assert why["cpu-model"].reason.startswith("chosen")
    assert not why["constant"].available

    rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    src, report = detect(
        sysfs_root=tmp_path, nvml_module=nvml_fakes.Nvml(init_error=9), cpu=EPYC, clock=clock
    )
    assert src.name == "rapl"
    assert {a.name: a.available for a in report}["cpu-model"] is True

    src, report = detect(sysfs_root=tmp_path, nvml_module=nvml_fakes.Nvml(), clock=clock)
    assert src.name == "nvml"
    assert "ranks lower" in {a.name: a for a in report}["rapl"].reason


def test_auto_cpu_skips_the_gpu(
    tmp_path: Path, rapl_zone, nvml_fakes: SimpleNamespace, clock
) -> None:
    """CPU workloads on a GPU machine: the GPU's board energy is not theirs."""
    src, report = detect(
        "auto-cpu", sysfs_root=tmp_path, nvml_module=nvml_fakes.Nvml(), cpu=EPYC, clock=clock
    )
    why = {a.name: a for a in report}
    assert src.name == "cpu-model"
    assert why["nvml"].available and "not requested (sensor auto-cpu)" in why["nvml"].reason
    rapl_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    src, _ = detect(
        "auto-cpu", sysfs_root=tmp_path, nvml_module=nvml_fakes.Nvml(), cpu=EPYC, clock=clock
    )
    assert src.name == "rapl"


def test_detect_explicit_choices(tmp_path: Path, nvml_fakes: SimpleNamespace, clock) -> None:
    with pytest.raises(SensorUnavailableError, match="rapl"):
        detect("rapl", sysfs_root=tmp_path, nvml_module=nvml_fakes.Nvml(), clock=clock)
    src, _ = detect(
        "cpu-model", sysfs_root=tmp_path, nvml_module=nvml_fakes.Nvml(), cpu=EPYC, clock=clock
    )
    assert src.name == "cpu-model"
    src, report = detect(
        "constant",
        tier="T2",
        sysfs_root=tmp_path,
        nvml_module=nvml_fakes.Nvml(init_error=9),
        cpu=EPYC,
        clock=clock,
    )
    assert (src.name, src.label) == ("constant", "illustrative")
    assert report[-1].name == "constant" and report[-1].reason.startswith("chosen")
    with pytest.raises(InputError, match="tier"):
        detect(
            "constant",
            sysfs_root=tmp_path,
            nvml_module=nvml_fakes.Nvml(init_error=9),
            cpu=EPYC,
            clock=clock,
        )
    with pytest.raises(InputError, match="ReplaySource"):
        detect("replay")
    with pytest.raises(InputError, match="unknown sensor"):
        detect("nvidia")


@pytest.mark.filterwarnings("ignore::infercarbon.errors.FallbackWarning")
def test_wall_clock_busy_vs_idle_on_this_machine() -> None:
    """The process-scope model on the test machine: busy CPU time reads far more than sleep."""
    src = CpuModelSource.for_this_machine(scope="process")
    e0 = src.read_energy_j()
    time.sleep(0.3)
    e1 = src.read_energy_j()
    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    e2 = src.read_energy_j()
    assert e2 - e1 > 5 * max(e1 - e0, 0.01)
