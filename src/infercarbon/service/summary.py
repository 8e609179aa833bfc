"""The dashboard's summary (``GET /v1/summary``): totals per basis with their aggregate
p5..p95, the scopes table with excluded lines, idle against active, energy cost, outcomes and
the energy Sankey, from the ledger's rollups (:func:`summary`)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from infercarbon.accounting.batch import KINDS
from infercarbon.ledger.rollup import event_totals, rollup_totals
from infercarbon.service.state import ServiceState
from infercarbon.units import J_PER_KWH

__all__ = ["summary"]


#: Reader-facing names of the GHG scope tags of footprint line items.
_SCOPE_LABELS = {
    "scope2_location": "Scope 2, location-based",
    "scope2_market": "Scope 2, market-based",
    "scope3_cat1": "Scope 3 cat. 1, purchased goods and services",
    "scope3_cat2": "Scope 3 cat. 2, capital goods",
    "scope3_cat11": "Scope 3 cat. 11, use of sold products",
    "memo_consequential": "Memo: consequential (marginal), never in a total",
}
#: Seed 001's reference for idle against active (stated beside the idle KPI).
_IDLE_REFERENCE = (
    "seed 001 (illustrative): cumulative idle-energy emissions can be 30 % to "
    "50 % of the active-inference emissions for a typical service"
)
_IDLE_REFERENCE_FRAC = (0.3, 0.5)


def _excluded_lines(state: ServiceState, tenant: str | None) -> dict[tuple[str, str], Any]:
    """(scope, name) -> (footprints whose line is excluded, one stated reason): the lines a
    sum of 0 g would otherwise hide (one SQL GROUP BY over live event footprints)."""
    from infercarbon.ledger.base import SUPERSEDED_FOOTPRINTS, live_event
    from infercarbon.ledger.compact import same_event
    from infercarbon.ledger.rollup import has_general_event_footprints

    schema = pa.schema(
        [
            pa.field("scope", pa.string()),
            pa.field("name", pa.string()),
            pa.field("n", pa.int64()),
            pa.field("reason", pa.string()),
        ]
    )
    from infercarbon.ledger.rollup import hours_answer

    if hours_answer(state.store):
        # the hourly rollup's rows per context, then the contexts' excluded items
        tcond, tparams = ("WHERE h.tenant = %s ", [tenant]) if tenant is not None else ("", [])
        sql = (
            "SELECT ci.scope, ci.name, sum(p.n) AS n, min(ci.label) AS reason FROM "
            f"(SELECT h.context_id, sum(h.n) AS n FROM footprint_hours h {tcond}"
            "GROUP BY h.context_id HAVING sum(h.n) > 0) p JOIN footprint_context_items ci "
            "ON ci.context_id = p.context_id WHERE ci.label LIKE 'excluded%%' "
            "GROUP BY ci.scope, ci.name"
        )
        return {
            (r["scope"], r["name"]): (r["n"], r["reason"])
            for r in state.store.query_arrow(sql, tparams, schema).to_pylist()
        }
    if not has_general_event_footprints(state.store):
        # compact rows only: count rows per context, then the contexts' excluded items
        tcond, tparams = ("ef.tenant = %s AND ", [tenant]) if tenant is not None else ("", [])
        sql = (
            "SELECT ci.scope, ci.name, sum(p.n) AS n, min(ci.label) AS reason FROM "
            "(SELECT ef.context_id, count(*) AS n FROM event_footprints ef WHERE "
            f"{tcond}{live_event('ef')} AND "
            f"ef.footprint_id NOT IN {SUPERSEDED_FOOTPRINTS} GROUP BY ef.context_id) p "
            "JOIN footprint_context_items ci ON "
            "ci.context_id = p.context_id WHERE ci.label LIKE 'excluded%%' "
            "GROUP BY ci.scope, ci.name"
        )
        return {
            (r["scope"], r["name"]): (r["n"], r["reason"])
            for r in state.store.query_arrow(sql, tparams, schema).to_pylist()
        }
    cond = ""
    params: list[Any] = []
    if tenant is not None:
        cond, params = " AND e.tenant = %s", [tenant]
    sql = (
        "SELECT li.scope, li.name, count(*) AS n, min(li.label) AS reason "
        f"FROM all_footprints f JOIN events e ON {same_event('e', 'f')} "
        "JOIN all_footprint_items li ON li.footprint_id = f.footprint_id "
        f"WHERE {live_event('e')} "
        f"AND f.footprint_id NOT IN {SUPERSEDED_FOOTPRINTS} "
        f"AND li.label LIKE 'excluded%%'{cond} GROUP BY li.scope, li.name"
    )
    return {
        (r["scope"], r["name"]): (r["n"], r["reason"])
        for r in state.store.query_arrow(sql, params, schema).to_pylist()
    }


def _scopes(state: ServiceState, tenant: str | None) -> dict[str, Any]:
    from infercarbon.ledger.rollup import ranged_sums

    excl = _excluded_lines(state, tenant)
    groups: dict[str, dict[str, Any]] = {}
    for r in ranged_sums(
        state.store, of="items", keys=("scope", "name"), tenant=tenant
    ).to_pylist():
        scope, name = r["scope"], r["name"]
        g = groups.setdefault(
            scope, {"scope": scope, "label": _SCOPE_LABELS.get(scope, scope), "lines": []}
        )
        n_ex, why = excl.get((scope, name), (0, None))
        basis = (
            name.rsplit("_", 1)[-1]
            if name.endswith(("_location", "_market", "_marginal"))
            else "both"
        )
        g["lines"].append(
            {
                "name": name,
                "basis": basis,
                "footprints": r["footprints"],
                "value_g": r["value_g"],
                "low_g": r["low_g"],
                "high_g": r["high_g"],
                "excluded_footprints": n_ex,
                "excluded_reason": why,
                "in_total": scope != "memo_consequential" and n_ex < r["footprints"],
            }
        )
    order = list(_SCOPE_LABELS)
    return {
        "groups": sorted(
            groups.values(),
            key=lambda g: (
                order.index(g["scope"]) if g["scope"] in order else len(order),
                g["scope"],
            ),
        ),
        "note": "a line's sum over the events' footprints with its aggregate p5..p95; "
        "lines of both bases (basis 'both') count once in the location- and once "
        "in the market-based total; an excluded line is a stated gap, not 0 g",
    }


def _idle_rows(t: pa.Table, dim: str) -> list[dict[str, Any]]:
    """Idle against active per ``dim`` (``idle_and_cost`` rows, one per value), with the
    reason where the profile of some or all of its events models no idle."""
    out = []
    for r in t.to_pylist():
        reason = None
        if r["idle_known"] < r["footprints"]:
            reason = "no idle power / utilisation in the deployment profile of " + (
                "part of these events: the share covers the events with an idle figure"
                if r["idle_known"]
                else "these events: idle not modelled"
            )
        out.append(
            {
                dim: r[dim],
                "footprints": r["footprints"],
                "active_j": r["active_j"] or 0.0,
                "idle_attributed_j": r["idle_attributed_j"],
                "idle_unattributed_j": r["idle_unattributed_j"],
                "idle_share_of_active_frac": r["idle_share_of_active_frac"],
                "reason": reason,
            }
        )
    return sorted(out, key=lambda o: str(o[dim]))


def _idle_and_cost(
    state: ServiceState, tenant: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    from infercarbon.ledger.rollup import idle_and_cost

    idle = {
        "by_device": _idle_rows(
            idle_and_cost(state.store, by=("device",), tenant=tenant, per_currency=False), "device"
        ),
        "by_service": _idle_rows(
            idle_and_cost(state.store, by=("service",), tenant=tenant, per_currency=False),
            "service",
        ),
        "reference": _IDLE_REFERENCE,
        "reference_frac": list(_IDLE_REFERENCE_FRAC),
        "method": "idle share of active = (attributed + unattributed idle IT energy) / the "
        "events' active energy; idle modelled from the deployment profile's idle "
        "power and utilisation, split by its idle policy (attributed: carried by "
        "the inferences; unattributed: facility overhead)",
    }
    rows = []
    for r in idle_and_cost(state.store, by=(), tenant=tenant).to_pylist():
        cur = r["currency"]
        rows.append(
            {
                "currency": cur,
                "energy_cost": None if cur is None else r["energy_cost"],
                "footprints": r["footprints"],
                "reason": None
                if cur is not None
                else "no price configured: the deployment profile of these events has no "
                "price_per_kwh or tariff",
            }
        )
    cost = {
        "by_currency": rows,
        "method": "energy cost = (IT + attributed idle energy) x PUE x (1 + T&D) in kWh x "
        "the profile's price per kWh (or time-of-use tariff), per currency; "
        "never summed across currencies",
    }
    return idle, cost


def _energy_label(methods: list[str]) -> str:
    """What happened to the energy: the label of the attribution methods' accuracy classes
    (:func:`~infercarbon.telemetry.base.energy_band`), ``measured`` only when every one is."""
    from infercarbon.telemetry.base import energy_band

    labels = sorted({energy_band(m).label for m in methods})
    if not labels:
        return "none yet"
    if len(labels) == 1:
        return labels[0]
    return "partly " + ", partly ".join(labels)


def summary(state: ServiceState, tenant: str | None) -> dict[str, Any]:
    from infercarbon.ledger.rollup import AGGREGATE_RANGE_METHOD, ranged_sums

    # one fold of the hourly rollup for the whole summary: every event acknowledged before
    # this request counts, and its dozen reads then share that fold (the store's lag)
    state.store.hours_ready(max_lag_s=0.0)
    t = rollup_totals(state.store, group="outcome", period="month", tenant=tenant)
    agg = event_totals(state.store, tenant=tenant)  # SQL aggregates, no rows
    n = int(agg["n"] or 0)
    energy = float(agg["energy_j"] or 0.0)
    facility = float(agg["facility_j"] or 0.0)
    # totals per basis with an honest aggregate p5..p95 (SQL: shared factors correlated
    # within a profile x region x signal group, the energy band independent per event)
    sums = {r["basis"]: r for r in ranged_sums(state.store, of="totals", tenant=tenant).to_pylist()}
    totals: dict[str, Any] = {}
    per: dict[str, Any] = {}
    for k in KINDS:
        r = sums.get(k)
        # a kind sums the events that have a signal of it; "events" says how many that is
        covered = int(r["footprints"]) if r else 0
        if covered == 0 or r is None:
            totals[k] = per[k] = None
            continue
        v, lo, hi = float(r["value_g"]), float(r["low_g"]), float(r["high_g"])
        totals[k] = {
            "value": v,
            "low": lo,
            "high": hi,
            "events": covered,
            "range": "aggregate p5..p95",
        }
        per[k] = {
            "value": v / covered,
            "low": lo / covered,
            "high": hi / covered,
            "events": covered,
            "range": "aggregate p5..p95 / events",
        }
    latency = None
    if n:
        latency = {
            "mean": float(agg["mean"]),
            "p50": float(agg["p50"]),
            "p95": float(agg["p95"]),
            "quantiles": agg.get("quantiles", "exact (over the events)"),
        }
    by_outcome: dict[str, dict[str, Any]] = {}
    for r in t.to_pylist():
        o = by_outcome.setdefault(
            r["key"], {"outcome": r["key"], "events": 0, "energy_j": 0.0, "facility_j": 0.0}
        )
        o["events"] += r["events"]
        o["energy_j"] += r["energy_j"] or 0.0
        o["facility_j"] += r["facility_j"] or 0.0
    outcomes = sorted(by_outcome.values(), key=lambda o: -o["facility_j"])
    methods = list(agg["methods"])
    idle, cost = _idle_and_cost(state, tenant)
    cfg = state.config
    return {
        "events": n,
        "energy_j": energy,
        "facility_j": facility,
        "latency_s": latency,
        "energy_label": _energy_label(methods),
        "totals_g": totals,
        "per_inference_g": per,
        "range_method": AGGREGATE_RANGE_METHOD,
        "scopes": _scopes(state, tenant),
        "idle": idle,
        "cost": cost,
        "by_outcome": outcomes,
        "sankey": _sankey(energy, facility, cfg.pue, cfg.td_loss_frac, outcomes),
        "price_per_kwh": state.price_per_kwh,
        "methodology_short": {
            "energy": "attribution: " + (", ".join(methods) or "none yet"),
            "pue": f"PUE {cfg.pue:g} ({cfg.pue_source}), T&D loss {cfg.td_loss_frac:g}",
            "location": "operational, idle, embodied and network lines at the region's "
            "location-based intensity (bundled annual average, or an hourly "
            "location signal when loaded); range = aggregate p5..p95",
            "market": "market instrument when configured, else the location-based figure "
            "(labelled fallback); range = aggregate p5..p95",
            "marginal": "hourly marginal signal of the region; n/a when none is loaded "
            "(memo item, not in totals)",
        },
    }


def _sankey(
    energy_j: float, facility_j: float, pue: float, td: float, outcomes: list[dict[str, Any]]
) -> dict[str, Any]:
    kwh = J_PER_KWH
    if facility_j <= 0:
        return {"nodes": [], "links": [], "note": "no energy recorded yet"}
    it = energy_j / kwh
    cooling = energy_j * (pue - 1.0) / kwh
    loss = energy_j * pue * td / kwh
    nodes = [
        {"id": "total", "label": "facility energy", "column": 0},
        {"id": "it", "label": "IT (device) energy", "column": 1},
    ]
    links = [{"source": "total", "target": "it", "kwh": it, "kind": "it"}]
    if cooling > 0:
        nodes.append({"id": "pue", "label": "facility overhead (PUE)", "column": 1})
        links.append({"source": "total", "target": "pue", "kwh": cooling, "kind": "overhead"})
    if loss > 0:
        nodes.append({"id": "td", "label": "T&D losses", "column": 1})
        links.append({"source": "total", "target": "td", "kwh": loss, "kind": "overhead"})
    for o in outcomes:
        oid = "o:" + o["outcome"]
        nodes.append({"id": oid, "label": f"outcome {o['outcome']}", "column": 2})
        share = (o["facility_j"] / facility_j) if facility_j else 0.0
        for src, val, kind in (
            ("it", it, "it"),
            ("pue", cooling, "overhead"),
            ("td", loss, "overhead"),
        ):
            if val > 0 and share > 0:
                links.append({"source": src, "target": oid, "kwh": val * share, "kind": kind})
    return {
        "nodes": nodes,
        "links": links,
        "note": f"facility kWh = IT kWh x PUE {pue:g} x (1 + T&D {td:g}); line items split "
        "over outcomes by each outcome's share of facility energy",
    }
