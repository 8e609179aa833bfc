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
        pytest.skip(f'PostgreSQL tests need {DSN_VAR} (run: eval "$(.ci/postgres.sh)")')
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


@pytest.fixture(scope="session")
def prometheus_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Start a real Prometheus (the Debian ``prometheus`` binary; CI installs it) on loopback
    scraping the given ``host:port`` targets every second; returns its base URL.  Skips when
    the binary is absent."""
    import shutil
    import socket
    import subprocess
    import time

    import httpx

    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not installed (apt-get install -y prometheus)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(targets: dict[str, str]) -> str:
        """``targets``: job name -> host:port (path /metrics)."""
        d = tmp_path_factory.mktemp("prometheus")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        jobs = "".join(
            f"  - job_name: {job}\n    static_configs:\n      - targets: ['{t}']\n"
            for job, t in targets.items()
        )
        (d / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n" + jobs
        )
        with (d / "prometheus.log").open("wb") as log:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={d / 'prometheus.yml'}",
                    f"--storage.tsdb.path={d / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=log,
            )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"prometheus did not start: {(d / 'prometheus.log').read_text()}")

    yield start
    for p in procs:
        p.terminate()
        p.wait(20)
