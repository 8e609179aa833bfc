"""The Footprint: the seed's worked example, line items, ranges, fallbacks and bad input."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable

import pytest

from infercarbon.accounting import BasisTotal, FootprintRequest, Input, footprint
from infercarbon.accounting.uncertainty import Triangular, Uniform
from infercarbon.attribution.idle import as_idle_policy
from infercarbon.errors import FallbackWarning, InputError
from infercarbon.provenance import as_label
from infercarbon.reference import seed


def _request(**kw: object) -> FootprintRequest:
    tier, wl = seed.get_tier("T1"), seed.get_workload("WL-02")
    base = dict(
        region_id="GBR",
        energy_j=Input.user("energy_j", 1.8, "j"),
        intensity_location_g_per_kwh=Input.user("intensity_location_g_per_kwh", 170.0, "g_per_kwh"),
        intensity_market_g_per_kwh=Input.user("intensity_market_g_per_kwh", 50.0, "g_per_kwh"),
        pue=Input.user("pue", 1.0, "ratio"),
        active_power_w=Input.of("active_power_w", tier.active_power_w),
        idle_power_w=Input.of("idle_power_w", tier.idle_power_w),
        embodied_kg=Input.of("embodied_kg", tier.embodied_kg),  # type: ignore[arg-type]
        lifetime_s=Input.of("lifetime_s", seed.LIFETIME_S),
        rate_per_s=wl.rate_per_s,
        outcomes_per_inference=wl.outcomes_per_inference,
        outcome_name=wl.outcome,
        samples=2000,
    )
    base.update(kw)
    return FootprintRequest(**base)  # type: ignore[arg-type]


def test_seed_worked_vision_qc_example() -> None:
    """WL-02 on T1: 1.8 J, 170 g/kWh, 5/s, 8-hour shift, 1 defect per 1,500 inferences."""
    fp = footprint(_request())
    op = fp.item("operational_location").emissions_g
    assert round(op * 1e3, 3) == 0.085  # ~0.085 mg per inference
    shift = fp.per_period_g
    assert shift is not None
    assert shift["shift"]["inferences"] == 144_000
    assert round(shift["shift"]["operational_location_g"], 1) == 12.2  # ~12.2 g per shift
    assert fp.per_outcome_g is not None
    assert 144_000 / fp.per_outcome_g["inferences_per_outcome"] == 96  # detections per shift
    assert round(fp.per_outcome_g["operational_location_g"], 2) == 0.13  # ~0.13 g per defect


def test_line_items_and_totals_add_up() -> None:
    fp = footprint(
        _request(
            payload_bytes=250_000.0,
            network_kwh_per_gb=Input.of("network_kwh_per_gb", seed.NETWORK_KWH_PER_GB["fixed"]),
        )
    )
    loc = [li for li in fp.line_items if li.in_total and li.basis in ("location", "both")]
    mkt = [li for li in fp.line_items if li.in_total and li.basis in ("market", "both")]
    assert {li.name for li in loc} == {
        "operational_location",
        "idle_location",
        "embodied",
        "network",
    }
    assert math.isclose(sum(li.emissions_g for li in loc), fp.total_location_g, rel_tol=1e-12)
    assert math.isclose(sum(li.emissions_g for li in mkt), fp.total_market_g, rel_tol=1e-12)
    # location and market are both reported and differ (never substituted)
    assert fp.item("operational_market").emissions_g < fp.item("operational_location").emissions_g
    for li in fp.line_items:
        assert li.low_g <= li.p50_g <= li.high_g
    assert fp.item("training").label == "excluded: not published"
    # the network line: 250 kB x 0.06 kWh/GB x 170 g/kWh
    assert math.isclose(fp.item("network").emissions_g, 250e3 / 1e9 * 0.06 * 170, rel_tol=1e-12)


def test_scope_tags_follow_the_operating_model() -> None:
    owned = footprint(_request())
    assert owned.item("operational_location").scope == "scope2_location"
    assert owned.item("operational_market").scope == "scope2_market"
    assert owned.item("embodied").scope == "scope3_cat2"
    cloud = footprint(_request(operating_model="cloud"))
    assert cloud.item("operational_location").scope == "scope3_cat1"
    sold = footprint(_request(operating_model="sold"))
    assert sold.item("operational_location").scope == "scope3_cat11"


def test_market_falls_back_to_location_only_with_a_warning_and_label() -> None:
    with pytest.warns(FallbackWarning, match="market-based"):
        fp = footprint(_request(intensity_market_g_per_kwh=None))
    m = fp.item("operational_market")
    assert m.label.startswith("fallback")
    assert "fallback" in fp.item("idle_market").label
    assert "fallback" not in fp.item("idle_location").label
    assert m.emissions_g == fp.item("operational_location").emissions_g
    assert fp.warnings


def test_monte_carlo_is_seeded_and_reproducible() -> None:
    r = _request(energy_j=Input.user("energy_j", Triangular(1.2, 1.8, 2.6), "j"))
    a, b = footprint(r), footprint(r)
    assert a.totals_g == b.totals_g
    c = footprint(r.with_(seed=1))
    assert c.totals_g["location"][0] == a.totals_g["location"][0]  # point value is not sampled
    assert c.totals_g["location"][1] != a.totals_g["location"][1]


def test_training_is_amortised_when_published() -> None:
    fp = footprint(
        _request(
            training_t=Input("training_t", Uniform(400.0, 600.0), "t", "published", "cited"),
            lifetime_inferences=1e10,
        )
    )
    assert math.isclose(fp.item("training").emissions_g, 500e6 / 1e10)


def test_idle_policies_side_by_side_and_conserved() -> None:
    fp = footprint(_request(idle_policy="tenancy"))
    side = fp.idle["side_by_side_location_g"]
    assert side["none"] == 0.0
    assert math.isclose(side["30-70"], 0.3 * side["tenancy"], rel_tol=1e-12)
    assert math.isclose(fp.idle["attributed_j"] + fp.idle["unattributed_j"], fp.idle["pool_j"])


def test_low_utilisation_raises_embodied_per_inference() -> None:
    hi = footprint(_request(utilisation_frac=Input.user("utilisation_frac", 0.9, "frac")))
    lo = footprint(_request(utilisation_frac=Input.user("utilisation_frac", 0.05, "frac")))
    assert lo.item("embodied").emissions_g > 10 * hi.item("embodied").emissions_g


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"energy_j": Input.user("energy_j", -1.0, "j")}, "energy_j"),
        ({"pue": Input.user("pue", 0.9, "ratio")}, "pue"),
        ({"utilisation_frac": Input.user("utilisation_frac", 0.0, "frac")}, "utilisation_frac"),
        ({"utilisation_frac": Input.user("utilisation_frac", 1.5, "frac")}, "utilisation_frac"),
        ({"energy_j": Input.user("energy_j", float("nan"), "j")}, "energy_j"),
        ({"idle_policy": "sometimes"}, "idle_policy"),
        ({"outcomes_per_inference": 0.0}, "outcomes_per_inference"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, object], field: str) -> None:
    with warnings.catch_warnings(), pytest.raises(InputError, match=field) as exc:
        warnings.simplefilter("ignore")
        footprint(_request(**change))
    assert exc.value.field == field


def test_totals_are_named_per_basis_and_the_json_is_unchanged() -> None:
    fp = footprint(_request())
    d = fp.to_dict()
    for basis, t in fp.totals_g.items():
        assert isinstance(t, BasisTotal)
        point, p5, p50, p95 = t  # still a tuple
        assert (point, p5, p50, p95) == (t.point_g, t.p5_g, t.p50_g, t.p95_g)
        assert d[f"total_{basis}_g"] == t.point_g
        assert d[f"total_{basis}_low_g"] == t.p5_g
        assert d[f"total_{basis}_p50_g"] == t.p50_g
        assert d[f"total_{basis}_high_g"] == t.p95_g
    assert fp.total_location_g == fp.totals_g["location"].point_g
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize(
    ("convert", "good", "bad", "field"),
    [
        (as_idle_policy, "tenancy", "30/70", "idle_policy"),
        (as_label, "illustrative", "guessed", "label"),
    ],
)
def test_text_is_narrowed_to_its_literal_or_refused(
    convert: Callable[..., str], good: str, bad: str, field: str
) -> None:
    assert convert(good) == good
    with pytest.raises(InputError, match=f"^{field}: must be one of .*got '{bad}'"):
        convert(bad)
    with pytest.raises(InputError, match=r"^--opt: "):
        convert(bad, field="--opt")
