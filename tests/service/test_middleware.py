"""The ASGI metering middleware, the background shipper (batching, spooling, replay), and
OpenTelemetry span attributes."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest

from infercarbon.service.middleware import EventShipper, MeteringMiddleware
from infercarbon.service.otel import annotate_span


class FakeEnergy:
    """A cumulative counter the test advances by hand."""

    name, method, accuracy_class, label, needs_polling = ("fake", "measured-counter", "A",
                                                          "measured", False)

    def __init__(self) -> None:
        self.j = 0.0

    def read_energy_j(self) -> float:
        return self.j

    def describe(self):
        return {}

    def close(self) -> None:
        pass


class Ledger:
    """A mock ledger service behind httpx.MockTransport; can be switched down."""

    def __init__(self) -> None:
        self.up = True
        self.batches: list[list[dict]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("refused", request=request)
        assert request.headers["authorization"] == "Bearer ic_test"
        body = json.loads(request.content)
        with self.lock:
            self.batches.append(body)
        return httpx.Response(200, json={"accepted": len(body)})

    @property
    def ids(self) -> list[str]:
        return [e["event_id"] for b in self.batches for e in b]


def _shipper(ledger, tmp_path, **kw):
    client = httpx.Client(transport=httpx.MockTransport(ledger), base_url="http://ledger")
    return EventShipper(client, "ic_test", tmp_path / "spool.jsonl", flush_interval_s=0.05,
                        retry_interval_s=0.05, **kw)


def test_shipper_batches(tmp_path):
    ledger = Ledger()
    s = _shipper(ledger, tmp_path, batch_size=10)
    for i in range(35):
        assert s.submit({"event_id": f"e{i}"})
    assert s.flush(5)
    s.close()
    assert sorted(ledger.ids, key=lambda x: int(x[1:])) == [f"e{i}" for i in range(35)]
    assert max(len(b) for b in ledger.batches) <= 10
    assert s.stats["shipped"] == 35 and s.stats["dropped"] == 0


def test_shipper_spools_when_down_and_replays(tmp_path):
    ledger = Ledger()
    ledger.up = False
    s = _shipper(ledger, tmp_path, batch_size=4)
    for i in range(10):
        s.submit({"event_id": f"e{i}"})
    assert s.flush(5)
    assert s.spooled_events() == 10 and ledger.ids == []
    ledger.up = True
    for _ in range(200):
        if not (tmp_path / "spool.jsonl").exists():
            break
        threading.Event().wait(0.02)
    s.submit({"event_id": "e10"})
    assert s.flush(5)
    s.close()
    assert ledger.ids == [f"e{i}" for i in range(11)]  # order kept, each once
    assert s.stats["replayed"] == 10


def test_shipper_never_blocks_and_counts_drops(tmp_path):
    gate = threading.Event()

    def slow(request):
        gate.wait(5)
        return httpx.Response(200, json={})

    client = httpx.Client(transport=httpx.MockTransport(slow), base_url="http://ledger")
    s = EventShipper(client, "ic_test", tmp_path / "spool.jsonl", batch_size=1, max_queue=3,
                     flush_interval_s=0.01)
    results = [s.submit({"event_id": f"e{i}"}) for i in range(20)]
    assert results.count(False) == s.stats["dropped"] > 0
    gate.set()
    s.close()


def test_shipper_rejected_batch_is_kept_not_retried(tmp_path):
    def refuse(request):
        return httpx.Response(422, json={"detail": [{"index": 0, "field": "energy_j"}]})

    client = httpx.Client(transport=httpx.MockTransport(refuse), base_url="http://ledger")
    s = EventShipper(client, "ic_test", tmp_path / "spool.jsonl", flush_interval_s=0.01)
    s.submit({"event_id": "bad"})
    assert s.flush(5)
    s.close()
    rejected = (tmp_path / "spool.jsonl.rejected").read_text().splitlines()
    assert json.loads(rejected[0])["status"] == 422
    assert s.stats["rejected"] == 1 and not (tmp_path / "spool.jsonl").exists()


def test_middleware_splits_energy_between_concurrent_requests(tmp_path):
    ledger = Ledger()
    shipper = _shipper(ledger, tmp_path)
    energy = FakeEnergy()
    t = [1_780_000_000.0]
    release = asyncio.Event()

    async def app(scope, receive, send):
        if scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"hello"})

    mw = MeteringMiddleware(app, shipper=shipper, energy=energy, clock=lambda: t[0],
                            service="svc", tenant="acme", model="m", region="DE",
                            device="cpu0", id_factory=iter(["a", "b", "c"]).__next__)

    async def call(path):
        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            pass

        await mw({"type": "http", "path": path, "method": "GET"}, receive, send)

    async def main():
        slow = asyncio.create_task(call("/slow"))  # a: starts, energy 0
        await asyncio.sleep(0)
        energy.j = 10.0  # 10 J with only a in flight
        fast = asyncio.create_task(call("/fast"))  # b: starts and ends at once
        await asyncio.sleep(0)
        await fast
        energy.j = 16.0  # 6 J with a alone again
        release.set()
        await slow
        energy.j = 20.0  # idle
        await call("/fast")  # c: 0 J

    asyncio.run(main())
    assert shipper.flush(5)
    shipper.close()
    got = {e["event_id"]: e for b in ledger.batches for e in b}
    # ids are given at completion: "a" = the fast request, "b" = the slow one
    assert got["b"]["energy_j"] == 16.0 and got["a"]["energy_j"] == 0.0
    assert got["c"]["energy_j"] == 0.0 and mw.stats["unattributed_j"] == 4.0
    assert got["b"]["payload_bytes"] == 5 and got["b"]["outcome"] == "ok"
    assert got["b"]["attribution_method"] == "equal-share-concurrent: fake (measured)"


def test_otel_attributes_on_recording_span_and_noop_without_sdk():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    # no SDK span current: nothing recorded, no error
    assert annotate_span(energy_j=1.0, co2e_g=0.1) is False
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("infer"):
        assert annotate_span(energy_j=2.5, co2e_g=0.01, co2e_marginal_g=float("nan"),
                             region="DEU") is True
    (span,) = exporter.get_finished_spans()
    assert span.attributes["infercarbon.energy_j"] == 2.5
    assert span.attributes["infercarbon.co2e_g"] == 0.01
    assert "infercarbon.co2e_marginal_g" not in span.attributes  # NaN is left off, never 0
    provider.shutdown()


def test_middleware_events_are_accepted_by_the_service(env, tmp_path):
    """End to end: the middleware's event shape passes the service's validation."""
    token = env.acme["Authorization"].split()[1]
    shipper = EventShipper(env.client, token, tmp_path / "spool.jsonl", flush_interval_s=0.01)
    energy = FakeEnergy()

    async def app(scope, receive, send):
        energy.j += 3.0
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    mw = MeteringMiddleware(app, shipper=shipper, energy=energy, clock=lambda: 1_780_000_000.0,
                            service="svc", tenant="acme", model="m", region="DE", device="cpu0")

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    for _ in range(3):
        asyncio.run(mw({"type": "http", "path": "/", "method": "GET"}, receive, send))
    assert shipper.flush(5)
    shipper.close()
    assert shipper.stats["shipped"] == 3, shipper.last_error
    assert env.store.count("events") == 3


@pytest.mark.parametrize(("code", "outcome"), [(200, "ok"), (404, "client_error"),
                                          (503, "server_error")])
def test_default_outcome(code, outcome):
    from infercarbon.service.middleware import _default_outcome

    assert _default_outcome(code) == outcome
