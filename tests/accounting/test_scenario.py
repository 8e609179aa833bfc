"""build_request and footprint, split into one helper per input group: the fallbacks still
warn at the caller's line, and the first bad option is still the one named."""

from __future__ import annotations

from pathlib import Path

import pytest

from infercarbon.accounting.footprint import footprint
from infercarbon.accounting.scenario import EstimateOptions, build_request
from infercarbon.errors import FallbackWarning, InputError


def test_fallback_warnings_name_the_callers_line() -> None:
    with pytest.warns(FallbackWarning, match="PUE 1.0") as pue_warned:
        req = build_request(EstimateOptions(region="FR", energy_j="100"))
    with pytest.warns(FallbackWarning, match="market-based line") as market_warned:
        fp = footprint(req)
    assert [Path(w.filename).name for w in (*pue_warned, *market_warned)] == [
        Path(__file__).name,
        Path(__file__).name,
    ]
    assert fp.warnings == (str(market_warned[0].message),)
    assert [n for n in req.notes if "PUE" in n] == [str(pue_warned[0].message)]


def test_options_are_checked_in_their_order() -> None:
    # a bad PUE is named before a bad T&D loss, a bad idle power before a bad embodied figure
    with pytest.raises(InputError) as info:
        build_request(EstimateOptions(region="FR", energy_j="1", pue="x", td_loss_frac="y"))
    assert info.value.field == "pue"
    with pytest.raises(InputError) as info:
        build_request(
            EstimateOptions(region="FR", energy_j="1", pue="1.2", idle_power_w="x", embodied_kg="y")
        )
    assert info.value.field == "idle_power_w"


def test_embodied_lifetime_comes_from_the_user_the_tier_or_the_default() -> None:
    tiered = build_request(EstimateOptions(region="FR", workload="WL-02", tier="T1"))
    assert tiered.embodied_kg is not None and tiered.lifetime_s is not None
    user = build_request(
        EstimateOptions(region="FR", workload="WL-02", tier="T1", lifetime_years=2.0)
    )
    assert user.lifetime_s is not None
    assert user.lifetime_s.central == pytest.approx(2 * 365 * 86_400)
    with pytest.warns(FallbackWarning):
        bare = build_request(EstimateOptions(region="FR", energy_j="1", embodied_kg="100"))
    assert bare.lifetime_s is not None and bare.lifetime_s.central > 0
    with pytest.warns(FallbackWarning):
        none = build_request(EstimateOptions(region="FR", energy_j="1"))
    assert none.embodied_kg is None and none.lifetime_s is None
