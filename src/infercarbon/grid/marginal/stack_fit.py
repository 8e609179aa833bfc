"""Marginal factors from the observed stack: a merit order calibrated to the period's own mix.

A merit-order system burns ``E = F_m(R)``: the emissions of an interval are a rising function
of the load the dispatchable (fossil) fleet serves, ``R``, and the function changes when
fuel prices and availability move the stack (month ``m``).  The marginal emission factor is
its slope, ``MEF = dF_m/dR``.  Instead of differencing consecutive intervals (the
Siler-Evans regression, whose ``ΔE/ΔL`` pairs mix the margin with wind ramps, outages and
ramp limits), this estimator reads the stack from the *levels* of the period:

1. ``R`` is the generation of the dispatchable fuel columns (coal, lignite, gas, oil) when
   the table gives the fuel mix, else the load (then wind and solar are noise);
2. within each calendar month (local time) a continuous piecewise-linear function of ``R``
   with knots at the month's ``R`` deciles is fitted to ``E`` by least squares (one
   ``lstsq`` per month; ``n_segments`` slopes);
3. each interval gets the slope of its segment, clipped at zero (a stack never emits less
   when it serves more).  With the fuel mix, the same fit of each fuel's generation on ``R``
   gives each fuel's share of the response; the fuel with the largest share is reported as
   the marginal fuel;
4. the range spans the slopes of the neighbouring segments (where the margin sits if ``R``
   is off by a decile) widened by the ``level`` confidence half-width of the slope, and,
   with the fuel mix, the per-fuel rates of every fuel taking at least 10 % of the response
   (rates from the table's own emissions: ``E = Σ_f r_f G_f`` by least squares per month).
   It is a plausibility range for the interval's marginal unit, not a confidence interval
   of the mean.

A month with fewer than ``min_intervals`` intervals, or whose stack load never changes,
uses the fit over the whole table (a recorded fallback); a table whose stack load never
changes is an error.  Loops run over months and are vectorised over intervals.

>>> import numpy as np
>>> t = np.arange(0, 60 * 86400, 3600).astype("datetime64[s]")
>>> r = 1e6 + 4e5 * np.sin(np.arange(len(t)) / 5.0)          # kWh served by the stack
>>> e = np.where(r < 1e6, 400.0 * r, 4e8 + 900.0 * (r - 1e6))  # gas, then coal at the margin
>>> res = fit_observed_stack(t, r, e)
>>> lo, hi = res.mef_g_per_kwh[r < 8e5].mean(), res.mef_g_per_kwh[r > 1.2e6].mean()
>>> round(float(lo)), round(float(hi))
(400, 900)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, IntArray, TimeArray
from infercarbon.errors import InputError

__all__ = ["METHOD_VERSION", "StackFitResult", "fit_observed_stack", "fuel_rates_from_table"]

METHOD_VERSION = "observed-stack-1"
#: A fuel taking at least this share of the response widens the range to its rate.
SHARE_FOR_RANGE = 0.10
FIXED_EFFECTS: tuple[str, ...] = ("week", "day", "none")
PERIODS: tuple[str, ...] = ("month", "season", "year")
#: Dispatchable output within this fraction of its day's minimum counts as at the floor ...
FLOOR_TOL_FRAC = 0.002
#: ... when at least this many intervals of the day sit there.
FLOOR_MIN_INTERVALS = 3
#: Upper bound of a plausible per-fuel direct rate [g/kWh] (old lignite ~1,250).
MAX_RATE_G_PER_KWH = 2000.0


@dataclass(frozen=True)
class StackFitResult:
    """Per-interval marginal factors read from the observed stack."""

    time: TimeArray
    mef_g_per_kwh: FloatArray
    low_g_per_kwh: FloatArray
    high_g_per_kwh: FloatArray
    #: marginal fuel (with the fuel mix) or ``month:segment`` label of each interval
    marginal: list[str]
    #: month index and segment index of each interval
    month_id: IntArray
    segment: IntArray
    fallback: npt.NDArray[np.bool_]
    fuels: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return "observed-stack"


def fuel_rates_from_table(generation_kwh: FloatArray, emissions_g: FloatArray) -> FloatArray:
    """Per-fuel rates [g/kWh] from ``E = Σ_f r_f G_f`` (least squares, no intercept).

    Clipped to ``[0, MAX_RATE_G_PER_KWH]``; a fuel that never runs gets NaN.

    >>> g = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])
    >>> fuel_rates_from_table(g, g @ np.array([900.0, 400.0])).round(6).tolist()
    [900.0, 400.0]
    """
    g = np.asarray(generation_kwh, dtype=np.float64)
    e = np.asarray(emissions_g, dtype=np.float64)
    runs = np.abs(g).sum(axis=0) > 0
    out = np.full(g.shape[1], np.nan)
    if runs.any():
        coef, *_ = np.linalg.lstsq(g[:, runs], e, rcond=None)
        out[runs] = np.clip(coef, 0.0, MAX_RATE_G_PER_KWH)
    return out


def _hinge_design(x: FloatArray, knots: FloatArray) -> FloatArray:
    return np.column_stack([np.ones_like(x), x, np.maximum(x[:, None] - knots[None, :], 0.0)])


def _fit_group(
    x: FloatArray, y: FloatArray, n_segments: int, z: float, fe: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Knots, segment slopes, slope standard errors and the coefficient matrix.

    ``y`` is (n, m): emissions first, then one column per fuel (same design); ``fe`` the
    fixed-effect block of each row (a level per block, the slopes shared)."""
    q = np.quantile(x, np.arange(1, n_segments) / n_segments)
    knots = np.unique(q)
    knots = knots[(knots > x.min()) & (knots < x.max())]
    k = len(knots) + 1
    X = _hinge_design(x, knots)
    blocks, fe_id = np.unique(fe, return_inverse=True)
    if len(blocks) > 1:
        dummies = (fe_id[:, None] == np.arange(1, len(blocks))[None, :]).astype(np.float64)
        X = np.column_stack([X, dummies])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    c = np.zeros((k, X.shape[1]))
    c[:, 1] = 1.0
    c[:, 2 : k + 1] = np.tril(np.ones((k, k - 1)), -1)
    slopes = c @ coef  # (k, m)
    resid = y[:, 0] - X @ coef[:, 0]
    dof = max(len(x) - X.shape[1], 1)
    cov = np.linalg.pinv(X.T @ X) * float(resid @ resid) / dof
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", c, cov, c), 0.0))
    return (
        np.asarray(knots, np.float64),
        np.asarray(slopes, np.float64),
        np.asarray(se * z, np.float64),
        np.asarray(coef, np.float64),
    )


def fit_observed_stack(
    time: TimeArray,
    load_kwh: npt.ArrayLike,
    emissions_g: npt.ArrayLike,
    *,
    generation_kwh: npt.ArrayLike | None = None,
    fuels: Sequence[str] = (),
    dispatchable: Sequence[bool] | None = None,
    time_local: TimeArray | None = None,
    n_segments: int = 10,
    min_intervals: int | None = None,
    level: float = 0.95,
    fixed_effects: str = "week",
    period: str = "month",
) -> StackFitResult:
    """Marginal factor of every interval from the month's observed stack.

    Parameters
    ----------
    time : datetime64 array
        Interval starts, sorted.
    load_kwh : array
        Load of each interval [kWh].
    emissions_g : array
        Emissions of each interval [g].
    generation_kwh : array (n, k), optional
        Generation by fuel [kWh]; with ``dispatchable`` it defines the stack's load ``R``.
    fuels : k names
        Fuel of each generation column.
    dispatchable : k booleans, optional
        Which columns the stack meets (coal, lignite, gas, oil); required with
        ``generation_kwh``.
    time_local : datetime64 array, optional
        Wall-clock times for the months; defaults to ``time``.
    n_segments : int
        Slopes per month (knots at the month's deciles for 10).
    min_intervals : int, optional
        Fewest intervals for a month's own fit; default ``30 x n_segments``.
    level : float
        Coverage of the slope's confidence half-width added to the range.
    fixed_effects : {"week", "day", "none"}
        A separate emissions level per week (or day) of the month: units that are out, or
        held on at minimum load, for days at a time shift ``E`` and ``R`` together along their
        own rate, which would otherwise read as the margin.
    period : {"month", "season", "year"}
        The span of one stack fit (fuel prices move the stack between spans).
    """
    t = np.asarray(time, dtype="datetime64[s]")
    load = np.asarray(load_kwh, dtype=np.float64)
    e = np.asarray(emissions_g, dtype=np.float64)
    n = len(t)
    min_n = _checked_min_intervals(
        load,
        e,
        n,
        n_segments=n_segments,
        level=level,
        period=period,
        fixed_effects=fixed_effects,
        min_intervals=min_intervals,
    )
    notes: list[str] = []
    x, gen, disp_fuels = _stack_load(load, n, generation_kwh, fuels, dispatchable, notes)
    tl = t if time_local is None else np.asarray(time_local, dtype="datetime64[s]")
    mkey = _span_key(tl, period)
    days = tl.astype("datetime64[D]").astype(np.int64)
    fe_all = {"week": (days + 3) // 7, "day": days, "none": np.zeros(n, dtype=np.int64)}[
        fixed_effects
    ].astype(np.int64)
    uniq, month_id = np.unique(mkey, return_inverse=True)
    month_id = month_id.astype(np.int64)
    fit = _SegmentFits(
        x=x,
        y=e[:, None] if gen is None else np.column_stack([e, gen]),
        e=e,
        gen=gen,
        disp_fuels=disp_fuels,
        fe_all=fe_all,
        n_segments=n_segments,
        z=NormalDist().inv_cdf(0.5 + level / 2),
    )
    floor = _at_floor(days, x) & (gen is not None)
    fallback = np.zeros(n, dtype=bool)

    counts = np.bincount(month_id, minlength=len(uniq))
    if np.ptp(x) <= 1e-9 * max(float(np.abs(x).max()), 1.0):
        raise InputError(
            "the load the stack serves never changes: no slope to read",
            field="load" if gen is None else "generation_kwh",
        )
    x_min = np.full(len(uniq), np.inf)
    x_max = np.full(len(uniq), -np.inf)
    np.minimum.at(x_min, month_id, x)
    np.maximum.at(x_max, month_id, x)
    flat = x_max - x_min <= 1e-9 * np.maximum(np.abs(x_max), 1.0)
    small = (counts < min_n) | flat
    if small.any():
        everything = np.ones(n, dtype=bool)
        m = small[month_id]
        fit.apply(m, everything, "all")
        fallback[m] = True
        notes.append(
            f"{int(small.sum())} of {len(uniq)} months had fewer than {min_n} "
            "intervals or no change in the stack's load; they use the fit over the "
            "whole table"
        )
    for j in np.flatnonzero(~small):  # one least-squares fit per month (a dozen a year)
        m = month_id == j
        fit.apply(m, m, str(np.datetime64(int(uniq[j]), "M")))
    mef, low, high, label = fit.mef, fit.low, fit.high, fit.label
    if floor.any():
        high = np.where(floor, mef, high)
        mef = np.where(floor, 0.0, mef)
        low = np.where(floor, 0.0, low)
        label[floor] = "none (dispatchable output at its floor)"
        notes.append(
            f"{int(floor.sum())} intervals with the dispatchable output at its daily "
            f"floor (>= {FLOOR_MIN_INTERVALS} intervals within {FLOOR_TOL_FRAC:.1%} of "
            "the minimum): margin outside the stack, MEF 0 (range up to the segment "
            "slope)"
        )
    return StackFitResult(
        time=t,
        mef_g_per_kwh=mef,
        low_g_per_kwh=low,
        high_g_per_kwh=high,
        marginal=[str(v) for v in label],
        month_id=month_id,
        segment=fit.seg_out,
        fallback=fallback,
        fuels=disp_fuels,
        notes=notes,
    )


def _checked_min_intervals(
    load: FloatArray,
    e: FloatArray,
    n: int,
    *,
    n_segments: int,
    level: float,
    period: str,
    fixed_effects: str,
    min_intervals: int | None,
) -> int:
    """The fewest intervals for a span's own fit, once the series and options check out."""
    if load.shape != (n,) or e.shape != (n,):
        raise InputError(
            "time, load and emissions must be 1-D arrays of equal length", field="series"
        )
    for name, arr in (("load_kwh", load), ("emissions_g", e)):
        if not np.isfinite(arr).all():
            raise InputError(
                f"non-finite value at index {int(np.argmin(np.isfinite(arr)))}", field=name
            )
    if not 2 <= n_segments <= 50:
        raise InputError("n_segments must be 2..50", field="n_segments")
    if not 0 < level < 1:
        raise InputError("level must be in (0, 1)", field="level")
    if period not in PERIODS:
        raise InputError(f"must be one of {', '.join(PERIODS)}", field="period")
    if fixed_effects not in FIXED_EFFECTS:
        raise InputError(f"must be one of {', '.join(FIXED_EFFECTS)}", field="fixed_effects")
    min_n = 30 * n_segments if min_intervals is None else min_intervals
    if n < max(min_n, 3 * n_segments):
        raise InputError(
            f"needs at least {max(min_n, 3 * n_segments)} intervals, got {n}", field="series"
        )
    return min_n


def _stack_load(
    load: FloatArray,
    n: int,
    generation_kwh: npt.ArrayLike | None,
    fuels: Sequence[str],
    dispatchable: Sequence[bool] | None,
    notes: list[str],
) -> tuple[FloatArray, FloatArray | None, tuple[str, ...]]:
    """(the load the stack serves R [kWh], generation of the dispatchable columns, their
    fuels): R is their generation when a mix with dispatchable columns is given, else the
    load (noted)."""
    if generation_kwh is None:
        notes.append("no fuel mix: stack load R = load (wind and solar act as noise)")
        return load, None, ()
    g = np.asarray(generation_kwh, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != n or len(fuels) != g.shape[1]:
        raise InputError("generation must be (n, k) with k fuel names", field="generation_kwh")
    if dispatchable is None or len(dispatchable) != g.shape[1]:
        raise InputError("give one dispatchable flag per fuel column", field="dispatchable")
    if not np.isfinite(g).all():
        bad = np.argwhere(~np.isfinite(g))[0]
        raise InputError(
            f"non-finite generation at row {int(bad[0])}, fuel {fuels[int(bad[1])]!r}",
            field="generation_kwh",
        )
    d = np.asarray(dispatchable, dtype=bool)
    if not d.any():
        notes.append("no dispatchable fuel column: stack load R = load")
        return load, None, ()
    gen = g[:, d]
    disp_fuels = tuple(f for f, k in zip(fuels, d, strict=True) if k)
    notes.append("stack load R = generation of " + ", ".join(disp_fuels))
    return gen.sum(axis=1), gen, disp_fuels


def _span_key(tl: npt.NDArray[np.datetime64], period: str) -> IntArray:
    """The fit span of each interval, as a month number: its month, its season's first
    month (December joins the next year's winter), or its year's first month."""
    mkey: IntArray = tl.astype("datetime64[M]").astype(np.int64)
    if period == "season":  # December joins the next year's winter
        mkey = (mkey + 1) // 3 * 3 - 1
    elif period == "year":
        mkey = mkey // 12 * 12
    return mkey


def _at_floor(days: IntArray, x: FloatArray) -> npt.NDArray[np.bool_]:
    """The floor: dispatchable output pinned at its daily minimum for several intervals
    (curtailment, exports or must-run set the output; the margin is not in the stack)."""
    fe0 = days - days.min()
    blk_min = np.full(int(fe0.max()) + 1, np.inf)
    np.minimum.at(blk_min, fe0, x)
    at_min = x <= blk_min[fe0] + FLOOR_TOL_FRAC * np.abs(blk_min[fe0])
    floor: npt.NDArray[np.bool_] = at_min & (np.bincount(fe0, at_min)[fe0] >= FLOOR_MIN_INTERVALS)
    return floor


class _SegmentFits:
    """The per-interval results (MEF, range, segment, marginal label), filled span by span
    from piecewise-linear fits of emissions (and, with a mix, each dispatchable fuel's
    generation) on the stack's load."""

    def __init__(
        self,
        *,
        x: FloatArray,
        y: FloatArray,
        e: FloatArray,
        gen: FloatArray | None,
        disp_fuels: tuple[str, ...],
        fe_all: IntArray,
        n_segments: int,
        z: float,
    ) -> None:
        self.x, self.y, self.e, self.gen, self.disp_fuels = x, y, e, gen, disp_fuels
        self.fe_all, self.n_segments, self.z = fe_all, n_segments, z
        n = len(x)
        self.mef = np.empty(n)
        self.low = np.empty(n)
        self.high = np.empty(n)
        self.seg_out = np.empty(n, dtype=np.int64)
        self.label = np.empty(n, dtype=object)

    def apply(self, mask: npt.NDArray[np.bool_], fit_mask: npt.NDArray[np.bool_], tag: str) -> None:
        """Fit the ``fit_mask`` intervals and give the ``mask`` intervals their segment's
        slope, range and marginal fuel (``tag:sN`` without a mix)."""
        x = self.x
        knots, slopes, half, _ = _fit_group(
            x[fit_mask], self.y[fit_mask], self.n_segments, self.z, self.fe_all[fit_mask]
        )
        s_e = np.clip(slopes[:, 0], 0.0, None)
        k = len(s_e)
        nb_lo = np.minimum(np.minimum(s_e, np.r_[s_e[:1], s_e[:-1]]), np.r_[s_e[1:], s_e[-1:]])
        nb_hi = np.maximum(np.maximum(s_e, np.r_[s_e[:1], s_e[:-1]]), np.r_[s_e[1:], s_e[-1:]])
        lo_k = np.clip(nb_lo - half, 0.0, None)
        hi_k = nb_hi + half
        names = [f"{tag}:s{j + 1}" for j in range(k)]
        if self.gen is not None:
            lo_k, hi_k, names = self._with_fuel_rates(slopes, s_e, lo_k, hi_k, fit_mask)
        seg = np.searchsorted(knots, x[mask], side="right")
        self.mef[mask] = s_e[seg]
        self.low[mask] = np.minimum(lo_k[seg], s_e[seg])
        self.high[mask] = np.maximum(hi_k[seg], s_e[seg])
        self.seg_out[mask] = seg
        self.label[mask] = np.asarray(names, dtype=object)[seg]

    def _with_fuel_rates(
        self,
        slopes: FloatArray,
        s_e: FloatArray,
        lo_k: FloatArray,
        hi_k: FloatArray,
        fit_mask: npt.NDArray[np.bool_],
    ) -> tuple[FloatArray, FloatArray, list[str]]:
        """Each segment's range widened to the table rates of the fuels with a large share of
        its response, and its marginal fuel (the largest share)."""
        assert self.gen is not None
        shares = slopes[:, 1:]
        rates = fuel_rates_from_table(self.gen[fit_mask], self.e[fit_mask])
        big = (shares >= SHARE_FOR_RANGE) & np.isfinite(rates)[None, :]
        r_b = np.where(big, rates[None, :], np.nan)
        with np.errstate(all="ignore"):
            any_big = big.any(axis=1)
            lo_k = np.where(
                any_big, np.fmin(lo_k, np.nanmin(np.where(big, r_b, np.inf), axis=1)), lo_k
            )
            hi_k = np.where(
                any_big, np.fmax(hi_k, np.nanmax(np.where(big, r_b, -np.inf), axis=1)), hi_k
            )
        top = np.argmax(shares, axis=1)
        names = [
            self.disp_fuels[int(j)] if s_e[i] > 0 else "none (zero-carbon margin)"
            for i, j in enumerate(top)
        ]
        return lo_k, hi_k, names
