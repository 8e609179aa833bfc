"""`infercarbon demo --no-serve` records every metered inference in the embedded ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infercarbon.cli.main import main
from infercarbon.ledger import open_store


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
        assert all(m.endswith(":modelled") or m.endswith(":measured-counter")
                   for m in events.column("attribution_method").to_pylist())
        # every event has its footprint, and audit verify recomputes each one
        assert store.count("footprints") == n
    finally:
        store.close()
    capsys.readouterr()
    assert main(["audit", "verify", "--ledger", ledger]) == 0
    assert f"ok: {n} footprint(s) verified" in capsys.readouterr().out
