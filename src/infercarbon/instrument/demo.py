"""The metering part of ``infercarbon demo``: run the CPU workloads under a Meter.

:func:`run_demo` runs WL-01 (one vibration window per call) and WL-02-like (batches of image
patches through ``meter.batch``) for about ``seconds`` each, with an idle gap between calls so
that idle energy exists to attribute, and returns the Meter's footprints table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.attribution.idle import IdlePolicy
from infercarbon.errors import InputError
from infercarbon.instrument.meter import Meter
from infercarbon.instrument.workloads import make_workload
from infercarbon.telemetry import EnergySource

__all__ = ["run_demo", "summarise"]


def run_demo(
    *,
    seconds: float = 10.0,
    region: str = "GB",
    sensor: str | EnergySource = "auto-cpu",
    idle_policy: IdlePolicy = "30-70",
    seed: int = 0,
    batch_size: int = 8,
    idle_gap_s: float = 0.005,
    meter_options: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> pa.Table:
    """Run both workloads under one Meter for ~``seconds`` in total; return its footprints.

    Parameters
    ----------
    seconds : float [s]
        Total run time, split between the two workloads (> 0, at most 600).
    region, sensor, idle_policy :
        Passed to :class:`~infercarbon.instrument.meter.Meter`.
    meter_options : mapping, optional
        Further Meter options (pue, market intensity, embodied...).
    progress : callable, optional
        Called with a short line when each workload starts, about once a second while it
        runs (seconds done and inferences so far) and when the footprints are computed.
    """
    if not 0 < seconds <= 600:
        raise InputError(f"must be in (0, 600] s, got {seconds!r}", field="seconds")
    if batch_size < 1:
        raise InputError(f"must be >= 1, got {batch_size!r}", field="batch_size")
    wl01 = make_workload("WL-01", seed=seed)
    wl02 = make_workload("WL-02", seed=seed)
    x01 = wl01.sample(64, seed=seed + 10)
    x02 = wl02.sample(batch_size * 4, seed=seed + 20)
    meter = Meter(region, sensor=sensor, idle_policy=idle_policy, **dict(meter_options or {}))
    say = progress or (lambda _line: None)
    half = seconds / 2.0

    def ticker(name: str) -> Callable[[int], None]:
        """Report ``name``'s progress at most once a second (one clock read per call)."""
        start = time.monotonic()
        next_at = [start + 1.0]

        def tick(n: int) -> None:
            now = time.monotonic()
            if now >= next_at[0]:
                next_at[0] = now + 1.0
                say(f"  {name}: {min(now - start, half):.0f}/{half:.0f} s, {n} inferences")

        return tick

    try:
        say(f"metering WL-01 (1-D CNN vibration anomaly) for {half:.1f} s")
        tick = ticker("WL-01")
        deadline = time.monotonic() + half
        i = 0
        while time.monotonic() < deadline:
            x = x01[i % len(x01)][None, :]
            with meter.inference(model="WL-01", service="vibration-anomaly") as span:
                p = wl01.predict(x)
                span.set(outcome="anomaly" if p[0] > 0.5 else "normal")
            i += 1
            tick(i)
            time.sleep(idle_gap_s)
        say(f"metering WL-02 (vision defect QC, batches of {batch_size}) for {half:.1f} s")
        tick = ticker("WL-02")
        deadline = time.monotonic() + half
        j = 0
        while time.monotonic() < deadline:
            lo = (j * batch_size) % len(x02)
            with meter.batch(batch_size, model="WL-02", service="defect-qc"):
                wl02.predict(x02[lo : lo + batch_size])
            j += 1
            tick(j * batch_size)
            time.sleep(idle_gap_s)
    finally:
        meter.stop()
    say(f"attributing the energy over {i + j * batch_size} inferences")
    return meter.footprints()


def summarise(table: pa.Table) -> list[dict[str, Any]]:
    """Per model: inferences, median and mean J and gCO2e per inference, the medians of the
    per-inference p5..p95 energy band, method label."""
    out: list[dict[str, Any]] = []
    models = table.column("model").to_pylist()
    for model in sorted({m for m in models if m is not None}):
        sub = table.filter(pc.equal(table.column("model").cast(pa.string()), model))
        e = sub.column("energy_j").to_numpy()
        g = sub.column("total_location_g").to_numpy()
        out.append(
            {
                "model": model,
                "inferences": int(sub.num_rows),
                "median_energy_j": float(np.median(e)),
                "mean_energy_j": float(e.mean()),
                "median_energy_low_j": float(np.median(sub.column("energy_low_j").to_numpy())),
                "median_energy_high_j": float(np.median(sub.column("energy_high_j").to_numpy())),
                "median_active_energy_j": float(
                    np.median(sub.column("active_energy_j").to_numpy())
                ),
                "median_wall_s": float(np.median(sub.column("wall_s").to_numpy())),
                "median_total_location_g": float(np.median(g)),
                "mean_total_location_g": float(g.mean()),
                "method": sub.column("method")[0].as_py(),
                "accuracy_class": sub.column("accuracy_class")[0].as_py(),
                "energy_label": sub.column("energy_label")[0].as_py(),
                "region": sub.column("region")[0].as_py(),
            }
        )
    return out
