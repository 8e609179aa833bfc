"""Workloads: deterministic, the stated size, and they really classify their synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from infercarbon.errors import UnknownWorkloadError
from infercarbon.instrument.workloads import make_workload


@pytest.mark.parametrize(
    ("wid", "lo", "hi"), [("WL-01", 280_000, 320_000), ("WL-02", 100_000, 1_000_000)]
)
@pytest.mark.slow
def test_size_determinism_and_accuracy(wid, lo, hi):
    wl = make_workload(wid, seed=0)
    assert lo <= wl.n_params <= hi
    assert wl.macs > wl.n_params
    x = wl.sample(64, seed=3, anomaly_frac=0.5)
    p1 = wl.predict(x)
    p2 = make_workload(wid, seed=0).predict(x)
    np.testing.assert_array_equal(p1, p2)
    rng = np.random.default_rng(3)
    truth = rng.random(64) < 0.5
    assert ((p1 > 0.5) == truth).mean() >= 0.8


def test_unknown_workload():
    with pytest.raises(UnknownWorkloadError, match="WL-01"):
        make_workload("WL-99")
