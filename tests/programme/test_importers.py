"""Importers on fixtures in each tool's documented format (tests/data/programme): CodeCarbon
emissions.csv, Slurm sacct --parsable2 with ConsumedEnergyRaw, a plain runs CSV, and the AWS
CCFT / Google Cloud Carbon Footprint / Microsoft Emissions Impact Dashboard exports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infercarbon.errors import ParseError
from infercarbon.ledger import open_store
from infercarbon.programme import read_cloud_export, read_runs

DATA = Path(__file__).parents[1] / "data" / "programme"


def test_codecarbon() -> None:
    runs = read_runs(
        "codecarbon",
        DATA / "codecarbon_emissions.csv",
        tenant="t",
        model="m",
        kind="train",
        system=None,
        tz="Europe/Berlin",
    )
    assert len(runs) == 2
    r = runs[0]
    # local 10:00 CET = 09:00 UTC, 7,200 s long; 5.9 kWh; 2.242 kg; 4 GPUs x 2 h
    assert r["end_utc"] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert r["start_utc"] == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert r["energy_j"] == pytest.approx(5.9 * 3.6e6)
    assert r["emissions_g"] == pytest.approx(2242.0)
    assert r["gpu_hours"] == pytest.approx(8.0)
    assert (r["region"], r["system"], r["status"]) == ("DEU", "llm-pretrain", "succeeded")
    with open_store(":memory:") as s:
        assert s.append_runs(runs).inserted == 2
        assert s.append_runs(runs).duplicates == 2  # re-importing is a no-op


def test_codecarbon_needs_a_zone_for_local_times() -> None:
    with pytest.raises(ParseError) as info:
        read_runs(
            "codecarbon",
            DATA / "codecarbon_emissions.csv",
            tenant="t",
            model="m",
            kind="train",
            system=None,
            tz=None,
        )
    assert info.value.column == "timestamp" and info.value.row == 2


def test_sacct() -> None:
    runs = read_runs(
        "sacct",
        DATA / "sacct_parsable2.txt",
        tenant="t",
        model="m",
        kind="train",
        system="cluster-a",
        tz="UTC",
        region="DEU",
    )
    assert [r["status"] for r in runs] == ["succeeded", "failed", "killed"]  # RUNNING skipped
    assert [r["energy_j"] for r in runs] == [172_800_000.0, 28_800_000.0, 14_400_000.0]
    assert [r["gpu_hours"] for r in runs] == [96.0, 16.0, 8.0]
    assert [r["exit_code"] for r in runs] == [0, 1, 0]
    assert runs[2]["signal"] == "signal 15"
    with open_store(":memory:") as s:
        s.append_runs(runs)
        assert s.runs().num_rows == 3


def test_plain_csv() -> None:
    runs = read_runs("csv", DATA / "runs.csv", tenant="acme")
    assert [r["run_id"] for r in runs] == ["ft-1", "ev-1"]
    assert runs[0]["lineage"] == "llama-3-8b" and runs[1]["energy_low_j"] is None
    with open_store(":memory:") as s:
        assert s.append_runs(runs).inserted == 2


def test_plain_csv_names_a_bad_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("run_id,kind,energy_kwh\nx,train,1\n")
    with pytest.raises(ParseError) as info:
        read_runs("csv", p, tenant="t")
    assert info.value.column == "energy_kwh"


@pytest.mark.parametrize(
    ("fmt", "name", "location_g", "market_g", "rows"),
    [
        ("aws-ccft", "aws_ccft_carbon_emissions.csv", 1.304e6, 0.223e6, 3),
        ("gcp-carbon-footprint", "gcp_carbon_footprint_export.csv", 405_020.0, 103_020.0, 2),
        ("azure-emissions-impact", "azure_emissions_impact.csv", None, 508_000.0, 3),
    ],
)
def test_cloud_exports(
    fmt: str, name: str, location_g: float | None, market_g: float, rows: int
) -> None:
    got = read_cloud_export(fmt, (DATA / name).read_text(), path=name)
    assert len(got) == rows
    assert got[0]["period_start"] == "2026-04-01"
    loc = [r["location_g"] for r in got if r["location_g"] is not None]
    assert (sum(loc) if loc else None) == (
        None if location_g is None else pytest.approx(location_g)
    )
    assert sum(r["market_g"] for r in got) == pytest.approx(market_g)


def test_cloud_export_in_the_wrong_format() -> None:
    with pytest.raises(ParseError) as info:
        read_cloud_export(
            "gcp-carbon-footprint", (DATA / "aws_ccft_carbon_emissions.csv").read_text()
        )
    assert info.value.column == "usage_month"
