"""``infercarbon idle measure``: errors name the option; a run reports what it did."""

from __future__ import annotations

from infercarbon.cli.main import main


def test_bad_times_and_window_are_named(capsys, tmp_path):
    ledger = str(tmp_path / "l.duckdb")
    code = main(
        [
            "idle",
            "measure",
            "--ledger",
            ledger,
            "--device",
            "gpu0",
            "--from",
            "soon",
            "--to",
            "2026-07-02",
        ]
    )
    assert code == 2 and "--from" in capsys.readouterr().err
    code = main(
        [
            "idle",
            "measure",
            "--ledger",
            ledger,
            "--device",
            "gpu0",
            "--from",
            "2026-07-02",
            "--to",
            "2026-07-01",
        ]
    )
    assert code == 2 and "--to" in capsys.readouterr().err
    code = main(
        [
            "idle",
            "measure",
            "--ledger",
            ledger,
            "--device",
            "gpu0",
            "--from",
            "2026-07-01",
            "--to",
            "2026-07-02",
            "--window",
            "5 minutes",
        ]
    )
    assert code == 2 and "--window" in capsys.readouterr().err


def test_a_ledger_without_readings_changes_nothing(capsys, tmp_path):
    ledger = str(tmp_path / "l.duckdb")
    code = main(
        [
            "idle",
            "measure",
            "--ledger",
            ledger,
            "--device",
            "gpu0",
            "--from",
            "2026-07-01",
            "--to",
            "2026-07-02",
        ]
    )
    assert code == 0
    assert "idle measured for 0 of 0 footprint(s) of gpu0" in capsys.readouterr().out
