"""Vision / CNN energy per inference on the edge tiers T0..T4: FLOPs and bytes x efficiency.

Per inference, with batch size ``b``::

    e_flop(b) = P / (peak_ops * u(b))          [J/FLOP]   u(b) = u_max * b / (b + b_half)
    e_byte    = P / (bandwidth * eta_bw)       [J/byte]
    bytes(b)  = weight_bytes / b + activation_bytes
    E         = max(flops * e_flop(b), bytes(b) * e_byte)      (roofline: the binding side)

``P`` is the device's active power budget (module/board power limit), so E is an upper
bound for a device that is otherwise idle-gated.  Where the constants come from:

* T1..T4 peak INT8 ops, memory bandwidth and power: :mod:`infercarbon.reference.gpus`
  (NVIDIA Jetson Orin technical brief, L4 product brief; dense = sparse / 2);
* T0 (ESP32-S3): Espressif ESP32-S3 datasheet: dual-core Xtensa LX7 at 240 MHz with a
  128-bit SIMD unit (16 int8 MACs/cycle/core) -> 2 x 240e6 x 16 x 2 = 15.4 GOPS peak;
  internal SRAM ~ 16 bytes/cycle -> 3.84 GB/s; active power 0.4 W from the seed 000 tier
  table (illustrative);
* ``u_max = 0.5``, ``b_half = 4``, ``eta_bw = 0.7``: assumptions (labelled illustrative),
  typical of measured edge-CNN utilisation; override them per call.

>>> d = VISION_DEVICES["T4"]
>>> e = vision_energy_j(8.7e9, 6.0e6, 12.0e6, d, batch_size=1)
>>> round(float(e), 3)  # YOLO-n class: 8.7 GFLOP, 6 MB weights at 2 B/param x 3 M
0.026
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from infercarbon.errors import InputError
from infercarbon.reference.gpus import lookup_gpu

__all__ = [
    "DEFAULT_BATCH_HALF",
    "DEFAULT_BW_EFFICIENCY",
    "DEFAULT_UTILISATION_MAX",
    "EFFICIENCY_RANGES",
    "VISION_DEVICES",
    "VisionDevice",
    "device_efficiency",
    "vision_device",
    "vision_energy_j",
    "vision_energy_range_j",
]

DEFAULT_UTILISATION_MAX = 0.5
DEFAULT_BATCH_HALF = 4.0
DEFAULT_BW_EFFICIENCY = 0.7


@dataclass(frozen=True, slots=True)
class VisionDevice:
    """An edge tier's device constants (INT8 dense peak)."""

    tier: str
    name: str
    active_power_w: float
    peak_ops_per_s: float
    memory_bandwidth_bytes_per_s: float
    source: str
    label: str


def _from_table(tier: str, gpu: str) -> VisionDevice:
    spec = lookup_gpu(gpu)
    return VisionDevice(
        tier=tier,
        name=spec.name,
        active_power_w=spec.tdp_w,
        peak_ops_per_s=spec.int8_ops,
        memory_bandwidth_bytes_per_s=spec.memory_bandwidth_bytes_per_s,
        source=spec.source,
        label="cited",
    )


VISION_DEVICES: dict[str, VisionDevice] = {
    "T0": VisionDevice(
        tier="T0",
        name="ESP32-S3 (TinyML)",
        active_power_w=0.4,
        peak_ops_per_s=2 * 240e6 * 16 * 2,
        memory_bandwidth_bytes_per_s=240e6 * 16,
        source="Espressif ESP32-S3 datasheet (240 MHz dual LX7, 128-bit SIMD); "
        "power: seed 000 tier table",
        label="illustrative",
    ),
    "T1": _from_table("T1", "Jetson Orin Nano 8GB"),
    "T2": _from_table("T2", "Jetson Orin NX 16GB"),
    "T3": _from_table("T3", "Jetson AGX Orin 64GB"),
    "T4": _from_table("T4", "L4"),
}


def device_efficiency(
    device: VisionDevice,
    batch_size: Any = 1.0,
    *,
    utilisation_max: float = DEFAULT_UTILISATION_MAX,
    batch_half: float = DEFAULT_BATCH_HALF,
    bw_efficiency: float = DEFAULT_BW_EFFICIENCY,
) -> tuple[Any, float]:
    """``(J per FLOP at this batch size, J per byte moved)``."""
    b = np.asarray(batch_size, dtype=np.float64)
    if np.any(~(b >= 1)):
        raise InputError("must be >= 1", field="batch_size")
    if not (0 < utilisation_max <= 1 and batch_half >= 0 and 0 < bw_efficiency <= 1):
        raise InputError(
            "utilisation_max, bw_efficiency in (0, 1]; batch_half >= 0", field="efficiency"
        )
    util = utilisation_max * b / (b + batch_half)
    j_per_flop = device.active_power_w / (device.peak_ops_per_s * util)
    j_per_byte = device.active_power_w / (device.memory_bandwidth_bytes_per_s * bw_efficiency)
    return j_per_flop, j_per_byte


def vision_energy_j(
    flops: Any,
    weight_bytes: Any,
    activation_bytes: Any,
    device: VisionDevice,
    batch_size: Any = 1.0,
    **efficiency: float,
) -> Any:
    """Energy per inference [J] (vectorised over any argument but ``device``).

    Parameters
    ----------
    flops : float
        Operations per inference (2 x MACs) [FLOP].
    weight_bytes : float
        Model weights read once per batch [bytes].
    activation_bytes : float
        Activations and I/O moved per inference [bytes].
    """
    f = np.asarray(flops, dtype=np.float64)
    w = np.asarray(weight_bytes, dtype=np.float64)
    a = np.asarray(activation_bytes, dtype=np.float64)
    for name, arr in (("flops", f), ("weight_bytes", w), ("activation_bytes", a)):
        if np.any(~(arr >= 0)) or np.any(~np.isfinite(arr)):
            raise InputError("must be finite and >= 0", field=name)
    j_flop, j_byte = device_efficiency(device, batch_size, **efficiency)
    moved = w / np.asarray(batch_size, dtype=np.float64) + a
    return np.maximum(f * j_flop, moved * j_byte)


#: Plausible ranges of the efficiency assumptions, (low, high): the band of
#: :func:`vision_energy_range_j` (illustrative, like the central values).
EFFICIENCY_RANGES: dict[str, tuple[float, float]] = {
    "utilisation_max": (0.3, 0.7),
    "bw_efficiency": (0.5, 0.9),
}


def vision_device(name: str) -> VisionDevice:
    """A tier (``T0``..``T4``) or any accelerator of the spec table with an INT8 figure."""
    key = name.strip().upper()
    if key in VISION_DEVICES:
        return VISION_DEVICES[key]
    dev = _from_table("-", name)
    if not (np.isfinite(dev.peak_ops_per_s) and np.isfinite(dev.memory_bandwidth_bytes_per_s)):
        raise InputError(f"{dev.name} has no INT8 or bandwidth figure in the table", field="device")
    return dev


def vision_energy_range_j(
    flops: Any,
    weight_bytes: Any,
    activation_bytes: Any,
    device: VisionDevice,
    batch_size: Any = 1.0,
    *,
    batch_half: float = DEFAULT_BATCH_HALF,
) -> tuple[Any, Any, Any]:
    """``(central, low, high)`` energy per inference [J]: the central assumptions, and the
    most and least efficient ends of :data:`EFFICIENCY_RANGES`."""
    central = vision_energy_j(
        flops, weight_bytes, activation_bytes, device, batch_size, batch_half=batch_half
    )
    (u_lo, u_hi), (b_lo, b_hi) = (
        EFFICIENCY_RANGES[k] for k in ("utilisation_max", "bw_efficiency")
    )
    low = vision_energy_j(
        flops,
        weight_bytes,
        activation_bytes,
        device,
        batch_size,
        utilisation_max=u_hi,
        bw_efficiency=b_hi,
        batch_half=batch_half,
    )
    high = vision_energy_j(
        flops,
        weight_bytes,
        activation_bytes,
        device,
        batch_size,
        utilisation_max=u_lo,
        bw_efficiency=b_lo,
        batch_half=batch_half,
    )
    return central, low, high
