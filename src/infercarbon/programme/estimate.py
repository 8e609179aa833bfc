"""The first-cut estimate (artefact 3): a baseline from inventory volumes, public grid
factors and conservative idle/warm-pool assumptions, beside the cloud providers' own carbon
exports, and the factor by which the ledger's measured figures differ where both exist.

Per inventory system, per year:

- inference [g] = inferences_per_day x 365 x energy_wh_per_inference / 1000 x PUE x
  (1 + idle share) x intensity, the idle share at the seed's conservative 50 % (range 30-50 %);
- training [g] = runs_per_year x gpu_hours_per_run x the hardware's TDP [kW] x PUE x
  intensity (TDP: a high, conservative power);
- PUE: the system's, else the seed's preset for its operating model (cloud/api:
  hyperscaler, colocation, on-premises: enterprise, edge; unknown: enterprise, the highest);
- intensity: the region's annual location-based average (infercarbon's bundled regions).

Provider exports are listed by provider and never added to the systems' total (they cover
the same usage, seen from the bill).  The ledger's measured figure of a system, annualised
(inference: its footprints' location-based emissions per day covered x 365; training: its
runs' emissions in the trailing year), is divided by the first cut: the seed warns the
first cut "will be wrong - typically under-counting by a factor of two".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InfercarbonError
from infercarbon.programme.assess import _system_runs
from infercarbon.programme.facts import LedgerFacts
from infercarbon.programme.inventory import Inventory, System
from infercarbon.programme.runs import TRAINING_KINDS, run_totals
from infercarbon.provenance import Figure
from infercarbon.reference.gpus import lookup_gpu
from infercarbon.reference.regions import resolve_region
from infercarbon.reference.seed import PUE_PRESETS
from infercarbon.timeutil import format_utc
from infercarbon.units import G_PER_T

__all__ = ["IDLE_ASSUMPTION", "SEED_WARNING", "first_cut_estimate"]

SEED_WARNING = (
    "Seed 001: the first-cut estimate will be wrong, typically under-counting by "
    "a factor of two; it establishes the order of magnitude only."
)
#: Conservative idle/warm-pool share of active inference energy (the seed's 30-50 %, top).
IDLE_ASSUMPTION = Figure(
    0.5,
    "frac",
    source="seed 001 (hidden driver 1: 30-50 %)",
    label="illustrative",
    low=0.3,
    high=0.5,
    note="conservative: the top of the seed's range",
)
_PUE_FOR = {
    "cloud": "hyperscaler",
    "api": "hyperscaler",
    "colocation": "colocation",
    "on-premises": "enterprise",
    "edge": "edge",
}


def _pue(s: System) -> tuple[float, str]:
    if s.pue is not None:
        return s.pue, "inventory"
    preset = _PUE_FOR.get(s.operating_model or "", "enterprise")
    return PUE_PRESETS[preset].value, f"seed preset {preset}" + (
        "" if s.operating_model else " (operating model unknown: the highest preset)"
    )


def _system_estimate(s: System, facts: LedgerFacts) -> dict[str, Any]:
    row: dict[str, Any] = {
        "system": s.id,
        "kind": s.kind,
        "region": s.region,
        "inference_g_per_year": None,
        "training_g_per_year": None,
        "measured_g_per_year": None,
        "measured_over_first_cut": None,
        "notes": [],
    }
    notes: list[str] = row["notes"]
    if s.region is None:
        notes.append("no region: not estimated")
        return row
    try:
        reg = resolve_region(s.region)
    except InfercarbonError as exc:
        notes.append(f"region {s.region!r}: {exc}")
        return row
    intensity = reg.intensity_g_per_kwh.value
    pue, pue_from = _pue(s)
    row.update(
        {
            "intensity_g_per_kwh": intensity,
            "intensity_source": reg.intensity_g_per_kwh.source,
            "pue": pue,
            "pue_from": pue_from,
        }
    )
    if s.kind == "inference":
        if s.inferences_per_day is not None and s.energy_wh_per_inference is not None:
            kwh = s.inferences_per_day * 365 * s.energy_wh_per_inference / 1000.0
            row["inference_g_per_year"] = kwh * pue * (1 + IDLE_ASSUMPTION.value) * intensity
            row["inference_low_g_per_year"] = kwh * pue * (1 + IDLE_ASSUMPTION.range[0]) * intensity
        else:
            notes.append(
                "inference not estimated: give inferences_per_day and energy_wh_per_inference"
            )
    if s.runs_per_year is not None and s.gpu_hours_per_run is not None:
        if s.hardware is None:
            notes.append("training not estimated: give the hardware (GPU model)")
        else:
            try:
                gpu = lookup_gpu(s.hardware)
            except InfercarbonError as exc:
                notes.append(f"training not estimated: {exc}")
            else:
                kwh = s.runs_per_year * s.gpu_hours_per_run * gpu.tdp_w / 1000.0
                row["training_g_per_year"] = kwh * pue * intensity
                row["training_power_w"] = gpu.tdp_w
                row["training_power_source"] = f"{gpu.name} TDP ({gpu.source})"
    # the ledger's measured figure, annualised
    first = (row["inference_g_per_year"] or 0.0) + (row["training_g_per_year"] or 0.0)
    measured = 0.0
    have = False
    for name in s.ledger_services:
        f = facts.service(name)
        if f is not None and f.emissions_g is not None and f.first_utc and f.last_utc:
            days = max((f.last_utc - f.first_utc).total_seconds() / 86400.0, 1.0)
            measured += f.emissions_g / days * 365.0
            have = True
    mine = _system_runs(facts.runs, s)
    if mine.num_rows:
        year_ago = facts.as_of_utc.timestamp() - 365 * 86400.0
        recent = mine.filter(
            pc.and_(
                pc.is_in(mine.column("kind"), value_set=pa.array(TRAINING_KINDS)),
                pc.greater(
                    mine.column("start_utc"),
                    pa.scalar(datetime.fromtimestamp(year_ago, UTC), pa.timestamp("us", tz="UTC")),
                ),
            )
        )
        t = run_totals(recent)
        if t.emissions_g is not None:
            measured += t.emissions_g
            have = True
    if have:
        row["measured_g_per_year"] = measured
        row["measured_over_first_cut"] = measured / first if first > 0 else None
    return row


def first_cut_estimate(
    inventory: Inventory,
    facts: LedgerFacts,
    *,
    cloud_rows: Sequence[Mapping[str, Any]] = (),
    generated_utc: datetime,
) -> dict[str, Any]:
    """The first-cut estimate as JSON data (see the module docstring)."""
    rows = [_system_estimate(s, facts) for s in inventory.systems]
    total = sum(
        (r["inference_g_per_year"] or 0.0) + (r["training_g_per_year"] or 0.0) for r in rows
    )
    estimated = sum(
        1
        for r in rows
        if r["inference_g_per_year"] is not None or r["training_g_per_year"] is not None
    )
    providers: dict[tuple[str, str], dict[str, Any]] = {}
    for c in cloud_rows:
        key = (str(c["provider"]), str(c["period_start"])[:4])
        p = providers.setdefault(
            key,
            {"provider": key[0], "year": key[1], "rows": 0, "location_g": None, "market_g": None},
        )
        p["rows"] += 1
        for b in ("location_g", "market_g"):
            if c.get(b) is not None:
                p[b] = (p[b] or 0.0) + float(c[b])
    ratios = [
        r["measured_over_first_cut"] for r in rows if r["measured_over_first_cut"] is not None
    ]
    return {
        "title": "First-cut estimate",
        "generated_utc": format_utc(generated_utc),
        "inventory": inventory.source,
        "systems": len(inventory.systems),
        "systems_estimated": estimated,
        "total_g_per_year": total,
        "total_t_per_year": total / G_PER_T,
        "rows": rows,
        "providers": sorted(providers.values(), key=lambda p: (p["provider"], p["year"])),
        "measured_over_first_cut": ratios,
        "idle_assumption": IDLE_ASSUMPTION.to_dict(),
        "warning": SEED_WARNING,
        "notes": [
            SEED_WARNING,
            "Provider exports are shown by provider and year and are not added to the total: "
            "they see the same cloud usage from the bill.",
            "measured_over_first_cut: the ledger's measured figure (annualised) / the first "
            "cut, for each system where both exist.",
        ],
    }
