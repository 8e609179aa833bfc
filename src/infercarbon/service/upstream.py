"""A lean HTTP/1.1 client for the proxy's upstream: keep-alive pool on asyncio streams.

Why not :class:`httpx.AsyncClient` on this path: measured on the 2-core development machine
against the fake upstream (``benchmarks/bench_proxy.py``), httpx 0.28 / httpcore 1.0 give about
1,300 requests/s on one connection and collapse to about 130-150 requests/s at 64 concurrent
requests (the connection pool's bookkeeping), far below the issue's 2,000 requests/s.  This
client does only what a reverse proxy needs: send a request with a body, read the status line
and headers, and yield the body as it arrives, framed by ``Content-Length``, chunked
transfer-coding (de-chunked, as httpx's ``aiter_raw`` does; content-coding is left as sent) or
connection close.  Idle connections are reused (LIFO); a reused connection that turns out to be
closed by the upstream before any byte of the answer is retried once on a new connection.

Errors: :class:`UpstreamUnreachable` (connect refused, reset, DNS) and
:class:`UpstreamTimeout` (``connect_timeout_s`` to connect, ``read_timeout_s`` between two
reads), both :class:`~infercarbon.errors.ProviderError`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from types import TracebackType
from urllib.parse import urlsplit

from infercarbon.errors import InputError, UpstreamTimeout, UpstreamUnreachable

__all__ = ["UpstreamPool", "UpstreamResponse"]


_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class UpstreamResponse:
    """Status, raw headers (lower-case names) and the body as an async iterator."""

    __slots__ = ("_conn", "_done", "_framing", "_left", "_pool", "headers", "status")

    def __init__(
        self,
        pool: UpstreamPool,
        conn: _Conn,
        status: int,
        headers: list[tuple[bytes, bytes]],
        framing: str,
        length: int,
    ) -> None:
        self._pool = pool
        self._conn: _Conn | None = conn
        self.status = status
        self.headers = headers
        self._framing = framing  # "length" | "chunked" | "close"
        self._left = length
        self._done = False

    def header(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None

    async def aread(self) -> bytes:
        return b"".join([c async for c in self.aiter_raw()])

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        if self._conn is None:
            raise UpstreamUnreachable("the response is closed")
        reader = self._conn[0]
        t = self._pool.read_timeout_s
        try:
            if self._framing == "length":
                while self._left > 0:
                    async with asyncio.timeout(t):
                        data = await reader.read(min(self._left, 65536))
                    if not data:
                        raise UpstreamUnreachable("upstream closed the connection mid-body")
                    self._left -= len(data)
                    yield data
            elif self._framing == "chunked":
                while True:
                    async with asyncio.timeout(t):
                        line = await reader.readuntil(b"\r\n")
                    size = int(line.split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        async with asyncio.timeout(t):
                            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                                pass  # trailer fields: dropped (hop-by-hop here)
                        break
                    async with asyncio.timeout(t):
                        data = await reader.readexactly(size + 2)
                    yield data[:-2]
            else:
                while True:
                    async with asyncio.timeout(t):
                        data = await reader.read(65536)
                    if not data:
                        break
                    yield data
            self._done = True
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no data from the upstream for {t:g} s") from exc
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
            raise UpstreamUnreachable(f"upstream body broken: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """Give the connection back when the body was read to its end, else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        keep = (
            self._done
            and self._framing != "close"
            and self.header(b"connection") not in (b"close", b"Close")
        )
        self._pool._release(conn, keep)

    async def __aenter__(self) -> UpstreamResponse:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class UpstreamPool:
    """Keep-alive HTTP/1.1 connections to one upstream (``http://host:port`` or https).

    Parameters
    ----------
    base_url : str
    connect_timeout_s, read_timeout_s : float [s]
    max_idle : int
        Idle connections kept for reuse.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 600.0,
        max_idle: int = 1000,
    ) -> None:
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise InputError(
                f"must be an http(s) URL such as http://vllm:8000, got {base_url!r}",
                field="upstream",
            )
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.prefix = u.path.rstrip("/")
        default = (u.scheme == "http" and self.port == 80) or (
            u.scheme == "https" and self.port == 443
        )
        self.host_header = (self.host if default else f"{self.host}:{self.port}").encode()
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_idle = max_idle
        self._ssl = ssl.create_default_context() if u.scheme == "https" else None
        self._idle: list[_Conn] = []

    async def _connect(self) -> _Conn:
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                return await asyncio.open_connection(
                    self.host, self.port, ssl=self._ssl, limit=1 << 20
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"connecting to {self.host}:{self.port} took over {self.connect_timeout_s:g} s"
            ) from exc
        except OSError as exc:
            raise UpstreamUnreachable(f"cannot connect to {self.host}:{self.port}: {exc}") from exc

    def _release(self, conn: _Conn, keep: bool) -> None:
        if keep and len(self._idle) < self.max_idle and not conn[0].at_eof():
            self._idle.append(conn)
        else:
            conn[1].close()

    async def request(
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> UpstreamResponse:
        """Send one request (``target``: path and query); the response with its body unread.
        ``headers`` must not hold hop-by-hop fields, ``Host`` or ``Content-Length``."""
        head = b"".join(
            (
                method.encode(),
                b" ",
                (self.prefix + target).encode("latin-1"),
                b" HTTP/1.1\r\nhost: ",
                self.host_header,
                b"\r\n",
                *(k + b": " + v + b"\r\n" for k, v in headers),
                b"content-length: %d\r\n\r\n" % len(body)
                if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS")
                else b"\r\n",
            )
        )
        for attempt in (0, 1):
            reused = bool(self._idle) and attempt == 0
            conn = self._idle.pop() if reused else await self._connect()
            reader, writer = conn
            try:
                writer.write(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    writer.write(body)
                async with asyncio.timeout(self.read_timeout_s):
                    raw = await reader.readuntil(b"\r\n\r\n")
                    while raw.startswith(b"HTTP/1.1 1") and not raw.startswith(
                        b"HTTP/1.1 101"
                    ):  # interim 1xx answers: the final one follows
                        raw = await reader.readuntil(b"\r\n\r\n")
            except TimeoutError as exc:
                writer.close()
                raise UpstreamTimeout(
                    f"no answer from the upstream within {self.read_timeout_s:g} s"
                ) from exc
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                writer.close()
                if reused:
                    continue  # the upstream had closed the idle connection: once more
                raise UpstreamUnreachable(f"upstream dropped the connection: {exc}") from exc
            except asyncio.LimitOverrunError as exc:
                writer.close()
                raise UpstreamUnreachable("upstream response headers over 1 MiB") from exc
            return self._response(conn, raw, method)
        raise UpstreamUnreachable("upstream dropped the connection twice")  # pragma: no cover

    def _response(self, conn: _Conn, raw: bytes, method: str) -> UpstreamResponse:
        lines = raw[:-4].split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError) as exc:
            conn[1].close()
            raise UpstreamUnreachable(f"not an HTTP status line: {lines[0][:100]!r}") from exc
        headers = []
        framing, length = "close", 0
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            k = k.strip().lower()
            v = v.strip()
            headers.append((k, v))
            if k == b"content-length" and framing != "chunked":
                framing, length = "length", int(v)
            elif k == b"transfer-encoding" and v.lower().endswith(b"chunked"):
                framing = "chunked"
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            framing, length = "length", 0
        return UpstreamResponse(self, conn, status, headers, framing, length)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, w in idle:
            w.close()
