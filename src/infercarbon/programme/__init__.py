"""The AI carbon programme around the inference ledger (seed 001): runs (training,
fine-tuning, evaluation, retraining, data pipelines), training on the books, data and
infrastructure, fleet and embodied refresh, the four artefacts (system inventory,
measurement plan, first-cut estimate, gap analysis), the maturity level and the hidden
drivers.

Pure functions over the ledger's facts (:func:`read_facts` reads them once) and the
inventory/fleet files; the CLI (``infercarbon programme``), the service (``/v1/runs``) and the
report are thin shells over them.
"""

from __future__ import annotations

from infercarbon.programme.assess import CATEGORIES, Cell, assess
from infercarbon.programme.drivers import hidden_drivers
from infercarbon.programme.estimate import SEED_WARNING, first_cut_estimate
from infercarbon.programme.facts import (
    ESTIMATE_SETTING,
    LedgerFacts,
    ServiceFacts,
    model_facts,
    read_facts,
)
from infercarbon.programme.fleet import Fleet, fleet_schedule, load_fleet, parse_fleet
from infercarbon.programme.gaps import gap_analysis
from infercarbon.programme.importers import (
    CLOUD_FORMATS,
    RUN_FORMATS,
    read_cloud_export,
    read_codecarbon,
    read_runs,
    read_runs_csv,
    read_sacct,
)
from infercarbon.programme.inventory import (
    Inventory,
    System,
    load_inventory,
    parse_inventory,
    template,
)
from infercarbon.programme.maturity import maturity
from infercarbon.programme.plan import measurement_plan
from infercarbon.programme.runs import make_run, run_totals, status_from_exit
from infercarbon.programme.training import training_lines

__all__ = [
    "CATEGORIES",
    "CLOUD_FORMATS",
    "ESTIMATE_SETTING",
    "RUN_FORMATS",
    "SEED_WARNING",
    "Cell",
    "Fleet",
    "Inventory",
    "LedgerFacts",
    "ServiceFacts",
    "System",
    "assess",
    "first_cut_estimate",
    "fleet_schedule",
    "gap_analysis",
    "hidden_drivers",
    "load_fleet",
    "load_inventory",
    "make_run",
    "maturity",
    "measurement_plan",
    "model_facts",
    "parse_fleet",
    "parse_inventory",
    "read_cloud_export",
    "read_codecarbon",
    "read_facts",
    "read_runs",
    "read_runs_csv",
    "read_sacct",
    "run_totals",
    "status_from_exit",
    "template",
    "training_lines",
]
