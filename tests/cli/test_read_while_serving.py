"""Reading a DuckDB ledger while ``infercarbon serve`` holds it: the direct read fails with an
error that names the fix, and ``--server URL --key KEY`` runs the command through the server
(a real server process on loopback)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from infercarbon.cli.main import main

pytestmark = pytest.mark.slow  # each test starts `infercarbon serve`


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(ledger: str) -> tuple[subprocess.Popen[bytes], str]:
    """``infercarbon serve`` on ``ledger`` (a free loopback port), once it answers."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infercarbon.cli.main",
            "serve",
            "--ledger",
            ledger,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("the server did not start")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(ledger path, server URL, admin key) of a running server with 6 events stored."""
    from infercarbon.accounting.batch import AccountingConfig, compute_footprints, footprint_batch
    from infercarbon.accounting.signals import SignalBook
    from infercarbon.ledger import open_store
    from infercarbon.ledger.schema import EVENTS
    from infercarbon.ledger.validation import validate_rows

    work = tmp_path_factory.mktemp("served")
    ledger = str(work / "l.duckdb")
    evs = [
        {
            "event_id": f"e{i}",
            "start_utc": f"2026-07-01T1{i}:00:00Z",
            "end_utc": f"2026-07-01T1{i}:00:01Z",
            "service": "chat",
            "tenant": "acme",
            "model": "m",
            "region": "DE",
            "device": "gpu0",
            "energy_j": 10.0 + i,
            "attribution_method": "nvml:measured-counter",
        }
        for i in range(6)
    ]
    table = validate_rows(EVENTS, evs)
    cfg = AccountingConfig()
    with open_store(ledger) as store:
        fps = compute_footprints(table, cfg, SignalBook())
        store.append_events_with_footprints(
            table, footprint_batch(table, fps, cfg, computed_utc=datetime(2026, 7, 2, tzinfo=UTC))
        )
    exe = [sys.executable, "-m", "infercarbon.cli.main"]
    key = subprocess.run(
        [*exe, "keys", "create", "--tenant", "ops", "--admin", "--ledger", ledger],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    proc, url = _serve(ledger)
    try:
        yield ledger, url, key
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _run(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_direct_read_names_the_fix(served: tuple[str, str, str], capsys: Any) -> None:
    ledger, _, _ = served
    code, _, err = _run(
        capsys, "report", "--period", "2026-07", "--ledger", ledger, "--format", "json"
    )
    assert code == 2 and "open in another process" in err and "--server" in err


def test_report_through_the_server(served: tuple[str, str, str], capsys: Any) -> None:
    _, url, key = served
    code, out, err = _run(
        capsys, "report", "--period", "2026-07", "--format", "json", "--server", url, "--key", key
    )
    assert code == 0, err
    rep = json.loads(out)
    (loc,) = [r for r in rep["tables"]["scope2"]["rows"] if r["method"] == "location-based"]
    assert loc["footprints"] == 6 and loc["low_t"] < loc["value_t"] < loc["high_t"]


def test_audit_verify_and_show_through_the_server(
    served: tuple[str, str, str], capsys: Any
) -> None:
    _, url, key = served
    code, out, err = _run(capsys, "audit", "verify", "--server", url, "--key", key)
    assert code == 0 and "ok: 6 footprint(s) verified" in out, err
    code, out, _ = _run(
        capsys, "footprints", "list", "--server", url, "--key", key, "--period", "2026-07", "--json"
    )
    rows = json.loads(out)
    assert code == 0 and len(rows) == 6 and all(r["location_low_g"] < r["location_g"] for r in rows)
    code, out, _ = _run(
        capsys, "audit", "show", rows[0]["footprint_id"], "--server", url, "--key", key
    )
    assert code == 0 and rows[0]["footprint_id"] in out and "chain" in out


def test_errors_name_the_server_problem(served: tuple[str, str, str], capsys: Any) -> None:
    _, url, _ = served
    code, _, err = _run(capsys, "audit", "verify", "--server", url, "--key", "ic_wrong")
    assert code == 2 and "401" in err
    code, _, err = _run(
        capsys,
        "report",
        "--period",
        "2026-07",
        "--server",
        f"http://127.0.0.1:{_free_port()}",
        "--key",
        "x",
    )
    assert code == 2 and "cannot reach the infercarbon server" in err


def test_footprints_list_reads_a_ledger_file(tmp_path: Path, capsys: Any) -> None:
    ledger = tmp_path / "empty.duckdb"
    from infercarbon.ledger import open_store

    open_store(str(ledger)).close()
    code, _, err = _run(capsys, "footprints", "list", "--ledger", str(ledger))
    assert code == 0 and "0 footprint(s)" in err


def test_sigterm_closes_the_ledger(tmp_path: Path) -> None:
    """SIGTERM shuts the server down through the app: the ledger is closed (its write-ahead
    log checkpointed away) and nothing is left in DuckDB's temporary folder."""
    import signal

    ledger = str(tmp_path / "t.duckdb")
    exe = [sys.executable, "-m", "infercarbon.cli.main"]
    key = subprocess.run(
        [*exe, "keys", "create", "--tenant", "acme", "--ledger", ledger],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    proc, url = _serve(ledger)
    try:
        ev = [
            {
                "event_id": "x1",
                "start_utc": "2026-07-01T10:00:00Z",
                "end_utc": "2026-07-01T10:00:01Z",
                "service": "s",
                "model": "m",
                "region": "DE",
                "device": "d",
                "energy_j": 1.0,
                "attribution_method": "nvml:measured-counter",
            }
        ]
        r = httpx.post(url + "/v1/events", json=ev, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
        assert Path(ledger + ".wal").exists()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not Path(ledger + ".wal").exists()
    assert not Path(ledger + ".tmp").exists()


def test_close_removes_duckdb_temp_files(tmp_path: Path) -> None:
    from infercarbon.ledger import DuckDBStore

    path = tmp_path / "c.duckdb"
    store = DuckDBStore(path)
    tmp = Path(str(path) + ".tmp")
    tmp.mkdir()
    (tmp / "duckdb_temp_1_0_storage_DEFAULT-0.tmp").write_bytes(b"spill")
    store.close()
    assert not tmp.exists()
