"""NVIDIA GPUs through NVML (``nvidia-ml-py``, optional extra ``infercarbon[nvml]``).

Per GPU, the preferred reading is ``nvmlDeviceGetTotalEnergyConsumption``: the board's
energy in millijoules since the driver was last loaded (Volta and newer), a 64-bit counter
that the driver refreshes about every 100 ms (median 100 ms, p10-p90 83-116 ms, measured on an
H200 with driver 580: docs/gpu_measurements.md); the Meter drops the repeated values read between
refreshes before attribution.  On older GPUs that return NVML_ERROR_NOT_SUPPORTED
the source falls back, with a label, to ``nvmlDeviceGetPowerUsage`` (milliwatts) integrated
with the trapezoidal rule between reads; such a source ``needs_polling`` and must be read by the
sampler's thread.  A GPU in MIG mode is still read as a whole physical board (NVML has no
per-MIG-instance energy): the description carries that caveat.  No NVML condition crashes the
caller: missing library, no driver, no GPU and unsupported queries become
:class:`SensorUnavailableError` (with the reason) or a labelled per-device fallback.

The ``nvml_module`` argument injects the module (tests use a fake; default ``import pynvml``).
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from infercarbon.errors import (
    FallbackWarning,
    InfercarbonWarning,
    SensorError,
    SensorUnavailableError,
)
from infercarbon.telemetry.base import ACCURACY_CLASSES, default_clock
from infercarbon.timeutil import MonotonicClockNs
from infercarbon.units import NS_PER_S

__all__ = ["NvmlSource", "load_nvml"]


def load_nvml(nvml_module: ModuleType | Any | None = None) -> Any:
    """The injected module, or ``pynvml`` from nvidia-ml-py; unavailable if not installed."""
    if nvml_module is not None:
        return nvml_module
    try:
        return importlib.import_module("pynvml")
    except ImportError as exc:
        raise SensorUnavailableError(
            "nvidia-ml-py is not installed (pip install 'infercarbon[nvml]')"
        ) from exc


def _nvml_error(nvml: Any) -> type[BaseException]:
    err = getattr(nvml, "NVMLError", None)
    return err if isinstance(err, type) and issubclass(err, BaseException) else OSError


def _is_not_supported(nvml: Any, exc: BaseException) -> bool:
    code = getattr(nvml, "NVML_ERROR_NOT_SUPPORTED", 3)
    return getattr(exc, "value", None) == code


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class _Gpu:
    index: int
    handle: Any
    name: str
    mode: str  # "counter" | "power"
    mig: bool
    origin_mj: int = 0
    last_mj: int = 0
    # power polling state
    energy_j: float = 0.0
    last_t_ns: int = 0
    last_power_w: float = 0.0


class NvmlSource:
    """Cumulative energy of one or more NVIDIA GPUs.

    Parameters
    ----------
    device_indices : sequence of int, optional
        NVML indices to cover; default all GPUs.
    nvml_module : module, optional
        Injected NVML binding (default ``pynvml``).
    clock : callable returning int [ns]
        Used to integrate polled power.

    Raises
    ------
    SensorUnavailableError
        Library missing, NVML init fails, no GPU, or no covered GPU gives energy or power.
    """

    name = "nvml"
    label = "measured"

    def __init__(
        self,
        device_indices: Sequence[int] | None = None,
        *,
        nvml_module: ModuleType | Any | None = None,
        clock: MonotonicClockNs = default_clock,
    ) -> None:
        nvml = load_nvml(nvml_module)
        self._nvml = nvml
        self.clock = clock
        self._lock = threading.Lock()
        self._closed = False
        err = _nvml_error(nvml)
        try:
            nvml.nvmlInit()
        except err as exc:
            raise SensorUnavailableError(f"NVML could not initialise: {exc}") from exc
        try:
            count = int(nvml.nvmlDeviceGetCount())
            if count == 0:
                raise SensorUnavailableError("NVML reports no NVIDIA GPU")
            indices = list(range(count)) if device_indices is None else list(device_indices)
            for i in indices:
                if not 0 <= i < count:
                    raise SensorUnavailableError(f"GPU index {i} not present ({count} GPU(s))")
            self._gpus: list[_Gpu] = []
            self.excluded: list[dict[str, Any]] = []
            for i in indices:
                self._probe(i)
        except err as exc:
            self._shutdown()
            raise SensorUnavailableError(f"NVML query failed: {exc}") from exc
        except SensorUnavailableError:
            self._shutdown()
            raise
        if not self._gpus:
            self._shutdown()
            reasons = "; ".join(f"GPU {e['index']}: {e['reason']}" for e in self.excluded)
            raise SensorUnavailableError(f"no GPU gives energy or power ({reasons})")
        polling = any(g.mode == "power" for g in self._gpus)
        self.method = "measured-power-polling" if polling else "measured-counter"
        self.accuracy_class = ACCURACY_CLASSES[self.method]
        self.needs_polling = polling
        #: the driver refreshes the energy counter about every 100 ms, more coarsely than a
        #: sampler may read it: repeated values are "not updated yet" (the Meter drops them)
        self.coarse_updates = not polling
        if self.excluded:
            warnings.warn(
                "NVML: GPU(s) "
                + ", ".join(str(e["index"]) for e in self.excluded)
                + " give neither energy nor power and are NOT covered; see describe()",
                FallbackWarning,
                stacklevel=2,
            )

    def _probe(self, index: int) -> None:
        nvml, err = self._nvml, _nvml_error(self._nvml)
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = _text(nvml.nvmlDeviceGetName(handle))
        mig = False
        try:
            current, _pending = nvml.nvmlDeviceGetMigMode(handle)
            mig = current == getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1)
        except err as exc:
            if not _is_not_supported(nvml, exc):
                raise
        except AttributeError:
            mig = False  # binding without MIG queries: pre-Ampere driver API
        try:
            mj = int(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))
            self._gpus.append(_Gpu(index, handle, name, "counter", mig, mj, mj))
            return
        except err as exc:
            if not _is_not_supported(nvml, exc):
                raise
        try:
            mw = float(nvml.nvmlDeviceGetPowerUsage(handle))
        except err as exc:
            if not _is_not_supported(nvml, exc):
                raise
            self.excluded.append(
                {"index": index, "name": name, "reason": "energy and power not supported"}
            )
            return
        gpu = _Gpu(index, handle, name, "power", mig)
        gpu.last_t_ns, gpu.last_power_w = int(self.clock()), mw / 1000.0
        self._gpus.append(gpu)

    def read_device_energy_j(self) -> list[float]:
        """Cumulative energy per covered GPU [J], in the order of :meth:`describe`."""
        if self._closed:
            raise SensorError("NVML source is closed")
        nvml, err = self._nvml, _nvml_error(self._nvml)
        out: list[float] = []
        with self._lock:
            for g in self._gpus:
                try:
                    if g.mode == "counter":
                        mj = int(nvml.nvmlDeviceGetTotalEnergyConsumption(g.handle))
                        if mj < g.last_mj:
                            raise SensorError(
                                f"GPU {g.index} energy counter went backwards ({g.last_mj} -> "
                                f"{mj} mJ): was the driver reloaded?"
                            )
                        g.last_mj = mj
                        out.append((mj - g.origin_mj) / 1000.0)
                    else:
                        power_w = float(nvml.nvmlDeviceGetPowerUsage(g.handle)) / 1000.0
                        t_ns = int(self.clock())
                        dt_s = (t_ns - g.last_t_ns) / NS_PER_S
                        if dt_s > 0:
                            g.energy_j += dt_s * (power_w + g.last_power_w) / 2.0
                        g.last_t_ns, g.last_power_w = t_ns, power_w
                        out.append(g.energy_j)
                except err as exc:
                    raise SensorError(f"NVML read of GPU {g.index} failed: {exc}") from exc
        return out

    def read_energy_j(self) -> float:
        return float(sum(self.read_device_energy_j()))

    @property
    def gpu_count(self) -> int:
        """GPUs this source reads (for GPU-hours of a metered run)."""
        return len(self._gpus)

    def describe(self) -> dict[str, Any]:
        caveats = [
            "board energy of the whole GPU: every process and MIG instance on it",
        ]
        if any(g.mig for g in self._gpus):
            caveats.append(
                "MIG enabled: NVML has no per-instance energy; the reading covers the whole "
                "physical GPU shared by all MIG instances"
            )
        if self.coarse_updates:
            caveats.append(
                "the driver refreshes the energy counter about every 100 ms: a reading that "
                "repeats the previous value is treated as not yet updated and dropped before "
                "attribution, so energy is spread over the interval between real updates"
            )
        if self.needs_polling:
            caveats.append(
                "power polling fallback on GPU(s) without the energy counter: power is "
                "integrated between reads (trapezoid); peaks shorter than the sampling period "
                "and the driver's own power averaging window are smoothed"
            )
        return {
            "name": self.name,
            "method": self.method,
            "accuracy_class": self.accuracy_class,
            "label": self.label,
            "devices": [
                {
                    "index": g.index,
                    "name": g.name,
                    "reading": "nvmlDeviceGetTotalEnergyConsumption [mJ]"
                    if g.mode == "counter"
                    else "nvmlDeviceGetPowerUsage [mW], integrated",
                    "mig": g.mig,
                }
                for g in self._gpus
            ],
            "excluded": list(self.excluded),
            "model": "none (hardware reading)",
            "source": "NVIDIA Management Library",
            "caveats": caveats,
        }

    def _shutdown(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except _nvml_error(self._nvml) as exc:
            warnings.warn(f"nvmlShutdown failed: {exc}", InfercarbonWarning, stacklevel=3)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._shutdown()
