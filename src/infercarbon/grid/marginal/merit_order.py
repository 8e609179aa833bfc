"""Dispatch-aware marginal emissions: a merit-order supply stack (seed 003's four steps).

1. **Supply stack.**  Each dispatchable unit has an available capacity [MW], an emission
   rate [g/kWh] (from its heat rate or efficiency and the fuel's CO2 factor, see
   :mod:`infercarbon.grid.marginal.inventory`) and a short-run marginal cost

       cost [$/MWh] = fuel price [$/MMBtu] x heat rate [MMBtu/MWh] + VOM [$/MWh]
                      + carbon price [$/t] x rate [t/MWh]

   The stack is sorted once by cost (ties: lower rate first, then input order).
2. **Residual load.**  Must-run and variable renewables (nuclear, wind, solar, hydro,
   biomass ...) are taken from the observed fuel mix and subtracted from load; the rest is
   met by the stack.
3. **Marginal unit.**  For every interval the unit whose cumulative capacity first reaches
   the residual load is marginal: one ``np.searchsorted`` over the cumulative capacity for all
   intervals at once.  Ramp limits: if the residual load changed by more than the marginal
   unit can ramp in one interval (``ramp_frac_per_min x capacity x minutes``), the excess is
   met by the next faster unit up the stack and the MEF is the blend of the two
   (``share_frac`` of the first).
4. **Emission increment.**  MEF [g/kWh] is the (blended) rate of the marginal unit(s).  The
   range ``low..high`` spans the lowest and highest rates (each at its heat-rate bound) of the
   units within ``band_frac`` x residual load either side of the margin — where the margin
   would sit if the residual load or the available capacity were off by that much.  It is a
   plausibility range, not a statistical confidence interval.

Residual load at or below zero: renewables are being curtailed, the MEF is 0 (flag
``curtailed``).  Residual load above the stack: the last unit is marginal (flag ``scarcity``).

>>> import numpy as np
>>> s = build_stack(unit_id=["coal", "gas"], fuel=["coal", "gas"], technology=["ST", "GT"],
...     capacity_mw=[100.0, 50.0], rate_g_per_kwh=[1000.0, 600.0],
...     heat_rate_mmbtu_per_mwh=[10.0, 10.0], fuel_price_per_mmbtu=[2.0, 3.0],
...     vom_per_mwh=[4.0, 5.0], ramp_frac_per_min=[1.0, 1.0])
>>> r = dispatch(s, np.array([80.0, 120.0, -5.0]), interval_s=3600)
>>> r.mef_g_per_kwh.tolist(), list(r.unit_id), r.curtailed.tolist()
([1000.0, 600.0, 0.0], ['coal', 'gas', 'curtailed'], [False, False, True])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, IntArray
from infercarbon.errors import InputError

__all__ = [
    "MeritOrderResult",
    "SupplyStack",
    "build_stack",
    "dispatch",
    "dispatch_groups",
]

METHOD_VERSION = "merit-order-1"
ObjArray = npt.NDArray[np.object_]


def _sparse_table(v: FloatArray, op: np.ufunc) -> list[FloatArray]:
    """Levels of a range-min/max table: level k holds op over windows of 2**k."""
    levels = [v]
    k = 1
    while 2 * k <= len(v):
        prev = levels[-1]
        levels.append(op(prev[:-k], prev[k:]))
        k *= 2
    return levels


def _range_query(levels: list[FloatArray], lo: IntArray, hi: IntArray, op: np.ufunc) -> FloatArray:
    """op over v[lo..hi] (inclusive) for arrays of ranges; O(1) per range, vectorised."""
    length = hi - lo + 1
    k = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
    out = np.empty(len(lo))
    for j in np.unique(k):  # at most log2(n_units) levels
        m = k == j
        lev = levels[int(j)]
        out[m] = op(lev[lo[m]], lev[hi[m] - (1 << int(j)) + 1])
    return out


@dataclass(frozen=True, eq=False)
class SupplyStack:
    """A supply stack sorted by marginal cost.  Build with :func:`build_stack`."""

    unit_id: ObjArray
    fuel: ObjArray
    technology: ObjArray
    capacity_mw: FloatArray
    rate_g_per_kwh: FloatArray
    rate_low_g_per_kwh: FloatArray
    rate_high_g_per_kwh: FloatArray
    cost_per_mwh: FloatArray
    ramp_frac_per_min: FloatArray
    #: cumulative capacity at the top of each unit [MW]
    cum_mw: FloatArray
    #: cumulative emission rate with every unit up to i at full output [g/h]
    cum_g_per_h: FloatArray
    #: index of the first unit above i that can ramp fully within ``fast_minutes``
    next_fast: IntArray
    _min_low: list[FloatArray]
    _max_high: list[FloatArray]

    def __len__(self) -> int:
        return len(self.capacity_mw)

    @property
    def total_mw(self) -> float:
        return float(self.cum_mw[-1])


def build_stack(
    *,
    unit_id: Sequence[str],
    fuel: Sequence[str],
    technology: Sequence[str],
    capacity_mw: npt.ArrayLike,
    rate_g_per_kwh: npt.ArrayLike,
    heat_rate_mmbtu_per_mwh: npt.ArrayLike,
    fuel_price_per_mmbtu: npt.ArrayLike,
    vom_per_mwh: npt.ArrayLike,
    ramp_frac_per_min: npt.ArrayLike,
    carbon_price_per_t: float = 0.0,
    rate_low_g_per_kwh: npt.ArrayLike | None = None,
    rate_high_g_per_kwh: npt.ArrayLike | None = None,
    fast_minutes: float = 15.0,
) -> SupplyStack:
    """Sort units by marginal cost once and precompute everything the search needs.

    Units with zero capacity are dropped.  ``fast_minutes``: a unit is *fast* if it can
    ramp over its full capacity in that many minutes (used for ramp-limited blending).
    """
    cap = np.asarray(capacity_mw, dtype=np.float64)
    n = len(cap)
    arrays = {
        "rate_g_per_kwh": np.asarray(rate_g_per_kwh, dtype=np.float64),
        "heat_rate_mmbtu_per_mwh": np.asarray(heat_rate_mmbtu_per_mwh, dtype=np.float64),
        "fuel_price_per_mmbtu": np.broadcast_to(
            np.asarray(fuel_price_per_mmbtu, dtype=np.float64), (n,)
        ),
        "vom_per_mwh": np.broadcast_to(np.asarray(vom_per_mwh, dtype=np.float64), (n,)),
        "ramp_frac_per_min": np.broadcast_to(np.asarray(ramp_frac_per_min, dtype=np.float64), (n,)),
    }
    if n == 0:
        raise InputError("the supply stack has no units", field="capacity_mw")
    for name, arr in arrays.items():
        if arr.shape != (n,):
            raise InputError(f"has {arr.shape} values for {n} units", field=name)
        if not np.isfinite(arr).all() or (arr < 0).any():
            bad = int(np.argmax(~np.isfinite(arr) | (arr < 0)))
            raise InputError(
                f"unit {unit_id[bad]!r} has {arr[bad]!r} (finite, >= 0 needed)", field=name
            )
    if not np.isfinite(cap).all() or (cap < 0).any():
        raise InputError("capacities must be finite and >= 0", field="capacity_mw")
    if not (len(unit_id) == len(fuel) == len(technology) == n):
        raise InputError("unit_id, fuel, technology and capacity differ in length", field="unit_id")
    rate = arrays["rate_g_per_kwh"]
    lo = rate if rate_low_g_per_kwh is None else np.asarray(rate_low_g_per_kwh, np.float64)
    hi = rate if rate_high_g_per_kwh is None else np.asarray(rate_high_g_per_kwh, np.float64)
    if lo.shape != (n,) or hi.shape != (n,) or (lo > rate).any() or (hi < rate).any():
        raise InputError("rate ranges must bracket each unit's rate", field="rate_low/high")
    cost = (
        arrays["fuel_price_per_mmbtu"] * arrays["heat_rate_mmbtu_per_mwh"]
        + arrays["vom_per_mwh"]
        + carbon_price_per_t * rate / 1000.0
    )
    keep = cap > 0
    if not keep.any():
        raise InputError("every unit has zero capacity", field="capacity_mw")
    # sort once: cost, then rate, then input order (stable lexsort: last key is primary)
    order = np.lexsort((np.arange(n), rate, cost))
    order = order[keep[order]]
    cap_s = cap[order]
    rate_s, lo_s, hi_s = rate[order], lo[order], hi[order]
    ramp_s = arrays["ramp_frac_per_min"][order]
    m = len(order)
    fast = ramp_s * fast_minutes >= 1.0
    # next fast unit strictly above i: reverse running minimum of fast indices
    idx = np.where(fast, np.arange(m), m)
    nxt = np.minimum.accumulate(idx[::-1])[::-1]
    next_fast = np.empty(m, dtype=np.int64)
    next_fast[:-1] = nxt[1:]
    next_fast[-1] = m
    next_fast = np.where(next_fast >= m, np.arange(m), next_fast)  # none above: itself
    return SupplyStack(
        unit_id=np.asarray(unit_id, dtype=object)[order],
        fuel=np.asarray(fuel, dtype=object)[order],
        technology=np.asarray(technology, dtype=object)[order],
        capacity_mw=cap_s,
        rate_g_per_kwh=rate_s,
        rate_low_g_per_kwh=lo_s,
        rate_high_g_per_kwh=hi_s,
        cost_per_mwh=cost[order],
        ramp_frac_per_min=ramp_s,
        cum_mw=np.cumsum(cap_s),
        cum_g_per_h=np.cumsum(cap_s * 1000.0 * rate_s),
        next_fast=next_fast,
        _min_low=_sparse_table(lo_s, np.minimum),
        _max_high=_sparse_table(hi_s, np.maximum),
    )


@dataclass(frozen=True)
class MeritOrderResult:
    """Per-interval marginal unit and emissions implied by the dispatch."""

    mef_g_per_kwh: FloatArray
    low_g_per_kwh: FloatArray
    high_g_per_kwh: FloatArray
    #: index into the sorted stack (-1 when curtailed)
    marginal_index: IntArray
    unit_id: ObjArray
    fuel: ObjArray
    cost_per_mwh: FloatArray
    #: share of the increment met by the marginal unit (1 unless ramp-limited)
    share_frac: FloatArray
    #: unit that meets the rest when ramp-limited (same as unit_id otherwise)
    ramp_unit_id: ObjArray
    #: emissions of the stack's dispatch in each interval [g]
    emissions_g: FloatArray
    #: energy from the stack in each interval [kWh]
    stack_kwh: FloatArray
    curtailed: npt.NDArray[np.bool_]
    scarcity: npt.NDArray[np.bool_]
    ramp_limited: npt.NDArray[np.bool_]

    @property
    def method(self) -> str:
        return "merit-order"


def dispatch(
    stack: SupplyStack,
    residual_mw: npt.ArrayLike,
    *,
    interval_s: int,
    previous_residual_mw: npt.ArrayLike | None = None,
    band_frac: float = 0.03,
) -> MeritOrderResult:
    """Find the marginal unit of every interval (vectorised over intervals).

    Parameters
    ----------
    stack : SupplyStack
    residual_mw : array
        Load minus must-run and renewable output, mean power over each interval [MW].
    interval_s : int
        Interval length [s] (ramp limits and interval energy).
    previous_residual_mw : array, optional
        Residual load of the interval before each one; defaults to the array shifted by
        one (the first interval has no ramp constraint).
    band_frac : float
        Half-width of the margin's uncertainty band as a fraction of residual load.
    """
    r = np.asarray(residual_mw, dtype=np.float64)
    if r.ndim != 1 or not np.isfinite(r).all():
        raise InputError("residual load must be a 1-D array of finite values", field="residual_mw")
    if interval_s <= 0:
        raise InputError("interval must be positive", field="interval_s")
    if previous_residual_mw is None:
        prev = np.concatenate([r[:1], r[:-1]])
    else:
        prev = np.asarray(previous_residual_mw, dtype=np.float64)
    total = stack.total_mw
    pos = np.clip(r, 0.0, total)
    curtailed = r <= 0.0
    scarcity = r > total
    last = len(stack) - 1
    i = np.minimum(np.searchsorted(stack.cum_mw, pos, side="left"), last).astype(np.int64)
    cum_before = stack.cum_mw[i] - stack.capacity_mw[i]
    e_before = stack.cum_g_per_h[i] - stack.capacity_mw[i] * 1000.0 * stack.rate_g_per_kwh[i]
    hours = interval_s / 3600.0
    emissions = (e_before + (pos - cum_before) * 1000.0 * stack.rate_g_per_kwh[i]) * hours
    stack_kwh = pos * 1000.0 * hours

    # ramp limits: blend with the next fast unit when the margin could not follow
    d = np.abs(r - prev)
    ramp_mw = stack.ramp_frac_per_min[i] * stack.capacity_mw[i] * (interval_s / 60.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(d > ramp_mw, ramp_mw / d, 1.0)
    j = stack.next_fast[i]
    share = np.where(j == i, 1.0, share)
    ramp_limited = share < 1.0
    mef = share * stack.rate_g_per_kwh[i] + (1.0 - share) * stack.rate_g_per_kwh[j]

    band = band_frac * np.abs(r)
    ilo = np.minimum(
        np.searchsorted(stack.cum_mw, np.clip(pos - band, 0, total), side="left"), last
    ).astype(np.int64)
    ihi = np.minimum(
        np.searchsorted(stack.cum_mw, np.clip(pos + band, 0, total), side="left"), last
    ).astype(np.int64)
    ihi = np.maximum(ihi, np.where(ramp_limited, j, ihi))
    low = _range_query(stack._min_low, ilo, ihi, np.minimum)
    high = _range_query(stack._max_high, ilo, ihi, np.maximum)

    # curtailment: renewables absorb the increment
    near = curtailed & (r > -band)
    mef = np.where(curtailed, 0.0, mef)
    low = np.where(curtailed, 0.0, np.minimum(low, mef))
    high = np.where(
        curtailed, np.where(near, stack.rate_high_g_per_kwh[0], 0.0), np.maximum(high, mef)
    )
    unit = stack.unit_id[i].copy()
    unit[curtailed] = "curtailed"
    fuel = stack.fuel[i].copy()
    fuel[curtailed] = "curtailed"
    ramp_unit = stack.unit_id[j].copy()
    ramp_unit[curtailed] = "curtailed"
    return MeritOrderResult(
        mef_g_per_kwh=mef,
        low_g_per_kwh=low,
        high_g_per_kwh=high,
        marginal_index=np.where(curtailed, -1, i),
        unit_id=unit,
        fuel=fuel,
        cost_per_mwh=np.where(curtailed, 0.0, stack.cost_per_mwh[i]),
        share_frac=np.where(curtailed, 1.0, share),
        ramp_unit_id=ramp_unit,
        emissions_g=emissions,
        stack_kwh=stack_kwh,
        curtailed=curtailed,
        scarcity=scarcity,
        ramp_limited=ramp_limited & ~curtailed,
    )


def dispatch_groups(
    stacks: Sequence[SupplyStack],
    group: npt.ArrayLike,
    residual_mw: npt.ArrayLike,
    *,
    interval_s: int,
    band_frac: float = 0.03,
) -> MeritOrderResult:
    """Dispatch intervals against one of several stacks (e.g. per year x season).

    ``group[t]`` indexes ``stacks``.  The loop is over stacks (a handful), never rows.
    """
    g = np.asarray(group, dtype=np.int64)
    r = np.asarray(residual_mw, dtype=np.float64)
    if g.shape != r.shape:
        raise InputError("group and residual load differ in length", field="group")
    if len(g) and (g.min() < 0 or g.max() >= len(stacks)):
        raise InputError("group index out of range of the stacks", field="group")
    prev = np.concatenate([r[:1], r[:-1]])
    n = len(r)
    parts: dict[str, np.ndarray] = {}
    for k in np.unique(g):
        m = g == k
        res = dispatch(
            stacks[int(k)],
            r[m],
            interval_s=interval_s,
            previous_residual_mw=prev[m],
            band_frac=band_frac,
        )
        for name, arr in vars(res).items():
            if name not in parts:
                parts[name] = np.empty(n, dtype=arr.dtype)
            parts[name][m] = arr
    return MeritOrderResult(**parts)
