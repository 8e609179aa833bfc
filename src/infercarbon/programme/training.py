"""Training on the books: a model lineage's training line from its measured runs.

For each lineage (a run's ``lineage``, else its model), over every run of a training kind
(train, finetune, retrain), **failed and killed runs included**:

- ``training_g``: their emissions (location-based; see
  :func:`~infercarbon.programme.runs.run_emissions_g`);
- ``training_g_per_inference`` = ``training_g`` / inferences the lineage's models served
  (the ledger's live events): the training line amortised over inferences served;
- ``trailing_year_g``: training emissions of runs that started in the year up to ``as_of``
  (the annualised training rate, no extrapolation), and ``cadence_days``: the median interval
  between successive successful training runs;
- ``original_g``: the runs up to and including the first successful one (the original
  training with its failed attempts); ``retraining_ratio`` = ``trailing_year_g`` /
  ``original_g`` (hidden driver 4: above 1, retraining outweighs the original run each year);
- ``crossover_utc``: the day on which cumulative inference emissions overtake ``training_g``
  at the lineage's observed mean daily inference emissions (first to last event day).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.programme.runs import TRAINING_KINDS, lineage_of, run_emissions_g, run_totals
from infercarbon.timeutil import format_utc
from infercarbon.units import US_PER_S

__all__ = ["training_lines"]

_YEAR = timedelta(days=365)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else format_utc(t)


def _seconds(col: pa.ChunkedArray) -> np.ndarray:
    """UTC timestamps [us] as seconds since the epoch (vectorised)."""
    us = pc.cast(col, pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(us, dtype=float) / US_PER_S


def training_lines(
    runs: pa.Table,
    models: Mapping[str, tuple[int, float | None, datetime | None, datetime | None]],
    *,
    as_of_utc: datetime,
) -> list[dict[str, Any]]:
    """One training line per lineage (see the module docstring), sorted by lineage.

    ``models`` maps a model to (inferences served, their location-based emissions [g] or
    None, first and last event start) as :class:`~infercarbon.programme.facts.LedgerFacts`
    holds them.
    """
    if runs.num_rows == 0:
        return []
    lineages = lineage_of(runs)
    out: list[dict[str, Any]] = []
    for lineage in sorted(set(lineages.to_pylist())):
        mine = runs.filter(pc.equal(lineages, lineage))
        train = mine.filter(pc.is_in(mine.column("kind"), value_set=pa.array(TRAINING_KINDS)))
        totals = run_totals(mine)
        tt = run_totals(train)
        served_models = sorted(set(mine.column("model").to_pylist()) | {lineage})
        served = [models[m] for m in served_models if m in models]
        n_inf = sum(s[0] for s in served)
        inf_g = [s[1] for s in served if s[1] is not None]
        firsts = [s[2] for s in served if s[2] is not None]
        lasts = [s[3] for s in served if s[3] is not None]
        training_g = tt.emissions_g
        g, _, _, known = (
            run_emissions_g(train)
            if train.num_rows
            else (np.zeros(0), None, None, np.zeros(0, dtype=bool))
        )
        starts = _seconds(train.column("start_utc"))
        ends = _seconds(train.column("end_utc"))
        ok = np.asarray(train.column("status").to_pylist(), dtype=object) == "succeeded"
        recent = starts > (as_of_utc - _YEAR).timestamp()
        trailing = (
            float(g[recent & known].sum())
            if (recent & known).any()
            else (0.0 if train.num_rows and not recent.any() else None)
        )
        original = None
        cadence = None
        if ok.any():
            order = np.argsort(ends)
            first_ok_end = ends[order][ok[order]][0]
            upto = ends <= first_ok_end
            original = float(g[upto & known].sum()) if (upto & known).any() else None
            ok_starts = np.sort(starts[ok])
            if len(ok_starts) >= 2:
                cadence = float(np.median(np.diff(ok_starts))) / 86400.0
        per_inf = (training_g / n_inf) if training_g is not None and n_inf else None
        crossover = None
        daily = None
        if training_g is not None and inf_g and firsts and lasts:
            first, last = min(firsts), max(lasts)
            days = max((last - first).total_seconds() / 86400.0, 1.0)
            daily = sum(inf_g) / days
            if daily > 0:
                crossover = first + timedelta(days=training_g / daily)
        out.append(
            {
                "lineage": lineage,
                "models": served_models,
                **{
                    f"all_{k}": v
                    for k, v in totals.to_dict().items()
                    if k
                    in (
                        "runs",
                        "failed",
                        "killed",
                        "energy_j",
                        "failed_share_frac",
                        "failed_energy_share_frac",
                    )
                },
                "training_runs": tt.runs,
                "training_failed_runs": tt.failed + tt.killed,
                "training_energy_j": tt.energy_j,
                "training_failed_energy_share_frac": tt.failed_energy_share_frac,
                "training_g": training_g,
                "training_low_g": tt.emissions_low_g,
                "training_high_g": tt.emissions_high_g,
                "training_runs_without_emissions": tt.emissions_unknown_runs,
                "gpu_hours": tt.gpu_hours,
                "inferences_served": n_inf,
                "training_g_per_inference": per_inf,
                "trailing_year_g": trailing,
                "cadence_days": cadence,
                "original_g": original,
                "retraining_ratio": (trailing / original)
                if trailing is not None and original
                else None,
                "inference_g_per_day": daily,
                "crossover_utc": _iso(crossover),
                "labels": list(tt.labels),
            }
        )
    return out
