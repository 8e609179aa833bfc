"""Split measured device energy over inference intervals: pure, vectorised numpy.

The device's energy is one cumulative curve ``C(t)`` [J]: counter readings interpolated
linearly (constant mean power between two readings), or power samples integrated with the
trapezoid rule (:func:`cumulative_from_power`).  The measured window is the span of the
readings; the measured total is ``C(t_last) - C(t_first)``.

Inference intervals ``[start, end)`` may overlap, be batched and come from several tenants.
The engine, with no Python loop per event:

1. clips every interval to the measured window and, for batched items, widens each item to its
   batch's span (so a batch's energy is split over its items);
2. sorts all interval boundaries once (a stable sort: interval starts and ends arrive nearly in
   order, so this is close to linear);
3. evaluates ``C`` at the sorted boundaries; consecutive boundaries delimit the *elementary
   slices*, and their differences are the slice energies;
4. counts active inferences per slice and sums their integer weights with a cumulative sum of
   ``+w``/``-w`` events (exact integers, so an idle slice is exactly zero, never ``1e-13``);
5. splits each active slice's energy among its active inferences in proportion to weight (time
   split: weight 1 each) with one prefix sum: inference *i* gets
   ``w_i * (R[end_i] - R[start_i])`` where ``R`` is the cumulative sum of ``E_s / W_s``;
6. pools idle energy (slices with no active inference, and optionally a baseline idle power
   under active slices) and hands it out by policy: ``tenancy`` (the given tenant shares),
   ``30-70`` (30 % follows the workload in proportion to active energy, 70 % is reported as
   unattributed facility overhead) or ``none``.

Conservation: ``sum(active_j) + sum(idle_j) + unattributed_idle_j == total_j`` up to floating
rounding (checked to 1e-9 relative by the property tests).

>>> import numpy as np
>>> res = attribute(
...     np.array([0.0, 10.0]), cumulative_j=np.array([0.0, 100.0]),    # 10 W for 10 s
...     start_s=np.array([0.0, 2.0]), end_s=np.array([4.0, 4.0]), idle_policy="none")
>>> res.active_j.tolist(), res.unattributed_idle_j
([30.0, 10.0], 60.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, IntArray
from infercarbon.attribution.idle import FOLLOW_FRAC_30_70, IDLE_POLICIES, IdlePolicy, split_idle
from infercarbon.errors import InputError

__all__ = [
    "FOLLOW_FRAC_30_70",
    "IDLE_POLICIES",
    "Attribution",
    "IdlePolicy",
    "attribute",
    "cumulative_from_power",
    "drop_stale_readings",
]

BoolArray = npt.NDArray[np.bool_]

#: Float weights are quantised to integers summing to at most 2**62, so the per-slice weight
#: sums are exact (a float cumulative sum of +w/-w would drift and break conservation).
_WEIGHT_SUM_BUDGET: Final = float(2**62)


@dataclass(frozen=True)
class Attribution:
    """Per-inference attribution of one device's measured energy over one window.

    Arrays are aligned with the input intervals.
    """

    #: energy of the slices the inference was active in, its weighted share [J]
    active_j: FloatArray
    #: idle energy attributed to the inference by the idle policy [J]
    idle_j: FloatArray
    #: the inference's share of the device's busy time (weighted like the energy) [s]
    device_time_s: FloatArray
    #: interval length inside the measured window [s]
    wall_s: FloatArray
    #: True where the interval reached outside the measured window and was clipped
    clipped: BoolArray
    #: idle energy that no inference carries (facility overhead under 30-70, all under none) [J]
    unattributed_idle_j: float
    #: the measured energy of the window, C(t_last) - C(t_first) [J]
    total_j: float
    #: all idle energy of the window (idle slices plus baseline under active slices) [J]
    idle_pool_j: float
    #: time with at least one active inference [s]
    busy_s: float
    #: the measured window [s] (same clock as the inputs)
    window_s: tuple[float, float]
    idle_policy: IdlePolicy
    split: str
    notes: tuple[str, ...] = field(default=())

    @property
    def attributed_j(self) -> FloatArray:
        """active + attributed idle, per inference [J]."""
        return self.active_j + self.idle_j

    @property
    def conservation_residual_j(self) -> float:
        """total - (sum active + sum attributed idle + unattributed idle) [J]; ~0."""
        return self.total_j - (
            float(self.active_j.sum()) + float(self.idle_j.sum()) + self.unattributed_idle_j
        )

    def summary(self) -> dict[str, Any]:
        return {
            "inferences": int(self.active_j.size),
            "total_j": self.total_j,
            "active_j": float(self.active_j.sum()),
            "idle_attributed_j": float(self.idle_j.sum()),
            "unattributed_idle_j": self.unattributed_idle_j,
            "idle_pool_j": self.idle_pool_j,
            "busy_s": self.busy_s,
            "window_s": list(self.window_s),
            "idle_policy": self.idle_policy,
            "split": self.split,
            "conservation_residual_j": self.conservation_residual_j,
            "clipped": int(self.clipped.sum()),
            "notes": list(self.notes),
        }


# ------------------------------------------------------------------------------ helpers
def _float_array(x: npt.ArrayLike, name: str) -> FloatArray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"must be numeric: {exc}", field=name) from exc
    if a.ndim != 1:
        raise InputError(f"must be one-dimensional, got shape {a.shape}", field=name)
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        raise InputError(f"element {bad} is not finite ({a[bad]!r})", field=name)
    return a


def cumulative_from_power(t_s: npt.ArrayLike, power_w: npt.ArrayLike) -> FloatArray:
    """Cumulative energy [J] at each sample time from power samples [W] (trapezoid rule).

    >>> cumulative_from_power([0.0, 1.0, 3.0], [10.0, 10.0, 20.0]).tolist()
    [0.0, 10.0, 40.0]
    """
    t = _float_array(t_s, "t_s")
    p = _float_array(power_w, "power_w")
    if p.shape != t.shape:
        raise InputError(f"needs one sample per time ({p.size} vs {t.size})", field="power_w")
    if (p < 0).any():
        raise InputError("power cannot be negative", field="power_w")
    out = np.zeros_like(t)
    if t.size > 1:
        np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(t), out=out[1:])
    return out


def drop_stale_readings(
    t: npt.NDArray[Any], cumulative_j: FloatArray
) -> tuple[npt.NDArray[Any], FloatArray]:
    """Readings of a coarsely updated counter without its stale repeats.

    A counter that the hardware refreshes less often than it is read (NVML's total-energy
    counter was measured refreshing every ~100 ms on an H200) returns the same value until its next
    update, then
    jumps: read at face value, the energy lands in steps, and per-slice arithmetic such as
    subtracting a baseline idle power (clipped at zero per slice) turns the steps into a bias
    (simulated: 304 J of "active" energy where 38 J was true).  A reading equal to the one
    before it says only "not updated yet", so it is dropped and the next step is spread over
    the whole interval since the last update.  The first and last readings are kept (they
    bound the window), so the total is unchanged.

    >>> t, c = drop_stale_readings(np.array([0, 1, 2, 3, 4]), np.array([0., 0., 5., 5., 5.]))
    >>> t.tolist(), c.tolist()
    ([0, 2, 4], [0.0, 5.0, 5.0])
    """
    if cumulative_j.size < 3:
        return t, cumulative_j
    keep = np.empty(cumulative_j.size, dtype=bool)
    keep[0] = True
    np.not_equal(cumulative_j[1:], cumulative_j[:-1], out=keep[1:])
    keep[-1] = True
    return t[keep], cumulative_j[keep]


def _quantised_weights(w: FloatArray) -> IntArray:
    """Positive float weights -> positive int64 weights whose total fits in 2**62."""
    if np.issubdtype(w.dtype, np.integer):
        wi = w.astype(np.int64)
        if float(wi.sum(dtype=np.float64)) < _WEIGHT_SUM_BUDGET:
            return wi
    scale = _WEIGHT_SUM_BUDGET / float(w.sum())
    return np.maximum(np.rint(w * scale), 1.0).astype(np.int64)


def _batch_span(
    batch_id: npt.ArrayLike, start: FloatArray, end: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each item's interval widened to its batch's span; ``batch_id < 0`` means unbatched."""
    b = np.asarray(batch_id)
    if b.shape != start.shape:
        raise InputError(f"needs one id per interval ({b.size} vs {start.size})", field="batch_id")
    if not np.issubdtype(b.dtype, np.integer):
        raise InputError("must be integer ids (negative: not batched)", field="batch_id")
    batched = b >= 0
    if not batched.any():
        return start, end
    uniq, inv = np.unique(b[batched], return_inverse=True)
    lo = np.full(uniq.size, np.inf)
    hi = np.full(uniq.size, -np.inf)
    np.minimum.at(lo, inv, start[batched])
    np.maximum.at(hi, inv, end[batched])
    start = start.copy()
    end = end.copy()
    start[batched] = lo[inv]
    end[batched] = hi[inv]
    return start, end


# ---------------------------------------------------------------------------- the engine
def attribute(
    t_s: npt.ArrayLike,
    *,
    cumulative_j: npt.ArrayLike | None = None,
    power_w: npt.ArrayLike | None = None,
    start_s: npt.ArrayLike,
    end_s: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    batch_id: npt.ArrayLike | None = None,
    tenant: npt.ArrayLike | None = None,
    tenancy_shares: npt.ArrayLike | None = None,
    idle_policy: IdlePolicy = "30-70",
    baseline_idle_w: float | None = None,
) -> Attribution:
    """Attribute one device's measured energy to inference intervals.

    Parameters
    ----------
    t_s : array [s]
        Reading times, strictly increasing; the measured window is ``[t_s[0], t_s[-1]]``.
    cumulative_j : array [J], optional
        Cumulative counter readings (non-decreasing; unwrap counter wraparound first).
    power_w : array [W], optional
        Power samples instead of counter readings (integrated with the trapezoid rule).
    start_s, end_s : array [s]
        Inference intervals ``[start, end)`` on the same clock as ``t_s``.
    weight : array, optional
        Positive weights (tokens, FLOPs) to split shared slices by; default: by time (each
        active inference weighs 1).
    batch_id : int array, optional
        Items with the same non-negative id form a batch: each item takes the batch's span and
        the batch's energy is split over its items by weight.  Negative: not batched.
    tenant : int array, optional
        Tenant code per inference (0..k-1), for the ``tenancy`` idle policy.
    tenancy_shares : array [frac], optional
        Idle-energy share of each tenant code under ``tenancy`` (sum <= 1; the rest is
        unattributed).  Each tenant's share is split over its inferences by active energy.
    idle_policy : {"30-70", "tenancy", "none"}
    baseline_idle_w : float [W], optional
        Device idle power: under active slices, ``min(E_s, P_idle x dt)`` counts as idle energy
        too (otherwise all of an active slice's energy is active).

    Returns
    -------
    Attribution
    """
    t, c = _readings(t_s, cumulative_j, power_w)
    _check_idle_options(idle_policy, baseline_idle_w)
    start, end = _intervals(start_s, end_s)
    n = start.size
    notes: list[str] = []

    if batch_id is not None:
        start, end = _batch_span(batch_id, start, end)
    wq, split = _split_weights(weight, n)
    tenant_codes, shares = _tenancy(idle_policy, tenancy_shares, tenant, n)

    t0, t1 = float(t[0]), float(t[-1])
    total_j = float(c[-1] - c[0])
    cs = np.clip(start, t0, t1)
    ce = np.clip(end, t0, t1)
    clipped = (cs != start) | (ce != end)
    if clipped.any():
        notes.append(
            f"{int(clipped.sum())} interval(s) reach outside the measured window "
            f"[{t0:g}, {t1:g}] s and were clipped to it"
        )
    wall = ce - cs

    if n == 0:
        zero = np.zeros(0)
        return Attribution(
            zero,
            zero.copy(),
            zero.copy(),
            zero.copy(),
            np.zeros(0, bool),
            total_j,
            total_j,
            total_j,
            0.0,
            (t0, t1),
            idle_policy,
            split,
            ("no inferences in the window: all energy is unattributed idle",),
        )

    active_j, device_time_s, active_pool, busy_s = _sweep(
        t, c, cs, ce, None if weight is None else wq, baseline_idle_w
    )
    idle_pool = total_j - active_pool

    idle_j, idle_notes = split_idle(
        idle_pool, active_j, device_time_s, idle_policy, tenant=tenant_codes, shares=shares
    )
    notes.extend(idle_notes)
    unattributed = idle_pool - float(idle_j.sum())
    return Attribution(
        active_j=active_j,
        idle_j=idle_j,
        device_time_s=device_time_s,
        wall_s=wall,
        clipped=clipped,
        unattributed_idle_j=unattributed,
        total_j=total_j,
        idle_pool_j=idle_pool,
        busy_s=busy_s,
        window_s=(t0, t1),
        idle_policy=idle_policy,
        split=split,
        notes=tuple(notes),
    )


def _readings(
    t_s: npt.ArrayLike, cumulative_j: npt.ArrayLike | None, power_w: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray]:
    """Checked reading times [s] and cumulative energy [J] (from the counter, or the power
    samples integrated)."""
    if (cumulative_j is None) == (power_w is None):
        raise InputError(
            "give exactly one of cumulative_j (counter) or power_w (samples)", field="cumulative_j"
        )
    t = _float_array(t_s, "t_s")
    if t.size < 2:
        raise InputError("needs at least two readings to measure energy", field="t_s")
    if (np.diff(t) <= 0).any():
        raise InputError("reading times must be strictly increasing", field="t_s")
    if cumulative_j is None:
        return t, cumulative_from_power(t, power_w if power_w is not None else [])
    c = _float_array(cumulative_j, "cumulative_j")
    if c.shape != t.shape:
        raise InputError(f"needs one reading per time ({c.size} vs {t.size})", field="cumulative_j")
    if (np.diff(c) < 0).any():
        raise InputError(
            "counter decreased; unwrap wraparound or resets first", field="cumulative_j"
        )
    return t, c


def _check_idle_options(idle_policy: str, baseline_idle_w: float | None) -> None:
    """A known idle policy, and a finite baseline idle power >= 0 W when one is given."""
    if idle_policy not in IDLE_POLICIES:
        raise InputError(
            f"must be one of {', '.join(IDLE_POLICIES)}, got {idle_policy!r}", field="idle_policy"
        )
    if baseline_idle_w is not None and not (np.isfinite(baseline_idle_w) and baseline_idle_w >= 0):
        raise InputError(f"{baseline_idle_w!r} must be a power >= 0 W", field="baseline_idle_w")


def _intervals(start_s: npt.ArrayLike, end_s: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Checked inference intervals: one end per start, none ending before it starts."""
    start = _float_array(start_s, "start_s")
    end = _float_array(end_s, "end_s")
    if start.shape != end.shape:
        raise InputError(f"needs one end per start ({end.size} vs {start.size})", field="end_s")
    if (end < start).any():
        bad = int(np.flatnonzero(end < start)[0])
        raise InputError(f"interval {bad} ends before it starts", field="end_s")
    return start, end


def _split_weights(weight: npt.ArrayLike | None, n: int) -> tuple[IntArray, str]:
    """The integer (quantised) weight of each of the ``n`` intervals, and the split's name:
    1 each by ``time``, or the given positive weights by ``weight``."""
    if weight is None:
        return np.ones(n, dtype=np.int64), "time"
    w_raw = np.asarray(weight)
    w = w_raw if np.issubdtype(w_raw.dtype, np.integer) else _float_array(w_raw, "weight")
    if w.shape != (n,):
        raise InputError(f"needs one weight per interval ({w.size} vs {n})", field="weight")
    if n and (w <= 0).any():
        raise InputError(
            "weights must be > 0 (use time split for unweighted inferences)", field="weight"
        )
    return (_quantised_weights(w) if n else np.zeros(0, dtype=np.int64)), "weight"


def _tenancy(
    idle_policy: str,
    tenancy_shares: npt.ArrayLike | None,
    tenant: npt.ArrayLike | None,
    n: int,
) -> tuple[IntArray | None, FloatArray]:
    """(tenant code per interval, idle share per tenant) for the ``tenancy`` policy; no codes
    under the other policies."""
    if idle_policy != "tenancy":
        return None, np.zeros(1)
    if tenancy_shares is None:
        raise InputError("the tenancy idle policy needs a share per tenant", field="tenancy_shares")
    shares = _float_array(tenancy_shares, "tenancy_shares")
    if (shares < 0).any() or shares.sum() > 1.0 + 1e-12:
        raise InputError("shares must be >= 0 and sum to at most 1", field="tenancy_shares")
    if tenant is None:
        if shares.size != 1:
            raise InputError(
                "several tenant shares need a tenant code per inference", field="tenant"
            )
        return np.zeros(n, dtype=np.int64), shares
    tenant_codes = np.asarray(tenant, dtype=np.int64)
    if tenant_codes.shape != (n,):
        raise InputError(
            f"needs one tenant code per interval ({tenant_codes.size} vs {n})",
            field="tenant",
        )
    if n and (tenant_codes.min() < 0 or tenant_codes.max() >= shares.size):
        raise InputError(
            f"tenant codes must be in 0..{shares.size - 1} (one share per tenant)",
            field="tenant",
        )
    return tenant_codes, shares


def _sweep(
    t: FloatArray,
    c: FloatArray,
    cs: FloatArray,
    ce: FloatArray,
    wq: IntArray | None,
    baseline_idle_w: float | None,
) -> tuple[FloatArray, FloatArray, float, float]:
    """One sweep over the sorted interval boundaries: (active energy [J] and device time [s]
    per interval, the active pool [J], the busy time [s]).  Each slice between consecutive
    boundaries is split over the intervals active in it by weight (``wq``; None: by time)."""
    n = cs.size
    # one stable sort of all boundaries (starts, then ends: nearly sorted runs)
    times = np.concatenate((cs, ce))
    order = np.argsort(times, kind="stable")
    b = times[order]
    del times
    pos = np.empty(2 * n, dtype=np.int64)
    pos[order] = np.arange(2 * n, dtype=np.int64)
    # +w at starts, -w at ends, in time order; the weight active in slice k is w_active[k]
    if wq is None:  # +1/-1: active count = 2 x (starts so far) - (boundaries so far)
        w_active: IntArray = np.cumsum(order[:-1] < n, dtype=np.int64)
        w_active *= 2
        w_active -= np.arange(1, 2 * n, dtype=np.int64)
    else:
        w_active = np.cumsum(np.concatenate((wq, -wq))[order[:-1]])
    del order
    active = w_active > 0
    e_slice = np.interp(b, t, c)
    e_slice = e_slice[1:] - e_slice[:-1]
    dt_slice = b[1:] - b[:-1]
    del b
    # idle energy is the rest: before the first and after the last boundary, slices with
    # nothing active, and the baseline under active slices
    if baseline_idle_w is not None and baseline_idle_w > 0:
        e_slice -= np.minimum(e_slice, baseline_idle_w * dt_slice)
    inactive = ~active
    e_slice[inactive] = 0.0
    dt_slice[inactive] = 0.0
    active_pool = float(e_slice.sum())
    busy_s = float(dt_slice.sum())
    # energy and busy time per unit weight, cumulated: R[k] = sum over slices before boundary k
    wf = w_active.astype(np.float64)
    del w_active
    wf[inactive] = 1.0
    del inactive, active
    r = np.empty(2 * n)
    r[0] = 0.0
    np.divide(e_slice, wf, out=e_slice)
    np.cumsum(e_slice, out=r[1:])
    rt = np.empty(2 * n)
    rt[0] = 0.0
    np.divide(dt_slice, wf, out=dt_slice)
    np.cumsum(dt_slice, out=rt[1:])
    del e_slice, dt_slice, wf
    ps, pe = pos[:n], pos[n:]
    active_j = r[pe]
    active_j -= r[ps]
    device_time_s = rt[pe]
    device_time_s -= rt[ps]
    del r, rt, pos
    if wq is not None:
        wqf = wq.astype(np.float64)
        active_j *= wqf
        device_time_s *= wqf
    # float noise can leave -1e-18 in an empty interval
    np.maximum(active_j, 0.0, out=active_j)
    np.maximum(device_time_s, 0.0, out=device_time_s)
    return active_j, device_time_s, active_pool, busy_s
