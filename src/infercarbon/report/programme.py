"""The report's programme sections (seed 001): the training-runs table (training on the
books, per lineage, every run to the period's end, failed and killed ones included) and the
hidden drivers, from :mod:`infercarbon.programme`.  Kept in their own module so the report's
other sections stay independent of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.ledger import Store
from infercarbon.programme import hidden_drivers, read_facts, training_lines
from infercarbon.programme.facts import LedgerFacts, has_measured_idle
from infercarbon.programme.runs import lineage_of, run_totals
from infercarbon.report.data import LedgerSlice
from infercarbon.report.period import Period
from infercarbon.report.tables import Col, Table, mwh, tonnes

__all__ = ["has_programme_data", "hidden_drivers_table", "programme_facts", "training_runs_table"]

ALL = "(all)"


def programme_facts(
    store: Store, period: Period, tenant: str | None, sl: LedgerSlice | None = None
) -> LedgerFacts:
    """The ledger's facts up to the period's end (runs and events that started before it),
    with the idle share of the period itself (``sl``, the report's slice).  Without runs or
    transfers only the cheap facts are read (no extra pass over the events)."""
    runs = store.runs(tenant=tenant, end_utc=period.end_utc)
    transfers = store.transfers(tenant=tenant)
    if runs.num_rows or transfers.num_rows:
        facts = read_facts(store, as_of_utc=period.end_utc, tenant=tenant, end_utc=period.end_utc)
    else:
        facts = LedgerFacts(
            as_of_utc=period.end_utc,
            runs=runs,
            transfers=transfers,
            storage=store.storage(tenant=tenant),
            idle_measured=has_measured_idle(store, tenant),
            ledger=store.url,
        )
    if sl is not None and not sl.empty:
        idle = sl.idle_all.to_pylist()
        row = idle[0] if idle else {}
        facts = replace(
            facts,
            idle_share_of_active_frac=row.get("idle_share_of_active_frac"),
            idle_footprints=int(row.get("idle_known") or 0),
        )
    return facts


def has_programme_data(facts: LedgerFacts) -> bool:
    return bool(facts.runs.num_rows or facts.storage.num_rows or facts.transfers.num_rows)


def training_runs_table(facts: LedgerFacts, period: Period) -> Table:
    lines = training_lines(facts.runs, facts.models, as_of_utc=facts.as_of_utc)
    in_period = facts.runs.filter(
        pc.greater_equal(
            facts.runs.column("start_utc"), pa.scalar(period.start_utc, pa.timestamp("us", "UTC"))
        )
    )
    rows: list[dict[str, Any]] = [_row(x["lineage"], x) for x in lines]
    if lines:
        t = run_totals(facts.runs)
        rows.append(
            {
                "lineage": ALL,
                "runs": t.runs,
                "runs_in_period": in_period.num_rows,
                "succeeded": t.succeeded,
                "failed": t.failed,
                "killed": t.killed,
                "failed_share_frac": t.failed_share_frac,
                "energy_mwh": mwh(t.energy_j),
                "failed_energy_share_frac": t.failed_energy_share_frac,
                "gpu_hours": t.gpu_hours,
                "emissions_t": tonnes(t.emissions_g),
                "note": "every run of every kind",
            }
        )
    counts = Counter(lineage_of(in_period).to_pylist()) if in_period.num_rows else Counter()
    for r, x in zip(rows, lines, strict=False):
        r["runs_in_period"] = counts.get(x["lineage"], 0)
    return Table(
        "training_runs",
        "Training runs (training on the books, to the period's end)",
        (
            Col("lineage", "Lineage"),
            Col("runs", "Runs"),
            Col("runs_in_period", "In period"),
            Col("succeeded", "Succeeded"),
            Col("failed", "Failed"),
            Col("killed", "Killed"),
            Col("failed_share_frac", "Failed share of runs", "frac"),
            Col("energy_mwh", "Energy", "MWh"),
            Col("failed_energy_share_frac", "Failed share of energy", "frac"),
            Col("gpu_hours", "GPU-hours", "h"),
            Col("emissions_t", "Training emissions", "tCO2e"),
            Col("inferences_served", "Inferences served"),
            Col("training_g_per_inference", "Training per inference", "gCO2e"),
            Col("trailing_year_t", "Annualised training rate (trailing year)", "tCO2e"),
            Col("retraining_ratio", "Trailing year / original run", "ratio"),
            Col("crossover_utc", "Inference overtakes training on"),
            Col("note", "Note"),
        ),
        tuple(rows),
        notes=(
            "A lineage's training line counts every run of a training kind (train, "
            "finetune, retrain), failed and killed ones included, amortised over the "
            "inferences its models served; evaluation and data-pipeline runs are counted "
            "in Runs and Energy but not in the training line.",
            "Failed share of runs = (failed + killed) / runs; failed share of energy = "
            "their energy / all runs' energy (hidden driver 3).",
            "Status comes from the exit code or signal: 0 succeeded; SIGKILL/SIGTERM/"
            "SIGINT/SIGHUP killed; otherwise failed.",
        ),
    )


def _row(lineage: str, x: dict[str, Any]) -> dict[str, Any]:
    return {
        "lineage": lineage,
        "runs": x["all_runs"],
        "succeeded": x["all_runs"] - x["all_failed"] - x["all_killed"],
        "failed": x["all_failed"],
        "killed": x["all_killed"],
        "failed_share_frac": x["all_failed_share_frac"],
        "energy_mwh": mwh(x["all_energy_j"]),
        "failed_energy_share_frac": x["all_failed_energy_share_frac"],
        "gpu_hours": x["gpu_hours"],
        "emissions_t": tonnes(x["training_g"]),
        "inferences_served": x["inferences_served"],
        "training_g_per_inference": x["training_g_per_inference"],
        "trailing_year_t": tonnes(x["trailing_year_g"]),
        "retraining_ratio": x["retraining_ratio"],
        "crossover_utc": x["crossover_utc"],
        "note": None
        if x["training_g"] is not None
        else "emissions not available: no region or emissions on the runs",
    }


def hidden_drivers_table(facts: LedgerFacts) -> Table:
    rows = [
        {
            "driver": d["name"],
            "value": d["value"],
            "unit": d["unit"],
            "low": d["low"],
            "high": d["high"],
            "label": d["label"],
            "seed_range": None
            if d["seed_range"] is None
            else f"{d['seed_range'][0]:g}-{d['seed_range'][1]:g}",
            "outside_seed_range": d["outside_seed_range"],
            "source": d["source"],
            "note": d["note"],
        }
        for d in hidden_drivers(facts)
    ]
    return Table(
        "hidden_drivers",
        "Hidden drivers (seed 001)",
        (
            Col("driver", "Driver"),
            Col("value", "Value"),
            Col("unit", "Unit"),
            Col("low", "Low"),
            Col("high", "High"),
            Col("label", "Label"),
            Col("seed_range", "Seed's range"),
            Col("outside_seed_range", "Outside seed range"),
            Col("source", "Source"),
            Col("note", "Note"),
        ),
        tuple(rows),
        notes=(
            "Each driver with value, range and source; flagged where it falls outside the "
            "range seed 001 quotes (empty where the seed quotes none). The embodied "
            "refresh driver needs a fleet file: infercarbon programme drivers --fleet.",
        ),
    )
