"""Report sections of decision support: the rebound decomposition and accuracy per watt.

Kept in their own module (and their own tables) so that other sections can be added beside
them without touching these.  Both read the ledger's rollups through
:mod:`infercarbon.decisions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infercarbon.decisions.accuracy import TaskMetric, accuracy_per_watt
from infercarbon.decisions.rebound import METHOD, monthly_rebound
from infercarbon.ledger import Store
from infercarbon.report.period import Period
from infercarbon.report.tables import Col, Table, tonnes

__all__ = ["accuracy_table", "rebound_table"]


def _t(x: Any) -> float | None:
    return None if x is None else tonnes(float(x))


def rebound_table(store: Store, period: Period, tenant: str | None) -> Table:
    """Month-on-month change in location-based emissions: volume and intensity effects."""
    doc = monthly_rebound(store, tenant=tenant, start_utc=period.start_utc, end_utc=period.end_utc)
    rows = [
        {
            "month": r["month"],
            "inferences": int(r["inferences"]),
            "location_t": _t(r["emissions_g"]),
            "g_per_inference": r["g_per_inference"],
            "change_t": _t(r["change_g"]),
            "volume_t": _t(r["volume_g"]),
            "volume_low_t": _t(r["volume_low_g"]),
            "volume_high_t": _t(r["volume_high_g"]),
            "intensity_t": _t(r["intensity_g"]),
            "intensity_low_t": _t(r["intensity_low_g"]),
            "intensity_high_t": _t(r["intensity_high_g"]),
            "rebound_frac": r["rebound_frac"],
            "note": r.get("note"),
        }
        for r in doc["rows"]
    ]
    return Table(
        "rebound",
        "Rebound: month-on-month change split into volume and intensity effects",
        (
            Col("month", "Month"),
            Col("inferences", "Inferences with a footprint"),
            Col("location_t", "Total, location-based", "tCO2e"),
            Col("g_per_inference", "Per inference", "gCO2e"),
            Col("change_t", "Change on the month before", "tCO2e"),
            Col("volume_t", "Volume effect", "tCO2e"),
            Col("volume_low_t", "low", "tCO2e"),
            Col("volume_high_t", "high", "tCO2e"),
            Col("intensity_t", "Intensity effect", "tCO2e"),
            Col("intensity_low_t", "low", "tCO2e"),
            Col("intensity_high_t", "high", "tCO2e"),
            Col("rebound_frac", "Rebound (volume effect / intensity saving)"),
            Col("note", "Note"),
        ),
        tuple(rows),
        notes=(
            f"Method: {METHOD}. Volume effect + intensity effect = change, exactly.",
            "Ranges: the decomposition repeated with every month at its low and its high "
            "aggregate bound (shared factor errors move the months together).",
            "Rebound > 1: emissions rose although each inference got cleaner (backfire).",
        ),
    )


def accuracy_table(
    store: Store, period: Period, tenant: str | None, metrics: Sequence[TaskMetric]
) -> Table:
    """g CO2e and J per task-metric point, per model (the user's metrics)."""
    rows = accuracy_per_watt(
        store, metrics, tenant=tenant, start_utc=period.start_utc, end_utc=period.end_utc
    )
    keys = (
        "model",
        "metric",
        "value",
        "inferences",
        "g_per_inference",
        "g_per_inference_low",
        "g_per_inference_high",
        "g_per_inference_per_point",
        "j_per_inference_per_point",
        "marginal_g_per_point",
        "compared_with",
        "metric_source",
        "note",
    )
    return Table(
        "accuracy_per_watt",
        "Accuracy per watt: emissions per task-metric point, by model",
        (
            Col("model", "Model"),
            Col("metric", "Metric"),
            Col("value", "Score"),
            Col("inferences", "Inferences"),
            Col("g_per_inference", "Per inference, location-based", "gCO2e"),
            Col("g_per_inference_low", "low", "gCO2e"),
            Col("g_per_inference_high", "high", "gCO2e"),
            Col("g_per_inference_per_point", "Per inference per point", "gCO2e"),
            Col("j_per_inference_per_point", "IT energy per inference per point", "J"),
            Col("marginal_g_per_point", "Each extra point, per inference", "gCO2e"),
            Col("compared_with", "Compared with"),
            Col("metric_source", "Metric source"),
            Col("note", "Note"),
        ),
        tuple({k: r.get(k) for k in keys if k in r} for r in rows),
        notes=(
            "Scores are the user's (task metrics file); emissions are the ledger's "
            "location-based totals with their aggregate p5..p95.",
            "Each extra point: (g per inference of this model - of the next lower-scoring "
            "model of the same metric) / (score difference).",
        ),
    )
