"""Publish the living benchmark: the open CSV and a Markdown page with the seed's sections.

Every section is computed: the cohort (workloads, hardware tiers, regional grids) from the
bundled presets and region table, the results from the footprint engine (modelled and
measured in separate tables, never mixed), per-outcome figures from the engine's per-outcome
and per-shift composition, the methodology, and the list of the seed's figures that disagree
with first principles (:func:`infercarbon.benchmark.checks.seed_checks`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from infercarbon.benchmark.checks import Check, edge_adder_checks, seed_checks
from infercarbon.benchmark.cohort import methodology
from infercarbon.benchmark.snapshot import benchmark_rows, rows_to_csv
from infercarbon.benchmark.submissions import SCHEMA, SubmissionStore
from infercarbon.errors import DataError
from infercarbon.reference import seed

__all__ = ["PAGE_SECTIONS", "Published", "measured_methodology", "publish", "render_page"]

#: The page's section headings, in order (a test pins that all are present).
PAGE_SECTIONS: tuple[str, ...] = (
    "Cohort: workloads",
    "Cohort: hardware tiers",
    "Cohort: regional grids",
    "Results: modelled (illustrative inputs)",
    "Results: measured (submissions)",
    "Per business outcome",
    "Methodology",
    "Where the seed disagrees with first principles",
    "Seed claims that check out",
    "How to contribute",
)
#: The grids the seed's results and per-outcome tables use.
_OUTCOME_GRIDS = ("France", "UK average", "US national average", "India average")


def measured_methodology() -> list[str]:
    return [
        "Measured rows: energy per inference as submitted (MLPerf Power, CodeCarbon >= 3.0 or "
        "infercarbon's meter; boundary as disclosed), label measured.",
        "Measured intensity: the energy-weighted mean of the submitted hourly intensity over "
        "the measurement window (weights: submitted hourly energy, else each hour's overlap "
        "with the window, i.e. constant power); its source as disclosed.",
        "Measured operational = energy x submitted PUE x mean intensity / 3.6e6 J/kWh; the "
        "submitter's embodied and training figures per inference are added only when "
        "disclosed (blank = not counted, never zero-filled).",
        "Modelled and measured rows are never averaged together: they are separate tables "
        "with separate labels.",
    ]


def _fmt(v: Any) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        if v == 0:
            return "0"
        return f"{v:.3g}" if 1e-3 <= abs(v) < 1e5 else f"{v:.2e}"
    return str(v).replace("|", "/")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(v) for v in r) + " |" for r in rows]
    return out


def _range(r: dict[str, Any]) -> str:
    lo, hi = r.get("total_location_low_g"), r.get("total_location_high_g")
    if lo is None or hi is None:
        return ""
    return f"{_fmt(lo)} .. {_fmt(hi)}"


def render_page(
    rows: Sequence[dict[str, Any]], checks: Sequence[Check], *, on: date, engine_version: str
) -> str:
    """The Markdown page for the benchmark rows (modelled + measured) and seed checks."""
    from infercarbon.reference.regions import resolve_region

    modelled = [r for r in rows if r["label"] == "modelled"]
    measured = [r for r in rows if r["label"] == "measured"]
    L: list[str] = [
        f"# infercarbon living benchmark ({on.isoformat()})",
        "",
        f"Computed by infercarbon {engine_version} from bundled, labelled inputs: "
        f"{len(modelled)} modelled rows (the seed cohort, illustrative energy figures) and "
        f"{len(measured)} measured rows (accepted submissions).  g = g CO2e per inference, "
        "location-based, unless stated.  The open CSV beside this page holds every row.",
        "",
        f"## {PAGE_SECTIONS[0]}",
        "",
    ]
    L += _table(
        (
            "id",
            "workload",
            "domain",
            "model class",
            "typical input",
            "latency budget (s)",
            "duty cycle",
            "rate (/s)",
            "outcome",
        ),
        [
            (
                w.workload_id,
                w.name,
                w.domain,
                w.model_class,
                w.typical_input,
                w.latency_budget_s,
                w.duty_cycle,
                w.rate_per_s,
                w.outcome,
            )
            for w in seed.workloads()
        ],
    )
    L += ["", f"## {PAGE_SECTIONS[1]}", ""]
    tier_rows = []
    for t in seed.tiers():
        lo, hi = t.active_power_w.range
        emb = t.embodied_kg
        tier_rows.append(
            (
                t.tier_id,
                t.device,
                f"{lo:g}-{hi:g}" if hi > lo else f"{lo:g}",
                t.idle_power_w.value,
                t.where,
                f"{t.pue_preset} ({t.pue.value:g})",
                t.operating_model,
                f"{emb.value:g} ({emb.label})" if emb is not None else "none published (excluded)",
            )
        )
    L += _table(
        (
            "tier",
            "device",
            "active power (W)",
            "idle (W)",
            "where",
            "PUE preset",
            "operating model",
            "embodied kg CO2e",
        ),
        tier_rows,
    )
    L += [
        "",
        f"## {PAGE_SECTIONS[2]}",
        "",
        "The seed's illustrative figure beside the bundled cited annual average that every "
        "result uses.",
        "",
    ]
    grid_rows = []
    for reg in seed.SEED_REGIONS:
        r = resolve_region(reg.region_query)
        f = r.intensity_g_per_kwh
        grid_rows.append(
            (
                reg.name,
                reg.illustrative_g_per_kwh,
                r.region_id,
                f.value,
                r.basis,
                f.vintage,
                f.source,
                reg.illustrative_g_per_kwh / f.value if f.value else None,
            )
        )
    L += _table(
        (
            "region",
            "seed (g/kWh, illustrative)",
            "region id",
            "bundled (g/kWh)",
            "basis",
            "vintage",
            "source",
            "seed / bundled",
        ),
        grid_rows,
    )
    L += [
        "",
        f"## {PAGE_SECTIONS[3]}",
        "",
        "Energy per inference is the seed's illustrative figure; every other number is "
        "composed by the engine.  Range = Monte Carlo p5 .. p95.",
        "",
    ]
    L += _table(
        (
            "workload",
            "tier",
            "region",
            "energy (J)",
            "g/kWh",
            "operational (g)",
            "idle 30/70 (g)",
            "embodied (g)",
            "network (g)",
            "total (g)",
            "range (g)",
        ),
        [
            (
                r["workload"],
                r["tier"],
                r["region"],
                r["energy_j"],
                r["intensity_g_per_kwh"],
                r["operational_location_g"],
                r["idle_30_70_g"],
                r["embodied_g"] if r["embodied_g"] is not None else "excluded",
                r["network_g"],
                r["total_location_g"],
                _range(r),
            )
            for r in modelled
        ],
    )
    L += ["", f"## {PAGE_SECTIONS[4]}", ""]
    if measured:
        L += _table(
            (
                "workload",
                "hardware",
                "tier",
                "region",
                "energy (J)",
                "method",
                "mean g/kWh (hourly, energy-weighted)",
                "PUE (source)",
                "operational (g)",
                "embodied (g)",
                "training (g)",
                "total (g)",
                "n",
                "window (UTC)",
                "submitter",
                "licence",
            ),
            [
                (
                    r["workload"],
                    r["hardware"],
                    r["tier"],
                    r["region"],
                    r["energy_j"],
                    r["energy_method"],
                    r["intensity_g_per_kwh"],
                    f"{_fmt(r['pue'])} ({r['pue_source']})",
                    r["operational_location_g"],
                    r["embodied_g"] if r["embodied_g"] is not None else "not counted",
                    r["training_g"] if r["training_g"] is not None else "not included",
                    r["total_location_g"],
                    r["n_inferences"],
                    f"{r['window_start_utc']} .. {r['window_end_utc']}",
                    r["submitter"],
                    r["licence"],
                )
                for r in measured
            ],
        )
    else:
        L += [
            "No measured submission has been accepted yet.  Submit one with "
            "`infercarbon benchmark submit FILE` (see How to contribute)."
        ]
    L += [
        "",
        f"## {PAGE_SECTIONS[5]}",
        "",
        "Per outcome = per-inference total / outcomes per inference; per shift = 8 h at the "
        "workload's duty cycle.  Modelled rows only (submissions carry no outcome rate).",
        "",
    ]
    L += _table(
        (
            "workload",
            "tier",
            "region",
            "outcome",
            "g per outcome",
            "g per shift",
            "g per inference",
        ),
        [
            (
                r["workload"],
                r["tier"],
                r["region"],
                r["outcome"] or "(no outcome rate)",
                r["per_outcome_g"],
                r["per_shift_g"],
                r["total_location_g"],
            )
            for r in modelled
            if r["region"] in _OUTCOME_GRIDS
        ],
    )
    L += ["", f"## {PAGE_SECTIONS[6]}", ""]
    L += [f"- {m}" for m in [*methodology(), *measured_methodology()]]
    dis = [c for c in checks if not c.agrees]
    agr = [c for c in checks if c.agrees]
    L += ["", f"## {PAGE_SECTIONS[7]} ({len(dis)})", ""]
    L += _table(
        ("topic", "claim", "seed", "computed", "unit", "derivation"),
        [(c.topic, c.claim, c.seed_value, c.computed_value, c.unit, c.derivation) for c in dis],
    )
    L += ["", f"## {PAGE_SECTIONS[8]} ({len(agr)})", ""]
    L += _table(
        ("topic", "claim", "seed", "computed", "unit"),
        [(c.topic, c.claim, c.seed_value, c.computed_value, c.unit) for c in agr],
    )
    L += [
        "",
        f"## {PAGE_SECTIONS[9]}",
        "",
        "Measure with MLPerf Inference Power, CodeCarbon >= 3.0 or infercarbon's meter; "
        "record the hourly grid intensity over the measurement window; disclose PUE "
        "(measured or vendor-published), the embodied amortisation method and whether "
        "training carbon is included.  Write one CSV row per measurement with the columns "
        "below (docs/benchmark_submissions.md) and run `infercarbon benchmark submit FILE`; "
        "ML.ENERGY and MLPerf Power result files convert with `infercarbon benchmark "
        "import`.",
        "",
    ]
    L += _table(
        ("column", "required", "unit", "meaning"),
        [(c.name, c.required, c.unit, c.description) for c in SCHEMA],
    )
    L.append("")
    return "\n".join(L)


@dataclass(frozen=True)
class Published:
    csv_path: Path
    markdown_path: Path
    modelled_rows: int
    measured_rows: int
    disagreements: int


def publish(
    out_dir: Path,
    *,
    on: date,
    engine_version: str,
    store: SubmissionStore | None = None,
    samples: int = 2_000,
    seed_: int = 0,
) -> Published:
    """Write ``benchmark.csv`` and ``benchmark.md`` to ``out_dir``."""
    from infercarbon.reference.regions import resolve_region

    rows = benchmark_rows(store, samples=samples, seed_=seed_)
    checks = seed_checks(lambda q: resolve_region(q).intensity_g_per_kwh.value)
    # an excluded embodied line adds nothing to the adders (as in the cohort's own figures)
    checks += edge_adder_checks(
        [{**r, "embodied_g": r["embodied_g"] or 0.0} for r in rows if r["label"] == "modelled"]
    )
    page = render_page(rows, checks, on=on, engine_version=engine_version)
    out = Path(out_dir)
    csv_path, md_path = out / "benchmark.csv", out / "benchmark.md"
    try:
        out.mkdir(parents=True, exist_ok=True)
        csv_path.write_text(rows_to_csv(rows), encoding="utf-8", newline="")
        md_path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write the benchmark to {out}: {exc}") from exc
    return Published(
        csv_path,
        md_path,
        sum(r["label"] == "modelled" for r in rows),
        sum(r["label"] == "measured" for r in rows),
        sum(not c.agrees for c in checks),
    )
