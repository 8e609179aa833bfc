"""The gap analysis (artefact 4): per category, the share of applicable inventory systems
whose figure is measured, modelled or excluded, the weakest category, and what closing its
gap takes.

Shares count systems (each applicable system x category cell weighs the same): the gap
analysis asks where visibility is missing, before the emissions are known well enough to
weigh by them.  A category with no applicable system in the inventory or the ledger is
wholly excluded (``excluded_share`` 1, ``systems`` 0): nothing about it is visible.  The
weakest category has the lowest visibility score, measured share + half the modelled share
(ties: the larger excluded share, then the order training, inference, data &
infrastructure, embodied).
"""

from __future__ import annotations

from typing import Any

from infercarbon.programme.assess import CATEGORIES, Cell
from infercarbon.programme.plan import INSTRUMENTS

__all__ = ["gap_analysis"]

_CLOSE = {
    "training": "meter every training, fine-tuning and retraining run (measure --ledger "
    "--run-kind, meter.run, or import CodeCarbon / Slurm sacct), failed ones "
    "included",
    "inference": "put the Meter, the proxy or the service's ingest with device readings in "
    "front of each production system",
    "data_infrastructure": "record storage GB-months and bulk/cross-region transfer GB per "
    "system, and meter the data pipelines as runs",
    "embodied": "write the fleet file (devices, counts, purchase dates, refresh years) for "
    "the hardware of every system",
}


def gap_analysis(cells: list[Cell]) -> dict[str, Any]:
    """Per category: ``measured_share``, ``modelled_share``, ``excluded_share`` (of the
    applicable systems), the systems in each state, and the weakest category."""
    cats: dict[str, dict[str, Any]] = {}
    for cat in CATEGORIES:
        mine = [c for c in cells if c.category == cat and c.status != "not_applicable"]
        n = len(mine)
        by = {
            st: sorted(c.system for c in mine if c.status == st)
            for st in ("measured", "modelled", "excluded")
        }
        if n:
            shares = {f"{st}_share": len(v) / n for st, v in by.items()}
        else:  # no system of the category known: nothing about it is visible
            shares = {"measured_share": 0.0, "modelled_share": 0.0, "excluded_share": 1.0}
        score = shares["measured_share"] + 0.5 * shares["modelled_share"]
        how = f"Instrument: {INSTRUMENTS[cat][0]}; cadence: {INSTRUMENTS[cat][1]}."
        cats[cat] = {
            "systems": n,
            **shares,
            "visibility_score": score,
            "measured_systems": by["measured"],
            "modelled_systems": by["modelled"],
            "excluded_systems": by["excluded"],
            "note": None
            if n
            else "no system of this category in the inventory or "
            "the ledger: the whole category is excluded",
            "to_close": f"list its systems in the inventory, then {_CLOSE[cat]}. {how}"
            if not n
            else None
            if by["measured"] == sorted(c.system for c in mine)
            else f"{_CLOSE[cat]}: {', '.join(by['modelled'] + by['excluded'])}. {how}",
        }
    ranked = sorted(
        CATEGORIES,
        key=lambda c: (
            cats[c]["visibility_score"],
            -(cats[c]["excluded_share"] or 0.0),
            CATEGORIES.index(c),
        ),
    )
    weakest = ranked[0]
    return {
        "title": "Gap analysis",
        "categories": cats,
        "weakest_category": weakest,
        "weakest_to_close": cats[weakest]["to_close"],
        "notes": [
            "Shares count applicable systems (inventory plus systems seen in the ledger); "
            "visibility score = measured share + half the modelled share.",
            "Embodied carbon is never measured: it comes from cited life-cycle figures, so "
            "its best state is modelled.",
        ],
    }
