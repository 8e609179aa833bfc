"""Bundled grid-intensity regions: resolution, conversions, provenance, CLI."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from typer.testing import CliRunner

from infercarbon.cli.main import app, main
from infercarbon.errors import AmbiguousRegionError, DataError, InputError, UnknownRegionError
from infercarbon.reference.regions import (
    KINDS,
    all_regions,
    parse_regions_csv,
    region_ids,
    resolve_region,
    shadowed_aliases,
)

runner = CliRunner()


def test_every_region_resolves_by_id_and_each_alias_to_itself() -> None:
    regions = all_regions()
    assert len(regions) > 500
    for r in regions:
        assert resolve_region(r.region_id) is r
        assert resolve_region(r.region_id.lower()) is r
        for alias in r.aliases:
            assert resolve_region(alias) is r, (alias, r.region_id)
    assert shadowed_aliases(regions) == {}


def test_region_ids_are_unique_and_every_kind_is_present() -> None:
    ids = region_ids()
    assert len(ids) == len(set(i.casefold() for i in ids))
    assert {r.kind for r in all_regions()} == set(KINDS)


@pytest.mark.parametrize(
    ("query", "iso3"),
    [
        ("DE", "DEU"),
        ("DEU", "DEU"),
        ("Germany", "DEU"),
        ("germany", "DEU"),
        ("GB", "GBR"),
        ("UK", "GBR"),
        ("United Kingdom", "GBR"),
        ("Great Britain", "GBR"),
        ("US", "USA"),
        ("USA", "USA"),
        ("United States", "USA"),
        ("United States of America", "USA"),
        ("fr", "FRA"),
        ("Japan", "JPN"),
        ("IN", "IND"),
        ("Côte d'Ivoire", "CIV"),
        ("cote d ivoire", "CIV"),
        ("Ivory Coast", "CIV"),
        ("South Korea", "KOR"),
        ("Korea, Republic of", "KOR"),
        ("ZAF", "ZAF"),
        ("norway", "NOR"),
    ],
)
def test_country_lookups(query: str, iso3: str) -> None:
    r = resolve_region(query)
    assert r.kind == "country"
    assert r.region_id == iso3
    assert r.iso3 == iso3
    assert r.iso2 is not None
    assert len(r.iso2) == 2


def test_at_least_200_countries_with_iso_codes_and_names() -> None:
    countries = [r for r in all_regions() if r.kind == "country"]
    assert len(countries) >= 200
    assert len({c.iso2 for c in countries}) == len(countries)
    assert len({c.iso3 for c in countries}) == len(countries)
    for c in countries:
        assert c.region_id == c.iso3 == c.country_iso3
        assert c.iso2 in c.aliases
        assert c.name


def test_us_state_is_egrid_lb_per_mwh_times_0_45359237() -> None:
    # eGRID2023 STC2ERTA: Texas 771.179 lb/MWh, California 394.769 lb/MWh (source file values)
    tx = resolve_region("US-TX")
    assert tx.kind == "us_state"
    assert tx.basis == "direct"
    assert tx.intensity_g_per_kwh.value == pytest.approx(771.179 * 0.45359237, abs=1e-5)
    assert tx.intensity_g_per_kwh.value == pytest.approx(349.80091, abs=1e-4)
    ca = resolve_region("California")
    assert ca.region_id == "US-CA"
    assert ca.intensity_g_per_kwh.value == pytest.approx(394.769 * 453.59237 / 1000, abs=1e-5)


def test_cloud_factor_is_ccf_t_per_kwh_times_1e6() -> None:
    # CCF: us-east-1 0.000415755 t/kWh (eGRID2019 SERC) -> 415.755 g/kWh
    r = resolve_region("aws:us-east-1")
    assert r.intensity_g_per_kwh.value == pytest.approx(0.000415755 * 1e6)
    assert r.basis == "direct"
    # range: spread to the independent mlco2/impact figure (367.8)
    assert r.intensity_g_per_kwh.range == pytest.approx((367.8, 415.755))


def test_canadian_province_recomputes_from_mix_and_ipcc_factors() -> None:
    # Quebec 2023 shares [%]: gas 0.2, oil 0.3, biomass 0.7, solar 0.01, wind 6.7, hydro 92.1
    solar = (48 + 41 + 27) / 3
    wind = (11 + 12) / 2
    num = 0.2 * 490 + 0.3 * 650 + 0.7 * 230 + 0.01 * solar + 6.7 * wind + 92.1 * 24
    qc = resolve_region("Québec")
    assert qc.region_id == "CA-QC"
    assert qc.intensity_g_per_kwh.label == "derived"
    assert qc.intensity_g_per_kwh.value == pytest.approx(num / 100.01, abs=1e-5)


def test_intensities_are_finite_non_negative_with_provenance() -> None:
    for r in all_regions():
        f = r.intensity_g_per_kwh
        assert math.isfinite(f.value), r.region_id
        assert f.value >= 0, r.region_id
        lo, hi = f.range
        assert 0 <= lo <= f.value <= hi, r.region_id
        assert f.unit == "g_per_kwh"
        assert r.basis in ("direct", "lifecycle")
        assert f.source, r.region_id
        assert f.vintage, r.region_id
        assert f.licence, r.region_id
        assert f.label in ("cited", "derived")
        if f.has_range:
            assert "Range" in (f.note or ""), r.region_id


def test_sub_national_zone_and_cloud_kinds() -> None:
    assert resolve_region("CA-ON").kind == "ca_province"
    assert resolve_region("CN-BJ").kind == "cn_province"
    assert resolve_region("beijing").region_id == "CN-BJ"
    assert resolve_region("SE3").kind == "nordic_zone"
    assert resolve_region("NO4").intensity_g_per_kwh.value == pytest.approx(51.7)
    assert resolve_region("DK1").region_id == "em:DK-DK1"
    assert resolve_region("em:DK-DK1").kind == "em_zone"
    assert resolve_region("DK-DK1").region_id == "em:DK-DK1"
    assert resolve_region("us-east-1").region_id == "aws:us-east-1"
    assert resolve_region("europe-west1").region_id == "gcp:europe-west1"
    assert resolve_region("gcp:europe-west1").region_id == "gcp:europe-west1"
    assert resolve_region("westeurope").region_id == "azure:westeurope"
    assert resolve_region("West Europe").region_id == "azure:westeurope"


def test_precedence_country_over_sub_national_over_zone() -> None:
    assert resolve_region("Georgia").region_id == "GEO"
    assert resolve_region("Georgia, US").region_id == "US-GA"
    # the bare zone id US-TX names the state; the prefix reaches the zone
    assert resolve_region("US-TX").kind == "us_state"
    assert resolve_region("em:US-TX").kind == "em_zone"
    assert resolve_region("Ontario").kind == "ca_province"
    assert resolve_region("em:CA-ON").kind == "em_zone"


def test_bare_cloud_name_in_several_providers_is_an_error_listing_them() -> None:
    with pytest.raises(AmbiguousRegionError) as exc:
        resolve_region("us east 1")
    assert exc.value.matches == ["aws:us-east-1", "gcp:us-east1"]
    assert "aws:us-east-1" in str(exc.value)
    assert "gcp:us-east1" in str(exc.value)
    assert isinstance(exc.value, UnknownRegionError)


def test_unknown_region_lists_close_matches() -> None:
    with pytest.raises(UnknownRegionError) as exc:
        resolve_region("Germny")
    assert "Germany" in exc.value.suggestions
    assert "did you mean" in str(exc.value)
    with pytest.raises(UnknownRegionError) as exc2:
        resolve_region("aws:us-east-9")
    assert exc2.value.suggestions
    assert all(s.startswith("aws:") for s in exc2.value.suggestions)


@pytest.mark.parametrize("query", ["World", "global", "Atlantis", "em:XX-YY", "aws:"])
def test_no_world_average_or_other_fallback(query: str) -> None:
    with pytest.raises(UnknownRegionError):
        resolve_region(query)


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_an_input_error(query: str) -> None:
    with pytest.raises(InputError, match="region"):
        resolve_region(query)


def _one_row(**overrides: str) -> str:
    row = {
        "region_id": "XXX",
        "name": "X",
        "kind": "country",
        "intensity_g_per_kwh": "100",
        "low_g_per_kwh": "",
        "high_g_per_kwh": "",
        "basis": "lifecycle",
        "label": "cited",
        "source": "s",
        "vintage": "2023",
        "licence": "l",
        "iso2": "XX",
        "iso3": "XXX",
        "country_iso3": "XXX",
        "aliases": "XX",
        "note": "",
    }
    row.update(overrides)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(row), lineterminator="\n")
    w.writeheader()
    w.writerow(row)
    return buf.getvalue()


def test_parser_accepts_a_good_row() -> None:
    (r,) = parse_regions_csv(_one_row())
    assert r.region_id == "XXX"
    assert r.intensity_g_per_kwh.value == 100.0


@pytest.mark.parametrize(
    "bad",
    [
        {"intensity_g_per_kwh": "nan"},
        {"intensity_g_per_kwh": "-1"},
        {"intensity_g_per_kwh": "abc"},
        {"basis": "marginal"},
        {"kind": "planet"},
        {"low_g_per_kwh": "150"},
        {"label": "guessed"},
    ],
)
def test_parser_rejects_bad_rows(bad: dict[str, str]) -> None:
    with pytest.raises(DataError, match="row 2"):
        parse_regions_csv(_one_row(**bad))


# ------------------------------------------------------------------------------- CLI
def test_cli_show_json() -> None:
    result = runner.invoke(app, ["regions", "show", "GB", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["region_id"] == "GBR"
    assert doc["iso2"] == "GB"
    assert doc["basis"] == "lifecycle"
    assert doc["vintage"]
    assert doc["licence"]
    assert doc["intensity_g_per_kwh"] == pytest.approx(
        resolve_region("GBR").intensity_g_per_kwh.value
    )


def test_cli_show_table_has_provenance() -> None:
    result = runner.invoke(app, ["regions", "show", "aws:eu-west-1"])
    assert result.exit_code == 0, result.output
    for word in ("aws:eu-west-1", "g/kWh", "direct", "source", "vintage", "licence", "range"):
        assert word in result.stdout


def test_cli_show_unknown_region_exits_2_with_suggestions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["regions", "show", "Germny"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Germany" in err


def test_cli_list_json_filters_by_kind() -> None:
    result = runner.invoke(app, ["regions", "list", "--kind", "country", "--format", "json"])
    assert result.exit_code == 0, result.output
    docs = json.loads(result.stdout)
    assert len(docs) >= 200
    assert {d["kind"] for d in docs} == {"country"}


def test_cli_list_csv_search() -> None:
    result = runner.invoke(app, ["regions", "list", "--search", "texas", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert "US-TX" in {r["region_id"] for r in rows}
    assert all(
        "texas" in (r["region_id"] + r["name"] + r["aliases"]).lower().replace(" ", "")
        for r in rows
    )


def test_cli_list_table() -> None:
    result = runner.invoke(app, ["regions", "list", "--kind", "nordic_zone"])
    assert result.exit_code == 0, result.output
    assert "SE3" in result.stdout
    assert "NO4" in result.stdout


def test_cli_list_rejects_unknown_kind() -> None:
    assert main(["regions", "list", "--kind", "planet"]) == 2
