"""attribute_windows (every window in one sweep) against the core called once per window."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.attribution import attribute
from infercarbon.attribution.windows import attribute_windows
from infercarbon.errors import InputError

US = 1_000_000


def _per_window(t_us, c, s, e, window_us, weight, policy):
    """The reference: each window through the core (:func:`attribute`), as the windowed
    job called it before the sweep (readings cut at the window's ends, interpolated)."""
    n = s.size
    t0, t1 = int(t_us[0]), int(t_us[-1])
    cs, ce = np.clip(s, t0, t1), np.clip(e, t0, t1)
    kw0, kw1 = t0 // window_us, max(t0 // window_us, (t1 - 1) // window_us)
    active, idle, dev_t = np.zeros(n), np.zeros(n), np.zeros(n)
    lo_all, hi_all, un = [], [], []
    for k in range(kw0, kw1 + 1):
        lo, hi = max(k * window_us, t0), min((k + 1) * window_us, t1)
        inside = (t_us > lo) & (t_us < hi)
        tt = np.concatenate(([lo], t_us[inside], [hi])) - lo
        cc = np.concatenate(([np.interp(lo, t_us, c)], c[inside], [np.interp(hi, t_us, c)]))
        k0 = np.clip(cs // window_us, kw0, kw1)
        k1 = np.clip(np.maximum((ce - 1) // window_us, k0), kw0, kw1)
        sel = np.flatnonzero((k0 <= k) & (k <= k1))
        res = attribute(
            tt / US,
            cumulative_j=cc - cc[0],
            start_s=(np.clip(cs[sel], lo, hi) - lo) / US,
            end_s=(np.clip(ce[sel], lo, hi) - lo) / US,
            weight=None if weight is None else weight[sel],
            idle_policy=policy,
        )
        active[sel] += res.active_j
        idle[sel] += res.idle_j
        dev_t[sel] += res.device_time_s
        lo_all.append(lo)
        hi_all.append(hi)
        un.append(res.unattributed_idle_j)
    return active, idle, dev_t, np.array(lo_all), np.array(hi_all), np.array(un)


@st.composite
def _device(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_read = draw(st.integers(2, 40))
    t_us = np.cumsum(rng.integers(1, 120 * US, n_read)) + draw(st.integers(0, 10**12))
    c = np.cumsum(rng.uniform(0, 5000, n_read))
    if draw(st.booleans()):
        c[rng.random(n_read) < 0.3] = 0.0  # flat stretches: idle slices
        c = np.maximum.accumulate(np.cumsum(c))
    n = draw(st.integers(0, 60))
    span = int(t_us[-1] - t_us[0])
    s = int(t_us[0]) - 30 * US + rng.integers(0, span + 60 * US, n)
    e = s + rng.integers(0, 400 * US, n) * (rng.random(n) < 0.9)  # some zero-length
    window_us = draw(st.sampled_from([60 * US, 300 * US, 900 * US, 7 * US + 3]))
    weight = rng.integers(1, 3000, n) if draw(st.booleans()) else None
    policy = draw(st.sampled_from(["30-70", "none"]))
    return t_us, c, s, e, window_us, weight, policy


@settings(max_examples=60, deadline=None)
@given(_device())
def test_one_sweep_gives_the_core_per_window_within_1e_9_j(dev):
    t_us, c, s, e, window_us, weight, policy = dev
    got = attribute_windows(t_us, c, s, e, window_us=window_us, weight=weight, idle_policy=policy)
    active, idle, dev_t, lo, hi, un = _per_window(t_us, c, s, e, window_us, weight, policy)
    np.testing.assert_allclose(got.active_j, active, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.idle_j, idle, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.device_time_s, dev_t, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(got.window_start_us, lo)
    np.testing.assert_array_equal(got.window_end_us, hi)
    np.testing.assert_allclose(got.unattributed_idle_j, un, rtol=1e-12, atol=1e-9)
    # conservation over the device: what the readings measured, nothing more or less
    total = float(c[-1] - c[0])
    kept = got.active_j.sum() + got.idle_j.sum() + got.unattributed_idle_j.sum()
    assert kept == pytest.approx(total, rel=1e-12, abs=1e-9)
    assert got.clipped.tolist() == ((s < t_us[0]) | (e > t_us[-1])).tolist()


def test_an_interval_across_windows_takes_each_window_s_share():
    # 10 W for 20 s, windows of 10 s; one interval over both windows' middles
    t_us = np.array([0, 20 * US])
    c = np.array([0.0, 200.0])
    got = attribute_windows(
        t_us, c, np.array([5 * US]), np.array([15 * US]), window_us=10 * US, idle_policy="none"
    )
    assert got.active_j.tolist() == pytest.approx([100.0])
    assert got.device_time_s.tolist() == pytest.approx([10.0])
    assert got.unattributed_idle_j.tolist() == pytest.approx([50.0, 50.0])
    assert got.window_start_us.tolist() == [0, 10 * US]


def test_bad_inputs_name_the_field():
    t_us, c = np.array([0, 10]), np.array([0.0, 1.0])
    one = np.array([0])
    with pytest.raises(InputError, match="idle_policy"):
        attribute_windows(t_us, c, one, one, window_us=5, idle_policy="tenancy")
    with pytest.raises(InputError, match="t_us"):
        attribute_windows(np.array([0, 0]), c, one, one, window_us=5)
    with pytest.raises(InputError, match="cumulative_j"):
        attribute_windows(t_us, np.array([1.0, 0.0]), one, one, window_us=5)
    with pytest.raises(InputError, match="end_us"):
        attribute_windows(t_us, c, np.array([5]), np.array([4]), window_us=5)
    with pytest.raises(InputError, match="weight"):
        attribute_windows(t_us, c, one, one, window_us=5, weight=np.array([0]))
