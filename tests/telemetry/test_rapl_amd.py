"""RAPL and amd_energy sources against fake sysfs trees: reading, wraparound, permissions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infercarbon.errors import SensorError, SensorUnavailableError
from infercarbon.telemetry import AmdHwmonSource, EnergySource, RaplSource, wrap_delta


def test_package_and_dram_summed_core_and_psys_left_out(
    tmp_path: Path, rapl_zone: Callable[..., Path]
) -> None:
    pkg = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000)
    core = rapl_zone(tmp_path, "intel-rapl:0:0", "core", 500)
    dram = rapl_zone(tmp_path, "intel-rapl:0:1", "dram", 2_000)
    psys = rapl_zone(tmp_path, "intel-rapl:1", "psys", 0)
    src = RaplSource(sysfs_root=tmp_path)
    assert isinstance(src, EnergySource)
    assert [z.name for z in src.zones] == ["package-0", "dram"]
    (pkg / "energy_uj").write_text("5001000\n")  # +5 J
    (dram / "energy_uj").write_text("1002000\n")  # +1 J
    (core / "energy_uj").write_text("999999999\n")
    (psys / "energy_uj").write_text("999999999\n")
    assert src.read_energy_j() == pytest.approx(6.0)
    d = src.describe()
    assert d["method"] == "measured-counter" and d["label"] == "measured"
    assert {x["domain"] for x in d["devices"]} == {"package-0", "dram"}


def test_wraparound_uses_max_energy_range(tmp_path: Path, rapl_zone: Callable[..., Path]) -> None:
    pkg = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 999_000, max_range_uj=999_999)
    src = RaplSource(sysfs_root=tmp_path)
    (pkg / "energy_uj").write_text("999999\n")
    assert src.read_energy_j() == pytest.approx(0.000999)
    (pkg / "energy_uj").write_text("1000\n")  # wrapped: 999999 -> 0 (1 uJ) -> 1000
    assert src.read_energy_j() == pytest.approx((999 + 1 + 1000) / 1e6)
    assert src.wrap_period_s(power_w=100.0) == pytest.approx(999_999 / 1e6 / 100)


@given(
    max_range=st.integers(min_value=1, max_value=2**40),
    start=st.integers(min_value=0),
    steps=st.lists(st.integers(min_value=0), max_size=30),
)
def test_wrap_delta_recovers_increments_below_the_range(
    max_range: int, start: int, steps: list[int]
) -> None:
    modulus = max_range + 1
    raw = start % modulus
    total = 0
    for step in steps:
        inc = step % modulus
        new = (raw + inc) % modulus
        total += wrap_delta(raw, new, modulus)
        raw = new
        assert 0 <= wrap_delta(raw, raw, modulus) < modulus
    assert total == sum(s % modulus for s in steps)


def test_permission_denied_is_explained(
    tmp_path: Path, rapl_zone: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 1_000)
    real = Path.read_text

    def guarded(self: Path, *a: object, **k: object) -> str:
        if self == pkg / "energy_uj":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", guarded)
    with pytest.raises(SensorUnavailableError, match=r"CVE-2020-8694.*root"):
        RaplSource(sysfs_root=tmp_path)


def test_missing_powercap_zones_and_domains(tmp_path: Path, rapl_zone: Callable[..., Path]) -> None:
    with pytest.raises(SensorUnavailableError, match="does not exist"):
        RaplSource(sysfs_root=tmp_path)
    (tmp_path / "class" / "powercap").mkdir(parents=True)
    with pytest.raises(SensorUnavailableError, match="no intel-rapl"):
        RaplSource(sysfs_root=tmp_path)
    rapl_zone(tmp_path, "intel-rapl:0", "psys", 10)
    with pytest.raises(SensorUnavailableError, match=r"no package or DRAM.*psys"):
        RaplSource(sysfs_root=tmp_path)


def test_garbage_and_out_of_range_counters_raise(
    tmp_path: Path, rapl_zone: Callable[..., Path]
) -> None:
    pkg = rapl_zone(tmp_path, "intel-rapl:0", "package-0", 10, max_range_uj=100)
    src = RaplSource(sysfs_root=tmp_path)
    (pkg / "energy_uj").write_text("abc\n")
    with pytest.raises(SensorError, match="not an integer"):
        src.read_energy_j()
    (pkg / "energy_uj").write_text("101\n")
    with pytest.raises(SensorError, match="outside its range"):
        src.read_energy_j()
    src.close()
    with pytest.raises(SensorError, match="closed"):
        src.read_energy_j()


def _hwmon(root: Path, n: int, name: str, counters: dict[str, int]) -> Path:
    d = root / "class" / "hwmon" / f"hwmon{n}"
    d.mkdir(parents=True)
    (d / "name").write_text(name + "\n")
    for i, (label, uj) in enumerate(counters.items(), start=1):
        (d / f"energy{i}_input").write_text(f"{uj}\n")
        (d / f"energy{i}_label").write_text(label + "\n")
    return d


def test_amd_energy_sums_sockets_not_cores(tmp_path: Path) -> None:
    _hwmon(tmp_path, 0, "k10temp", {})
    d = _hwmon(
        tmp_path,
        1,
        "amd_energy",
        {"Ecore000": 100, "Ecore001": 100, "Esocket0": 1_000_000, "Esocket1": 0},
    )
    src = AmdHwmonSource(sysfs_root=tmp_path)
    assert [x["label"] for x in src.describe()["devices"]] == ["Esocket0", "Esocket1"]
    (d / "energy3_input").write_text("3000000\n")
    (d / "energy4_input").write_text("500000\n")
    (d / "energy1_input").write_text("999999999\n")  # a core: not counted
    assert src.read_energy_j() == pytest.approx(2.5)
    (d / "energy3_input").write_text("10\n")
    with pytest.raises(SensorError, match="went backwards"):
        src.read_energy_j()


def test_amd_energy_absent(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailableError, match="hwmon"):
        AmdHwmonSource(sysfs_root=tmp_path)
    _hwmon(tmp_path, 0, "coretemp", {})
    with pytest.raises(SensorUnavailableError, match="amd_energy"):
        AmdHwmonSource(sysfs_root=tmp_path)
