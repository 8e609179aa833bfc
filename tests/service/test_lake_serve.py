"""``serve --catalog``: the dashboard and read API over a snapshot of the lake's ledger tables
answer as they do over the ledger exported there; the writing endpoints answer 405 and say
where writes go; and the dashboard renders in a real Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("pyiceberg")
NOW = datetime(2026, 7, 9, tzinfo=UTC)
CHROMIUM = "/usr/bin/chromium"


def _clock() -> datetime:
    return NOW


def _event(i: int, day: int) -> dict[str, Any]:
    t = datetime(2026, 7, day, i % 24, tzinfo=UTC)
    return {
        "event_id": f"e{day}-{i}",
        "start_utc": t.isoformat(),
        "end_utc": (t + timedelta(milliseconds=500)).isoformat(),
        "service": "chat" if i % 2 else "search",
        "model": "m1",
        "region": "DE" if i % 3 else "FR",
        "device": f"gpu{i % 2}",
        "energy_j": 100.0 + i,
        "attribution_method": "measured-counter",
        "outcome": "ok" if i % 3 else "error",
    }


def _same(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats within 1e-12 relative (the lake's files hold the rows in another order,
    so sums may differ in their last bits)."""
    if isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-12, abs=1e-15), path
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def _client(app: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A DuckDB ledger filled through the service (two days of acme's events) with its key
    file, exported to a lake; the summary the ledger's own service answers."""
    from infercarbon.ledger import open_store
    from infercarbon.ledger.lake import open_lake
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import create_key, key_store_for

    root = tmp_path_factory.mktemp("lake_serve")
    path = str(root / "ledger.duckdb")
    keys = key_store_for(path)
    acme, _ = create_key(keys, tenant="acme", clock=time.time)
    store = open_store(path, clock=_clock)
    head = {"Authorization": f"Bearer {acme}"}
    with _client(create_app(store, clock=_clock, keys=keys)) as client:
        for day in (1, 2):
            r = client.post("/v1/events", json=[_event(i, day) for i in range(30)], headers=head)
            assert r.status_code == 200, r.text
        summary = client.get("/v1/summary", headers=head).json()
        fid = client.get("/v1/footprints/list", headers=head).json()
    store.close()
    lake_dir = str(root / "lake")
    from infercarbon.cli.main import main

    assert main(["lake", "export", "--ledger", path + ".typo", "--catalog", lake_dir]) == 2
    assert main(["lake", "export", "--ledger", path, "--catalog", lake_dir]) == 0
    lk = open_lake(lake_dir, create=False)
    assert lk.read("ledger_events").num_rows == 60
    lk.close()
    return {"ledger": path, "lake": lake_dir, "key": acme, "summary": summary, "list": fid}


def test_the_snapshot_serves_what_the_ledger_served_and_refuses_writes(lake):
    from infercarbon.ledger.lake import open_lake
    from infercarbon.ledger.lake_snapshot import snapshot_store
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import key_store_for

    lk = open_lake(lake["lake"], create=False)
    store, snap = snapshot_store(lk, start_utc=None, end_utc=None)
    lk.close()
    app = create_app(
        store,
        clock=_clock,
        keys=key_store_for(lake["ledger"]),
        backfill=False,
        read_only=snap.label,
    )
    head = {"Authorization": f"Bearer {lake['key']}"}
    with _client(app) as client:
        _same(lake["summary"], client.get("/v1/summary", headers=head).json())
        listed = client.get("/v1/footprints/list", headers=head).json()
        _same(lake["list"], listed)
        fid = listed["rows"][0]["footprint_id"]
        shown = client.get(f"/v1/audit/footprints/{fid}", headers=head)
        assert shown.status_code == 200 and shown.json()["footprint_id"] == fid
        assert len(client.get("/v1/events", headers=head).json()["rows"]) == 60
        rep = client.get("/v1/report", params={"period": "2026-07", "format": "json"}, headers=head)
        assert rep.status_code == 200 and rep.json()["report"]["status"] == "ok"
        for method, url in (("POST", "/v1/events"), ("POST", "/v1/runs"), ("PUT", "/v1/profiles")):
            r = client.request(method, url, json=[_event(99, 1)], headers=head)
            assert r.status_code == 405, (method, url)
            assert "lake commit" in r.json()["detail"] and r.headers["allow"] == "GET, HEAD"
    store.close()


def test_serve_catalog_options_are_checked(lake, capsys):
    from infercarbon.cli.main import main

    assert main(["serve", "--catalog", lake["lake"]]) == 2
    assert "--keys" in capsys.readouterr().err
    assert main(["serve", "--catalog", lake["lake"], "--ledger", lake["ledger"]]) == 2
    assert main(["serve", "--ledger", lake["ledger"], "--period", "2026-07"]) == 2
    args = ["serve", "--catalog", lake["lake"], "--keys", lake["ledger"], "--spool", "s"]
    assert main(args) == 2
    assert "read-only" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent")
def test_the_dashboard_on_the_lake_renders_in_chromium(lake):
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    exe = Path(sys.executable).with_name("infercarbon")
    args = [str(exe), "serve", "--catalog", lake["lake"], "--keys", lake["ledger"]]
    args += ["--period", "2026-07", "--port", str(port), "--log-level", "warning"]
    log = Path(lake["lake"]) / "serve.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(log.read_text())
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        r = httpx.post(url + "/v1/events", json=[], headers={"Authorization": "Bearer x"})
        assert r.status_code == 405
        with sync_playwright() as p:
            b = p.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = b.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/#key={lake['key']}")
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            cards = page.locator("#cards .card")
            assert cards.count() >= 10
            value = page.locator("#cards .card[data-card='total-location'] .value").inner_text()
            assert value.strip() and value.strip() not in ("0", "—", "-")
            assert page.locator("#events tbody tr").count() > 10
            page.screenshot(
                path=str(Path(tempfile.gettempdir()) / "infercarbon-dashboard-lake.png"),
                full_page=True,
            )
            b.close()
        assert errors == []
    finally:
        proc.terminate()
        proc.wait(10)
