"""`infercarbon demo --no-serve` records every metered inference in the embedded ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infercarbon.cli.main import main
from infercarbon.ledger import open_store


@pytest.mark.slow
def test_demo_records_its_inferences(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ledger = str(tmp_path / "demo.duckdb")
    assert main(["demo", "--seconds", "1", "--ledger", ledger, "--no-serve", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    n = sum(w["inferences"] for w in out["workloads"])
    assert n > 0
    assert out["ledger"]["events_inserted"] == n
    store = open_store(ledger)
    try:
        assert store.count("events") == n
        # the dashboard's heatmap gets one year of ERCOT's bundled hourly marginal signal
        assert store.count("intensity") == 8760
        events = store.events()
        assert set(events.column("model").to_pylist()) == {"WL-01", "WL-02"}
        assert all(
            m.endswith(":modelled") or m.endswith(":measured-counter")
            for m in events.column("attribution_method").to_pylist()
        )
        # every event has its footprint, and audit verify recomputes each one
        assert store.count("footprints") == n
    finally:
        store.close()
    capsys.readouterr()
    assert main(["audit", "verify", "--ledger", ledger]) == 0
    assert f"ok: {n} footprint(s) verified" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_reports_progress_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "demo.duckdb")
    assert main(["demo", "--seconds", "2.4", "--ledger", ledger, "--no-serve"]) == 0
    cap = capsys.readouterr()
    assert "metering WL-01 (1-D CNN vibration anomaly) for 1.2 s" in cap.err
    assert "metering WL-02" in cap.err
    assert "  WL-01: 1/1 s, " in cap.err  # a tick about once a second
    assert "attributing the energy over" in cap.err
    # the table on stdout (not a terminal: aligned text), CO2e in human units
    assert "median CO2e (location)" in cap.out
    assert "metering" not in cap.out


def test_a_port_in_use_is_refused_before_metering(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ledger = tmp_path / "demo.duckdb"
        for argv in (
            ["demo", "--seconds", "600", "--ledger", str(ledger)],
            ["serve", "--ledger", str(ledger)],
        ):
            assert main([*argv, "--port", str(port)]) == 2
            err = capsys.readouterr().err
            assert err.startswith(f"error: --port: 127.0.0.1:{port} is already in use")
            assert "metering" not in err
        assert not ledger.exists()  # nothing was metered, no ledger opened
