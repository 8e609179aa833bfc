"""Read commands through a running ``infercarbon serve`` (``--server URL --key KEY``).

An embedded DuckDB ledger has one writer process: while a server holds it, ``report``,
``audit verify``, ``audit show`` and ``footprints list`` ask that server, which runs the same
code on the same store.  The key is an API key (an admin key reads every tenant); it may come
from ``$INFERCARBON_KEY`` instead of the command line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import typer

from infercarbon.errors import ConfigurationError, InputError, LedgerError

KEY_ENV = "INFERCARBON_KEY"

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="read through a running `infercarbon serve` at this URL (while it holds "
        "the ledger), e.g. http://127.0.0.1:8000",
    ),
]
KeyOpt = Annotated[
    str | None, typer.Option("--key", help=f"API key for --server (default: ${KEY_ENV})")
]


def _key(key: str | None) -> str:
    k = key or os.environ.get(KEY_ENV)
    if not k:
        raise InputError(
            f"--server needs an API key: --key KEY or ${KEY_ENV} (from "
            "`infercarbon keys create --admin`)",
            field="key",
        )
    return k


def _check(server: str, r: httpx.Response) -> None:
    if r.status_code < 400:
        return
    try:
        detail = r.json().get("detail")
    except ValueError:
        detail = r.text[:300]
    if r.status_code == 404:
        raise LedgerError(f"{server}: {detail}")
    raise InputError(f"{server} answered {r.status_code}: {detail}", field="server")


def get(server: str, key: str | None, path: str, params: dict[str, Any]) -> httpx.Response:
    """GET ``path`` from the server; a clear error when it cannot be reached or refuses."""
    url = server.rstrip("/") + path
    try:
        r = httpx.get(
            url,
            params={k: v for k, v in params.items() if v is not None},
            headers={"Authorization": f"Bearer {_key(key)}"},
            timeout=600.0,
        )
    except httpx.HTTPError as exc:
        raise ConfigurationError(
            f"cannot reach the infercarbon server at {server}: {exc} "
            "(is `infercarbon serve` running there?)"
        ) from exc
    _check(server, r)
    return r


def stream_lines(
    server: str, key: str | None, path: str, params: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The JSON lines of a streamed answer, as they arrive."""
    url = server.rstrip("/") + path
    try:
        with httpx.stream(
            "GET",
            url,
            params={k: v for k, v in params.items() if v is not None},
            headers={"Authorization": f"Bearer {_key(key)}"},
            timeout=httpx.Timeout(30.0, read=None),
        ) as r:
            if r.status_code >= 400:
                r.read()
                _check(server, r)
            for line in r.iter_lines():
                if line.strip():
                    yield json.loads(line)
    except httpx.HTTPError as exc:
        raise ConfigurationError(
            f"cannot reach the infercarbon server at {server}: {exc} "
            "(is `infercarbon serve` running there?)"
        ) from exc
