"""``infercarbon keys``: per-tenant API keys for the service (stored hashed).

::

    infercarbon keys create --tenant acme --ledger ledger.duckdb      # prints the key once
    infercarbon keys create --tenant ops --admin --ledger ledger.duckdb
    infercarbon keys list --ledger ledger.duckdb [--json]
    infercarbon keys revoke KEY_ID --ledger ledger.duckdb

Beside a DuckDB ledger the keys live in ``<ledger>.keys.json`` (so keys can be created while
the server holds the DuckDB file); with PostgreSQL in the ``infercarbon_api_keys`` table.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated

import typer

from infercarbon.cli._common import print_json

keys_app = typer.Typer(help="Per-tenant API keys for `infercarbon serve`.", no_args_is_help=True)

Ledger = Annotated[str, typer.Option("--ledger", help="DuckDB file or postgresql:// URL")]


@keys_app.command("create")
def create(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant the key acts for")],
    ledger: Ledger,
    admin: Annotated[bool, typer.Option("--admin", help="may read all tenants")] = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from infercarbon.service.auth import create_key, key_store_for

    secret, rec = create_key(key_store_for(ledger), tenant=tenant, admin=admin, clock=time.time)
    typer.echo(secret)
    typer.echo(
        f"key {rec.key_id} for tenant {rec.tenant!r} ({rec.scope}); shown once, store it now",
        err=True,
    )


@keys_app.command("list")
def list_keys(
    ledger: Ledger,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List keys (ids, tenants, scopes; never secrets or hashes)."""
    from infercarbon.service.auth import key_store_for

    rows = [
        {k: v for k, v in asdict(r).items() if k != "secret_sha256"}
        for r in key_store_for(ledger).all()
    ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['key_id']}  {r['tenant']:<20} {r['scope']:<7} {r['created_utc']}"
            + ("  revoked" if r["revoked"] else "")
        )


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="the key id (12 hex digits)")],
    ledger: Ledger,
) -> None:
    """Revoke a key (it is refused from then on)."""
    from infercarbon.service.auth import key_store_for

    key_store_for(ledger).revoke(key_id)
    typer.echo(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
