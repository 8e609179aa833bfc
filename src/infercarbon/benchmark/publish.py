"""Render the benchmark: CSV rows, JSON, and a Markdown page with a methodology block."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from infercarbon.benchmark.checks import Check

__all__ = ["COLUMNS", "to_csv", "to_json", "to_markdown"]

#: CSV/Markdown columns, in order.  Units in the names; g = g CO2e per inference.
COLUMNS: tuple[str, ...] = (
    "workload",
    "tier",
    "region",
    "region_id",
    "intensity_g_per_kwh",
    "energy_j",
    "operational_it_g",
    "pue",
    "pue_adder_g",
    "idle_tenancy_g",
    "idle_30_70_g",
    "embodied_g",
    "network_g",
    "total_location_g",
    "total_location_low_g",
    "total_location_high_g",
    "per_outcome_g",
    "outcome",
    "per_shift_g",
)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in COLUMNS})
    return buf.getvalue()


def to_json(
    rows: Sequence[dict[str, Any]], checks: Sequence[Check], methodology: Sequence[str]
) -> dict[str, Any]:
    return {
        "columns": list(COLUMNS),
        "rows": [{k: r.get(k) for k in COLUMNS} for r in rows],
        "methodology": list(methodology),
        "disagreements": [c.to_dict() for c in checks if not c.agrees],
        "agreements": [c.to_dict() for c in checks if c.agrees],
    }


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v == 0:
            return "0"
        return f"{v:.3g}" if 1e-3 <= abs(v) < 1e5 else f"{v:.2e}"
    return str(v)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(v) for v in r) + " |" for r in rows]
    return out


def to_markdown(
    rows: Sequence[dict[str, Any]],
    checks: Sequence[Check],
    methodology: Sequence[str],
    *,
    title: str = "infercarbon benchmark",
) -> str:
    lines = [
        f"# {title}",
        "",
        "g CO2e per inference unless stated; location-based; every figure computed by the "
        "infercarbon engine from bundled, labelled inputs.",
        "",
        "## Results",
        "",
    ]
    lines += _table(COLUMNS, [[r.get(k) for k in COLUMNS] for r in rows])
    dis = [c for c in checks if not c.agrees]
    lines += ["", f"## Where the seed disagrees with first principles ({len(dis)})", ""]
    lines += _table(
        ("topic", "claim", "seed", "computed", "unit", "derivation"),
        [(c.topic, c.claim, c.seed_value, c.computed_value, c.unit, c.derivation) for c in dis],
    )
    agr = [c for c in checks if c.agrees]
    lines += ["", f"## Seed claims that check out ({len(agr)})", ""]
    lines += _table(
        ("topic", "claim", "seed", "computed", "unit"),
        [(c.topic, c.claim, c.seed_value, c.computed_value, c.unit) for c in agr],
    )
    lines += ["", "## Methodology", ""] + [f"- {m}" for m in methodology] + [""]
    return "\n".join(lines)
