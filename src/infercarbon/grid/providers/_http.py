"""Shared HTTP transport for the provider clients: timeouts, retries, backoff, a TTL cache.

Every provider module talks to its API through one :class:`HttpTransport`, which owns

* an injected :class:`httpx.Client` (build one with :func:`default_client`: explicit connect,
  read, write and pool timeouts);
* a retry loop for transport errors (timeouts, refused connections) and retryable statuses
  (429, 500, 502, 503, 504): exponential backoff ``base x 2^(attempt-1)`` capped at
  ``max_delay_s``, with jitter, or the server's ``Retry-After`` (seconds or an HTTP date) when
  it sends one;
* an injected clock (epoch seconds) and sleep, so tests run the whole schedule instantly;
* a small LRU cache with a per-call time-to-live, keyed by what the caller names (never by a
  secret).

Nothing here reads the environment or the system clock by itself: :func:`system_transport`
is the one explicit factory that wires in ``time.time``, ``time.sleep`` and ``random.random``
(the CLI uses it).

Errors (all :class:`~infercarbon.errors.ProviderError`):

* 429 after the last attempt, or a ``Retry-After`` longer than ``max_retry_after_s``:
  :class:`~infercarbon.errors.QuotaExceededError`;
* 401/403: :class:`ProviderAuthError`;
* any other non-2xx: :class:`ProviderHTTPError` with the status and the provider's message;
* a transport failure after the last attempt: :class:`ProviderTransportError`, wrapping the
  httpx error once (``raise ... from exc``).

>>> p = RetryPolicy(max_attempts=3, base_delay_s=1.0, jitter_frac=0.0)
>>> [p.backoff_s(a, rand=0.5) for a in (1, 2, 3)]
[1.0, 2.0, 4.0]
"""

from __future__ import annotations

import email.utils
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from infercarbon.errors import (
    InputError,
    ProviderAuthError,
    ProviderHTTPError,
    ProviderTransportError,
    QuotaExceededError,
)
from infercarbon.timeutil import EpochClockS

__all__ = [
    "RETRYABLE_STATUSES",
    "HttpTransport",
    "RetryPolicy",
    "Sleep",
    "TTLCache",
    "default_client",
    "system_transport",
]

Sleep = Callable[[float], None]

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry.

    ``max_attempts`` counts the first try.  The delay before attempt ``n + 1`` is
    ``min(max_delay_s, base_delay_s x 2^(n-1))`` reduced by up to ``jitter_frac`` of itself
    at random, unless the server sent ``Retry-After``, which wins (if it asks for more than
    ``max_retry_after_s`` the call gives up at once with the wait in the message).
    """

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    jitter_frac: float = 0.5
    max_retry_after_s: float = 60.0
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InputError("must be at least 1", field="max_attempts")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.max_retry_after_s < 0:
            raise InputError("delays cannot be negative", field="retry delays")
        if not 0.0 <= self.jitter_frac <= 1.0:
            raise InputError("must be in [0, 1]", field="jitter_frac")

    def backoff_s(self, attempt: int, *, rand: float) -> float:
        """Delay after failed attempt ``attempt`` (1-based), ``rand`` uniform in [0, 1)."""
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return delay * (1.0 - self.jitter_frac * rand)


@dataclass(slots=True)
class TTLCache:
    """A small LRU cache whose entries expire ``ttl_s`` seconds after they were stored."""

    clock: EpochClockS
    max_entries: int = 128
    _store: OrderedDict[Hashable, tuple[float, Any]] = field(default_factory=OrderedDict)

    def get(self, key: Hashable) -> Any | None:
        hit = self._store.get(key)
        if hit is None:
            return None
        expires, value = hit
        if self.clock() >= expires:
            del self._store[key]
            return None
        self._store.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        self._store[key] = (self.clock() + ttl_s, value)
        self._store.move_to_end(key)
        while len(self._store) > self.max_entries:
            self._store.popitem(last=False)

    def clear(self) -> None:
        self._store.clear()

    def __len__(self) -> int:
        return len(self._store)


def default_client(
    *, timeout_s: float = 30.0, connect_timeout_s: float = 10.0, user_agent: str | None = None
) -> httpx.Client:
    """An :class:`httpx.Client` with explicit timeouts and an identifying User-Agent."""
    from infercarbon._version import __version__

    return httpx.Client(
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        headers={"User-Agent": user_agent or f"infercarbon/{__version__}"},
        follow_redirects=True,
    )


def _retry_after_s(resp: httpx.Response, now_s: float) -> float | None:
    raw = resp.headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now_s)


def provider_message(resp: httpx.Response, limit: int = 300) -> str:
    """The provider's error message: a JSON ``message``/``error``/``detail`` or the text."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "errors", "msg"):
            if body.get(key):
                return str(body[key])[:limit]
    text = resp.text.strip()
    return text[:limit]


class HttpTransport:
    """GET with retries, backoff and caching for one provider.

    Parameters
    ----------
    provider : str
        Name used in error messages.
    client : httpx.Client
        The HTTP client (tests pass one over :class:`httpx.MockTransport`).
    clock : callable
        Epoch seconds; used for the cache and for HTTP-date ``Retry-After``.
    sleep : callable
        Called with the seconds to wait between attempts.
    rand : callable
        Uniform [0, 1) numbers for the jitter.
    retry : RetryPolicy
        Attempts and delays.
    cache : TTLCache, optional
        Shared response cache; one is created on ``clock`` when not given.
    """

    def __init__(
        self,
        provider: str,
        *,
        client: httpx.Client,
        clock: EpochClockS,
        sleep: Sleep,
        rand: Callable[[], float],
        retry: RetryPolicy | None = None,
        cache: TTLCache | None = None,
    ) -> None:
        self.provider = provider
        self.client = client
        self.clock = clock
        self.sleep = sleep
        self.rand = rand
        self.retry = retry or RetryPolicy()
        self.cache = cache if cache is not None else TTLCache(clock)
        #: number of HTTP requests actually sent (cache hits do not count)
        self.requests_sent = 0

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        cache_key: Hashable | None = None,
        ttl_s: float = 0.0,
        check: bool = True,
    ) -> httpx.Response:
        """GET ``url``; retried, and cached under ``cache_key`` for ``ttl_s`` seconds.

        With ``check`` (the default) a non-2xx final answer raises; without it the caller
        gets the response (used for the WattTime 401 token refresh).
        """
        if cache_key is not None:
            hit = self.cache.get(cache_key)
            if hit is not None:
                return hit  # type: ignore[no-any-return]
        resp = self._send(url, params=params, headers=headers, auth=auth)
        if check:
            self.raise_for_status(resp)
        if cache_key is not None and resp.is_success:
            self.cache.put(cache_key, resp, ttl_s)
        return resp

    def _send(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        auth: httpx.Auth | tuple[str, str] | None,
    ) -> httpx.Response:
        policy = self.retry
        for attempt in range(1, policy.max_attempts + 1):
            last = attempt == policy.max_attempts
            try:
                self.requests_sent += 1
                resp = self.client.get(
                    url,
                    params=params,
                    headers=headers,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                if last:
                    raise ProviderTransportError(
                        f"{self.provider}: no answer from {url} after {attempt} attempts "
                        f"({type(exc).__name__}: {exc})"
                    ) from exc
                self.sleep(policy.backoff_s(attempt, rand=self.rand()))
                continue
            if resp.status_code not in policy.retry_statuses:
                return resp
            wait = _retry_after_s(resp, self.clock())
            if resp.status_code == 429 and wait is not None and wait > policy.max_retry_after_s:
                raise QuotaExceededError(
                    f"{self.provider}: rate limit or quota exceeded (HTTP 429); the server asks "
                    f"to retry after {wait:.0f} s, more than the {policy.max_retry_after_s:.0f} s "
                    f"this client waits: {provider_message(resp)}"
                )
            if last:
                return resp
            self.sleep(wait if wait is not None else policy.backoff_s(attempt, rand=self.rand()))
        raise AssertionError("unreachable")  # pragma: no cover

    def raise_for_status(self, resp: httpx.Response) -> None:
        """Turn a non-2xx response into the matching :class:`ProviderError`."""
        if resp.is_success:
            return
        status, detail, url = resp.status_code, provider_message(resp), str(resp.request.url)
        url = url.split("?", 1)[0]  # never echo query strings: they may carry a token
        if status == 429:
            raise QuotaExceededError(
                f"{self.provider}: rate limit or quota exceeded (HTTP 429) after "
                f"{self.retry.max_attempts} attempts: {detail or '(no message)'}"
            )
        if status in (401, 403):
            raise ProviderAuthError(self.provider, status, detail, url=url)
        raise ProviderHTTPError(self.provider, status, detail, url=url)


def system_transport(
    provider: str,
    *,
    client: httpx.Client | None = None,
    retry: RetryPolicy | None = None,
    cache: TTLCache | None = None,
) -> HttpTransport:
    """A transport on the system clock, ``time.sleep`` and ``random.random``.

    This is the explicit place where real time and randomness enter; library code receives
    the resulting transport as an argument.
    """
    return HttpTransport(
        provider,
        client=client if client is not None else default_client(),
        clock=time.time,
        sleep=time.sleep,
        rand=random.random,
        retry=retry,
        cache=cache,
    )
