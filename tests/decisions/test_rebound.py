"""The LMDI-I rebound decomposition: exact, signs, rebound indicator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.decisions.rebound import decompose, log_mean, rebound_rows
from infercarbon.errors import InputError

pos = st.floats(1e-3, 1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(pos, pos), min_size=2, max_size=8))
def test_effects_add_up_to_the_change_exactly(pairs: list[tuple[float, float]]) -> None:
    v = np.array([p[0] for p in pairs])
    e = np.array([p[1] for p in pairs])
    d = decompose(v, e)
    total = d["volume_g"][1:] + d["intensity_g"][1:]
    np.testing.assert_allclose(total, np.diff(e), rtol=1e-7, atol=1e-6 * e.max())
    assert np.isnan(d["volume_g"][0])


def test_pure_volume_and_pure_intensity_changes() -> None:
    # volume doubles at the same g per inference: all volume
    d = decompose(np.array([10.0, 20.0]), np.array([100.0, 200.0]))
    assert d["volume_g"][1] == pytest.approx(100.0) and d["intensity_g"][1] == pytest.approx(0)
    # same volume, cleaner: all intensity
    d = decompose(np.array([10.0, 10.0]), np.array([100.0, 60.0]))
    assert d["intensity_g"][1] == pytest.approx(-40.0) and d["volume_g"][1] == pytest.approx(0)


def test_rebound_backfire_is_flagged() -> None:
    # 10x volume, intensity halves: emissions x5 -> rebound > 1 (backfire)
    rows = rebound_rows(
        ["2026-01", "2026-02"], [100.0, 1000.0], [50.0, 250.0], [40.0, 200.0], [60.0, 300.0]
    )
    r = rows[1]
    assert r["rebound_frac"] > 1
    assert "rebound" in r["note"]
    assert r["volume_low_g"] <= r["volume_g"] <= r["volume_high_g"]
    assert r["change_g"] == pytest.approx(200.0)
    assert rows[0]["note"] == "first month: no predecessor"


def test_zero_months_are_not_decomposed() -> None:
    rows = rebound_rows(["a", "b"], [1.0, 2.0], [0.0, 5.0], [0.0, 4.0], [0.0, 6.0])
    assert rows[1]["volume_g"] is None and "not decomposed" in rows[1]["note"]
    with pytest.raises(InputError):
        decompose(np.array([1.0]), np.array([1.0, 2.0]))
    assert log_mean(np.array([2.0]), np.array([2.0]))[0] == 2.0
