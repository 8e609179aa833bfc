"""The bundled Grafana dashboard: every panel's PromQL runs against a real Prometheus scraping
``infercarbon serve``'s ``/metrics`` on loopback, and gives the figures the ledger holds."""

from __future__ import annotations

import json
import re
import time
from importlib import resources
from typing import Any

import httpx
import pytest

from infercarbon.reference.regions import resolve_region

from .conftest import clock, event, marginal_de


def _dashboard() -> dict[str, Any]:
    text = (resources.files("infercarbon.service") / "grafana" / "infercarbon.json").read_text()
    return json.loads(text)


def _exprs(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in d["panels"] for t in p["targets"]]


VARS = {"$__rate_interval": "1m", "$__range": "10m", "$service": ".*", "$model": ".*"}


def _bind(expr: str, kind: str) -> str:
    for k, v in VARS.items():
        expr = expr.replace(k, v)
    return expr.replace("$kind", kind)


def test_dashboard_is_well_formed() -> None:
    d = _dashboard()
    assert d["uid"] == "infercarbon-overview" and d["panels"]
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    names = {v["name"] for v in d["templating"]["list"]}
    assert names == {"datasource", "kind", "service", "model"}
    for title, expr in _exprs(d):
        # only the dashboard's own variables and Grafana's interval/range variables
        assert set(re.findall(r"\$\{?(\w+)", expr)) <= {*names, "__rate_interval", "__range"}, title
        assert "infercarbon_" in expr, title


@pytest.fixture(scope="module")
def served(prometheus_factory):
    from infercarbon.ledger import open_store
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key
    from infercarbon.service.fake_upstream import LoopbackServer

    store = open_store(":memory:", clock=clock)
    keys = MemoryKeyStore()
    secret, _ = create_key(keys, tenant="ops", admin=True, clock=lambda: 0.0)
    app = create_app(store, clock=clock, keys=keys, signals=[marginal_de()], metrics_public=True)
    srv = LoopbackServer(app).start()
    prom_url = prometheus_factory({"infercarbon": srv.url.removeprefix("http://")})
    prom = httpx.Client(base_url=prom_url, timeout=10)
    auth = {"Authorization": f"Bearer {secret}"}

    def wait_scrapes(n: int) -> None:
        def count() -> float:
            r = prom.get(
                "/api/v1/query", params={"query": 'count_over_time(up{job="infercarbon"}[5m])'}
            ).json()
            res = r["data"]["result"]
            return float(res[0]["value"][1]) if res else 0.0

        start = count()
        deadline = time.monotonic() + 30
        while count() < start + n:
            assert time.monotonic() < deadline, "prometheus did not scrape the service"
            time.sleep(0.25)

    wait_scrapes(2)
    batches = [
        [
            event(i, service=s, model=m, event_id=f"{s}-{m}-{i}-{k}", tenant="acme")
            for i in range(6)
            for s, m in (("chat", "m1"), ("search", "m2"))
        ]
        for k in range(2)
    ]
    with httpx.Client(base_url=srv.url, headers=auth, timeout=30) as api:
        for b in batches:
            r = api.post("/v1/events", json=b)
            assert r.status_code == 200 and r.json()["inserted"] == len(b), r.text
            wait_scrapes(3)
    yield prom, srv, batches
    prom.close()
    srv.stop()
    store.close()


def _query(prom: httpx.Client, expr: str) -> list[dict[str, Any]]:
    r = prom.get("/api/v1/query", params={"query": expr}).json()
    assert r["status"] == "success", (expr, r)
    return list(r["data"]["result"])


@pytest.mark.slow
def test_every_panel_query_runs_and_returns_series(served) -> None:
    prom, _, _ = served
    for kind in ("location", "marginal"):
        for title, expr in _exprs(_dashboard()):
            res = _query(prom, _bind(expr, kind))
            if "refused" in title:
                continue  # no batch was refused: an empty result is the right answer
            assert res, (title, kind)
            assert all(float(s["value"][1]) >= 0 for s in res), (title, kind)


@pytest.mark.slow
def test_panels_give_the_ledger_figures(served) -> None:
    prom, _, batches = served
    d = {p["title"]: p for p in _dashboard()["panels"]}
    # intensity of location-based emissions of DE events: the DE annual factor (PUE 1)
    (s,) = _query(
        prom, _bind(d["Intensity of the energy ($kind)"]["targets"][0]["expr"], "location")
    )
    de = resolve_region("DE").intensity_g_per_kwh.value
    assert float(s["value"][1]) == pytest.approx(de, rel=1e-6)
    by_service = _query(
        prom,
        _bind(d["Metered power by service (energy per second)"]["targets"][0]["expr"], "location"),
    )
    assert {x["metric"]["service"] for x in by_service} == {"chat", "search"}
    by_model = _query(
        prom, _bind(d["gCO2e per second by model ($kind)"]["targets"][0]["expr"], "location")
    )
    assert {x["metric"]["model"] for x in by_model} == {"m1", "m2"}
    # per inference: between the smallest and largest event's figure
    (per,) = _query(
        prom, _bind(d["Emissions per inference ($kind)"]["targets"][0]["expr"], "location")
    )
    g = [e["energy_j"] / 3.6e6 * de for b in batches for e in b]
    assert min(g) <= float(per["value"][1]) <= max(g)
    kinds = _query(
        prom, _bind(d["Location, market and marginal emissions"]["targets"][0]["expr"], "location")
    )
    assert {"location", "marginal"} <= {x["metric"]["kind"] for x in kinds}
    # the template variables' label queries
    r = prom.get(
        "/api/v1/label/service/values", params={"match[]": "infercarbon_events_total"}
    ).json()
    assert set(r["data"]) == {"chat", "search"}
