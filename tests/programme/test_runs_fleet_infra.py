"""Runs (status from exit code or signal, totals), the fleet's embodied schedule, and the
data & infrastructure factors, against hand-computed figures."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from infercarbon.errors import InputError
from infercarbon.ledger.schema import RUNS
from infercarbon.programme import fleet_schedule, load_fleet, make_run, parse_fleet, run_totals
from infercarbon.programme.factors import NETWORK_KWH_PER_GB, STORAGE_KWH_PER_TB_YEAR
from infercarbon.programme.infra import data_movement, storage_energy, transfer_energy
from infercarbon.programme.runs import status_from_exit

DATA = Path(__file__).parents[1] / "data" / "programme"
T0 = datetime(2026, 7, 1, tzinfo=UTC)


def run(status: str, energy_j: float, **kw: Any) -> dict[str, object]:
    return make_run(
        tenant="t",
        kind=str(kw.pop("kind", "train")),
        model=str(kw.pop("model", "m")),
        status=status,
        start_utc=T0,
        end_utc=T0 + timedelta(hours=1),
        energy_j=energy_j,
        method="test",
        label="measured",
        source="test",
        **kw,
    )


def table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=RUNS.arrow_schema)


def test_status_from_exit() -> None:
    assert status_from_exit(0) == ("succeeded", None)
    assert status_from_exit(2) == ("failed", None)
    assert status_from_exit(-signal.SIGTERM) == ("killed", "SIGTERM")
    assert status_from_exit(128 + signal.SIGKILL) == ("killed", "SIGKILL")
    assert status_from_exit(-signal.SIGSEGV) == ("failed", "SIGSEGV")
    with pytest.raises(InputError):
        status_from_exit(True)


@given(st.integers(-64, 255))
def test_every_exit_code_has_one_status(code: int) -> None:
    status, sig = status_from_exit(code)
    assert status in ("succeeded", "failed", "killed")
    assert (status == "succeeded") == (code == 0)
    assert (sig is not None) == (code < 0 or 128 < code < 193)


def test_run_totals_failed_share_of_runs_and_energy() -> None:
    t = run_totals(
        table(
            [
                run("failed", 1.0e6),
                run("succeeded", 3.0e6, model="x"),
                run("killed", 0.0, model="y"),
            ]
        )
    )
    assert (t.runs, t.failed, t.killed, t.succeeded) == (3, 1, 1, 1)
    assert t.failed_share_frac == pytest.approx(2 / 3)
    assert t.failed_energy_share_frac == pytest.approx(0.25)
    assert t.emissions_g is None and t.emissions_unknown_runs == 3  # no region, no emissions


def test_run_emissions_from_region() -> None:
    from infercarbon.reference.regions import resolve_region

    g = resolve_region("FRA").intensity_g_per_kwh.value
    t = run_totals(table([run("succeeded", 3.6e6, region="FRA")]))
    assert t.emissions_g == pytest.approx(g)
    assert t.emissions_low_g is not None and t.emissions_low_g <= g <= (t.emissions_high_g or 0)


def test_fleet_schedule_by_hand() -> None:
    f = fleet_schedule(load_fleet(DATA / "fleet.toml"))
    years = {r["year"]: r for r in f["years"]}
    # 8 H100 bought 2025, +50 %/year from 2026: 12, 18, 27; 2029 replaces the 2025 cohort
    assert [years[y]["devices_in_service"] for y in range(2026, 2030)] == [12, 18, 27, 40.5]
    assert years[2026]["embodied_acquisition_kg"] == 4 * 1500
    assert years[2026]["embodied_amortised_kg"] == 12 * 1500 / 4
    assert years[2026]["operational_kg"] == pytest.approx(12 * 500 * 8760 / 1000 * 1.25 * 0.4)
    assert years[2029]["devices_replaced"] == 8 and years[2029]["devices_bought"] == 8 + 13.5
    assert f["refresh_schedule"] == [{"year": 2029, "device": "H100", "devices_replaced": 8}]
    # amortised share is per device (375 / (375 + 2190)); acquisition-based grows with growth
    assert years[2026]["embodied_share_frac"] == pytest.approx(375 / (375 + 2190))
    assert (
        years[2029]["embodied_share_acquisition_frac"]
        > years[2026]["embodied_share_acquisition_frac"]
    )


def test_fleet_errors_name_the_field() -> None:
    with pytest.raises(InputError) as info:
        parse_fleet(
            {
                "start_year": 2026,
                "pue": 1.2,
                "device": [{"name": "x", "count": 1, "purchased": 2025, "refresh_years": 4}],
            }
        )
    assert info.value.field == "device[0].embodied_kg"
    with pytest.raises(InputError) as info:
        parse_fleet({"start_year": 2026, "device": []})
    assert info.value.field == "fleet.pue"


def test_storage_and_transfer_energy() -> None:
    from infercarbon.ledger.schema import STORAGE, TRANSFERS

    st_ = pa.Table.from_pylist(
        [
            {
                "record_id": "a",
                "tenant": "t",
                "storage_class": "ssd",
                "gb_months": 12_000.0,
                "period_start_utc": T0,
                "period_end_utc": T0,
                "source": "x",
            }
        ],
        schema=STORAGE.arrow_schema,
    )
    # 12,000 GB-months = 1 TB-year; SSD 1.2 Wh/TB-h x 8760 h = 10.512 kWh
    assert storage_energy(st_)["energy_j"] == pytest.approx(10.512 * 3.6e6)
    assert STORAGE_KWH_PER_TB_YEAR["object"].value == pytest.approx(0.65 * 8.76 * 3)
    tr = pa.Table.from_pylist(
        [
            {
                "record_id": "b",
                "tenant": "t",
                "network_type": "internet",
                "gb": 100.0,
                "t_utc": T0,
                "source": "x",
            }
        ],
        schema=TRANSFERS.arrow_schema,
    )
    got = transfer_energy(tr)
    assert got["energy_j"] == pytest.approx(100 * NETWORK_KWH_PER_GB["internet"].value * 3.6e6)
    assert got["low_j"] < got["energy_j"] < got["high_j"]
    runs = table([run("succeeded", 60 * 3.6e6), run("succeeded", 0.0, kind="data-pipeline")])
    dm = data_movement(tr, runs, inference_energy_j=0.0)
    assert dm["share_frac"] == pytest.approx(100 * 0.06 / 60)
