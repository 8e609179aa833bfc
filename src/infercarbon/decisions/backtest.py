"""Back-test of carbon-aware scheduling on a bundled hourly series.

For every job size (``duration_h``; energy spread evenly, so savings are fractions of the
baseline and scale with energy) and flexibility window (``flex_h``: the job may start at
any whole hour of ``[earliest, earliest + flex_h]``, i.e. its deadline is ``earliest +
flex_h + duration_h``), jobs are released every ``every_h`` hours over the series.  Each job's
start is chosen by three rules and scored on
the *actual* series:

``perfect``
    perfect foresight: the start with the lowest actual mean intensity (the upper bound);
``profile``
    the forecast a user without a provider forecast has: the hour x season profile
    (:mod:`infercarbon.decisions.signals`), built **leaving out the job's own year** so the
    choice never sees the hours it is scored on;
``naive``
    a persistence forecast: each hour's intensity is taken to equal the same hour one day
    earlier (the usual naive baseline of load and price forecasting).

The saving of a job is ``(baseline - realised) / baseline``, baseline = starting at
``earliest``.  A rule can lose (negative saving) when its forecast is wrong.  Everything is
vectorised: rolling means by cumulative sums, the jobs x candidate-starts matrix by fancy
indexing, the choice by one ``argmin`` per rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import InputError
from infercarbon.grid.signal import IntensitySeries

__all__ = [
    "RULES",
    "BacktestRow",
    "hourly_grid",
    "loyo_profile",
    "rolling_mean",
    "schedule_backtest",
]

RULES: tuple[str, ...] = ("profile", "perfect", "naive")


def hourly_grid(series: IntensitySeries) -> tuple[npt.NDArray[np.datetime64], FloatArray]:
    """The series on a regular hourly grid, NaN in its holes."""
    if series.resolution_s != 3600:
        raise InputError("the back-test needs an hourly series", field="series")
    t0 = series.start_utc[0]
    n = int((series.end_utc - t0) // np.timedelta64(3600, "s"))
    t = t0 + np.arange(n) * np.timedelta64(3600, "s")
    v = np.full(n, np.nan)
    v[((series.start_utc - t0) // np.timedelta64(3600, "s")).astype(np.intp)] = (
        series.intensity_g_per_kwh
    )
    return t, v


def rolling_mean(v: FloatArray, d: int) -> FloatArray:
    """``out[i] = mean(v[i:i+d])`` (NaN where the window has a NaN or runs off the end).

    >>> rolling_mean(np.array([1.0, 3.0, 5.0, np.nan]), 2).tolist()[:3]
    [2.0, 4.0, nan]
    """
    bad = np.isnan(v)
    c = np.concatenate([[0.0], np.cumsum(np.where(bad, 0.0, v))])
    cb = np.concatenate([[0], np.cumsum(bad)])
    out = np.full(len(v), np.nan)
    k = len(v) - d + 1
    if k > 0:
        s = (c[d:] - c[:-d]) / d
        ok = (cb[d:] - cb[:-d]) == 0
        out[:k] = np.where(ok, s, np.nan)
    return out


def loyo_profile(t: npt.NDArray[np.datetime64], v: FloatArray, tz: str) -> FloatArray:
    """Hour x season profile value for each hour, from every year but the hour's own."""
    from infercarbon.grid.marginal.calendar import hour_of_day, season_index, to_local

    local = to_local(t.astype("datetime64[s]"), tz)
    b = season_index(local) * 24 + hour_of_day(local)
    year = local.astype("datetime64[Y]").astype(np.int64)
    yi = year - year.min()
    ny = int(yi.max()) + 1
    ok = ~np.isnan(v)
    key = yi * 96 + b
    sums = np.bincount(key[ok], weights=v[ok], minlength=ny * 96).reshape(ny, 96)
    cnts = np.bincount(key[ok], minlength=ny * 96).reshape(ny, 96)
    tot_s, tot_c = sums.sum(axis=0), cnts.sum(axis=0)
    num = tot_s[b] - sums[yi, b]
    den = tot_c[b] - cnts[yi, b]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


@dataclass(frozen=True)
class BacktestRow:
    """Mean savings [fraction of baseline] of one job size and window over all jobs."""

    duration_h: int
    flex_h: int
    jobs: int
    baseline_g_per_kwh: float
    saving_frac: dict[str, float]
    saving_p10_frac: dict[str, float]
    loss_share_frac: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_h": self.duration_h,
            "flex_h": self.flex_h,
            "jobs": self.jobs,
            "baseline_g_per_kwh": self.baseline_g_per_kwh,
            **{f"saving_{r}_frac": self.saving_frac[r] for r in RULES},
            **{f"saving_{r}_p10_frac": self.saving_p10_frac[r] for r in RULES},
            **{f"loss_share_{r}_frac": self.loss_share_frac[r] for r in RULES},
        }


def schedule_backtest(
    series: IntensitySeries,
    *,
    durations_h: Sequence[int],
    flex_h: Sequence[int],
    tz: str,
    every_h: int = 6,
) -> list[BacktestRow]:
    """Savings of the three rules per job size and window (see the module docstring)."""
    t, v = hourly_grid(series)
    forecasts = {
        "perfect": v,
        "profile": loyo_profile(t, v, tz),
        "naive": np.concatenate([np.full(24, np.nan), v[:-24]]),
    }
    rows: list[BacktestRow] = []
    for d in durations_h:
        actual = rolling_mean(v, d)
        fm = {r: rolling_mean(f, d) for r, f in forecasts.items()}
        for w in flex_h:
            if w < 0:
                raise InputError(f"{w} must be >= 0 hours", field="flex_h")
            k = np.arange(w + 1)
            starts = np.arange(24, len(v) - w - d + 1, every_h)
            idx = starts[:, None] + k[None, :]
            a = actual[idx]
            f = {r: m[idx] for r, m in fm.items()}
            keep = ~np.isnan(a).any(axis=1)
            for m in f.values():
                keep &= ~np.isnan(m).any(axis=1)
            a = a[keep]
            base = a[:, 0]
            sav: dict[str, float] = {}
            p10: dict[str, float] = {}
            loss: dict[str, float] = {}
            for r in RULES:
                pick = np.argmin(f[r][keep], axis=1)
                realised = a[np.arange(len(a)), pick]
                s = (base - realised) / base
                sav[r] = float(s.mean())
                p10[r] = float(np.quantile(s, 0.10))
                loss[r] = float((s < -1e-12).mean())
            rows.append(BacktestRow(d, w, int(keep.sum()), float(base.mean()), sav, p10, loss))
    return rows
