"""`infercarbon schedule` and :mod:`infercarbon.decisions.schedule`: the chosen start is the
minimum over all feasible starts of the hours `grid intensity` prints, and the JSON contract."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.cli.main import main
from infercarbon.decisions.schedule import (
    ScheduleRequest,
    best_chunks,
    parse_duration_s,
    parse_utc64,
    schedule,
)
from infercarbon.decisions.signals import parse_forecast, window_signal
from infercarbon.errors import InputError

CHECK = [
    "schedule",
    "--region",
    "ERCOT",
    "--signal",
    "location",
    "--energy-kwh",
    "10",
    "--duration",
    "2h",
    "--earliest",
    "2021-07-15T12:00Z",
    "--deadline",
    "2021-07-16T12:00Z",
    "--json",
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_start_is_the_minimum_of_grid_intensity_hours(capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(run(capsys, *CHECK))
    rows = list(
        csv.DictReader(
            io.StringIO(
                run(
                    capsys,
                    "grid",
                    "intensity",
                    "--region",
                    "ERCOT",
                    "--from",
                    "2021-07-15T12:00",
                    "--to",
                    "2021-07-16T12:00",
                )
            )
        )
    )
    v = np.array([float(r["intensity_g_per_kwh"]) for r in rows])
    means = (v[:-1] + v[1:]) / 2  # every feasible 2 h start, 12:00 .. 10:00 next day
    best = int(np.argmin(means))
    assert doc["start_utc"] == rows[best]["time_utc"]
    end = parse_utc64(rows[best]["time_utc"], field="x") + np.timedelta64(2, "h")
    assert parse_utc64(doc["end_utc"], field="x") == end
    # the printed series is rounded to 0.01 g/kWh
    assert doc["mean_intensity_g_per_kwh"] == pytest.approx(means[best], abs=0.01)
    assert doc["emissions_g"] == pytest.approx(10 * means[best], abs=0.1)
    assert doc["baseline_emissions_g"] == pytest.approx(10 * means[0], abs=0.1)
    assert doc["saving_g"] == doc["baseline_emissions_g"] - doc["emissions_g"]
    assert doc["saving_low_g"] <= doc["saving_g"] <= doc["saving_high_g"]
    assert doc["low_g"] <= doc["emissions_g"] <= doc["high_g"]
    assert doc["signal"] == "location" and "ERCOT Fuel Mix" in doc["source"]
    assert doc["step_sources"] == {"bundled": 24}


def test_marginal_signal_and_chunks(capsys: pytest.CaptureFixture[str]) -> None:
    args = [a if a != "location" else "marginal" for a in CHECK]
    one = json.loads(run(capsys, *args))
    two = json.loads(run(capsys, *args, "--chunks", "2"))
    assert one["signal"] == "marginal"
    assert len(two["windows"]) == 2
    # splitting can only help (the contiguous run is one of the chunk choices)
    assert two["emissions_g"] <= one["emissions_g"] + 1e-9
    a, b = two["windows"]
    assert parse_utc64(a["end_utc"], field="x") <= parse_utc64(b["start_utc"], field="x")


def test_future_window_uses_the_profile_and_says_so() -> None:
    r = schedule(
        ScheduleRequest(
            region="ERCOT",
            energy_kwh=5,
            duration_s=3600,
            signal="location",
            earliest_utc=np.datetime64("2026-07-15T00:00"),
            deadline_utc=np.datetime64("2026-07-16T00:00"),
        )
    )
    assert r.step_sources == {"profile": 24}
    assert "profile" in r.source
    assert any("hour x season profile" in n for n in r.notes)
    assert r.saving_low_g <= r.saving_g <= r.saving_high_g


def test_forecast_file_covers_hours_and_the_profile_fills_the_rest(tmp_path: Path) -> None:
    # a forecast as `grid fetch --kind forecast --format json` writes it (fixture values)
    doc = {
        "provider": "watttime",
        "region": "ERCOT",
        "kind": "marginal",
        "basis": "direct",
        "resolution_s": 3600,
        "provenance": {"source": "test forecast", "version": "1", "method": "forecast"},
        "rows": [
            {
                "time_utc": f"2026-07-15T{h:02d}:00:00Z",
                "intensity_g_per_kwh": 500.0 - 10 * h,
                "low": 450.0 - 10 * h,
                "high": 550.0 - 10 * h,
            }
            for h in range(6)
        ],
    }
    p = tmp_path / "fc.json"
    p.write_text(json.dumps(doc))
    from infercarbon.decisions.signals import read_forecast

    fc = read_forecast(p)
    w = window_signal(
        "ERCOT",
        "marginal",
        np.datetime64("2026-07-15T00:00"),
        np.datetime64("2026-07-15T12:00"),
        forecast=fc,
    )
    assert w.sources == {"forecast": 6, "profile": 6}
    r = schedule(
        ScheduleRequest(
            region="ERCOT",
            energy_kwh=1,
            duration_s=3600,
            earliest_utc=np.datetime64("2026-07-15T00:00"),
            deadline_utc=np.datetime64("2026-07-15T06:00"),
            signal="marginal",
        ),
        forecast=fc,
    )
    assert r.windows[0].start_utc == np.datetime64("2026-07-15T05:00")
    assert r.emissions_g == pytest.approx(450.0)
    assert r.step_sources == {"forecast": 6}
    csv_text = (
        "time_utc,intensity_g_per_kwh,low,high\n2026-07-15T00:00Z,100,90,110\n"
        "2026-07-15T01:00Z,50,40,60\n"
    )
    s = parse_forecast(csv_text)
    assert s.resolution_s == 3600 and s.intensity_g_per_kwh.tolist() == [100.0, 50.0]


def test_region_without_series_or_forecast_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "schedule",
            "--region",
            "FR",
            "--energy-kwh",
            "1",
            "--duration",
            "1h",
            "--earliest",
            "2026-01-01T00:00Z",
            "--deadline",
            "2026-01-02T00:00Z",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: forecast:") and "--forecast" in err


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--duration", "10h", "--deadline", "2021-07-15T14:00Z"], "deadline"),
        (["--duration", "soon"], "--duration"),
        (["--earliest", "yesterday"], "--earliest"),
        (["--signal", "average"], "--signal"),
        (["--energy-kwh", "-1"], "energy_kwh"),
    ],
)
def test_bad_input_names_the_field(
    capsys: pytest.CaptureFixture[str], args: list[str], field: str
) -> None:
    base = dict(zip(CHECK[1::2], CHECK[2::2], strict=False))
    base.update(zip(args[::2], args[1::2], strict=True))
    argv = ["schedule"] + [x for kv in base.items() for x in kv if x != "--json"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and f"error: {field}" in err


def test_parsers() -> None:
    assert parse_duration_s("1.5h") == 5400.0
    assert str(parse_utc64("2021-07-15T07:00+02:00", field="x")) == "2021-07-15T05:00:00"
    with pytest.raises(InputError):
        parse_duration_s("0h")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=4, max_size=12),
    st.integers(1, 3),
    st.integers(1, 3),
)
def test_best_chunks_is_the_brute_force_optimum(cost: list[float], n: int, gap: int) -> None:
    import itertools

    c = np.array(cost)
    if (n - 1) * gap + 1 > len(c):
        with pytest.raises(InputError):
            best_chunks(c, n, gap)
        return
    pick = best_chunks(c, n, gap)
    assert len(pick) == n and (np.diff(pick) >= gap).all()
    best = min(
        sum(c[list(ix)])
        for ix in itertools.combinations(range(len(c)), n)
        if all(b - a >= gap for a, b in itertools.pairwise(ix))
    )
    assert c[pick].sum() == pytest.approx(best, abs=1e-9)


def test_ledger_intervals_price_the_hours_they_cover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from infercarbon.ledger import open_store

    path = tmp_path / "l.duckdb"
    store = open_store(str(path))
    store.append_intensity(
        [
            {
                "region": "FR",
                "kind": "marginal",
                "basis": "direct",
                "interval_start_utc": f"2026-07-01T{h:02d}:00:00Z",
                "resolution_s": 3600,
                "value_g_per_kwh": 100.0 + (h - 5) ** 2,
                "low_g_per_kwh": 90.0 + (h - 5) ** 2,
                "high_g_per_kwh": 120.0 + (h - 5) ** 2,
                "source": "test fixture",
                "version": "1",
                "retrieved_utc": "2026-06-30T00:00:00Z",
                "status": "forecast",
            }
            for h in range(12)
        ]
    )
    store.close()
    doc = json.loads(
        run(
            capsys,
            "schedule",
            "--region",
            "FR",
            "--energy-kwh",
            "2",
            "--duration",
            "1h",
            "--earliest",
            "2026-07-01T00:00Z",
            "--deadline",
            "2026-07-01T12:00Z",
            "--ledger",
            str(path),
            "--json",
        )
    )
    assert doc["start_utc"] == "2026-07-01T05:00:00Z"
    assert doc["emissions_g"] == pytest.approx(200.0)
    assert doc["step_sources"] == {"ledger": 12}
    code = main(
        [
            "schedule",
            "--region",
            "FR",
            "--energy-kwh",
            "1",
            "--duration",
            "1h",
            "--earliest",
            "2026-07-01T00:00Z",
            "--deadline",
            "2026-07-01T12:00Z",
            "--ledger",
            str(path),
            "--forecast",
            "ukci",
        ]
    )
    assert code == 2 and "error: --ledger" in capsys.readouterr().err
