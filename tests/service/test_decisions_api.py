"""POST /v1/schedule, GET /v1/route, GET /v1/rebound and the what-if's tier switch and
volume multiplier."""

from __future__ import annotations

import pytest


def test_schedule_endpoint_matches_the_python_function(env, h):
    import numpy as np

    from infercarbon.decisions.schedule import ScheduleRequest, schedule

    body = {
        "region": "ERCOT",
        "energy_kwh": 10,
        "duration": "2h",
        "signal": "location",
        "earliest_utc": "2021-07-15T12:00:00Z",
        "deadline_utc": "2021-07-16T12:00:00Z",
    }
    r = env.client.post("/v1/schedule", json=body, headers=env.acme)
    assert r.status_code == 200, r.text
    d = r.json()
    ref = schedule(
        ScheduleRequest(
            region="ERCOT",
            energy_kwh=10,
            duration_s=7200,
            earliest_utc=np.datetime64("2021-07-15T12:00"),
            deadline_utc=np.datetime64("2021-07-16T12:00"),
            signal="location",
        )
    ).to_dict()
    for k in (
        "start_utc",
        "end_utc",
        "emissions_g",
        "low_g",
        "high_g",
        "baseline_emissions_g",
        "saving_g",
        "saving_low_g",
        "saving_high_g",
        "signal",
        "source",
    ):
        assert d[k] == ref[k]
    assert d["saving_g"] == d["baseline_emissions_g"] - d["emissions_g"]


def test_schedule_with_a_forecast_body_and_bad_input(env, h):
    fc = {
        "region": "X",
        "kind": "marginal",
        "basis": "direct",
        "resolution_s": 3600,
        "rows": [
            {"time_utc": f"2026-07-01T{k:02d}:00:00Z", "intensity_g_per_kwh": 300 - k}
            for k in range(4)
        ],
    }
    body = {
        "region": "FR",
        "energy_kwh": 1,
        "duration": "1h",
        "earliest_utc": "2026-07-01T00:00:00Z",
        "deadline_utc": "2026-07-01T04:00:00Z",
        "forecast": fc,
    }
    d = env.client.post("/v1/schedule", json=body, headers=env.acme).json()
    assert d["start_utc"] == "2026-07-01T03:00:00Z" and d["step_sources"] == {"forecast": 4}
    bad = env.client.post("/v1/schedule", json={**body, "duration": "soon"}, headers=env.acme)
    assert bad.status_code == 422 and "duration" in bad.text
    naive = env.client.post(
        "/v1/schedule", json={**body, "earliest_utc": "2026-07-01T00:00"}, headers=env.acme
    )
    assert naive.status_code == 422 and "earliest_utc" in naive.text
    assert env.client.post("/v1/schedule", json=body).status_code == 401


def test_route_endpoint(env, h):
    r = env.client.get(
        "/v1/route",
        params={
            "regions": "PL,FR,DE",
            "residency": "EU",
            "max_latency_ms": 30,
            "latency_ms": "FR=40,DE=10,PL=20",
        },
        headers=env.acme,
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["now_utc"] == "2026-07-02T00:00:00Z"  # the service clock
    assert d["region_id"] == "DEU" and d["next_best"] == "POL"
    assert d["margin_low_g_per_kwh"] <= d["margin_g_per_kwh"] <= d["margin_high_g_per_kwh"]
    assert [c["region_id"] for c in d["rejected"]] == ["FRA"]
    bad = env.client.get("/v1/route", params={"regions": "Narnia"}, headers=env.acme)
    assert bad.status_code == 422


def test_rebound_endpoint_is_tenant_scoped(env, h):
    env.client.post("/v1/events", json=[h.event(i) for i in range(8)], headers=env.acme)
    d = env.client.get("/v1/rebound", headers=env.acme).json()
    assert d["method"].startswith("additive LMDI-I")
    assert [r["month"] for r in d["rows"]] == ["2026-07"]
    assert (
        env.client.get("/v1/rebound", params={"tenant": "beta"}, headers=env.acme).status_code
        == 403
    )
    assert env.client.get("/v1/rebound", headers=env.beta).json()["rows"] == []


def test_whatif_tier_switch_and_volume(env, h):
    env.client.post("/v1/events", json=[h.event(i) for i in range(8)], headers=env.acme)
    base = env.client.post("/v1/whatif", json={}, headers=env.acme).json()
    ten = env.client.post("/v1/whatif", json={"volume_multiplier": 10}, headers=env.acme).json()
    b, s = base["baseline"]["location"]["value"], ten["scenario"]["location"]["value"]
    assert s == pytest.approx(10 * b)
    assert ten["energy_j"]["scenario"] == pytest.approx(10 * ten["energy_j"]["baseline"])
    need = env.client.post("/v1/whatif", json={"tier": "T1"}, headers=env.acme)
    assert need.status_code == 422 and "from_tier" in need.text  # device gpu0 is unknown
    t = env.client.post(
        "/v1/whatif", json={"tier": "T1", "from_tier": "T5"}, headers=env.acme
    ).json()
    from infercarbon.decisions.whatif import tier_scale

    k, _, _, _ = tier_scale(["T5"], "T1")
    assert t["scenario"]["location"]["value"] == pytest.approx(
        k[0] * t["baseline"]["location"]["value"]
    )
    a = {x["name"]: x for x in t["assumptions"]}
    assert "vision roofline" in a["tier"]["source"]
    d = t["difference"]["location"]
    assert d["low"] <= d["value"] <= d["high"]


def test_schedule_and_route_use_the_series_the_service_holds(env, h):
    # the env's marginal signal for DE on 2026-07-01: 400 + 150 sin(2 pi h / 24), lowest at 18h
    body = {
        "region": "DE",
        "energy_kwh": 1,
        "duration": "1h",
        "signal": "marginal",
        "earliest_utc": "2026-07-01T00:00:00Z",
        "deadline_utc": "2026-07-02T00:00:00Z",
    }
    d = env.client.post("/v1/schedule", json=body, headers=env.acme).json()
    assert d["step_sources"] == {"service": 24}
    assert d["start_utc"] == "2026-07-01T18:00:00Z"
    assert d["emissions_g"] == pytest.approx(250.0)
    assert "test fixture" in d["source"]
    r = env.client.get(
        "/v1/route", params={"regions": "DE,PL", "signal": "marginal"}, headers=env.acme
    ).json()
    # at the service clock (2026-07-02T00:00Z) the DE signal (48 h from 2026-07-01) holds 400
    assert r["region_id"] == "DEU" and r["intensity_g_per_kwh"] == pytest.approx(400.0)
    assert "service signal" in r["ranked"][0]["source"]
    assert [c["region_id"] for c in r["rejected"]] == ["POL"]
    assert "no marginal signal" in r["rejected"][0]["reason"]
