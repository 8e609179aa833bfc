"""Energy sources behind one interface, auto-detection, and the sampler.

>>> from infercarbon.telemetry import EnergySource, ReplaySource
>>> isinstance(ReplaySource([0.0, 1.0], [0.0, 2.0], clock=lambda: 0), EnergySource)
True
"""

from infercarbon.telemetry.amd import AmdHwmonSource
from infercarbon.telemetry.base import (
    ACCURACY_CLASSES,
    METHODS,
    Availability,
    EnergySource,
    default_clock,
    wrap_delta,
)
from infercarbon.telemetry.constant import ConstantSource
from infercarbon.telemetry.cpu_model import CpuInfo, CpuModelSource, detect_cpu
from infercarbon.telemetry.detect import AUTO_ORDER, SOURCE_NAMES, detect
from infercarbon.telemetry.nvml import NvmlSource
from infercarbon.telemetry.rapl import RaplSource
from infercarbon.telemetry.replay import ReplaySource, load_trace_csv
from infercarbon.telemetry.sampler import Sampler

__all__ = [
    "ACCURACY_CLASSES",
    "AUTO_ORDER",
    "METHODS",
    "SOURCE_NAMES",
    "AmdHwmonSource",
    "Availability",
    "ConstantSource",
    "CpuInfo",
    "CpuModelSource",
    "EnergySource",
    "NvmlSource",
    "RaplSource",
    "ReplaySource",
    "Sampler",
    "default_clock",
    "detect",
    "detect_cpu",
    "load_trace_csv",
    "wrap_delta",
]
