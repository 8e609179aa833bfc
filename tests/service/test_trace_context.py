"""The ASGI metering middleware puts the request's W3C trace context on its event."""

from __future__ import annotations

import asyncio

import pytest

from infercarbon.provenance import Figure
from infercarbon.service.middleware import MeteringMiddleware, parse_traceparent
from infercarbon.telemetry import ConstantSource

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Shipper:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def submit(self, event: dict) -> bool:
        self.events.append(event)
        return True


def _run(headers: list[tuple[bytes, bytes]]) -> dict:
    shipper = Shipper()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    src = ConstantSource(Figure(10.0, "w", source="test", label="illustrative"))
    mw = MeteringMiddleware(
        app,
        shipper=shipper,
        energy=src,
        clock=lambda: 1.78e9,
        service="s",
        tenant="t",
        model="m",
        region="DE",
        device="cpu",
    )

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    asyncio.run(
        mw({"type": "http", "path": "/", "method": "GET", "headers": headers}, receive, send)
    )
    (event,) = shipper.events
    return event


def test_event_carries_trace_id_and_parent_span_id() -> None:
    ev = _run([(b"traceparent", TP.encode())])
    assert ev["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ev["parent_span_id"] == "00f067aa0ba902b7"


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"traceparent", b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")],
        [(b"traceparent", b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
        [(b"traceparent", TP.encode()), (b"traceparent", TP.encode())],  # two: ambiguous
    ],
)
def test_no_or_invalid_traceparent_gives_no_trace_fields(headers) -> None:
    ev = _run(headers)
    assert "trace_id" not in ev and "parent_span_id" not in ev


def test_parse_traceparent() -> None:
    assert parse_traceparent(TP) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01") is None
    assert parse_traceparent("garbage") is None and parse_traceparent(None) is None


def test_traces_roll_up_one_user_action_whatever_served_each_step(env) -> None:
    """Three model calls of one user action (two services, two models) and one call of
    another: /v1/traces gives one figure per trace, the sum of its events' footprints, with
    a range around it; events without a trace are left out."""
    from .conftest import event

    t1, t2 = "1" * 32, "2" * 32
    evs = [
        event(1, trace_id=t1, parent_span_id="a" * 16, tenant="acme"),
        event(2, trace_id=t1, parent_span_id="b" * 16, service="rag", model="embed", tenant="acme"),
        event(3, trace_id=t1, tenant="acme"),
        event(4, trace_id=t2, tenant="acme"),
        event(5, tenant="acme"),
    ]
    r = env.client.post("/v1/events", json=evs, headers=env.admin)
    assert r.status_code == 200, r.text
    rows = env.client.get("/v1/traces", headers=env.acme).json()["rows"]
    loc = {x["trace_id"]: x for x in rows if x["basis"] == "location"}
    assert set(loc) == {t1, t2}
    assert loc[t1]["footprints"] == 3 and loc[t2]["footprints"] == 1
    fps = env.client.get("/v1/footprints/list", headers=env.acme).json()["rows"]
    per_event = {f["event_id"]: f["location_g"] for f in fps}
    assert loc[t1]["value_g"] == pytest.approx(
        per_event["e1"] + per_event["e2"] + per_event["e3"], rel=1e-9
    )
    assert loc[t1]["low_g"] < loc[t1]["value_g"] < loc[t1]["high_g"]
    # another tenant sees none of it
    assert env.client.get("/v1/traces", headers=env.beta).json()["rows"] == []
    bad = env.client.post(
        "/v1/events", json=[event(9, trace_id="XYZ", tenant="acme")], headers=env.admin
    )
    assert bad.status_code == 422 and "trace_id" in bad.text
