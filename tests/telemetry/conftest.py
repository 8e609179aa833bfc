"""Test doubles for the telemetry tests: a fake sysfs tree, a fake NVML module, a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest


class FakeClock:
    """An injected clock: integer nanoseconds, advanced by the test."""

    def __init__(self, start_ns: int = 0) -> None:
        self.now_ns = start_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += round(seconds * 1e9)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_rapl_zone(
    root: Path, zone: str, name: str, energy_uj: int, max_range_uj: int = 262_143_328_850
) -> Path:
    d = root / "class" / "powercap" / zone
    d.mkdir(parents=True, exist_ok=True)
    (d / "name").write_text(name + "\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    return d


@pytest.fixture
def rapl_zone() -> Callable[..., Path]:
    return make_rapl_zone


# ------------------------------------------------------------------ fake NVML
class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        self.value = value
        super().__init__(
            {3: "Not Supported", 9: "Driver Not Loaded", 15: "GPU is lost"}.get(
                value, f"NVML error {value}"
            )
        )


@dataclass
class FakeGpu:
    name: str = "NVIDIA H100 80GB HBM3"
    energy_mj: int | None = 1_000_000  # None: NOT_SUPPORTED (pre-Volta)
    power_mw: int | None = 300_000  # None: NOT_SUPPORTED
    mig: int | None = 0  # None: NOT_SUPPORTED (pre-Ampere)
    lost: bool = False


@dataclass
class FakeNvml:
    """Enough of pynvml for NvmlSource: init, count, handles, energy, power, MIG mode."""

    gpus: list[FakeGpu] = field(default_factory=lambda: [FakeGpu()])
    init_error: int | None = None
    shutdowns: int = 0

    NVML_ERROR_NOT_SUPPORTED = 3
    NVML_DEVICE_MIG_ENABLE = 1
    NVMLError = FakeNVMLError

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> Any:
        return SimpleNamespace(gpu=self.gpus[i])

    def nvmlDeviceGetName(self, h: Any) -> bytes:
        return h.gpu.name.encode()

    def nvmlDeviceGetMigMode(self, h: Any) -> tuple[int, int]:
        if h.gpu.mig is None:
            raise FakeNVMLError(3)
        return h.gpu.mig, h.gpu.mig

    def nvmlDeviceGetTotalEnergyConsumption(self, h: Any) -> int:
        if h.gpu.lost:
            raise FakeNVMLError(15)
        if h.gpu.energy_mj is None:
            raise FakeNVMLError(3)
        return h.gpu.energy_mj

    def nvmlDeviceGetPowerUsage(self, h: Any) -> int:
        if h.gpu.lost:
            raise FakeNVMLError(15)
        if h.gpu.power_mw is None:
            raise FakeNVMLError(3)
        return h.gpu.power_mw


@pytest.fixture
def nvml_fakes() -> SimpleNamespace:
    """The fake NVML module class and its GPU record."""
    return SimpleNamespace(Nvml=FakeNvml, Gpu=FakeGpu)
