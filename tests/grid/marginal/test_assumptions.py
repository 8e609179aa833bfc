"""Every dispatch assumption carries a source, a vintage and a range that brackets its value."""

from __future__ import annotations

import math

import pytest

from infercarbon.errors import InputError
from infercarbon.grid.marginal import assumptions as A
from infercarbon.provenance import Figure

ASSUMPTION = "assumption (no source found)"


def _all_figures() -> list[tuple[str, Figure]]:
    out: list[tuple[str, Figure]] = []
    out += [(f"heat rate {k}", f) for k, f in A.HEAT_RATE_MMBTU_PER_MWH.items()]
    out += [
        (f"CC heat rate {y}", A.ercot_cc_heat_rate(y)) for y in (1985.0, 2005.0, 2018.0, math.nan)
    ]
    out += [(f"VOM {k}", f) for k, f in A.VOM_PER_MWH.items()]
    out += [(f"ramp {k}", f) for k, f in A.RAMP_FRAC_PER_MIN.items()]
    out += [(f"fuel price {k}", f) for k, f in A.FUEL_PRICE_PER_MMBTU.items()]
    out += [(f"carbon price {k}", f) for k, f in A.CARBON_PRICE_PER_T.items()]
    return out


FIGURES = _all_figures()
IDS = [name for name, _ in FIGURES]


@pytest.mark.parametrize(("name", "fig"), FIGURES, ids=IDS)
def test_every_figure_has_source_vintage_and_bracketing_range(name: str, fig: Figure) -> None:
    assert fig.source.strip(), name
    assert fig.vintage, name
    assert fig.low is not None and fig.high is not None, name
    assert fig.low <= fig.value <= fig.high, name
    if fig.value == 0.0:  # only the structural zero (no carbon price in Texas)
        assert fig.note == "structural zero", name
    else:
        assert fig.low < fig.value < fig.high or fig.has_range, name
        assert fig.value > 0.0, name


@pytest.mark.parametrize(("name", "fig"), FIGURES, ids=IDS)
def test_labels_say_how_far_to_trust_a_figure(name: str, fig: Figure) -> None:
    assert fig.label in ("cited", "derived", "illustrative"), name
    if fig.label == "illustrative":
        assert fig.note is not None and ASSUMPTION in fig.note, name
    if fig.note is not None:
        assert "entered from memory" not in fig.note, name
        assert "not checked against the primary table" not in fig.note, name


def test_public_keys_unchanged() -> None:
    assert set(A.HEAT_RATE_MMBTU_PER_MWH) == {
        ("coal", "ST"),
        ("gas", "CC"),
        ("gas", "GT"),
        ("gas", "ST"),
        ("gas", "IC"),
        ("oil", "IC"),
        ("oil", "GT"),
        ("oil", "ST"),
    }
    assert set(A.VOM_PER_MWH) == {
        ("coal", "ST"),
        ("lignite", "ST"),
        ("hard_coal", "ST"),
        ("gas", "CC"),
        ("gas", "GT"),
        ("gas", "ST"),
        ("gas", "IC"),
        ("oil", "IC"),
        ("oil", "GT"),
        ("oil", "ST"),
        ("oil", "CC"),
        ("hard_coal", "CC"),
    }
    assert set(A.RAMP_FRAC_PER_MIN) == {"ST-coal", "ST-gas", "CC", "GT", "IC"}
    years = range(2019, 2025)
    assert set(A.FUEL_PRICE_PER_MMBTU) == {
        (r, f, y)
        for r, fuels in (
            ("ERCOT", ("gas", "coal", "oil")),
            ("DE", ("gas", "hard_coal", "lignite", "oil")),
        )
        for f in fuels
        for y in years
    }
    assert set(A.CARBON_PRICE_PER_T) == {(r, y) for r in ("ERCOT", "DE") for y in years}


def test_units_and_currencies() -> None:
    for (region, _, _), fig in A.FUEL_PRICE_PER_MMBTU.items():
        assert fig.unit == ("usd_per_mmbtu" if region == "ERCOT" else "eur_per_mmbtu")
    for (region, _), fig in A.CARBON_PRICE_PER_T.items():
        assert fig.unit == ("usd_per_t" if region == "ERCOT" else "eur_per_t")
    assert {f.unit for f in A.HEAT_RATE_MMBTU_PER_MWH.values()} == {"mmbtu_per_mwh"}
    assert {f.unit for f in A.VOM_PER_MWH.values()} == {"per_mwh"}
    assert {f.unit for f in A.RAMP_FRAC_PER_MIN.values()} == {"frac"}


@pytest.mark.parametrize(
    "key",
    [("gas", "GT"), ("gas", "ST"), ("gas", "IC"), ("oil", "IC"), ("oil", "GT"), ("oil", "ST")],
)
def test_cited_table_heat_rates_appear_in_their_source(key: tuple[str, str]) -> None:
    fig = A.HEAT_RATE_MMBTU_PER_MWH[key]
    assert fig.label == "cited"
    assert f"{round(fig.value * 1000):,}" in fig.source


def test_cited_prices_match_the_quoted_tables() -> None:
    assert A.FUEL_PRICE_PER_MMBTU[("ERCOT", "gas", 2022)].value == 6.45
    assert A.FUEL_PRICE_PER_MMBTU[("ERCOT", "gas", 2020)].value == 2.03
    # delivered cost to power plants bounds the Henry Hub figure from above
    assert A.FUEL_PRICE_PER_MMBTU[("ERCOT", "gas", 2021)].high == 5.20
    assert [
        A.FUEL_PRICE_PER_MMBTU[("ERCOT", "coal", y)].value for y in (2019, 2020, 2021, 2022)
    ] == [2.02, 1.92, 1.98, 2.36]
    assert A.CARBON_PRICE_PER_T[("DE", 2021)].value == 54.0
    assert A.CARBON_PRICE_PER_T[("DE", 2022)].value == 82.8
    assert A.FUEL_PRICE_PER_MMBTU[("ERCOT", "coal", 2023)].label == "illustrative"


def test_lookups_fall_back_to_the_nearest_year_and_say_so() -> None:
    fig, fell_back = A.fuel_price("ERCOT", "gas", 2021)
    assert not fell_back and fig is A.FUEL_PRICE_PER_MMBTU[("ERCOT", "gas", 2021)]
    fig, fell_back = A.fuel_price("ERCOT", "gas", 2030)
    assert fell_back and fig is A.FUEL_PRICE_PER_MMBTU[("ERCOT", "gas", 2024)]
    cp, fell_back = A.carbon_price("DE", 2010)
    assert fell_back and cp is A.CARBON_PRICE_PER_T[("DE", 2019)]
    with pytest.raises(InputError):
        A.fuel_price("ERCOT", "uranium", 2020)
    with pytest.raises(InputError):
        A.carbon_price("PJM", 2020)


def test_cc_heat_rate_follows_vintage() -> None:
    old, mid, new = (A.ercot_cc_heat_rate(y).value for y in (1990.0, 2005.0, 2020.0))
    assert old > mid > new
    assert A.ercot_cc_heat_rate(math.nan) is A.HEAT_RATE_MMBTU_PER_MWH[("gas", "CC")]
