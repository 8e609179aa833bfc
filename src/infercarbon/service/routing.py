"""An ASGI middleware that exposes the carbon-aware route to a load balancer.

:class:`CarbonRouteMiddleware` wraps any ASGI app (an inference service, or the infercarbon
service itself).  It

* answers ``GET`` on ``path`` (default ``/.well-known/carbon-route``) with the JSON of
  :func:`infercarbon.decisions.route.route` (the lowest-footprint allowed region now, the next
  best, the margin and its range), without calling the wrapped app: a load balancer polls it
  like a health check;
* adds a ``Carbon-Route`` header to every other HTTP response (``header=True``), e.g.
  ``Carbon-Route: region=FRA; next=DEU; margin_g_per_kwh=324.9; low=324.9; high=324.9``, so a
  proxy that already sees the responses can weigh its backends without polling.

The decision is recomputed at most every ``ttl_s`` seconds of the injected ``clock`` (grid
signals are hourly); an error computing it is answered with 503 on ``path`` and leaves the
header off (counted in ``stats["errors"]``), never a stale or made-up region.

>>> import datetime as dt
>>> adv = route_advisor(["FR", "PL"])
>>> adv(dt.datetime(2026, 7, 1, tzinfo=dt.UTC))["region_id"]
'FRA'
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import threading
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from infercarbon.errors import InfercarbonError, InputError
from infercarbon.timeutil import WallClockUtc

__all__ = ["CarbonRouteMiddleware", "route_advisor", "route_header"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Advisor = Callable[[_dt.datetime], dict[str, Any]]


def route_advisor(regions: Sequence[str], **options: Any) -> Advisor:
    """A callable ``now -> route JSON`` over :func:`infercarbon.decisions.route.route`
    (``options``: its keyword arguments, e.g. ``residency="EU"``, ``latency_ms={...}``)."""
    from infercarbon.decisions.route import route

    regs = list(regions)
    if not regs:
        raise InputError("give at least one region", field="regions")

    def advise(now: _dt.datetime) -> dict[str, Any]:
        t = now.astimezone(_dt.UTC).replace(tzinfo=None)
        return route(regs, np.datetime64(t, "s"), **options).to_dict()

    return advise


def _num(v: Any) -> str | None:
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return f"{v:.4g}"
    return None


def route_header(doc: Mapping[str, Any]) -> str:
    """The ``Carbon-Route`` header value of a route document."""
    parts = [f"region={doc['region_id']}"]
    if doc.get("next_best"):
        parts.append(f"next={doc['next_best']}")
    for key, name in (
        ("margin_g_per_kwh", "margin_g_per_kwh"),
        ("margin_low_g_per_kwh", "low"),
        ("margin_high_g_per_kwh", "high"),
        ("intensity_g_per_kwh", "intensity_g_per_kwh"),
    ):
        v = _num(doc.get(key))
        if v is not None:
            parts.append(f"{name}={v}")
    return "; ".join(parts)


class CarbonRouteMiddleware:
    """See the module docstring.

    Parameters
    ----------
    app : ASGI app
        The wrapped application.
    advise : callable
        ``now (aware UTC datetime) -> route document`` (:func:`route_advisor`).
    clock : callable
        ``() -> aware datetime`` (injected; no ambient clock).
    path : str
        Where the route document is served.
    ttl_s : float [s]
        How long a decision is reused.
    header : bool
        Whether to add ``Carbon-Route`` to other responses.
    """

    def __init__(
        self,
        app: ASGIApp,
        advise: Advisor,
        *,
        clock: WallClockUtc,
        path: str = "/.well-known/carbon-route",
        ttl_s: float = 300.0,
        header: bool = True,
    ) -> None:
        if not (math.isfinite(ttl_s) and ttl_s >= 0):
            raise InputError(f"{ttl_s!r} must be >= 0 s", field="ttl_s")
        if not path.startswith("/"):
            raise InputError(f"{path!r} must start with /", field="path")
        self.app, self.advise, self.clock = app, advise, clock
        self.path, self.ttl_s, self.header = path, float(ttl_s), header
        self._lock = threading.Lock()
        self._cached: tuple[_dt.datetime, dict[str, Any]] | None = None
        self.stats = {"served": 0, "headers": 0, "errors": 0, "computed": 0}

    def decision(self) -> dict[str, Any] | None:
        """The current route document (cached for ``ttl_s``), or None when it fails."""
        now = self.clock()
        with self._lock:
            c = self._cached
            if c is not None and 0 <= (now - c[0]).total_seconds() < self.ttl_s:
                return c[1]
        try:
            doc = self.advise(now)
        except InfercarbonError:
            self.stats["errors"] += 1
            return None
        with self._lock:
            self._cached = (now, doc)
            self.stats["computed"] += 1
        return doc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") == self.path and scope.get("method") in ("GET", "HEAD"):
            doc = self.decision()
            body = json.dumps(
                doc if doc is not None else {"detail": "no route decision could be made now"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200 if doc else 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"cache-control", f"max-age={int(self.ttl_s)}".encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": body if scope.get("method") == "GET" else b"",
                }
            )
            self.stats["served"] += 1
            return
        if not self.header:
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                doc = self.decision()
                if doc is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"carbon-route", route_header(doc).encode("latin-1")))
                    message = {**message, "headers": headers}
                    self.stats["headers"] += 1
            await send(message)

        await self.app(scope, receive, send_wrapper)
