"""The routing middleware: the route document for a load balancer, the header, the cache."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from infercarbon.errors import InputError
from infercarbon.service.routing import CarbonRouteMiddleware, route_advisor, route_header


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


async def _inner(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _call(app: Any, path: str, method: str = "GET") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    asyncio.run(app({"type": "http", "path": path, "method": method, "headers": []}, receive, send))
    return sent


def test_route_document_and_header() -> None:
    clock = Clock()
    calls = []
    base = route_advisor(["PL", "FR", "DE"], residency="EU")

    def advise(now: dt.datetime) -> dict[str, Any]:
        calls.append(now)
        return base(now)

    mw = CarbonRouteMiddleware(_inner, advise, clock=clock, ttl_s=300)
    sent = _call(mw, "/.well-known/carbon-route")
    assert sent[0]["status"] == 200
    doc = json.loads(sent[1]["body"])
    assert doc["region_id"] == "FRA" and doc["next_best"] == "DEU"
    sent = _call(mw, "/predict")
    hdr = dict(sent[0]["headers"])[b"carbon-route"].decode()
    assert hdr == route_header(doc) and hdr.startswith("region=FRA; next=DEU; margin_g_per_kwh=")
    assert sent[1]["body"] == b"ok"
    assert len(calls) == 1  # cached within the ttl
    clock.now += dt.timedelta(seconds=301)
    _call(mw, "/predict")
    assert len(calls) == 2


def test_failure_is_a_503_and_no_header() -> None:
    def advise(now: dt.datetime) -> dict[str, Any]:
        raise InputError("no candidate region is allowed", field="regions")

    mw = CarbonRouteMiddleware(_inner, advise, clock=Clock())
    assert _call(mw, "/.well-known/carbon-route")[0]["status"] == 503
    sent = _call(mw, "/predict")
    assert b"carbon-route" not in dict(sent[0]["headers"])
    assert mw.stats["errors"] == 2
