"""Publishing: the open CSV and the Markdown page with every section, computed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from infercarbon.benchmark.page import PAGE_SECTIONS, publish
from infercarbon.benchmark.snapshot import SNAPSHOT_COLUMNS
from infercarbon.benchmark.submissions import SubmissionStore, submit
from infercarbon.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_publish_writes_csv_and_page_with_all_sections(tmp_path: Path) -> None:
    store = SubmissionStore(tmp_path / "store")
    assert submit((DATA / "valid_submissions.csv").read_text(), store, now_utc=NOW).ok
    p = publish(
        tmp_path / "out", on=date(2026, 11, 22), engine_version="test", store=store, samples=200
    )
    assert p.modelled_rows == 130 and p.measured_rows == 2 and p.disagreements > 0
    rows = list(csv.DictReader(io.StringIO(p.csv_path.read_text())))
    assert tuple(rows[0]) == SNAPSHOT_COLUMNS
    assert sum(r["label"] == "measured" for r in rows) == 2
    md = p.markdown_path.read_text()
    pos = [md.index(f"## {s}") for s in PAGE_SECTIONS]
    assert pos == sorted(pos)  # every section, in order
    measured = md[md.index("## Results: measured") : md.index("## Per business outcome")]
    modelled = md[md.index("## Results: modelled") : md.index("## Results: measured")]
    assert "Test Plant Analytics" in measured and "codecarbon 3.0.4" in measured
    assert "Test Plant Analytics" not in modelled and "WL-06 | T6 | South Africa" in modelled
    assert "## Where the seed disagrees with first principles (" in md
    assert "results table units" in md  # the seed's mg-vs-g table is listed
    assert "detected defect" in md and "drafted work order" in md
    for col in ("hourly_intensity_g_per_kwh", "pue_source", "training_included"):
        assert f"| {col} |" in md


def test_cli_publish_without_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "benchmark",
                "publish",
                "--out-dir",
                str(tmp_path),
                "--store",
                str(tmp_path / "none"),
                "--samples",
                "200",
                "--date",
                "2026-11-22",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "modelled=130 measured=0" in out.out and "no measured rows" in out.err
    md = (tmp_path / "benchmark.md").read_text()
    assert "No measured submission has been accepted yet" in md
    assert (tmp_path / "benchmark.csv").read_text().startswith("row_key,label,")
