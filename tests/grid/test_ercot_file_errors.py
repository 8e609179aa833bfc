"""ERCOT Fuel Mix parser: file-level errors (the header, the row width, the Total cell, an
unreadable file), each naming the file, row and column."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from infercarbon.errors import DataQualityWarning, InputError, ParseError
from infercarbon.grid.ercot import read_ercot_fuel_mix

HEAD = "Date\tFuel\tSettlement Type\tTotal\t0:15\t0:30\n"


def _read(text: str) -> None:
    read_ercot_fuel_mix(io.StringIO(text), name="t.tsv")


@pytest.mark.parametrize(
    ("text", "row", "column", "problem"),
    [
        ("", 1, None, "empty file"),
        ("Date\tTotal\t0:15\n", 1, "Fuel", "lacks a 'Fuel' column"),
        ("Date\tFuel\t0:10\n", 1, "0:10", "not a 15-minute boundary"),
        ("Date\tFuel\tTotal\n", 1, None, "no interval columns"),
        (HEAD, 2, None, "no data rows"),
        (HEAD + "01/15/2020\tWind\tFINAL\t2\t1\t1\t9\n", 2, None, "has 7 fields"),
        (HEAD + "01/15/2020\tWind\tFINAL\ttwo\t1\t1\n", 2, "Total", "'two' is not a number"),
    ],
)
def test_file_errors_name_the_place(text: str, row: int, column: str | None, problem: str) -> None:
    with pytest.raises(ParseError, match=problem) as e:
        _read(text)
    assert (e.value.path, e.value.row, e.value.column) == ("t.tsv", row, column)


def test_a_short_row_is_padded_its_missing_cell_a_gap_its_total_unchecked() -> None:
    # the last interval cell is left off: a gap, and the Total (2.0 vs 2.0 + ?) is not compared
    with pytest.warns(DataQualityWarning, match="1 empty cells"):
        mix = read_ercot_fuel_mix(
            io.StringIO(HEAD + "01/15/2020\tWind\tFINAL\t2.0\t2.0\n"), name="t.tsv"
        )
    assert mix.mwh.shape == (2, 1) and mix.mwh[0, 0] == 2.0
    assert len(mix.gaps_utc) == 1 and not any("differs" in n for n in mix.notes)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read") as e:
        read_ercot_fuel_mix(tmp_path / "missing.tsv")
    assert e.value.field == "path"
    latin = tmp_path / "latin1.tsv"
    latin.write_bytes(HEAD.encode() + "01/15/2020\tWind\tFINAL\t1\t1\t\xe9\n".encode("latin-1"))
    with pytest.raises(ParseError, match="not UTF-8"):
        read_ercot_fuel_mix(latin)
