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

    name, method, accuracy_class, label, needs_polling = (
        "fake",
        "measured-counter",
        "A",
        "measured",
        False,
    )

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
    return EventShipper(
        client,
        "ic_test",
        tmp_path / "spool.jsonl",
        flush_interval_s=0.05,
        retry_interval_s=0.05,
        **kw,
    )


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
    s = EventShipper(
        client,
        "ic_test",
        tmp_path / "spool.jsonl",
        batch_size=1,
        max_queue=3,
        flush_interval_s=0.01,
    )
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

    mw = MeteringMiddleware(
        app,
        shipper=shipper,
        energy=energy,
        clock=lambda: t[0],
        service="svc",
        tenant="acme",
        model="m",
        region="DE",
        device="cpu0",
        id_factory=iter(["a", "b", "c"]).__next__,
    )

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
    assert got["b"]["attribution_method"] == (
        "equal-share-concurrent: fake:measured-counter (measured)"
    )
    # the event's band is its method's accuracy class (A: +-5 %)
    assert got["b"]["energy_low_j"] == pytest.approx(16.0 * 0.95)
    assert got["b"]["energy_high_j"] == pytest.approx(16.0 * 1.05)


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
        assert (
            annotate_span(energy_j=2.5, co2e_g=0.01, co2e_marginal_g=float("nan"), region="DEU")
            is True
        )
    (span,) = exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs is not None
    assert attrs["infercarbon.energy_j"] == 2.5
    assert attrs["infercarbon.co2e_g"] == 0.01
    assert "infercarbon.co2e_marginal_g" not in attrs  # NaN is left off, never 0
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

    mw = MeteringMiddleware(
        app,
        shipper=shipper,
        energy=energy,
        clock=lambda: 1_780_000_000.0,
        service="svc",
        tenant="acme",
        model="m",
        region="DE",
        device="cpu0",
    )

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


@pytest.mark.parametrize(
    ("code", "outcome"), [(200, "ok"), (404, "client_error"), (503, "server_error")]
)
def test_default_outcome(code, outcome):
    from infercarbon.service.middleware import _default_outcome

    assert _default_outcome(code) == outcome


# ---------------------------------------------------------------- per-request disclosure
S = 1_000_000_000
T0 = 1_780_000_000.0


class Clocks:
    """One fake time for the energy source (ns) and the middleware's wall clock (s)."""

    def __init__(self) -> None:
        self.ns = 0

    def mono(self) -> int:
        return self.ns

    def wall(self) -> float:
        return T0 + self.ns / 1e9


def _parse(header: str) -> dict[str, str]:
    import re

    pairs = re.findall(r'([\w-]+)=("(?:[^"\\]|\\.)*"|[^;]*)(?:;\s*|$)', header)
    return {k: v.strip().strip('"') for k, v in pairs}


def _disclosing_app(tmp_path, clocks, *, disclosure=True, watts=50.0, **kw):
    """A starlette app behind the middleware, on a 50 W replayed measured counter."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    from infercarbon.service.middleware import RegionDiscloser
    from infercarbon.telemetry import ReplaySource

    async def infer(request):
        clocks.ns += 2 * S  # 2 s of work before the response starts
        return PlainTextResponse("ok")

    async def stream(request):
        clocks.ns += 1 * S

        async def body():
            for _ in range(3):
                clocks.ns += 1 * S  # energy drawn while the body streams
                yield b"x"

        return StreamingResponse(body())

    app = Starlette(routes=[Route("/infer", infer), Route("/stream", stream)])
    src = ReplaySource([0.0, 1e4], [0.0, watts * 1e4], clock=clocks.mono, origin_ns=0)
    ledger = Ledger()
    shipper = _shipper(ledger, tmp_path)
    discloser = RegionDiscloser("CA-AB", pue=1.2, market_g_per_kwh=50.0) if disclosure else None
    mw = MeteringMiddleware(
        app,
        shipper=shipper,
        energy=src,
        clock=clocks.wall,
        service="svc",
        tenant="acme",
        model="m",
        region="CA-AB",
        device="gpu0",
        disclosure=discloser,
        **kw,
    )
    return mw, shipper, ledger


def _expected(energy_j: float, low_frac: float, high_frac: float) -> dict[str, str]:
    import math

    from infercarbon.reference.regions import resolve_region

    f = resolve_region("CA-AB").intensity_g_per_kwh
    g = energy_j * 1.2 / 3.6e6 * f.value
    lo = g * (1 - math.hypot(1 - low_frac, (f.value - f.range[0]) / f.value))
    hi = g * (1 + math.hypot(high_frac - 1, (f.range[1] - f.value) / f.value))
    return {
        "location_g": format(g, ".4g"),
        "low_g": format(lo, ".4g"),
        "high_g": format(hi, ".4g"),
        "market_g": format(energy_j * 1.2 / 3.6e6 * 50.0, ".4g"),
        "energy_j": format(energy_j, ".4g"),
        "method": "equal-share-concurrent: replay:measured-counter (measured)",
    }


def test_disclosure_header_with_recomputed_numbers(tmp_path):
    from starlette.testclient import TestClient

    clocks = Clocks()
    mw, shipper, ledger = _disclosing_app(tmp_path, clocks)
    with TestClient(mw) as client:
        r = client.get("/infer", headers={"Prefer": "respond-async, Carbon-Disclosure"})
    assert r.status_code == 200 and r.text == "ok"
    assert r.headers["preference-applied"] == "carbon-disclosure"
    got = _parse(r.headers["carbon-emissions"])
    assert got == _expected(100.0, 0.95, 1.05)  # 2 s x 50 W, class A band
    assert list(got) == ["location_g", "low_g", "high_g", "market_g", "energy_j", "method"]
    assert "marginal_g" not in got  # no marginal given: omitted, never 0
    assert mw.stats["disclosed"] == 1
    assert shipper.flush(5)
    shipper.close()
    (event,) = [e for b in ledger.batches for e in b]
    assert event["energy_j"] == pytest.approx(100.0)
    assert event["energy_low_j"] == pytest.approx(95.0)
    assert event["energy_high_j"] == pytest.approx(105.0)


def test_streamed_body_energy_is_in_the_event_not_the_header(tmp_path):
    from starlette.testclient import TestClient

    clocks = Clocks()
    mw, shipper, ledger = _disclosing_app(tmp_path, clocks)
    with TestClient(mw) as client:
        r = client.get("/stream", headers={"Prefer": "carbon-disclosure"})
    assert r.content == b"xxx"
    got = _parse(r.headers["carbon-emissions"])
    assert got["energy_j"] == "50"  # 1 s x 50 W up to http.response.start
    assert shipper.flush(5)
    shipper.close()
    (event,) = [e for b in ledger.batches for e in b]
    assert event["energy_j"] == pytest.approx(200.0)  # and 3 s more while streaming


@pytest.mark.parametrize("headers", [{}, {"Prefer": "respond-async"}, {"Accept": "x"}])
def test_no_header_without_the_preference(tmp_path, headers):
    from starlette.testclient import TestClient

    clocks = Clocks()
    mw, shipper, _ = _disclosing_app(tmp_path, clocks)
    with TestClient(mw) as client:
        r = client.get("/infer", headers=headers)
    shipper.close()
    assert r.status_code == 200
    assert "carbon-emissions" not in r.headers and "preference-applied" not in r.headers


def test_no_header_when_disclosure_is_disabled(tmp_path):
    from starlette.testclient import TestClient

    clocks = Clocks()
    mw, shipper, ledger = _disclosing_app(tmp_path, clocks, disclosure=False)
    with TestClient(mw) as client:
        r = client.get("/infer", headers={"Prefer": "carbon-disclosure"})
    assert shipper.flush(5)
    shipper.close()
    assert "carbon-emissions" not in r.headers and "preference-applied" not in r.headers
    assert [e["energy_j"] for b in ledger.batches for e in b] == pytest.approx([100.0])


def test_allowed_and_refused_tenants(tmp_path):
    from starlette.testclient import TestClient

    from infercarbon.service.middleware import tenant_from_header

    clocks = Clocks()
    mw, shipper, ledger = _disclosing_app(
        tmp_path,
        clocks,
        tenant_of=tenant_from_header("X-Tenant"),
        disclosure_tenants={"acme", "evil"},
        disclosure_refused={"evil"},
    )
    seen = {}
    with TestClient(mw) as client:
        for tenant in ("acme", "evil", "other", None):
            headers = {"Prefer": "carbon-disclosure"}
            if tenant:
                headers["X-Tenant"] = tenant
            seen[tenant] = "carbon-emissions" in client.get("/infer", headers=headers).headers
    assert shipper.flush(5)
    shipper.close()
    # allowed; refused (the deny-list wins); not on the allow-list; default label "acme"
    assert seen == {"acme": True, "evil": False, "other": False, None: True}
    tenants = sorted(e["tenant"] for b in ledger.batches for e in b)
    assert tenants == ["acme", "acme", "evil", "other"]


@pytest.mark.parametrize(
    "value",
    [
        "carbon-disclosure=no",
        "carbon-disclosure-x",
        "xcarbon-disclosure",
        '"carbon-disclosure"',
        "carbon disclosure",
        'foo="a, carbon-disclosure"',
        "carbon_disclosure",
        "",
        "=carbon-disclosure",
        "carbon-disclosure\u00e9",
    ],
)
def test_malformed_prefer_is_ignored(value):
    from infercarbon.service.middleware import prefers_disclosure

    raw = value.encode("latin-1")
    assert prefers_disclosure({"headers": [(b"prefer", raw)]}) is False


@pytest.mark.parametrize(
    "values",
    [
        ["carbon-disclosure"],
        ["CARBON-DISCLOSURE"],
        ["respond-async, wait=10, carbon-disclosure"],
        ['return=minimal; foo="a,b", Carbon-Disclosure; detail=full'],
        ["carbon-disclosure="],
        ['carbon-disclosure=""'],
        ["respond-async", " carbon-disclosure "],
    ],
)
def test_well_formed_prefer_is_recognised(values):
    from infercarbon.service.middleware import prefers_disclosure

    headers = [(b"prefer", v.encode("latin-1")) for v in values]
    assert prefers_disclosure({"headers": headers}) is True


def test_prefer_parser_never_raises_on_arbitrary_text():
    from hypothesis import given
    from hypothesis import strategies as st

    from infercarbon.service.middleware import prefers_disclosure

    @given(st.text(alphabet=st.characters(max_codepoint=255), max_size=60))
    def check(text):
        assert prefers_disclosure({"headers": [(b"prefer", text.encode("latin-1"))]}) in (
            True,
            False,
        )

    check()


def test_header_follows_the_equal_share_split_at_response_start(tmp_path):
    """Two concurrent requests on a raw ASGI app: the header is the share so far."""
    ledger = Ledger()
    shipper = _shipper(ledger, tmp_path)
    energy = FakeEnergy()
    release = {"/a": asyncio.Event(), "/b": asyncio.Event()}
    sent: dict[str, list] = {}

    async def app(scope, receive, send):
        await release[scope["path"]].wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/a":
            energy.j = 20.0  # 4 J while a's body is written, shared with b
        await send({"type": "http.response.body", "body": b"."})

    def discloser(energy_j, lo, hi, start_utc, end_utc, tenant):
        return {"location_g": energy_j / 1000, "marginal_g": None, "odd": float("nan")}

    mw = MeteringMiddleware(
        app,
        shipper=shipper,
        energy=energy,
        clock=lambda: T0,
        service="svc",
        tenant="acme",
        model="m",
        region="DE",
        device="cpu0",
        disclosure=discloser,
    )

    async def call(path):
        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            if message["type"] == "http.response.start":
                sent[path] = message["headers"]

        scope = {
            "type": "http",
            "path": path,
            "method": "GET",
            "headers": [(b"prefer", b"carbon-disclosure")],
        }
        await mw(scope, receive, send)

    async def main():
        a = asyncio.create_task(call("/a"))
        await asyncio.sleep(0)
        energy.j = 10.0  # 10 J with a alone
        b = asyncio.create_task(call("/b"))
        await asyncio.sleep(0)
        energy.j = 16.0  # 6 J shared by a and b
        release["/a"].set()
        await a
        release["/b"].set()
        await b

    asyncio.run(main())
    assert shipper.flush(5)
    shipper.close()
    header = dict(sent["/a"])[b"carbon-emissions"].decode()
    # a: 10 + 3 at its response start; marginal None and NaN left out; energy_j and method
    # added by the middleware
    assert header == (
        "location_g=0.013; energy_j=13; "
        'method="equal-share-concurrent: fake:measured-counter (measured)"'
    )
    assert _parse(dict(sent["/b"])[b"carbon-emissions"].decode())["energy_j"] == "5"
    got = sorted(e["energy_j"] for b in ledger.batches for e in b)
    assert got == pytest.approx([5.0, 15.0])  # the events cover it all


def test_region_discloser_rejects_bad_configuration():
    from infercarbon.errors import InputError, UnknownRegionError
    from infercarbon.service.middleware import RegionDiscloser

    with pytest.raises(InputError) as info:
        RegionDiscloser("GB", pue=0.9)
    assert info.value.field == "pue"
    with pytest.raises(InputError) as info:
        RegionDiscloser("GB", marginal_g_per_kwh=-1.0)
    assert info.value.field == "marginal_g_per_kwh"
    with pytest.raises(UnknownRegionError):
        RegionDiscloser("Atlantis")


def test_discloser_error_leaves_the_header_out(tmp_path):
    from infercarbon.errors import DataError

    ledger = Ledger()
    shipper = _shipper(ledger, tmp_path)

    def broken(*args):
        raise DataError("no intensity for this hour")

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    mw = MeteringMiddleware(
        app,
        shipper=shipper,
        energy=FakeEnergy(),
        clock=lambda: T0,
        service="svc",
        tenant="acme",
        model="m",
        region="DE",
        device="cpu0",
        disclosure=broken,
    )
    out = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        out.append(message)

    asyncio.run(
        mw(
            {
                "type": "http",
                "path": "/",
                "method": "GET",
                "headers": [(b"prefer", b"carbon-disclosure")],
            },
            receive,
            send,
        )
    )
    shipper.close()
    assert out[0]["headers"] == [] and mw.stats["disclosure_errors"] == 1
