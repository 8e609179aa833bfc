"""What-if: recompute the footprint of ledger events under a changed scenario.

Scenarios (any combination):

``region``
    every selected event is served in another region: that region's signals replace the
    event's own (same energy, same times).
``batch_size``
    every selected event is served in batches of this size.  Energy per inference scales as
    ``(observed batch / new batch) ** e``.  The observed batch of an event is the number of
    ledger events sharing its ``batch_id`` (1 without one).  The elasticity ``e`` is fitted by
    least squares of log energy on log batch size over the selected events when they span at
    least two batch sizes (range: +-2 standard errors, clipped to [0, 1]); otherwise it is an
    assumption, 0.5 (0.3..0.8), and labelled so.
``delay_h``
    deferrable work runs N hours later: every selected event is shifted by N hours on the
    hourly signals (an annual figure does not change with time, so the difference is then 0,
    and the notes say so).
``tier`` (with ``from_tier``) and ``volume_multiplier``
    a hardware tier switch, whose energy the estimators re-model, and a volume multiplier:
    per-event factors from :func:`infercarbon.decisions.whatif.scenario_scale`.

Ranges: each side's total carries its signal bounds.  When the scenario sees the same
intensities as the baseline for a kind (batch size only, or an annual figure under a delay),
the difference is evaluated at the same
bound on both sides (the intensity error cancels); otherwise the two sides' bounds are
combined in the worst case: ``[scenario_low - baseline_high, scenario_high - baseline_low]``.

The per-event factors of the tier and volume scenarios (:func:`scenario_scale`): by which a
scenario changes energy (and so every line that follows energy).

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
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.accounting.batch import (
    KINDS,
    AccountingConfig,
    EventFootprints,
    compute_footprints,
)
from infercarbon.accounting.signals import SignalBook, resolve_regions
from infercarbon.arrays import FloatArray
from infercarbon.errors import InfercarbonError, InputError
from infercarbon.units import US_PER_HOUR

__all__ = [
    "ASSUMED_ELASTICITY",
    "TIER_DEVICE",
    "WhatIf",
    "batch_elasticity",
    "run_whatif",
    "scenario_scale",
    "tier_scale",
    "volume_scale",
]

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


#: Assumed batch elasticity of energy per inference when the ledger cannot fit one:
#: (central, low, high).  Illustrative: doubling the batch cuts energy per inference by
#: ~30 % (2**-0.5), between ~19 % and ~43 %.
ASSUMED_ELASTICITY: tuple[float, float, float] = (0.5, 0.3, 0.8)


@dataclass(frozen=True)
class WhatIf:
    """A scenario; ``None`` keeps the ledger's value."""

    region: str | None = None
    batch_size: int | None = None
    delay_h: float | None = None
    tier: str | None = None
    from_tier: str | None = None
    volume_multiplier: float | None = None

    def __post_init__(self) -> None:
        if self.batch_size is not None and not 1 <= self.batch_size <= 1_000_000:
            raise InputError(
                f"{self.batch_size!r} must be between 1 and 1,000,000", field="batch_size"
            )
        if self.delay_h is not None and not (
            np.isfinite(self.delay_h) and 0 <= self.delay_h <= 24 * 31
        ):
            raise InputError(f"{self.delay_h!r} must be between 0 and 744 hours", field="delay_h")


def batch_elasticity(batch: FloatArray, energy_j: FloatArray) -> tuple[float, float, float, str]:
    """(central, low, high, how) of ``e`` in ``energy ~ batch ** -e``."""
    ok = (batch >= 1) & (energy_j > 0)
    b, e = np.log(batch[ok]), np.log(energy_j[ok])
    if len(np.unique(b)) >= 2 and len(b) >= 3:
        x = b - b.mean()
        slope = float((x * (e - e.mean())).sum() / (x * x).sum())
        resid = e - e.mean() - slope * x
        se = float(np.sqrt((resid**2).sum() / max(1, len(b) - 2) / (x * x).sum()))
        c = float(np.clip(-slope, 0.0, 1.0))
        lo, hi = float(np.clip(-slope - 2 * se, 0.0, 1.0)), float(np.clip(-slope + 2 * se, 0, 1))
        return c, min(lo, c), max(hi, c), f"fitted on {len(b)} ledger events (+-2 s.e.)"
    c, lo, hi = ASSUMED_ELASTICITY
    return (
        c,
        lo,
        hi,
        ("assumed (the ledger's events do not span two batch sizes): illustrative 0.5 (0.3..0.8)"),
    )


def _observed_batch(events: pa.Table) -> FloatArray:
    bid = events.column("batch_id")
    n = events.num_rows
    out = np.ones(n)
    valid = np.asarray(pc.is_valid(bid).to_numpy(zero_copy_only=False), dtype=bool)
    if valid.any():
        ids = np.asarray(bid.to_numpy(zero_copy_only=False), dtype=object)[valid].astype(str)
        _, inv, counts = np.unique(ids, return_inverse=True, return_counts=True)
        out[valid] = counts[inv]
    return out


def _totals(
    fp: EventFootprints, scale: FloatArray | float, mask: dict[str, npt.NDArray[np.bool_]]
) -> dict[str, tuple[float, float, float] | None]:
    out: dict[str, tuple[float, float, float] | None] = {}
    for k in KINDS:
        m = mask[k]
        if not m.any():
            out[k] = None
            continue
        g, lo, hi = fp.grams[k]
        s = np.broadcast_to(np.asarray(scale, dtype=float), g.shape)
        out[k] = (float((g * s)[m].sum()), float((lo * s)[m].sum()), float((hi * s)[m].sum()))
    return out


def run_whatif(
    events: pa.Table, scenario: WhatIf, config: AccountingConfig, book: SignalBook
) -> dict[str, Any]:
    """Baseline and scenario totals [g] per kind, their difference with its range, notes."""
    if events.num_rows == 0:
        raise InputError("no ledger events match the selection", field="selection")
    base = compute_footprints(events, config, book)
    notes: list[str] = []
    assumptions: list[dict[str, Any]] = []
    scen_events = events
    same_signal = True
    if scenario.region is not None:
        regions, _ = resolve_regions([scenario.region], row="whatif")
        rid = regions[0].region_id
        scen_events = scen_events.set_column(
            scen_events.schema.get_field_index("region"),
            "region",
            pa.array([rid] * events.num_rows, pa.string()),
        )
        same_signal = False
        assumptions.append(
            {
                "name": "region",
                "value": f"all selected events served in {rid} ({regions[0].name})",
                "source": "what-if input",
            }
        )
    if scenario.delay_h:
        shift = pa.scalar(int(scenario.delay_h * US_PER_HOUR), pa.duration("us"))
        for col in ("start_utc", "end_utc"):
            i = scen_events.schema.get_field_index(col)
            scen_events = scen_events.set_column(i, col, pc.add(scen_events.column(col), shift))
        same_signal = False
        assumptions.append(
            {"name": "delay_h", "value": f"{scenario.delay_h:g} h later", "source": "what-if input"}
        )
    try:
        scen = compute_footprints(scen_events, config, book)
    except InputError as exc:
        raise InputError(f"the scenario cannot be computed: {exc}", field="whatif") from exc
    energy = np.asarray(events.column("energy_j").to_numpy(zero_copy_only=False), dtype=float)
    scale_c = scale_lo = scale_hi = np.ones(events.num_rows)
    if scenario.batch_size is not None:
        obs = _observed_batch(events)
        c, lo, hi, how = batch_elasticity(obs, energy)
        ratio = obs / scenario.batch_size
        scale_c, s1, s2 = ratio**c, ratio**lo, ratio**hi
        scale_lo, scale_hi = np.minimum(s1, s2), np.maximum(s1, s2)
        assumptions.append(
            {"name": "batch elasticity e", "value": f"{c:.3f} ({lo:.3f}..{hi:.3f})", "source": how}
        )
        assumptions.append(
            {
                "name": "batch_size",
                "value": f"{scenario.batch_size} (observed mean {float(obs.mean()):.2f})",
                "source": "what-if input",
            }
        )
    if scenario.tier is not None or scenario.volume_multiplier is not None:
        k_c, k_lo, k_hi, scales = scenario_scale(
            events.column("device").to_pylist(),
            tier=scenario.tier,
            from_tier=scenario.from_tier,
            volume=scenario.volume_multiplier,
        )
        scale_c, scale_lo, scale_hi = scale_c * k_c, scale_lo * k_lo, scale_hi * k_hi
        assumptions.extend(scales)
    # each kind compares the events that have a signal of it on both sides
    mask = {k: np.isfinite(base.grams[k][0]) & np.isfinite(scen.grams[k][0]) for k in KINDS}
    notes.extend(
        f"{k}: {int(mask[k].sum())} of {events.num_rows} events have a {k} signal "
        "on both sides; the figures cover those."
        for k in KINDS
        if 0 < int(mask[k].sum()) < events.num_rows
    )
    b = _totals(base, 1.0, mask)
    s_c, s_lo, s_hi = (_totals(scen, x, mask) for x in (scale_c, scale_lo, scale_hi))
    baseline: dict[str, Any] = {}
    scenario_out: dict[str, Any] = {}
    diff: dict[str, Any] = {}
    for k in KINDS:
        bk, sc, sl, sh = b[k], s_c[k], s_lo[k], s_hi[k]
        if bk is None or sc is None or sl is None or sh is None:
            baseline[k] = scenario_out[k] = None
            diff[k] = None
            notes.append(f"{k}: no event has a {k} signal on both sides; no difference.")
            continue
        covered = int(mask[k].sum())
        baseline[k] = {"value": bk[0], "low": bk[1], "high": bk[2], "events": covered}
        scenario_out[k] = {"value": sc[0], "low": sl[1], "high": sh[2], "events": covered}
        d = sc[0] - bk[0]
        m = mask[k]
        same = same_signal or all(
            np.array_equal(a[m], c[m])
            for a, c in zip(base.intensity[k], scen.intensity[k], strict=True)
        )
        if same:
            # same intensity on both sides: compare at the same bound
            cands = [s[j] - bk[j] for s in (sl, sc, sh) for j in range(3)]
        else:
            cands = [sl[1] - bk[2], sh[2] - bk[1]]
        diff[k] = {"value": d, "low": min(min(cands), d), "high": max(max(cands), d)}
    if scenario.delay_h and all(
        book.get(r, "marginal") is None for r in set(base.region_id) | set(scen.region_id)
    ):
        notes.append(
            "No hourly marginal signal is loaded for these regions: a delay changes "
            "only figures with hourly signals."
        )
    if not (
        scenario.region
        or scenario.batch_size
        or scenario.delay_h
        or scenario.tier
        or scenario.volume_multiplier is not None
    ):
        notes.append("No change requested: the scenario equals the baseline.")
    energy_scen = float((energy * scale_c).sum())
    return {
        "events": events.num_rows,
        "energy_j": {"baseline": float(energy.sum()), "scenario": energy_scen},
        "baseline": baseline,
        "scenario": scenario_out,
        "difference": diff,
        "assumptions": assumptions,
        "notes": [
            *notes,
            "Ranges: low..high bounds of the grid signals"
            + (" and the batch elasticity" if scenario.batch_size else "")
            + (" and the re-modelled tier energy" if scenario.tier else "")
            + ".",
        ],
    }
