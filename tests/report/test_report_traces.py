"""The report's per-user-action table: each W3C trace's model calls as one ranged figure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from infercarbon.ledger import DuckDBStore
from infercarbon.ledger.rollup import ranged_sums
from infercarbon.report import build_report, parse_period, render

from .conftest import service_event, write_service_path

GEN = datetime(2026, 10, 3, tzinfo=UTC)
AUG = parse_period("2026-08")
TRACE_A, TRACE_B = "4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c"


def test_each_trace_is_one_figure_with_its_range(tmp_path: Any) -> None:
    evs = [service_event(i, trace_id=TRACE_A, parent_span_id="00f067aa0ba902b7") for i in range(3)]
    evs += [service_event(10 + i, trace_id=TRACE_B) for i in range(2)]
    evs += [service_event(20)]  # an untraced call
    with DuckDBStore(tmp_path / "t.duckdb") as store:
        write_service_path(store, evs)
        rep = build_report(store, AUG, generated_utc=GEN)
        want = {
            r["trace_id"]: r
            for r in ranged_sums(store, of="totals", keys=("basis",), by=("trace_id",)).to_pylist()
            if r["basis"] == "location"
        }
    rows = {r["trace_id"]: r for r in rep.table("traces").rows}
    assert set(rows) == {TRACE_A, TRACE_B}
    assert rows[TRACE_A]["model_calls"] == 3 and rows[TRACE_B]["model_calls"] == 2
    for t in (TRACE_A, TRACE_B):
        assert rows[t]["location_g"] == pytest.approx(want[t]["value_g"])
        assert rows[t]["location_low_g"] < rows[t]["location_g"] < rows[t]["location_high_g"]
    # the largest action first, and the notes say how many actions and calls
    assert list(rows) == sorted(rows, key=lambda k: -rows[k]["location_g"])
    assert any(
        "2 traced user action(s)" in n and "5 model call(s)" in n for n in rep.table("traces").notes
    )
    assert "Footprint per user action" in render(rep, "html")


def test_no_trace_says_how_to_record_one(tmp_path: Any) -> None:
    with DuckDBStore(tmp_path / "n.duckdb") as store:
        write_service_path(store, [service_event(i) for i in range(3)])
        rep = build_report(store, AUG, generated_utc=GEN)
    t = rep.table("traces")
    assert t.rows == () and any("trace_context" in n for n in t.notes)
