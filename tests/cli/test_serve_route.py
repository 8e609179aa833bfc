"""`infercarbon serve --route-regions`: the routing middleware in front of the real service."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infercarbon.cli.main import main
from infercarbon.ledger import open_store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_exposes_the_route(tmp_path: Path) -> None:
    path = tmp_path / "ledger.duckdb"
    open_store(str(path)).close()
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infercarbon.cli.main",
                "serve",
                "--ledger",
                str(path),
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--route-regions",
                "PL,FR,GB",
                "--route-residency",
                "EU",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                r = httpx.get(url + "/healthz", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(log.read_text())
        else:
            raise RuntimeError("server did not start")
        assert r.status_code == 200
        assert r.headers["carbon-route"].startswith("region=FRA; next=POL;")
        doc = httpx.get(url + "/.well-known/carbon-route", timeout=5).json()
        assert doc["region_id"] == "FRA" and [c["region_id"] for c in doc["rejected"]] == ["GBR"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_route_residency_needs_regions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--ledger", str(tmp_path / "x.duckdb"), "--route-residency", "EU"])
    assert code == 2 and "error: --route-residency" in capsys.readouterr().err
