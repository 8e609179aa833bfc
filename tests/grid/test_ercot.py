"""ERCOT Fuel Mix parser on real operator excerpts: DST days, separators, gaps, malformed rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from infercarbon.errors import DataQualityWarning, ParseError
from infercarbon.grid.ercot import (
    combine,
    load_compact,
    read_ercot_fuel_mix,
    save_compact,
    to_hourly,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "grid"
MARCH = DATA / "IntGenByFuel201903_excerpt.tsv"  # 2019-03-09 and the spring-forward day
NOV = DATA / "IntGenByFuel201911_excerpt.tsv"  # 2019-11-02 .. 04, fall-back on the 3rd
HOURLY = DATA / "ercot_hourly_utc_excerpt.csv"  # the resolved hourly file, same hours


def _hourly_ref() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rows = list(csv.DictReader(io.StringIO(HOURLY.read_text(encoding="utf-8"))))
    t = np.array([r["hour_start_utc"].rstrip("Z") for r in rows], dtype="datetime64[s]")
    return t, {
        k[:-4]: np.array([float(r[k]) for r in rows])
        for k in rows[0]
        if k.endswith("_mwh") and k != "total_mwh"
    }


def test_fall_back_day_has_100_intervals_and_matches_hourly_file() -> None:
    mix = read_ercot_fuel_mix(NOV)
    assert len(mix.start_utc) == 96 + 100 + 96
    assert (np.diff(mix.start_utc) == np.timedelta64(900, "s")).all()
    assert len(mix.gaps_utc) == 0
    assert str(mix.start_utc[0]) == "2019-11-02T05:00:00"  # 00:00 CDT
    assert str(mix.start_utc[-1]) == "2019-11-05T05:45:00"  # 23:45 CST
    hours, mwh, _n = to_hourly(mix)
    t, ref = _hourly_ref()
    _, ia, ib = np.intersect1d(hours, t, return_indices=True)
    assert len(ia) == 72 + 1  # 25-hour day
    for k, fuel in enumerate(mix.fuels):
        np.testing.assert_allclose(mwh[ia, k], ref[fuel][ib], atol=1e-6)
    # the repeated hour: plain columns are 01:00 CDT (06Z), DST columns 01:00 CST (07Z)
    coal = mix.fuels.index("Coal")
    h = {str(x): v for x, v in zip(hours, mwh[:, coal], strict=True)}
    assert h["2019-11-03T06:00:00"] == pytest.approx(6873.2)
    assert h["2019-11-03T07:00:00"] == pytest.approx(6564.2)


def test_spring_forward_day_has_92_intervals_and_matches_hourly_file() -> None:
    mix = read_ercot_fuel_mix(MARCH)
    assert len(mix.start_utc) == 96 + 92
    assert (np.diff(mix.start_utc) == np.timedelta64(900, "s")).all()
    i = int(np.searchsorted(mix.start_utc, np.datetime64("2019-03-10T07:45")))
    assert str(mix.start_utc[i + 1]) == "2019-03-10T08:00:00"  # 01:45 CST -> 03:00 CDT
    hours, mwh, _ = to_hourly(mix)
    t, ref = _hourly_ref()
    _, ia, ib = np.intersect1d(hours, t, return_indices=True)
    assert len(ia) == 24 + 23
    for k, fuel in enumerate(mix.fuels):
        np.testing.assert_allclose(mwh[ia, k], ref[fuel][ib], atol=1e-6)


def _tiny(
    cells: str = "1,000.5\t1,000.5", *, date: str = "01/15/2020", fuel: str = "Wind"
) -> io.StringIO:
    return io.StringIO(
        f"Date\tFuel\tSettlement Type\tTotal\t0:15\t0:30\n{date}\t{fuel}\tFINAL\t2,001.0\t{cells}\n"
    )


def test_thousands_separators() -> None:
    text = _tiny("12,345.6\t-1,000").getvalue().replace("2,001.0", "11,345.6")
    mix = read_ercot_fuel_mix(io.StringIO(text), name="t.tsv")
    assert mix.mwh[:, 0].tolist() == [12345.6, -1000.0]


@pytest.mark.parametrize("bad", ["1,23.4", "12a", "1.2.3", "1 000"])
def test_malformed_number_names_row_and_column(bad: str) -> None:
    with pytest.raises(ParseError) as e:
        read_ercot_fuel_mix(_tiny(f"5.0\t{bad}"), name="t.tsv")
    assert (e.value.path, e.value.row, e.value.column) == ("t.tsv", 2, "0:30")
    assert "file t.tsv, row 2, column '0:30'" in str(e.value)


def test_bad_date_and_unknown_fuel() -> None:
    with pytest.raises(ParseError, match="row 2, column 'Date'"):
        read_ercot_fuel_mix(_tiny(date="2020/15/01"), name="t.tsv")
    with pytest.raises(ParseError, match=r"row 2, column 'Fuel'.*unknown fuel 'Fusion'"):
        read_ercot_fuel_mix(_tiny(fuel="Fusion"), name="t.tsv")


def test_unknown_column_and_duplicate_row() -> None:
    with pytest.raises(ParseError, match="row 1, column 'Notes'"):
        read_ercot_fuel_mix(io.StringIO("Date\tFuel\tNotes\n01/15/2020\tWind\tx\n"), name="t")
    text = _tiny().getvalue() + "01/15/2020\tWind\tFINAL\t2.0\t1.0\t1.0\n"
    with pytest.raises(ParseError, match=r"row 3.*duplicate row"):
        read_ercot_fuel_mix(io.StringIO(text), name="t")


def _edit(path: Path, date: str, fuel: str, column: str, value: str) -> io.StringIO:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    j = header.index(column)
    for i, line in enumerate(lines):
        c = line.split("\t")
        if c[0] == date and c[1] == fuel:
            c[j] = value
            lines[i] = "\t".join(c)
    return io.StringIO("\n".join(lines) + "\n")


def test_value_in_nonexistent_spring_interval_is_an_error() -> None:
    with pytest.raises(ParseError, match=r"column '2:15'.*does not exist"):
        read_ercot_fuel_mix(_edit(MARCH, "03/10/2019", "Coal", "2:15", "1.0"), name="m")


def test_dst_column_filled_on_ordinary_day_is_an_error() -> None:
    with pytest.raises(ParseError, match=r"column '01:15 \(DST\)'"):
        read_ercot_fuel_mix(_edit(NOV, "11/04/2019", "Wind", "01:15 (DST)", "1.0"), name="n")


def test_gap_is_warned_recorded_and_left_nan() -> None:
    text = _edit(NOV, "11/03/2019", "Wind", "01:15 (DST)", "")
    with pytest.warns(DataQualityWarning, match="1 empty cells"):
        mix = read_ercot_fuel_mix(text, name="n")
    assert [str(g) for g in mix.gaps_utc] == ["2019-11-03T07:00:00"]
    w = mix.fuels.index("Wind")
    assert np.isnan(mix.mwh[mix.start_utc == mix.gaps_utc[0], w]).all()
    hours, mwh, n = to_hourly(mix)
    j = int(np.flatnonzero(hours == np.datetime64("2019-11-03T07:00"))[0])
    assert n[j] == 3 and np.isnan(mwh[j]).all()  # never a partial hour
    assert any("empty cells" in s for s in mix.notes)


def test_total_mismatch_is_warned() -> None:
    with pytest.warns(DataQualityWarning, match="Total 2001.0 differs"):
        read_ercot_fuel_mix(_tiny("1.0\t1.0"), name="t.tsv")


def test_combine_rejects_overlap_and_warns_on_holes() -> None:
    a = read_ercot_fuel_mix(MARCH)
    with pytest.raises(ParseError, match="two values"):
        combine([a, a])
    b = read_ercot_fuel_mix(NOV)
    with pytest.warns(DataQualityWarning, match="no value for at"):
        both = combine([a, b])
    assert len(both.gaps_utc) == len(both.start_utc) - len(a.start_utc) - len(b.start_utc)


def test_compact_round_trip(tmp_path: Path) -> None:
    with pytest.warns(DataQualityWarning):
        mix = read_ercot_fuel_mix(_edit(NOV, "11/03/2019", "Coal", "3:00", ""), name="n")
    save_compact(mix, tmp_path / "m.npz")
    back = load_compact(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.start_utc, mix.start_utc)
    np.testing.assert_array_equal(back.mwh, mix.mwh)  # exact, NaN in place
    assert back.fuels == mix.fuels
    np.testing.assert_array_equal(back.gaps_utc, mix.gaps_utc)
