"""The attribute, account and rollup jobs on the local engine (the reference)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.accounting.profiles import ProfileSet
from infercarbon.errors import InputError
from infercarbon.jobs import get_engine, run_account, run_attribute, run_rollup
from infercarbon.jobs.attribute import parse_window
from infercarbon.jobs.synthetic import synthetic_fleet

T0 = datetime(2026, 7, 1, tzinfo=UTC)
TS = pa.timestamp("us", tz="UTC")


def _readings_energy(readings: pa.Table) -> dict[str, float]:
    g = readings.group_by("device").aggregate([("cumulative_j", "max"), ("cumulative_j", "min")])
    return {r["device"]: r["cumulative_j_max"] - r["cumulative_j_min"] for r in g.to_pylist()}


def _per_device(rows: pa.Table) -> dict[str, float]:
    g = rows.group_by("device").aggregate([("energy_j", "sum")])
    return {r["device"]: r["energy_j_sum"] for r in g.to_pylist()}


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    window_min=st.sampled_from([1, 5, 15, 60]),
    parts=st.integers(1, 4),
    policy=st.sampled_from(["30-70", "none"]),
)
def test_energy_is_conserved_per_device_and_parts_do_not_matter(seed, window_min, parts, policy):
    f = synthetic_fleet(devices=3, events_per_device=60, hours=1.5, seed=seed)
    ref = run_attribute(
        f["events"],
        f["readings"],
        engine=get_engine("local"),
        window_s=window_min * 60.0,
        idle_policy=policy,
    )
    cut = run_attribute(
        f["events"],
        f["readings"],
        engine=get_engine("local", parts=parts),
        window_s=window_min * 60.0,
        idle_policy=policy,
    )
    measured = _readings_energy(f["readings"])
    got = _per_device(ref)
    for dev, e in measured.items():
        assert got[dev] == pytest.approx(e, rel=1e-9, abs=1e-6)
    assert ref.equals(cut)
    ev = ref.filter(pc.equal(ref["row_kind"], "event"))
    assert ev.num_rows == f["events"].num_rows
    assert pc.min(ev["energy_j"]).as_py() >= 0
    assert set(pc.unique(ref["window_s"]).to_pylist()) == {window_min * 60.0}


def _one_device(
    events: list[tuple[str, float, float, int]], readings_s: list[float], power_w: float = 100.0
) -> tuple[pa.Table, pa.Table]:
    us = 1_000_000
    t0 = int(T0.timestamp() * us)
    ev = pa.table(
        {
            "event_id": [e[0] for e in events],
            "start_utc": pa.array([t0 + int(e[1] * us) for e in events]).cast(TS),
            "end_utc": pa.array([t0 + int(e[2] * us) for e in events]).cast(TS),
            "device": ["g0"] * len(events),
            "batch_id": [e[3] for e in events],
            "tokens_in": [1] * len(events),
            "tokens_out": [1] * len(events),
        }
    )
    rd = pa.table(
        {
            "device": ["g0"] * len(readings_s),
            "t_utc": pa.array([t0 + int(t * us) for t in readings_s]).cast(TS),
            "cumulative_j": [power_w * t for t in readings_s],
        }
    )
    return ev, rd


def test_an_event_across_a_window_boundary_takes_a_share_from_each_window():
    # 100 W; one event [50 s, 70 s) alone, windows of 60 s: all active energy is its
    ev, rd = _one_device([("a", 50.0, 70.0, -1)], [0.0, 120.0])
    out = run_attribute(ev, rd, engine=get_engine("local"), window_s=60.0, idle_policy="none")
    a = out.filter(pc.equal(out["row_kind"], "event")).to_pylist()[0]
    assert a["active_j"] == pytest.approx(2000.0)
    idle = out.filter(pc.equal(out["row_kind"], "unattributed_idle"))
    assert idle.num_rows == 2
    assert pc.sum(idle["energy_j"]).as_py() == pytest.approx(12000.0 - 2000.0)
    # 30-70: each window's idle pool splits 30 % to the event: 0.3 x (6000-1000) x 2
    out = run_attribute(ev, rd, engine=get_engine("local"), window_s=60.0)
    a = out.filter(pc.equal(out["row_kind"], "event")).to_pylist()[0]
    assert a["idle_j"] == pytest.approx(0.3 * 5000.0 * 2)


def test_batch_spans_are_computed_before_the_cut():
    # two items of one batch: each takes the batch's span [0, 20) and half its energy
    ev, rd = _one_device([("a", 0.0, 5.0, 7), ("b", 10.0, 20.0, 7)], [0.0, 20.0])
    out = run_attribute(
        ev, rd, engine=get_engine("local", parts=2), window_s=900.0, idle_policy="none"
    )
    e = {r["event_id"]: r["energy_j"] for r in out.to_pylist() if r["row_kind"] == "event"}
    assert e == {"a": pytest.approx(1000.0), "b": pytest.approx(1000.0)}


def test_a_device_without_readings_gives_null_energy_not_zero():
    ev, rd = _one_device([("a", 0.0, 5.0, -1)], [0.0, 20.0])
    ev2 = ev.set_column(3, "device", pa.array(["other"]))
    out = run_attribute(ev2, rd, engine=get_engine("local"), window_s=60.0)
    row = out.filter(pc.equal(out["row_kind"], "event")).to_pylist()[0]
    assert row["energy_j"] is None and row["method"] == "no-readings"


def test_bad_inputs_name_the_field():
    ev, rd = _one_device([("a", 0.0, 5.0, -1)], [0.0, 20.0])
    with pytest.raises(InputError, match=r"events\.batch_id"):
        run_attribute(ev.drop_columns(["batch_id"]), rd, engine=get_engine("local"), window_s=60.0)
    with pytest.raises(InputError, match=r"readings\.cumulative_j"):
        run_attribute(
            ev, rd.drop_columns(["cumulative_j"]), engine=get_engine("local"), window_s=60.0
        )
    with pytest.raises(InputError, match="window"):
        parse_window("fortnight")
    with pytest.raises(InputError, match="engine"):
        get_engine("spark")
    assert parse_window("1h") == 3600.0


def test_account_and_rollup_sum_to_the_same_figures():
    f = synthetic_fleet(devices=4, events_per_device=150, hours=26, seed=3)
    eng = get_engine("local", parts=3)
    att = run_attribute(f["events"], f["readings"], engine=eng, window_s=900.0)
    rows, ctx = run_account(att, f["intensity"], engine=eng, profiles=ProfileSet())
    assert rows.num_rows == f["events"].num_rows
    assert set(rows["context_id"].to_pylist()) == set(ctx["context_id"].to_pylist())
    ev = att.filter(pc.equal(att["row_kind"], "event"))
    assert pc.sum(rows["energy_j"]).as_py() == pytest.approx(pc.sum(ev["active_j"]).as_py())
    lo, g, hi = (
        np.asarray(rows[c])
        for c in ("total_location_low_g", "total_location_g", "total_location_high_g")
    )
    assert (lo <= g).all() and (g <= hi).all() and (g > 0).all()
    assert rows["total_marginal_g"].null_count == rows.num_rows  # no marginal signal: null
    roll = run_rollup(rows, engine=eng)
    assert pc.sum(roll["events"]).as_py() == rows.num_rows
    assert pc.sum(roll["total_location_g"]).as_py() == pytest.approx(
        pc.sum(rows["total_location_g"]).as_py(), rel=1e-12
    )
    assert roll.num_rows == 2 * 2 * 2  # days x regions x tenants


def test_an_event_no_location_interval_covers_is_named():
    f = synthetic_fleet(devices=1, events_per_device=5, hours=1, seed=1)
    att = run_attribute(f["events"], f["readings"], engine=get_engine("local"), window_s=900.0)
    late = f["intensity"].filter(
        pc.greater(f["intensity"]["start_utc"], pa.scalar(T0 + timedelta(hours=1), TS))
    )
    with pytest.raises(InputError, match="no location intensity covers event"):
        run_account(att, late, engine=get_engine("local"), profiles=ProfileSet())


def test_power_samples_are_integrated_over_the_whole_series_and_conserved():
    ev, rd = _one_device(
        [("a", 10.0, 70.0, -1), ("b", 100.0, 110.0, -1)], [0.0, 30.0, 60.0, 90.0, 120.0]
    )
    power = pa.array([100.0, 200.0, 100.0, 300.0, 100.0])
    rd = rd.drop_columns(["cumulative_j"]).append_column("power_w", power)
    out = run_attribute(ev, rd, engine=get_engine("local"), window_s=45.0)
    # trapezoid: 30 s x (150 + 150 + 200 + 200) W
    assert pc.sum(out["energy_j"]).as_py() == pytest.approx(21000.0, rel=1e-12)
    assert set(out["method"].to_pylist()) == {"measured-power-polling:windowed-30-70"}


def test_tokens_split_shares_a_slice_by_tokens():
    ev, rd = _one_device([("a", 0.0, 10.0, -1), ("b", 0.0, 10.0, -1)], [0.0, 10.0])
    ev = ev.set_column(5, "tokens_in", pa.array([1, 3])).set_column(
        6, "tokens_out", pa.array([0, 0])
    )
    out = run_attribute(
        ev, rd, engine=get_engine("local"), window_s=60.0, idle_policy="none", split="tokens"
    )
    e = {r["event_id"]: r["active_j"] for r in out.to_pylist() if r["row_kind"] == "event"}
    assert e == {"a": pytest.approx(250.0), "b": pytest.approx(750.0)}


def test_sub_microsecond_times_are_refused_by_name():
    ev, rd = _one_device([("a", 0.0, 5.0, -1)], [0.0, 20.0])
    ns = pa.array([ev["start_utc"][0].value * 1000 + 1]).cast(pa.timestamp("ns", tz="UTC"))
    with pytest.raises(InputError, match=r"events\.start_utc"):
        run_attribute(
            ev.set_column(1, "start_utc", ns), rd, engine=get_engine("local"), window_s=60.0
        )
