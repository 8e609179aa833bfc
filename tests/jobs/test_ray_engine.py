"""The Ray engine gives the local engine's figures; a CLI run on Ray is recorded and verifies.

One local Ray (2 CPUs, no dashboard) for the module: Ray starts slowly, so the Ray cases are
few (equivalence, conservation, one CLI run)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from infercarbon.accounting.profiles import ProfileSet
from infercarbon.cli.main import main
from infercarbon.errors import InputError
from infercarbon.jobs import get_engine, run_account, run_attribute, run_rollup
from infercarbon.jobs.synthetic import synthetic_fleet

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a local Ray starts in a few seconds


@pytest.fixture(scope="module")
def ray_engine() -> Iterator[object]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        yield get_engine("ray")
    finally:
        ray.shutdown()


def _by_event(t, col):
    ev = t.filter(pc.equal(t["row_kind"], "event")) if "row_kind" in t.column_names else t
    ev = ev.sort_by("event_id")
    return ev["event_id"].to_pylist(), np.asarray(ev[col].to_numpy(zero_copy_only=False))


def test_ray_matches_local_within_1e_9_j_and_conserves_energy(ray_engine):
    f = synthetic_fleet(devices=6, events_per_device=300, hours=2, seed=11)
    local = run_attribute(f["events"], f["readings"], engine=get_engine("local"), window_s=900.0)
    on_ray = run_attribute(f["events"], f["readings"], engine=ray_engine, window_s=900.0)
    ids_l, e_l = _by_event(local, "energy_j")
    ids_r, e_r = _by_event(on_ray, "energy_j")
    assert ids_l == ids_r and len(ids_l) == f["events"].num_rows
    assert np.abs(e_l - e_r).max() <= 1e-9
    # per device: events + unattributed idle = the readings' energy
    g = on_ray.group_by("device").aggregate([("energy_j", "sum")]).to_pylist()
    r = (
        f["readings"]
        .group_by("device")
        .aggregate([("cumulative_j", "max"), ("cumulative_j", "min")])
        .to_pylist()
    )
    measured = {x["device"]: x["cumulative_j_max"] - x["cumulative_j_min"] for x in r}
    for x in g:
        assert x["energy_j_sum"] == pytest.approx(measured[x["device"]], rel=1e-12)
    fp_l, _ = run_account(local, f["intensity"], engine=get_engine("local"), profiles=ProfileSet())
    fp_r, _ = run_account(on_ray, f["intensity"], engine=ray_engine, profiles=ProfileSet())
    for col in ("energy_j", "total_location_g", "total_market_high_g"):
        a, b = _by_event(fp_l, col)[1], _by_event(fp_r, col)[1]
        assert np.abs(a - b).max() <= 1e-9 * max(1.0, float(np.abs(a).max()))
    # the same rows in the same order, whatever the engine and the cut into parts
    assert on_ray.equals(local)
    assert fp_r.equals(fp_l)
    # rollups: the same groups; sums within float rounding (the parts add in another order)
    r_r = run_rollup(fp_r, engine=ray_engine)
    r_l = run_rollup(fp_l, engine=get_engine("local"))
    assert r_r.select(["day_utc", "region", "tenant", "events"]).equals(
        r_l.select(["day_utc", "region", "tenant", "events"])
    )
    for col in ("energy_j", "total_location_g", "total_market_high_g"):
        np.testing.assert_allclose(r_r[col].to_numpy(), r_l[col].to_numpy(), rtol=1e-12)


def test_the_ray_data_api_gives_the_same_rows_in_the_parts_order(ray_engine):
    # the same local Ray; the parts launched as Ray Data map_batches tasks instead of tasks
    data = get_engine("ray", api="data")
    assert data.parallelism == ray_engine.parallelism == 2
    f = synthetic_fleet(devices=5, events_per_device=200, hours=1, seed=3)
    att = run_attribute(f["events"], f["readings"], engine=data, window_s=600.0, split="tokens")
    ref = run_attribute(
        f["events"], f["readings"], engine=get_engine("local"), window_s=600.0, split="tokens"
    )
    assert att.equals(ref)
    fp, ctx = run_account(att, f["intensity"], engine=data, profiles=ProfileSet())
    fp_t, ctx_t = run_account(att, f["intensity"], engine=ray_engine, profiles=ProfileSet())
    assert fp.equals(fp_t) and ctx.equals(ctx_t)
    with pytest.raises(InputError, match="api"):
        get_engine("ray", api="spark")


def test_cli_run_on_ray_is_recorded_and_verifies(ray_engine, tmp_path, capsys):
    f = synthetic_fleet(devices=3, events_per_device=100, hours=1, seed=5)
    for name, t in f.items():
        pq.write_table(t, tmp_path / f"{name}.parquet")
    lake = str(tmp_path / "lake")
    code = main(
        [
            "attribute",
            "--engine",
            "ray",
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
    assert code == 0
    run = json.loads(capsys.readouterr().out)["run_id"]
    code = main(
        [
            "account",
            "--engine",
            "ray-data",  # the Ray Data api: the same rows
            "--catalog",
            lake,
            "--attributions",
            "iceberg:attributions",
            "--intensity",
            str(tmp_path / "intensity.parquet"),
            "--out",
            "iceberg:footprints",
        ]
    )
    assert code == 0
    acc = json.loads(capsys.readouterr().out)
    assert acc["footprints"] == 300
    code = main(["audit", "verify", "--engine", "ray", "--run", run, "--catalog", lake])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith(f"ok: run {run} (attribute)")
    code = main(["audit", "verify", "--run", acc["run_id"], "--catalog", lake, "--json"])
    res = json.loads(capsys.readouterr().out)
    assert code == 0 and res["ok"] and res["checked"] == 300 and res["max_abs_diff_j"] == 0.0
