"""Attribution engine: known-answer schedules, conservation properties, brute-force reference."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.attribution import attribute, cumulative_from_power, split_idle
from infercarbon.errors import InputError

T10 = np.array([0.0, 10.0])
C10W = np.array([0.0, 100.0])  # 10 W for 10 s


def _conserved(res, rel=1e-9):
    assert abs(res.conservation_residual_j) <= rel * max(abs(res.total_j), 1e-300) + 1e-15


# ------------------------------------------------------------------ known answers
def test_overlap_split_by_time_none_policy():
    res = attribute(
        T10, cumulative_j=C10W, start_s=[0.0, 2.0], end_s=[4.0, 4.0], idle_policy="none"
    )
    assert res.active_j.tolist() == pytest.approx([30.0, 10.0])
    assert res.idle_j.tolist() == [0.0, 0.0]
    assert res.unattributed_idle_j == pytest.approx(60.0)
    assert res.device_time_s.tolist() == pytest.approx([3.0, 1.0])
    assert res.wall_s.tolist() == pytest.approx([4.0, 2.0])
    assert res.busy_s == pytest.approx(4.0)
    _conserved(res)


def test_30_70_idle_follows_active_energy():
    res = attribute(
        T10, cumulative_j=C10W, start_s=[0.0, 2.0], end_s=[4.0, 4.0], idle_policy="30-70"
    )
    # idle pool 60 J: 18 J follows the workload 3:1, 42 J unattributed
    assert res.idle_j.tolist() == pytest.approx([13.5, 4.5])
    assert res.unattributed_idle_j == pytest.approx(42.0)
    assert res.idle_pool_j == pytest.approx(60.0)
    _conserved(res)


def test_weights_split_shared_slice():
    res = attribute(
        T10,
        cumulative_j=C10W,
        start_s=[0.0, 0.0],
        end_s=[4.0, 4.0],
        weight=[3, 1],
        idle_policy="none",
    )
    assert res.active_j.tolist() == pytest.approx([30.0, 10.0])
    assert res.device_time_s.tolist() == pytest.approx([3.0, 1.0])
    res_f = attribute(
        T10,
        cumulative_j=C10W,
        start_s=[0.0, 0.0],
        end_s=[4.0, 4.0],
        weight=[0.75, 0.25],
        idle_policy="none",
    )
    assert res_f.active_j.tolist() == pytest.approx([30.0, 10.0], rel=1e-12)


def test_batch_energy_split_over_items():
    # items recorded with different ends; the batch spans [1, 3): 20 J over two items
    res = attribute(
        T10,
        cumulative_j=C10W,
        start_s=[1.0, 1.0, 6.0],
        end_s=[2.0, 3.0, 7.0],
        batch_id=[0, 0, -1],
        idle_policy="none",
    )
    assert res.active_j.tolist() == pytest.approx([10.0, 10.0, 10.0])
    assert res.unattributed_idle_j == pytest.approx(70.0)


def test_variable_power_interpolates_counter():
    # 10 W during [0, 1), 30 W during [1, 2)
    res = attribute(
        [0.0, 1.0, 2.0],
        cumulative_j=[0.0, 10.0, 40.0],
        start_s=[0.5],
        end_s=[1.5],
        idle_policy="none",
    )
    assert res.active_j[0] == pytest.approx(20.0)
    assert res.unattributed_idle_j == pytest.approx(20.0)


def test_power_samples_and_trapezoid():
    assert cumulative_from_power([0.0, 2.0], [5.0, 5.0]).tolist() == [0.0, 10.0]
    res = attribute([0.0, 10.0], power_w=[5.0, 5.0], start_s=[0.0], end_s=[10.0])
    assert res.active_j[0] == pytest.approx(50.0)
    assert res.idle_pool_j == pytest.approx(0.0, abs=1e-12)


def test_baseline_idle_under_active_slices():
    res = attribute(
        T10, cumulative_j=C10W, start_s=[0.0], end_s=[5.0], idle_policy="none", baseline_idle_w=4.0
    )
    assert res.active_j[0] == pytest.approx(30.0)  # (10 - 4) W x 5 s
    assert res.idle_pool_j == pytest.approx(70.0)  # 4 W x 5 s + 10 W x 5 s
    _conserved(res)


def test_tenancy_shares_and_remainder():
    res = attribute(
        T10,
        cumulative_j=C10W,
        start_s=[0.0, 2.0, 4.0],
        end_s=[2.0, 4.0, 6.0],
        tenant=[0, 0, 1],
        tenancy_shares=[0.5, 0.25],
        idle_policy="tenancy",
    )
    # idle pool 40 J (6..10 s): tenant 0 carries 20 J split 1:1, tenant 1 10 J, 10 J unattributed
    assert res.idle_j.tolist() == pytest.approx([10.0, 10.0, 10.0])
    assert res.unattributed_idle_j == pytest.approx(10.0)
    _conserved(res)


def test_tenant_without_inferences_keeps_share_unattributed():
    res = attribute(
        T10,
        cumulative_j=C10W,
        start_s=[0.0],
        end_s=[5.0],
        tenant=[0],
        tenancy_shares=[0.5, 0.5],
        idle_policy="tenancy",
    )
    assert res.idle_j.tolist() == pytest.approx([25.0])
    assert res.unattributed_idle_j == pytest.approx(25.0)
    assert any("tenant code(s) 1" in n for n in res.notes)


def test_clipping_to_window_is_flagged():
    res = attribute(
        T10, cumulative_j=C10W, start_s=[-5.0, 8.0], end_s=[2.0, 12.0], idle_policy="none"
    )
    assert res.clipped.tolist() == [True, True]
    assert res.active_j.tolist() == pytest.approx([20.0, 20.0])
    assert res.notes and "clipped" in res.notes[0]


def test_no_inferences_all_idle_unattributed():
    res = attribute(T10, cumulative_j=C10W, start_s=[], end_s=[])
    assert res.unattributed_idle_j == pytest.approx(100.0)
    assert res.active_j.size == 0


def test_zero_length_and_identical_intervals():
    res = attribute(
        T10,
        cumulative_j=C10W,
        start_s=[1.0, 1.0, 1.0, 3.0],
        end_s=[1.0, 3.0, 3.0, 3.0],
        idle_policy="none",
    )
    assert res.active_j.tolist() == pytest.approx([0.0, 10.0, 10.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cumulative_j": [0.0, -1.0]}, "cumulative_j"),
        ({"cumulative_j": [0.0, 1.0], "end_s": [0.0]}, "end_s"),
        ({"cumulative_j": [0.0, 1.0], "idle_policy": "half"}, "idle_policy"),
        ({"cumulative_j": [0.0, 1.0], "weight": [0.0]}, "weight"),
        ({"cumulative_j": [0.0, 1.0], "idle_policy": "tenancy"}, "tenancy_shares"),
        ({"cumulative_j": [0.0, 1.0], "power_w": [1.0, 1.0]}, "cumulative_j"),
        ({"power_w": [1.0, -1.0]}, "power_w"),
        ({"cumulative_j": [0.0, float("nan")]}, "cumulative_j"),
        ({"cumulative_j": [0.0, 1.0], "batch_id": [0.5]}, "batch_id"),
        ({"cumulative_j": [0.0, 1.0], "baseline_idle_w": -1.0}, "baseline_idle_w"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    args = {"start_s": [0.5], "end_s": [0.7], **kwargs}
    with pytest.raises(InputError) as info:
        attribute([0.0, 1.0], **args)
    assert info.value.field == field


def test_times_must_increase():
    with pytest.raises(InputError, match="t_s"):
        attribute([1.0, 1.0], cumulative_j=[0.0, 1.0], start_s=[], end_s=[])


def test_split_idle_rejects_unknown_policy():
    with pytest.raises(InputError, match="idle_policy"):
        split_idle(1.0, np.ones(1), np.ones(1), "most")  # type: ignore[arg-type]


# ------------------------------------------------------------------ properties
def _reference(t, c, start, end, w, batch):
    """Brute force: one Python loop per elementary slice."""
    start, end = np.clip(start, t[0], t[-1]), np.clip(end, t[0], t[-1])
    start, end = start.copy(), end.copy()
    for bid in set(batch[batch >= 0].tolist()):
        m = batch == bid
        start[m], end[m] = start[m].min(), end[m].max()
    bounds = np.unique(np.concatenate(([t[0], t[-1]], start, end)))
    active = np.zeros(start.size)
    idle = 0.0
    for lo, hi in itertools.pairwise(bounds):
        e = float(np.interp(hi, t, c) - np.interp(lo, t, c))
        on = (start <= lo) & (end >= hi) & (end > start)
        if on.any():
            active[on] += e * w[on] / w[on].sum()
        else:
            idle += e
    return active, idle


@st.composite
def schedules(draw):
    k = draw(st.integers(2, 12))
    dts = draw(st.lists(st.floats(0.01, 5.0), min_size=k - 1, max_size=k - 1))
    t = np.concatenate(([0.0], np.cumsum(dts)))
    inc = draw(st.lists(st.floats(0.0, 500.0), min_size=k - 1, max_size=k - 1))
    c = np.concatenate(([0.0], np.cumsum(inc))) + draw(st.floats(0.0, 1e6))
    n = draw(st.integers(0, 40))
    span = float(t[-1])
    # boundaries on a coarse grid so that ties and shared boundaries happen often
    grid = st.integers(-2, 42).map(lambda i: i * span / 40)
    a = np.array(draw(st.lists(grid, min_size=n, max_size=n)), dtype=float)
    d = np.array(draw(st.lists(grid, min_size=n, max_size=n)), dtype=float)
    start, end = np.minimum(a, d), np.maximum(a, d)
    use_w = draw(st.booleans())
    w = (
        np.array(draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n)), dtype=np.int64)
        if use_w
        else None
    )
    batch = np.array(draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)), dtype=np.int64)
    tenant = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    return t, c, start, end, w, batch, tenant


@settings(max_examples=200, deadline=None)
@given(
    schedules(),
    st.sampled_from(["30-70", "tenancy", "none"]),
    st.one_of(st.none(), st.floats(0.0, 200.0)),
)
def test_conservation_and_nonnegativity(sched, policy, baseline):
    t, c, start, end, w, batch, tenant = sched
    res = attribute(
        t,
        cumulative_j=c,
        start_s=start,
        end_s=end,
        weight=w,
        batch_id=batch,
        tenant=tenant,
        tenancy_shares=[0.5, 0.3, 0.2],
        idle_policy=policy,
        baseline_idle_w=baseline,
    )
    _conserved(res)
    assert (res.active_j >= 0).all()
    assert (res.idle_j >= 0).all()
    assert res.unattributed_idle_j >= -1e-9 * max(res.total_j, 1.0)
    assert res.total_j == pytest.approx(c[-1] - c[0])
    assert res.device_time_s.sum() == pytest.approx(res.busy_s, rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(schedules())
def test_matches_brute_force_reference(sched):
    t, c, start, end, w, batch, _ = sched
    wf = np.ones(start.size) if w is None else w.astype(float)
    res = attribute(
        t, cumulative_j=c, start_s=start, end_s=end, weight=w, batch_id=batch, idle_policy="none"
    )
    ref_active, ref_idle = _reference(t, c, start, end, wf, batch)
    scale = max(float(c[-1] - c[0]), 1.0)
    np.testing.assert_allclose(res.active_j, ref_active, rtol=1e-9, atol=1e-9 * scale)
    assert res.unattributed_idle_j == pytest.approx(ref_idle, rel=1e-9, abs=1e-9 * scale)


@settings(max_examples=50, deadline=None)
@given(schedules())
def test_float_weights_conserve(sched):
    t, c, start, end, _, batch, _ = sched
    rng = np.random.default_rng(start.size)
    w = rng.lognormal(0.0, 3.0, start.size)  # weights spanning many orders of magnitude
    res = attribute(t, cumulative_j=c, start_s=start, end_s=end, weight=w, batch_id=batch)
    _conserved(res)


def test_large_random_schedule_conserves():
    rng = np.random.default_rng(7)
    n = 200_000
    start = np.cumsum(rng.exponential(1e-3, n))
    end = start + rng.exponential(3e-3, n)
    t = np.linspace(0.0, float(end.max()) + 1.0, 2001)
    c = np.concatenate(([0.0], np.cumsum(rng.uniform(0.5, 5.0, t.size - 1))))
    for policy in ("30-70", "none"):
        res = attribute(t, cumulative_j=c, start_s=start, end_s=end, idle_policy=policy)
        _conserved(res)
    shares = [0.6, 0.4]
    res = attribute(
        t,
        cumulative_j=c,
        start_s=start,
        end_s=end,
        idle_policy="tenancy",
        tenant=rng.integers(0, 2, n),
        tenancy_shares=shares,
        weight=rng.integers(1, 2000, n),
    )
    _conserved(res)
    assert res.unattributed_idle_j == pytest.approx(0.0, abs=1e-9 * res.total_j)


# ------------------------------------------------------------------ coarse counters
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=0, max_size=40))
def test_drop_stale_readings_keeps_window_and_total(steps):
    from infercarbon.attribution import drop_stale_readings

    c = np.cumsum(np.array([0, *steps], dtype=float))
    t = np.arange(c.size) * 0.05
    t2, c2 = drop_stale_readings(t, c)
    assert t2[0] == t[0] and t2[-1] == t[-1]
    assert c2[0] == c[0] and c2[-1] == c[-1]  # the window's total is unchanged
    assert set(t2.tolist()) <= set(t.tolist())
    assert not (np.diff(c2[:-1]) == 0).any()  # no repeat left, except a stale last reading
    if c.size >= 2:
        assert (np.diff(t2) > 0).all()


def test_stepwise_counter_biases_baseline_split_until_stale_readings_are_dropped():
    """NVML-like counter (refreshed every 100 ms, read every 50 ms) at a steady 127 W with a
    119 W idle baseline and back-to-back 7 ms inferences: the true active energy is 8 W x busy
    time.  Read at face value, the steps put energy in every other slice and the per-slice
    baseline clip turns them into ~8x too much active energy."""
    from infercarbon.attribution import drop_stale_readings

    t = np.arange(0.0, 5.0, 0.05) + 0.003
    c = 127.0 * np.floor(t / 0.1) * 0.1
    start = np.arange(0.01, 4.9, 0.0072)
    kw: dict[str, Any] = dict(
        start_s=start, end_s=start + 0.007, baseline_idle_w=119.0, idle_policy="none"
    )
    raw = attribute(t, cumulative_j=c, **kw)
    t2, c2 = drop_stale_readings(t, c)
    fixed = attribute(t2, cumulative_j=c2, **kw)
    true_active = 8.0 * fixed.busy_s
    assert raw.total_j == pytest.approx(fixed.total_j)
    assert raw.active_j.sum() > 5 * true_active
    assert fixed.active_j.sum() == pytest.approx(true_active, rel=0.05)
    _conserved(fixed)
