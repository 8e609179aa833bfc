"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

DSN_VAR = "INFERCARBON_TEST_POSTGRES_DSN"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The test PostgreSQL's DSN; skips without ``INFERCARBON_TEST_POSTGRES_DSN``
    (``eval "$(.ci/postgres.sh)"``)."""
    dsn = os.environ.get(DSN_VAR)
    if not dsn:
        pytest.skip(f"PostgreSQL tests need {DSN_VAR} (run: eval \"$(.ci/postgres.sh)\")")
    return dsn


@pytest.fixture
def pg_schema_dsn(pg_dsn: str) -> Iterator[str]:
    """A DSN whose search_path is a fresh schema (dropped after the test)."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg.conninfo import make_conninfo

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(pg_dsn, options=f"-csearch_path={schema}")
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")
