"""The HTTP API: ingest (idempotent, all-or-nothing, 422 naming index and field), queries,
what-if, metrics, audit recompute and crash backfill."""

from __future__ import annotations

import math

from infercarbon.accounting.batch import CALCULATOR, figures_from_inputs
from infercarbon.ledger import audit, open_store


def _recompute(inputs, versions):  # the Recompute protocol of ledger.audit
    assert versions["calculator"] == CALCULATOR
    return figures_from_inputs(inputs)


def test_ingest_is_idempotent_and_computes_footprints(env, h):
    evs = [h.event(i) for i in range(10)]
    r = env.client.post("/v1/events", json=evs, headers=env.acme)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 10, "accepted": 10, "inserted": 10, "duplicates": 0}
    r = env.client.post("/v1/events", json=[*evs[:5], h.event(10)], headers=env.acme)
    assert r.json() == {"received": 6, "accepted": 6, "inserted": 1, "duplicates": 5}
    assert env.store.count("events") == 11
    assert env.store.count("footprints") == 11
    # every stored figure recomputes from its stored inputs
    rep = audit.verify(env.store, _recompute)
    assert rep.ok and rep.checked == 11
    # location figure: energy x PUE 1 / 3.6e6 x the bundled DE intensity
    rows = env.client.get("/v1/events?limit=100", headers=env.acme).json()["rows"]
    e0 = next(r for r in rows if r["event_id"] == "e0")
    from infercarbon.reference.regions import resolve_region

    de = resolve_region("DE").intensity_g_per_kwh.value
    assert math.isclose(e0["location_g"], 100.0 / 3.6e6 * de, rel_tol=1e-12)
    assert e0["market_g"] == e0["location_g"]  # no market instrument: labelled fallback
    # marginal: the hourly fixture at 00:00 (value 400), bounds 0.8x and 1.2x
    assert math.isclose(e0["marginal_g"], 100.0 / 3.6e6 * 400.0, rel_tol=1e-9)
    # the signal's own band (0.8..) and the energy band of the method's class combined
    assert e0["marginal_low_g"] < 0.8 * e0["marginal_g"] < e0["marginal_g"]
    assert e0["latency_s"] == 0.5


def test_bad_batch_names_every_field_and_writes_nothing(env, h):
    evs = [
        h.event(0),
        h.event(1, energy_j=-1),
        h.event(2, region="Narnia"),
        h.event(3, end_utc="2026-06-30T00:00:00Z"),
        h.event(4, start_utc="yesterday"),
    ]
    r = env.client.post("/v1/events", json=evs, headers=env.acme)
    assert r.status_code == 422
    got = {(p["index"], p["field"]) for p in r.json()["detail"]}
    assert (1, "energy_j") in got and (4, "start_utc") in got
    assert (2, "region") in got
    assert env.store.count("events") == 0 and env.store.count("footprints") == 0
    # a region problem alone is found too, and still nothing is written
    r = env.client.post(
        "/v1/events", json=[h.event(0), h.event(3, region="Atlantis")], headers=env.acme
    )
    assert r.status_code == 422
    assert [(p["index"], p["field"]) for p in r.json()["detail"]] == [(1, "region")]
    assert env.store.count("events") == 0


def test_hostile_bodies_are_422_not_5xx(env, h):
    for body in (
        b"not json",
        b"{}",
        b"[1, 2]",
        b'[{"event_id": {"$ne": 1}}]',
        b"null",
        b'[{"event_id": "x", "energy_j": 1e400}]',
        b'"' + b"a" * 1000 + b'"',
    ):
        r = env.client.post(
            "/v1/events", content=body, headers={**env.acme, "Content-Type": "application/json"}
        )
        assert r.status_code == 422, (body, r.status_code, r.text)
    assert env.store.count("events") == 0


def test_conflicting_resend_is_409_and_batch_limit_413(h):
    gen = h.make_env(max_batch=5)
    env = next(gen)
    assert env.client.post("/v1/events", json=[h.event(0)], headers=env.acme).status_code == 200
    r = env.client.post("/v1/events", json=[h.event(0, energy_j=1.0)], headers=env.acme)
    assert r.status_code == 409
    r = env.client.post("/v1/events", json=[h.event(i) for i in range(6)], headers=env.acme)
    assert r.status_code == 413
    assert env.store.count("events") == 1
    gen.close()


def test_rollups_summary_and_sankey(env, h):
    env.client.post("/v1/events", json=[h.event(i) for i in range(24)], headers=env.acme)
    env.client.post(
        "/v1/events",
        json=[h.event(100 + i, tenant="beta", service="vision") for i in range(6)],
        headers=env.beta,
    )
    r = env.client.get("/v1/footprints?group=service&period=day", headers=env.admin).json()
    assert {row["key"] for row in r["rows"]} == {"chat", "vision"}
    chat = next(row for row in r["rows"] if row["key"] == "chat")
    assert chat["events"] == 24
    assert chat["location_low_g"] <= chat["location_g"] <= chat["location_high_g"]
    r = env.client.get(
        "/v1/footprints?group=model&period=hour&per_outcome=true", headers=env.acme
    ).json()
    assert {row["outcome"] for row in r["rows"]} == {"ok", "error"}
    assert sum(row["events"] for row in r["rows"]) == 24
    s = env.client.get("/v1/summary", headers=env.acme).json()
    assert s["events"] == 24
    assert math.isclose(s["energy_j"], sum(100.0 + i for i in range(24)))
    assert s["totals_g"]["marginal"] is not None
    assert {o["outcome"] for o in s["by_outcome"]} == {"ok", "error"}
    # the Sankey conserves energy: IT kWh splits over outcomes without loss
    links = s["sankey"]["links"]
    into_outcomes = sum(lk["kwh"] for lk in links if lk["target"].startswith("o:"))
    assert math.isclose(into_outcomes, s["facility_j"] / 3.6e6, rel_tol=1e-9)
    h = env.client.get("/v1/intensity/heatmap", headers=env.acme).json()
    assert h["regions"] == ["DEU"] and len(h["values"][0]) == 24


def test_whatif_changes_numbers(env, h):
    env.client.post("/v1/events", json=[h.event(i) for i in range(24)], headers=env.acme)
    same = env.client.post("/v1/whatif", json={}, headers=env.acme).json()
    assert same["difference"]["location"]["value"] == 0.0
    fr = env.client.post("/v1/whatif", json={"region": "FR"}, headers=env.acme).json()
    d = fr["difference"]["location"]
    assert d["value"] < 0 and d["low"] <= d["value"] <= d["high"]
    assert fr["scenario"]["marginal"] is None  # no marginal signal for France
    late = env.client.post("/v1/whatif", json={"delay_h": 12}, headers=env.acme).json()
    assert late["difference"]["location"]["value"] == 0.0  # annual figure: no change
    assert late["difference"]["marginal"]["value"] != 0.0  # hourly marginal moves
    big = env.client.post("/v1/whatif", json={"batch_size": 64}, headers=env.acme).json()
    assert big["energy_j"]["scenario"] < big["energy_j"]["baseline"]
    bad = env.client.post("/v1/whatif", json={"region": "Narnia"}, headers=env.acme)
    assert bad.status_code == 422
    assert (
        env.client.post("/v1/whatif", json={"batch_size": 0}, headers=env.acme).status_code == 422
    )


def test_metrics_count_accepted_events_once(env, h):
    env.client.post("/v1/events", json=[h.event(i) for i in range(4)], headers=env.acme)
    env.client.post("/v1/events", json=[h.event(i) for i in range(4)], headers=env.acme)
    text = env.client.get("/metrics", headers=env.admin).text
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('infercarbon_energy_joules_total{model="m1",service="chat"}')
    )
    assert float(line.split()[-1]) == sum(100.0 + i for i in range(4))
    assert (
        'kind="marginal"' in text
        and 'infercarbon_events_total{model="m1",service="chat"} 4.0' in text
    )


def test_openapi_documents_v1_and_event_schema(env, h):
    doc = env.client.get("/openapi.json").json()
    assert "EventIn" in doc["components"]["schemas"]
    assert {"/v1/events", "/v1/footprints", "/v1/whatif", "/metrics", "/healthz"} <= set(
        doc["paths"]
    )
    assert env.client.get("/healthz").json()["status"] == "ok"
    page = env.client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "")  # no CDN
    assert env.client.get("/static/app.js").status_code == 200


def test_backfill_after_crash_between_appends(tmp_path, h):
    """Events stored without footprints (a crash between the appends) get them at start-up."""
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore

    store = open_store(tmp_path / "l.duckdb", clock=h.clock)
    store.append_events([dict(h.event(i), tenant="acme") for i in range(3)])
    app = create_app(store, clock=h.clock, keys=MemoryKeyStore(), signals=[h.marginal_de()])
    assert app.state.infercarbon.backfilled == 3
    assert store.count("footprints") == 3
    assert audit.verify(store, _recompute).ok
    store.close()


def test_serve_backfills_on_a_thread_while_it_answers(tmp_path, h, monkeypatch):
    """``serve`` starts the backfill on a thread (it answers at once on a large ledger):
    the thread computes the missing footprints, reports the count, and ingest is not kept
    out while it searches (the lock is taken only to append)."""
    import threading

    from infercarbon.service.app import Backfiller, create_app
    from infercarbon.service.auth import MemoryKeyStore

    store = open_store(tmp_path / "l.duckdb", clock=h.clock)
    store.append_events([dict(h.event(i), tenant="acme") for i in range(4)])
    app = create_app(
        store, clock=h.clock, keys=MemoryKeyStore(), signals=[h.marginal_de()], backfill=False
    )
    state = app.state.infercarbon
    assert store.count("footprints") == 0
    searched = threading.Event()
    import infercarbon.ledger.rollup as rollup

    search = rollup.missing_footprints

    def watched(store_: object, **kw: object) -> object:
        # the search runs without the ingest lock: another thread may take it meanwhile
        got = state.ingest_lock.acquire(timeout=5)
        assert got
        state.ingest_lock.release()
        searched.set()
        return search(store_, **kw)  # type: ignore[arg-type]

    done: list[int] = []
    monkeypatch.setattr(rollup, "missing_footprints", watched)
    b = Backfiller(state, done.append)
    b.start()
    b.join(timeout_s=60)
    assert searched.is_set()
    assert done == [4] and state.backfilled == 4
    assert store.count("footprints") == 4
    assert audit.verify(store, _recompute).ok
    store.close()


def test_metrics_live_gauges_leave_corrected_events_out(env, h):
    """The `_total` counters count what was accepted (they only grow); the `live_` gauges
    read the ledger: a correction replaces the event it corrects there."""
    env.client.post("/v1/events", json=[h.event(i) for i in range(4)], headers=env.acme)
    fix = dict(h.event(10), supersedes=h.event(0)["event_id"], energy_j=1.0)
    assert env.client.post("/v1/events", json=[fix], headers=env.acme).status_code == 200
    text = env.client.get("/metrics", headers=env.admin).text

    def value(prefix: str) -> float:
        return float(next(x for x in text.splitlines() if x.startswith(prefix)).split()[-1])

    assert value('infercarbon_events_total{model="m1",service="chat"}') == 5
    assert value('infercarbon_live_events{model="m1",service="chat"}') == 4
    live_j = sum(100.0 + i for i in range(1, 4)) + 1.0
    assert value('infercarbon_live_energy_joules{model="m1",service="chat"}') == live_j
    assert (
        value('infercarbon_energy_joules_total{model="m1",service="chat"}')
        == sum(100.0 + i for i in range(4)) + 1.0
    )
    assert 'infercarbon_live_co2e_grams{kind="location",model="m1",service="chat"}' in text
