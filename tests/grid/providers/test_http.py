"""The shared transport: retries, backoff with jitter, Retry-After, errors, TTL cache."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from infercarbon.errors import (
    InputError,
    ProviderAuthError,
    ProviderError,
    ProviderHTTPError,
    ProviderTransportError,
    QuotaExceededError,
)
from infercarbon.grid.providers._http import (
    RetryPolicy,
    TTLCache,
    default_client,
)

URL = "https://api.example.test/v1/thing"


def sequence(*responses):
    """A handler answering the given responses (or raising the given exceptions) in order."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


def test_retries_5xx_with_exponential_backoff_and_jitter(make_transport, clock):
    h = sequence(httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"ok": 1}))
    t = make_transport(h, retry=RetryPolicy(max_attempts=4, base_delay_s=1.0, jitter_frac=0.5))
    resp = t.get(URL)
    assert resp.json() == {"ok": 1}
    assert len(h.calls) == 3
    # rand() = 0.5 and jitter 0.5: each delay is 0.75 x (1, 2)
    assert clock.sleeps == [0.75, 1.5]


def test_backoff_is_capped():
    p = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, jitter_frac=0.0)
    assert [p.backoff_s(a, rand=0.0) for a in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retry_after_seconds_is_honoured(make_transport, clock):
    h = sequence(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200))
    make_transport(h).get(URL)
    assert clock.sleeps == [7.0]


def test_retry_after_http_date_is_relative_to_the_injected_clock(make_transport, clock):
    when = email.utils.formatdate(clock.now_s + 12, usegmt=True)
    h = sequence(httpx.Response(503, headers={"Retry-After": when}), httpx.Response(200))
    make_transport(h).get(URL)
    assert clock.sleeps == [pytest.approx(12.0)]


def test_persistent_429_raises_quota_after_all_attempts(make_transport, clock):
    h = sequence(httpx.Response(429, json={"message": "Too many requests"}))
    t = make_transport(h, retry=RetryPolicy(max_attempts=3, base_delay_s=0.1))
    with pytest.raises(QuotaExceededError, match="Too many requests") as info:
        t.get(URL)
    assert "429" in str(info.value)
    assert len(h.calls) == 3
    assert len(clock.sleeps) == 2


def test_429_with_long_retry_after_gives_up_at_once(make_transport, clock):
    h = sequence(httpx.Response(429, headers={"Retry-After": "3600"}))
    t = make_transport(h, retry=RetryPolicy(max_retry_after_s=60))
    with pytest.raises(QuotaExceededError, match="3600 s"):
        t.get(URL)
    assert len(h.calls) == 1
    assert clock.sleeps == []


def test_transport_errors_are_retried_then_wrapped_once(make_transport, clock):
    boom = httpx.ConnectError("connection refused")
    h = sequence(boom)
    t = make_transport(h, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ProviderTransportError, match="after 3 attempts") as info:
        t.get(URL)
    assert info.value.__cause__ is boom
    assert len(h.calls) == 3


def test_timeout_then_success(make_transport):
    h = sequence(httpx.ReadTimeout("slow"), httpx.Response(200, text="fine"))
    assert make_transport(h).get(URL).text == "fine"


def test_other_status_is_provider_http_error_with_message(make_transport):
    h = sequence(httpx.Response(500, json={"error": "database on fire"}))
    t = make_transport(h, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(ProviderHTTPError) as info:
        t.get(URL)
    assert info.value.status == 500
    assert info.value.detail == "database on fire"
    assert len(h.calls) == 2


def test_400_is_not_retried(make_transport):
    h = sequence(httpx.Response(400, text="zone is required"))
    with pytest.raises(ProviderHTTPError, match="zone is required"):
        make_transport(h).get(URL)
    assert len(h.calls) == 1


def test_401_is_auth_error_and_never_echoes_the_query_string(make_transport):
    h = sequence(httpx.Response(401, text="Unauthorized"))
    with pytest.raises(ProviderAuthError) as info:
        make_transport(h).get(URL, params={"securityToken": "s3cret"})
    assert "s3cret" not in str(info.value)
    assert isinstance(info.value, ProviderError)
    assert len(h.calls) == 1


def test_cache_hits_until_ttl_expires(make_transport, clock):
    h = sequence(httpx.Response(200, json={"n": 1}))
    t = make_transport(h)
    t.get(URL, cache_key="k", ttl_s=60)
    t.get(URL, cache_key="k", ttl_s=60)
    assert len(h.calls) == 1
    clock.advance(61)
    t.get(URL, cache_key="k", ttl_s=60)
    assert len(h.calls) == 2
    assert t.requests_sent == 2


def test_errors_are_not_cached(make_transport):
    h = sequence(httpx.Response(404, text="nope"), httpx.Response(200, text="yes"))
    t = make_transport(h)
    with pytest.raises(ProviderHTTPError):
        t.get(URL, cache_key="k", ttl_s=60)
    assert t.get(URL, cache_key="k", ttl_s=60).text == "yes"


def test_ttl_cache_is_lru_bounded(clock):
    c = TTLCache(clock, max_entries=2)
    c.put("a", 1, 10)
    c.put("b", 2, 10)
    assert c.get("a") == 1  # a is now the most recent
    c.put("c", 3, 10)
    assert c.get("b") is None
    assert (c.get("a"), c.get("c"), len(c)) == (1, 3, 2)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"jitter_frac": 1.5}, "jitter_frac"),
        ({"base_delay_s": -1}, "retry delays"),
    ],
)
def test_retry_policy_validation(kwargs, field):
    with pytest.raises(InputError, match=field):
        RetryPolicy(**kwargs)


def test_default_client_has_explicit_timeouts():
    with default_client(timeout_s=12, connect_timeout_s=3) as c:
        assert c.timeout.read == 12
        assert c.timeout.connect == 3
        assert c.headers["User-Agent"].startswith("infercarbon/")
