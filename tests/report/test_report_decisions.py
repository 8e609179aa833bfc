"""The report's decision-support sections: the rebound table and accuracy per watt."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infercarbon.cli.main import main
from infercarbon.decisions.accuracy import TaskMetric
from infercarbon.ledger import open_store
from infercarbon.ledger.rollup import rollup_events
from infercarbon.report import build_report, parse_period


def test_rebound_table_adds_up(ledger) -> None:
    store = open_store(str(ledger.path))
    try:
        rep = build_report(
            store, parse_period("2026-Q3"), generated_utc=datetime(2026, 10, 2, tzinfo=UTC)
        )
        ev = rollup_events(store, by=(), period="month")
    finally:
        store.close()
    t = next(t for t in rep.tables if t.name == "rebound")
    rows = t.rows
    assert [r["month"] for r in rows] == ["2026-07", "2026-08", "2026-09"]
    assert rows[0]["volume_t"] is None
    for r in rows[1:]:
        assert r["volume_t"] + r["intensity_t"] == pytest.approx(r["change_t"], rel=1e-9)
        assert r["volume_low_t"] <= r["volume_t"] <= r["volume_high_t"]
    prev = rows[0]["location_t"]
    assert rows[1]["change_t"] == pytest.approx(rows[1]["location_t"] - prev)
    months = {e["period_start_utc"].strftime("%Y-%m"): e["events"] for e in ev.to_pylist()}
    assert rows[2]["inferences"] <= months["2026-09"]  # footprints only (one gap event)
    assert any("LMDI" in n for n in t.notes)


def test_accuracy_table_from_cli(
    ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = tmp_path / "metrics.csv"
    m.write_text(
        "model,metric,value,source\ninspection-model,mAP,39.5,vendor card\nchat-model,mAP,51.5,\n"
    )
    code = main(
        [
            "report",
            "--period",
            "2026-Q3",
            "--ledger",
            str(ledger.path),
            "--format",
            "json",
            "--task-metrics",
            str(m),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads(out.out)
    rows = {r["model"]: r for r in doc["tables"]["accuracy_per_watt"]["rows"]}
    ins, chat = rows["inspection-model"], rows["chat-model"]
    assert ins["g_per_inference_per_point"] == pytest.approx(ins["g_per_inference"] / 39.5)
    assert chat["marginal_g_per_point"] == pytest.approx(
        (chat["g_per_inference"] - ins["g_per_inference"]) / 12.0
    )
    assert ins["metric_source"] == "vendor card"
    code = main(
        [
            "report",
            "--period",
            "2026-Q3",
            "--ledger",
            str(ledger.path),
            "--format",
            "html",
            "--task-metrics",
            str(tmp_path / "missing.csv"),
        ]
    )
    assert code == 2 and "error: task_metrics" in capsys.readouterr().err


def test_accuracy_table_only_with_metrics(ledger) -> None:
    store = open_store(str(ledger.path))
    try:
        p = parse_period("2026-Q3")
        when = datetime(2026, 10, 2, tzinfo=UTC)
        plain = build_report(store, p, generated_utc=when)
        more = build_report(
            store, p, generated_utc=when, task_metrics=[TaskMetric("chat-model", "acc", 0.9)]
        )
    finally:
        store.close()
    assert "accuracy_per_watt" not in {t.name for t in plain.tables}
    assert "accuracy_per_watt" in {t.name for t in more.tables}
