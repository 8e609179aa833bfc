"""``infercarbon attribute/account/rollup`` and ``lake`` on the local engine: Parquet and
Iceberg in and out, runs recorded and verified, errors named."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pyarrow.parquet as pq

from infercarbon.cli.main import main
from infercarbon.jobs.synthetic import synthetic_fleet


def test_jobs_through_the_lake_and_parquet(tmp_path, capsys):
    f = synthetic_fleet(devices=2, events_per_device=50, hours=1, seed=9)
    for name, t in f.items():
        pq.write_table(t, tmp_path / f"{name}.parquet")
    lake = str(tmp_path / "lake")
    assert main(["lake", "init", "--catalog", lake]) == 0
    capsys.readouterr()
    for t in ("events", "readings"):
        assert main(["lake", "load", t, str(tmp_path / f"{t}.parquet"), "--catalog", lake]) == 0
        assert json.loads(capsys.readouterr().out)["appended"] == f[t].num_rows
    runs = []
    for _ in range(2):
        assert (
            main(
                [
                    "attribute",
                    "--catalog",
                    lake,
                    "--events",
                    "iceberg:events",
                    "--readings",
                    "iceberg:readings",
                    "--window",
                    "5m",
                    "--out",
                    "iceberg:attributions",
                ]
            )
            == 0
        )
        runs.append(json.loads(capsys.readouterr().out)["run_id"])
    # the same figures from the Parquet files as from the lake's tables
    par = str(tmp_path / "par")
    assert (
        main(
            [
                "attribute",
                "--events",
                str(tmp_path / "events.parquet"),
                "--readings",
                str(tmp_path / "readings.parquet"),
                "--window",
                "5m",
                "--out",
                par,
            ]
        )
        == 0
    )
    capsys.readouterr()
    from infercarbon.ledger.lake import open_lake

    stored = open_lake(lake).read("attributions")
    stored = stored.filter(pc.equal(stored["run_id"], runs[1])).drop_columns(["run_id"])
    direct = pq.read_table(tmp_path / "par" / "attributions.parquet").drop_columns(["run_id"])
    key = [
        ("row_kind", "ascending"),
        ("device", "ascending"),
        ("start_utc", "ascending"),
        ("event_id", "ascending"),
    ]
    assert stored.sort_by(key).equals(direct.sort_by(key))
    acc = [
        "account",
        "--catalog",
        lake,
        "--attributions",
        "iceberg:attributions",
        "--intensity",
        str(tmp_path / "intensity.parquet"),
        "--out",
        "iceberg:footprints",
    ]
    assert main(acc) == 2
    assert "--attributions-run" in capsys.readouterr().err
    assert main([*acc, "--attributions-run", runs[1]]) == 0
    run = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["audit", "verify", "--run", run, "--catalog", lake]) == 0
    assert capsys.readouterr().out.startswith("ok:")
    out = str(tmp_path / "out")
    assert (
        main(["rollup", "--catalog", lake, "--footprints", "iceberg:footprints", "--out", out]) == 0
    )
    assert json.loads(capsys.readouterr().out)["groups"] == 2 * 2  # regions x tenants
    assert pq.read_table(tmp_path / "out" / "rollups.parquet").num_rows == 4
    assert main(["lake", "stats", "--catalog", lake]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["footprints"]["rows"] == 100 and stats["footprints"]["bytes_per_row"] > 0
    assert (
        main(
            [
                "attribute",
                "--events",
                str(tmp_path / "events.parquet"),
                "--readings",
                str(tmp_path / "readings.parquet"),
                "--window",
                "soon",
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "window" in capsys.readouterr().err
    assert (
        main(
            [
                "attribute",
                "--events",
                "iceberg:events",
                "--readings",
                str(tmp_path / "readings.parquet"),
                "--out",
                out,
            ]
        )
        == 2
    )
    assert "--catalog" in capsys.readouterr().err


def test_verify_refuses_a_run_whose_parquet_input_changed(tmp_path, capsys):
    f = synthetic_fleet(devices=1, events_per_device=20, hours=1, seed=4)
    for name, t in f.items():
        pq.write_table(t, tmp_path / f"{name}.parquet")
    lake = str(tmp_path / "lake")
    assert (
        main(
            [
                "attribute",
                "--catalog",
                lake,
                "--events",
                str(tmp_path / "events.parquet"),
                "--readings",
                str(tmp_path / "readings.parquet"),
                "--window",
                "15m",
                "--out",
                "iceberg:attributions",
            ]
        )
        == 0
    )
    run = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["audit", "verify", "--run", run, "--catalog", lake]) == 0
    capsys.readouterr()
    pq.write_table(f["events"].slice(1), tmp_path / "events.parquet")
    assert main(["audit", "verify", "--run", run, "--catalog", lake]) == 2
    assert "changed since the run" in capsys.readouterr().err


def test_synthetic_fleet_writes_the_jobs_inputs(tmp_path, capsys):
    """``infercarbon synthetic-fleet`` writes the three inputs the jobs read, the same
    tables as ``synthetic_fleet``; ``attribute`` then conserves each device's energy."""
    out = tmp_path / "fleet"
    assert (
        main(
            [
                "synthetic-fleet",
                "--out",
                str(out),
                "--devices",
                "3",
                "--events-per-device",
                "40",
                "--seed",
                "7",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    want = synthetic_fleet(devices=3, events_per_device=40, hours=1.0, seed=7)
    for name, t in want.items():
        assert doc[name]["rows"] == t.num_rows
        assert pq.read_table(out / f"{name}.parquet").equals(t)
    assert (
        main(
            [
                "attribute",
                "--events",
                str(out / "events.parquet"),
                "--readings",
                str(out / "readings.parquet"),
                "--out",
                str(tmp_path / "att"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    att = pq.read_table(tmp_path / "att" / "attributions.parquet")
    rd = want["readings"]
    for dev in pc.unique(rd.column("device")).to_pylist():
        got = pc.sum(att.filter(pc.equal(att.column("device"), dev)).column("energy_j")).as_py()
        c = rd.filter(pc.equal(rd.column("device"), dev)).column("cumulative_j")
        assert abs(got - (pc.max(c).as_py() - pc.min(c).as_py())) < 1e-6
    assert main(["synthetic-fleet", "--out", str(tmp_path / "x"), "--devices", "0"]) == 2
