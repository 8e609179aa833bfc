"""MLPerf power results, one scenario at a time: the energy per sample each scenario gives,
and the reason a result without its figures is skipped."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from infercarbon.benchmark.importers import ImportOptions, import_mlperf_power

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OPTS = ImportOptions(region="DE", submitter="Test", licence="CC-BY-4.0")


def test_mlperf_each_scenario_without_its_figures_is_skipped_with_the_reason() -> None:
    text = (
        "system_description,scenario,samples_per_s,avg_power_w,energy_per_sample_j\n"
        "box,Server,,,0.5\n"
        "box,SingleStream,10,,\n"
        "box,Multi-Stream,10,,\n"
        "box,Batch,10,100,\n"
        "box,Offline,,,0\n"
    )
    res = import_mlperf_power(text, OPTS, now_utc=NOW)
    (server,) = res.rows  # energy per sample as published
    assert math.isclose(float(server["energy_j"]), 0.5)
    assert "energy per sample as published" in server["notes"]
    assert [(e.row, e.column, e.problem) for e in res.skipped] == [
        (3, "energy_per_sample_j", "SingleStream power results are energy per query; none given"),
        (4, "energy_per_sample_j", "MultiStream power results are energy per query; none given"),
        (5, "scenario", "unknown scenario 'Batch'"),
        (6, "avg_power_w", "energy per sample is not > 0"),
    ]
