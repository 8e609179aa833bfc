"""`infercarbon recommend`: options sorted by g per inference, all within the budget; the
rejected ones carry the reason; the figures are the estimate engine's."""

from __future__ import annotations

import json

import pytest

from infercarbon.cli.main import main
from infercarbon.decisions.recommend import batch_energy_factor, recommend

KEYS = {"tier", "region", "batch_size", "latency_s", "g_per_inference", "low_g", "high_g"}


def test_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "recommend",
            "--workload",
            "WL-02",
            "--latency-budget-s",
            "0.08",
            "--rate-per-s",
            "5",
            "--regions",
            "GB,FR,PL",
            "--json",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    d = json.loads(out.out)
    opts, rej = d["options"], d["rejected"]
    assert opts, "some option meets the budget"
    g = [o["g_per_inference"] for o in opts]
    assert g == sorted(g)
    for o in opts:
        assert set(o) >= KEYS
        assert o["latency_s"] <= 0.08
        assert o["low_g"] <= o["g_per_inference"] <= o["high_g"]
        assert 0 <= o["embodied_share_frac"] <= 1 and 0 <= o["idle_share_frac"] <= 1
        assert o["g_per_outcome"] == pytest.approx(o["g_per_inference"] * 1500)
        assert "crossover_utilisation_frac" in o and "advice" in o
    assert {o["region"] for o in opts} == {"GB", "FR", "PL"}
    for r in rej:
        assert (KEYS | {"reason"}) <= set(r)
    reasons = {(r["tier"], r["batch_size"]): r["reason"] for r in rej}
    assert reasons[("T0", 1)].startswith("no energy figure for WL-02 on T0")
    assert "exceeds the budget" in reasons[("T1", 1)]  # 1.8 J / 11 W = 0.164 s
    assert "batch fill" in reasons[("T4", 2)]


def test_matches_estimate_at_batch_one(capsys: pytest.CaptureFixture[str]) -> None:
    d = recommend(
        regions=["GB"],
        latency_budget_s=1.0,
        rate_per_s=5,
        workload="WL-02",
        tiers=["T2"],
        batch_sizes=[1],
        samples=500,
    )
    o = d["options"][0]
    code = main(
        [
            "estimate",
            "--workload",
            "WL-02",
            "--tier",
            "T2",
            "--region",
            "GB",
            "--samples",
            "500",
            "--json",
        ]
    )
    e = json.loads(capsys.readouterr().out)
    assert code == 0
    assert o["g_per_inference"] == pytest.approx(e["total_location_g"], rel=1e-9)


def test_llm_path_models_batching() -> None:
    d = recommend(
        regions=["FR"],
        latency_budget_s=30.0,
        rate_per_s=2.0,
        model_params_b=7.0,
        tiers=["T4", "T5"],
        batch_sizes=[1, 8],
        samples=200,
    )
    assert d["options"]
    by = {(o["tier"], o["batch_size"]): o for o in d["options"] + d["rejected"]}
    assert by[("T5", 8)]["energy_j"] < by[("T5", 1)]["energy_j"]


def test_inputs_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["recommend", "--latency-budget-s", "0.08", "--rate-per-s", "5", "--regions", "GB"])
    assert code == 2 and "error: workload" in capsys.readouterr().err
    assert batch_energy_factor(1) == 1.0 and batch_energy_factor(4) < 1.0
