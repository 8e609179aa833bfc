"""Instruments files: validation naming file/entry/field, and market-based results by hand."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.errors import DataQualityWarning, FallbackWarning, InputError, ParseError
from infercarbon.grid.instruments import (
    Consumption,
    InstrumentsFileError,
    load_instruments,
    location_over,
    market_from_instruments,
    read_consumption_csv,
)
from infercarbon.grid.signal import IntensitySeries, SignalProvenance
from infercarbon.provenance import Figure

DATA = Path(__file__).parents[1] / "data" / "instruments"
ANNUAL = DATA / "ercot_2021.json"
HOURLY = DATA / "ercot_week_hourly.json"
CSV_LIST = DATA / "ercot_2021_instruments.csv"


def _column(path: Path, name: str) -> np.ndarray:
    with path.open() as fh:
        return np.array([float(r[name]) for r in csv.DictReader(fh)])


def _base_doc() -> dict[str, Any]:
    return {
        "format": "infercarbon-instruments",
        "version": 1,
        "region": "ERCOT",
        "reporting_period": {"from_utc": "2021-01-01", "to_utc": "2022-01-01"},
        "consumption": {"energy_mwh": 1000},
        "ppas": [
            {
                "id": "p1",
                "energy_mwh": 100,
                "region": "ERCOT",
                "vintage": 2021,
                "factor_g_per_kwh": 0,
                "source": "test",
            }
        ],
        "eacs": [
            {
                "id": "e1",
                "type": "GO",
                "energy_kwh": 200_000,
                "region": "ERCOT",
                "vintage": 2021,
                "tracking_id": "T-1",
                "factor_g_per_kwh": 0,
                "source": "test",
            }
        ],
        "residual_mix": {"factor_g_per_kwh": 500, "source": "test residual mix"},
    }


def _write(tmp: Path, doc: dict[str, Any], name: str = "inst.json") -> Path:
    p = tmp / name
    p.write_text(json.dumps(doc))
    return p


# ----------------------------------------------------------------------------- results
def test_annual_file_matches_hand_calculation() -> None:
    f = load_instruments(ANNUAL)
    assert f.region_id == "em:US-TX" and f.matching == "annual"
    assert [i.id for i in f.ppas] == ["wind-ppa-1"]
    assert f.eacs[0].energy_kwh == 2_000_000.0 and f.eacs[0].tracking_id
    with pytest.warns(DataQualityWarning, match="rec-2019 rejected: vintage 2019"):
        r = market_from_instruments(f, strict=False)
    # 8760 MWh consumed; 3000 MWh PPA + 2000 MWh RECs at 0 g; 3760 MWh at the residual mix
    assert r.figure.value == pytest.approx(3760 * 480 / 8760)
    assert r.figure.range == pytest.approx((3760 * 440 / 8760, 3760 * 520 / 8760))
    assert r.coverage_kwh == {
        "ppa": 3e6,
        "eac": 2e6,
        "supplier": 0.0,
        "residual_mix": 3.76e6,
        "location_fallback": 0.0,
    }
    assert r.rejected[0][0] == "rec-2019"
    assert r.kind == "market" and r.label == "market-based" and not r.fallback
    assert str(ANNUAL) in r.figure.source and "illustrative residual mix" in r.figure.source


def test_strict_rejection_names_file_entry_and_field() -> None:
    with pytest.raises(InstrumentsFileError) as ei:
        market_from_instruments(load_instruments(ANNUAL))
    msg = str(ei.value)
    assert str(ANNUAL) in msg and "eacs[1] (id 'rec-2019')" in msg and "'vintage'" in msg


def test_hourly_file_matches_hour_by_hour() -> None:
    c = _column(DATA / "ercot_week_consumption.csv", "kwh")
    s = _column(DATA / "ercot_week_solar_ppa.csv", "kwh")
    matched = np.minimum(c, s)
    f = load_instruments(HOURLY)
    assert f.matching == "hourly" and f.ppas[0].energy_kwh == pytest.approx(s.sum())
    with pytest.warns(DataQualityWarning, match="annual-rec rejected"):
        r = market_from_instruments(f, strict=False)
    assert r.hourly_cfe_frac == pytest.approx(matched.sum() / c.sum())
    assert r.coverage_kwh["ppa"] == pytest.approx(matched.sum())
    assert r.coverage_kwh["supplier"] == pytest.approx((c - matched).sum())
    assert r.surplus_kwh == pytest.approx((s - matched).sum())
    assert r.figure.value == pytest.approx((c - matched).sum() * 420 / c.sum())
    assert "hourly CFE" in r.label and "Example Retail Electric" in r.figure.source
    # the same file matched annually: the volumetric claim covers more (no hourly shape)
    annual = market_from_instruments(f, hourly=False)  # every instrument passes annually
    assert annual.rejected == () and annual.coverage_kwh["eac"] == 50_000.0
    assert annual.figure.value < r.figure.value


def test_one_interval_of_the_hourly_match() -> None:
    f = load_instruments(HOURLY)
    with pytest.warns(DataQualityWarning):
        noon = market_from_instruments(f, at_utc=np.datetime64("2021-07-15T18:30"), strict=False)
    assert noon.figure.value == 0.0 and noon.hourly_cfe_frac == 1.0  # 13:30 CDT: solar > load
    assert "2021-07-15T18:00:00Z" in noon.notes[0]
    with pytest.warns(DataQualityWarning):
        night = market_from_instruments(f, at_utc=np.datetime64("2021-07-15T07:00"), strict=False)
    assert night.figure.value == 420.0 and night.coverage_kwh["supplier"] == 1000.0
    with pytest.raises(InputError, match="time_utc"):
        market_from_instruments(f, at_utc=np.datetime64("2021-08-01T00:00"), strict=False)


def test_annual_matching_at_an_instant_is_the_period_figure() -> None:
    f = load_instruments(ANNUAL)
    with pytest.warns(DataQualityWarning):
        period = market_from_instruments(f, strict=False)
    with pytest.warns(DataQualityWarning):
        hour = market_from_instruments(f, at_utc=np.datetime64("2021-07-15T22:00"), strict=False)
    assert hour.figure.value == period.figure.value
    assert "spread over the period" in hour.notes[0]


def test_csv_instrument_list_needs_a_region_and_rejects_other_markets() -> None:
    f = load_instruments(CSV_LIST)
    assert f.region_id is None and f.residual_mix is not None
    assert f.residual_mix.label == "illustrative" and f.residual_mix.range == (440.0, 520.0)
    assert f.eacs[1].energy_kwh == 1_000_000.0  # "1,000" MWh, thousands separator
    cons = Consumption.total(8_760_000.0, np.datetime64("2021-01-01"), np.datetime64("2022-01-01"))
    with pytest.raises(InputError, match="names no region"):
        market_from_instruments(f, cons)
    with pytest.warns(DataQualityWarning, match="market boundary"):
        r = market_from_instruments(f, cons, region="ERCOT", strict=False)
    assert r.rejected[0][0] == "rec-pjm" and r.region == "em:US-TX"
    assert r.figure.value == pytest.approx(3760 * 480 / 8760)


def test_region_must_be_the_files() -> None:
    with pytest.raises(InputError, match="one file per region"):
        market_from_instruments(load_instruments(ANNUAL), region="FR", strict=False)


def test_location_fallback_is_warned_and_labelled(tmp_path: Path) -> None:
    doc = _base_doc()
    del doc["residual_mix"]
    f = load_instruments(_write(tmp_path, doc))
    loc = Figure(400.0, "g_per_kwh", source="annual", label="cited")
    with pytest.warns(FallbackWarning, match="location-based figure"):
        r = market_from_instruments(f, location=loc)
    assert r.fallback and "location-based fallback" in r.label
    assert r.coverage_kwh["location_fallback"] == pytest.approx(700_000.0)
    assert r.figure.value == pytest.approx(0.7 * 400.0)
    with pytest.raises(InputError, match="residual_mix"):
        market_from_instruments(f)


def test_partial_period_is_warned(tmp_path: Path) -> None:
    f = load_instruments(_write(tmp_path, _base_doc()))
    june = Consumption.total(100_000.0, np.datetime64("2021-06-01"), np.datetime64("2021-07-01"))
    with pytest.warns(DataQualityWarning, match="spans 8.2% of the reporting period"):
        r = market_from_instruments(f, june)
    assert r.coverage_kwh["ppa"] == 100_000.0 and r.surplus_kwh == pytest.approx(200_000.0)
    late = Consumption.total(1.0, np.datetime64("2021-12-31"), np.datetime64("2022-01-02"))
    with pytest.raises(InputError, match="outside the instruments' reporting period"):
        market_from_instruments(f, late)
    with pytest.raises(InputError, match="hourly matching needs consumption per interval"):
        market_from_instruments(f, hourly=True)


def test_location_over_weights_by_consumption() -> None:
    t = np.array(["2024-01-01T00", "2024-01-01T01"], dtype="datetime64[s]")
    s = IntensitySeries.from_arrays(
        region="X",
        kind="location-average",
        basis="direct",
        resolution_s=3600,
        start_utc=t,
        intensity_g_per_kwh=np.array([100.0, 300.0]),
        provenance=SignalProvenance(source="s", version="1", method="test"),
    )
    fig = location_over(s, Consumption(t, np.array([1.0, 3.0]), 3600, "meter"))
    assert fig.value == pytest.approx(250.0) and fig.unit == "g_per_kwh"
    one = Consumption.total(8.0, t[0], np.datetime64("2024-01-01T02:00"))
    assert location_over(s, one).value == pytest.approx(200.0)


# ----------------------------------------------------------------------------- validation
def _set(path: str, value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        *keys, last = path.split(".")
        node: Any = doc
        for k in keys:
            node = node[int(k)] if k.isdigit() else node[k]
        if value is _DEL:
            del node[last]
        else:
            node[last] = value

    return edit


_DEL = object()


@pytest.mark.parametrize(
    ("edit", "where", "field", "text"),
    [
        (_set("eacs.0.energy_kwh", -5), "eacs[0] (id 'e1')", "energy_kwh", ">= 0"),
        (_set("eacs.0.energy_kwh", _DEL), "eacs[0] (id 'e1')", "energy_mwh", "is required"),
        (_set("eacs.0.energy_mwh", 1), "eacs[0] (id 'e1')", "energy_mwh", "not both"),
        (_set("eacs.0.type", "TREC"), "eacs[0] (id 'e1')", "type", "REC, GO, I-REC"),
        (_set("eacs.0.tracking_id", _DEL), "eacs[0] (id 'e1')", "tracking_id", "is required"),
        (_set("eacs.0.vintage", "last year"), "eacs[0] (id 'e1')", "vintage", "generation year"),
        (_set("eacs.0.region", "Atlantis"), "eacs[0] (id 'e1')", "region", "unknown region"),
        (_set("eacs.0.colour", "green"), "eacs[0] (id 'e1')", "colour", "unknown field"),
        (
            _set("ppas.0.factor_g_per_kwh", "zero"),
            "ppas[0] (id 'p1')",
            "factor_g_per_kwh",
            "not a number",
        ),
        (
            _set("ppas.0.factor_g_per_kwh", _DEL),
            "ppas[0] (id 'p1')",
            "factor_g_per_kwh",
            "is required",
        ),
        (_set("ppas.0.source", ""), "ppas[0] (id 'p1')", "source", "is required"),
        (_set("ppas.0.id", "e1"), "eacs[0] (id 'e1')", "id", "also used by ppas[0]"),
        (_set("residual_mix.low_g_per_kwh", 600), "residual_mix", "low_g_per_kwh", "above"),
        (_set("residual_mix.label", "guessed"), "residual_mix", "label", "not one of"),
        (_set("residual_mix.source", _DEL), "residual_mix", "source", "is required"),
        (_set("reporting_period.to_utc", "2020-01-01"), "reporting_period", "to_utc", "after"),
        (_set("consumption.energy_mwh", 0), "consumption", "energy_mwh", "> 0"),
        (_set("matching", "daily"), None, "matching", "annual or hourly"),
        (_set("format", "other"), None, "format", "infercarbon-instruments"),
        (_set("region", _DEL), None, "region", "is required"),
    ],
)
def test_malformed_entries_name_file_entry_and_field(
    tmp_path: Path, edit: Any, where: str | None, field: str, text: str
) -> None:
    doc = _base_doc()
    edit(doc)
    p = _write(tmp_path, doc)
    with pytest.raises(InstrumentsFileError) as ei:
        load_instruments(p)
    msg = str(ei.value)
    assert msg.startswith(f"file {p}")
    if where:
        assert f"entry {where}" in msg
    assert f"field {field!r}" in msg and text in msg
    assert isinstance(ei.value, ParseError) and ei.value.column == field


def test_duplicate_tracking_id_is_double_counting(tmp_path: Path) -> None:
    doc = _base_doc()
    doc["eacs"].append({**doc["eacs"][0], "id": "e2"})
    with pytest.raises(InstrumentsFileError, match="retired only once"):
        load_instruments(_write(tmp_path, doc))


def test_not_json_and_missing_files(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"format": ')
    with pytest.raises(InstrumentsFileError, match=r"not valid JSON.*line 1"):
        load_instruments(p)
    with pytest.raises(InputError, match="does not exist"):
        load_instruments(tmp_path / "none.json")
    (tmp_path / "x.yaml").write_text("a: 1")
    with pytest.raises(InputError, match=r"\.json or \.csv"):
        load_instruments(tmp_path / "x.yaml")


def test_profiles_must_cover_the_consumption(tmp_path: Path) -> None:
    (tmp_path / "cons.csv").write_text(
        "time_utc,kwh\n2021-03-01T00:00Z,10\n2021-03-01T01:00Z,10\n2021-03-01T02:00Z,10\n"
    )
    (tmp_path / "prof.csv").write_text("time_utc,kwh\n2021-03-01T00:00Z,4\n2021-03-01T01:00Z,20\n")
    doc = _base_doc()
    doc["consumption"] = {"csv": "cons.csv"}
    doc["matching"] = "hourly"
    doc["ppas"][0] = {
        "id": "p1",
        "region": "ERCOT",
        "vintage": 2021,
        "factor_g_per_kwh": 0,
        "source": "test",
        "profile_csv": "prof.csv",
    }
    del doc["eacs"]
    f = load_instruments(_write(tmp_path, doc))
    with pytest.raises(InstrumentsFileError, match=r"prof.csv.*2021-03-01T02:00:00Z"):
        market_from_instruments(f)
    doc["ppas"][0]["energy_kwh"] = 30
    with pytest.raises(InstrumentsFileError, match="differs from its profile's total"):
        load_instruments(_write(tmp_path, doc))
    doc["ppas"][0]["energy_kwh"] = 24
    doc["ppas"][0]["profile_csv"] = "missing.csv"
    with pytest.raises(InstrumentsFileError, match=r"missing\.csv does not exist"):
        load_instruments(_write(tmp_path, doc))


@pytest.mark.parametrize(
    ("body", "row", "column", "text"),
    [
        ("time_utc,kwh\n2021-01-01T00:00Z,1\n2021-01-01T01:00Z,x\n", 3, "kwh", "not a number"),
        ("time_utc,kwh\n2021-01-01T01:00Z,1\n2021-01-01T00:00Z,1\n", 3, "time_utc", "increase"),
        ("time_utc,kwh\n2021-01-01T00:00Z,1\nlater,1\n", 3, "time_utc", "ISO 8601"),
        ("time_utc,kwh\n2021-01-01T00:00+02:00,1\n2021-01-01T01:00Z,1\n", 2, "time_utc", "UTC"),
        ("time_utc,kwh\n2021-01-01T00:00Z,-1\n2021-01-01T01:00Z,1\n", 2, "kwh", ">= 0"),
        ("time,kwh\n2021-01-01T00:00Z,1\n", 1, "time_utc", "missing column"),
        ("time_utc,kwh\n2021-01-01T00:00Z,1,2\n", 2, None, "fields"),
    ],
)
def test_consumption_csv_errors_name_row_and_column(
    tmp_path: Path, body: str, row: int, column: str | None, text: str
) -> None:
    p = tmp_path / "c.csv"
    p.write_text(body)
    with pytest.raises(ParseError) as ei:
        read_consumption_csv(p)
    assert ei.value.path == str(p) and ei.value.row == row and ei.value.column == column
    assert text in str(ei.value)


def test_consumption_csv_gaps_are_warned_not_zero_filled(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("time_utc,kwh\n2021-01-01T00:00Z,1\n2021-01-01T01:00Z,2\n2021-01-01T04:00Z,3\n")
    with pytest.warns(DataQualityWarning, match="2 missing 3600 s intervals"):
        c = read_consumption_csv(p)
    assert c.resolution_s == 3600 and c.total_kwh == 6.0 and len(c.kwh) == 3
    assert str(c.to_utc) == "2021-01-01T05:00:00"


def test_csv_list_errors_name_the_row(tmp_path: Path) -> None:
    p = tmp_path / "i.csv"
    p.write_text(
        "entry,id,type,energy_mwh,region,vintage,factor_g_per_kwh,tracking_id,source\n"
        "eac,a,REC,1,ERCOT,2021,0,T-a,test\n"
        "swap,b,REC,1,ERCOT,2021,0,T-b,test\n"
    )
    with pytest.raises(InstrumentsFileError, match=r"row 3.*'entry'.*not one of"):
        load_instruments(p)
    p.write_text("entry,id,colour\nppa,a,green\n")
    with pytest.raises(InstrumentsFileError, match=r"row 1.*'colour'"):
        load_instruments(p)


@settings(max_examples=30, deadline=None)
@given(st.floats(1.0, 1e4), st.floats(0.0, 2e4), st.floats(0.0, 2e4), st.floats(0.0, 1e3))
def test_file_result_is_the_hierarchy(
    cons_mwh: float, ppa_mwh: float, eac_mwh: float, residual: float
) -> None:
    doc = _base_doc()
    doc["consumption"] = {"energy_mwh": cons_mwh}
    doc["ppas"][0]["energy_mwh"] = ppa_mwh
    doc["eacs"][0].pop("energy_kwh")
    doc["eacs"][0]["energy_mwh"] = eac_mwh
    doc["residual_mix"]["factor_g_per_kwh"] = residual
    with tempfile.TemporaryDirectory() as d:
        r = market_from_instruments(load_instruments(_write(Path(d), doc)))
    uncovered = max(0.0, cons_mwh - ppa_mwh - eac_mwh)
    assert r.figure.value == pytest.approx(uncovered * residual / cons_mwh, abs=1e-9)
    assert sum(r.coverage_kwh.values()) == pytest.approx(cons_mwh * 1000)
    assert r.coverage_kwh["ppa"] == pytest.approx(min(ppa_mwh, cons_mwh) * 1000)
