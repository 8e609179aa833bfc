"""``infercarbon grid intensity``: the CLI contract on the bundled ERCOT series."""

from __future__ import annotations

import csv
import io
import json

import pytest

from infercarbon.cli.main import main


def test_csv_hourly(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "grid",
            "intensity",
            "--region",
            "ERCOT",
            "--from",
            "2022-01-01",
            "--to",
            "2022-01-02",
            "--basis",
            "lifecycle",
            "--resolution",
            "1h",
            "--format",
            "csv",
        ]
    )
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 24
    assert list(rows[0]) == ["time_utc", "intensity_g_per_kwh", "low", "high"]
    assert rows[0]["time_utc"] == "2022-01-01T00:00:00Z"
    for r in rows:
        assert float(r["low"]) <= float(r["intensity_g_per_kwh"]) <= float(r["high"])


def test_json_15min_direct(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "grid",
            "intensity",
            "--region",
            "ERCOT",
            "--from",
            "2022-05-31T23:00",
            "--to",
            "2022-06-01",
            "--basis",
            "direct",
            "--resolution",
            "15min",
            "--format",
            "json",
        ]
    )
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["basis"] == "direct" and doc["resolution_s"] == 900
    assert [r["time_utc"][11:16] for r in doc["rows"]] == ["23:00", "23:15", "23:30", "23:45"]
    assert doc["provenance"]["label"] == "derived"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "CAISO"], "unknown region 'CAISO'"),
        (["--region", "ERCOT", "--from", "2018-01-01"], "outside the bundled ERCOT series"),
        (["--region", "ERCOT", "--basis", "marginal"], "--basis"),
        (["--region", "ERCOT", "--from", "yesterday"], "--from"),
    ],
)
def test_errors(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    base = {
        "--from": "2022-01-01",
        "--to": "2022-01-02",
        **dict(zip(args[::2], args[1::2], strict=True)),
    }
    argv = ["grid", "intensity"] + [x for kv in base.items() for x in kv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err
