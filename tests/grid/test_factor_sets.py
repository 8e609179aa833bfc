"""Named lifecycle factor sets: coverage, provenance, the ERCOT comparison and --factors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from infercarbon.cli.main import app
from infercarbon.errors import InputError
from infercarbon.grid import factor_sets as fs
from infercarbon.grid.factors import FUELS, fuel_rate, fuel_rates
from infercarbon.grid.series import ercot_intensity

runner = CliRunner()


@given(fuel=st.sampled_from(FUELS), name=st.sampled_from(fs.FACTOR_SETS))
def test_every_set_prices_every_fuel_with_provenance(fuel: str, name: str) -> None:
    f = fuel_rate(fuel, "lifecycle", region=None, factor_set=name)
    lo, hi = f.range
    assert 0 <= lo <= f.value <= hi
    assert f.source and f.label in ("cited", "derived", "illustrative")
    assert f.unit == "g_per_kwh"


@pytest.mark.parametrize("fuel", ["nuclear", "wind", "solar", "hydro", "geothermal", "biomass"])
def test_ipcc_set_equals_the_default_for_non_combustion_sources(fuel: str) -> None:
    assert (
        fuel_rate(fuel, "lifecycle", factor_set="ipcc-ar5").value
        == fuel_rate(fuel, "lifecycle").value
    )


def test_published_figures_and_their_sources() -> None:
    assert fs.set_rate("coal", "ipcc-ar5").value == 820
    assert fs.set_rate("gas_cc", "electricitymaps").value == 490
    assert fs.set_rate("other", "electricitymaps").value == 700
    u = fs.set_rate("nuclear", "unece-2021")
    assert u.range == (5.1, 6.4) and "UNECE" in u.source and u.label == "derived"
    g = fs.set_rate("gas_ct", "unece-2021")
    assert g.range == (403.0, 513.0) and "gas_ct takes the set's gas figure" in (g.note or "")


def test_bad_names_and_bases_name_the_field() -> None:
    with pytest.raises(InputError, match="factors"):
        fuel_rate("coal", "lifecycle", factor_set="ipcc")
    with pytest.raises(InputError, match="factors"):
        fuel_rate("coal", "direct", factor_set="ipcc-ar5")
    with pytest.raises(InputError, match="factors"):
        fs.set_rate("coal", "infercarbon")


def test_ercot_comparison_with_the_published_yearly_figures() -> None:
    annual = fs.ercot_annual_by_set()
    for name in ("ipcc-ar5", "unece-2021", "electricitymaps"):
        for year, ref in fs.REFERENCE_ANNUAL_G_PER_KWH.items():
            # fixed IPCC-type tables land within 5 % of Electricity Maps' own yearly figure
            assert annual[name][year] == pytest.approx(ref.value, rel=0.05)
            # the default prices the fossil fleet at its own heat rates: higher
            assert annual["infercarbon"][year] > 1.15 * annual[name][year]
    s = ercot_intensity("lifecycle", "1h", "electricitymaps")
    assert "factor set electricitymaps" in s.provenance.method
    rate, lo, hi, _ = fuel_rates(["coal", "wind"], "lifecycle", factor_set="electricitymaps")
    np.testing.assert_array_equal(rate, lo)  # no published ranges
    np.testing.assert_array_equal(rate, hi)


def test_cli_factors_option_and_comparison() -> None:
    args = [
        "grid",
        "intensity",
        "--region",
        "ERCOT",
        "--from",
        "2021-01-01",
        "--to",
        "2021-01-01T03:00",
    ]
    a = runner.invoke(app, args)
    b = runner.invoke(app, [*args, "--factors", "electricitymaps"])
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    va = [float(r.split(",")[1]) for r in a.stdout.splitlines()[1:]]
    vb = [float(r.split(",")[1]) for r in b.stdout.splitlines()[1:]]
    assert len(va) == 3 and all(x > y for x, y in zip(va, vb, strict=True))
    bad = runner.invoke(app, [*args, "--factors", "unece-2021", "--basis", "direct"])
    assert isinstance(bad.exception, InputError) and bad.exception.field == "--factors"
    doc = json.loads(runner.invoke(app, ["grid", "factors", "--format", "json"]).stdout)
    assert doc["default"] == "infercarbon" and set(doc["ercot_annual_g_per_kwh"]) == set(
        fs.FACTOR_SETS
    )
    md = runner.invoke(app, ["grid", "factors"]).stdout
    assert md.startswith("# Lifecycle factor sets") and "| unece-2021 |" in md
