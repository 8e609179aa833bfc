"""The report's per-user-action table: the footprint of each W3C trace.

Agents and RAG pipelines make many model calls for one user action.  Events that carry a
``trace_id`` (the proxy, the ASGI middleware and ``Meter(trace_context="otel")`` record it)
roll up per trace: one figure per action and basis, whatever served each step, with the
aggregate p5..p95 of :func:`infercarbon.ledger.rollup.ranged_sums` (shared grid factor and PUE
correlated, the rest independent).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infercarbon.ledger import Store
from infercarbon.ledger.compact import BASES
from infercarbon.ledger.rollup import AGGREGATE_RANGE_METHOD, ranged_sums
from infercarbon.report.period import Period
from infercarbon.report.tables import Col, Table

__all__ = ["TOP_TRACES", "traces_table"]

#: The traces listed one by one (the largest by location-based emissions); the summary row
#: covers every trace of the period.
TOP_TRACES = 20


def traces_table(
    store: Store, period: Period, *, tenant: str | None = None, top: int = TOP_TRACES
) -> Table:
    """Per-trace footprints of the period's live events: a summary row over every traced
    user action (count, model calls, median and p95 per action), then the ``top`` largest
    actions by location-based emissions, each with its range."""
    t = ranged_sums(
        store,
        of="totals",
        keys=("basis",),
        by=("trace_id",),
        tenant=tenant,
        start_utc=period.start_utc,
        end_utc=period.end_utc,
    )
    per: dict[str, dict[str, Any]] = {}
    for r in t.to_pylist():
        if r["trace_id"] is None:
            continue
        row = per.setdefault(r["trace_id"], {"trace_id": r["trace_id"]})
        row["model_calls"] = r["footprints"]
        b = r["basis"]
        if b in BASES:
            row[f"{b}_g"], row[f"{b}_low_g"], row[f"{b}_high_g"] = (
                r["value_g"],
                r["low_g"],
                r["high_g"],
            )
    rows = sorted(per.values(), key=lambda x: (-(x.get("location_g") or 0.0), x["trace_id"]))
    cols = (
        Col("trace_id", "Trace (user action)"),
        Col("model_calls", "Model calls"),
        *(
            Col(f"{b}_{k}", f"{b.capitalize()} {label}", "gCO2e")
            for b in BASES
            for k, label in (("g", "emissions"), ("low_g", "p5"), ("high_g", "p95"))
        ),
    )
    notes = [
        "One row per W3C trace: the live footprints of every model call that carried the "
        "trace id (from the request's traceparent header or the current OpenTelemetry span), "
        f"summed per basis. Range: {AGGREGATE_RANGE_METHOD}.",
    ]
    if not rows:
        notes.append(
            "No event of the period carries a trace id: record the trace context "
            "(infercarbon proxy, the ASGI middleware, or "
            'Meter(trace_context="otel")) to see the footprint per user action.'
        )
        return Table("traces", "Footprint per user action (trace)", cols, (), tuple(notes))
    loc = np.asarray([r.get("location_g") or 0.0 for r in rows])
    calls = np.asarray([r["model_calls"] for r in rows])
    notes.append(
        f"{len(rows)} traced user action(s) in the period, {int(calls.sum())} model call(s): "
        f"median {float(np.median(calls)):g} call(s) and {float(np.median(loc)):.4g} gCO2e "
        f"(location-based) per action, p95 {float(np.percentile(loc, 95)):.4g} gCO2e"
        + (f"; the {top} largest are listed" if len(rows) > top else "")
        + "."
    )
    return Table(
        "traces", "Footprint per user action (trace)", cols, tuple(rows[:top]), tuple(notes)
    )
