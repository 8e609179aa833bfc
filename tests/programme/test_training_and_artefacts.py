"""Training on the books, and the artefacts (plan, gaps, maturity, estimate, drivers) as pure
functions of hand-built ledger facts and an inventory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from infercarbon.ledger.schema import RUNS
from infercarbon.programme import (
    LedgerFacts,
    ServiceFacts,
    assess,
    first_cut_estimate,
    gap_analysis,
    hidden_drivers,
    load_inventory,
    make_run,
    maturity,
    measurement_plan,
    training_lines,
)

DATA = Path(__file__).parents[1] / "data" / "programme"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def run(
    status: str, start: datetime, g: float, kind: str = "train", **kw: Any
) -> dict[str, object]:
    return make_run(
        tenant="t",
        kind=kind,
        model="m",
        status=status,
        start_utc=start,
        end_utc=start + timedelta(hours=2),
        energy_j=g * 10_000.0,
        method="test",
        label="measured",
        source="test",
        emissions_g=g,
        gpu_hours=1.0,
        **kw,
    )


RUNS_T = pa.Table.from_pylist(
    [
        run("failed", T0, 100.0),
        run("succeeded", T0 + timedelta(hours=3), 300.0),
        run("succeeded", T0 + 30 * DAY, 200.0, kind="retrain"),
        run("succeeded", T0 + 31 * DAY, 50.0, kind="eval"),
    ],
    schema=RUNS.arrow_schema,
)
MODELS = {"m": (1000, 50.0, T0, T0 + 10 * DAY)}


def test_training_line_by_hand() -> None:
    (line,) = training_lines(RUNS_T, MODELS, as_of_utc=T0 + 60 * DAY)
    assert line["training_g"] == pytest.approx(600.0)  # the failed run counts; eval does not
    assert line["training_g_per_inference"] == pytest.approx(0.6)
    assert line["all_failed_share_frac"] == pytest.approx(0.25)
    assert line["training_failed_energy_share_frac"] == pytest.approx(100 / 600)
    assert line["original_g"] == pytest.approx(400.0)  # up to the first success
    assert line["trailing_year_g"] == pytest.approx(600.0)
    assert line["retraining_ratio"] == pytest.approx(1.5)
    assert line["cadence_days"] == pytest.approx(30 - 3 / 24)
    # 50 g over 10 days = 5 g/day; 600 g of training overtaken 120 days after the first event
    assert line["inference_g_per_day"] == pytest.approx(5.0)
    assert line["crossover_utc"] == "2026-05-01T00:00:00Z"


def facts(**kw: object) -> LedgerFacts:
    svc = ServiceFacts(
        "support-chat",
        events=100,
        measured_events=100,
        energy_j=3.6e6,
        emissions_g=400.0,
        models=("llama-3-8b",),
        regions=("DEU",),
        devices=("gpu0",),
        first_utc=T0 + 29 * DAY,
        last_utc=T0 + 59 * DAY,
        days_in_window=30,
    )
    base: dict[str, object] = {
        "as_of_utc": T0 + 60 * DAY,
        "runs": RUNS_T,
        "services": (svc,),
        "models": {"llama-3-8b": (100, 400.0, T0, T0 + 59 * DAY)},
    }
    base.update(kw)
    return LedgerFacts(**base)  # type: ignore[arg-type]


def test_a_system_without_telemetry_is_in_the_plan_and_the_gaps() -> None:
    f = facts()
    inv = load_inventory(DATA / "inventory.toml").with_ledger(f)
    assert [s.id for s in inv.systems] == ["support-chat", "fraud-scoring", "llm-pretrain"]
    cells = assess(inv, f)
    plan = measurement_plan(inv, cells)
    fraud = [r for r in plan["rows"] if r["system"] == "fraud-scoring"]
    assert {r["category"] for r in fraud} == {
        "training",
        "inference",
        "data_infrastructure",
        "embodied",
    }
    inf = next(r for r in fraud if r["category"] == "inference")
    assert inf["status_now"] == "modelled" and "no telemetry" in inf["evidence"]
    assert inf["ghg_boundary"].startswith("Scope 2")
    cloud = next(
        r for r in plan["rows"] if r["system"] == "llm-pretrain" and r["category"] == "training"
    )
    assert cloud["ghg_boundary"].startswith("Scope 3 Category 1")
    gaps = gap_analysis(cells)
    cats = gaps["categories"]
    assert set(cats) == {"training", "inference", "data_infrastructure", "embodied"}
    assert cats["inference"]["measured_share"] == 0.5  # support-chat measured, fraud modelled
    assert cats["inference"]["modelled_systems"] == ["fraud-scoring"]
    assert cats["training"]["measured_share"] == pytest.approx(1 / 3)  # llm-pretrain's runs
    for c in cats.values():
        assert c["measured_share"] + c["modelled_share"] + c["excluded_share"] == pytest.approx(1.0)
    assert gaps["weakest_category"] in ("data_infrastructure", "embodied")
    assert "fraud-scoring" in gaps["weakest_to_close"]


def test_maturity_levels_from_the_evidence() -> None:
    inv = load_inventory(DATA / "inventory.toml")
    f = facts()
    m = maturity(inv.with_ledger(f), f, [])
    assert m["level"] == 1  # measured, but no first-cut estimate recorded
    assert [c["met"] for c in m["criteria"] if c["level"] == 2] == [True, False]
    f2 = facts(
        estimate={"generated_utc": "2026-02-01T00:00:00Z", "systems": 3, "total_t_per_year": 1.0}
    )
    m2 = maturity(inv.with_ledger(f2), f2, [])
    assert m2["level"] == 2  # fraud-scoring has no telemetry: not Level 3
    lv3 = next(c for c in m2["criteria"] if c["level"] == 3)
    assert not lv3["met"] and "fraud-scoring" in lv3["evidence"]
    only_chat = load_inventory(DATA / "inventory.toml")
    from dataclasses import replace

    inv3 = replace(
        only_chat, systems=(only_chat.systems[0], replace(only_chat.systems[2], models=("m",)))
    )
    m3 = maturity(inv3, f2, [])
    assert m3["level"] == 4 and m3["criteria"][-1]["level"] == 5


def test_first_cut_estimate_and_measured_ratio() -> None:
    from infercarbon.reference.regions import resolve_region
    from infercarbon.reference.seed import PUE_PRESETS

    f = facts()
    inv = load_inventory(DATA / "inventory.toml")
    est = first_cut_estimate(inv, f, generated_utc=T0)
    chat = est["rows"][0]
    deu = resolve_region("DEU").intensity_g_per_kwh.value
    pue = PUE_PRESETS["colocation"].value
    want = 200_000 * 365 * 0.3 / 1000 * pue * 1.5 * deu
    assert chat["inference_g_per_year"] == pytest.approx(want)
    # 400 g over the 30 days the ledger covers, annualised, over the first cut
    assert chat["measured_over_first_cut"] == pytest.approx(400 / 30 * 365 / want)
    assert "factor of two" in est["warning"]
    assert est["systems_estimated"] == 3


def test_hidden_drivers_flag_outside_the_seed_range() -> None:
    f = facts(idle_share_of_active_frac=0.1, idle_footprints=5)
    d = {x["driver"]: x for x in hidden_drivers(f)}
    assert list(d) == [
        "idle_warm_pool",
        "data_movement",
        "failed_runs",
        "retraining_rate",
        "embodied_refresh",
    ]
    assert d["idle_warm_pool"]["outside_seed_range"] is True
    assert d["idle_warm_pool"]["label"] == "modelled"
    assert d["failed_runs"]["value"] == pytest.approx(100 / 600)
    assert d["failed_runs"]["outside_seed_range"] is None  # the seed quotes no figure
    assert d["retraining_rate"]["value"] == pytest.approx(1.5)
    assert d["embodied_refresh"]["value"] is None and "--fleet" in d["embodied_refresh"]["note"]
