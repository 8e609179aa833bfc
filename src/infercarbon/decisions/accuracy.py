"""Accuracy per watt: g CO2e (and joules) per task-metric point, per model.

The user gives a task metric per model (``model,metric,value[,source]``: e.g. mAP 39.5 for
``yolo11n``, accuracy 0.91): the figure behind the seed's question "what does each additional
mAP point cost in gCO2e?".  For each model with ledger footprints and a metric:

::

    g_per_inference            = emissions / inferences                     [g]
    g_per_inference_per_point  = g_per_inference / value                    [g per point]
    j_per_inference_per_point  = energy_j / inferences / value              [J per point]
    marginal_g_per_point       = (g_b - g_a) / (value_b - value_a)          [g per extra point]

``marginal_g_per_point`` compares a model with the next lower-scoring model of the same metric
(``a``); the lowest-scoring model has none.  The metric values are the user's (label
``user``), the emissions the ledger's (with their aggregate p5..p95).

>>> m = parse_task_metrics("model,metric,value\\nn,mAP,39.5\\nm,mAP,51.5\\n")
>>> [(x.model, x.value) for x in m]
[('n', 39.5), ('m', 51.5)]
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from infercarbon.errors import InputError, ParseError

__all__ = [
    "TaskMetric",
    "accuracy_per_watt",
    "accuracy_rows",
    "parse_task_metrics",
    "read_task_metrics",
]


@dataclass(frozen=True, slots=True)
class TaskMetric:
    """A model's score on a task metric (higher is better)."""

    model: str
    metric: str
    value: float
    source: str = "user input"


def parse_task_metrics(text: str, *, path: str = "<task metrics>") -> list[TaskMetric]:
    """CSV with the header ``model,metric,value`` (and optionally ``source``)."""
    reader = csv.DictReader(io.StringIO(text))
    need = {"model", "metric", "value"}
    if reader.fieldnames is None or not need <= {f.strip() for f in reader.fieldnames}:
        raise ParseError(
            "the header must have model,metric,value (and optionally source)", path=path, row=1
        )
    out: list[TaskMetric] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(reader, start=2):
        r = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            v = float(r["value"])
        except ValueError:
            raise ParseError(
                f"not a number: {r['value']!r}", path=path, row=i, column="value"
            ) from None
        if not (math.isfinite(v) and v > 0):
            raise ParseError(f"{v!r}: a metric value must be > 0", path=path, row=i, column="value")
        if not r["model"] or not r["metric"]:
            raise ParseError("model and metric must not be empty", path=path, row=i)
        key = (r["model"], r["metric"])
        if key in seen:
            raise ParseError(f"{r['model']} has {r['metric']} twice", path=path, row=i)
        seen.add(key)
        out.append(TaskMetric(r["model"], r["metric"], v, r.get("source") or "user input"))
    if not out:
        raise ParseError("no rows", path=path, row=2)
    return out


def read_task_metrics(path: str | Path) -> list[TaskMetric]:
    """:func:`parse_task_metrics` of a file."""
    p = Path(path)
    try:
        return parse_task_metrics(p.read_text(encoding="utf-8"), path=str(p))
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}", field="task_metrics") from exc


def accuracy_rows(
    per_model: dict[str, dict[str, float]], metrics: Sequence[TaskMetric]
) -> list[dict[str, Any]]:
    """Rows for the models in ``per_model`` (``inferences, energy_j, emissions_g, low_g,
    high_g``) that have a metric; a metric of a model without footprints gets a note."""
    rows: list[dict[str, Any]] = []
    for metric in sorted({m.metric for m in metrics}):
        ms = sorted((m for m in metrics if m.metric == metric), key=lambda m: m.value)
        prev: dict[str, Any] | None = None
        for m in ms:
            d = per_model.get(m.model)
            row: dict[str, Any] = {
                "model": m.model,
                "metric": metric,
                "value": m.value,
                "metric_source": m.source,
            }
            if d is None or d["inferences"] <= 0:
                row["note"] = "no footprints of this model in the period"
                rows.append(row)
                continue
            n = d["inferences"]
            g = d["emissions_g"] / n
            row.update(
                {
                    "inferences": n,
                    "g_per_inference": g,
                    "g_per_inference_low": d["low_g"] / n,
                    "g_per_inference_high": d["high_g"] / n,
                    "g_per_inference_per_point": g / m.value,
                    "j_per_inference_per_point": d["energy_j"] / n / m.value,
                    "points_per_j": m.value / (d["energy_j"] / n) if d["energy_j"] > 0 else None,
                }
            )
            if prev is not None and m.value > prev["value"]:
                row["marginal_g_per_point"] = (g - prev["g_per_inference"]) / (
                    m.value - prev["value"]
                )
                row["compared_with"] = prev["model"]
            rows.append(row)
            prev = row
    return rows


def accuracy_per_watt(
    store: Any,
    metrics: Sequence[TaskMetric],
    *,
    basis: str = "location",
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> list[dict[str, Any]]:
    """:func:`accuracy_rows` from the ledger's rollups by model."""
    from infercarbon.ledger.rollup import ranged_sums, rollup_events

    ev = rollup_events(store, by=("model",), tenant=tenant, start_utc=start_utc, end_utc=end_utc)
    em = ranged_sums(
        store,
        of="totals",
        by=("model",),
        keys=("basis",),
        tenant=tenant,
        start_utc=start_utc,
        end_utc=end_utc,
    )
    # energy per inference over every event of the model (with or without a footprint)
    energy = {
        r["model"]: float(r["energy_j"] or 0.0) / max(int(r["events"]), 1) for r in ev.to_pylist()
    }
    per: dict[str, dict[str, float]] = {}
    for r in em.to_pylist():
        if r["basis"] != basis:
            continue
        per[r["model"]] = {
            "inferences": float(r["footprints"]),
            "emissions_g": float(r["value_g"]),
            "low_g": float(r["low_g"]),
            "high_g": float(r["high_g"]),
            "energy_j": energy.get(r["model"], 0.0) * float(r["footprints"]),
        }
    return accuracy_rows(per, metrics)
