"""Render documents (:mod:`~infercarbon.programme.render`) of the artefacts' JSON data: the
tables a reader sees in Markdown, HTML and on the dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "drivers_doc",
    "estimate_doc",
    "fleet_doc",
    "gaps_doc",
    "maturity_doc",
    "plan_doc",
    "training_doc",
]

_CAT = {
    "training": "Training",
    "inference": "Inference",
    "data_infrastructure": "Data & infrastructure",
    "embodied": "Embodied",
}


def plan_doc(plan: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": plan["title"],
        "summary": [f"Inventory: {plan['inventory']}; {len(plan['systems'])} system(s)."],
        "tables": [
            {
                "title": "System inventory",
                "columns": [
                    ["id", "System"],
                    ["kind", "Kind"],
                    ["origin", "Origin"],
                    ["owner", "Owner"],
                    ["region", "Region"],
                    ["hardware", "Hardware"],
                    ["operating_model", "Operating model"],
                    ["volume", "Volume"],
                ],
                "rows": [{**s, "volume": _volume(s)} for s in plan["systems"]],
            },
            {
                "title": "Plan: system x category",
                "columns": [
                    ["system", "System"],
                    ["category", "Category"],
                    ["status_now", "Now"],
                    ["instrument", "Instrument"],
                    ["cadence", "Cadence"],
                    ["ghg_boundary", "GHG boundary"],
                    ["evidence", "Evidence"],
                ],
                "rows": [{**r, "category": _CAT[r["category"]]} for r in plan["rows"]],
            },
        ],
        "notes": plan["notes"],
    }


def _volume(s: Mapping[str, Any]) -> str | None:
    if s.get("inferences_per_day") is not None:
        return f"{s['inferences_per_day']:g} inferences/day"
    if s.get("runs_per_year") is not None:
        return f"{s['runs_per_year']:g} runs/year"
    return None


def gaps_doc(gaps: Mapping[str, Any]) -> dict[str, Any]:
    rows = [{"category": _CAT[k], **v} for k, v in gaps["categories"].items()]
    w = gaps["weakest_category"]
    return {
        "title": gaps["title"],
        "summary": [
            f"Weakest category: {_CAT[w]}.",
            f"To close it: {gaps['weakest_to_close'] or '-'}",
        ],
        "tables": [
            {
                "title": "Visibility by category",
                "columns": [
                    ["category", "Category"],
                    ["systems", "Systems"],
                    ["measured_share", "Measured share"],
                    ["modelled_share", "Modelled share"],
                    ["excluded_share", "Excluded share"],
                    ["measured_systems", "Measured"],
                    ["modelled_systems", "Modelled"],
                    ["excluded_systems", "Excluded"],
                    ["to_close", "What it takes"],
                ],
                "rows": rows,
            }
        ],
        "notes": gaps["notes"],
    }


def maturity_doc(m: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": m["title"],
        "summary": [
            f"Level {m['level']} ({m['level_name']}) as of {m['as_of_utc']}.",
            f"Next: {m['next_step'] or '-'}",
        ],
        "tables": [
            {
                "title": "Criteria",
                "columns": [
                    ["level", "Level"],
                    ["criterion", "Criterion"],
                    ["met", "Met"],
                    ["evidence", "Evidence"],
                ],
                "rows": m["criteria"],
            }
        ],
        "notes": m["notes"],
    }


def estimate_doc(e: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": e["title"],
        "summary": [
            e["warning"],
            f"Total: {e['total_t_per_year']:.6g} tCO2e/year over "
            f"{e['systems_estimated']} of {e['systems']} system(s).",
        ],
        "tables": [
            {
                "title": "By system",
                "columns": [
                    ["system", "System"],
                    ["kind", "Kind"],
                    ["region", "Region"],
                    ["intensity_g_per_kwh", "gCO2e/kWh"],
                    ["pue", "PUE"],
                    ["inference_g_per_year", "Inference g/yr"],
                    ["training_g_per_year", "Training g/yr"],
                    ["measured_g_per_year", "Ledger measured g/yr"],
                    ["measured_over_first_cut", "Measured / first cut"],
                    ["notes", "Notes"],
                ],
                "rows": e["rows"],
            },
            {
                "title": "Cloud provider exports (not added to the total)",
                "columns": [
                    ["provider", "Provider"],
                    ["year", "Year"],
                    ["rows", "Rows"],
                    ["location_g", "Location-based g"],
                    ["market_g", "Market-based g"],
                ],
                "rows": e["providers"],
            },
        ],
        "notes": e["notes"],
    }


def drivers_doc(drivers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "title": "Hidden drivers",
        "tables": [
            {
                "title": "Seed 001's five hidden drivers",
                "columns": [
                    ["name", "Driver"],
                    ["value", "Value"],
                    ["unit", "Unit"],
                    ["low", "Low"],
                    ["high", "High"],
                    ["label", "Label"],
                    ["seed_range", "Seed range"],
                    ["outside_seed_range", "Outside seed range"],
                    ["source", "Source"],
                    ["note", "Note"],
                ],
                "rows": list(drivers),
            }
        ],
        "notes": [
            "A driver is flagged where its value falls outside the range seed 001 "
            "quotes; where the seed quotes none the flag is empty."
        ],
    }


def training_doc(lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "title": "Training on the books",
        "tables": [
            {
                "title": "Training line per lineage",
                "columns": [
                    ["lineage", "Lineage"],
                    ["all_runs", "Runs"],
                    ["all_failed", "Failed"],
                    ["all_killed", "Killed"],
                    ["all_failed_share_frac", "Failed share (runs)"],
                    ["training_failed_energy_share_frac", "Failed share (energy)"],
                    ["training_g", "Training g"],
                    ["inferences_served", "Inferences"],
                    ["training_g_per_inference", "g per inference"],
                    ["trailing_year_g", "Trailing-year g"],
                    ["cadence_days", "Cadence days"],
                    ["retraining_ratio", "Retraining ratio"],
                    ["crossover_utc", "Crossover"],
                ],
                "rows": list(lines),
            }
        ],
        "notes": ["All runs of a lineage count, failed and killed ones included."],
    }


def fleet_doc(f: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": "Fleet and embodied refresh",
        "tables": [
            {
                "title": "Per year",
                "columns": [
                    ["year", "Year"],
                    ["devices_in_service", "Devices"],
                    ["devices_bought", "Bought"],
                    ["devices_replaced", "Replaced"],
                    ["embodied_acquisition_kg", "Embodied, acquisition kg"],
                    ["embodied_amortised_kg", "Embodied, amortised kg"],
                    ["operational_kg", "Operational kg"],
                    ["embodied_share_frac", "Embodied share (amortised)"],
                ],
                "rows": f["years"],
            },
            {
                "title": "Refresh schedule",
                "columns": [
                    ["year", "Year"],
                    ["device", "Device"],
                    ["devices_replaced", "Replaced"],
                ],
                "rows": f["refresh_schedule"],
            },
        ],
        "notes": f["notes"],
    }
