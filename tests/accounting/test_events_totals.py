"""account_totals: the totals of account_events, bit for bit, without the per-line ranges."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.accounting.events import BASES, account_events, account_totals
from infercarbon.accounting.profiles import profiles_from_data

PROFILE = {
    "name": "pool",
    "devices": ["gpu*"],
    "idle_policy": "30-70",
    "idle_power_w": {"value": 60, "low": 50, "high": 75, "source": "test"},
    "utilisation_frac": {"value": 0.4, "low": 0.25, "high": 0.6, "source": "test"},
    "embodied_kg": {"value": 1500, "low": 750, "high": 3000, "source": "test"},
    "lifetime_years": {"value": 5, "low": 4, "high": 6, "source": "test"},
    "pue": {"value": 1.2, "low": 1.1, "high": 1.35, "source": "test"},
    "td_loss_frac": {"value": 0.05, "low": 0.04, "high": 0.07, "source": "test"},
    "network_kwh_per_gb": {"value": 0.06, "low": 0.03, "high": 0.12, "source": "test"},
}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.booleans())
def test_the_totals_are_account_events_totals_bit_for_bit(seed, n, measured):
    rng = np.random.default_rng(seed)
    e = rng.uniform(0, 500, n)
    inten = {}
    for b in BASES:
        v = rng.uniform(50, 800, n)
        v[rng.random(n) < 0.2] = np.nan  # a basis without a signal for some events
        inten[b] = (v, v * 0.9, v * 1.1)
    profiles, _ = profiles_from_data({"profile": [PROFILE]}).index(["gpu0", "cpu0"])
    kw = {
        "energy_j": e,
        "energy_low_j": e * 0.95,
        "energy_high_j": e * 1.05,
        "device_time_s": rng.uniform(0, 20, n),
        "payload_bytes": np.where(rng.random(n) < 0.5, rng.uniform(0, 1e6, n), np.nan),
        "intensity": inten,
        "profiles": profiles,
        "profile_index": rng.integers(0, 2, n).astype(np.intp),
        "idle_measured": (
            (rng.uniform(0, 50, n), np.zeros(n), np.full(n, 0.05), np.full(n, 0.05))
            if measured
            else None
        ),
    }
    full = account_events(**kw, price_per_kwh=np.full(n, 0.2))
    only = account_totals(**kw)
    for b in BASES:
        for x, y in zip(full.totals[b], only[b], strict=True):
            np.testing.assert_array_equal(x, y)
