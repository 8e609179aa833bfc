"""Where the seed's own derived figures disagree with first principles.

Each check restates one claim of seed 000 (quoted values are the seed's ILLUSTRATIVE
numbers, held here only to be checked), recomputes it with the engine's arithmetic, and
reports both numbers.  A claim agrees when the recomputed value is within the seed's printed
precision (``rel_tol``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infercarbon.accounting import compose as C
from infercarbon.reference import seed
from infercarbon.units import J_PER_KWH, S_PER_SHIFT

__all__ = ["SEED_RESULTS_TABLE", "Check", "edge_adder_checks", "seed_checks"]

#: The seed's results table as printed: pair -> (energy J, France 55, US 370, India 640),
#: the last three headed "gCO2e per inference".
SEED_RESULTS_TABLE: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("WL-01", "T0"): (0.06, 0.0009, 0.006, 0.011),
    ("WL-01", "T1"): (0.5, 0.008, 0.05, 0.09),
    ("WL-02", "T1"): (1.8, 0.028, 0.19, 0.32),
    ("WL-02", "T2"): (1.4, 0.021, 0.14, 0.25),
    ("WL-02", "T4"): (3.5, 0.054, 0.36, 0.62),
    ("WL-03", "T2"): (4.0, 0.061, 0.41, 0.71),
    ("WL-04", "T4"): (12.0, 0.18, 1.23, 2.13),
    ("WL-05", "T5"): (90.0, 1.37, 9.25, 16.0),
    ("WL-06", "T5"): (320.0, 4.9, 32.9, 56.9),
    ("WL-06", "T6"): (280.0, 4.3, 28.8, 49.8),
}
_TABLE_GRIDS = (("France", 55.0), ("US avg", 370.0), ("India avg", 640.0))


@dataclass(frozen=True)
class Check:
    topic: str
    claim: str
    seed_value: float
    computed_value: float
    unit: str
    derivation: str
    rel_tol: float = 0.05
    #: when the seed states a range, agreement means the computed value lies in it
    seed_range: tuple[float, float] | None = None

    @property
    def agrees(self) -> bool:
        if self.seed_range is not None:
            return self.seed_range[0] <= self.computed_value <= self.seed_range[1]
        if self.seed_value == self.computed_value:
            return True
        return math.isclose(self.seed_value, self.computed_value, rel_tol=self.rel_tol)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "claim": self.claim,
            "seed_value": self.seed_value,
            "computed_value": self.computed_value,
            "unit": self.unit,
            "ratio_seed_over_computed": (
                self.seed_value / self.computed_value if self.computed_value else None
            ),
            "agrees": self.agrees,
            "derivation": self.derivation,
        }


def _op_g(energy_j: float, g_per_kwh: float) -> float:
    return float(C.operational_g(energy_j, g_per_kwh))


def seed_checks(region_intensity: Callable[[str], float] | None = None) -> list[Check]:
    """All checks.  ``region_intensity(query)`` gives the bundled cited intensity [g/kWh] of a
    seed region (omit to skip the region-table comparison)."""
    out: list[Check] = []
    # 1. the results table: "gCO2e per inference" columns are really mg
    for (wl, tier), (e, *cols) in SEED_RESULTS_TABLE.items():
        for (grid, gkwh), printed in zip(_TABLE_GRIDS, cols, strict=True):
            out.append(
                Check(
                    "results table units",
                    f"{wl} on {tier}, {grid} (~{gkwh:g} g/kWh): {printed:g} 'gCO2e per inference'",
                    printed,
                    _op_g(e, gkwh),
                    "g",
                    f"{e:g} J x {gkwh:g} g/kWh / 3.6e6 J/kWh (operational, PUE 1); the printed "
                    "value matches in mg, not g",
                    rel_tol=0.1,
                )
            )
    # 2. worked example
    e, i = 1.8, 170.0
    out.append(
        Check(
            "worked example",
            "1.8 J -> 0.0005 kWh",
            0.0005,
            e / J_PER_KWH,
            "kWh",
            "1.8 J / 3.6e6 J/kWh",
        )
    )
    per_inf = _op_g(e, i)
    out.append(
        Check(
            "worked example",
            "carbon per inference ~0.085 mg",
            0.085,
            per_inf * 1e3,
            "mg",
            "1.8 J x 170 g/kWh / 3.6e6",
        )
    )
    n_shift = 5 * S_PER_SHIFT
    out.append(
        Check(
            "worked example",
            "inferences per 8-hour shift: 144,000",
            144_000,
            n_shift,
            "count",
            "5/s x 3,600 s x 8 h",
            rel_tol=0.0,
        )
    )
    out.append(
        Check(
            "worked example",
            "inference carbon per shift ~12.2 g",
            12.2,
            per_inf * n_shift,
            "g",
            "per inference x 144,000",
            rel_tol=0.01,
        )
    )
    out.append(
        Check(
            "worked example",
            "96 detections per shift",
            96,
            n_shift / 1500,
            "count",
            "144,000 / 1,500",
            rel_tol=0.0,
        )
    )
    per_det = per_inf * 1500
    out.append(
        Check(
            "worked example",
            "carbon per detection ~0.13 g",
            0.13,
            per_det,
            "g",
            "per inference x 1,500",
            rel_tol=0.05,
        )
    )
    led_w = 10.0
    out.append(
        Check(
            "worked example",
            f"~ a single LED bulb for 30 s on the same grid (assumed {led_w:g} W bulb)",
            30.0,
            per_det / _op_g(led_w, i),
            "s",
            f"0.1275 g / ({led_w:g} W x 170 g/kWh / 3.6e6) = seconds of LED light",
        )
    )
    # 3. WL-06 work orders
    llm = _op_g(320.0, 370.0)
    out.append(
        Check(
            "WL-06 per work order",
            "~33 g CO2e per call (T5, US-east ~370 g/kWh)",
            33.0,
            llm,
            "g",
            "320 J x 370 g/kWh / 3.6e6 (operational, PUE 1)",
        )
    )
    out.append(
        Check(
            "WL-06 per work order",
            "12 calls -> ~400 g per shift per technician",
            400.0,
            12 * llm,
            "g",
            "12 x per call",
        )
    )
    wl6 = seed.get_workload("WL-06")
    out.append(
        Check(
            "WL-06 per work order",
            "12 calls per technician shift (the cohort's duty "
            "cycle is 1 inference/min per technician)",
            12.0,
            wl6.rate_per_s * S_PER_SHIFT,
            "count",
            "1/60 s x 28,800 s",
            rel_tol=0.0,
        )
    )
    out.append(
        Check(
            "WL-06 per work order",
            "250x ratio between per-work-order and per-detected-defect carbon",
            250.0,
            llm / per_det,
            "ratio",
            "0.0329 g per work order / 0.1275 g per defect",
        )
    )
    # 4. France -> South Africa
    out.append(
        Check(
            "grid lever",
            "0.4 g per inference in France (~55) is ~12 g in South Africa (~870)",
            12.0,
            0.4 * 870 / 55,
            "g",
            "0.4 g x 870 / 55",
        )
    )
    # 5. headline range (operational, PUE 1, seed grids)
    lo = min(_op_g(v, 25.0) for v in seed.SEED_ENERGY_J.values())
    hi = max(_op_g(v, 870.0) for v in seed.SEED_ENERGY_J.values())
    out.append(
        Check(
            "headline",
            "from ~0.02 g per inference (Norway edge)",
            0.02,
            lo,
            "g",
            "smallest cohort energy (0.06 J) x 25 g/kWh / 3.6e6",
        )
    )
    out.append(
        Check(
            "headline",
            "to well over 3 g per inference (coal grid, large transformers)",
            3.0,
            hi,
            "g",
            "largest cohort energy (320 J) x 870 g/kWh / 3.6e6",
            rel_tol=0.5,
        )
    )
    # 6. energy vs latency budget and duty cycle (physics of the tier)
    for (wl_id, tier_id), e_j in seed.SEED_ENERGY_J.items():
        w_, t_ = seed.get_workload(wl_id), seed.get_tier(tier_id)
        p_max = t_.active_power_w.range[1]
        t_min = e_j / p_max
        if t_min > w_.latency_budget_s:
            out.append(
                Check(
                    "energy vs latency budget",
                    f"{wl_id} on {tier_id}: {e_j:g} J within a "
                    f"{w_.latency_budget_s:g} s latency budget",
                    w_.latency_budget_s,
                    t_min,
                    "s",
                    f"{e_j:g} J / {p_max:g} W (the tier's maximum power) "
                    "is the shortest possible busy time",
                    rel_tol=0.0,
                )
            )
        busy = w_.rate_per_s * t_min
        if busy > 1:
            out.append(
                Check(
                    "duty cycle vs one device",
                    f"{wl_id} on {tier_id}: one device serves {w_.duty_cycle}",
                    1.0,
                    busy,
                    "device-s per s",
                    f"{w_.rate_per_s:g}/s x {t_min:.3g} s > 1: needs {math.ceil(busy)} devices",
                    rel_tol=0.0,
                )
            )
    # 7. region table vs bundled data
    if region_intensity is not None:
        out.extend(
            Check(
                "region table",
                f"{reg.name} ~{reg.illustrative_g_per_kwh:g} g/kWh",
                reg.illustrative_g_per_kwh,
                region_intensity(reg.region_query),
                "g_per_kwh",
                f"bundled cited annual average for {reg.region_query}",
                rel_tol=0.15,
            )
            for reg in seed.SEED_REGIONS
        )
    return out


def edge_adder_checks(rows: list[dict[str, Any]]) -> list[Check]:
    """'PUE, embodied and network add 10-25 % for cloud tiers and 2-8 % for edge tiers'."""
    out: list[Check] = []
    for r in rows:
        if r["region"] != "UK average":
            continue
        base = r["operational_it_g"]
        adders = sum(r.get(k) or 0.0 for k in ("pue_adder_g", "embodied_g", "network_g"))
        share = adders / base * 100 if base else math.nan
        edge = seed.get_tier(r["tier"]).operating_model == "owned"
        lo, hi = (2.0, 8.0) if edge else (10.0, 25.0)
        out.append(
            Check(
                "lifecycle adders",
                f"{r['workload']} on {r['tier']} (UK): PUE + embodied + network "
                f"add {lo:g}-{hi:g} % to operational",
                (lo + hi) / 2,
                share,
                "%",
                "(PUE adder + embodied + network) / operational at PUE 1, from the cohort row",
                seed_range=(lo, hi),
            )
        )
    return out
