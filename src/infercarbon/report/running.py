"""What the running system costs besides active energy: the idle share of active energy per
device and per service, and the energy cost by currency, from
:func:`infercarbon.ledger.rollup.idle_and_cost` (SQL; Python sees only the grouped rows).

Both read the footprints that record idle energy and cost: those of the ingest path
(``infercarbon.service.footprints:full/v2``, the compact layout).  Footprints stored in the
general layout (the estimate path, older calculators) record neither; the tables count them
and say so, and never show them as a zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from infercarbon.errors import DataError
from infercarbon.report.data import LedgerSlice
from infercarbon.report.tables import Col, Table, mwh

__all__ = ["SEED_IDLE_CLAIM", "energy_cost_table", "idle_share_table"]

#: The seed's claim the idle table lets a reader check (seed 001, "hidden drivers").
SEED_IDLE_CLAIM = (
    "seed 001 (hidden drivers) says the idle-energy emissions 'can be 30% to 50% of the "
    "active-inference emissions for a typical service'"
)
ALL = "(all)"


def _versions(text: str) -> dict[str, Any]:
    try:
        fv = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"stored factor versions are not JSON: {exc}") from exc
    if not isinstance(fv, dict):
        raise DataError("stored factor versions are not a JSON object")
    return fv


def _names(values: Iterable[Any]) -> str | None:
    got = sorted({str(v) for v in values if v is not None})
    return "; ".join(got) if got else None


def _uncovered(sl: LedgerSlice, covered: int) -> int:
    """Footprints of the period that record no idle or cost (general layout)."""
    return int(sum(r["footprints"] for r in sl.events.to_pylist())) - covered


def idle_share_table(sl: LedgerSlice) -> Table:
    priced = sl.priced.to_pylist()
    profiles: dict[tuple[str, str], set[str]] = {}
    for r in priced:
        name = _versions(r["factor_versions_json"]).get("profile")
        for dim in ("device", "service"):
            profiles.setdefault((dim, str(r[dim])), set())
            if name is not None:
                profiles[(dim, str(r[dim]))].add(str(name))
                profiles.setdefault((dim, ALL), set()).add(str(name))
    out: list[dict[str, Any]] = []
    covered = sum(int(r["footprints"]) for r in sl.idle_all.to_pylist())
    # the devices, one "(all)" row after them (the services sum to the same), the services
    rows = [("device", str(r["device"]), r) for r in sl.idle_by_device.to_pylist()]
    if rows:
        rows += [("device", ALL, r) for r in sl.idle_all.to_pylist()]
    rows += [("service", str(r["service"]), r) for r in sl.idle_by_service.to_pylist()]
    for dim, name, m in rows:
        active, att, un = m["active_j"], m["idle_attributed_j"], m["idle_unattributed_j"]
        share = m["idle_share_of_active_frac"]
        out.append(
            {
                "dimension": dim,
                "name": name,
                "profile": _names(profiles.get((dim, name), ())),
                "footprints": m["footprints"],
                "active_mwh": mwh(active),
                "idle_attributed_mwh": mwh(att),
                "idle_unattributed_mwh": mwh(un),
                "idle_share_of_active_frac": share,
                "note": "not available: the deployment profile gives no idle power or utilisation "
                "(the idle lines are excluded)"
                if att is None
                else "not available: no active energy recorded"
                if share is None
                else "(attributed + unattributed idle) / active"
                if m["idle_known"] == m["footprints"]
                else f"(attributed + unattributed idle) / active, over the {m['idle_known']} "
                "footprint(s) with an idle figure",
            }
        )
    missing = _uncovered(sl, covered)
    notes = [
        "Active: the IT energy recorded on the inferences. Idle: the device's idle IT energy, "
        "modelled from the deployment profile named in the Profile column (idle power x "
        "device time x (1 - utilisation) / utilisation), or measured where device readings "
        "cover the window (readings minus the inferences' energy; the idle line's label says "
        "which), split by the profile's idle policy into the part attributed to the "
        "inferences (tenancy: all; 30-70: 30 %; none: nothing) and the unattributed rest.",
        f"Idle share of active = (attributed + unattributed idle) / active energy. The "
        f"{SEED_IDLE_CLAIM} (idle and active of a footprint carry the same grid factor and "
        "PUE, so the energy share is the emissions share): check it against this column.",
    ]
    if missing > 0:
        notes.append(
            f"{missing} footprint(s) of the period record no idle energy (general "
            "layout: estimate path or older calculators) and are not in this table."
        )
    return Table(
        "idle_share",
        "Idle share of active energy (by device and by service)",
        (
            Col("dimension", "Dimension"),
            Col("name", "Name"),
            Col("profile", "Profile"),
            Col("footprints", "Footprints"),
            Col("active_mwh", "Active energy", "MWh"),
            Col("idle_attributed_mwh", "Idle, attributed", "MWh"),
            Col("idle_unattributed_mwh", "Idle, unattributed", "MWh"),
            Col("idle_share_of_active_frac", "Idle share of active", "frac"),
            Col("note", "Note"),
        ),
        tuple(out),
        notes=tuple(notes),
    )


def energy_cost_table(sl: LedgerSlice) -> Table:
    sources: dict[tuple[str, str | None], set[str]] = {}
    for r in sl.priced.to_pylist():
        price = _versions(r["factor_versions_json"]).get("price")
        for svc in (str(r["service"]), ALL):
            s = sources.setdefault((svc, r["currency"]), set())
            if price is not None:
                s.add(str(price))
    rows = sl.cost_by_service.to_pylist()
    per_currency = {r["currency"]: r for r in sl.cost_all.to_pylist()}
    out: list[dict[str, Any]] = []

    def row(service: str, currency: str | None, cost: float | None, n: int) -> dict[str, Any]:
        if currency is None:
            return {
                "service": service,
                "currency": None,
                "energy_cost": None,
                "price_source": None,
                "footprints": n,
                "note": "no price configured: the deployment profile(s) of these "
                "footprints give no price_per_kwh or tariff (with a currency); "
                "their cost is not known, not zero",
            }
        return {
            "service": service,
            "currency": currency,
            "energy_cost": cost,
            "price_source": _names(sources.get((service, currency), ())),
            "footprints": n,
            "note": "(IT x PUE x (1 + T&D) + attributed idle facility energy) x price",
        }

    for cur in sorted(per_currency, key=lambda c: (c is None, c or "")):
        m = per_currency[cur]
        out.append(row(ALL, cur, m["energy_cost"], m["footprints"]))
    out.extend(
        row(str(r["service"]), r["currency"], r["energy_cost"], r["footprints"])
        for r in sorted(
            rows, key=lambda r: (str(r["service"]), r["currency"] is None, r["currency"] or "")
        )
    )
    covered = sum(m["footprints"] for m in per_currency.values())
    missing = _uncovered(sl, covered)
    notes = [
        "Energy cost at the price of the deployment profile (price_per_kwh, or a "
        "time-of-use tariff by UTC hour) in its currency; amounts in different currencies "
        "are never added. Unattributed idle energy is not costed here. Price source: the "
        "'price' entry of the footprints' factor versions."
    ]
    if not any(c is not None for c in per_currency):
        notes.append(
            "No price is configured for any footprint of the period: no energy "
            "cost is reported (set price_per_kwh and currency in the deployment "
            "profiles)."
        )
    if missing > 0:
        notes.append(
            f"{missing} footprint(s) of the period record no energy cost (general "
            "layout: estimate path or older calculators) and are not in this table."
        )
    return Table(
        "energy_cost",
        "Energy cost (by currency and by service)",
        (
            Col("service", "Service"),
            Col("currency", "Currency"),
            Col("energy_cost", "Energy cost", "currency"),
            Col("price_source", "Price source"),
            Col("footprints", "Footprints"),
            Col("note", "Note"),
        ),
        tuple(out),
        notes=tuple(notes),
    )
