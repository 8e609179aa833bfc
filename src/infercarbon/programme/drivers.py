"""The five hidden drivers of seed 001, each with value, range, source and label, and flagged
where the value falls outside the range the seed quotes (where it quotes one):

1. idle / warm-pool share: idle energy / active inference energy (the ledger's footprints:
   measured where device readings cover the window, modelled from the deployment profile
   otherwise); seed: 30-50 %;
2. data movement share: (transfers + data-pipeline runs) / compute energy; seed: 5-15 %;
3. failed-run share: energy of failed and killed training runs / all training energy; the
   seed quotes no figure ("dozens of failed runs");
4. retraining rate: training emissions of the trailing year / the original training run's
   (with its failed attempts); the seed says it "quickly exceeds" 1, quotes no figure;
5. embodied refresh: acquisition-based embodied / (embodied + operational) of the fleet's
   last reported year (what growth adds; the amortised share, which does not move with fleet
   size, is in the note), flagged when a refresh cycle is outside the seed's 3-5 years.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.programme.facts import LedgerFacts
from infercarbon.programme.fleet import SEED_REFRESH_YEARS
from infercarbon.programme.infra import SEED_DATA_MOVEMENT_RANGE, data_movement
from infercarbon.programme.runs import TRAINING_KINDS
from infercarbon.programme.training import training_lines

__all__ = ["SEED_IDLE_RANGE", "hidden_drivers"]

SEED = "seed 001 (The Carbon Footprint of AI: hidden cost drivers)"
SEED_IDLE_RANGE = (0.30, 0.50)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.3g} %"


def _flag(value: float | None, rng: tuple[float, float] | None) -> bool | None:
    if value is None or rng is None:
        return None
    return not rng[0] <= value <= rng[1]


def _driver(
    key: str,
    name: str,
    value: float | None,
    unit: str,
    low: float | None,
    high: float | None,
    source: str,
    label: str | None,
    seed_range: tuple[float, float] | None,
    seed_claim: str,
    note: str,
    outside: bool | None = None,
) -> dict[str, Any]:
    return {
        "driver": key,
        "name": name,
        "value": value,
        "unit": unit,
        "low": low,
        "high": high,
        "source": source,
        "label": label,
        "seed_range": None if seed_range is None else list(seed_range),
        "seed_claim": seed_claim,
        "outside_seed_range": _flag(value, seed_range) if outside is None else outside,
        "note": note,
    }


def _failed_share(runs: pa.Table) -> tuple[float | None, float | None, float | None, int]:
    train = runs.filter(pc.is_in(runs.column("kind"), value_set=pa.array(TRAINING_KINDS)))
    if train.num_rows == 0:
        return None, None, None, 0
    e = np.asarray(train.column("energy_j").to_numpy(zero_copy_only=False), dtype=float)
    lo = np.asarray(
        pc.fill_null(train.column("energy_low_j"), np.nan).to_numpy(zero_copy_only=False),
        dtype=float,
    )
    hi = np.asarray(
        pc.fill_null(train.column("energy_high_j"), np.nan).to_numpy(zero_copy_only=False),
        dtype=float,
    )
    lo, hi = np.where(np.isnan(lo), e, lo), np.where(np.isnan(hi), e, hi)
    st = np.asarray(train.column("status").to_pylist(), dtype=object)
    bad = (st == "failed") | (st == "killed")
    if e.sum() <= 0:
        return None, None, None, train.num_rows
    v = e[bad].sum() / e.sum()
    low = (
        lo[bad].sum() / (lo[bad].sum() + hi[~bad].sum())
        if (lo[bad].sum() + hi[~bad].sum()) > 0
        else v
    )
    high = (
        hi[bad].sum() / (hi[bad].sum() + lo[~bad].sum())
        if (hi[bad].sum() + lo[~bad].sum()) > 0
        else v
    )
    return float(v), float(min(low, v)), float(max(high, v)), train.num_rows


def hidden_drivers(
    facts: LedgerFacts, fleet: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The five drivers (see the module docstring); ``fleet`` is
    :func:`~infercarbon.programme.fleet.fleet_schedule` output, when a fleet file is given."""
    out = []
    idle = facts.idle_share_of_active_frac
    out.append(
        _driver(
            "idle_warm_pool",
            "Idle and warm-pool share of active inference energy",
            idle,
            "frac",
            None,
            None,
            "the ledger's footprints: device readings minus the inferences' energy"
            if facts.idle_measured
            else "the ledger's footprints: deployment profile (idle power "
            "x device time x (1 - utilisation) / utilisation)",
            None if idle is None else ("measured" if facts.idle_measured else "modelled"),
            SEED_IDLE_RANGE,
            "idle energy can be 30-50 % of active-inference emissions",
            f"over {facts.idle_footprints} footprint(s) with an idle figure"
            if idle is not None
            else "not available: no footprint in the ledger records idle energy (set a "
            "deployment profile with idle power, or send device readings)",
        )
    )
    inference_j = sum(s.energy_j for s in facts.services)
    dm = data_movement(facts.transfers, facts.runs, inference_j)
    out.append(
        _driver(
            "data_movement",
            "Data movement share of compute energy",
            dm["share_frac"],
            "frac",
            dm["low_frac"],
            dm["high_frac"],
            "ledger transfers (GB x kWh/GB by network type: Cloud Carbon Footprint, IEA via the "
            "seed) and data-pipeline runs, over inference and run energy",
            None if dm["share_frac"] is None else "modelled",
            SEED_DATA_MOVEMENT_RANGE,
            "data-movement energy is frequently 5-15 % of compute energy (Green Software "
            "Foundation, via the seed)",
            f"{dm['transfer_records']} transfer record(s), {dm['data_pipeline_runs']} "
            f"data-pipeline run(s), compute {dm['compute_j']:.6g} J"
            if dm["share_frac"] is not None
            else "not available: no transfer records or data-pipeline runs in the ledger",
        )
    )
    v, lo, hi, n = _failed_share(facts.runs)
    out.append(
        _driver(
            "failed_runs",
            "Failed and killed runs' share of training energy",
            v,
            "frac",
            lo,
            hi,
            "the ledger's training, fine-tuning and retraining runs (status from exit code or "
            "signal)",
            None if v is None else "measured" if n else None,
            None,
            "the dozens of failed runs before the production one go uncounted (no figure)",
            f"over {n} training run(s); range from the runs' energy bands"
            if v is not None
            else "not available: no training run with energy in the ledger",
        )
    )
    lines = training_lines(facts.runs, facts.models, as_of_utc=facts.as_of_utc)
    trailing = [x["trailing_year_g"] for x in lines if x["trailing_year_g"] is not None]
    original = [x["original_g"] for x in lines if x["original_g"] is not None]
    ratio = (sum(trailing) / sum(original)) if trailing and original and sum(original) > 0 else None
    out.append(
        _driver(
            "retraining_rate",
            "Annual training emissions / the original training run",
            ratio,
            "ratio",
            None,
            None,
            "the ledger's runs: trailing-year training emissions over the runs up to the first "
            "successful one, summed over lineages",
            None if ratio is None else "measured",
            None,
            "retraining weekly or monthly quickly exceeds the original run (no figure)",
            f"trailing year {sum(trailing):.6g} g over original {sum(original):.6g} g; "
            f"{len(lines)} lineage(s)"
            if ratio is not None
            else "not available: needs a successful training run with emissions (a region)",
        )
    )
    if fleet is None or not fleet.get("years"):
        out.append(
            _driver(
                "embodied_refresh",
                "Embodied share of total (fleet, acquisition-based)",
                None,
                "frac",
                None,
                None,
                "fleet file",
                None,
                None,
                "hardware is replaced every 3-5 years; +50 %/year growth is missed by "
                "operational accounting",
                "not available: give a fleet file (--fleet)",
            )
        )
    else:
        last = fleet["years"][-1]
        share = last["embodied_share_acquisition_frac"]
        refresh = fleet.get("refresh_years", [])
        outside = (
            any(not SEED_REFRESH_YEARS[0] <= r <= SEED_REFRESH_YEARS[1] for r in refresh)
            if refresh
            else None
        )
        out.append(
            _driver(
                "embodied_refresh",
                "Embodied share of total (fleet, acquisition-based)",
                share,
                "frac",
                None,
                None,
                f"fleet file {fleet.get('source')} (cited or user embodied figures)",
                "modelled",
                None,
                "hardware is replaced every 3-5 years; +50 %/year growth is missed by "
                "operational accounting",
                f"year {last['year']}: {last['devices_in_service']:.6g} device(s), acquisition-"
                f"based {last['embodied_acquisition_kg']:.6g} kg vs amortised "
                f"{last['embodied_amortised_kg']:.6g} kg (amortised share "
                f"{_pct(last['embodied_share_frac'])}); refresh cycle(s) {refresh} years "
                f"(seed: {SEED_REFRESH_YEARS[0]:g}-{SEED_REFRESH_YEARS[1]:g})",
                outside=outside,
            )
        )
    for d in out:
        d["source_detail"] = SEED
    return out
