"""A read-only service: the dashboard and read API over a snapshot (``serve --catalog``).

The snapshot is an in-memory ledger read from the lake at start; what the service would
write there would be lost, and the lake's events are written through its committer.  So the
writing endpoints answer ``405`` (with ``Allow: GET, HEAD``) and say where writes go, before
any key is checked or body read.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["WRITES", "ReadOnlySnapshot"]

#: (method, path) of every endpoint that writes the ledger.
WRITES: Final = frozenset(
    {
        ("POST", "/v1/events"),
        ("POST", "/v1/readings"),
        ("POST", "/v1/runs"),
        ("PUT", "/v1/profiles"),
    }
)


class ReadOnlySnapshot:
    """ASGI middleware: a write (:data:`WRITES`) answers 405 with ``{"detail": ...}`` naming
    the snapshot and the way in (a replica's spool and ``infercarbon lake commit``)."""

    def __init__(self, app: Any, *, snapshot: str) -> None:
        self.app = app
        self.body = json.dumps(
            {
                "detail": f"this server is read-only: it serves {snapshot}, taken at start. "
                "Write events through a replica with --spool (`infercarbon serve --ledger L "
                "--spool DIR`), which `infercarbon lake commit` loads into the lake; "
                "restart this server to see new rows."
            }
        ).encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"].rstrip("/")) in WRITES:
            await send(
                {
                    "type": "http.response.start",
                    "status": 405,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(self.body)).encode()),
                        (b"allow", b"GET, HEAD"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": self.body})
            return
        await self.app(scope, receive, send)
