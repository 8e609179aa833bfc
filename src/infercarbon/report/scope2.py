"""Energy, GHG Protocol Scope 2 dual reporting, Scope 3 categories and the consequential memo.

Every figure is a sum of stored line items, chosen by the ``scope`` tag each line item carries
(``scope2_location``, ``scope2_market``, ``scope3_cat1``, ``scope3_cat2``, ``scope3_cat11``,
``memo_consequential``).  Location-based and market-based figures are summed separately and
shown side by side; neither is ever used in place of the other.  A market-based line that the
calculator computed with the location-based factor (no contractual instrument) keeps its
``fallback: location-based`` label and the share of such lines is stated.

Ranges (see :data:`UNCERTAINTY_METHOD`): one p5..p95 per figure, ``low_t``..``high_t``, the
aggregate range of :data:`~infercarbon.ledger.rollup.AGGREGATE_RANGE_METHOD` computed in SQL
(:attr:`LedgerSlice.ranges <infercarbon.report.data.LedgerSlice>`): the energy band of each
inference independent from inference to inference, the shared factors (grid, PUE, profile
figures) correlated among the footprints priced alike.  Every table with a range says so in a
note (:data:`RANGE_NOTE`).  The central values are the sums of the stored line items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infercarbon.ledger.rollup import AGGREGATE_RANGE_METHOD
from infercarbon.report.data import LedgerSlice
from infercarbon.report.tables import Col, Table, mwh, tonnes
from infercarbon.telemetry.base import ENERGY_BANDS

__all__ = [
    "PER_EVENT_METHOD",
    "RANGE_NOTE",
    "SCOPE3_CATEGORIES",
    "SCOPE3_CONTENTS",
    "UNCERTAINTY_METHOD",
    "Ranges",
    "Sum",
    "energy_table",
    "exclusions_table",
    "market_instruments_table",
    "memo_table",
    "reconciliation_table",
    "scope2_table",
    "scope3_table",
    "scope_sums",
]


def _bands() -> str:
    return "; ".join(
        f"class {b.accuracy_class} {b.method} x{b.low_frac:g}..x{b.high_frac:g}"
        for b in ENERGY_BANDS.values()
    )


#: How each footprint's p5..p95 is formed (infercarbon.accounting.events).
PER_EVENT_METHOD = (
    "Per footprint: first-order propagation. Every factor has a p5..p95 band: the event's "
    "energy (its own energy_low_j..energy_high_j where the sender gives one, e.g. the CPU "
    "model's per-figure range, else the band of its attribution method's accuracy class: "
    + _bands()
    + "; sources in infercarbon.telemetry.base.ENERGY_BANDS), the grid signal's "
    "low..high, the PUE and T&D-loss band, and the deployment profile's figures (idle power, "
    "utilisation, embodied kg, lifetime, network kWh/GB). A line is a product of factors: its "
    "relative deviation on each side is the root sum of squares of the factors' relative "
    "deviations, low = g x (1 - d_down) floored at 0, high = g x (1 + d_up); in a footprint's "
    "total a factor shared by several lines (PUE, intensity) is added line by line before "
    "the root sum of squares."
)

#: How every aggregate range in the report is formed.
UNCERTAINTY_METHOD = (
    PER_EVENT_METHOD
    + " Aggregates (low_t..high_t): "
    + AGGREGATE_RANGE_METHOD
    + " Footprints stored in the general layout or by older calculators "
    "record no split: their whole deviation is treated as shared by every "
    "footprint of their calculator (their p5/p95 add up)."
)

#: The correlation assumption, stated beside every table with a range.
RANGE_NOTE = (
    "Low/High: p5..p95 of the sum, not sums of per-footprint p5/p95. Assumed: energy "
    "measurement errors independent from inference to inference (they partly cancel); grid "
    "factor, PUE, T&D losses, idle power, utilisation, embodied carbon and network "
    "coefficient fully correlated among inferences priced by the same deployment profile, "
    "region and signal sources, and independent between such groups (footprints of the "
    "general layout or older calculators: correlated within their calculator). See methods: "
    "uncertainty."
)

SCOPE3_CATEGORIES: dict[str, str] = {
    "scope3_cat1": "Cat. 1 Purchased goods and services",
    "scope3_cat2": "Cat. 2 Capital goods",
    "scope3_cat11": "Cat. 11 Use of sold products",
}
#: What each category holds in the inference boundary.
SCOPE3_CONTENTS: dict[str, str] = {
    "scope3_cat1": "purchased cloud compute, embodied carbon of cloud hardware, training of "
    "purchased models, network transfer",
    "scope3_cat2": "embodied carbon of owned inference hardware",
    "scope3_cat11": "electricity of inference run by sold products (and their network use)",
}

ITEM_DESCRIPTIONS: dict[str, str] = {
    "operational_location": "electricity of inference (location-based factor)",
    "operational_market": "electricity of inference (market-based factor)",
    "operational_marginal": "electricity of inference (marginal factor)",
    "idle_location": "attributed idle electricity (location-based factor)",
    "idle_market": "attributed idle electricity (market-based factor)",
    "idle_marginal": "attributed idle electricity (marginal factor)",
    "embodied": "embodied carbon of the hardware, amortised",
    "training": "training of the model, amortised over its served inferences",
    "network": "network transfer of the payload",
}

Row = Mapping[str, Any]
_RANGE_COLS = (
    Col("value_t", "Emissions", "tCO2e"),
    Col("low_t", "Low (p5)", "tCO2e"),
    Col("high_t", "High (p95)", "tCO2e"),
)


class Ranges:
    """The aggregate p5..p95 of the report lines of a slice (``LedgerSlice.ranges``), by
    (scope, bases, name): ``bases`` ``all``/``location``/``market``, ``name`` ``*`` for every
    line item of the scope; ``scope`` ``scope3`` for all Scope 3 categories."""

    def __init__(self, sl: LedgerSlice) -> None:
        t = sl.ranges
        cols = [
            t.column(c).to_pylist()
            for c in ("scope", "bases", "name", "value_g", "low_g", "high_g")
        ]
        self._by = {(a, b, c): (v, lo, hi) for a, b, c, v, lo, hi in zip(*cols, strict=True)}

    def get(
        self, scope: str, bases: str = "all", name: str = "*"
    ) -> tuple[float, float, float] | None:
        """(value_g, low_g, high_g) of a line, None when no item is in it."""
        return self._by.get((scope, bases, name))


@dataclass
class Sum:
    """A running sum of grouped line-item rows [g] (central value, energy, footprints)."""

    g: float = 0.0
    energy_j: float = 0.0
    per_name: dict[str, int] = field(default_factory=dict)

    def add(self, r: Row) -> None:
        self.g += r["emissions_g"]
        self.energy_j += r["energy_j"] or 0.0
        self.per_name[r["name"]] = self.per_name.get(r["name"], 0) + r["footprints"]

    @property
    def footprints(self) -> int:
        """Footprints contributing (each footprint has each line item once)."""
        return max(self.per_name.values(), default=0)

    @property
    def empty(self) -> bool:
        return not self.per_name

    def range_row(self, rng: tuple[float, float, float] | None) -> dict[str, Any]:
        """value/low/high in t, or Nones when nothing contributed.  ``rng``: the line's
        aggregate (value_g, low_g, high_g); its half-widths are put around this central
        value (the same sum of the same items, up to the order of addition)."""
        if self.empty:
            return {c.key: None for c in _RANGE_COLS}
        if rng is None:
            return {"value_t": tonnes(self.g), "low_t": None, "high_t": None}
        v, lo, hi = rng
        return {
            "value_t": tonnes(self.g),
            "low_t": tonnes(max(self.g - (v - lo), 0.0)),
            "high_t": tonnes(self.g + (hi - v)),
        }


def summed(rows: Iterable[Row], pred: Callable[[Row], bool]) -> Sum:
    s = Sum()
    for r in rows:
        if pred(r):
            s.add(r)
    return s


def counted(r: Row) -> bool:
    """A line item that is part of a total (not excluded, not a memo item)."""
    return bool(r["in_total"]) and not r["excluded"]


def in_scope(
    scope: str, bases: Sequence[str] | None = None, name: str | None = None
) -> Callable[[Row], bool]:
    """Counted line items of ``scope`` (of ``bases``, named ``name``)."""

    def pred(r: Row) -> bool:
        return (
            counted(r)
            and r["scope"] == scope
            and (bases is None or r["basis"] in bases)
            and (name is None or r["name"] == name)
        )

    return pred


def _named(name: str, scope: str) -> Callable[[Row], bool]:
    """Line items ``name`` of ``scope`` that are not excluded (memo items too)."""

    def pred(r: Row) -> bool:
        return bool(r["name"] == name and r["scope"] == scope and not r["excluded"])

    return pred


LOCATION_BASES = ("location", "both")
MARKET_BASES = ("market", "both")


def scope_sums(rows: Sequence[Row]) -> dict[str, Sum]:
    """The headline sums: scope2 location/market, scope3 location-/market-basis, totals."""
    s2l = summed(rows, in_scope("scope2_location"))
    s2m = summed(rows, in_scope("scope2_market"))

    def s3(bases: Sequence[str]) -> Sum:
        return summed(
            rows,
            lambda r: counted(r) and str(r["scope"]).startswith("scope3") and r["basis"] in bases,
        )

    def total(bases: Sequence[str], s2: str) -> Sum:
        return summed(
            rows,
            lambda r: (
                counted(r)
                and (
                    r["scope"] == s2
                    or (str(r["scope"]).startswith("scope3") and r["basis"] in bases)
                )
            ),
        )

    return {
        "scope2_location": s2l,
        "scope2_market": s2m,
        "scope3_location": s3(LOCATION_BASES),
        "scope3_market": s3(MARKET_BASES),
        "total_location": total(LOCATION_BASES, "scope2_location"),
        "total_market": total(MARKET_BASES, "scope2_market"),
    }


def _is_fallback(label: object) -> bool:
    """Whether a line item's label records the location-based fallback: the whole label (an
    estimate's ``fallback: location-based``) or one of its parts (ingest writes the energy's
    label first: ``modelled; fallback: location-based intensity``)."""
    return any(part.strip().startswith("fallback") for part in str(label).split(";"))


def _fallback_share(sl: LedgerSlice, scope: str) -> tuple[float | None, int]:
    labels = [
        r
        for r in sl.labels.to_pylist()
        if r["scope"] == scope
        and r["name"] == "operational_market"
        and r["in_total"]
        and not str(r["label"]).startswith("excluded")
    ]
    tot = sum(r["emissions_g"] for r in labels)
    fb = [r for r in labels if _is_fallback(r["label"])]
    n = sum(r["footprints"] for r in fb)
    if tot <= 0:
        return (None if not labels else (1.0 if fb else 0.0)), n
    return sum(r["emissions_g"] for r in fb) / tot, n


def energy_table(sl: LedgerSlice) -> Table:
    ev = sl.events.to_pylist()
    rows = sl.items.to_pylist()
    n = sum(r["events"] for r in ev)
    with_fp = sum(r["footprints"] for r in ev)
    it_j = sum(r["energy_j"] for r in ev)
    out: list[dict[str, Any]] = [
        {
            "quantity": "inferences in period",
            "value": n,
            "unit": "count",
            "note": "events whose start_utc lies in the period (corrected events replaced)",
        },
        {
            "quantity": "inferences with a stored footprint",
            "value": with_fp,
            "unit": "count",
            "note": "all emissions below are sums over these"
            + (
                ""
                if with_fp == n
                else f"; {n - with_fp} inference(s) have no stored footprint "
                "and are NOT included in any emissions figure"
            ),
        },
        {
            "quantity": "IT energy of inferences (as recorded on the events)",
            "value": mwh(it_j),
            "unit": "MWh",
            "note": "device energy attributed to each inference (see attribution methods in "
            "the inventory)",
        },
    ]
    boundary = {
        "scope2_location": "own operations (Scope 2)",
        "scope3_cat1": "purchased cloud compute (Scope 3 cat. 1)",
        "scope3_cat11": "use of sold products (Scope 3 cat. 11)",
    }
    for scope, what in boundary.items():
        op = summed(rows, _named("operational_location", scope))
        idle = summed(rows, _named("idle_location", scope))
        if op.empty and idle.empty:
            continue
        out.append(
            {
                "quantity": f"facility energy of inference, {what}",
                "value": mwh(op.energy_j),
                "unit": "MWh",
                "note": f"IT energy x PUE x (1 + T&D loss where set), as used for the "
                f"emissions; {op.footprints} footprint(s)",
            }
        )
        if not idle.empty:
            out.append(
                {
                    "quantity": f"attributed idle energy, {what}",
                    "value": mwh(idle.energy_j),
                    "unit": "MWh",
                    "note": "device-level idle energy attributed by the idle policy "
                    "(its emissions include PUE)",
                }
            )
    net = summed(rows, lambda r: r["name"] == "network" and not r["excluded"])
    if not net.empty:
        out.append(
            {
                "quantity": "network transfer energy (value chain)",
                "value": mwh(net.energy_j),
                "unit": "MWh",
                "note": "payload GB x network kWh/GB; not the reporter's own consumption",
            }
        )
    return Table(
        "energy",
        "Energy and inference counts",
        (
            Col("quantity", "Quantity"),
            Col("value", "Value"),
            Col("unit", "Unit"),
            Col("note", "Note"),
        ),
        tuple(out),
    )


def scope2_table(sl: LedgerSlice) -> Table:
    rows = sl.items.to_pylist()
    sums = scope_sums(rows)
    rng = Ranges(sl)
    share, nfb = _fallback_share(sl, "scope2_market")
    out = []
    for key, method, note in (
        (
            "scope2_location",
            "location-based",
            "grid-average emission factors of the regions where inference ran",
        ),
        (
            "scope2_market",
            "market-based",
            "contractual instruments / supplier factors where given; "
            + (
                "no market-based line items"
                if share is None
                else f"{share:.1%} of the operational market-based emissions "
                f"({nfb} footprint(s)) used "
                "the location-based factor as a labelled fallback (no instrument or residual mix "
                "available); see the instruments table"
            ),
        ),
    ):
        s = sums[key]
        out.append(
            {
                "method": method,
                **s.range_row(rng.get(key)),
                "footprints": s.footprints,
                "note": note
                if not s.empty
                else "none: no inference in the period ran on devices whose electricity the "
                "reporter buys (all compute is purchased or sold; see Scope 3)",
            }
        )
    return Table(
        "scope2",
        "Scope 2 (GHG Protocol dual reporting)",
        (
            Col("method", "Method"),
            *_RANGE_COLS,
            Col("footprints", "Footprints"),
            Col("note", "Note"),
        ),
        tuple(out),
        notes=(
            "Location-based and market-based figures are computed and reported separately; "
            "neither is substituted for the other.",
            RANGE_NOTE,
            _provisional_note(sl),
        ),
    )


def _provisional_note(sl: LedgerSlice) -> str:
    """Which figures rest on grid intervals that are not final yet (forecast or
    provisional): they are re-priced, superseding, when the final figures arrive."""
    counts = {"provisional": 0, "forecast": 0}
    total = 0
    for r in sl.labels.to_pylist():
        if r["name"] != "operational_location" or str(r["label"]).startswith("excluded"):
            continue
        total += int(r["footprints"])
        for status in counts:
            if f"({status})" in str(r["source"]):
                counts[status] += int(r["footprints"])
    if not counts["provisional"] and not counts["forecast"]:
        return (
            "Provisional figures: none; every footprint in the period was priced with "
            "final grid intervals or annual figures."
        )
    return (
        f"Provisional figures: {counts['provisional']} of {total} footprint(s) were priced "
        f"with provisional and {counts['forecast']} with forecast grid intervals; they are "
        "re-priced (a new footprint supersedes each) when the final intervals are stored "
        "(infercarbon grid update, or serve --refresh)."
    )


def market_instruments_table(sl: LedgerSlice) -> Table:
    labels = [
        r
        for r in sl.labels.to_pylist()
        if r["name"] == "operational_market" and not str(r["label"]).startswith("excluded")
    ]
    tot: dict[str, float] = {}
    for r in labels:
        tot[r["scope"]] = tot.get(r["scope"], 0.0) + r["emissions_g"]
    out = []
    for r in sorted(labels, key=lambda r: (r["scope"], -r["emissions_g"])):
        src = str(r["source"])
        instrument = src.split("intensity:", 1)[1].strip() if "intensity:" in src else src
        fb = _is_fallback(r["label"])
        t = tot[r["scope"]]
        out.append(
            {
                "scope": r["scope"],
                "line_item": r["name"],
                "instrument": instrument,
                "label": r["label"],
                "fallback": fb,
                "value_t": tonnes(r["emissions_g"]),
                "share_frac": (r["emissions_g"] / t) if t > 0 else None,
                "footprints": r["footprints"],
            }
        )
    return Table(
        "market_instruments",
        "Market-based figure: instruments and fallbacks used",
        (
            Col("scope", "Scope"),
            Col("line_item", "Line item"),
            Col("instrument", "Instrument / factor source"),
            Col("label", "Label"),
            Col("fallback", "Fallback"),
            Col("value_t", "Emissions", "tCO2e"),
            Col("share_frac", "Share of the scope's operational market figure", "frac"),
            Col("footprints", "Line items"),
        ),
        tuple(out),
        notes=(
            "Lists the factor of each operational market-based line. An idle market-based "
            "line uses the same factor as the operational line of its footprint.",
            "A fallback line used the location-based grid factor because no contractual "
            "instrument, supplier factor or residual mix was given (GHG Protocol Scope 2 "
            "Guidance, market-based hierarchy); it is labelled, never silent.",
        ),
    )


def scope3_table(sl: LedgerSlice) -> Table:
    rows = sl.items.to_pylist()
    rng = Ranges(sl)
    out: list[dict[str, Any]] = []
    scopes = sorted(
        {r["scope"] for r in rows if str(r["scope"]).startswith("scope3")},
        key=lambda s: (
            int(s.removeprefix("scope3_cat")) if s.removeprefix("scope3_cat").isdigit() else 99
        ),
    )
    for scope in scopes:
        order = list(ITEM_DESCRIPTIONS)
        names = sorted(
            {r["name"] for r in rows if r["scope"] == scope and counted(r)},
            key=lambda n: (order.index(n) if n in order else len(order), n),
        )
        loc_all = summed(rows, in_scope(scope, LOCATION_BASES))
        mkt_all = summed(rows, in_scope(scope, MARKET_BASES))
        if loc_all.empty and mkt_all.empty:
            continue
        cat = SCOPE3_CATEGORIES.get(scope, scope)
        for name in names:
            loc = summed(rows, in_scope(scope, LOCATION_BASES, name))
            mkt = summed(rows, in_scope(scope, MARKET_BASES, name))
            out.append(_s3row(scope, cat, name, ITEM_DESCRIPTIONS.get(name, name), loc, mkt, rng))
        out.append(
            _s3row(
                scope,
                cat,
                "subtotal",
                f"subtotal: {SCOPE3_CONTENTS.get(scope, scope)}",
                loc_all,
                mkt_all,
                rng,
            )
        )
    return Table(
        "scope3",
        "Scope 3 categories (buyer: cat. 1-2; vendor: cat. 11)",
        (
            Col("scope", "Scope tag"),
            Col("category", "Category"),
            Col("line_item", "Line item"),
            Col("description", "Description"),
            Col("location_basis_t", "Location basis", "tCO2e"),
            Col("location_low_t", "Low", "tCO2e"),
            Col("location_high_t", "High", "tCO2e"),
            Col("market_basis_t", "Market basis", "tCO2e"),
            Col("market_low_t", "Low", "tCO2e"),
            Col("market_high_t", "High", "tCO2e"),
            Col("footprints", "Footprints"),
        ),
        tuple(out),
        notes=(
            "Electricity in purchased compute (cat. 1) or sold products (cat. 11) is "
            "reported on both bases; embodied, training and network lines have one figure, "
            "shown in both columns; a subtotal's range is the range of its sum (not the sum "
            "of the line items' ranges).",
            RANGE_NOTE,
        )
        if out
        else ("No Scope 3 line items in the period.",),
    )


def _s3row(
    scope: str, cat: str, name: str, desc: str, loc: Sum, mkt: Sum, rng: Ranges
) -> dict[str, Any]:
    n = "*" if name == "subtotal" else name
    lr = loc.range_row(rng.get(scope, "location", n))
    mr = mkt.range_row(rng.get(scope, "market", n))
    return {
        "scope": scope,
        "category": cat,
        "line_item": name,
        "description": desc,
        "location_basis_t": lr["value_t"],
        "location_low_t": lr["low_t"],
        "location_high_t": lr["high_t"],
        "market_basis_t": mr["value_t"],
        "market_low_t": mr["low_t"],
        "market_high_t": mr["high_t"],
        "footprints": max(loc.footprints, mkt.footprints),
    }


def memo_table(sl: LedgerSlice) -> Table:
    rows = sl.items.to_pylist()
    memo = summed(rows, lambda r: r["scope"] == "memo_consequential" and not r["excluded"])
    excl = sum(
        r["footprints"]
        for r in rows
        if r["scope"] == "memo_consequential"
        and r["excluded"]
        and str(r["name"]).startswith("operational")
    )
    rng = Ranges(sl).get("memo_consequential")
    out = [
        {
            "item": "consequential (marginal) emissions",
            **memo.range_row(rng),
            "footprints": memo.footprints,
            "note": (
                f"{excl} footprint(s) had no marginal signal and are not in this figure"
                if excl
                else "every footprint had a marginal signal"
            )
            if not memo.empty
            else "no footprint in the period had a marginal signal",
        }
    ]
    return Table(
        "memo_consequential",
        "Memo: consequential (marginal) emissions",
        (Col("item", "Item"), *_RANGE_COLS, Col("footprints", "Footprints"), Col("note", "Note")),
        tuple(out),
        notes=(
            "A memo item for decisions (what an added or avoided inference changes on the "
            "grid); it is not part of the Scope 2 inventory totals.",
            RANGE_NOTE,
        ),
    )


def exclusions_table(sl: LedgerSlice) -> Table:
    labels = [r for r in sl.labels.to_pylist() if str(r["label"]).startswith("excluded")]
    out = [
        {
            "line_item": r["name"],
            "scope": r["scope"],
            "reason": str(r["label"]).removeprefix("excluded:").strip(),
            "footprints": r["footprints"],
        }
        for r in labels
    ]
    return Table(
        "exclusions",
        "Line items excluded, and why",
        (
            Col("line_item", "Line item"),
            Col("scope", "Scope tag"),
            Col("reason", "Reason"),
            Col("footprints", "Footprints"),
        ),
        tuple(out),
        notes=(
            "An excluded line is not counted as zero: it is not known, and the "
            "figures above do not include it.",
        ),
    )


def reconciliation_table(sl: LedgerSlice) -> Table:
    rows = sl.items.to_pylist()
    sums = scope_sums(rows)
    stored = {r["basis"]: r for r in sl.totals.to_pylist()}
    out = []
    for basis in ("location", "market"):
        s = sums[f"total_{basis}"]
        st = stored.get(basis)
        st_t = tonnes(st["value_g"]) if st else None
        lines_t = tonnes(s.g) if not s.empty else None
        out.append(
            {
                "basis": basis,
                "stored_totals_t": st_t,
                "scope_lines_t": lines_t,
                "difference_t": (None if st_t is None or lines_t is None else lines_t - st_t),
                "footprints": st["footprints"] if st else 0,
            }
        )
    return Table(
        "reconciliation",
        "Reconciliation: scope lines vs stored per-footprint totals",
        (
            Col("basis", "Basis"),
            Col("stored_totals_t", "Sum of stored totals", "tCO2e"),
            Col("scope_lines_t", "Scope 2 + Scope 3 lines", "tCO2e"),
            Col("difference_t", "Difference", "tCO2e"),
            Col("footprints", "Footprints"),
        ),
        tuple(out),
        notes=(
            "Each stored footprint has a total per basis; the sum of the Scope 2 and Scope 3 "
            "lines of that basis must equal the sum of those totals (up to rounding).",
        ),
    )
