"""Authorisation matrix: every endpoint x {no key, wrong tenant, right tenant, admin}.

Tenant data is acme's.  "wrong tenant" is beta's key aimed at acme's data (explicitly, with
``?tenant=acme``, an acme event or an acme footprint id).  Shared endpoints (grid data,
regions, methodology, whoami, schedule, route) carry no tenant data: any valid key may read
them.
"""

from __future__ import annotations

import pytest

# (method, path, body) -> expected status for (none, wrong, right, admin)
MATRIX = {
    ("POST", "/v1/events"): (401, 403, 200, 200),
    ("GET", "/v1/events?tenant=acme"): (401, 403, 200, 200),
    ("GET", "/v1/footprints?tenant=acme"): (401, 403, 200, 200),
    ("GET", "/v1/footprints/{fid}"): (401, 404, 200, 200),
    ("GET", "/v1/summary?tenant=acme"): (401, 403, 200, 200),
    ("POST", "/v1/whatif"): (401, 403, 200, 200),
    ("GET", "/v1/whoami"): (401, 200, 200, 200),
    ("GET", "/v1/intensity/heatmap"): (401, 200, 200, 200),
    ("GET", "/v1/regions"): (401, 200, 200, 200),
    ("GET", "/v1/methodology"): (401, 200, 200, 200),
    ("GET", "/metrics"): (401, 403, 403, 200),
    ("GET", "/v1/profiles"): (401, 200, 200, 200),
    ("PUT", "/v1/profiles"): (401, 403, 403, 200),
    ("POST", "/v1/readings"): (401, 403, 403, 200),
    ("GET", "/v1/report?period=2026-07&tenant=acme"): (401, 403, 200, 200),
    ("GET", "/v1/audit/verify?tenant=acme"): (401, 403, 200, 200),
    ("GET", "/v1/audit/footprints/{fid}"): (401, 404, 200, 200),
    ("GET", "/v1/footprints/list?tenant=acme"): (401, 403, 200, 200),
    ("GET", "/v1/traces?tenant=acme"): (401, 403, 200, 200),
    ("POST", "/v1/schedule"): (401, 200, 200, 200),
    ("GET", "/v1/route?regions=FR,PL"): (401, 200, 200, 200),
    ("GET", "/v1/rebound?tenant=acme"): (401, 403, 200, 200),
    ("POST", "/v1/runs"): (401, 403, 200, 200),
    ("GET", "/v1/runs?tenant=acme"): (401, 403, 200, 200),
    ("GET", "/v1/programme/drivers?tenant=acme"): (401, 403, 200, 200),
}
RUN = {
    "tenant": "acme",
    "kind": "train",
    "model": "m",
    "status": "failed",
    "start_utc": "2026-07-01T00:00:00Z",
    "end_utc": "2026-07-01T01:00:00Z",
    "energy_j": 3.6e6,
    "method": "test",
    "label": "measured",
    "source": "test",
}
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/static"),
}
WHO = ("none", "wrong", "right", "admin")


@pytest.fixture
def seeded(env, h):
    r = env.client.post("/v1/events", json=[h.event(i) for i in range(5)], headers=env.acme)
    assert r.status_code == 200
    env.client.post("/v1/events", json=[h.event(50, tenant="beta")], headers=env.beta)
    fid = env.store.footprint_ids(tenant="acme")[0]
    return env, fid


def _headers(env, who):
    return {"none": {}, "wrong": env.beta, "right": env.acme, "admin": env.admin}[who]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_matrix(seeded, h, endpoint, who):
    env, fid = seeded
    method, path = endpoint
    path = path.replace("{fid}", fid)
    expected = MATRIX[endpoint][WHO.index(who)]
    before = env.store.count("events")
    if method == "POST" and path == "/v1/events":
        r = env.client.post(path, json=[h.event(900, tenant="acme")], headers=_headers(env, who))
    elif method == "POST" and path == "/v1/readings":
        r = env.client.post(
            path,
            json=[
                {
                    "device": "gpu0",
                    "t_utc": "2026-07-01T00:00:00Z",
                    "cumulative_j": 5.0,
                    "source": "nvml",
                    "method": "measured-counter",
                }
            ],
            headers=_headers(env, who),
        )
    elif method == "POST" and path == "/v1/schedule":
        r = env.client.post(
            path,
            json={
                "region": "ERCOT",
                "energy_kwh": 1,
                "duration": "1h",
                "signal": "location",
                "earliest_utc": "2021-07-15T00:00:00Z",
                "deadline_utc": "2021-07-15T06:00:00Z",
            },
            headers=_headers(env, who),
        )
    elif method == "POST" and path == "/v1/runs":
        r = env.client.post(path, json=[RUN], headers=_headers(env, who))
    elif method == "POST":
        r = env.client.post(
            path, json={"tenant": "acme", "region": "FR"}, headers=_headers(env, who)
        )
    elif method == "PUT":
        r = env.client.put(path, json={"profiles": []}, headers=_headers(env, who))
    else:
        r = env.client.get(path, headers=_headers(env, who))
    assert r.status_code == expected, (endpoint, who, r.text)
    if expected >= 400:
        assert env.store.count("events") == before  # a refused request writes nothing
        assert '"e0"' not in r.text  # no acme event leaks in an error body
    if expected == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_tenant_reads_only_its_own_rows(seeded):
    env, _ = seeded
    rows = env.client.get("/v1/events?limit=100", headers=env.beta).json()["rows"]
    assert {r["tenant"] for r in rows} == {"beta"}
    rows = env.client.get("/v1/events?limit=100", headers=env.admin).json()["rows"]
    assert {r["tenant"] for r in rows} == {"acme", "beta"}
    s = env.client.get("/v1/summary", headers=env.beta).json()
    assert s["events"] == 1
    f = env.client.get("/v1/footprints?group=tenant", headers=env.beta).json()
    assert {r["key"] for r in f["rows"]} == {"beta"}


def test_bad_and_revoked_keys(seeded):
    env, _ = seeded
    for value in ("Bearer", "Basic abc", "Bearer ic_zzz_yyy", "Bearer ic_0123456789ab_" + "x" * 43):
        assert env.client.get("/v1/whoami", headers={"Authorization": value}).status_code == 401
    key_id = env.client.get("/v1/whoami", headers=env.acme).json()["key_id"]
    env.keys.revoke(key_id)
    r = env.client.get("/v1/whoami", headers=env.acme)
    assert r.status_code == 401 and "revoked" in r.text


def test_every_route_is_in_the_matrix(env):
    paths = env.client.get("/openapi.json").json()["paths"]
    routes = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    covered = {(m, p.split("?")[0].replace("{fid}", "{footprint_id}")) for m, p in MATRIX}
    assert routes - PUBLIC == covered
