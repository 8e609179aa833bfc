"""What-if factors (tier switch re-modelled by the estimators, volume) and accuracy per watt."""

from __future__ import annotations

import numpy as np
import pytest

from infercarbon.decisions.accuracy import accuracy_rows, parse_task_metrics
from infercarbon.decisions.whatif import scenario_scale, tier_scale
from infercarbon.errors import InputError, ParseError
from infercarbon.estimators.vision import VISION_DEVICES


def test_tier_switch_is_the_roofline_ratio() -> None:
    c, lo, hi, how = tier_scale(["T4"], "T1")
    t4, t1 = VISION_DEVICES["T4"], VISION_DEVICES["T1"]
    comp = (t1.active_power_w / t1.peak_ops_per_s) / (t4.active_power_w / t4.peak_ops_per_s)
    mem = (t1.active_power_w / t1.memory_bandwidth_bytes_per_s) / (
        t4.active_power_w / t4.memory_bandwidth_bytes_per_s
    )
    assert c[0] == pytest.approx(comp)
    assert (lo[0], hi[0]) == pytest.approx((min(comp, mem), max(comp, mem)))
    assert "vision roofline" in how["source"] and how["label"] == "modelled"
    same, _, _, _ = tier_scale(["T2"], "T2")
    assert same[0] == pytest.approx(1.0)


def test_unknown_device_needs_from_tier() -> None:
    with pytest.raises(InputError, match="from_tier"):
        tier_scale(["gpu0"], "T1")
    c, _, _, _ = tier_scale(["gpu0", "gpu1"], "T5", from_tier="T4")
    assert np.allclose(c, c[0])
    c, _, _, how = scenario_scale(["gpu0"], tier="T4", from_tier="T4", volume=10.0)
    assert c[0] == pytest.approx(10.0) and len(how) == 2
    with pytest.raises(InputError, match="volume_multiplier"):
        scenario_scale(["x"], volume=0.0)
    with pytest.raises(InputError, match="tier"):
        scenario_scale(["x"], tier="T9", from_tier="T1")


def test_accuracy_rows() -> None:
    m = parse_task_metrics("model,metric,value,source\nn,mAP,39.5,paper\nm,mAP,51.5,\nx,acc,0.9,\n")
    per = {
        "n": {
            "inferences": 10.0,
            "energy_j": 20.0,
            "emissions_g": 1.0,
            "low_g": 0.5,
            "high_g": 2.0,
        },
        "m": {
            "inferences": 10.0,
            "energy_j": 100.0,
            "emissions_g": 5.0,
            "low_g": 3.0,
            "high_g": 9.0,
        },
    }
    rows = {r["model"]: r for r in accuracy_rows(per, m)}
    assert rows["n"]["g_per_inference_per_point"] == pytest.approx(0.1 / 39.5)
    assert rows["m"]["marginal_g_per_point"] == pytest.approx((0.5 - 0.1) / 12.0)
    assert rows["m"]["compared_with"] == "n"
    assert rows["n"]["metric_source"] == "paper"
    assert rows["x"]["note"] == "no footprints of this model in the period"
    with pytest.raises(ParseError):
        parse_task_metrics("model,value\nn,1\n")
    with pytest.raises(ParseError):
        parse_task_metrics("model,metric,value\nn,mAP,-1\n")
