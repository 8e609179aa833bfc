"""The report's programme sections: training runs amortised over the inferences the ledger
served, with the crossover day, and the hidden drivers."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from infercarbon.ledger import DuckDBStore
from infercarbon.programme import make_run
from infercarbon.report import build_report, parse_period


def test_training_line_over_the_served_inferences(ledger: Any, tmp_path: Path) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copy(ledger.path, path)
    t = datetime(2026, 6, 1, tzinfo=UTC)
    with DuckDBStore(path) as store:
        store.append_runs(
            [
                make_run(
                    tenant="acme",
                    kind="train",
                    model="inspection-model",
                    status=s,
                    start_utc=t.replace(day=d),
                    end_utc=t.replace(day=d, hour=5),
                    energy_j=e,
                    method="test",
                    label="measured",
                    source="test",
                    emissions_g=g,
                    gpu_hours=10.0,
                )
                for s, d, e, g in (("failed", 1, 1e8, 1000.0), ("succeeded", 2, 3e8, 3000.0))
            ]
        )
        rep = build_report(
            store, parse_period("2026-Q3"), generated_utc=datetime(2026, 10, 2, tzinfo=UTC)
        )
    rows = {r["lineage"]: r for r in rep.table("training_runs").rows}
    line = rows["inspection-model"]
    assert line["runs"] == 2 and line["runs_in_period"] == 0  # trained before the quarter
    assert line["failed_share_frac"] == 0.5
    assert line["failed_energy_share_frac"] == pytest.approx(0.25)
    assert line["emissions_t"] == pytest.approx(4000.0 / 1e6)
    # the inspection events up to the quarter's end: 18 in it and one on 30 June (not October's)
    assert line["inferences_served"] == 19
    assert line["training_g_per_inference"] == pytest.approx(4000.0 / 19)
    assert line["crossover_utc"] is not None
    drivers = {r["driver"]: r for r in rep.table("hidden_drivers").rows}
    assert len(drivers) == 5
    assert drivers["Failed and killed runs' share of training energy"]["value"] == pytest.approx(
        0.25
    )
