"""The measurement plan (artefact 2): for each inventory system x the four categories, the
instrument that will produce the figure, the cadence it is reported on, and its GHG
Protocol boundary (Scope 2, or the Scope 3 category), with where it stands today.

The boundary follows the system's operating model: electricity of hardware the organisation
runs or leases (on-premises, colocation, edge) is Scope 2 (location- and market-based);
cloud and API usage is a purchased service, Scope 3 Category 1; the embodied carbon of
owned hardware is Scope 3 Category 2 (capital goods), of a cloud provider's hardware part of
Category 1.
"""

from __future__ import annotations

from typing import Any

from infercarbon.programme.assess import CATEGORIES, Cell
from infercarbon.programme.inventory import Inventory, System

__all__ = ["INSTRUMENTS", "ghg_boundary", "measurement_plan"]

_OWN = ("on-premises", "colocation", "edge")
_S2 = "Scope 2 (location- and market-based)"
_S3C1 = "Scope 3 Category 1 (purchased goods and services)"
_S3C2 = "Scope 3 Category 2 (capital goods)"

#: category -> (instrument, cadence)
INSTRUMENTS: dict[str, tuple[str, str]] = {
    "inference": (
        "infercarbon Meter / proxy / POST /v1/events with device readings (NVML, "
        "RAPL); per-request energy attributed over the device's measured energy",
        "continuous (per event), reported monthly",
    ),
    "training": (
        "infercarbon measure --ledger --run-kind train|finetune|retrain (or "
        "meter.run, POST /v1/runs, CodeCarbon / Slurm sacct imports); every run, "
        "failed and killed ones included",
        "every run, reported monthly with the annualised training rate",
    ),
    "data_infrastructure": (
        "data-pipeline runs metered like training runs; storage GB-months "
        "and transfer GB from the storage inventory / cloud bill x cited "
        "factors; the facility PUE",
        "monthly",
    ),
    "embodied": (
        "fleet file (devices, counts, purchase dates, refresh years) x cited "
        "life-cycle figures; acquisition-based and amortised",
        "annually and at each purchase or refresh",
    ),
}


def ghg_boundary(s: System, category: str) -> str:
    """The GHG Protocol scope/category of ``category`` for system ``s``."""
    om = s.operating_model
    if category == "embodied":
        if om in _OWN:
            return _S3C2
        if om in ("cloud", "api"):
            return _S3C1 + " (the provider's hardware)"
        return f"{_S3C2} if owned, else {_S3C1} (set operating_model)"
    if om in _OWN:
        return (
            _S2
            if category != "data_infrastructure"
            else (f"{_S2}; transfers over third-party networks: {_S3C1}")
        )
    if om in ("cloud", "api"):
        return _S3C1
    return f"{_S2} if own or leased hardware, else {_S3C1} (set operating_model)"


def measurement_plan(inventory: Inventory, cells: list[Cell]) -> dict[str, Any]:
    """The plan as JSON data: one row per system x category."""
    by = {(c.system, c.category): c for c in cells}
    rows = []
    for s in inventory.systems:
        for cat in CATEGORIES:
            c = by[(s.id, cat)]
            instrument, cadence = INSTRUMENTS[cat]
            if c.status == "not_applicable":
                instrument, cadence, boundary = "-", "-", "-"
            else:
                boundary = ghg_boundary(s, cat)
                if cat == "inference" and s.operating_model == "api":
                    instrument = (
                        "provider-reported energy per request, else infercarbon "
                        "estimate llm (no device access behind an API)"
                    )
            rows.append(
                {
                    "system": s.id,
                    "kind": s.kind,
                    "origin": s.origin,
                    "category": cat,
                    "status_now": c.status,
                    "instrument": instrument,
                    "cadence": cadence,
                    "ghg_boundary": boundary,
                    "evidence": c.evidence,
                }
            )
    return {
        "title": "Measurement plan",
        "inventory": inventory.source,
        "systems": [s.to_dict() for s in inventory.systems],
        "rows": rows,
        "notes": [
            "One row per inventory system x category (seed 001, artefact 2). Systems the "
            "ledger has seen that the inventory does not list are added (origin: ledger).",
            "GHG boundary from the operating model: own or leased hardware -> Scope 2; cloud "
            "and API -> Scope 3 Category 1; owned hardware's embodied carbon -> Scope 3 "
            "Category 2.",
        ],
    }
