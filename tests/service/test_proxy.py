"""``infercarbon proxy``: a fake OpenAI-compatible upstream on loopback behind the metering
proxy (both served by uvicorn on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time

import httpx
import pytest

from infercarbon.instrument.proxied import LlmServing
from infercarbon.provenance import Figure
from infercarbon.service.fake_upstream import FakeOpenAI, LoopbackServer
from infercarbon.service.middleware import RegionDiscloser
from infercarbon.service.proxy import LedgerSink, ProxyRuntime, load_key_tenants
from infercarbon.telemetry import ConstantSource

LABELS = {"service": "chat", "region": "DE", "device": "gpu0"}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Collect:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, events):
        with self.lock:
            self.events.extend(events)


@pytest.fixture(scope="module")
def upstream():
    srv = LoopbackServer(FakeOpenAI()).start()
    yield srv
    srv.stop()


def _proxy(upstream_url, sink, **kw):
    kw.setdefault("llm", LlmServing(params_b=8, gpu="H100", gpus=1))
    rt = ProxyRuntime(
        upstream_url, sink, labels=LABELS, record_s=0.05, discloser=RegionDiscloser("DE"), **kw
    ).start()
    srv = LoopbackServer(rt.app).start()
    return rt, srv


def _requests():
    """10 non-streaming and 10 streaming requests of known token counts."""
    out = []
    for i in range(20):
        stream = i % 2 == 1
        n = 3 + i
        words = " ".join(["w"] * (i + 1))
        if i % 4 == 0:
            path, body = "/v1/completions", {"model": "m-a", "prompt": words, "max_tokens": n}
        else:
            path, body = (
                "/v1/chat/completions",
                {"model": "m-b", "messages": [{"role": "user", "content": words}], "max_tokens": n},
            )
        if stream:
            body["stream"] = True
            if i % 3 == 0:
                body["stream_options"] = {"include_usage": True}
        usage = not stream or i % 3 == 0
        # a stream without usage: completion tokens counted, prompt tokens estimated from
        # the request's text at 4 characters a token (the prompt is 2i + 1 characters)
        out.append(
            (path, body, i + 1 if usage else math.ceil((2 * i + 1) / 4), n, stream, i % 5 == 0)
        )
    return out


def _wait(pred, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_twenty_requests_bodies_identical_header_on_request_events_with_tokens(upstream):
    sink = Collect()
    rt, srv = _proxy(upstream.url, sink)
    try:
        with httpx.Client(timeout=10) as direct, httpx.Client(timeout=10) as via:
            for path, body, _prompt, _n, stream, disclose in _requests():
                headers = {"traceparent": TRACEPARENT}
                if disclose:
                    headers["Prefer"] = "carbon-disclosure"
                want = direct.post(upstream.url + path, json=body)
                got = via.post(srv.url + path, json=body, headers=headers)
                assert got.status_code == want.status_code == 200
                if disclose and stream:
                    # the stream is the upstream's bytes, then one final SSE comment
                    assert got.content.startswith(want.content)
                    tail = got.content[len(want.content) :]
                    assert tail.startswith(b": carbon-emissions location_g=")
                    assert tail.endswith(b"\n\n") and b"energy_j=" in tail
                    assert "carbon-emissions" not in got.headers
                    assert got.headers["preference-applied"] == "carbon-disclosure"
                else:
                    assert got.content == want.content
                    if disclose:
                        assert got.headers["carbon-emissions"].startswith("location_g=")
                        assert "method=" in got.headers["carbon-emissions"]
                    else:
                        assert "carbon-emissions" not in got.headers
                        assert "preference-applied" not in got.headers
        assert _wait(lambda: len(sink.events) == 20)
    finally:
        srv.stop()
        rt.stop()
    assert len(sink.events) == 20
    # events arrive in completion order; match them by their token counts
    expected = sorted(((p, n) for _, _, p, n, _, _ in _requests()), key=str)
    arrived = sorted(((e.get("tokens_in"), e["tokens_out"]) for e in sink.events), key=str)
    assert arrived == expected
    for e in sink.events:
        assert e["energy_j"] > 0 and e["energy_low_j"] < e["energy_j"] < e["energy_high_j"]
        assert "llm-estimator:modelled" in e["attribution_method"]
        assert e["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert e["parent_span_id"] == "00f067aa0ba902b7"
        assert e["model"] in ("m-a", "m-b") and e["tenant"] == "default"
    sources = {e["attribution_method"].rsplit("tokens: ", 1)[1] for e in sink.events}
    assert sources == {"usage", "counted-stream-chunks; prompt estimated from request text"}


def test_errors_pass_through_and_unreachable_upstream_is_502(upstream):
    sink = Collect()
    rt, srv = _proxy(upstream.url, sink)
    try:
        with httpx.Client(timeout=10) as c:
            for status in (400, 429, 500, 503):
                r = c.post(
                    srv.url + "/v1/chat/completions",
                    json={"model": "x"},
                    headers={"x-fake-status": str(status)},
                )
                d = httpx.post(
                    upstream.url + "/v1/chat/completions",
                    json={"model": "x"},
                    headers={"x-fake-status": str(status)},
                )
                assert r.status_code == status and r.content == d.content
            # everything else passes through, unmetered
            r = c.get(srv.url + "/v1/models")
            assert r.status_code == 200 and r.json()["data"][0]["id"] == "fake-llm-8b"
            assert c.get(srv.url + "/nowhere").status_code == 404
        assert _wait(lambda: len(sink.events) == 4)
        assert sorted(e["outcome"] for e in sink.events) == [
            "client_error",
            "client_error",
            "server_error",
            "server_error",
        ]
    finally:
        srv.stop()
        rt.stop()
    dead = ProxyRuntime(
        "http://127.0.0.1:9", Collect(), labels=LABELS, llm=LlmServing(params_b=8, gpu="H100")
    ).start()
    srv = LoopbackServer(dead.app).start()
    try:
        r = httpx.post(srv.url + "/v1/completions", json={"prompt": "a"}, timeout=10)
        assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_unreachable"
        assert dead.app.stats["upstream_errors"] == 1
    finally:
        srv.stop()
        dead.stop()
    assert dead.accountant.stats["emitted"] == 0  # no inference ran, no event


def test_stream_chunks_are_forwarded_as_they_arrive(upstream):
    """5 chunks 0.2 s apart: the first reaches the client long before the stream ends."""
    rt, srv = _proxy(upstream.url, Collect())
    try:
        t0 = time.monotonic()
        with httpx.stream(
            "POST",
            srv.url + "/v1/chat/completions",
            timeout=10,
            json={
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "max_tokens": 5,
                "stream": True,
            },
            headers={"x-fake-chunk-delay-s": "0.2"},
        ) as r:
            # the time each chunk reaches the client (lines are read as they arrive)
            arrivals = [
                time.monotonic() - t0 for line in r.iter_lines() if line.startswith("data: {")
            ]
    finally:
        srv.stop()
        rt.stop()
    assert len(arrivals) == 5
    assert arrivals[0] < 0.5 and arrivals[-1] >= 0.9
    assert arrivals[-1] - arrivals[0] >= 0.7  # spread as the upstream sent them


def test_client_disconnect_stops_the_stream_and_is_recorded(upstream):
    sink = Collect()
    rt, srv = _proxy(upstream.url, sink)
    try:
        t0 = time.monotonic()
        with httpx.stream(
            "POST",
            srv.url + "/v1/chat/completions",
            timeout=10,
            json={
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "max_tokens": 40,
                "stream": True,
            },
            headers={"x-fake-chunk-delay-s": "0.1"},
        ) as r:
            got = 0
            for line in r.iter_lines():
                got += line.startswith("data: {")
                if got == 2:
                    break  # the client goes away after two chunks
        assert _wait(lambda: len(sink.events) == 1)
        took = time.monotonic() - t0
    finally:
        srv.stop()
        rt.stop()
    (ev,) = sink.events
    assert ev["outcome"] == "client_disconnected"
    assert 2 <= ev["tokens_out"] < 40 and took < 3.0  # not the whole 4 s stream


def test_upstream_timeout_is_504(upstream):
    rt, srv = _proxy(upstream.url, Collect(), timeout_s=0.2)
    try:
        r = httpx.post(
            srv.url + "/v1/completions",
            json={"prompt": "a"},
            headers={"x-fake-delay-s": "1"},
            timeout=10,
        )
        assert r.status_code == 504 and r.json()["error"]["type"] == "upstream_timeout"
    finally:
        srv.stop()
        rt.stop()


def test_measured_energy_is_split_over_concurrent_requests_and_conserved(upstream):
    """A constant 100 W source: the energy of busy time goes to the requests (by tokens and
    time), the rest is unattributed idle; nothing is lost or invented."""
    src = ConstantSource(
        Figure(100.0, "w", source="test", label="illustrative"), clock=time.monotonic_ns
    )
    sink = Collect()
    rt, srv = _proxy(upstream.url, sink, llm=None, sensor=src, poll_s=0.05)
    e0 = src.read_energy_j()
    try:

        def call(i):
            httpx.post(
                srv.url + "/v1/chat/completions",
                timeout=10,
                json={
                    "model": "m",
                    "messages": [{"role": "user", "content": "x " * (i + 1)}],
                    "max_tokens": 50,
                    "stream": True,
                },
                headers={"x-fake-delay-s": "0.2"},
            )

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert _wait(lambda: len(sink.events) == 8)
    finally:
        srv.stop()
        rt.stop()
    acc = rt.accountant.stats
    total = sum(e["energy_j"] for e in sink.events)
    assert total == pytest.approx(acc["attributed_j"], rel=1e-9)
    # the readings span (first to last) is all the energy the proxy saw
    span_j = rt.readings.window(rt.readings.first_t(), rt.readings.latest_t())[1]
    assert total + acc["unattributed_idle_j"] == pytest.approx(span_j[-1] - span_j[0], rel=1e-9)
    assert src.read_energy_j() > e0
    # 8 overlapping requests of >= 0.2 s at 100 W: each gets a share of >= 20 J busy energy
    assert 0.2 * 100 * 0.9 < total < (src.read_energy_j() - e0)
    for e in sink.events:
        assert e["tokens_out"] == 50
        assert "constant:constant (illustrative)" in e["attribution_method"]
        assert e["attribution_method"].endswith(
            "tokens: counted-stream-chunks; prompt estimated from request text"
        )


def test_tenant_from_header_or_key(upstream, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"sk-acme": "acme", hashlib.sha256(b"sk-beta").hexdigest(): "beta"}))
    sink = Collect()
    rt, srv = _proxy(
        upstream.url, sink, tenant_header="X-Tenant", key_tenants=load_key_tenants(str(keys))
    )
    try:
        body = {"model": "m", "prompt": "hi", "max_tokens": 2}
        httpx.post(srv.url + "/v1/completions", json=body, headers={"X-Tenant": "gw"})
        httpx.post(
            srv.url + "/v1/completions", json=body, headers={"Authorization": "Bearer sk-acme"}
        )
        httpx.post(
            srv.url + "/v1/completions", json=body, headers={"Authorization": "Bearer sk-beta"}
        )
        httpx.post(
            srv.url + "/v1/completions", json=body, headers={"Authorization": "Bearer sk-other"}
        )
        assert _wait(lambda: len(sink.events) == 4)
    finally:
        srv.stop()
        rt.stop()
    assert sorted(e["tenant"] for e in sink.events) == ["acme", "beta", "default", "gw"]


def test_ledger_sink_records_events_with_footprints(upstream, tmp_path):
    from infercarbon.ledger import open_store

    path = str(tmp_path / "l.duckdb")
    sink = LedgerSink(path)
    rt, srv = _proxy(upstream.url, sink)
    try:
        for i in range(3):
            httpx.post(
                srv.url + "/v1/chat/completions",
                json={
                    "model": "m",
                    "messages": [{"role": "user", "content": "a b"}],
                    "max_tokens": 4 + i,
                },
                headers={"traceparent": TRACEPARENT} if i else {},
            )
        assert _wait(lambda: sink.inserted == 3)
    finally:
        srv.stop()
        rt.stop()
        sink.close()
    store = open_store(path)
    try:
        ev = store.events().to_pylist()
        assert sorted(e["tokens_out"] for e in ev) == [4, 5, 6]
        assert {e["region"] for e in ev} == {"DEU"}
        assert sorted(e["trace_id"] or "" for e in ev) == [
            "",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ]
        assert store.count("event_footprints") == 3  # one footprint per event
    finally:
        store.close()


def test_bad_options_name_the_field(tmp_path):
    from infercarbon.errors import InputError

    with pytest.raises(InputError, match="upstream"):
        ProxyRuntime("vllm:8000", Collect(), labels=LABELS, llm=LlmServing(8, "H100"))
    with pytest.raises(InputError, match="sensor"):
        ProxyRuntime("http://x", Collect(), labels=LABELS)
    with pytest.raises(InputError, match="model_params_b"):
        LlmServing(-1, "H100")
    bad = tmp_path / "k.json"
    bad.write_text("[1]")
    with pytest.raises(InputError, match="tenant_keys"):
        load_key_tenants(str(bad))


@pytest.mark.parametrize(
    ("doc", "chars"),
    [
        (
            {
                "messages": [
                    {"role": "system", "content": "abc"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "defg"},
                            {"type": "image_url", "image_url": {}},
                        ],
                    },
                ]
            },
            7,
        ),
        ({"prompt": "hello"}, 5),
        ({"prompt": ["ab", "cd"]}, 4),
        ({"input": "embed me"}, 8),
        ({"prompt": [1, 2, 3]}, None),  # token ids: no text to estimate from
        ("not a dict", None),
    ],
)
def test_prompt_chars_of_openai_bodies(doc, chars):
    from infercarbon.service.proxy import prompt_chars

    assert prompt_chars(doc) == chars
