"""The seed's benchmark cohort, recomputed: every workload x tier pair x every seed region.

Nothing here is copied from the seed's results: each row is composed by the footprint engine
from the bundled inputs (tier power, PUE preset, embodied preset, the seed's illustrative energy
per inference, the bundled cited grid intensity of the region).  The seed's own derived figures
are checked against first principles in :mod:`infercarbon.benchmark.checks`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from infercarbon.accounting import EstimateOptions, build_request, footprint
from infercarbon.accounting.footprint import Footprint
from infercarbon.reference import seed

__all__ = ["PAYLOAD_BYTES", "CohortRow", "cohort_rows", "methodology"]

#: Wide-area payload per inference for the cloud tiers (T4-T6) [bytes].  The seed gives input
#: shapes but no sizes; these are stated assumptions, derived as noted.  Edge tiers (T0-T3)
#: infer on site: no wide-area transfer (0 bytes).
PAYLOAD_BYTES: dict[str, tuple[float, str]] = {
    "WL-01": (153_600, "1 s x 25.6 kHz x 3 axes x 16 bit"),
    "WL-02": (276_480, "1280x720x3 bytes, JPEG at ~10:1"),
    "WL-03": (92_160, "640x480x3 bytes, JPEG at ~10:1"),
    "WL-04": (13_440, "168 steps x 10 features x 8 bytes"),
    "WL-05": (1_048_576, "64^3 cells x 4 bytes"),
    "WL-06": (16_384, "4 k tokens x ~4 bytes of text"),
}


@dataclass(frozen=True)
class CohortRow:
    workload: str
    tier: str
    region: str
    region_id: str
    fp: Footprint
    fp_it: Footprint  # the same inference with PUE 1 (bare IT), for the PUE adder

    def to_dict(self) -> dict[str, Any]:
        fp = self.fp
        idle = fp.idle.get("side_by_side_location_g", {})
        oper = fp.item("operational_location")
        it_g = self.fp_it.item("operational_location").emissions_g
        return {
            "workload": self.workload,
            "tier": self.tier,
            "region": self.region,
            "region_id": self.region_id,
            "intensity_g_per_kwh": fp.intensity_g_per_kwh["location"],
            "energy_j": fp.energy_j,
            "operational_it_g": it_g,
            "pue": float(next(a["value"] for a in fp.assumptions if a["name"] == "pue")),
            "pue_adder_g": oper.emissions_g - it_g,
            "operational_location_g": oper.emissions_g,
            "idle_tenancy_g": idle.get("tenancy", 0.0),
            "idle_30_70_g": idle.get("30-70", 0.0),
            "embodied_g": fp.item("embodied").emissions_g,
            "embodied_label": fp.item("embodied").label,
            "network_g": fp.item("network").emissions_g,
            "total_location_g": fp.total_location_g,
            "total_location_low_g": fp.totals_g["location"].p5_g,
            "total_location_high_g": fp.totals_g["location"].p95_g,
            "per_outcome_g": (fp.per_outcome_g or {}).get("total_location_g"),
            "outcome": (fp.per_outcome_g or {}).get("outcome"),
            "per_shift_g": (fp.per_period_g or {}).get("shift", {}).get("total_location_g"),
        }


def _fp(o: EstimateOptions) -> Footprint:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # market fallback: recorded in the footprint itself
        return footprint(build_request(o))


def cohort_rows(*, samples: int = 2_000, seed_: int = 0) -> list[CohortRow]:
    """Every workload x tier pair of the seed x every seed region (30-70 idle policy)."""
    rows: list[CohortRow] = []
    for wl, tier_id in seed.SEED_ENERGY_J:
        tier = seed.get_tier(tier_id)
        payload = PAYLOAD_BYTES[wl][0] if tier.operating_model == "cloud" else 0.0
        for reg in seed.SEED_REGIONS:
            o = EstimateOptions(
                region=reg.region_query,
                workload=wl,
                tier=tier_id,
                payload_bytes=payload,
                samples=samples,
                seed=seed_,
            )
            fp = _fp(o)
            fp_it = _fp(
                EstimateOptions(
                    region=reg.region_query,
                    workload=wl,
                    tier=tier_id,
                    pue=1.0,
                    samples=100,
                    seed=seed_,
                )
            )
            rows.append(CohortRow(wl, tier_id, reg.name, fp.region_id, fp, fp_it))
    return rows


def methodology() -> list[str]:
    """The methodology block that goes with every benchmark output."""
    return [
        "Energy per inference: the seed's illustrative figure for each workload x tier pair "
        "(label illustrative; range: x/2..x2 log-normal, no published range).",
        "Grid: the bundled annual location-based intensity of the region (cited source, "
        "vintage and basis in the region table), never the seed's illustrative figure.",
        "Operational = IT energy x PUE x intensity / 3.6e6 J/kWh; PUE adder = operational at "
        "the tier's PUE preset minus operational at PUE 1.",
        "Device time = energy / the tier's active power (uniform over the seed's range); "
        "utilisation = duty cycle x device time / the fewest devices that keep up.",
        "Idle = idle power x device time x (1-u)/u; tenancy: the whole usage-proportional "
        "share; 30-70: 30 % of it follows the workload, 70 % is reported unattributed. "
        "Totals use 30-70.",
        "Embodied = device embodied kg / life x device time / utilisation: Jetson-class 60 kg "
        "over 5 years for T1-T3 and 1,500 kg per high-end GPU for T5-T6 (the seed's figures); "
        "for T4 (L4) the Cloud Carbon Footprint embodied share of a 1-GPU inference instance "
        "(aws g4dn.xlarge, 4-year life); none published for T0, so excluded.",
        "Cloud tiers (T4-T6) are shared accelerators: utilisation is a stated 0.3..0.7 "
        "assumption, not the tenant's duty cycle; edge tiers use the duty cycle.",
        "Network = payload GB x 0.06 kWh/GB (fixed) x intensity, for the cloud tiers only; "
        "payload sizes are stated assumptions (PAYLOAD_BYTES).",
        "Training: excluded (no training footprint is published for the cohort's models).",
        "Ranges: seeded Monte Carlo p5..p95 over every input's range.",
    ]
