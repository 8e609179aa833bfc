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
    mw = MeteringMiddleware(app, shipper=shipper, energy=src, clock=lambda: 1.78e9,  # type: ignore[arg-type]
                            service="s", tenant="t", model="m", region="DE", device="cpu")

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    asyncio.run(mw({"type": "http", "path": "/", "method": "GET", "headers": headers},
                   receive, send))
    (event,) = shipper.events
    return event


def test_event_carries_trace_id_and_parent_span_id() -> None:
    ev = _run([(b"traceparent", TP.encode())])
    assert ev["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ev["parent_span_id"] == "00f067aa0ba902b7"


@pytest.mark.parametrize("headers", [
    [],
    [(b"traceparent", b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")],
    [(b"traceparent", b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
    [(b"traceparent", TP.encode()), (b"traceparent", TP.encode())],  # two: ambiguous
])
def test_no_or_invalid_traceparent_gives_no_trace_fields(headers) -> None:
    ev = _run(headers)
    assert "trace_id" not in ev and "parent_span_id" not in ev


def test_parse_traceparent() -> None:
    assert parse_traceparent(TP) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01") is None
    assert parse_traceparent("garbage") is None and parse_traceparent(None) is None
