"""Average vs marginal intensity by hour of day and season: a table and a dependency-free SVG.

>>> import numpy as np
>>> t = np.arange(0, 48 * 3600, 3600).astype("datetime64[s]")
>>> tab = compare_by_hour_season(t, np.full(48, 400.0), np.full(48, 600.0))
>>> row = tab.rows()[0]
>>> row["season"], row["hour"], row["n"], row["average_g_per_kwh"], row["marginal_g_per_kwh"]
('winter', 0, 2, 400.0, 600.0)
>>> row["marginal_over_average"]
1.5
>>> render_svg(tab, title="x").startswith("<svg")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.charts import line_panels
from infercarbon.errors import InputError
from infercarbon.grid.marginal.calendar import SEASONS, hour_of_day, season_index

__all__ = ["CompareTable", "compare_by_hour_season", "render_svg"]


@dataclass(frozen=True)
class CompareTable:
    """Mean average and marginal intensity per (season, hour) cell [g/kWh]; NaN if empty."""

    n: npt.NDArray[np.int64]  # (4, 24)
    average_g_per_kwh: FloatArray  # (4, 24)
    marginal_g_per_kwh: FloatArray  # (4, 24)

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for s in range(4):
            for h in range(24):
                if self.n[s, h] == 0:
                    continue
                a, m = float(self.average_g_per_kwh[s, h]), float(self.marginal_g_per_kwh[s, h])
                out.append(
                    {
                        "season": SEASONS[s],
                        "hour": h,
                        "n": int(self.n[s, h]),
                        "average_g_per_kwh": round(a, 1),
                        "marginal_g_per_kwh": round(m, 1),
                        "marginal_over_average": round(m / a, 3) if a > 0 else None,
                    }
                )
        return out

    def share_marginal_above_average(self) -> float:
        """Fraction of occupied (season, hour) cells where marginal > average."""
        occ = self.n > 0
        return float((self.marginal_g_per_kwh[occ] > self.average_g_per_kwh[occ]).mean())


def compare_by_hour_season(
    time_local: npt.NDArray[np.datetime64],
    average_g_per_kwh: npt.ArrayLike,
    marginal_g_per_kwh: npt.ArrayLike,
) -> CompareTable:
    """Mean of each signal per (season, local hour) cell (vectorised with bincount)."""
    t = np.asarray(time_local, dtype="datetime64[s]")
    a = np.asarray(average_g_per_kwh, dtype=np.float64)
    m = np.asarray(marginal_g_per_kwh, dtype=np.float64)
    if not (t.shape == a.shape == m.shape) or t.ndim != 1 or len(t) == 0:
        raise InputError(
            "time, average and marginal must be equal-length, non-empty 1-D", field="series"
        )
    k = season_index(t) * 24 + hour_of_day(t)
    n = np.bincount(k, minlength=96)
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.bincount(k, a, 96) / n
        mar = np.bincount(k, m, 96) / n
    return CompareTable(n.reshape(4, 24).astype(np.int64), avg.reshape(4, 24), mar.reshape(4, 24))


def render_svg(tab: CompareTable, *, title: str, width: int = 960, height: int = 300) -> str:
    """Four panels (one per season): average and marginal by hour of day, as SVG text
    (drawn by :func:`infercarbon.charts.line_panels`)."""
    series = {
        name: [
            [(h, float(arr[s, h])) for h in range(24) if tab.n[s, h] > 0 and np.isfinite(arr[s, h])]
            for s in range(4)
        ]
        for name, arr in (("average", tab.average_g_per_kwh), ("marginal", tab.marginal_g_per_kwh))
    }
    return line_panels(
        title,
        SEASONS,
        series,
        colours={"average": "#1f77b4", "marginal": "#d62728"},
        x_max=23,
        x_ticks=(0, 6, 12, 18, 23),
        caption="local hour of day; g CO2e/kWh",
        width=width,
        height=height,
    )
