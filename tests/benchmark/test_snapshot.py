"""Versioned cohort: snapshot round trip, manifest hash, immutability, diffs."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from infercarbon.benchmark.snapshot import (
    SNAPSHOT_COLUMNS,
    bundled_snapshot_dir,
    diff_snapshots,
    list_snapshots,
    load_snapshot,
    measured_rows,
    render_diff,
    write_snapshot,
)
from infercarbon.benchmark.submissions import SubmissionStore, submit
from infercarbon.cli.main import main
from infercarbon.errors import DataError, InputError

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmark"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SAMPLES = 200


def _store(tmp_path: Path) -> SubmissionStore:
    store = SubmissionStore(tmp_path / "store")
    assert submit((DATA / "valid_submissions.csv").read_text(), store, now_utc=NOW).ok
    return store


def test_snapshot_round_trip_and_manifest_hash(tmp_path: Path) -> None:
    d = tmp_path / "snaps"
    csv_path, man_path, manifest = write_snapshot(
        d, date(2026, 11, 20), samples=SAMPLES, engine_version="test"
    )
    data = csv_path.read_bytes()
    assert manifest["csv_sha256"] == hashlib.sha256(data).hexdigest()
    on_disk = json.loads(man_path.read_text())
    assert on_disk == manifest
    assert on_disk["date"] == "2026-11-20" and on_disk["engine"]["version"] == "test"
    assert on_disk["row_count"] == 130 and on_disk["rows_by_label"] == {"modelled": 130}
    assert on_disk["data"]["regions"]["sha256"]
    assert {g["region_id"] for g in on_disk["data"]["regions"]["grids"]} >= {"FRA", "GBR"}
    snap = load_snapshot("2026-11-20", [d])
    assert snap.name == "2026-11-20" and len(snap.rows) == 130
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert {r["row_key"]: r for r in rows} == snap.rows
    assert tuple(rows[0]) == SNAPSHOT_COLUMNS
    # the same path loads by file name too
    assert load_snapshot(str(csv_path), []).rows == snap.rows
    # identical rewrite is a no-op; a different table under the same date is refused
    write_snapshot(d, date(2026, 11, 20), samples=SAMPLES, engine_version="test")
    with pytest.raises(InputError, match="immutable"):
        write_snapshot(d, date(2026, 11, 20), samples=SAMPLES + 1, engine_version="test")


def test_tampered_snapshot_is_refused(tmp_path: Path) -> None:
    csv_path, _, _ = write_snapshot(
        tmp_path, date(2026, 11, 20), samples=SAMPLES, engine_version="test"
    )
    csv_path.write_text(csv_path.read_text().replace(",1.8,", ",1.9,", 1))
    with pytest.raises(DataError, match="sha256"):
        load_snapshot("2026-11-20", [tmp_path])


def test_bundled_snapshot_verifies() -> None:
    found = list_snapshots([bundled_snapshot_dir()])
    assert "2026-11-22" in found
    snap = load_snapshot("2026-11-22", [bundled_snapshot_dir()])
    assert snap.manifest is not None and snap.manifest["row_count"] == 130
    assert all(
        r["label"] == "modelled" and r["energy_label"] == "illustrative" for r in snap.rows.values()
    )


def test_diff_detects_a_changed_figure(tmp_path: Path) -> None:
    a_path, _, _ = write_snapshot(
        tmp_path, date(2026, 11, 20), samples=SAMPLES, engine_version="test"
    )
    rows = list(csv.DictReader(io.StringIO(a_path.read_text())))
    key = "modelled:WL-02/T1/GBR"
    for r in rows:
        if r["row_key"] == key:
            old = float(r["total_location_g"])
            r["total_location_g"] = repr(old * 1.1)
    rows = [r for r in rows if r["row_key"] != "modelled:WL-01/T0/NOR"]
    rows.append({**rows[0], "row_key": "measured:abc"})
    b_path = tmp_path / "edited.csv"
    with b_path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(SNAPSHOT_COLUMNS), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    d = diff_snapshots(load_snapshot("2026-11-20", [tmp_path]), load_snapshot(str(b_path), []))
    assert [r["row_key"] for r in d.added] == ["measured:abc"]
    assert [r["row_key"] for r in d.removed] == ["modelled:WL-01/T0/NOR"]
    assert list(d.changed) == [key]
    ch = d.changed[key]["total_location_g"]
    assert math.isclose(ch["delta"], old * 0.1) and math.isclose(ch["rel_change"], 0.1)
    table = render_diff(d, "table")
    assert "1 added, 1 removed, 1 changed rows" in table and "+10%" in table
    lines = list(csv.reader(io.StringIO(render_diff(d, "csv"))))
    assert lines[0] == ["change", "row_key", "column", "a", "b", "delta", "rel_change"]
    assert ["changed", key, "total_location_g"] == lines[-1][:3]
    js = json.loads(render_diff(d, "json"))
    assert js["summary"] == {"added": 1, "removed": 1, "changed": 1}
    # tolerance hides small changes
    assert not diff_snapshots(
        load_snapshot("2026-11-20", [tmp_path]), load_snapshot(str(b_path), []), rel_tol=0.2
    ).changed


def test_measured_rows_enter_the_snapshot(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _, _, man = write_snapshot(
        tmp_path / "s", date(2026, 11, 22), store=store, samples=SAMPLES, engine_version="test"
    )
    assert man["rows_by_label"] == {"measured": 2, "modelled": 130}
    assert man["data"]["submissions"]["rows"] == 2
    (gb, de) = measured_rows(store.valid_rows())
    assert gb["label"] == "measured" and gb["energy_label"] == "measured"
    mean_gb = sum([182, 175, 169, 171, 168, 166, 170, 174]) / 8
    assert math.isclose(gb["intensity_g_per_kwh"], mean_gb)
    assert math.isclose(gb["operational_location_g"], 1.62 * 1.05 * mean_gb / 3.6e6)
    assert math.isclose(gb["total_location_g"], gb["operational_location_g"] + 0.000057)
    # DE: energy-weighted by the submitted hourly energy
    mean_de = (380 * 1.5 + 360 * 4.5 + 350 * 4.5 + 340 * 2.0) / 12.5
    assert math.isclose(de["intensity_g_per_kwh"], mean_de)
    assert de["embodied_g"] is None and de["training_g"] is None
    assert math.isclose(de["total_location_g"], 250 * 1.2 * mean_de / 3.6e6)


@pytest.mark.slow
def test_cli_snapshot_and_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d, store = tmp_path / "snaps", _store(tmp_path)
    assert (
        main(
            [
                "benchmark",
                "snapshot",
                "--date",
                "2026-11-22",
                "--dir",
                str(d),
                "--samples",
                str(SAMPLES),
                "--store",
                str(tmp_path / "none"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "benchmark",
                "snapshot",
                "--date",
                "2026-11-23",
                "--dir",
                str(d),
                "--samples",
                str(SAMPLES),
                "--store",
                str(store.directory),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "rows=132 measured=2 modelled=130" in out
    assert (
        main(["benchmark", "diff", "2026-11-22", "2026-11-23", "--dir", str(d), "--format", "json"])
        == 0
    )
    js = json.loads(capsys.readouterr().out)
    assert js["summary"] == {"added": 2, "removed": 0, "changed": 0}
    assert main(["benchmark", "diff", "2026-11-22", "1999-01-01", "--dir", str(d)]) == 2
    assert "available: 2026-11-22, 2026-11-23" in capsys.readouterr().err
