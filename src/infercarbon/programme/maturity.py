"""The maturity level (seed 001's reading of the COMPEL D19 rubric), with evidence per
criterion drawn from what the ledger holds.

- Level 1 (Foundational): no measurement of AI training or inference energy exists.
- Level 2 (Developing): at least the largest training runs are measured **and** a first
  carbon-footprint estimate has been produced (``programme estimate --record``).
- Level 3 (Defined): every production AI system has per-system energy and CO2e tracked
  continuously: an inference system's events carry measured energy with footprints on at
  least 80 % of the days of the trailing 30; a training pipeline's runs in the trailing year
  are all metered.
- Level 4 (Advanced): the figures a Foundation Model Transparency Index compute-layer
  disclosure asks for exist for every lineage: GPU-hours, energy and emissions on every
  training run.  (Publishing them happens outside the ledger; the evidence says so.)
- Level 5: seed 001 names five levels but describes only four; this tool does not award
  Level 5 and says why.

The level is the highest whose criteria, and those of every level below, are met.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.programme.assess import Cell, _system_runs
from infercarbon.programme.facts import CONTINUOUS_WINDOW_DAYS, LedgerFacts
from infercarbon.programme.inventory import Inventory
from infercarbon.programme.runs import TRAINING_KINDS, lineage_of
from infercarbon.timeutil import format_utc

__all__ = ["CONTINUOUS_DAYS_FRAC", "maturity"]

#: Share of the trailing window's days an inference system must have footprints on.
CONTINUOUS_DAYS_FRAC = 0.8


def _criterion(level: int, name: str, met: bool, evidence: str) -> dict[str, Any]:
    return {"level": level, "criterion": name, "met": met, "evidence": evidence}


def maturity(inventory: Inventory, facts: LedgerFacts, cells: list[Cell]) -> dict[str, Any]:
    """``level`` (1-5) and ``criteria`` (level, criterion, met, evidence)."""
    runs = facts.runs
    n_runs = runs.num_rows
    measured_runs = (
        int(pc.sum(pc.equal(runs.column("label"), "measured")).as_py() or 0) if n_runs else 0
    )
    measured_events = sum(s.measured_events for s in facts.services)
    events = sum(s.events for s in facts.services)
    crit: list[dict[str, Any]] = []
    crit.append(
        _criterion(
            1,
            "energy of AI training or inference is measured somewhere",
            measured_runs > 0 or measured_events > 0,
            f"{measured_runs} of {n_runs} run(s) and {measured_events} of {events} inference "
            "event(s) in the ledger carry measured energy",
        )
    )
    # level 2
    train = (
        runs.filter(pc.is_in(runs.column("kind"), value_set=pa.array(TRAINING_KINDS)))
        if n_runs
        else runs
    )
    training_systems = [s for s in inventory.systems if s.kind != "inference"]
    if train.num_rows:
        e = np.asarray(train.column("energy_j").to_numpy(zero_copy_only=False), dtype=float)
        labels = np.asarray(train.column("label").to_pylist(), dtype=object)
        top = e >= 0.5 * e.max() if e.max() > 0 else np.ones(len(e), dtype=bool)
        ok = bool((labels[top] == "measured").all())
        crit.append(
            _criterion(
                2,
                "the largest training runs are measured",
                ok,
                f"{int(top.sum())} training run(s) within half of the largest "
                f"({e.max():.6g} J); {int((labels[top] == 'measured').sum())} of them measured",
            )
        )
    elif training_systems:
        crit.append(
            _criterion(
                2,
                "the largest training runs are measured",
                False,
                f"the inventory lists {len(training_systems)} training pipeline(s) / fine-tuning "
                "workflow(s) but the ledger holds no training run",
            )
        )
    else:
        crit.append(
            _criterion(
                2,
                "the largest training runs are measured",
                True,
                "not applicable: no training pipeline or fine-tuning workflow in the inventory "
                "and no training run in the ledger",
            )
        )
    est = facts.estimate
    crit.append(
        _criterion(
            2,
            "a first carbon-footprint estimate has been produced",
            est is not None,
            "no first-cut estimate recorded in the ledger (run programme estimate --record)"
            if est is None
            else f"first-cut estimate recorded {est.get('generated_utc')}: "
            f"{est.get('total_t_per_year')} tCO2e/year over {est.get('systems')} system(s)",
        )
    )
    # level 3
    production = [s for s in inventory.systems if s.production]
    need_days = int(np.ceil(CONTINUOUS_DAYS_FRAC * CONTINUOUS_WINDOW_DAYS))
    year_ago = facts.as_of_utc - timedelta(days=365)
    lacking: list[str] = []
    covered: list[str] = []
    for s in production:
        if s.kind == "inference":
            found = [f for n in s.ledger_services if (f := facts.service(n)) is not None]
            days = max((f.days_in_window for f in found), default=0)
            meas = sum(f.measured_events for f in found)
            ev = sum(f.events for f in found)
            emis = any(f.emissions_g is not None for f in found)
            if ev and meas >= ev / 2 and emis and days >= need_days:
                covered.append(s.id)
            else:
                lacking.append(
                    f"{s.id} (inference: {ev} event(s), {meas} measured, "
                    f"footprints {'yes' if emis else 'no'}, {days} of the last "
                    f"{CONTINUOUS_WINDOW_DAYS} days; needs {need_days})"
                )
        else:
            mine = _system_runs(runs, s)
            recent = (
                mine.filter(
                    pc.greater(
                        mine.column("start_utc"), pa.scalar(year_ago, pa.timestamp("us", tz="UTC"))
                    )
                )
                if mine.num_rows
                else mine
            )
            if recent.num_rows and bool(
                pc.all(pc.equal(recent.column("label"), "measured")).as_py()
            ):
                covered.append(s.id)
            else:
                lacking.append(
                    f"{s.id} ({s.kind}: {recent.num_rows} run(s) in the trailing "
                    "year" + ("" if not recent.num_rows else ", not all metered") + ")"
                )
    crit.append(
        _criterion(
            3,
            "every production AI system has per-system energy and CO2e tracked continuously",
            bool(production) and not lacking,
            (
                "no production system in the inventory or the ledger"
                if not production
                else f"{len(covered)} of {len(production)} production system(s) covered"
                + (f"; lacking: {'; '.join(lacking)}" if lacking else "")
            ),
        )
    )
    # level 4
    if train.num_rows:
        complete = pc.and_(
            pc.is_valid(train.column("gpu_hours")),
            pc.or_(pc.is_valid(train.column("emissions_g")), pc.is_valid(train.column("region"))),
        )
        bad = train.filter(pc.invert(complete))
        lin = sorted(set(lineage_of(bad).to_pylist())) if bad.num_rows else []
        crit.append(
            _criterion(
                4,
                "training compute, energy and emissions are disclosable for every lineage "
                "(FMTI compute layer)",
                not lin,
                (
                    f"all {train.num_rows} training run(s) carry GPU-hours, energy and emissions "
                    "(or a region to price them); publishing them happens outside the ledger"
                )
                if not lin
                else f"{bad.num_rows} training run(s) lack GPU-hours or emissions/"
                f"region, lineage(s): {', '.join(lin)}",
            )
        )
    else:
        crit.append(
            _criterion(
                4,
                "training compute, energy and emissions are disclosable for every lineage "
                "(FMTI compute layer)",
                False,
                "no training run in the ledger to disclose",
            )
        )
    crit.append(
        _criterion(
            5,
            "Level 5 criteria",
            False,
            "seed 001 names Levels 1-5 of the COMPEL D19 rubric but describes only Levels 1-4; "
            "this tool does not award Level 5",
        )
    )
    level = 1
    for lv in (2, 3, 4, 5):
        if crit[0]["met"] and all(c["met"] for c in crit if 2 <= c["level"] <= lv):
            level = lv
        else:
            break
    names = {1: "Foundational", 2: "Developing", 3: "Defined", 4: "Advanced", 5: "(undefined)"}
    nxt = next((c for c in crit if c["level"] > level and not c["met"]), None)
    return {
        "title": "Maturity level",
        "level": level,
        "level_name": names[level],
        "criteria": crit,
        "next_step": None
        if nxt is None
        else f"Level {nxt['level']}: {nxt['criterion']} - {nxt['evidence']}",
        "as_of_utc": format_utc(facts.as_of_utc),
        "notes": [
            "Seed 001's rubric: L1 no measurement; L2 largest training runs measured "
            "and a first estimate produced; L3 every production system metered "
            "continuously; L4 publishing figures with FMTI-comparable transparency."
        ],
    }
