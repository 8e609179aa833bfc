"""What-if scales for ledger events: a hardware tier switch and a volume multiplier.

The service's what-if (:mod:`infercarbon.service.whatif`) recomputes events' footprints under
a scenario; these functions give the per-event factors by which a scenario changes energy
(and so every line that follows energy).

**Tier switch.**  The energy of each event is re-modelled with the vision roofline estimator
(:mod:`infercarbon.estimators.vision`): moved from device ``s`` to device ``t`` at the same
batch size, a compute-bound inference scales by the ratio of joules per operation at the
power budget, ``(P_t / ops_t) / (P_s / ops_s)``, a memory-bound one by the ratio of joules per
byte, ``(P_t / bw_t) / (P_s / bw_s)`` (the efficiency assumptions are common to both devices and
cancel).  The central factor is the compute-bound ratio; the range spans both ratios (which
side binds is not known from the ledger).  A tier's device is the seed's (T0..T4 from the
vision table; T5 = H100 SXM5, T6 = B200); an event's device is read from its ``device``
column (a tier id or a GPU of the spec table) unless ``from_tier`` names it for all events.

**Volume multiplier.**  Every selected event counts ``volume`` times (the seed's rebound
question: 10x more inferences at lower intensity).

>>> c, lo, hi, _ = tier_scale(["T4", "T4"], "T1")
>>> bool(c[0] > 0 and lo[0] <= c[0] <= hi[0])
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import InfercarbonError, InputError

__all__ = ["TIER_DEVICE", "scenario_scale", "tier_scale", "volume_scale"]

#: The spec-table device that stands for each cloud tier (T0..T4 are in the vision table).
TIER_DEVICE: dict[str, str] = {"T5": "H100 SXM5 80GB", "T6": "B200 SXM 180GB"}


@cache
def _device(name: str) -> tuple[str, float, float]:
    """(device name, J per op, J per byte) at the power budget, peak ops and bandwidth."""
    from infercarbon.estimators.vision import VISION_DEVICES, vision_device
    from infercarbon.reference import seed

    key = name.strip().upper()
    if key in VISION_DEVICES:
        d = VISION_DEVICES[key]
    else:
        try:
            tid = seed.get_tier(key).tier_id
        except InfercarbonError:
            tid = None
        d = vision_device(TIER_DEVICE.get(tid or "", name))
    return (
        d.name,
        d.active_power_w / d.peak_ops_per_s,
        d.active_power_w / d.memory_bandwidth_bytes_per_s,
    )


def tier_scale(
    devices: Sequence[str] | npt.NDArray[Any], tier: str, *, from_tier: str | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, dict[str, Any]]:
    """Per-event energy factors (central, low, high) of moving to ``tier``, and the
    assumption that says how."""
    try:
        t_name, t_op, t_byte = _device(tier)
    except InfercarbonError as exc:
        raise InputError(
            f"{tier!r} is not a tier (T0..T6) or a GPU of the spec table with "
            f"INT8 and bandwidth figures: {exc}",
            field="tier",
        ) from exc
    devs = np.asarray(devices, dtype=object).astype(str)
    uniq, inv = np.unique(devs, return_inverse=True)
    comp = np.empty(len(uniq))
    mem = np.empty(len(uniq))
    names = []
    for j, d in enumerate(uniq):
        src = from_tier if from_tier is not None else str(d)
        try:
            s_name, s_op, s_byte = _device(src)
        except InfercarbonError:
            n = int((inv == j).sum())
            raise InputError(
                f"device {d!r} of {n} event(s) is not a tier or a GPU of the spec table; "
                "give from_tier (the tier those events ran on)",
                field="from_tier",
            ) from None
        comp[j], mem[j] = t_op / s_op, t_byte / s_byte
        names.append(s_name)
    c = comp[inv]
    lo = np.minimum(comp, mem)[inv]
    hi = np.maximum(comp, mem)[inv]
    how = {
        "name": "tier",
        "value": f"all selected events served on {tier} ({t_name}) instead "
        f"of {', '.join(sorted(set(names)))}",
        "source": "energy re-modelled by the vision roofline estimator "
        "(infercarbon.estimators.vision): compute-bound ratio of J/op at the power "
        "budget (central), memory-bound ratio of J/byte (other end of the range)",
        "label": "modelled",
    }
    return c, lo, hi, how


def volume_scale(volume: float) -> tuple[float, dict[str, Any]]:
    """The factor of a volume multiplier and its assumption."""
    if not (math.isfinite(volume) and 0 < volume <= 1e6):
        raise InputError(f"{volume!r} must be in (0, 1e6]", field="volume_multiplier")
    return float(volume), {
        "name": "volume_multiplier",
        "value": f"x{volume:g} inferences",
        "source": f"what-if input: every selected event counts {volume:g} times",
        "label": "user",
    }


def scenario_scale(
    devices: Sequence[str] | npt.NDArray[Any],
    *,
    tier: str | None = None,
    from_tier: str | None = None,
    volume: float | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, list[dict[str, Any]]]:
    """Combined per-event factors (central, low, high) of a tier switch and a volume
    multiplier, with their assumptions (ones where neither is asked)."""
    n = len(devices)
    c, lo, hi = np.ones(n), np.ones(n), np.ones(n)
    how: list[dict[str, Any]] = []
    if from_tier is not None and tier is None:
        raise InputError(
            "from_tier names the events' tier for a tier switch: give tier too", field="from_tier"
        )
    if tier is not None:
        tc, tl, th, a = tier_scale(devices, tier, from_tier=from_tier)
        c, lo, hi = c * tc, lo * tl, hi * th
        how.append(a)
    if volume is not None:
        v, a = volume_scale(volume)
        c, lo, hi = c * v, lo * v, hi * v
        how.append(a)
    return c, lo, hi, how
