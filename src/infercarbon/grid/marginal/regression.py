"""Empirical marginal emission factors: regress the change in emissions on the change in load.

Method (Hawkes 2010, *Energy Policy* 38:5977; Siler-Evans, Azevedo & Morgan 2012,
*Environ. Sci. Technol.* 46:4742): for consecutive intervals ``t-1, t`` of equal length,

    ΔE_t = a_b + MEF_b · ΔL_t + ε_t,      b = bin of interval t

where ``E`` is the emissions of the interval [g], ``L`` the load (or generation) energy of the
interval [kWh], and bins are load-level quantiles (``decile``), hour of day x season
(``hour-season``), both, or load decile x month / season (``decile-month``,
``decile-season``: fuel prices move the stack from month to month), or deciles of the
interval's *emissions* (``emissions-decile``: emissions rise with the load the fossil stack
serves, so their level places the interval on the stack even when wind and solar move the
load it serves; load deciles mix margins).  ``MEF_b`` [g/kWh] is the marginal emission
factor of bin ``b``; each input interval gets the MEF of its bin.  The intercept absorbs drift that
is not caused
by load (e.g. wind ramps displacing thermal output in the same bin).

Fuel-share variant (:func:`regress_fuel_mix`): when only generation by fuel is known, the
interval emissions are ``E_t = Σ_f G_{f,t} · r_f`` with per-fuel rates ``r_f`` [g/kWh]; the
same regression of each fuel's ΔG_f on ΔL gives the share of the marginal response met by
each fuel (Σ_f share_f = 1 when L is total generation), so the result also names the
marginal fuel of each bin.

Everything is vectorised with per-bin sufficient statistics (``np.bincount`` with
weights); there is no Python loop over rows or bins.  Confidence intervals:

* ``hc1`` (default): heteroskedasticity-robust (White/MacKinnon-White HC1) standard errors,
  Student-t quantile with n-2 degrees of freedom;
* ``ols``: classical homoskedastic standard errors;
* ``bootstrap``: moving-block bootstrap of the (ΔL, ΔE) pairs (Künsch 1989), seeded through
  a caller-supplied ``numpy.random.Generator``; percentile interval.  Blocks keep the serial
  correlation of the residuals, which the analytic errors ignore.

A bin with fewer than ``min_pairs`` pairs, or no variation in ΔL, takes its parent's estimate
(``both``, ``decile-month``, ``decile-season`` -> its load decile -> the pooled fit); that
fallback is warned
(:class:`~infercarbon.errors.FallbackWarning`) and flagged per bin and per interval.

>>> import numpy as np
>>> t = np.arange(0, 48 * 3600, 3600).astype("datetime64[s]")
>>> load = 1e6 + 1e5 * np.sin(np.arange(48) / 3.0)
>>> r = regress_mef(t, load, 400.0 * load + 7e8, bins="none")
>>> round(float(r.mef_g_per_kwh[0]), 6), r.bins.n_pairs.tolist()
(400.0, [47])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from statistics import NormalDist
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray, IntArray, TimeArray
from infercarbon.errors import FallbackWarning, InputError
from infercarbon.grid.marginal.calendar import SEASONS, hour_of_day, month, season_index

__all__ = [
    "BIN_SCHEMES",
    "CI_METHODS",
    "BinEstimates",
    "BinScheme",
    "CiMethod",
    "RegressionResult",
    "make_bins",
    "regress_fuel_mix",
    "regress_mef",
    "t_quantile",
]

BinScheme = Literal[
    "decile", "hour-season", "both", "decile-month", "decile-season", "emissions-decile", "none"
]
CiMethod = Literal["hc1", "ols", "bootstrap"]
BIN_SCHEMES: tuple[str, ...] = get_args(BinScheme)
CI_METHODS: tuple[str, ...] = get_args(CiMethod)
METHOD_VERSION = "regression-1"


def t_quantile(p: float, df: FloatArray) -> FloatArray:
    """Student-t quantile by the Cornish-Fisher expansion in the normal quantile.

    Abramowitz & Stegun 26.7.5; error < 1e-3 for ``df >= 3`` and exact as ``df -> inf``.

    >>> [round(float(v), 3) for v in t_quantile(0.975, np.array([10.0, 30.0, 1e9]))]
    [2.228, 2.042, 1.96]
    """
    z = NormalDist().inv_cdf(p)
    v = np.asarray(df, dtype=np.float64)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4, dtype=np.float64)


@dataclass(frozen=True)
class BinEstimates:
    """Per-bin fit.  Arrays are indexed by bin id; ``label`` names each bin."""

    label: list[str]
    n_pairs: IntArray
    mef_g_per_kwh: FloatArray
    se_g_per_kwh: FloatArray
    low_g_per_kwh: FloatArray
    high_g_per_kwh: FloatArray
    intercept_g: FloatArray
    fallback: npt.NDArray[np.bool_]
    #: fuel-share variant only: share of the marginal response by fuel, shape (bins, fuels)
    fuel_share_frac: FloatArray | None = None
    marginal_fuel: list[str] | None = None


@dataclass(frozen=True)
class RegressionResult:
    """Per-interval marginal factors and the per-bin fit they come from."""

    time: TimeArray
    bin_id: IntArray
    mef_g_per_kwh: FloatArray
    low_g_per_kwh: FloatArray
    high_g_per_kwh: FloatArray
    fallback: npt.NDArray[np.bool_]
    bins: BinEstimates
    scheme: str
    ci_method: str
    level: float
    interval_s: int
    fuels: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def method(self) -> str:
        return f"regression:{self.scheme}:{self.ci_method}"

    @property
    def marginal_fuel(self) -> list[str] | None:
        """Marginal fuel of each interval (fuel-share variant), else None."""
        if self.bins.marginal_fuel is None:
            return None
        names = np.asarray(self.bins.marginal_fuel, dtype=object)
        return list(names[self.bin_id])


# ------------------------------------------------------------------------- bins
def make_bins(
    load: FloatArray, time_local: TimeArray, scheme: str, *, n_quantiles: int = 10
) -> tuple[IntArray, list[str], IntArray | None]:
    """Bin id of every interval, bin labels, and (for ``both``, ``decile-month``,
    ``decile-season``) each bin's decile parent.

    ``time_local`` is the wall-clock time used for hour of day and season.
    """
    if scheme not in BIN_SCHEMES:
        raise InputError(f"bins must be one of {', '.join(BIN_SCHEMES)}", field="bins")
    n = len(load)
    if scheme == "none":
        return np.zeros(n, dtype=np.int64), ["all"], None
    edges = np.quantile(load, np.arange(1, n_quantiles) / n_quantiles)
    dec = np.searchsorted(edges, load, side="right").astype(np.int64)
    dec_labels = [f"q{q + 1}" for q in range(n_quantiles)]
    if scheme == "decile":
        return dec, dec_labels, None
    if scheme in ("decile-month", "decile-season"):
        if scheme == "decile-month":
            per = month(time_local) - 1
            per_labels = [f"m{m:02d}" for m in range(1, 13)]
        else:
            per = season_index(time_local)
            per_labels = list(SEASONS)
        k = len(per_labels)
        return (
            dec * k + per,
            [f"{d}:{s}" for d in dec_labels for s in per_labels],
            np.repeat(np.arange(n_quantiles, dtype=np.int64), k),
        )
    hs = season_index(time_local) * 24 + hour_of_day(time_local)
    hs_labels = [f"{s}-h{h:02d}" for s in SEASONS for h in range(24)]
    if scheme == "hour-season":
        return hs, hs_labels, None
    ids = dec * 96 + hs
    labels = [f"{d}:{h}" for d in dec_labels for h in hs_labels]
    parent = np.repeat(np.arange(n_quantiles, dtype=np.int64), 96)
    return ids, labels, parent


# ----------------------------------------------------------------- core solver
def _pairs(time: TimeArray, interval_s: int) -> npt.NDArray[np.bool_]:
    """Mask over intervals 1..n-1: True where interval t directly follows t-1."""
    d = np.diff(time.astype("datetime64[s]").astype(np.int64))
    return np.asarray(d == interval_s)


def _ols_by_bin(
    b: IntArray, x: FloatArray, y: FloatArray, nb: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-bin OLS of y on x with intercept: (n, slope, intercept, sxx, hc1_var, ols_var, xc)."""
    n = np.bincount(b, minlength=nb).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = np.bincount(b, x, nb) / n
        ybar = np.bincount(b, y, nb) / n
        xc = x - xbar[b]
        yc = y - ybar[b]
        sxx = np.asarray(np.bincount(b, xc * xc, nb), dtype=np.float64)
        sxy = np.bincount(b, xc * yc, nb)
        slope = sxy / sxx
        intercept = ybar - slope * xbar
        e = yc - slope[b] * xc
        hc = np.bincount(b, xc * xc * e * e, nb)
        sse = np.bincount(b, e * e, nb)
        hc1 = n / (n - 2) * hc / sxx**2
        olsv = sse / (n - 2) / sxx
    return n, slope, intercept, sxx, hc1, olsv, xc


def _block_bootstrap(
    b: IntArray,
    x: FloatArray,
    y: FloatArray,
    nb: int,
    *,
    rng: np.random.Generator,
    n_boot: int,
    block_len: int,
    level: float,
) -> tuple[FloatArray, FloatArray]:
    """Percentile CI of per-bin slopes from a moving-block bootstrap of the pairs."""
    m = len(x)
    ell = max(1, min(block_len, m))
    n_blocks = -(-m // ell)
    # centre per bin once so that one-pass sums are well conditioned
    n = np.bincount(b, minlength=nb).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x - (np.bincount(b, x, nb) / n)[b]
        yc = y - (np.bincount(b, y, nb) / n)[b]
    chunk = max(1, int(2e7 // max(m, 1)))
    slopes = np.empty((n_boot, nb))
    offs = np.arange(ell, dtype=np.int64)
    for r0 in range(0, n_boot, chunk):  # chunks of replicates, bounded memory
        r1 = min(n_boot, r0 + chunk)
        k = r1 - r0
        starts = rng.integers(0, m - ell + 1, size=(k, n_blocks))
        idx = (starts[:, :, None] + offs).reshape(k, -1)[:, :m]
        key = (np.arange(k, dtype=np.int64)[:, None] * nb + b[idx]).ravel()
        xs, ys = xc[idx].ravel(), yc[idx].ravel()
        size = k * nb
        cnt = np.bincount(key, minlength=size).astype(np.float64)
        sx = np.bincount(key, xs, size)
        sy = np.bincount(key, ys, size)
        sxx = np.bincount(key, xs * xs, size)
        sxy = np.bincount(key, xs * ys, size)
        with np.errstate(divide="ignore", invalid="ignore"):
            vxx = sxx - sx * sx / cnt
            s = (sxy - sx * sy / cnt) / vxx
        s[(cnt < 3) | ~(vxx > 0)] = np.nan
        slopes[r0:r1] = s.reshape(k, nb)
    alpha = (1 - level) / 2
    ok = np.isfinite(slopes).sum(axis=0) >= max(10, n_boot // 2)
    lo = np.full(nb, np.nan)
    hi = np.full(nb, np.nan)
    if ok.any():
        q = np.nanquantile(slopes[:, ok], [alpha, 1 - alpha], axis=0)
        lo[ok], hi[ok] = q[0], q[1]
    return lo, hi


def regress_mef(
    time: TimeArray,
    load_kwh: npt.ArrayLike,
    emissions_g: npt.ArrayLike,
    *,
    bins: str = "decile",
    time_local: TimeArray | None = None,
    interval_s: int | None = None,
    ci: str = "hc1",
    level: float = 0.95,
    min_pairs: int = 20,
    n_quantiles: int = 10,
    rng: np.random.Generator | None = None,
    n_boot: int = 200,
    block_len: int = 24,
    _extra_y: FloatArray | None = None,
    _fuels: Sequence[str] = (),
    _warn: bool = True,
) -> RegressionResult:
    """Binned regression of ΔE on ΔL; one MEF per input interval.

    Parameters
    ----------
    time : datetime64 array
        Interval start times, sorted, unique.
    load_kwh : array
        Load (or total generation) energy of each interval [kWh].
    emissions_g : array
        Emissions of each interval [g].
    bins : {"decile", "hour-season", "both", "decile-month", "decile-season", \
            "emissions-decile", "none"}
        Binning scheme (see module docstring).
    time_local : datetime64 array, optional
        Wall-clock times for hour of day and season; defaults to ``time``.
    interval_s : int, optional
        Interval length [s]; pairs are formed only across exactly one interval (gaps break
        pairs).  Defaults to the most common step.
    ci : {"hc1", "ols", "bootstrap"}
        Confidence-interval method; ``bootstrap`` requires ``rng``.
    level : float
        Confidence level of the interval (0.95 = 95 %).
    min_pairs : int
        Fewest pairs for a bin to get its own estimate.

    Returns
    -------
    RegressionResult
    """
    t = np.asarray(time, dtype="datetime64[s]")
    x_all = np.asarray(load_kwh, dtype=np.float64)
    y_all = np.asarray(emissions_g, dtype=np.float64)
    steps = _checked_steps(t, x_all, y_all, ci=ci, rng=rng, level=level)
    if interval_s is None:
        vals, counts = np.unique(steps, return_counts=True)
        interval_s = int(vals[np.argmax(counts)])
    tl = t if time_local is None else np.asarray(time_local, dtype="datetime64[s]")
    if bins == "emissions-decile":
        bin_all, labels, parent = make_bins(y_all, tl, "decile", n_quantiles=n_quantiles)
        labels = [f"e{lab}" for lab in labels]
    else:
        bin_all, labels, parent = make_bins(x_all, tl, bins, n_quantiles=n_quantiles)
    nb = len(labels)

    ok = _pairs(t, interval_s)
    if ok.sum() < 3:
        raise InputError("fewer than three consecutive pairs of intervals", field="time")
    b = bin_all[1:][ok]
    dx = np.diff(x_all)[ok]
    dy = np.diff(y_all)[ok]

    n, slope, icpt, sxx, hc1, olsv, _ = _ols_by_bin(b, dx, dy, nb)
    se = np.sqrt(hc1 if ci == "hc1" else olsv)
    tq = t_quantile(0.5 + level / 2, np.maximum(n - 2, 1.0))
    low, high = slope - tq * se, slope + tq * se
    if ci == "bootstrap":
        assert rng is not None
        low, high = _block_bootstrap(
            b, dx, dy, nb, rng=rng, n_boot=n_boot, block_len=block_len, level=level
        )
    need = 3 if bins == "none" else min_pairs  # the pooled fit has no parent to fall back on
    good = (n >= need) & (sxx > 0) & np.isfinite(slope) & np.isfinite(low) & np.isfinite(high)
    fallback = ~good
    notes: list[str] = []

    # fuel-share responses (same design, one column per fuel)
    shares: FloatArray | None = None
    if _extra_y is not None:
        k = _extra_y.shape[1]
        dg = np.diff(_extra_y, axis=0)[ok]
        shares = np.empty((nb, k))
        for j in range(k):  # per fuel column (k ~ 10), vectorised over rows and bins
            shares[:, j] = _ols_by_bin(b, dx, dg[:, j], nb)[1]

    fit = _BinFit(slope, low, high, se, icpt, shares)
    if fallback.any():
        if bins == "none":
            raise InputError(
                "the pooled fit needs at least three pairs with varying load", field="load"
            )
        again = partial(
            regress_mef,
            t,
            x_all,
            y_all,
            interval_s=interval_s,
            ci=ci,
            level=level,
            rng=rng,
            n_boot=n_boot,
            block_len=block_len,
            _extra_y=_extra_y,
            _fuels=_fuels,
            _warn=False,
        )
        fit = fit.filled(
            _parent_estimates(again, parent, nb, min_pairs=min_pairs, n_quantiles=n_quantiles),
            fallback,
        )
        used = np.zeros(nb, dtype=bool)
        used[bin_all] = True
        n_fb = int((fallback & used).sum())
        if n_fb:
            msg = (
                f"{n_fb} of {int(used.sum())} occupied bins had fewer than {min_pairs} "
                f"pairs or no load variation; they use the "
                f"{'load-decile' if parent is not None else 'pooled'} estimate"
            )
            notes.append(msg)
            if _warn:
                warnings.warn(msg, FallbackWarning, stacklevel=2)
    shares, marginal_fuel = _normalised_shares(fit.shares, _fuels)
    slope = fit.slope
    # never report a CI that excludes its own point estimate (bootstrap skew)
    low = np.minimum(fit.low, slope)
    high = np.maximum(fit.high, slope)
    est = BinEstimates(
        labels,
        n.astype(np.int64),
        slope,
        fit.se,
        low,
        high,
        fit.icpt,
        fallback,
        shares,
        marginal_fuel,
    )
    return RegressionResult(
        time=t,
        bin_id=bin_all,
        mef_g_per_kwh=slope[bin_all],
        low_g_per_kwh=low[bin_all],
        high_g_per_kwh=high[bin_all],
        fallback=fallback[bin_all],
        bins=est,
        scheme=bins,
        ci_method=ci,
        level=level,
        interval_s=interval_s,
        fuels=tuple(_fuels),
        notes=notes,
    )


def _checked_steps(
    t: npt.NDArray[np.datetime64],
    x_all: FloatArray,
    y_all: FloatArray,
    *,
    ci: str,
    rng: np.random.Generator | None,
    level: float,
) -> IntArray:
    """The steps between interval starts [s], once the series and the CI options check out."""
    if not (t.ndim == x_all.ndim == y_all.ndim == 1 and len(t) == len(x_all) == len(y_all)):
        raise InputError(
            "time, load and emissions must be 1-D arrays of equal length", field="series"
        )
    if len(t) < 3:
        raise InputError("need at least three intervals", field="series")
    for name, arr in (("load_kwh", x_all), ("emissions_g", y_all)):
        if not np.isfinite(arr).all():
            raise InputError(
                f"contains a non-finite value at index {int(np.argmin(np.isfinite(arr)))}",
                field=name,
            )
    ticks_s: IntArray = t.astype(np.int64)
    steps: IntArray = np.diff(ticks_s)
    if (steps <= 0).any():
        raise InputError(
            f"times must be strictly increasing (index {int(np.argmax(steps <= 0)) + 1})",
            field="time",
        )
    if ci not in CI_METHODS:
        raise InputError(f"ci must be one of {', '.join(CI_METHODS)}", field="ci")
    if ci == "bootstrap" and rng is None:
        raise InputError(
            "the block bootstrap needs a seeded numpy Generator (rng=...)", field="rng"
        )
    if not 0 < level < 1:
        raise InputError("level must be in (0, 1)", field="level")
    return steps


@dataclass(frozen=True)
class _BinFit:
    """Per bin: slope [g/kWh], its CI, standard error, intercept [g] and (fuel-share
    variant) the fuel shares of the response, shape (bins, fuels)."""

    slope: FloatArray
    low: FloatArray
    high: FloatArray
    se: FloatArray
    icpt: FloatArray
    shares: FloatArray | None

    def filled(self, parent: _BinFit, fallback: npt.NDArray[np.bool_]) -> _BinFit:
        """This fit with the ``fallback`` bins taken from ``parent`` (the parent's shares only
        where both fits have shares)."""
        shares = self.shares
        if shares is not None and parent.shares is not None:
            shares = np.where(fallback[:, None], parent.shares, shares)
        return _BinFit(
            np.where(fallback, parent.slope, self.slope),
            np.where(fallback, parent.low, self.low),
            np.where(fallback, parent.high, self.high),
            np.where(fallback, parent.se, self.se),
            np.where(fallback, parent.icpt, self.icpt),
            shares,
        )


def _parent_estimates(
    again: Callable[..., RegressionResult],
    parent: IntArray | None,
    nb: int,
    *,
    min_pairs: int,
    n_quantiles: int,
) -> _BinFit:
    """Each bin's fallback estimate: the load-decile bin it belongs to (``parent``, the
    "both" scheme), else the pooled fit.  ``again`` re-runs :func:`regress_mef` on the same
    series with other bins."""
    p_est = again(bins="none", min_pairs=3).bins
    fill = _BinFit(
        np.full(nb, p_est.mef_g_per_kwh[0]),
        np.full(nb, p_est.low_g_per_kwh[0]),
        np.full(nb, p_est.high_g_per_kwh[0]),
        np.full(nb, p_est.se_g_per_kwh[0]),
        np.full(nb, p_est.intercept_g[0]),
        None if p_est.fuel_share_frac is None else np.repeat(p_est.fuel_share_frac, nb, axis=0),
    )
    if parent is None:
        return fill
    d = again(bins="decile", min_pairs=min_pairs, n_quantiles=n_quantiles).bins
    return _BinFit(
        d.mef_g_per_kwh[parent],
        d.low_g_per_kwh[parent],
        d.high_g_per_kwh[parent],
        d.se_g_per_kwh[parent],
        d.intercept_g[parent],
        d.fuel_share_frac[parent]
        if fill.shares is not None and d.fuel_share_frac is not None
        else fill.shares,
    )


def _normalised_shares(
    shares: FloatArray | None, fuels: Sequence[str]
) -> tuple[FloatArray | None, list[str] | None]:
    """Fuel shares normalised to sum to one per bin, and each bin's marginal fuel (the
    largest share; ``unknown`` without one)."""
    if shares is None:
        return None, None
    tot = shares.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = shares / np.where(tot == 0, np.nan, tot)
    marginal_fuel = [
        fuels[j] if np.isfinite(shares[i]).any() else "unknown"
        for i, j in enumerate(np.nanargmax(np.nan_to_num(shares, nan=-np.inf), axis=1))
    ]
    return shares, marginal_fuel


def regress_fuel_mix(
    time: TimeArray,
    generation_kwh: npt.ArrayLike,
    rates_g_per_kwh: npt.ArrayLike,
    fuels: Sequence[str],
    *,
    load_kwh: npt.ArrayLike | None = None,
    **kwargs: object,
) -> RegressionResult:
    """Fuel-share variant: emissions from generation by fuel x per-fuel rates.

    Parameters
    ----------
    generation_kwh : array, shape (n, k)
        Generation of each fuel in each interval [kWh].
    rates_g_per_kwh : array, shape (k,)
        Emission rate of each fuel [g/kWh].
    fuels : sequence of k names
    load_kwh : array, optional
        Load [kWh]; defaults to total generation (then fuel shares sum to one).
    **kwargs
        Passed to :func:`regress_mef`.
    """
    g = np.asarray(generation_kwh, dtype=np.float64)
    r = np.asarray(rates_g_per_kwh, dtype=np.float64)
    if g.ndim != 2 or r.shape != (g.shape[1],) or len(fuels) != g.shape[1]:
        raise InputError(
            "generation must be (n, k) with k rates and k fuel names", field="generation_kwh"
        )
    if not np.isfinite(g).all():
        bad = np.argwhere(~np.isfinite(g))[0]
        raise InputError(
            f"non-finite generation at row {int(bad[0])}, fuel {fuels[int(bad[1])]!r}",
            field="generation_kwh",
        )
    if not (np.isfinite(r).all() and (r >= 0).all()):
        raise InputError("rates must be finite and non-negative", field="rates_g_per_kwh")
    emissions = g @ r
    load = g.sum(axis=1) if load_kwh is None else np.asarray(load_kwh, dtype=np.float64)
    return regress_mef(time, load, emissions, _extra_y=g, _fuels=tuple(fuels), **kwargs)  # type: ignore[arg-type]
