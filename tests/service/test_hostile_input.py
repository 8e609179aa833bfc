"""Hostile input gets a 4xx naming what is wrong (never a 5xx), and the refusal is counted."""

from __future__ import annotations

from typing import Any

import pytest

from infercarbon.cli.main import main


def _rejected(env: Any) -> float:
    text = env.client.get("/metrics", headers=env.admin).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("infercarbon_ingest_rejected_batches_total{")
    )


def test_deep_nesting_is_a_422(env: Any) -> None:
    body = "[" * 5000 + "]" * 5000
    r = env.client.post("/v1/events", content=body, headers=env.acme)
    assert r.status_code == 422 and "nested too deeply" in r.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start_utc", "0000-01-01T00:00:00Z"),
        ("end_utc", "9999-12-31T23:59:59-14:00"),
        ("energy_j", 1.797e308),
        ("service", "x" * 10_000_000),
        ("tenant", "not a tenant!"),
    ],
)
def test_extreme_values_are_refused_and_counted(env: Any, h: Any, field: str, value: Any) -> None:
    before = _rejected(env)
    ev = h.event(1, **{field: value})
    if field == "end_utc":
        ev["start_utc"] = "9999-12-31T00:00:00Z"
    headers = env.admin if field == "tenant" else env.acme
    if field == "tenant":
        ev["tenant"] = value
    r = env.client.post("/v1/events", json=[ev], headers=headers)
    assert r.status_code == 422, r.text[:300]
    assert field in r.text[:2000]
    assert env.store.count("events") == 0
    assert _rejected(env) == before + 1
    # the next request on the same client works
    assert env.client.post("/v1/events", json=[h.event(2)], headers=env.acme).status_code == 200


def test_403_names_the_field_once(env: Any, h: Any) -> None:
    r = env.client.post("/v1/events", json=[h.event(1, tenant="beta")], headers=env.acme)
    assert r.status_code == 403
    detail = r.json()["detail"]
    assert detail.count("events[0].tenant") == 1, detail


def test_metrics_label_pairs_are_capped(env: Any, h: Any) -> None:
    from infercarbon.service import metrics

    m = env.app.state.infercarbon.metrics
    m._series.update(f"s{i}\x1fm" for i in range(metrics.MAX_SERIES))
    env.client.post("/v1/events", json=[h.event(1, service="fresh")], headers=env.acme)
    text = env.client.get("/metrics", headers=env.admin).text
    counters = "\n".join(x for x in text.splitlines() if "_total{" in x)
    assert 'service="(other)"' in counters and 'service="fresh"' not in counters
    # the live gauges come from the ledger, at most MAX_SERIES pairs, the largest first
    live = [x for x in text.splitlines() if x.startswith("infercarbon_live_events{")]
    assert 0 < len(live) <= metrics.MAX_SERIES


def test_keys_create_refuses_a_directory_or_a_corrupt_ledger(tmp_path: Any, capsys: Any) -> None:
    assert main(["keys", "create", "--ledger", str(tmp_path), "--tenant", "a"]) == 2
    assert "is a directory" in capsys.readouterr().err
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a ledger at all")
    assert main(["keys", "create", "--ledger", str(bad), "--tenant", "a"]) == 2
    assert "not a DuckDB ledger" in capsys.readouterr().err
    assert not (tmp_path / "bad.duckdb.keys.json").exists()


def test_estimate_names_the_bad_option(capsys: Any) -> None:
    assert main(["estimate", "--time-utc", "garbage", "--region", "DE", "--energy-j", "1"]) == 2
    assert "time_utc" in capsys.readouterr().err
    assert main(["estimate", "--power-w", "100", "--latency-s", "-1", "--region", "DE"]) == 2
    err = capsys.readouterr().err
    assert "--latency-s" in err and "energy_j" not in err


def test_a_frozen_counter_is_labelled_degraded() -> None:
    import warnings

    from infercarbon import Meter
    from infercarbon.errors import DataQualityWarning
    from infercarbon.telemetry import ReplaySource

    clock = {"now": 0}

    def tick() -> int:
        return clock["now"]

    src = ReplaySource([0.0, 100.0], [5.0, 5.0], clock=tick, origin_ns=0)
    m = Meter(
        "GB",
        sensor=src,
        clock=tick,
        sampler_mode="boundary",
        capacity=64,
        idle_policy="none",
        market_intensity_g_per_kwh=100.0,
    )
    for k in range(3):
        clock["now"] = (2 * k + 1) * 10**9
        span = m.inference(model="x").__enter__()
        clock["now"] = (2 * k + 2) * 10**9
        span.__exit__(None, None, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = m.footprints()
    assert any(issubclass(w.category, DataQualityWarning) for w in caught)
    assert set(t.column("energy_label").to_pylist()) == {"degraded"}
    assert set(t.column("method").to_pylist()) == {"degraded-frozen-counter"}


def test_regions_are_stored_canonical(env: Any, h: Any) -> None:
    """DE, de and DEU are one region: stored as its id, and a resend with an alias is the
    same event (a duplicate, not a conflict)."""
    r = env.client.post(
        "/v1/events", json=[h.event(1, region="de"), h.event(2, region="DE")], headers=env.acme
    )
    assert r.status_code == 200
    assert set(env.store.events().column("region").to_pylist()) == {"DEU"}
    again = env.client.post("/v1/events", json=[h.event(1, region="DEU")], headers=env.acme)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    rows = env.client.get("/v1/footprints?group=region", headers=env.acme).json()["rows"]
    assert {x["key"] for x in rows} == {"DEU"}


def test_missing_footprint_is_404_and_an_outage_is_503(env: Any, h: Any) -> None:
    env.client.post("/v1/events", json=[h.event(1)], headers=env.acme)
    r = env.client.get("/v1/footprints/fp_0000", headers=env.acme)
    assert r.status_code == 404
    assert env.client.get("/v1/audit/footprints/fp_0000", headers=env.acme).status_code == 404
    (fid,) = env.store.footprint_ids()
    env.store.close()  # the ledger goes away: a 503 to retry, never "not found"
    r = env.client.get(f"/v1/footprints/{fid}", headers=env.acme)
    assert r.status_code == 503, r.text


def test_after_a_500_the_connection_still_serves(h: Any) -> None:
    """An unexpected error is a 500 JSON answer, and the next request on the same
    keep-alive connection is served (a real uvicorn server on loopback)."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from infercarbon.ledger import open_store
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    store = open_store(":memory:", clock=h.clock)
    keys = MemoryKeyStore()
    tok, _ = create_key(keys, tenant="acme", admin=False, clock=lambda: 0.0)
    app = create_app(store, clock=h.clock, keys=keys)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom, methods=["POST"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            r = c.post("/boom", content=b"x" * 2_000_000)
            assert r.status_code == 500 and "logged" in r.text
            ok = c.get("/v1/whoami", headers={"Authorization": f"Bearer {tok}"})
            assert ok.status_code == 200
    finally:
        server.should_exit = True
        t.join(timeout=10)
        store.close()


def test_event_ids_are_per_tenant(env: Any, h: Any) -> None:
    """A tenant that sends an id another tenant holds gets its own event (no 409 that would
    tell it the id exists), and neither tenant sees the other's."""
    assert (
        env.client.post("/v1/events", json=[h.event(1), h.event(2)], headers=env.acme).status_code
        == 200
    )
    theirs = h.event(1, tenant="beta", energy_j=7.0)
    r = env.client.post("/v1/events", json=[theirs], headers=env.beta)
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
    again = env.client.post("/v1/events", json=[theirs], headers=env.beta)
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    other = env.client.post("/v1/events", json=[{**theirs, "energy_j": 8.0}], headers=env.beta)
    assert other.status_code == 409 and "acme" not in other.text
    for key, tenant, n in ((env.acme, "acme", 2), (env.beta, "beta", 1)):
        rows = env.client.get("/v1/events?limit=10", headers=key).json()["rows"]
        assert len(rows) == n and {x["tenant"] for x in rows} == {tenant}
    assert env.client.get("/v1/summary", headers=env.beta).json()["events"] == 1
