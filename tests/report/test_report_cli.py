"""`infercarbon report`: files, standard output, and clear errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infercarbon.cli.main import main
from infercarbon.report import read_csv_tables


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_each_format_to_a_file(
    ledger: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for fmt in ("html", "csv", "json"):
        out = tmp_path / f"q3.{fmt}"
        code, _, err = run(
            capsys,
            "--period",
            "2026-Q3",
            "--ledger",
            str(ledger.path),
            "--format",
            fmt,
            "--out",
            str(out),
        )
        assert code == 0, err
        assert f"wrote {out} ({fmt}, period 2026-Q3, 30 inference(s), status: ok)" in err
        text = out.read_text(encoding="utf-8")
        if fmt == "html":
            assert text.startswith("<!DOCTYPE html>") and "<svg" in text
        elif fmt == "csv":
            assert read_csv_tables(text)["energy"][0]["value"] == "30"
        else:
            assert json.loads(text)["report"]["period"]["label"] == "2026-Q3"


def test_json_to_stdout_with_tenant(ledger: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "--period",
        "2026-07..2026-09",
        "--ledger",
        str(ledger.path),
        "--format",
        "json",
        "--tenant",
        "globex",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["report"]["tenant"] == "globex"
    assert doc["tables"]["energy"]["rows"][0]["value"] == 9


def test_ledger_from_environment(
    ledger: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERCARBON_LEDGER", str(ledger.path))
    code, out, err = run(capsys, "--period", "2025", "--format", "csv")
    assert code == 0, err
    assert "no inferences in period" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-Q7"], "error: period: '2026-Q7' is not a period: quarter must be"),
        (
            ["--period", "2026-Q3", "--format", "pdf"],
            "error: format: must be one of html, csv, json",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    ledger: Any, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args, "--ledger", str(ledger.path))
    assert code == 2 and out == ""
    assert err.startswith(message)


def test_missing_ledger_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INFERCARBON_LEDGER", raising=False)
    missing = tmp_path / "nope.duckdb"
    code, _, err = run(capsys, "--period", "2026", "--ledger", str(missing))
    assert code == 2 and "ledger: no ledger file" in err and not missing.exists()
    code, _, err = run(capsys, "--period", "2026")
    assert code == 2 and "give --ledger" in err
