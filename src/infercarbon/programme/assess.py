"""Where each inventory system stands in each of the four categories (training, inference,
data & infrastructure, embodied): measured, modelled, excluded, or not applicable, with the
evidence, from the ledger's facts (and, for embodied, a fleet file).  The measurement plan
(:mod:`~infercarbon.programme.plan`) and the gap analysis
(:mod:`~infercarbon.programme.gaps`) both read these cells.

Rules (the evidence text of each cell says which applied):

inference
    an inference system's ledger services with events: *measured* when at least half of its
    events carry a measured attribution method, else *modelled*; without events, *modelled*
    when the inventory gives ``inferences_per_day`` and ``energy_wh_per_inference`` (the
    first-cut estimate), else *excluded*.  Not applicable to training pipelines and
    fine-tuning workflows.
training
    runs of the system (its id as the runs' ``system``, or its models' lineages): *measured*
    when at least half their energy is labelled measured, else *modelled*; without runs,
    *modelled* when the inventory gives ``runs_per_year`` and ``gpu_hours_per_run`` (and a
    hardware to price GPU-hours), else *excluded*.  For an inference system this is the
    training line of the models it serves.
data & infrastructure
    *measured* when the system's data-pipeline runs are measured; *modelled* when the ledger
    holds its storage or transfer records (metered quantities x cited factors) or modelled
    data-pipeline runs; else *excluded*.
embodied
    never measured (embodied carbon comes from cited life-cycle figures); *modelled* when a
    fleet file lists the system's hardware, or its footprints carry an embodied line; else
    *excluded*.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.programme.facts import LedgerFacts
from infercarbon.programme.inventory import Inventory, System
from infercarbon.programme.runs import TRAINING_KINDS, lineage_of

__all__ = ["CATEGORIES", "STATUSES", "Cell", "assess"]

CATEGORIES = ("training", "inference", "data_infrastructure", "embodied")
STATUSES = ("measured", "modelled", "excluded", "not_applicable")


@dataclass(frozen=True)
class Cell:
    system: str
    category: str
    status: str
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "category": self.category,
            "status": self.status,
            "evidence": self.evidence,
        }


def _system_runs(runs: pa.Table, s: System) -> pa.Table:
    if runs.num_rows == 0:
        return runs
    mask = pc.equal(pc.fill_null(runs.column("system"), ""), s.id)
    if s.models:
        mask = pc.or_(mask, pc.is_in(lineage_of(runs), value_set=pa.array(list(s.models))))
        mask = pc.or_(mask, pc.is_in(runs.column("model"), value_set=pa.array(list(s.models))))
    if s.origin == "ledger" and s.kind != "inference":
        mask = pc.or_(mask, pc.equal(lineage_of(runs), s.id))
    return runs.filter(mask)


def _measured_energy_frac(runs: pa.Table) -> float:
    e = np.asarray(runs.column("energy_j").to_numpy(zero_copy_only=False), dtype=float)
    lab = np.asarray(runs.column("label").to_pylist(), dtype=object) == "measured"
    tot = e.sum()
    return float(e[lab].sum() / tot) if tot > 0 else float(lab.mean())


def _runs_cell(s: System, category: str, runs: pa.Table, what: str) -> Cell | None:
    if runs.num_rows == 0:
        return None
    frac = _measured_energy_frac(runs)
    status = "measured" if frac >= 0.5 else "modelled"
    return Cell(
        s.id,
        category,
        status,
        f"{runs.num_rows} {what} run(s) in the ledger, {frac:.0%} of their energy measured",
    )


def assess(
    inventory: Inventory,
    facts: LedgerFacts,
    *,
    fleet_hardware: Collection[str] | None = None,
    embodied_services: Collection[str] = (),
) -> list[Cell]:
    """One :class:`Cell` per system x category (see the module docstring)."""
    out: list[Cell] = []
    runs = facts.runs
    for s in inventory.systems:
        mine = _system_runs(runs, s)
        kinds = mine.column("kind") if mine.num_rows else pa.array([], pa.string())
        train = mine.filter(pc.is_in(kinds, value_set=pa.array(TRAINING_KINDS)))
        pipe = mine.filter(pc.equal(kinds, "data-pipeline"))
        # inference
        if s.kind != "inference":
            out.append(
                Cell(s.id, "inference", "not_applicable", f"a {s.kind} serves no inferences")
            )
        else:
            found = [f for n in s.ledger_services if (f := facts.service(n)) is not None]
            events = sum(f.events for f in found)
            measured = sum(f.measured_events for f in found)
            if events:
                status = "measured" if measured >= events / 2 else "modelled"
                out.append(
                    Cell(
                        s.id,
                        "inference",
                        status,
                        f"{events} event(s) in the ledger for service(s) "
                        f"{', '.join(f.service for f in found)}, {measured} with "
                        "measured energy",
                    )
                )
            elif s.inferences_per_day is not None and s.energy_wh_per_inference is not None:
                out.append(
                    Cell(
                        s.id,
                        "inference",
                        "modelled",
                        "no telemetry: first-cut from inferences_per_day x energy_wh_per_inference",
                    )
                )
            else:
                out.append(
                    Cell(
                        s.id,
                        "inference",
                        "excluded",
                        "no telemetry and no volume/energy per inference in the inventory",
                    )
                )
        # training
        cell = _runs_cell(s, "training", train, "training")
        if cell is None:
            if s.runs_per_year is not None and s.gpu_hours_per_run is not None and s.hardware:
                cell = Cell(
                    s.id,
                    "training",
                    "modelled",
                    "no runs recorded: first-cut from runs_per_year x "
                    "gpu_hours_per_run x the hardware's power",
                )
            else:
                what = "its models' training" if s.kind == "inference" else "its runs"
                cell = Cell(
                    s.id,
                    "training",
                    "excluded",
                    f"no runs recorded for {what} and no runs_per_year/"
                    "gpu_hours_per_run/hardware to model them",
                )
        out.append(cell)
        # data & infrastructure
        storage_n = _count_system(facts.storage, s.id)
        transfer_n = _count_system(facts.transfers, s.id)
        if pipe.num_rows and _measured_energy_frac(pipe) >= 0.5:
            out.append(
                Cell(
                    s.id,
                    "data_infrastructure",
                    "measured",
                    f"{pipe.num_rows} measured data-pipeline run(s)",
                )
            )
        elif storage_n or transfer_n or pipe.num_rows:
            out.append(
                Cell(
                    s.id,
                    "data_infrastructure",
                    "modelled",
                    f"{storage_n} storage and {transfer_n} transfer record(s), "
                    f"{pipe.num_rows} data-pipeline run(s) (quantities x cited "
                    "factors)",
                )
            )
        else:
            out.append(
                Cell(
                    s.id,
                    "data_infrastructure",
                    "excluded",
                    "no storage, transfer or data-pipeline records (PUE overhead "
                    "only, inside the operational figures)",
                )
            )
        # embodied
        hw = s.hardware
        if fleet_hardware is not None and hw is not None and hw in fleet_hardware:
            out.append(
                Cell(
                    s.id,
                    "embodied",
                    "modelled",
                    f"fleet file lists {hw} (cited life-cycle figure, refresh schedule)",
                )
            )
        elif set(s.ledger_services) & set(embodied_services):
            out.append(
                Cell(
                    s.id,
                    "embodied",
                    "modelled",
                    "its footprints carry an embodied line (amortised per device)",
                )
            )
        else:
            out.append(
                Cell(
                    s.id,
                    "embodied",
                    "excluded",
                    "no fleet entry for its hardware and no embodied line in its footprints",
                )
            )
    return out


def _count_system(t: pa.Table, system: str) -> int:
    if t.num_rows == 0:
        return 0
    return int(pc.sum(pc.equal(pc.fill_null(t.column("system"), ""), system)).as_py() or 0)
