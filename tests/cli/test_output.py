"""CLI output for people and pipes: human units, and tables that never break a number."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infercarbon.cli._common import (
    TextTable,
    check_table_format,
    human_energy_j,
    human_mass_g,
    print_table,
)
from infercarbon.cli.main import main
from infercarbon.errors import InputError

_UNIT_G = {"t": 1e6, "kg": 1e3, "g": 1.0, "mg": 1e-3, "µg": 1e-6, "ng": 1e-9}
_UNIT_J = {"MWh": 3.6e9, "kWh": 3.6e6, "Wh": 3600.0, "mWh": 3.6, "µWh": 3.6e-3, "nWh": 3.6e-6}


@pytest.mark.parametrize(
    ("x_g", "text"),
    [
        (6.017e-5, "60.17 µg"),
        (0.0123, "12.3 mg"),
        (0.5, "500 mg"),
        (1.0, "1 g"),
        (29.46, "29.46 g"),
        (32_260.0, "32.26 kg"),
        (2.5e6, "2.5 t"),
        (0.0, "0 g"),
        (float("nan"), "n/a"),
    ],
)
def test_human_mass(x_g: float, text: str) -> None:
    assert human_mass_g(x_g) == text


@pytest.mark.parametrize(
    ("x_j", "text"),
    [
        (216.6, "60.17 mWh"),
        (3.6e6, "1 kWh"),
        (3600.0, "1 Wh"),
        (1.8, "500 µWh"),
        (0.0, "0 Wh"),
    ],
)
def test_human_energy(x_j: float, text: str) -> None:
    assert human_energy_j(x_j) == text


@given(st.floats(min_value=1e-8, max_value=1e8))
def test_human_units_read_back_to_the_value(x: float) -> None:
    for text, units, value in ((human_mass_g(x), _UNIT_G, x), (human_energy_j(x), _UNIT_J, x)):
        number, unit = text.split(" ")
        back = float(number) * units[unit]
        assert back == pytest.approx(value, rel=1e-3)
        assert 1 <= abs(float(number)) < 1000 or unit in ("ng", "nWh", "t", "MWh")


def _table() -> TextTable:
    t = TextTable("demo", ["name", "value", "note"], numeric=frozenset({"value"}))
    t.add_row("a", "1.247e-04", "tab\there")
    t.add_row("total", "12.3 mg", "", bold=True)
    return t


def test_plain_table_aligns_and_keeps_numbers_whole(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(_table(), "auto")  # capsys is not a terminal: plain aligned text
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "demo"
    assert out[1].split() == ["name", "value", "note"]
    assert out[3].startswith("a      1.247e-04")
    assert out[4].rstrip() == "total    12.3 mg"


def test_tsv_and_json_tables(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(_table(), "tsv")
    assert (
        capsys.readouterr().out == "name\tvalue\tnote\na\t1.247e-04\ttab here\ntotal\t12.3 mg\t\n"
    )
    print_table(_table(), "json")
    assert json.loads(capsys.readouterr().out)[1] == {
        "name": "total",
        "value": "12.3 mg",
        "note": "",
    }


def test_a_row_must_fill_the_columns() -> None:
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        _table().add_row("x", "y")


def test_format_is_checked() -> None:
    assert check_table_format(None) == "auto"
    with pytest.raises(InputError, match="--format"):
        check_table_format("xml")


def test_estimate_redirected_prints_every_number_whole(tmp_path: Path) -> None:
    """``infercarbon estimate --workload WL-02 --tier T1 --region GB > out.txt``."""
    out_txt = tmp_path / "out.txt"
    with out_txt.open("w") as fh:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "infercarbon.cli.main",
                "estimate",
                "--workload",
                "WL-02",
                "--tier",
                "T1",
                "--region",
                "GB",
            ],
            stdout=fh,
            check=True,
            env={"COLUMNS": "80", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        )
    text = out_txt.read_text("utf-8")
    assert "│" not in text and "┃" not in text  # no box drawing in a file
    lines = text.splitlines()
    total = next(line for line in lines if line.startswith("total (location)"))
    assert re.fullmatch(r"total \(location\)\s+204\.6 µg\s+\S+ µg\s+\S+ µg", total), total
    # no number is cut at a line end: no line ends in a digit followed by a broken exponent
    assert not any(re.search(r"\d\.\d*e-0?$", line) for line in lines)
    assert "IT energy 1.8 J (500 µWh)" in text


def test_estimate_formats(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["estimate", "--workload", "WL-02", "--tier", "T1", "--region", "GB"]
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total_location_g"] == pytest.approx(2.046e-4, rel=1e-3)
    assert main([*args, "--format", "tsv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Line items, CO2e per inference")
    assert "total (location)\t204.6 µg\t" in out
    assert "\n# Assumptions\ninput\tvalue\t" in out
    assert main([*args, "--format", "xml"]) == 2


def test_every_estimate_option_names_its_unit_or_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--help"]) == 0
    helptext = " ".join(capsys.readouterr().out.split())
    for opt, unit in (
        ("--idle-power-w", "[W]"),
        ("--payload-bytes", "[bytes]"),
        ("--embodied-kg", "[kg CO2e]"),
        ("--lifetime-years", "[years]"),
        ("--outcome-name", "[text]"),
        ("--energy-j", "[J]"),
        ("--training-t", "[t CO2e]"),
    ):
        at = helptext.index(opt)
        assert unit in helptext[at : at + 300], opt


@pytest.mark.parametrize(
    ("argv", "header"),
    [
        (["regions", "list", "--search", "norway"], "id\tname\tkind\tg/kWh\trange\tbasis\tvintage"),
        (["sensors"], "source\tavailable\treason"),
    ],
)
def test_tables_as_tsv_and_as_plain_text(
    capsys: pytest.CaptureFixture[str], argv: list[str], header: str
) -> None:
    assert main([*argv, "--format", "tsv"]) == 0
    tsv = capsys.readouterr().out.splitlines()
    assert header in tsv
    first = tsv.index(header)
    assert all(line.count("\t") == header.count("\t") for line in tsv[first:])
    assert main(argv) == 0  # redirected: aligned text, one line per row, same rows
    plain = capsys.readouterr().out.splitlines()
    assert plain[
        plain.index(next(x for x in plain if x.split()[:2] == header.split("\t")[:2])) + 1
    ].startswith("--")
    assert len([x for x in tsv[first + 1 :] if x]) <= len(plain)
