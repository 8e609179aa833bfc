"""A metering reverse proxy for OpenAI-compatible inference servers (``infercarbon proxy``).

:class:`MeteringProxy` is a plain ASGI app (no framework on the request path) that forwards
every request to the upstream over a keep-alive pool
(:class:`~infercarbon.service.upstream.UpstreamPool`; why not httpx there: its module doc) and
returns the upstream's answer unchanged: status, headers (hop-by-hop headers excepted, RFC 9110
section 7.6.1) and the body bytes exactly as received (no decompression, no re-encoding).  Upstream
error statuses pass through as they are.  When the upstream cannot be
reached or does not answer within ``timeout_s``, the proxy itself answers 502 or 504 with an
OpenAI-style error body (``{"error": {"type": "upstream_unreachable"|"upstream_timeout"}}``)
and records no event (no inference ran).

Metered paths (``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``) get one
:class:`~infercarbon.instrument.proxied.RequestRecord` each:

* tokens from the response's ``usage`` (``prompt_tokens``, ``completion_tokens``); for a stream
  (``text/event-stream``) from a chunk's ``usage`` when the server sends one, else the
  streamed chunks that carry generated text are counted (one chunk = one token, which is what
  vLLM, SGLang and TGI send; ``tokens: counted-stream-chunks`` in the event's method says so);
* model from the request's ``model`` (else the response's); tenant from ``tenant_header`` or
  from the SHA-256 of the request's bearer key (``key_tenants``), else the default tenant;
* W3C trace context from ``traceparent``: ``trace_id`` and ``parent_span_id`` on the event.

Energy is attributed off the request path by
:class:`~infercarbon.instrument.proxied.RequestAccountant` (measured sensor readings split by
the attribution engine, or the LLM estimator, labelled modelled).

Disclosure: with ``Prefer: carbon-disclosure`` (and a discloser configured), a non-streamed
response carries ``Carbon-Emissions`` and ``Preference-Applied`` headers; a stream carries
``Preference-Applied`` and, after the upstream's last byte, one final SSE comment line
``: carbon-emissions location_g=...; ...`` (ASGI servers such as uvicorn cannot send HTTP
trailers, and browsers' EventSource ignores comments).  The figure is provisional: measured
mode uses the sensor's recent mean power times the request's time over the mean number of
requests in flight; modelled mode the LLM estimator for the request's tokens.  The event
carries the attributed figure.  See docs/proxy.md.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from infercarbon.errors import InfercarbonError, InputError, UpstreamTimeout, UpstreamUnreachable
from infercarbon.estimators.llm import estimate_llm_scalar
from infercarbon.instrument.proxied import LlmServing, ReadingsLog, RequestAccountant, RequestRecord
from infercarbon.service.middleware import (
    Discloser,
    Receive,
    Scope,
    Send,
    carbon_emissions_header,
    prefers_disclosure,
    trace_context,
)
from infercarbon.service.upstream import (
    UpstreamPool,
    UpstreamResponse,
)
from infercarbon.timeutil import EpochClockS

__all__ = ["METERED_PATHS", "LedgerSink", "MeteringProxy", "ProxyRuntime", "load_key_tenants"]

METERED_PATHS: tuple[str, ...] = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")

#: RFC 9110 hop-by-hop headers, never forwarded (either way)
_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"proxy-connection",
    }
)
#: not forwarded to the upstream: hop-by-hop, and the body's length (the pool sets it)
#: (and ``Expect``: the proxy has read the whole body already, so no ``100 Continue``)
_HOP_REQUEST = _HOP | {b"content-length", b"expect"}


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


#: Characters per token for English text in OpenAI's tokenizers ("1 token ~= 4 chars in
#: English": OpenAI Help Center, "What are tokens and how to count them?").  Used only for the
#: prompt of a stream that reports no ``usage``; the event's token source says so.
CHARS_PER_TOKEN = 4.0


def prompt_chars(doc: Any) -> int | None:
    """Characters of the prompt text of an OpenAI-style request body (chat ``messages``
    contents, text parts included; completions ``prompt``; embeddings ``input``), None when
    the body carries none (token ids, or no JSON)."""
    if not isinstance(doc, dict):
        return None

    def text_of(x: Any) -> int | None:
        if isinstance(x, str):
            return len(x)
        if isinstance(x, list) and x and all(isinstance(v, str) for v in x):
            return sum(len(v) for v in x)
        return None

    msgs = doc.get("messages")
    if isinstance(msgs, list):
        n = 0
        for m in msgs:
            content = m.get("content") if isinstance(m, dict) else None
            if isinstance(content, str):
                n += len(content)
            elif isinstance(content, list):
                n += sum(
                    len(p["text"])
                    for p in content
                    if isinstance(p, dict) and isinstance(p.get("text"), str)
                )
        return n
    for key in ("prompt", "input"):
        got = text_of(doc.get(key))
        if got is not None:
            return got
    return None


class _StreamCounter:
    """Counts generated-text chunks of an OpenAI SSE stream and picks up a ``usage`` chunk;
    fed raw bytes as they pass (lines may be split across chunks)."""

    __slots__ = ("buf", "chunks", "usage")

    def __init__(self) -> None:
        self.buf = b""
        self.chunks = 0
        self.usage: dict[str, Any] | None = None

    def feed(self, data: bytes) -> None:
        buf = self.buf + data
        lines = buf.split(b"\n")
        self.buf = lines.pop()
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if not payload or payload == b"[DONE]":
                continue
            try:
                doc = json.loads(payload)
            except ValueError:
                continue
            if not isinstance(doc, dict):
                continue
            usage = doc.get("usage")
            if isinstance(usage, dict):
                self.usage = usage
            for choice in doc.get("choices") or ():
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta")
                text = (
                    delta.get("content") or delta.get("reasoning_content")
                    if isinstance(delta, dict)
                    else choice.get("text")
                )
                if text:
                    self.chunks += 1


class MeteringProxy:
    """ASGI reverse proxy that meters OpenAI-compatible requests (see the module doc).

    Parameters
    ----------
    client : UpstreamPool
        Connections to the upstream.
    accountant : RequestAccountant
        Receives a record per metered request.
    default_tenant, default_model : str
    tenant_header : str, optional
        Request header naming the tenant (set by a trusted gateway).
    key_tenants : mapping, optional
        SHA-256 hex of a bearer key -> tenant.
    discloser : Discloser, optional
        Computes the ``Carbon-Emissions`` fields; disclosure is off without it.
    readings : ReadingsLog, optional
        The sensor's readings (for the provisional disclosed figure in measured mode).
    llm : LlmServing, optional
        The estimator's inputs (for the disclosed figure in modelled mode).
    """

    def __init__(
        self,
        client: UpstreamPool,
        accountant: RequestAccountant,
        *,
        default_tenant: str = "default",
        default_model: str = "unknown",
        tenant_header: str | None = None,
        key_tenants: Mapping[str, str] | None = None,
        discloser: Discloser | None = None,
        readings: ReadingsLog | None = None,
        llm: LlmServing | None = None,
        clock: EpochClockS = time.time,
    ) -> None:
        self.client = client
        self.accountant = accountant
        self.default_tenant = default_tenant
        self.default_model = default_model
        self.tenant_header = tenant_header.lower().encode("latin-1") if tenant_header else None
        self.key_tenants = dict(key_tenants or {})
        self.discloser = discloser
        self.readings = readings
        self.llm = llm
        self.clock = clock
        self._inflight = 0
        self.stats: dict[str, int] = {
            "requests": 0,
            "metered": 0,
            "upstream_errors": 0,
            "disclosed": 0,
            "disclosure_errors": 0,
        }

    # ------------------------------------------------------------------------ helpers
    def _tenant(self, headers: list[tuple[bytes, bytes]]) -> str:
        auth = None
        for k, v in headers:
            lk = k.lower()
            if self.tenant_header is not None and lk == self.tenant_header:
                text = v.decode("latin-1").strip()
                if text:
                    return text
            elif lk == b"authorization":
                auth = v
        if auth is not None and self.key_tenants:
            scheme, _, key = auth.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and key.strip():
                t = self.key_tenants.get(hashlib.sha256(key.strip().encode()).hexdigest())
                if t:
                    return t
        return self.default_tenant

    def _disclosure_value(
        self, rec: RequestRecord, end_s: float, mean_inflight: float
    ) -> str | None:
        """The ``Carbon-Emissions`` value for one request (provisional), None if none."""
        if self.discloser is None:
            return None
        try:
            if self.llm is not None:
                llm = self.llm
                est = estimate_llm_scalar(
                    llm.params_b,
                    llm.active_params_b or llm.params_b,
                    llm.gpu,
                    llm.gpus,
                    max(1.0, mean_inflight),
                    max(1, rec.tokens_out or 0),
                    rec.tokens_in or 0,
                    llm.precision,
                )
                e, lo, hi = est.gpu_energy_j, est.gpu_energy_low_j, est.gpu_energy_high_j
                method = "llm-estimator:modelled (provisional)"
            else:
                p = self.readings.recent_power_w() if self.readings is not None else None
                if p is None:
                    raise InputError("no sensor readings yet", field="sensor")
                e = p * max(0.0, end_s - rec.start_s) / max(1.0, mean_inflight)
                band = self.accountant.band
                lo, hi = e * band.low_frac, e * band.high_frac
                method = f"recent-power x time / in-flight: {self.accountant.method} (provisional)"
            fields = dict(self.discloser(e, lo, hi, _utc(rec.start_s), _utc(end_s), rec.tenant))
            fields.setdefault("energy_j", e)
            fields.setdefault("method", method)
            value = carbon_emissions_header(fields)
        except InfercarbonError:
            self.stats["disclosure_errors"] += 1
            return None
        self.stats["disclosed"] += 1
        return value

    # ------------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await self.client.aclose()  # the upstream connections of this loop
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        self.stats["requests"] += 1
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        method = scope["method"]
        path = scope["path"]
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        fwd = [(k, v) for k, v in raw_headers if k.lower() not in _HOP_REQUEST]
        target = scope.get("raw_path") or path.encode()
        qs = scope.get("query_string") or b""
        url = target.decode("latin-1") + ("?" + qs.decode("latin-1") if qs else "")
        metered = method == "POST" and path in METERED_PATHS
        rec: RequestRecord | None = None
        disclose = False
        if metered:
            model = self.default_model
            try:
                doc = json.loads(body) if body else None
            except ValueError:
                doc = None
            if isinstance(doc, dict) and isinstance(doc.get("model"), str):
                model = doc["model"]
            trace = trace_context(scope)
            self._inflight += 1
            rec = RequestRecord(
                self.clock(),
                model=model,
                tenant=self._tenant(raw_headers),
                concurrency=self._inflight,
                trace_id=trace.get("trace_id"),
                parent_span_id=trace.get("parent_span_id"),
            )
            chars = prompt_chars(doc)
            rec.prompt_tokens_estimate = (
                None if chars is None else math.ceil(chars / CHARS_PER_TOKEN)
            )
            self.accountant.start(rec)
            disclose = self.discloser is not None and prefers_disclosure(scope)
        try:
            await self._forward(method, url, fwd, body, send, receive, rec, disclose)
        finally:
            if rec is not None:
                self._inflight -= 1
                if math.isnan(rec.end_s):
                    rec.end_s = self.clock()
                rec.concurrency = max(rec.concurrency, self._inflight + 1)
                self.stats["metered"] += 1

    async def _error(self, send: Send, status: int, kind: str, text: str) -> None:
        body = json.dumps({"error": {"message": text, "type": kind, "code": status}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _forward(
        self,
        method: str,
        url: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        send: Send,
        receive: Receive,
        rec: RequestRecord | None,
        disclose: bool,
    ) -> None:
        try:
            resp = await self.client.request(method, url, headers, body)
        except UpstreamTimeout as exc:
            self._upstream_failed(rec)
            await self._error(send, 504, "upstream_timeout", str(exc))
            return
        except UpstreamUnreachable as exc:
            self._upstream_failed(rec)
            await self._error(send, 502, "upstream_unreachable", str(exc))
            return
        try:
            out_headers = [(k, v) for k, v in resp.headers if k not in _HOP]
            if rec is None:
                await send(
                    {"type": "http.response.start", "status": resp.status, "headers": out_headers}
                )
                async for chunk in resp.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            rec.outcome = (
                "ok"
                if resp.status < 400
                else "client_error"
                if resp.status < 500
                else "server_error"
            )
            ctype = resp.header(b"content-type") or b""
            encoded = bool(resp.header(b"content-encoding"))
            if ctype.startswith(b"text/event-stream"):
                await self._stream(resp, out_headers, send, receive, rec, disclose, encoded)
            else:
                await self._whole(resp, out_headers, send, rec, disclose, encoded)
        except (UpstreamTimeout, UpstreamUnreachable):
            # the answer's head is already out: the body just ends where the upstream's did
            if rec is not None:
                rec.outcome = "upstream_broken"
            await send({"type": "http.response.body", "body": b""})
        finally:
            await resp.aclose()

    def _upstream_failed(self, rec: RequestRecord | None) -> None:
        self.stats["upstream_errors"] += 1
        if rec is not None:  # no inference ran: no event
            self.accountant.discard(rec)

    def _mean_inflight(self, rec: RequestRecord) -> float:
        return 0.5 * (rec.concurrency + self._inflight)

    async def _whole(
        self,
        resp: UpstreamResponse,
        headers: list[tuple[bytes, bytes]],
        send: Send,
        rec: RequestRecord,
        disclose: bool,
        encoded: bool,
    ) -> None:
        data = await resp.aread()
        end = self.clock()
        rec.payload_bytes = len(data)
        if not encoded and resp.status < 400:
            try:
                doc = json.loads(data)
            except ValueError:
                doc = None
            usage = doc.get("usage") if isinstance(doc, dict) else None
            if isinstance(usage, dict):
                rec.tokens_in = _int_or_none(usage.get("prompt_tokens"))
                rec.tokens_out = _int_or_none(usage.get("completion_tokens"))
                if rec.tokens_out is None and rec.tokens_in is not None:
                    rec.tokens_out = 0  # embeddings: prompt tokens only
                rec.token_source = "usage"
            if (
                rec.model == self.default_model
                and isinstance(doc, dict)
                and isinstance(doc.get("model"), str)
            ):
                rec.model = doc["model"]
        if disclose:
            value = self._disclosure_value(rec, end, self._mean_inflight(rec))
            if value is not None:
                headers = [
                    *headers,
                    (b"carbon-emissions", value.encode("latin-1")),
                    (b"preference-applied", b"carbon-disclosure"),
                ]
        rec.end_s = end
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _stream(
        self,
        resp: UpstreamResponse,
        headers: list[tuple[bytes, bytes]],
        send: Send,
        receive: Receive,
        rec: RequestRecord,
        disclose: bool,
        encoded: bool,
    ) -> None:
        """Forward a stream chunk by chunk.  When the client goes away (``http.disconnect``)
        the upstream connection is closed at the next chunk, so the server stops generating
        (vLLM, SGLang and TGI abort a request whose connection closes); the event's outcome
        is then ``client_disconnected``."""
        if disclose:  # a final comment follows the body: its length is no longer the same
            headers = [
                *(h for h in headers if h[0] != b"content-length"),
                (b"preference-applied", b"carbon-disclosure"),
            ]
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        counter = None if encoded else _StreamCounter()
        n = 0
        gone = asyncio.ensure_future(receive())  # the next message can only be a disconnect
        try:
            async for chunk in resp.aiter_raw():
                if gone.done():
                    rec.outcome = "client_disconnected"
                    break
                n += len(chunk)
                if counter is not None:
                    counter.feed(chunk)
                    rec.tokens_out = counter.chunks
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            if not gone.done():
                gone.cancel()
        end = self.clock()
        rec.payload_bytes = n
        if counter is not None:
            usage = counter.usage
            if usage is not None:
                rec.tokens_in = _int_or_none(usage.get("prompt_tokens"))
                rec.tokens_out = _int_or_none(usage.get("completion_tokens"))
                rec.token_source = "usage"
            else:
                rec.tokens_out = counter.chunks
                rec.token_source = "counted-stream-chunks"
                if rec.prompt_tokens_estimate is not None:
                    rec.tokens_in = rec.prompt_tokens_estimate
                    rec.token_source = "counted-stream-chunks; prompt estimated from request text"
        tail = b""
        if disclose and rec.outcome != "client_disconnected":
            value = self._disclosure_value(rec, end, self._mean_inflight(rec))
            if value is not None:
                tail = b": carbon-emissions " + value.encode("latin-1") + b"\n\n"
        rec.end_s = end
        await send({"type": "http.response.body", "body": tail})


def _utc(t: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC)


# ----------------------------------------------------------------------------- sinks
class LedgerSink:
    """Writes event batches, with their footprints, to a ledger store (DuckDB path or
    PostgreSQL URL), the way ``POST /v1/events`` does (:func:`infercarbon.service.prepare.
    prepare`: validation, footprints with the default accounting configuration and the
    ledger's grid intervals).  Called from the recorder thread only."""

    def __init__(self, ledger: str) -> None:
        from infercarbon.accounting.batch import AccountingConfig
        from infercarbon.accounting.signals import SignalBook, signals_from_intensity
        from infercarbon.ledger import open_store

        self.store = open_store(ledger)
        self.config = AccountingConfig()
        self.book = SignalBook(signals_from_intensity(self.store.intensity()))
        self.inserted = 0

    def __call__(self, events: list[dict[str, Any]]) -> None:
        from infercarbon.ledger.schema import EVENTS
        from infercarbon.ledger.validation import ValidatedRows
        from infercarbon.service.prepare import Sender, prepare

        prepared = prepare(
            events,
            Sender("proxy", "proxy", True),
            max_batch=len(events),
            config=self.config,
            book=self.book,
            computed_utc=_dt.datetime.now(_dt.UTC),
        )
        if prepared is None:
            return
        res = self.store.append_events_with_footprints(
            ValidatedRows(EVENTS.name, prepared.events), prepared.footprints
        )
        self.inserted += res.events.inserted

    def close(self) -> None:
        self.store.close()


# ----------------------------------------------------------------------------- runtime
class ProxyRuntime:
    """Everything ``infercarbon proxy`` runs: the ASGI app, its upstream client, the sensor
    poller (measured mode) and the recorder thread that hands events to ``sink``.

    Parameters
    ----------
    upstream : str
        Base URL of the OpenAI-compatible server (``http://vllm:8000``).
    sink : callable
        ``list of event dicts -> None`` (:class:`LedgerSink`, or an
        :class:`~infercarbon.instrument.shipper.EventShipper`'s submit).
    labels : dict
        ``service``, ``region``, ``device`` of every event.
    sensor : EnergySource or TimedReadings, optional
        Measured mode; ``llm`` gives modelled mode; exactly one.
    poll_s : float
        How often the sensor is read (or the Prometheus source asked for new scrapes) [s].
    timeout_s : float
        Upstream timeout per request (connect, read between bytes) [s].
    """

    def __init__(
        self,
        upstream: str,
        sink: Callable[[list[dict[str, Any]]], None],
        *,
        labels: dict[str, str],
        sensor: Any = None,
        llm: LlmServing | None = None,
        poll_s: float = 1.0,
        record_s: float = 0.5,
        timeout_s: float = 600.0,
        max_hold_s: float = 120.0,
        discloser: Discloser | None = None,
        default_tenant: str = "default",
        tenant_header: str | None = None,
        key_tenants: Mapping[str, str] | None = None,
    ) -> None:
        from infercarbon.instrument.proxied import EventRecorder, SensorPoller

        if (sensor is None) == (llm is None):
            raise InputError(
                "give a sensor (--sensor) or the LLM estimator's inputs "
                "(--gpu, --gpus, --model-params-b), exactly one",
                field="sensor",
            )
        self.readings = ReadingsLog() if sensor is not None else None
        self.poller = (
            SensorPoller(sensor, self.readings, period_s=poll_s)
            if sensor is not None and self.readings is not None
            else None
        )
        ident = None
        if sensor is not None:
            ident = (
                str(getattr(sensor, "name", "sensor")),
                str(getattr(sensor, "method", "measured-counter")),
                str(getattr(sensor, "label", "measured")),
            )
        self.accountant = RequestAccountant(
            labels, log=self.readings, sensor=ident, llm=llm, max_hold_s=max_hold_s
        )
        self.recorder = EventRecorder(self.accountant, sink, period_s=record_s)
        self.client = UpstreamPool(
            upstream, read_timeout_s=timeout_s, connect_timeout_s=min(timeout_s, 10.0)
        )
        self.app = MeteringProxy(
            self.client,
            self.accountant,
            discloser=discloser,
            readings=self.readings,
            llm=llm,
            default_tenant=default_tenant,
            tenant_header=tenant_header,
            key_tenants=key_tenants,
        )

    def start(self) -> ProxyRuntime:
        if self.poller is not None:
            self.poller.start()
        self.recorder.start()
        return self

    def stop(self) -> None:
        """Stop polling, record what can be recorded (one last reading first)."""
        if self.poller is not None:
            self.poller.stop()
            self.poller.poll_once()
        self.recorder.stop()

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "proxy": dict(self.app.stats),
            "accounting": dict(self.accountant.stats),
            "recorder": dict(self.recorder.stats),
        }
        if self.poller is not None:
            out["sensor"] = {"errors": self.poller.errors, "last_error": self.poller.last_error}
        return out


def load_key_tenants(path: str) -> dict[str, str]:
    """``{sha256-hex-of-key: tenant}`` from a JSON file (an object); a plain key (not 64 hex
    digits) is hashed on load, so either form works.  Errors name the file and the entry."""
    from pathlib import Path

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", field="tenant_keys") from exc
    if not isinstance(doc, dict):
        raise InputError(
            f"{path} must hold a JSON object {{key-or-sha256: tenant}}", field="tenant_keys"
        )
    out = {}
    for k, v in doc.items():
        if not isinstance(v, str) or not v:
            raise InputError(
                f"{path}: the tenant of entry {k[:8]}... must be a non-empty string",
                field="tenant_keys",
            )
        h = (
            k.lower()
            if re.fullmatch(r"[0-9a-fA-F]{64}", k)
            else hashlib.sha256(k.encode()).hexdigest()
        )
        out[h] = v
    return out
