"""The system inventory (what ran, where, for whom, when) and the breakdowns behind the charts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infercarbon.report.data import LedgerSlice
from infercarbon.report.scope2 import LOCATION_BASES, MARKET_BASES, counted, summed
from infercarbon.report.tables import Col, Table, mwh, tonnes
from infercarbon.timeutil import format_utc

__all__ = ["DIMENSIONS", "breakdown_table", "inventory_table", "monthly_table"]

#: Event columns the inventory lists, in order.
DIMENSIONS = ("service", "model", "device", "region", "tenant", "attribution_method", "calculator")


def _iso(t: datetime | None) -> str | None:
    return None if t is None else format_utc(t)


def inventory_table(sl: LedgerSlice) -> Table:
    ev = sl.events.to_pylist()
    out: list[dict[str, Any]] = []
    for dim in DIMENSIONS:
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for r in ev:
            groups.setdefault(r[dim], []).append(r)
        for name in sorted(groups, key=lambda x: (x is None, x or "")):
            g = groups[name]
            label = (
                name
                if name is not None
                else ("(no stored footprint)" if dim == "calculator" else "(none)")
            )
            out.append(
                {
                    "dimension": dim,
                    "name": label,
                    "events": sum(r["events"] for r in g),
                    "energy_mwh": mwh(sum(r["energy_j"] for r in g)),
                    "footprints": sum(r["footprints"] for r in g),
                    "first_utc": _iso(min(r["first_utc"] for r in g)),
                    "last_utc": _iso(max(r["last_utc"] for r in g)),
                }
            )
    return Table(
        "inventory",
        "System inventory",
        (
            Col("dimension", "Dimension"),
            Col("name", "Name"),
            Col("events", "Inferences"),
            Col("energy_mwh", "IT energy", "MWh"),
            Col("footprints", "Footprints"),
            Col("first_utc", "First inference (UTC)"),
            Col("last_utc", "Last inference ends (UTC)"),
        ),
        tuple(out),
        notes=(
            "calculator: the footprint calculator and version of the stored "
            "footprints; '(no stored footprint)' counts inferences not covered.",
        ),
    )


def monthly_table(sl: LedgerSlice) -> Table:
    ev = sl.events.to_pylist()
    items = sl.items.to_pylist()
    months = sorted({r["month_utc"] for r in ev})
    out = []
    for m in months:
        mine = [r for r in items if r["month_utc"] == m]
        loc = summed(mine, lambda r: counted(r) and r["basis"] in LOCATION_BASES)
        mkt = summed(mine, lambda r: counted(r) and r["basis"] in MARKET_BASES)
        e = [r for r in ev if r["month_utc"] == m]
        out.append(
            {
                "month": m.astimezone(UTC).strftime("%Y-%m"),
                "events": sum(r["events"] for r in e),
                "energy_mwh": mwh(sum(r["energy_j"] for r in e)),
                "location_t": None if loc.empty else tonnes(loc.g),
                "market_t": None if mkt.empty else tonnes(mkt.g),
            }
        )
    return Table(
        "by_month",
        "By month (UTC)",
        (
            Col("month", "Month"),
            Col("events", "Inferences"),
            Col("energy_mwh", "IT energy", "MWh"),
            Col("location_t", "Total, location-based", "tCO2e"),
            Col("market_t", "Total, market-based", "tCO2e"),
        ),
        tuple(out),
        notes=(
            "Only months with inferences are listed; the inventory gives the "
            "first and last inference of the period.",
        ),
    )


def breakdown_table(sl: LedgerSlice) -> Table:
    ev = sl.events.to_pylist()
    items = sl.items.to_pylist()
    out = []
    for dim in ("service", "model", "region", "tenant"):
        for name in sorted({r[dim] for r in ev}):
            mine = [r for r in items if r[dim] == name]
            loc = summed(mine, lambda r: counted(r) and r["basis"] in LOCATION_BASES)
            mkt = summed(mine, lambda r: counted(r) and r["basis"] in MARKET_BASES)
            mg = summed(mine, lambda r: r["scope"] == "memo_consequential" and not r["excluded"])
            e = [r for r in ev if r[dim] == name]
            out.append(
                {
                    "dimension": dim,
                    "name": name,
                    "events": sum(r["events"] for r in e),
                    "energy_mwh": mwh(sum(r["energy_j"] for r in e)),
                    "location_t": None if loc.empty else tonnes(loc.g),
                    "market_t": None if mkt.empty else tonnes(mkt.g),
                    "marginal_memo_t": None if mg.empty else tonnes(mg.g),
                }
            )
    return Table(
        "breakdown",
        "Breakdown by service, model, region and tenant",
        (
            Col("dimension", "Dimension"),
            Col("name", "Name"),
            Col("events", "Inferences"),
            Col("energy_mwh", "IT energy", "MWh"),
            Col("location_t", "Total, location-based", "tCO2e"),
            Col("market_t", "Total, market-based", "tCO2e"),
            Col("marginal_memo_t", "Marginal (memo)", "tCO2e"),
        ),
        tuple(out),
    )
