"""Invariants of the pure footprint arithmetic (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from infercarbon.accounting import compose as C

pos = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
frac = st.floats(min_value=1e-3, max_value=1.0, allow_nan=False)
pue = st.floats(min_value=1.0, max_value=3.0, allow_nan=False)


@given(e=pos, k=st.floats(min_value=0.0, max_value=1e3), i=pos, p=pue)
def test_operational_is_linear_in_energy(e: float, k: float, i: float, p: float) -> None:
    a = float(C.operational_g(k * e, i, pue=p))
    b = k * float(C.operational_g(e, i, pue=p))
    assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


@given(e=pos, i1=pos, i2=pos, p1=pue, p2=pue)
def test_operational_is_monotone_in_intensity_and_pue(
    e: float, i1: float, i2: float, p1: float, p2: float
) -> None:
    lo_i, hi_i = sorted((i1, i2))
    lo_p, hi_p = sorted((p1, p2))
    assert C.operational_g(e, lo_i, pue=lo_p) <= C.operational_g(e, hi_i, pue=lo_p)
    assert C.operational_g(e, lo_i, pue=lo_p) <= C.operational_g(e, lo_i, pue=hi_p)


@given(p=pos, d=pos, u=frac, share=frac, policy=st.sampled_from(C.IDLE_POLICIES))
def test_idle_split_is_conserved(
    p: float, d: float, u: float, share: float, policy: C.IdlePolicy
) -> None:
    att, unatt, pool = C.idle_split_j(p, d, u, policy, share_frac=share)
    assert math.isclose(float(att + unatt), float(pool), rel_tol=1e-12, abs_tol=1e-12)
    assert 0.0 <= float(att) <= float(pool) + 1e-12


@given(p=pos, d=pos, u=frac)
def test_idle_policies_order(p: float, d: float, u: float) -> None:
    none = float(C.idle_split_j(p, d, u, "none")[0])
    r3070 = float(C.idle_split_j(p, d, u, "30-70")[0])
    ten = float(C.idle_split_j(p, d, u, "tenancy")[0])
    assert none == 0.0
    assert math.isclose(r3070, 0.3 * ten, rel_tol=1e-12, abs_tol=1e-300)


@given(kg=pos, d=pos, u1=frac, u2=frac)
def test_embodied_falls_as_utilisation_rises(kg: float, d: float, u1: float, u2: float) -> None:
    lo, hi = sorted((u1, u2))
    life = 5 * 365 * 86400.0
    assert C.embodied_g(kg, life, d, hi) <= C.embodied_g(kg, life, d, lo)


def test_full_utilisation_has_no_idle() -> None:
    att, unatt, pool = C.idle_split_j(10.0, 1.0, 1.0, "tenancy")
    assert float(pool) == 0.0 and float(att) == 0.0 and float(unatt) == 0.0


def test_utilisation_from_rate_uses_the_fewest_devices() -> None:
    u = C.utilisation_from_rate(np.array([5.0, 5.0, 1.0]), np.array([0.1, 0.3, 2.5]))
    # 0.5 busy -> 1 device at 50 %; 1.5 busy -> 2 devices at 75 %; 2.5 -> 3 devices at 83 %
    np.testing.assert_allclose(u, [0.5, 0.75, 2.5 / 3])


def test_training_and_network_arithmetic() -> None:
    assert float(C.training_g(502.0, 1e9)) == 502e6 / 1e9
    # 1 GB at 0.06 kWh/GB on a 200 g/kWh grid = 12 g
    assert math.isclose(float(C.network_g(1e9, 0.06, 200.0)), 12.0)
