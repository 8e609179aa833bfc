"""Methodology and assumptions: every factor with its source and vintage, read from the stored
inputs' provenance; calculators, engine and data versions; and the methods in words."""

from __future__ import annotations

import json
from typing import Any

from infercarbon.errors import DataError
from infercarbon.report.data import LedgerSlice
from infercarbon.report.scope2 import UNCERTAINTY_METHOD
from infercarbon.report.tables import Col, Table

__all__ = ["factors_table", "methods_table", "sources_table", "versions_table"]


def factors_table(sl: LedgerSlice) -> Table:
    out: list[dict[str, Any]] = []
    for r in sl.factors.to_pylist():
        path = str(r["path"]).removeprefix("$.")
        lo, hi = r["central_min"], r["central_max"]
        out.append(
            {
                "factor": path,
                "region": r["region"],
                "source": r["source"],
                "label": r["label"],
                "vintage": r["vintage"],
                "unit": r["unit"],
                "value_min": lo,
                "value_max": hi,
                "range_low": r["low_min"],
                "range_high": r["high_max"],
                "footprints": r["footprints"],
                "calculator": r["calculator"],
                "note": r["note"],
            }
        )
    return Table(
        "factors",
        "Factors and inputs used, with source and vintage",
        (
            Col("factor", "Factor / input"),
            Col("region", "Region"),
            Col("source", "Source"),
            Col("label", "Label"),
            Col("vintage", "Vintage / version"),
            Col("unit", "Unit"),
            Col("value_min", "Central value (min)"),
            Col("value_max", "Central value (max)"),
            Col("range_low", "Range low (p5 or bound)"),
            Col("range_high", "Range high"),
            Col("footprints", "Footprints"),
            Col("calculator", "Calculator"),
            Col("note", "Note"),
        ),
        tuple(out),
        notes=(
            "Read from the inputs stored with each footprint in the period (every input "
            "that carries a source). Per-inference inputs such as energy show the span of "
            "their values; a factor shows one value unless it varied. Labels: measured, "
            "modelled, cited, illustrative (a seed document's example figure, not a "
            "measurement), derived, user, configured.",
        ),
    )


def versions_table(sl: LedgerSlice) -> Table:
    out: list[dict[str, Any]] = []
    merged: dict[tuple[str, str, str], int] = {}
    for r in sl.versions.to_pylist():
        try:
            fv = json.loads(r["factor_versions_json"])
        except json.JSONDecodeError as exc:
            raise DataError(f"stored factor versions are not JSON: {exc}") from exc
        for k, v in fv.items():
            key = (r["calculator"], str(k), str(v))
            merged[key] = merged.get(key, 0) + r["footprints"]
    for (calc, k, v), n in sorted(merged.items()):
        out.append({"calculator": calc, "item": k, "version": v, "footprints": n})
    return Table(
        "versions",
        "Calculators, engine and data versions",
        (
            Col("calculator", "Calculator"),
            Col("item", "Factor / data"),
            Col("version", "Version / source"),
            Col("footprints", "Footprints"),
        ),
        tuple(out),
        notes=(
            "Each footprint stores the versions of the factors and data it used "
            "and a SHA-256 of its inputs; `infercarbon audit verify` recomputes "
            "every stored figure from them.",
        ),
    )


def sources_table(sl: LedgerSlice) -> Table:
    out = [
        {
            "line_item": r["name"],
            "scope": r["scope"],
            "basis": r["basis"],
            "label": r["label"],
            "source": r["source"],
            "footprints": r["footprints"],
        }
        for r in sl.labels.to_pylist()
        if not str(r["label"]).startswith("excluded")
    ]
    return Table(
        "line_item_sources",
        "Line items: how each was obtained",
        (
            Col("line_item", "Line item"),
            Col("scope", "Scope tag"),
            Col("basis", "Basis"),
            Col("label", "Label"),
            Col("source", "Source"),
            Col("footprints", "Footprints"),
        ),
        tuple(out),
    )


METHODS: tuple[tuple[str, str], ...] = (
    (
        "boundary",
        "The electricity of AI inference recorded in the ledger (metered or "
        "attributed per inference) and, where the footprint calculator includes them, its value "
        "chain: embodied hardware, training of the model, network transfer. Scope 1 is outside "
        "the boundary.",
    ),
    (
        "period membership",
        "An inference belongs to the period in which it started "
        "(start_utc in [start, end), UTC). Corrected events and superseded footprints are "
        "replaced by their corrections.",
    ),
    (
        "scopes",
        "Each stored line item carries its GHG Protocol scope, set by the operating "
        "model of the inference: owned devices -> Scope 2 (electricity), Scope 3 cat. 2 "
        "(embodied); purchased cloud compute -> Scope 3 cat. 1; inference in sold products -> "
        "Scope 3 cat. 11. The report sums line items by that tag.",
    ),
    (
        "dual reporting",
        "Scope 2 is reported location-based and market-based side by side "
        "(GHG Protocol Scope 2 Guidance, 2015). The market-based figure uses contractual "
        "instruments or supplier factors where given; without them the location-based grid "
        "factor is used, labelled as a fallback, and its share is stated.",
    ),
    (
        "marginal",
        "Consequential (marginal) emissions are a memo item, not part of inventory totals.",
    ),
    ("uncertainty", UNCERTAINTY_METHOD),
    (
        "intensity per outcome",
        "Emissions of all the service's inferences with a stored "
        "footprint divided by the count of each outcome value (not allocated between outcome "
        "values).",
    ),
    (
        "units",
        "Energy in MWh (1 MWh = 3.6e9 J), emissions in tCO2e (1 t = 1e6 g), intensity "
        "in gCO2e. Figures are unrounded in CSV and JSON; the HTML shows 4 significant digits.",
    ),
    (
        "audit",
        "Every footprint is stored with its inputs, factor versions and the SHA-256 of "
        "both; `infercarbon audit verify` recomputes each stored figure and `infercarbon audit "
        "show ID` prints its derivation.",
    ),
)


def methods_table() -> Table:
    return Table(
        "methods",
        "Methods",
        (Col("topic", "Topic"), Col("method", "Method")),
        tuple({"topic": t, "method": m} for t, m in METHODS),
    )
