"""Meter each request of a Python inference service and ship the events in the background.

The events go to the ledger service through
:class:`~infercarbon.instrument.shipper.EventShipper` (client side, in ``instrument``;
re-exported here).

:class:`MeteringMiddleware`
    An ASGI middleware.  For each HTTP request it records start and end time (injected wall
    clock) and the energy the injected :class:`~infercarbon.telemetry.base.EnergySource`
    reports over the request.  Concurrent requests share energy fairly: at every request
    boundary the energy since the previous boundary is split equally among the requests in
    flight during that segment (attribution method ``equal-share-concurrent``); energy drawn
    while no request is in flight is idle and is reported as ``unattributed_j`` in the
    middleware's stats, not attributed.  The event is then handed to the shipper, with its
    p5..p95 energy band (``energy_low_j``/``energy_high_j``: the band of the source's method's
    accuracy class, :func:`infercarbon.telemetry.base.energy_band`).

    Opt-in per-request disclosure: given a :class:`Discloser` (:class:`RegionDiscloser` is the
    default implementation), a request that carries ``Prefer: carbon-disclosure`` (RFC 7240)
    gets ``Carbon-Emissions`` and ``Preference-Applied: carbon-disclosure`` response headers
    (see :class:`MeteringMiddleware`).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, MutableMapping
from typing import Any, Protocol

from infercarbon.accounting.compose import operational_g
from infercarbon.accounting.events import quadrature_band, relative_deviations_frac
from infercarbon.errors import ConfigurationError, InfercarbonError, InputError, SensorError
from infercarbon.instrument.shipper import EventShipper
from infercarbon.reference.regions import resolve_region
from infercarbon.telemetry.base import EnergySource, energy_band
from infercarbon.timeutil import EpochClockS, format_utc

__all__ = [
    "Discloser",
    "EventShipper",
    "EventSink",
    "MeteringMiddleware",
    "RegionDiscloser",
    "carbon_emissions_header",
    "parse_traceparent",
    "prefers_disclosure",
    "tenant_from_header",
    "trace_context",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class EventSink(Protocol):
    """Where the middleware hands each event: :class:`EventShipper` (which queues it for a
    background POST) or a test's in-memory fake."""

    def submit(self, event: dict[str, Any]) -> bool:
        """Take one event; False when it was dropped (e.g. a full queue)."""
        ...


class Discloser(Protocol):
    """Computes the ``Carbon-Emissions`` header fields of one request.

    Called with the request's energy up to its response start and that energy's p5..p95 band
    [J], the interval it covers (UTC) and the request's tenant; returns the header's fields in
    order, e.g. ``{"location_g": 0.0123, "low_g": ..., "high_g": ..., "energy_j": ...}``.
    Numbers are written with 4 significant digits; a field whose value is ``None`` (or not a
    finite number) is left out, never written as 0.  The middleware adds ``energy_j`` and
    ``method`` (the attribution method text) where the mapping lacks them.  Raise an
    :class:`~infercarbon.errors.InfercarbonError` when no disclosure can be made: the response
    then goes out without the header (counted in ``stats["disclosure_errors"]``).
    """

    def __call__(
        self,
        energy_j: float,
        energy_low_j: float,
        energy_high_j: float,
        start_utc: _dt.datetime,
        end_utc: _dt.datetime,
        tenant: str,
    ) -> Mapping[str, float | str | None]: ...


class RegionDiscloser:
    """The default :class:`Discloser`: operational emissions of a request in one grid region.

    ``location_g`` is :func:`infercarbon.accounting.compose.operational_g` of the energy at the
    region's annual location-based intensity (:func:`infercarbon.reference.regions.
    resolve_region`) times ``pue``; ``low_g``/``high_g`` combine the energy's band (given by
    the middleware: the band of the source method's accuracy class,
    :func:`infercarbon.telemetry.base.energy_band`) and the intensity Figure's range by
    first-order quadrature of relative deviations per side
    (:func:`infercarbon.accounting.events.quadrature_band`).  ``market_g`` and ``marginal_g``
    use the given intensities and are omitted when none is given (never a fallback, never 0).

    Parameters
    ----------
    region : str
        A bundled region (id, ISO code, name, zone or cloud region).
    pue : float
        Facility PUE (>= 1; 1: IT energy only).
    market_g_per_kwh, marginal_g_per_kwh : float [g/kWh], optional
        Market-based (contractual) and marginal intensities.
    """

    def __init__(
        self,
        region: str,
        *,
        pue: float = 1.0,
        market_g_per_kwh: float | None = None,
        marginal_g_per_kwh: float | None = None,
    ) -> None:
        self.region = resolve_region(region)
        if (
            isinstance(pue, bool)
            or not isinstance(pue, int | float)
            or not (math.isfinite(pue) and pue >= 1.0)
        ):
            raise InputError(f"PUE is facility/IT energy, a number >= 1; got {pue!r}", field="pue")
        for name, v in (
            ("market_g_per_kwh", market_g_per_kwh),
            ("marginal_g_per_kwh", marginal_g_per_kwh),
        ):
            if v is not None and (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not (math.isfinite(v) and v >= 0)
            ):
                raise InputError(f"must be an intensity >= 0 g/kWh, got {v!r}", field=name)
        self.pue = float(pue)
        self.market_g_per_kwh = market_g_per_kwh
        self.marginal_g_per_kwh = marginal_g_per_kwh

    def __call__(
        self,
        energy_j: float,
        energy_low_j: float,
        energy_high_j: float,
        start_utc: _dt.datetime,
        end_utc: _dt.datetime,
        tenant: str,
    ) -> dict[str, float | str | None]:
        loc = self.region.intensity_g_per_kwh
        g = float(operational_g(energy_j, loc.value, pue=self.pue))
        e_lo, e_hi = relative_deviations_frac(energy_j, energy_low_j, energy_high_j)
        i_lo, i_hi = relative_deviations_frac(loc.value, *loc.range)
        low, high = quadrature_band(g, (e_lo, i_lo), (e_hi, i_hi))

        def at(intensity: float | None) -> float | None:
            return (
                None
                if intensity is None
                else float(operational_g(energy_j, intensity, pue=self.pue))
            )

        return {
            "location_g": g,
            "low_g": float(low),
            "high_g": float(high),
            "market_g": at(self.market_g_per_kwh),
            "marginal_g": at(self.marginal_g_per_kwh),
            "energy_j": float(energy_j),
        }


def tenant_from_header(name: str) -> Callable[[Scope], str | None]:
    """A ``tenant_of`` for :class:`MeteringMiddleware` reading a request header (e.g. one a
    trusted gateway sets after authenticating the caller; clients can send any header, so use
    it only behind such a gateway).  An absent or empty header gives ``None``."""
    key = name.strip().lower().encode("latin-1")
    if not key:
        raise InputError("needs a header name", field="name")

    def tenant_of(scope: Scope) -> str | None:
        for k, v in scope.get("headers") or ():
            if k.lower() == key:
                text = v.decode("latin-1").strip()
                return text or None
        return None

    return tenant_of


#: RFC 9110 token characters
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PREFERENCE = "carbon-disclosure"


def _split_unquoted(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside quoted strings (backslash escapes inside quotes)."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def prefers_disclosure(scope: Scope) -> bool:
    """Whether the request's ``Prefer`` header(s) (RFC 7240) ask for ``carbon-disclosure``.

    Preferences are comma separated, possibly over several ``Prefer`` headers; the token is
    compared case-insensitively; parameters after ``;`` are ignored.  The preference defines no
    value, so ``carbon-disclosure=<non-empty value>`` is not it (an empty value is no value,
    RFC 7240 section 2); malformed entries are ignored.
    """
    for k, v in scope.get("headers") or ():
        if k.lower() != b"prefer":
            continue
        for pref in _split_unquoted(v.decode("latin-1"), ","):
            head = _split_unquoted(pref, ";")[0]
            tok, eq, val = head.partition("=")
            tok = tok.strip()
            if not _TOKEN.fullmatch(tok) or tok.lower() != _PREFERENCE:
                continue
            if eq and val.strip() not in ("", '""'):
                continue
            return True
    return False


_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """``(trace_id, parent_span_id)`` of a W3C ``traceparent`` header, None when absent or
    invalid (all-zero ids and version ``ff`` are invalid, W3C Trace Context section 3.2).

    >>> parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7')
    >>> parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01") is None
    True
    """
    if not value:
        return None
    m = _TRACEPARENT.match(value.strip())
    if m is None or m.group(1) == "ff" or set(m.group(2)) == {"0"} or set(m.group(3)) == {"0"}:
        return None
    return m.group(2), m.group(3)


def trace_context(scope: Scope) -> dict[str, str]:
    """``trace_id`` and ``parent_span_id`` event fields from the request's ``traceparent``
    (only one such header is valid; with several, none is used)."""
    values = [v for k, v in scope.get("headers") or () if k.lower() == b"traceparent"]
    trace = parse_traceparent(values[0].decode("latin-1")) if len(values) == 1 else None
    return {} if trace is None else {"trace_id": trace[0], "parent_span_id": trace[1]}


def _field_value(v: float | str) -> str | None:
    """A header field value: numbers with 4 significant digits, text as a token or a quoted
    string; None for a value not to be written (not finite)."""
    if isinstance(v, str):
        text = "".join(ch if " " <= ch <= "~" else "?" for ch in v)
        if _TOKEN.fullmatch(text):
            return text
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigurationError(f"disclosure field value {v!r} is not a number or text")
    return format(v, ".4g") if math.isfinite(v) else None


def carbon_emissions_header(fields: Mapping[str, float | str | None]) -> str:
    """``key=value; key=value`` of the fields in order, leaving out those without a value."""
    out = []
    for key, v in fields.items():
        if not (isinstance(key, str) and _TOKEN.fullmatch(key)):
            raise ConfigurationError(f"disclosure field name {key!r} is not an HTTP token")
        if v is None:
            continue
        text = _field_value(v)
        if text is not None:
            out.append(f"{key}={text}")
    return "; ".join(out)


class MeteringMiddleware:
    """ASGI middleware: one inference event per HTTP request, shipped in the background.

    Parameters
    ----------
    app : ASGI app
        The inference service.
    shipper : EventSink
        Where events go: an :class:`EventShipper`, or anything with its ``submit``.
    energy : EnergySource
        Cumulative energy of the device(s) serving the requests.
    clock : callable
        Wall clock, seconds since the Unix epoch (UTC).
    service, tenant, model, region, device : str
        Labels of every event (``tenant``: unless ``tenant_of`` names the request's tenant).
    paths : tuple of str, optional
        Meter only requests whose path starts with one of these (default: all).
    outcome : callable, optional
        ``status_code -> outcome`` (default: ``"ok"`` for < 400, ``"client_error"``,
        ``"server_error"``).
    tenant_of : callable, optional
        ``scope -> tenant or None``: the request's tenant, for its event and for the
        disclosure allow/deny lists; ``None`` (and the default) means the ``tenant`` label.
        :func:`tenant_from_header` reads it from a header a trusted gateway sets.
    disclosure : Discloser, optional
        Off (the default) unless given.  When given, a request whose ``Prefer`` header asks
        for ``carbon-disclosure`` (RFC 7240; :func:`prefers_disclosure`), from a tenant the
        lists allow, gets the response headers ``Carbon-Emissions: location_g=...; low_g=...;
        high_g=...; [market_g=...;] [marginal_g=...;] energy_j=...; method=...`` and
        ``Preference-Applied: carbon-disclosure``.  Headers go out before the body, so the
        figure covers the request's energy from its start up to the app's
        ``http.response.start`` message: at that message the middleware takes a boundary
        (energy since the previous boundary split equally over the requests in flight, as at
        every boundary) and discloses what the request has been attributed so far, with the
        band of the source method's accuracy class.  Energy drawn while a body streams after
        that point is not in the header; it is in the shipped event (which covers the whole
        request, as without disclosure).  A sensor or discloser error leaves the headers out.
    disclosure_tenants : collection of str, optional
        Allow-list: only these tenants get the disclosure (default: every tenant).
    disclosure_refused : collection of str
        Deny-list: these tenants never get it (wins over the allow-list).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        shipper: EventSink,
        energy: EnergySource,
        clock: EpochClockS,
        service: str,
        tenant: str,
        model: str,
        region: str,
        device: str,
        paths: tuple[str, ...] = (),
        outcome: Callable[[int], str] | None = None,
        id_factory: Callable[[], str] = lambda: uuid.uuid4().hex,
        tenant_of: Callable[[Scope], str | None] | None = None,
        disclosure: Discloser | None = None,
        disclosure_tenants: Collection[str] | None = None,
        disclosure_refused: Collection[str] = (),
    ) -> None:
        if isinstance(disclosure_tenants, str) or isinstance(disclosure_refused, str):
            raise ConfigurationError(
                "disclosure_tenants/disclosure_refused take a collection "
                "of tenant names, not one string"
            )
        self.app = app
        self.shipper = shipper
        self.energy = energy
        self.clock = clock
        self.labels = {
            "service": service,
            "tenant": tenant,
            "model": model,
            "region": region,
            "device": device,
        }
        self.paths = paths
        self.outcome = outcome or _default_outcome
        self.id_factory = id_factory
        self.tenant_of = tenant_of
        self.disclosure = disclosure
        self.disclosure_tenants = (
            None if disclosure_tenants is None else frozenset(disclosure_tenants)
        )
        self.disclosure_refused = frozenset(disclosure_refused)
        #: the attribution method text of every event (names the source's method, so that
        #: energy_band() of it finds the accuracy class)
        self.method = f"equal-share-concurrent: {energy.name}:{energy.method} ({energy.label})"
        #: p5..p95 band of the source's energy figures (its method's accuracy class)
        self.band = energy_band(f"{energy.name}:{energy.method}")
        self._lock = threading.Lock()
        self._inflight: dict[int, float] = {}  # request token -> attributed J so far
        self._last_j: float | None = None
        self._seq = 0
        self.stats: dict[str, float] = {
            "requests": 0,
            "unattributed_j": 0.0,
            "sensor_errors": 0,
            "disclosed": 0,
            "disclosure_errors": 0,
        }

    def _split(self) -> None:
        """Split the energy since the previous boundary over the requests in flight (the
        caller holds the lock)."""
        now_j = self.energy.read_energy_j()
        if self._last_j is not None:
            delta = max(0.0, now_j - self._last_j)
            if self._inflight:
                share = delta / len(self._inflight)
                for k in self._inflight:
                    self._inflight[k] += share
            else:
                self.stats["unattributed_j"] += delta
        self._last_j = now_j

    def _boundary(self, token: int, starting: bool) -> float | None:
        """Split the energy since the previous boundary over the requests in flight."""
        with self._lock:
            self._split()
            if starting:
                self._inflight[token] = 0.0
                return None
            return self._inflight.pop(token)

    def _so_far(self, token: int) -> float:
        """A boundary now; the request's attributed energy so far (it stays in flight)."""
        with self._lock:
            self._split()
            return self._inflight[token]

    def _discloses_to(self, tenant: str) -> bool:
        return (
            self.disclosure is not None
            and tenant not in self.disclosure_refused
            and (self.disclosure_tenants is None or tenant in self.disclosure_tenants)
        )

    def _disclose(self, message: Message, token: int, start: float, tenant: str) -> Message:
        """``message`` (an ``http.response.start``) with the disclosure headers added, or as
        it is when no figure can be given."""
        disclosure = self.disclosure
        if disclosure is None:
            return message
        try:
            energy_j = self._so_far(token)
        except SensorError:
            self.stats["sensor_errors"] += 1
            return message
        end = self.clock()
        try:
            fields = dict(
                disclosure(
                    energy_j,
                    energy_j * self.band.low_frac,
                    energy_j * self.band.high_frac,
                    _utc(start),
                    _utc(end),
                    tenant,
                )
            )
            fields.setdefault("energy_j", energy_j)
            fields.setdefault("method", self.method)
            value = carbon_emissions_header(fields)
        except InfercarbonError:
            self.stats["disclosure_errors"] += 1
            return message
        self.stats["disclosed"] += 1
        headers = [
            *message.get("headers", ()),
            (b"carbon-emissions", value.encode("latin-1")),
            (b"preference-applied", _PREFERENCE.encode("latin-1")),
        ]
        return {**message, "headers": headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or (
            self.paths and not str(scope.get("path", "")).startswith(self.paths)
        ):
            await self.app(scope, receive, send)
            return
        with self._lock:
            self._seq += 1
            token = self._seq
        status = {"code": 500, "bytes": 0}
        try:
            self._boundary(token, True)
        except SensorError:
            self.stats["sensor_errors"] += 1
            await self.app(scope, receive, send)
            return
        start = self.clock()
        tenant = (self.tenant_of(scope) if self.tenant_of is not None else None) or (
            self.labels["tenant"]
        )
        disclose = self._discloses_to(tenant) and prefers_disclosure(scope)
        trace = trace_context(scope)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                if disclose:
                    message = self._disclose(message, token, start, tenant)
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            end = self.clock()
            try:
                energy_j = self._boundary(token, False)
            except SensorError:
                with self._lock:
                    self._inflight.pop(token, None)
                self.stats["sensor_errors"] += 1
                energy_j = None
            self.stats["requests"] += 1
            if energy_j is not None:
                self.shipper.submit(
                    {
                        "event_id": self.id_factory(),
                        **self.labels,
                        "tenant": tenant,
                        "start_utc": _iso(start),
                        "end_utc": _iso(end),
                        "energy_j": energy_j,
                        "energy_low_j": energy_j * self.band.low_frac,
                        "energy_high_j": energy_j * self.band.high_frac,
                        "attribution_method": self.method,
                        "payload_bytes": status["bytes"],
                        "outcome": self.outcome(status["code"]),
                        **trace,
                    }
                )


def _default_outcome(code: int) -> str:
    return "ok" if code < 400 else ("client_error" if code < 500 else "server_error")


def _utc(t: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC)


def _iso(t: float) -> str:
    return format_utc(_utc(t))
