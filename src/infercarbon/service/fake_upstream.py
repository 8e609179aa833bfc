"""A fake OpenAI-compatible inference server (a test double shipped with the library).

Tests and ``benchmarks/bench_proxy.py`` put it behind ``infercarbon proxy`` on loopback.  It is
deterministic: the answer to a prompt is a fixed function of the prompt, so a test knows the
token counts it must see.

* ``POST /v1/chat/completions`` and ``/v1/completions``: ``max_tokens`` (default 8) words
  ``tok0 tok1 ...``; ``"stream": true`` answers server-sent events, one chunk per token, then
  ``data: [DONE]``; ``stream_options.include_usage`` adds the final usage chunk (as vLLM does).
  ``usage.prompt_tokens`` is the number of whitespace-separated words of the prompt.
* ``POST /v1/embeddings``: a 4-number vector per input, ``usage.prompt_tokens``.
* ``GET /v1/models``: one model.
* Request header ``x-fake-status: 429`` answers that status with an OpenAI error body;
  ``x-fake-delay-s: 0.5`` waits before answering (for timeout tests);
  ``x-fake-chunk-delay-s: 0.1`` waits before each streamed chunk.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from infercarbon.errors import ConfigurationError
from infercarbon.service.middleware import Receive, Scope, Send

__all__ = ["FakeOpenAI", "LoopbackServer"]


def _prompt_words(doc: dict[str, Any]) -> int:
    if "messages" in doc:
        text = " ".join(str(m.get("content", "")) for m in doc["messages"] if isinstance(m, dict))
    else:
        p = doc.get("prompt", doc.get("input", ""))
        text = " ".join(map(str, p)) if isinstance(p, list) else str(p)
    return len(text.split())


class FakeOpenAI:
    """The ASGI app (see the module doc); ``requests`` counts what it answered."""

    def __init__(self, model: str = "fake-llm-8b") -> None:
        self.model = model
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = await self._body(receive)
        self.requests += 1
        headers = dict(scope["headers"])
        delay = headers.get(b"x-fake-delay-s")
        if delay:
            await asyncio.sleep(float(delay))
        status = int(headers.get(b"x-fake-status", b"200"))
        path = scope["path"]
        if status != 200:
            await self._json(
                send,
                status,
                {"error": {"message": f"fake error {status}", "type": "fake", "code": status}},
            )
            return
        if path == "/v1/models":
            await self._json(
                send,
                200,
                {
                    "object": "list",
                    "data": [{"id": self.model, "object": "model", "owned_by": "fake"}],
                },
            )
            return
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            await self._json(
                send,
                400,
                {"error": {"message": "body is not JSON", "type": "invalid_request_error"}},
            )
            return
        model, prompt = doc.get("model", self.model), _prompt_words(doc)
        if path == "/v1/embeddings":
            await self._embeddings(send, model, prompt)
        elif path not in ("/v1/chat/completions", "/v1/completions"):
            await self._json(
                send, 404, {"error": {"message": f"no route {path}", "type": "not_found"}}
            )
        elif not doc.get("stream"):
            await self._completion(send, doc, model, prompt, chat=path == "/v1/chat/completions")
        else:
            chunk_delay_s = float(headers.get(b"x-fake-chunk-delay-s", b"0"))
            await self._stream(
                send, doc, model, prompt, chat=path == "/v1/chat/completions", delay_s=chunk_delay_s
            )

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        """Answer the server's startup and shutdown messages."""
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _body(receive: Receive) -> bytes:
        """The whole request body."""
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        return body

    async def _embeddings(self, send: Send, model: str, prompt: int) -> None:
        """A 4-number vector whose last number is the prompt's word count."""
        await self._json(
            send,
            200,
            {
                "object": "list",
                "model": model,
                "data": [
                    {
                        "object": "embedding",
                        "index": 0,
                        "embedding": [0.1, 0.2, 0.3, float(prompt)],
                    }
                ],
                "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
            },
        )

    @staticmethod
    def _answer(doc: dict[str, Any], prompt: int) -> tuple[list[str], dict[str, int]]:
        """The answer's words (``max_tokens`` of them) and the usage."""
        n = int(doc.get("max_tokens", 8))
        usage = {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n}
        return [f"tok{i} " for i in range(n)], usage

    async def _completion(
        self, send: Send, doc: dict[str, Any], model: str, prompt: int, *, chat: bool
    ) -> None:
        """The whole completion in one JSON answer."""
        words, usage = self._answer(doc, prompt)
        choice = (
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(words)},
                "finish_reason": "length",
            }
            if chat
            else {"index": 0, "text": "".join(words), "finish_reason": "length"}
        )
        await self._json(
            send,
            200,
            {
                "id": "cmpl-fake",
                "object": "chat.completion" if chat else "text_completion",
                "created": 0,
                "model": model,
                "choices": [choice],
                "usage": usage,
            },
        )

    async def _stream(
        self,
        send: Send,
        doc: dict[str, Any],
        model: str,
        prompt: int,
        *,
        chat: bool,
        delay_s: float,
    ) -> None:
        """Server-sent events: one chunk per word (each after ``delay_s``), the usage chunk
        when asked for, then ``[DONE]``."""
        words, usage = self._answer(doc, prompt)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        obj = "chat.completion.chunk" if chat else "text_completion"
        for w in words:
            if delay_s:
                await asyncio.sleep(delay_s)
            choice = (
                {"index": 0, "delta": {"content": w}, "finish_reason": None}
                if chat
                else {"index": 0, "text": w, "finish_reason": None}
            )
            chunk = {
                "id": "cmpl-fake",
                "object": obj,
                "created": 0,
                "model": model,
                "choices": [choice],
            }
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                }
            )
        if (doc.get("stream_options") or {}).get("include_usage"):
            chunk = {
                "id": "cmpl-fake",
                "object": obj,
                "created": 0,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            await send(
                {
                    "type": "http.response.body",
                    "more_body": True,
                    "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                }
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})

    @staticmethod
    async def _json(send: Send, status: int, doc: dict[str, Any]) -> None:
        data = json.dumps(doc).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})


class LoopbackServer:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a daemon thread (tests, benchmarks).

    ``port=0`` picks a free port; :attr:`url` is known after :meth:`start`.
    """

    def __init__(self, app: Any, *, port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self.config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(self.config)
        self._thread = threading.Thread(
            target=self.server.run, daemon=True, name="infercarbon-loopback"
        )
        self.url = ""

    def start(self, timeout_s: float = 10.0) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise ConfigurationError(
                    f"loopback server for {self.config.app!r} did not start (port in use?)"
                )
            time.sleep(0.01)
        sock = self.server.servers[0].sockets[0]
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10.0)
