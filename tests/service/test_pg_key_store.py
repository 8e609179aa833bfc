"""The PostgreSQL key store keeps one connection for its look-ups (a connection per request
cost ~10 ms of CPU), still reads the table on every look-up (a revoked key stops at once),
and reconnects when its connection broke."""

from __future__ import annotations

import gc

import pytest

from infercarbon.errors import AuthError


def test_lookups_share_a_connection_and_see_revocation(pg_schema_dsn: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    from infercarbon.service.auth import PostgresKeyStore, authenticate, create_key

    keys = PostgresKeyStore(pg_schema_dsn)
    try:
        tok, rec = create_key(keys, tenant="acme", admin=False, clock=lambda: 0.0)
        assert authenticate(keys, f"Bearer {tok}").tenant == "acme"
        conn = keys._conn
        assert authenticate(keys, f"Bearer {tok}").tenant == "acme"
        assert keys._conn is conn  # one connection for every look-up
        # the server ends it (a restart): the next look-up reconnects
        with psycopg.connect(pg_schema_dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
        assert authenticate(keys, f"Bearer {tok}").tenant == "acme"
        assert keys._conn is not conn
        # revoked through another store: refused at once
        other_store = PostgresKeyStore(pg_schema_dsn)
        other_store.revoke(rec.key_id)
        other_store.close()
        with pytest.raises(AuthError):
            authenticate(keys, f"Bearer {tok}")
    finally:
        keys.close()


def test_a_dropped_store_closes_its_connection(pg_schema_dsn: str) -> None:
    pytest.importorskip("psycopg")
    from infercarbon.service.auth import PostgresKeyStore

    keys = PostgresKeyStore(pg_schema_dsn)
    conn = keys._conn
    del keys
    gc.collect()
    assert conn.closed
