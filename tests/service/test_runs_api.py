"""POST /v1/runs and GET /v1/runs, GET /v1/programme/drivers: tenant-scoped, validated with
the field named, idempotent, all or nothing; the dashboard serves the programme panel."""

from __future__ import annotations

from typing import Any

RUN = {
    "kind": "train",
    "model": "m",
    "status": "failed",
    "exit_code": 1,
    "start_utc": "2026-07-01T00:00:00Z",
    "end_utc": "2026-07-01T01:00:00Z",
    "energy_j": 3.6e6,
    "method": "nvml",
    "label": "measured",
    "source": "api",
    "region": "DEU",
    "gpu_hours": 4.0,
}


def test_post_and_get_runs(env: Any) -> None:
    ok = {
        **RUN,
        "status": "succeeded",
        "exit_code": 0,
        "start_utc": "2026-07-01T02:00:00Z",
        "end_utc": "2026-07-01T03:00:00Z",
    }
    r = env.client.post("/v1/runs", json=[RUN, ok], headers=env.acme)
    assert r.status_code == 200 and r.json() == {"received": 2, "inserted": 2, "duplicates": 0}
    assert env.client.post("/v1/runs", json=[RUN], headers=env.acme).json()["duplicates"] == 1
    got = env.client.get("/v1/runs", headers=env.acme).json()
    assert [x["status"] for x in got["rows"]] == ["succeeded", "failed"]  # newest first
    (line,) = got["training"]
    assert line["all_failed_share_frac"] == 0.5 and line["training_g"] > 0
    assert env.client.get("/v1/runs", headers=env.beta).json()["rows"] == []
    d = env.client.get("/v1/programme/drivers", headers=env.acme).json()["drivers"]
    assert next(x for x in d if x["driver"] == "failed_runs")["value"] == 0.5


def test_bad_runs_are_refused_whole(env: Any) -> None:
    r = env.client.post("/v1/runs", json=[RUN, {**RUN, "kind": "pretrain"}], headers=env.acme)
    assert r.status_code == 422 and "kind" in r.text
    assert env.store.count("runs") == 0
    r = env.client.post("/v1/runs", json={"kind": "train"}, headers=env.acme)
    assert r.status_code == 422
    r = env.client.post("/v1/runs", json=[{**RUN, "tenant": "beta"}], headers=env.acme)
    assert r.status_code == 403 and env.store.count("runs") == 0
    r = env.client.post("/v1/runs", json=[RUN], headers=env.admin)  # admin names the tenant
    assert r.status_code == 422 and "tenant" in r.text


def test_dashboard_has_the_programme_panel(env: Any) -> None:
    page = env.client.get("/")
    assert 'id="programme-panel"' in page.text and "/static/programme.js" in page.text
    assert env.client.get("/static/programme.js").status_code == 200
