"""Idle-energy policies: who carries the energy a device draws while nothing runs on it.

``idle pool`` is the measured energy of a window that is not active-inference energy (idle
slices, plus a baseline idle power under active slices when one is given).  A policy splits it
into per-inference attributed idle and an unattributed remainder that the report shows as
facility overhead; nothing is dropped:

- ``tenancy``: each tenant carries its given share of the pool, spread over its inferences in
  proportion to their active energy; shares that sum below 1 leave the rest unattributed.
- ``30-70``: 30 % of the pool follows the workload (spread over all inferences in proportion
  to active energy), 70 % is unattributed facility overhead.
- ``none``: all idle energy is unattributed.

When no active energy was measured at all, the split follows device time instead (noted).

>>> import numpy as np
>>> idle, notes = split_idle(10.0, np.array([1.0, 3.0]), np.array([1.0, 1.0]), "30-70")
>>> idle.tolist()
[0.75, 2.25]
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import numpy as np

from infercarbon.arrays import FloatArray, IntArray
from infercarbon.errors import InputError

__all__ = ["FOLLOW_FRAC_30_70", "IDLE_POLICIES", "IdlePolicy", "as_idle_policy", "split_idle"]


IdlePolicy = Literal["tenancy", "30-70", "none"]
IDLE_POLICIES: tuple[IdlePolicy, ...] = get_args(IdlePolicy)
#: The 30/70 rule: 30 % of idle energy follows the workload, 70 % is facility overhead.
FOLLOW_FRAC_30_70: Final = 0.3


def as_idle_policy(value: object, *, field: str = "idle_policy") -> IdlePolicy:
    """``value`` as an :data:`IdlePolicy`, or an :class:`~infercarbon.errors.InputError`
    naming ``field`` and the policies there are (for text read from files, JSON or options).

    >>> as_idle_policy("30-70")
    '30-70'
    """
    if value not in IDLE_POLICIES:
        raise InputError(f"must be one of {', '.join(IDLE_POLICIES)}, got {value!r}", field=field)
    return value


def _share_by_group(
    pool_j: float, key: FloatArray, group: IntArray, shares: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``shares[g] * pool`` spread over group g's inferences in proportion to ``key``."""
    sums = np.bincount(group, weights=key, minlength=shares.size).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(sums > 0, shares * pool_j / np.where(sums > 0, sums, 1.0), 0.0)
    return key * per_unit[group], sums


def split_idle(
    idle_pool_j: float,
    active_j: FloatArray,
    device_time_s: FloatArray,
    policy: IdlePolicy,
    *,
    tenant: IntArray | None = None,
    shares: FloatArray | None = None,
) -> tuple[FloatArray, list[str]]:
    """Per-inference attributed idle energy [J] and notes; the rest of the pool is unattributed.

    Parameters
    ----------
    idle_pool_j : float [J]
    active_j : array [J]
        Active energy per inference (the key idle follows).
    device_time_s : array [s]
        Used as the key when no active energy was measured.
    policy : {"tenancy", "30-70", "none"}
    tenant : int array, optional
        Tenant code per inference (``tenancy``; default all code 0).
    shares : array [frac], optional
        Share of the pool per tenant code (``tenancy``).
    """
    as_idle_policy(policy)
    n = active_j.size
    notes: list[str] = []
    if policy == "none" or idle_pool_j <= 0 or n == 0:
        return np.zeros(n), notes
    a_sum = float(active_j.sum())
    key = active_j
    if a_sum <= 0:
        key = device_time_s
        notes.append("no active energy measured: idle follows device time instead")
        if float(key.sum()) <= 0:
            notes[-1] = "no inference was active in the window: all idle energy is unattributed"
            return np.zeros(n), notes
    group = np.zeros(n, dtype=np.int64) if tenant is None else tenant
    if policy == "30-70":
        return key * (FOLLOW_FRAC_30_70 * idle_pool_j / float(key.sum())), notes
    if shares is None:
        raise InputError("the tenancy idle policy needs a share per tenant", field="tenancy_shares")
    idle, sums = _share_by_group(idle_pool_j, key, group, shares)
    orphan = (shares > 0) & (sums[: shares.size] <= 0)
    if orphan.any():
        notes.append(
            "tenant code(s) "
            + ", ".join(map(str, np.flatnonzero(orphan).tolist()))
            + " hold an idle share but ran nothing measurable in the window: "
            "that share stays unattributed"
        )
    return idle, notes
