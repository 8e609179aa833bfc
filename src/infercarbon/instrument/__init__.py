"""Instrumentation: the Meter (per-inference energy and emissions), its hot-path buffers,
and real CPU workloads for demos and benchmarks."""

from infercarbon.instrument.meter import InferenceSpan, Meter

__all__ = ["InferenceSpan", "Meter"]
