"""The seed-consistency checks recompute the seed's claims from first principles."""

from __future__ import annotations

import math

from infercarbon.benchmark.checks import SEED_RESULTS_TABLE, seed_checks


def _by_claim(fragment: str) -> list:
    return [c for c in seed_checks() if fragment in c.claim]


def test_results_table_is_in_mg_not_g() -> None:
    rows = [c for c in seed_checks() if c.topic == "results table units"]
    assert len(rows) == 3 * len(SEED_RESULTS_TABLE)
    for c in rows:
        assert not c.agrees
        # every printed value is ~1000x the first-principles grams: the table is in mg
        assert 800 < c.seed_value / c.computed_value < 1250, c.claim


def test_worked_example_checks() -> None:
    (kwh,) = _by_claim("0.0005 kWh")
    assert not kwh.agrees and math.isclose(kwh.computed_value, 5e-7)
    (mg,) = _by_claim("~0.085 mg")
    assert mg.agrees
    (shift,) = _by_claim("~12.2 g")
    assert shift.agrees
    (det,) = _by_claim("~0.13 g")
    assert det.agrees
    (led,) = _by_claim("LED bulb")
    assert not led.agrees and led.computed_value > 200  # minutes of light, not 30 s


def test_llm_work_order_claims_are_off_by_a_thousand() -> None:
    (call,) = _by_claim("~33 g CO2e per call")
    assert not call.agrees
    assert math.isclose(call.computed_value, 320 * 370 / 3.6e6)
    (ratio,) = _by_claim("250x")
    assert not ratio.agrees and ratio.computed_value < 1


def test_france_to_south_africa() -> None:
    (c,) = _by_claim("South Africa")
    assert math.isclose(c.computed_value, 0.4 * 870 / 55)
    assert not c.agrees


def test_latency_budget_infeasibility_is_flagged() -> None:
    flagged = {
        c.claim.split(":")[0] for c in seed_checks() if c.topic == "energy vs latency budget"
    }
    # 1.8 J at most 15 W is at least 0.12 s, over WL-02's 80 ms budget
    assert "WL-02 on T1" in flagged
    # 0.5 J at most 15 W is 33 ms, within WL-01's 100 ms budget
    assert "WL-01 on T1" not in flagged
