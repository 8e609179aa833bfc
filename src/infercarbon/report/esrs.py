"""An ESRS E1-aligned disclosure table (E1-5 energy, E1-6 gross GHG emissions) and the
intensity per outcome.

The figures cover the boundary infercarbon measures: the electricity of AI inference and its
value chain (embodied hardware, training of the model, network).  Datapoints outside that
boundary (Scope 1, the fuel mix, net revenue) are stated as *not available* with the reason,
never filled with a zero.

Intensity per outcome: every inference of a service is needed to produce its outcomes (a
visual inspection scans many parts to find one defect), so the emissions of *all* the
service's inferences are divided by the count of each outcome value; outcome values of one
service are not allocated between each other.
"""

from __future__ import annotations

from typing import Any

from infercarbon.report.data import LedgerSlice
from infercarbon.report.scope2 import (
    LOCATION_BASES,
    MARKET_BASES,
    RANGE_NOTE,
    SCOPE3_CATEGORIES,
    SCOPE3_CONTENTS,
    Ranges,
    Sum,
    counted,
    in_scope,
    scope_sums,
    summed,
)
from infercarbon.report.tables import Col, Table, mwh, tonnes

__all__ = ["esrs_e1_table", "intensity_table"]

_NA = None


def esrs_e1_table(sl: LedgerSlice) -> Table:
    rows = sl.items.to_pylist()
    sums = scope_sums(rows)
    rng = Ranges(sl)
    stored = {
        r["basis"]: (r["value_g"], r["low_g"], r["high_g"]) for r in sl.total_ranges.to_pylist()
    }
    own = summed(
        rows,
        lambda r: (
            r["name"] in ("operational_location", "idle_location")
            and r["scope"] == "scope2_location"
            and not r["excluded"]
        ),
    )

    def t(key: str) -> float | None:
        s = sums[key]
        return None if s.empty else tonnes(s.g)

    def r(s: Sum, line: tuple[float, float, float] | None) -> dict[str, Any]:
        """low/high [t] of an emissions datapoint (the aggregate p5..p95)."""
        row = s.range_row(line)
        return {"low": row["low_t"], "high": row["high_t"]}

    def scope_range(key: str) -> dict[str, Any]:
        if key.startswith("total_"):
            return r(sums[key], stored.get(key.removeprefix("total_")))
        if key.startswith("scope3_"):
            return r(sums[key], rng.get("scope3", key.removeprefix("scope3_")))
        return r(sums[key], rng.get(key))

    out: list[dict[str, Any]] = [
        {
            "datapoint": "E1-5 §37",
            "description": "Total energy consumption related to own operations (AI inference)",
            "value": None if own.empty else mwh(own.energy_j),
            "unit": "MWh",
            "note": "facility energy of inference on own/controlled devices (IT x PUE) plus "
            "attributed idle energy (device level)"
            if not own.empty
            else "not available: no inference in the period ran on own devices",
        },
        {
            "datapoint": "E1-5 §37(a)-(c)",
            "description": "Energy mix: fossil, nuclear and renewable sources",
            "value": _NA,
            "unit": "MWh",
            "note": "not available: the ledger records grid emission factors, not the fuel mix "
            "of the supplying grids or the reporter's renewable purchases",
        },
        {
            "datapoint": "E1-6 §48",
            "description": "Gross Scope 1 GHG emissions",
            "value": _NA,
            "unit": "tCO2e",
            "note": "not assessed: outside the inference boundary (no fuel combustion is "
            "recorded); take it from the undertaking's own inventory",
        },
        {
            "datapoint": "E1-6 §49(a)",
            "description": "Gross location-based Scope 2 GHG emissions",
            "value": t("scope2_location"),
            **scope_range("scope2_location"),
            "unit": "tCO2e",
            "note": "sum of stored scope2_location line items",
        },
        {
            "datapoint": "E1-6 §49(b)",
            "description": "Gross market-based Scope 2 GHG emissions",
            "value": t("scope2_market"),
            **scope_range("scope2_market"),
            "unit": "tCO2e",
            "note": "sum of stored scope2_market line items (fallbacks stated in the "
            "market-instruments table)",
        },
    ]
    for scope, cat in SCOPE3_CATEGORIES.items():
        loc = summed(rows, in_scope(scope, LOCATION_BASES))
        mkt = summed(rows, in_scope(scope, MARKET_BASES))
        if loc.empty and mkt.empty:
            continue
        for basis, s in (("location", loc), ("market", mkt)):
            out.append(
                {
                    "datapoint": "E1-6 §51",
                    "description": f"Scope 3 {cat}: {SCOPE3_CONTENTS[scope]} ({basis} basis)",
                    "value": None if s.empty else tonnes(s.g),
                    **r(s, rng.get(scope, basis)),
                    "unit": "tCO2e",
                    "note": f"sum of stored {scope} line items",
                }
            )
    out.extend(
        {
            "datapoint": "E1-6 §51",
            "description": f"Gross Scope 3 GHG emissions ({basis} basis)",
            "value": t(f"scope3_{basis}"),
            **scope_range(f"scope3_{basis}"),
            "unit": "tCO2e",
            "note": "categories above"
            if not sums[f"scope3_{basis}"].empty
            else "no Scope 3 line items in the period",
        }
        for basis in ("location", "market")
    )
    out.extend(
        {
            "datapoint": f"E1-6 §52({'a' if basis == 'location' else 'b'})",
            "description": f"Total GHG emissions ({basis}-based)",
            "value": t(f"total_{basis}"),
            **scope_range(f"total_{basis}"),
            "unit": "tCO2e",
            "note": f"Scope 2 {basis}-based + Scope 3 ({basis} basis) of the "
            "inference boundary; Scope 1 not assessed (see above); range: of the "
            "stored per-footprint totals",
        }
        for basis in ("location", "market")
    )
    out.append(
        {
            "datapoint": "E1-6 §53",
            "description": "GHG intensity per net revenue",
            "value": _NA,
            "unit": "tCO2e per monetary unit",
            "note": "not available: net revenue is not an input of infercarbon; divide "
            "the totals above by net revenue from the financial statements. The "
            "operational intensity per outcome is given below.",
        }
    )
    return Table(
        "esrs_e1",
        "ESRS E1-aligned disclosure (inference boundary)",
        (
            Col("datapoint", "ESRS datapoint"),
            Col("description", "Description"),
            Col("value", "Value"),
            Col("low", "Low (p5)"),
            Col("high", "High (p95)"),
            Col("unit", "Unit"),
            Col("note", "Note"),
        ),
        tuple(out),
        notes=(
            "Paragraph references are to ESRS E1 (Delegated Regulation (EU) "
            "2023/2772). 'not available' cells are empty, not zero. Low and High "
            "are in the row's unit and given for emissions.",
            RANGE_NOTE,
        ),
    )


def intensity_table(sl: LedgerSlice) -> Table:
    items = sl.items.to_pylist()
    events = sl.events.to_pylist()
    services = sorted({r["service"] for r in events})
    out: list[dict[str, Any]] = []
    for svc in services:
        ev = [r for r in events if r["service"] == svc]
        n = sum(r["events"] for r in ev)
        nfp = sum(r["footprints"] for r in ev)
        mine = [r for r in items if r["service"] == svc]
        loc = summed(mine, lambda r: counted(r) and r["basis"] in LOCATION_BASES)
        mkt = summed(mine, lambda r: counted(r) and r["basis"] in MARKET_BASES)
        outcomes: dict[str, int] = {}
        for r in ev:
            if r["outcome"] is not None:
                outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + r["events"]
        per: list[tuple[str, int]] = [("(per inference)", nfp), *sorted(outcomes.items())]
        for outcome, count in per:
            note = (
                "emissions of the service's inferences with a footprint / their count"
                if outcome == "(per inference)"
                else f"emissions of all {nfp} inference(s) of the service with a footprint / "
                f"count of outcome {outcome!r}"
            )
            if nfp < n:
                note += f"; {n - nfp} inference(s) without a footprint are not in the numerator"
            ok = count > 0 and not loc.empty
            out.append(
                {
                    "service": svc,
                    "outcome": outcome,
                    "count": count,
                    "inferences": n,
                    "location_g_per_outcome": loc.g / count if ok else None,
                    "market_g_per_outcome": mkt.g / count if count > 0 and not mkt.empty else None,
                    "note": note if ok else "not available: no footprint for this service",
                }
            )
    return Table(
        "intensity_per_outcome",
        "Intensity per outcome",
        (
            Col("service", "Service"),
            Col("outcome", "Outcome"),
            Col("count", "Count (outcomes or inferences)"),
            Col("inferences", "Inferences"),
            Col("location_g_per_outcome", "Location-based", "gCO2e per outcome"),
            Col("market_g_per_outcome", "Market-based", "gCO2e per outcome"),
            Col("note", "Note"),
        ),
        tuple(out),
        notes=(
            "Totals include Scope 2 and Scope 3 lines of each basis (location: "
            "location + shared lines; market: market + shared lines).",
        ),
    )
