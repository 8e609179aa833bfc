"""End to end through the CLI: measure --ledger records failed and succeeded runs; programme
gaps / maturity / plan / estimate / init / import / fleet / drivers; the report's training-runs
table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from infercarbon.cli.main import main
from infercarbon.ledger import open_store

DATA = Path(__file__).parents[1] / "data" / "programme"
CATS = {"training", "inference", "data_infrastructure", "embodied"}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = str(tmp_path / "runs.duckdb")
    for cmd, want in (("false", 1), ("true", 0)):
        code, out, err = cli(
            capsys,
            "measure",
            "--json",
            "--sensor",
            "constant",
            "--tier",
            "T1",
            "--region",
            "DEU",
            "--ledger",
            path,
            "--run-kind",
            "train",
            "--model",
            "m",
            "--",
            sys.executable,
            "-c",
            f"import sys; sys.exit({want})",
        )
        assert code == want, err
        rec = json.loads(out)
        assert rec["run"]["status"] == ("failed" if want else "succeeded"), cmd
    return path


def test_measure_records_one_failed_and_one_succeeded_run(ledger: str) -> None:
    with open_store(ledger) as s:
        rows = s.runs().to_pylist()
    assert sorted(r["status"] for r in rows) == ["failed", "succeeded"]
    r = rows[0]
    assert (r["kind"], r["model"], r["region"], r["label"]) == ("train", "m", "DEU", "illustrative")
    assert r["energy_j"] > 0 and r["energy_low_j"] <= r["energy_j"] <= r["energy_high_j"]
    assert r["emissions_g"] > 0 and r["end_utc"] >= r["start_utc"]
    assert {x["exit_code"] for x in rows} == {0, 1}


def test_measure_run_flags_need_a_ledger(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "measure", "--run-kind", "train", "--", "true")
    assert code == 2 and err.startswith("error:") and "--ledger" in err
    code, _, err = cli(
        capsys, "measure", "--ledger", ":memory:", "--run-kind", "fit", "--model", "m", "--", "true"
    )
    assert code == 2 and "--run-kind" in err


def test_gaps_and_maturity_json(ledger: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "programme", "gaps", "--ledger", ledger, "--json")
    assert code == 0, err
    gaps = json.loads(out)
    assert set(gaps["categories"]) == CATS
    for c in gaps["categories"].values():
        shares = [c["measured_share"], c["modelled_share"], c["excluded_share"]]
        assert all(0.0 <= x <= 1.0 for x in shares) and sum(shares) == pytest.approx(1.0)
    # the runs' modelled energy (constant source); no inference system known: all excluded
    assert gaps["categories"]["training"]["modelled_share"] == 1.0
    assert gaps["categories"]["inference"]["systems"] == 0
    assert gaps["categories"]["inference"]["excluded_share"] == 1.0
    code, out, err = cli(capsys, "programme", "maturity", "--ledger", ledger, "--json")
    assert code == 0, err
    m = json.loads(out)
    assert m["level"] in range(1, 6)
    assert m["criteria"] and all(c["evidence"] for c in m["criteria"])


def test_report_training_runs_failed_share(ledger: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "report", "--ledger", ledger, "--period", "2000..2100", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    rows = doc["tables"]["training_runs"]["rows"]
    assert rows[0]["lineage"] == "m" and rows[0]["failed_share_frac"] == 0.5
    assert rows[-1]["lineage"] == "(all)" and rows[-1]["failed_share_frac"] == 0.5
    assert len(doc["tables"]["hidden_drivers"]["rows"]) == 5
    code, html, _ = cli(
        capsys, "report", "--ledger", ledger, "--period", "2000..2100", "--format", "html"
    )
    assert code == 0 and "Training runs" in html and "Hidden drivers" in html


def test_inventory_system_without_telemetry_in_plan_and_gaps(
    ledger: str, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = str(DATA / "inventory.toml")
    code, out, err = cli(
        capsys, "programme", "plan", "--ledger", ledger, "--inventory", inv, "--json"
    )
    assert code == 0, err
    plan = json.loads(out)
    fraud = [r for r in plan["rows"] if r["system"] == "fraud-scoring"]
    assert {r["category"] for r in fraud} == CATS
    code, out, _ = cli(
        capsys, "programme", "gaps", "--ledger", ledger, "--inventory", inv, "--json"
    )
    gaps = json.loads(out)["categories"]
    named = {
        s
        for c in gaps.values()
        for k in ("measured_systems", "modelled_systems", "excluded_systems")
        for s in c[k]
    }
    assert "fraud-scoring" in named
    code, md, _ = cli(capsys, "programme", "plan", "--ledger", ledger, "--inventory", inv)
    assert code == 0 and md.startswith("# Measurement plan") and "fraud-scoring" in md
    code, page, _ = cli(
        capsys, "programme", "gaps", "--ledger", ledger, "--inventory", inv, "--format", "html"
    )
    assert code == 0 and page.startswith("<!doctype html>") and "fraud-scoring" in page


def test_estimate_with_cloud_exports_and_record(
    ledger: str, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = str(DATA / "inventory.toml")
    code, out, err = cli(
        capsys,
        "programme",
        "estimate",
        "--ledger",
        ledger,
        "--inventory",
        inv,
        "--json",
        "--record",
        "--cloud-export",
        f"aws-ccft={DATA / 'aws_ccft_carbon_emissions.csv'}",
        "--cloud-export",
        f"gcp-carbon-footprint={DATA / 'gcp_carbon_footprint_export.csv'}",
        "--cloud-export",
        f"azure-emissions-impact={DATA / 'azure_emissions_impact.csv'}",
    )
    assert code == 0, err
    est = json.loads(out)
    assert [p["provider"] for p in est["providers"]] == ["aws", "azure", "gcp"]
    assert est["total_t_per_year"] > 0 and "factor of two" in est["warning"]
    code, out, _ = cli(capsys, "programme", "maturity", "--ledger", ledger, "--json")
    crit = next(c for c in json.loads(out)["criteria"] if "estimate" in c["criterion"])
    assert crit["met"] and "recorded" in crit["evidence"]
    code, _, err = cli(capsys, "programme", "estimate", "--cloud-export", "aws-ccft")
    assert code == 2 and "FORMAT=PATH" in err


def test_init_import_fleet_drivers(
    ledger: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "programme", "init", "--ledger", ledger)
    assert code == 0 and 'id = "m"' in out and 'kind = "training-pipeline"' in out
    import tomllib

    assert tomllib.loads(out)["system"][0]["id"] == "m"  # the template parses
    for fmt, name in (
        ("sacct", "sacct_parsable2.txt"),
        ("storage", "storage.csv"),
        ("transfers", "transfers.csv"),
    ):
        code, out, err = cli(
            capsys,
            "programme",
            "import",
            fmt,
            str(DATA / name),
            "--ledger",
            ledger,
            "--model",
            "m",
            "--tz",
            "UTC",
            "--region",
            "DEU",
            "--system",
            "llm-pretrain",
        )
        assert code == 0, err
    code, out, _ = cli(
        capsys,
        "programme",
        "drivers",
        "--ledger",
        ledger,
        "--fleet",
        str(DATA / "fleet.toml"),
        "--json",
    )
    drivers: dict[str, Any] = {d["driver"]: d for d in json.loads(out)}
    assert drivers["data_movement"]["value"] is not None
    assert drivers["embodied_refresh"]["value"] is not None
    assert drivers["failed_runs"]["value"] is not None
    code, out, _ = cli(capsys, "programme", "fleet", str(DATA / "fleet.toml"))
    assert code == 0 and "Refresh schedule" in out
    code, out, _ = cli(capsys, "programme", "training", "--ledger", ledger, "--json")
    (line,) = json.loads(out)
    assert line["all_runs"] == 5 and line["gpu_hours"] == 120.0
